package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/audit"
)

// writePending writes ctx's pending audit entry, if any, in tx; the
// returned function marks it written once tx committed.
func (s *Store) writePending(ctx context.Context, tx *sql.Tx) (func(), error) {
	p := audit.PendingOf(ctx)
	if p == nil {
		return func() {}, nil
	}
	if err := s.insertAudit(ctx, tx, p.Entry); err != nil {
		return nil, err
	}
	return p.MarkWritten, nil
}

func (s *Store) insertAudit(ctx context.Context, q querier, e audit.Entry) error {
	if e.Action == "" || e.Actor.Kind == "" {
		return fmt.Errorf("store: audit entry without action or actor")
	}
	_, err := q.ExecContext(ctx, s.q(`INSERT INTO audit_log (at, actor_kind, actor_id, ip, partner_id, channel_id, action, target,
		before_json, after_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		ms(e.At), e.Actor.Kind, e.Actor.ID, e.Actor.IP, e.PartnerID, e.ChannelID, e.Action, e.Target, string(e.Before), string(e.After))
	if err != nil {
		return fmt.Errorf("store: write audit entry: %w", err)
	}
	return nil
}

// AppendAudit writes one audit entry on its own (for changes outside the
// database: a runtime restart, a login).
func (s *Store) AppendAudit(ctx context.Context, e audit.Entry) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.insertAudit(ctx, tx, e) })
}

// AuditQuery filters and pages the audit log. Empty fields do not filter.
type AuditQuery struct {
	ActorKind, ActorID   string
	PartnerID, ChannelID string
	// Action matches exactly, or by prefix when it ends in "." or "*"
	// ("channel." lists every channel action).
	Action string
	// From and To bound the time (To excluded); zero: unbounded.
	From, To time.Time
	// Before pages back: only entries with a smaller ID (0: the newest).
	Before int64
	Limit  int
}

// AuditLog lists entries matching q, newest first, and whether more match
// beyond them.
func (s *Store) AuditLog(ctx context.Context, q AuditQuery) ([]audit.Entry, bool, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if q.ActorKind != "" {
		add("actor_kind = ?", q.ActorKind)
	}
	if q.ActorID != "" {
		add("actor_id = ?", q.ActorID)
	}
	if q.PartnerID != "" {
		add("partner_id = ?", q.PartnerID)
	}
	if q.ChannelID != "" {
		add("channel_id = ?", q.ChannelID)
	}
	if a := q.Action; a != "" {
		if p, ok := strings.CutSuffix(a, "*"); ok || strings.HasSuffix(a, ".") {
			if !ok {
				p = a
			}
			add("substr(action, 1, ?) = ?", len(p))
			args = append(args, p)
		} else {
			add("action = ?", a)
		}
	}
	if !q.From.IsZero() {
		add("at >= ?", ms(q.From))
	}
	if !q.To.IsZero() {
		add("at < ?", ms(q.To))
	}
	if q.Before > 0 {
		add("id < ?", q.Before)
	}
	limit := q.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	query := `SELECT id, at, actor_kind, actor_id, ip, partner_id, channel_id, action, target, before_json, after_json FROM audit_log`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit+1)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, false, fmt.Errorf("store: read audit log: %w", err)
	}
	defer rows.Close()
	out := []audit.Entry{}
	for rows.Next() {
		var e audit.Entry
		var at int64
		var before, after string
		if err := rows.Scan(&e.ID, &at, &e.Actor.Kind, &e.Actor.ID, &e.Actor.IP, &e.PartnerID, &e.ChannelID, &e.Action, &e.Target,
			&before, &after); err != nil {
			return nil, false, fmt.Errorf("store: scan audit entry: %w", err)
		}
		e.At = fromMS(at)
		if before != "" {
			e.Before = json.RawMessage(before)
		}
		if after != "" {
			e.After = json.RawMessage(after)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("store: read audit log: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}
