package store_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/store"
)

// Commits never checkpoint on SQLite (wal_autocheckpoint is off on every
// connection): the store's goroutine copies the WAL into the database file
// in the background, and the WAL is gone once the store is closed.
func TestSQLiteCheckpointsInBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wagate.db")
	st, err := store.Open(bg(), store.Options{SQLitePath: path})
	noErr(t, "open", err)
	defer st.Close()
	var auto int
	noErr(t, "autocheckpoint", st.DB().QueryRowContext(bg(), "PRAGMA wal_autocheckpoint").Scan(&auto))
	if auto != 0 {
		t.Fatalf("wal_autocheckpoint = %d, want 0 (checkpoints are the store's)", auto)
	}
	_, err = st.DB().ExecContext(bg(), "CREATE TABLE blobs (b BLOB)")
	noErr(t, "create", err)
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	before := size(path)
	blob := bytes.Repeat([]byte{7}, 64<<10)
	for range 64 { // 4 MiB, more than the 1,000 pages an automatic checkpoint waits for
		_, err := st.DB().ExecContext(bg(), "INSERT INTO blobs (b) VALUES (?)", blob)
		noErr(t, "insert", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for size(path) < before+4<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes 10 s after 4 MiB were written (WAL %d): no checkpoint ran", size(path), size(path+"-wal"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	noErr(t, "close", st.Close())
	if n := size(path + "-wal"); n != 0 {
		t.Fatalf("WAL of %d bytes left after Close", n)
	}
	st, err = store.Open(bg(), store.Options{SQLitePath: path})
	noErr(t, "reopen", err)
	defer st.Close()
	var n int
	noErr(t, "count", st.DB().QueryRowContext(bg(), "SELECT COUNT(*) FROM blobs").Scan(&n))
	if n != 64 {
		t.Fatalf("%d rows after reopening, want 64", n)
	}
}
