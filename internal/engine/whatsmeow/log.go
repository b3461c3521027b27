package whatsmeow

import (
	"context"
	"fmt"
	"log/slog"

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
