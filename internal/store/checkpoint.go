package store

import (
	"context"
	"log/slog"
	"time"
)

// SQLite's WAL is copied back into the database file (a checkpoint) by a
// goroutine of the store, not by the writer whose commit crosses the
// automatic threshold: there the copy and its fsync ran inside a write
// transaction's commit, while every other writer queued behind it. A
// passive checkpoint runs beside readers and the writer, never waiting for
// them. Connections open with wal_autocheckpoint off (SQLiteDSN), and a WAL
// left larger than walSizeLimit after a checkpoint is cut back to it.
const (
	checkpointEvery = 250 * time.Millisecond
	walSizeLimit    = 64 << 20
)

// checkpoints runs passive checkpoints every checkpointEvery until stop is
// closed, then a last one, and closes done.
func (s *Store) checkpoints(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-stop:
			// Passive: a truncating checkpoint waits out the busy timeout
			// (10 s) for any reader still open at Close. The last
			// connection's close checkpoints and removes the WAL itself.
			s.checkpoint()
			return
		case <-t.C:
		}
		err := s.checkpoint()
		if err != nil && !failing {
			slog.Warn("store: SQLite checkpoint failed; the WAL grows until one succeeds", "error", err)
		}
		failing = err != nil
	}
}

// checkpoint runs one passive checkpoint.
func (s *Store) checkpoint() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	return err
}
