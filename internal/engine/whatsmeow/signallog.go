package whatsmeow

import (
	"context"
	"log/slog"
	"sync/atomic"

	signalLog "go.mau.fi/libsignal/logger"
)

// libsignal logs through a package-level logger it sets up lazily on first
// use, without a lock: two sessions making keys at once race on it, and its
// default writes to standard output. Installing ours before any session
// exists removes the race and sends its messages to slog (the last engine's
// logger), with the same levels as slogAdapter.
var signalTarget atomic.Pointer[slog.Logger]

func init() {
	var l signalLog.Loggable = signalAdapter{}
	signalLog.Setup(&l)
}

// setSignalLogger makes libsignal log through log from now on.
func setSignalLogger(log *slog.Logger) {
	signalTarget.Store(log.With(slog.String("module", "libsignal")))
}

type signalAdapter struct{}

func (signalAdapter) emit(level slog.Level, caller, msg string) {
	log := signalTarget.Load()
	if log == nil {
		return
	}
	if len(msg) > maxLoggedLen {
		msg = msg[:maxLoggedLen] + " (truncated)"
	}
	log.Log(context.Background(), level, msg, slog.String("caller", caller))
}

func (a signalAdapter) Debug(caller, msg string)   { a.emit(slog.LevelDebug, caller, msg) }
func (a signalAdapter) Info(caller, msg string)    { a.emit(slog.LevelDebug, caller, msg) }
func (a signalAdapter) Warning(caller, msg string) { a.emit(slog.LevelWarn, caller, msg) }
func (a signalAdapter) Error(caller, msg string)   { a.emit(slog.LevelError, caller, msg) }
func (signalAdapter) Configure(string)             {}
