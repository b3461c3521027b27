package app

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/wagate/wagate/internal/store"
)

// backupFlags parses the database flags of backup and restore (and
// restore's --force) anywhere among the arguments, which must be one FILE.
func backupFlags(name string, args []string, getenv func(string) string, stderr io.Writer, force *bool) (dataDir, dbURL, file string, err error) {
	fs := flag.NewFlagSet("wagate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(k, d string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return d
	}
	fs.StringVar(&dataDir, "data-dir", env("WAGATE_DATA_DIR", "./data"), "data directory (WAGATE_DATA_DIR)")
	fs.StringVar(&dbURL, "database-url", env("WAGATE_DATABASE_URL", ""), "PostgreSQL URL (WAGATE_DATABASE_URL)")
	if force != nil {
		fs.BoolVar(force, "force", false, "restore even though the database looks in use (a WAL file with data)")
	}
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return "", "", "", err
	}
	if len(positional) != 1 {
		return "", "", "", usageError{fmt.Errorf("usage: wagate %s FILE [--data-dir DIR]", name)}
	}
	return dataDir, dbURL, positional[0], nil
}

const postgresBackupHelp = `wagate does not copy a PostgreSQL database itself; pg_dump takes a consistent online copy:
    pg_dump --format=custom --file=wagate.dump "$WAGATE_DATABASE_URL"
and pg_restore puts it back (into an empty database, with the servers stopped):
    pg_restore --clean --if-exists --no-owner --dbname="$WAGATE_DATABASE_URL" wagate.dump
With WAGATE_MEDIA_STORE=database (the default on PostgreSQL) media files are in that dump;
with s3:// back the bucket up with the object store's own tools.`

// runBackup copies the SQLite database online to FILE, consistently, and
// says what else to keep.
func runBackup(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	dataDir, dbURL, file, err := backupFlags("backup", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	if dbURL != "" {
		fmt.Fprintln(stdout, postgresBackupHelp)
		return errors.New("nothing copied: the database is PostgreSQL (see above)")
	}
	path := filepath.Join(dataDir, "wagate.db")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no database at %s: give the right --data-dir", path)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{SQLitePath: path})
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.Version(ctx)
	if err != nil {
		return err
	}
	if err := st.BackupTo(ctx, file); err != nil {
		return err
	}
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes, schema version %d), consistent as of one moment; the server may keep running\n",
		path, file, fi.Size(), v)
	fmt.Fprintf(stdout, "media files are not in it: with the default media store (dir) copy %s as well, e.g.\n    rsync -a %s/ BACKUP_DIR/media/\n",
		filepath.Join(dataDir, "media"), filepath.Join(dataDir, "media"))
	fmt.Fprintln(stdout, "restore with: wagate restore FILE --data-dir DIR (the server stopped)")
	return nil
}

// runRestore puts a backup taken by wagate backup in place of the data
// dir's database: it checks the backup (integrity, a schema this binary
// knows), copies it next to the database, swaps it in and migrates it.
// The server must be stopped.
func runRestore(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var force bool
	dataDir, dbURL, file, err := backupFlags("restore", args, getenv, stderr, &force)
	if err != nil {
		return err
	}
	if dbURL != "" {
		fmt.Fprintln(stdout, postgresBackupHelp)
		return errors.New("nothing restored: the database is PostgreSQL (see above)")
	}
	ctx := context.Background()
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("backup file: %w", err)
	}
	// The backup: sound, and a schema this binary can run (opened read-only:
	// the file stays as it was).
	v, err := checkBackup(ctx, file)
	if err != nil {
		return err
	}
	if v > store.SchemaVersion() {
		return fmt.Errorf("%s has schema version %d, newer than this wagate's %d: restore it with a newer wagate", file, v, store.SchemaVersion())
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dataDir, "wagate.db")
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 && !force {
		return fmt.Errorf("%s-wal holds data: the server may be running; stop it (or give --force after a crash)", path)
	}
	tmp := path + ".restore"
	if err := copyFile(file, tmp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Options{SQLitePath: path})
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s to %s (schema version %d, %d migrations applied); restore the media files too, then start the server\n",
		file, path, v, n)
	return nil
}

// copyFile copies src to dst (created 0600) and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// checkBackup opens a backup read-only, runs SQLite's integrity check and
// returns its schema version.
func checkBackup(ctx context.Context, file string) (int, error) {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return 0, fmt.Errorf("%s is not a SQLite database: %w", file, err)
	}
	if res != "ok" {
		return 0, fmt.Errorf("%s is damaged: %s", file, res)
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil || !v.Valid {
		return 0, fmt.Errorf("%s is not a wagate database (no schema version)", file)
	}
	return int(v.Int64), nil
}
