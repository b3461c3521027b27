package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// Dashboard session kinds.
const (
	SessionPartner  = "partner"
	SessionOperator = "operator"
)

// DashboardSession is one login to the dashboard.
type DashboardSession struct {
	// TokenHash is the hex SHA-256 of the cookie's value.
	TokenHash string
	// Kind is SessionPartner or SessionOperator.
	Kind string
	// PartnerID is set for partner sessions.
	PartnerID string
	// OperatorID is a named operator's ID ("" for the admin token).
	OperatorID string
	// CSRF is the session's secret for CSRF tokens and signed messages.
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

const sessionColumns = "token_hash, kind, partner_id, csrf, created_at, expires_at, operator_id"

// CreateDashboardSession stores a new session.
func (s *Store) CreateDashboardSession(ctx context.Context, ds DashboardSession) error {
	if ds.Kind != SessionPartner && ds.Kind != SessionOperator {
		return fmt.Errorf("store: session kind %q: %w", ds.Kind, model.ErrInvalid)
	}
	_, err := s.exec(ctx, `INSERT INTO dashboard_sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ds.TokenHash, ds.Kind, ds.PartnerID, ds.CSRF, ms(ds.CreatedAt), ms(ds.ExpiresAt), ds.OperatorID)
	if isUniqueViolation(err) {
		return fmt.Errorf("store: session exists: %w", model.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: insert session: %w", err)
	}
	return nil
}

// DashboardSession returns the session with this token hash that is still
// valid at now; an unknown or expired session is ErrNotFound.
func (s *Store) DashboardSession(ctx context.Context, tokenHash string, now time.Time) (DashboardSession, error) {
	var (
		ds               DashboardSession
		created, expires int64
	)
	err := s.db.QueryRowContext(ctx, s.q(`SELECT `+sessionColumns+` FROM dashboard_sessions
		WHERE token_hash = ? AND expires_at > ?`), tokenHash, ms(now)).
		Scan(&ds.TokenHash, &ds.Kind, &ds.PartnerID, &ds.CSRF, &created, &expires, &ds.OperatorID)
	if errors.Is(err, sql.ErrNoRows) {
		return ds, fmt.Errorf("session %w", model.ErrNotFound)
	}
	if err != nil {
		return ds, fmt.Errorf("store: read session: %w", err)
	}
	ds.CreatedAt, ds.ExpiresAt = fromMS(created), fromMS(expires)
	return ds, nil
}

// DeleteDashboardSession ends one session; an unknown one is no error.
func (s *Store) DeleteDashboardSession(ctx context.Context, tokenHash string) error {
	if _, err := s.exec(ctx, `DELETE FROM dashboard_sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeletePartnerSessions ends every session of one partner (after its
// password changed) and reports how many.
func (s *Store) DeletePartnerSessions(ctx context.Context, partnerID string) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM dashboard_sessions WHERE kind = ? AND partner_id = ?`, SessionPartner, partnerID)
	if err != nil {
		return 0, fmt.Errorf("store: delete partner sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// PurgeDashboard deletes sessions expired at now and login failures older
// than before; it reports how many rows went.
func (s *Store) PurgeDashboard(ctx context.Context, now, before time.Time) (int, error) {
	var total int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM dashboard_sessions WHERE expires_at <= ?`), ms(now))
		if err != nil {
			return fmt.Errorf("store: purge sessions: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		res, err = tx.ExecContext(ctx, s.q(`DELETE FROM dashboard_login_failures WHERE at < ?`), ms(before))
		if err != nil {
			return fmt.Errorf("store: purge login failures: %w", err)
		}
		n, _ = res.RowsAffected()
		total += n
		return nil
	})
	return int(total), err
}

// RecordLoginFailure notes a failed login under each key.
func (s *Store) RecordLoginFailure(ctx context.Context, at time.Time, keys ...string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO dashboard_login_failures (key, at) VALUES (?, ?)`), k, ms(at)); err != nil {
				return fmt.Errorf("store: record login failure: %w", err)
			}
		}
		return nil
	})
}

// LoginFailures counts the failures under key strictly after since, and
// returns the oldest of them (zero when there is none).
func (s *Store) LoginFailures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var (
		n      int
		oldest sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*), MIN(at) FROM dashboard_login_failures WHERE key = ? AND at > ?`),
		key, ms(since)).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: count login failures: %w", err)
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, fromMS(oldest.Int64), nil
}

// ClearLoginFailures forgets the failures under key (after a good login).
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, `DELETE FROM dashboard_login_failures WHERE key = ?`, key); err != nil {
		return fmt.Errorf("store: clear login failures: %w", err)
	}
	return nil
}
