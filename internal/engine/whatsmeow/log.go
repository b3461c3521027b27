package whatsmeow

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	waLog "go.mau.fi/whatsmeow/util/log"
)

// maxLoggedLen bounds whatsmeow messages logged above debug. Some of its
// warnings embed whole protocol nodes (XML dumps); cutting them keeps the
// log readable and keeps payloads out of it.
const maxLoggedLen = 512

// slogAdapter lets whatsmeow log through slog. whatsmeow's Info is noise for
// an operator (every connect, sync and prekey upload), so Debug and Info both
// go to slog's debug level; Warn and Error keep theirs. whatsmeow only logs
// QR codes, frames and decoded nodes with Debugf, so secrets never reach a
// level above debug through this adapter.
type slogAdapter struct {
	log    *slog.Logger
	module string
}

var _ waLog.Logger = slogAdapter{}

// newWALogger returns a whatsmeow logger writing to log under module.
func newWALogger(log *slog.Logger, module string) waLog.Logger {
	return slogAdapter{log: log, module: module}
}

func (a slogAdapter) Debugf(msg string, args ...any) { a.emit(slog.LevelDebug, msg, args) }
func (a slogAdapter) Infof(msg string, args ...any)  { a.emit(slog.LevelDebug, msg, args) }
func (a slogAdapter) Warnf(msg string, args ...any)  { a.emit(slog.LevelWarn, msg, args) }
func (a slogAdapter) Errorf(msg string, args ...any) { a.emit(slog.LevelError, msg, args) }

// Sub returns a logger for a sub-module ("Client/Socket").
func (a slogAdapter) Sub(module string) waLog.Logger {
	if a.module != "" {
		module = a.module + "/" + module
	}
	return slogAdapter{log: a.log, module: module}
}

func (a slogAdapter) emit(level slog.Level, msg string, args []any) {
	ctx := context.Background()
	if !a.log.Enabled(ctx, level) {
		return
	}
	text := fmt.Sprintf(msg, args...)
	if level > slog.LevelDebug && len(text) > maxLoggedLen {
		text = text[:maxLoggedLen] + "...(truncated)"
	}
	a.log.Log(ctx, level, text, slog.String("wa_module", a.module))
}

// streamWatch is a client's logger, which also notices a stream error 503
// from WhatsApp (<stream:error code="503"/>, "the server wants a
// restart"). whatsmeow dispatches no event for that one: it leaves it to
// its auto-reconnect, which the engine turns off, so nothing would say why
// the Disconnected that follows came. whatsmeow logs every node it
// receives, before handling it, through its "Recv" logger at debug level
// (Debugf("%s", node.XMLString())); the watcher reads that line.
type streamWatch struct {
	waLog.Logger
	c *client
}

// Sub watches the "Recv" sub-logger.
func (w streamWatch) Sub(module string) waLog.Logger {
	sub := w.Logger.Sub(module)
	if module == "Recv" {
		return recvWatch{Logger: sub, c: w.c}
	}
	return sub
}

type recvWatch struct {
	waLog.Logger
	c *client
}

func (w recvWatch) Debugf(msg string, args ...any) {
	if len(args) == 1 {
		if node, ok := args[0].(string); ok && isStreamError503(node) {
			w.c.restart503.Store(true)
		}
	}
	w.Logger.Debugf(msg, args...)
}

// isStreamError503 reports whether a received node, as whatsmeow logs it,
// is a stream error with code 503 (not a conflict, which whatsmeow
// reports itself).
func isStreamError503(xml string) bool {
	if !strings.HasPrefix(xml, "<stream:error ") {
		return false
	}
	open, _, _ := strings.Cut(xml, ">")
	return strings.Contains(open, ` code="503"`) && !strings.Contains(xml, "<conflict")
}
