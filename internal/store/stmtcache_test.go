package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// openCacheTest opens a SQLite store (the statement cache is SQLite's) with
// one table t(k PRIMARY KEY, v).
func openCacheTest(t *testing.T) *Store {
	t.Helper()
	st, err := Open(context.Background(), Options{SQLitePath: filepath.Join(t.TempDir(), "cache.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.db.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestStmtCacheReusesAcrossCallsAndTransactions(t *testing.T) {
	st := openCacheTest(t)
	ctx := context.Background()
	for i := range 50 {
		err := st.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO t (k, v) VALUES (?, ?)", i, fmt.Sprint("v", i))
			return err
		})
		if err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
		var v string
		if err := st.db.QueryRowContext(ctx, "SELECT v FROM t WHERE k = ?", i).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("read %d: %q, %v", i, v, err)
		}
	}
	// A failed run (unique violation) leaves the statement usable.
	_, err := st.db.ExecContext(ctx, "INSERT INTO t (k, v) VALUES (?, ?)", 1, "again")
	if !isUniqueViolation(err) {
		t.Fatalf("duplicate insert: %v, want a unique violation", err)
	}
	if _, err := st.db.ExecContext(ctx, "INSERT INTO t (k, v) VALUES (?, ?)", 1000, "after"); err != nil {
		t.Fatalf("insert after a failure: %v", err)
	}
	// A rolled-back transaction's statement is not kept half-run.
	boom := errors.New("boom")
	err = st.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO t (k, v) VALUES (?, ?)", 2000, "rolled back"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("rollback: %v", err)
	}
	var n int
	if err := st.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t WHERE k = ?", 2000).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rolled-back row: %d, %v", n, err)
	}
}

// The same query run again while rows read from it are still open, in one
// transaction (one connection), gets a statement of its own.
func TestStmtCacheNestedSameQuery(t *testing.T) {
	st := openCacheTest(t)
	ctx := context.Background()
	for i := range 5 {
		if _, err := st.db.ExecContext(ctx, "INSERT INTO t (k, v) VALUES (?, ?)", i, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	const q = "SELECT k, v FROM t WHERE k >= ? ORDER BY k"
	err := st.inTx(ctx, func(tx *sql.Tx) error {
		outer, err := tx.QueryContext(ctx, q, 0)
		if err != nil {
			return err
		}
		defer outer.Close()
		seen := 0
		for outer.Next() {
			var k int
			var v string
			if err := outer.Scan(&k, &v); err != nil {
				return err
			}
			inner, err := tx.QueryContext(ctx, q, k)
			if err != nil {
				return fmt.Errorf("inner query: %w", err)
			}
			m := 0
			for inner.Next() {
				m++
			}
			inner.Close()
			if err := inner.Err(); err != nil {
				return err
			}
			if m != 5-k {
				return fmt.Errorf("inner from %d: %d rows, want %d", k, m, 5-k)
			}
			seen++
		}
		if seen != 5 {
			return fmt.Errorf("outer: %d rows, want 5", seen)
		}
		return outer.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	// Both statements are free again.
	var n int
	if err := st.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT k, v FROM t WHERE k >= ? ORDER BY k)", 0).Scan(&n); err != nil || n != 5 {
		t.Fatalf("count: %d, %v", n, err)
	}
}

// More distinct queries than a connection keeps: they all run, and the
// cache stays bounded.
func TestStmtCacheBounded(t *testing.T) {
	st := openCacheTest(t)
	st.db.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := st.db.ExecContext(ctx, "INSERT INTO t (k, v) VALUES (1, 'x')"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * maxCachedStmts {
		var k int
		q := fmt.Sprintf("SELECT k FROM t WHERE k = ? AND %d = %d", i, i)
		if err := st.db.QueryRowContext(ctx, q, 1).Scan(&k); err != nil || k != 1 {
			t.Fatalf("query %d: %d, %v", i, k, err)
		}
	}
	conn, err := st.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		cc, ok := dc.(*cachingConn)
		if !ok {
			return fmt.Errorf("connection is a %T, not cached", dc)
		}
		if n := len(cc.stmts); n > maxCachedStmts {
			return fmt.Errorf("%d statements cached, bound %d", n, maxCachedStmts)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A query whose context ends while its rows are open frees its statement.
func TestStmtCacheCancelledRows(t *testing.T) {
	st := openCacheTest(t)
	st.db.SetMaxOpenConns(1)
	for i := range 3 {
		if _, err := st.db.Exec("INSERT INTO t (k, v) VALUES (?, 'x')", i); err != nil {
			t.Fatal(err)
		}
	}
	const q = "SELECT k FROM t ORDER BY k"
	ctx, cancel := context.WithCancel(context.Background())
	rows, err := st.db.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	rows.Next()
	cancel()
	for rows.Next() {
	}
	rows.Close()
	n := 0
	rows, err = st.db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil || n != 3 {
		t.Fatalf("after a cancelled read: %d rows, %v", n, err)
	}
}
