package store

import (
	"context"
	"database/sql"
	"os"
	"testing"
)

// The webhook queue's transactions commit without waiting for the WAL
// flush on PostgreSQL; the connection's other transactions still wait.
func TestLazyTxCommitsAsynchronously(t *testing.T) {
	url := os.Getenv("WAGATE_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("PostgreSQL only: set WAGATE_TEST_POSTGRES_URL")
	}
	ctx := context.Background()
	st, err := Open(ctx, Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.db.SetMaxOpenConns(1) // the same connection for both transactions
	setting := func(run func(context.Context, func(*sql.Tx) error) error) string {
		var v string
		if err := run(ctx, func(tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, "SELECT current_setting('synchronous_commit')").Scan(&v)
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := setting(st.inTxLazy); v != "off" {
		t.Errorf("lazy transaction: synchronous_commit %q, want off", v)
	}
	if v := setting(st.inTx); v != "on" {
		t.Errorf("the next transaction on the connection: synchronous_commit %q, want on", v)
	}
}
