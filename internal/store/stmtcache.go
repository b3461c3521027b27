package store

import (
	"context"
	"database/sql/driver"
	"reflect"
	"strings"
)

// SQLite statement cache. modernc's SQLite driver parses and plans every
// statement it is handed as a string, on every call; wagate runs a few dozen
// distinct statements over and over, so parsing was about a quarter of the
// send path's CPU. The cache sits between database/sql and the driver: each
// connection keeps the statements it has prepared, keyed by their text, and
// runs a known statement from its prepared form. It lives with the
// connection, which database/sql uses from one goroutine at a time, so it
// needs no lock; it works the same inside and outside transactions, for
// every query on the pool (whatsmeow's too), and needs no change at the call
// sites. PostgreSQL needs none of this: pgx caches prepared statements per
// connection itself.

// maxCachedStmts bounds the statements one connection keeps prepared.
// Queries built with a varying number of placeholders (IN lists) are
// distinct texts; past the bound, an idle statement makes room.
const maxCachedStmts = 256

// maxCachedQueryLen leaves out very long texts (migrations).
const maxCachedQueryLen = 8 << 10

// stmtCacheConnector opens connections of base wrapped in a statement cache.
type stmtCacheConnector struct {
	base driver.Connector
}

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	// The connection must offer what the cache runs statements through;
	// modernc's does.
	if _, ok := conn.(driver.ConnPrepareContext); !ok {
		return conn, nil
	}
	if _, ok := conn.(driver.ExecerContext); !ok {
		return conn, nil
	}
	if _, ok := conn.(driver.QueryerContext); !ok {
		return conn, nil
	}
	if _, ok := conn.(driver.ConnBeginTx); !ok {
		return conn, nil
	}
	return &cachingConn{Conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c stmtCacheConnector) Driver() driver.Driver { return c.base.Driver() }

// cachedStmt is a prepared statement and whether rows read from it are
// still open (it cannot run again until they are closed).
type cachedStmt struct {
	stmt driver.Stmt
	busy bool
}

// cachingConn is a driver connection with its prepared statements.
type cachingConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

// Interfaces database/sql looks for on a connection, all passed on to the
// driver's connection.
var (
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.ExecerContext      = (*cachingConn)(nil)
	_ driver.QueryerContext     = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

// stmt returns the cached statement for query, preparing it on first use;
// nil when query is not to be cached or its statement is in use.
func (c *cachingConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		return cs, nil
	}
	// A ';' may separate statements of a script, which the driver would
	// re-parse on every run anyway.
	if len(query) > maxCachedQueryLen || strings.Contains(query, ";") {
		return nil, nil
	}
	if len(c.stmts) >= maxCachedStmts && !c.evictOne() {
		return nil, nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{stmt: st}
	c.stmts[query] = cs
	return cs, nil
}

// evictOne closes an idle statement (any: map order) and reports whether
// it found one.
func (c *cachingConn) evictOne() bool {
	for q, cs := range c.stmts {
		if !cs.busy {
			delete(c.stmts, q)
			_ = cs.stmt.Close()
			return true
		}
	}
	return false
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	if ex, ok := cs.stmt.(driver.StmtExecContext); ok {
		return ex.ExecContext(ctx, args)
	}
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	qs, ok := driver.StmtQueryContext(nil), false
	if cs != nil {
		qs, ok = cs.stmt.(driver.StmtQueryContext)
	}
	if !ok {
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	rows, err := qs.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, cs: cs}, nil
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// Close closes the cached statements, then the connection.
func (c *cachingConn) Close() error {
	for q, cs := range c.stmts {
		_ = cs.stmt.Close()
		delete(c.stmts, q)
	}
	return c.Conn.Close()
}

// cachedRows frees its statement for the next run when closed.
type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.cs.busy = false
	return err
}

// The column type interfaces of the driver's rows, passed on.

func (r *cachedRows) ColumnTypeDatabaseTypeName(index int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(index)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(index int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(index)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(index int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(index)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(index int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(index)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(index int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(index)
	}
	return reflect.TypeFor[any]()
}
