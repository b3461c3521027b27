package store

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// ErrBackupPostgres: wagate does not copy a PostgreSQL database itself
// (pg_dump does, consistently and online).
var ErrBackupPostgres = errors.New("store: backups of PostgreSQL are taken with pg_dump")

// BackupTo writes a consistent copy of the SQLite database to path (which
// must not exist) while the server keeps running: VACUUM INTO reads one
// snapshot of the database in a single read transaction, so writes made
// meanwhile are either wholly in the copy or not at all, and it writes a
// compact file with no WAL of its own.
func (s *Store) BackupTo(ctx context.Context, path string) error {
	if s.dialect != SQLite {
		return ErrBackupPostgres
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("store: backup file %s exists; choose a new name", path)
	}
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}
