// Package storetest opens migrated stores for tests: a SQLite file in a temp
// dir, and PostgreSQL in a schema of its own when WAGATE_TEST_POSTGRES_URL is
// set (CI sets it). The same test body runs on each with ForEachBackend.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // driver for schema set-up

	"github.com/wagate/wagate/internal/store"
)

// EnvPostgres names the variable holding a PostgreSQL URL for tests.
const EnvPostgres = "WAGATE_TEST_POSTGRES_URL"

// Backend is one database a test can run on.
type Backend struct {
	Name string
	// Options open the backend's database; open it with store.Open.
	Options store.Options
}

// Backends returns SQLite and, when configured, PostgreSQL. Each PostgreSQL
// backend gets a fresh schema, dropped when the test ends.
func Backends(t testing.TB) []Backend {
	t.Helper()
	out := []Backend{{Name: "sqlite", Options: store.Options{SQLitePath: filepath.Join(t.TempDir(), "wagate.db")}}}
	if u := os.Getenv(EnvPostgres); u != "" {
		out = append(out, Backend{Name: "postgres", Options: store.Options{URL: PostgresSchemaURL(t, u)}})
	}
	return out
}

// PostgresSchemaURL creates a schema of its own on the server at base and
// returns a URL whose connections use it (search_path); the schema is dropped
// when the test ends.
func PostgresSchemaURL(t testing.TB, base string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "wagate_test_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens and migrates a backend's store, closed when the test ends.
func Open(t testing.TB, b Backend) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, b.Options)
	if err != nil {
		t.Fatalf("%s: open: %v", b.Name, err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("%s: migrate: %v", b.Name, err)
	}
	return st
}

// OpenAt opens a store on backend b migrated up to schema version only, for
// tests of the migrations after it.
func OpenAt(t testing.TB, b Backend, version int) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, b.Options)
	if err != nil {
		t.Fatalf("%s: open: %v", b.Name, err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateTo(ctx, version); err != nil {
		t.Fatalf("%s: migrate to %d: %v", b.Name, version, err)
	}
	return st
}

// ForEachBackend runs fn as a subtest on every backend with a fresh store.
func ForEachBackend(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, Open(t, b))
		})
	}
}
