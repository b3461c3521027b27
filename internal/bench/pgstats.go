package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// StatementWindow is what PostgreSQL spent on each statement during one
// measured window (the send, the backlog drain, the receive), from its
// pg_stat_statements view: the difference between a reading before and
// one after, so that the operator's statistics are never reset.
type StatementWindow struct {
	Window string `json:"window"`
	// Statements are the statements that took the most time, at most
	// topStatements of them.
	Statements []StatementStat `json:"statements"`
	// TotalMS is the time of every statement of the window (not only the
	// top ones).
	TotalMS float64 `json:"total_ms"`
}

// StatementStat is one normalised statement's share of a window.
type StatementStat struct {
	Query   string  `json:"query"`
	Calls   int64   `json:"calls"`
	TotalMS float64 `json:"total_ms"`
	MeanMS  float64 `json:"mean_ms"`
	Rows    int64   `json:"rows"`
	// Share is TotalMS of the window's total.
	Share float64 `json:"share"`
}

const topStatements = 8

type stmtReading struct {
	query   string
	calls   int64
	totalMS float64
	rows    int64
}

// pgStats returns a function that ends a window started now and records
// its statements; it does nothing on SQLite or when pg_stat_statements is
// not loaded (a note says so once).
func (e *env) pgStats(ctx context.Context, window string) func() {
	if e.o.DatabaseURL == "" || e.pgStatsOff {
		return func() {}
	}
	if e.pgStatsDB == nil {
		db, err := sql.Open("pgx", e.o.DatabaseURL)
		if err == nil {
			_, err = db.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
			if err == nil {
				_, err = e.readStatements(ctx, db)
			}
		}
		if err != nil {
			if db != nil {
				_ = db.Close()
			}
			e.pgStatsOff = true
			e.notes = append(e.notes, "no PostgreSQL statement statistics (pg_stat_statements needs to be in shared_preload_libraries and created in the database): "+
				strings.TrimSpace(err.Error()))
			return func() {}
		}
		e.pgStatsDB = db
	}
	before, err := e.readStatements(ctx, e.pgStatsDB)
	if err != nil {
		e.notes = append(e.notes, "pg_stat_statements: "+err.Error())
		return func() {}
	}
	return func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		after, err := e.readStatements(rctx, e.pgStatsDB)
		if err != nil {
			e.notes = append(e.notes, "pg_stat_statements: "+err.Error())
			return
		}
		e.statements = append(e.statements, statementDiff(window, before, after))
	}
}

// readStatements reads the current database's statements by query ID
// (the reading's own statement left out).
func (e *env) readStatements(ctx context.Context, db *sql.DB) (map[int64]stmtReading, error) {
	rows, err := db.QueryContext(ctx, `SELECT queryid, query, calls, total_exec_time, rows FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND queryid IS NOT NULL
		AND query NOT LIKE '%pg_stat_statements%'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]stmtReading{}
	for rows.Next() {
		var id int64
		var r stmtReading
		if err := rows.Scan(&id, &r.query, &r.calls, &r.totalMS, &r.rows); err != nil {
			return nil, err
		}
		out[id] = r
	}
	return out, rows.Err()
}

// statementDiff is what happened between two readings.
func statementDiff(window string, before, after map[int64]stmtReading) StatementWindow {
	w := StatementWindow{Window: window, Statements: []StatementStat{}}
	var all []StatementStat
	for id, a := range after {
		b := before[id]
		calls := a.calls - b.calls
		if calls <= 0 {
			continue
		}
		s := StatementStat{Query: oneLine(a.query, 160), Calls: calls, TotalMS: a.totalMS - b.totalMS, Rows: a.rows - b.rows}
		s.MeanMS = s.TotalMS / float64(calls)
		w.TotalMS += s.TotalMS
		all = append(all, s)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].TotalMS > all[j].TotalMS })
	for i := range all {
		if w.TotalMS > 0 {
			all[i].Share = all[i].TotalMS / w.TotalMS
		}
	}
	w.Statements = append(w.Statements, all[:min(len(all), topStatements)]...)
	return w
}

// oneLine squeezes a statement's white space and cuts it at n bytes.
func oneLine(q string, n int) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > n {
		q = q[:n] + "..."
	}
	return q
}

// writeStatements prints each window's top statements after the table.
func writeStatements(w io.Writer, ws []StatementWindow) error {
	for _, sw := range ws {
		if _, err := fmt.Fprintf(w, "\nPostgreSQL statements during the %s window (pg_stat_statements; %.0f ms in all):\n", sw.Window, sw.TotalMS); err != nil {
			return err
		}
		for _, s := range sw.Statements {
			if _, err := fmt.Fprintf(w, "  %5.1f%%  %8d calls  %9.0f ms  %7.3f ms each  %s\n", 100*s.Share, s.Calls, s.TotalMS, s.MeanMS, s.Query); err != nil {
				return err
			}
		}
	}
	return nil
}
