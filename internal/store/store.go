// Package store is wagate's only owner of SQL. One concrete *Store runs on
// SQLite (embedded, the default) or PostgreSQL; queries are written once with
// '?' placeholders and rebound for PostgreSQL. Every query that touches a
// partner's data takes the partner ID, so tenancy cannot be forgotten.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	"modernc.org/sqlite"               // pure-Go SQLite driver "sqlite": one static binary, no cgo
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/wagate/wagate/internal/audit"
)

// Dialect names the SQL flavour of the open database.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is the database. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	// writeMu queues SQLite writers in Go: SQLite has one writer at a time,
	// and its busy handler makes waiting writers sleep in steps of up to
	// 100 ms, which turns contention into long tail latencies.
	writeMu sync.Mutex
	// watch is told of writes that readers may have copies of (changes.go).
	watch watchers
	// stopCheckpoints ends the SQLite checkpoint goroutine (checkpoint.go),
	// which closes checkpointsDone; both nil on PostgreSQL.
	stopCheckpoints, checkpointsDone chan struct{}
	closeOnce                        sync.Once
}

// Options say which database to open.
type Options struct {
	// URL is a postgres:// or postgresql:// URL. Empty means SQLite.
	URL string
	// SQLitePath is the SQLite file, used when URL is empty.
	SQLitePath string
}

// Open opens the database and checks that it answers. It does not migrate;
// call Migrate.
func Open(ctx context.Context, o Options) (*Store, error) {
	var (
		db      *sql.DB
		dialect Dialect
		err     error
	)
	switch {
	case strings.HasPrefix(o.URL, "postgres://"), strings.HasPrefix(o.URL, "postgresql://"):
		dialect = Postgres
		db, err = sql.Open("pgx", o.URL)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(10)
		db.SetConnMaxIdleTime(5 * time.Minute)
	case o.URL != "":
		return nil, fmt.Errorf("store: unsupported database URL scheme (want postgres://): %w", errRedacted(o.URL))
	default:
		dialect = SQLite
		if o.SQLitePath == "" {
			return nil, errors.New("store: no SQLite path")
		}
		if err := os.MkdirAll(filepath.Dir(o.SQLitePath), 0o700); err != nil {
			return nil, fmt.Errorf("store: create data dir: %w", err)
		}
		connector, err := sqlite.NewConnector(SQLiteDSN(o.SQLitePath))
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		// Each connection keeps its statements prepared (stmtcache.go).
		db = sql.OpenDB(stmtCacheConnector{base: connector})
		// WAL allows readers beside the one writer; writers queue on the
		// busy timeout (BEGIN IMMEDIATE takes the write lock up front, so a
		// transaction never fails half-way on an upgrade from read to write).
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	s := &Store{db: db, dialect: dialect}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: ping %s: %w", dialect, err)
	}
	if dialect == SQLite {
		s.stopCheckpoints, s.checkpointsDone = make(chan struct{}), make(chan struct{})
		go s.checkpoints(s.stopCheckpoints, s.checkpointsDone)
	}
	return s, nil
}

// SQLiteDSN is the connection string wagate uses for a SQLite file: foreign
// keys on, WAL, a busy timeout so concurrent writers wait instead of failing,
// reads through a memory map, checkpoints left to the store's goroutine
// (checkpoint.go), and immediate transactions.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=mmap_size(1073741824)&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(" + strconv.Itoa(walSizeLimit) + ")&_txlock=immediate"
}

// errRedacted names a bad URL without echoing credentials it may contain.
func errRedacted(u string) error {
	if i := strings.Index(u, "://"); i > 0 {
		return fmt.Errorf("scheme %q", u[:i])
	}
	return errors.New("no scheme")
}

// Dialect reports which database is open.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB exposes the pool for components that keep their own tables in the same
// database (whatsmeow's sqlstore).
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error {
	if s.stopCheckpoints != nil {
		s.closeOnce.Do(func() { close(s.stopCheckpoints) })
		<-s.checkpointsDone
	}
	return s.db.Close()
}

// Ping checks the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// q binds a query written with '?' placeholders for the open dialect.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	return rebind(query)
}

// rebind turns '?' placeholders into $1, $2, ... outside string literals.
func rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	inString := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inString = !inString
			b.WriteByte(c)
		case c == '?' && !inString:
			n++
			b.WriteByte('$')
			b.WriteString(fmt.Sprint(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// forUpdate is the row-lock suffix for SELECTs inside write transactions.
// SQLite needs none: BEGIN IMMEDIATE already holds the database write lock.
func (s *Store) forUpdate() string {
	if s.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// forShare is the suffix that keeps a row from being deleted or changed
// until the transaction ends, while others may read or share-lock it.
func (s *Store) forShare() string {
	if s.dialect == Postgres {
		return " FOR SHARE"
	}
	return ""
}

// lockWrites takes the SQLite write queue (a no-op on PostgreSQL) and
// returns its release.
func (s *Store) lockWrites() func() {
	if s.dialect != SQLite {
		return func() {}
	}
	s.writeMu.Lock()
	return s.writeMu.Unlock
}

// errNothingChanged rolls back an audited statement that changed no row.
var errNothingChanged = errors.New("store: nothing changed")

// exec runs one writing statement outside a transaction; with an audit
// entry pending in ctx (audit.Record), in a transaction with it.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if audit.PendingOf(ctx) != nil {
		var res sql.Result
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			if res, err = tx.ExecContext(ctx, s.q(query), args...); err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err == nil && n == 0 {
				return errNothingChanged // no change: no audit entry
			}
			return nil
		})
		if errors.Is(err, errNothingChanged) {
			err = nil
		}
		return res, err
	}
	defer s.lockWrites()()
	return s.db.ExecContext(ctx, s.q(query), args...)
}

// inTx runs fn in a transaction that is rolled back unless fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	defer s.lockWrites()()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	// The audit entry of the change, if one is pending: written here or
	// the change is rolled back.
	written, err := s.writePending(ctx, tx)
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	written()
	return nil
}

// inTxLazy is inTx for writes a crash may lose without harm: the webhook
// queue's claims and outcomes (a claim or an outcome lost means the
// delivery goes again, which at-least-once allows). On PostgreSQL their
// commit does not wait for the WAL to reach the disk (synchronous_commit
// off for the transaction: it is atomic and ordered all the same, and the
// next durable commit flushes it); SQLite commits in WAL mode with
// synchronous=NORMAL are like that already.
func (s *Store) inTxLazy(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.dialect != Postgres {
		return s.inTx(ctx, fn)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			return fmt.Errorf("store: asynchronous commit: %w", err)
		}
		return fn(tx)
	})
}

// Tx runs fn in a write transaction that is committed when fn returns nil
// and rolled back otherwise. Producers use it to enqueue webhook deliveries
// (EnqueueTx) together with the state change they report. On SQLite it holds
// the write queue: fn must use tx only, never other writing Store methods.
func (s *Store) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error { return s.inTx(ctx, fn) }

// ms converts a time to the stored epoch milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts stored epoch milliseconds back to a UTC time.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// isUniqueViolation reports whether err is a unique or primary-key
// constraint failure on either database.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		code := liteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKeyViolation reports whether err is a foreign-key constraint
// failure on either database (a row referring to one deleted meanwhile).
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		return liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}
