package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SimPhone is a phone of the sim engine as the database keeps it.
type SimPhone struct {
	Number string
	Name   string
	About  string
}

// SaveSimPhone records a sim phone (a new one, or its new name or about).
func (s *Store) SaveSimPhone(ctx context.Context, p SimPhone, now time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO sim_phones (number, name, about, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (number) DO UPDATE SET name = excluded.name, about = excluded.about, updated_at = excluded.updated_at`,
		p.Number, p.Name, p.About, ms(now))
	if err != nil {
		return fmt.Errorf("store: save sim phone: %w", err)
	}
	return nil
}

// SimPhones returns every stored sim phone, by number.
func (s *Store) SimPhones(ctx context.Context) ([]SimPhone, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT number, name, about FROM sim_phones ORDER BY number`)
	if err != nil {
		return nil, fmt.Errorf("store: list sim phones: %w", err)
	}
	defer rows.Close()
	var out []SimPhone
	for rows.Next() {
		var p SimPhone
		if err := rows.Scan(&p.Number, &p.Name, &p.About); err != nil {
			return nil, fmt.Errorf("store: scan sim phone: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// SaveSimState stores the sim network's snapshot. With a non-empty
// leaderIncarnation (cluster mode) it is written only while that
// incarnation is the leader row's (ErrFenced otherwise): a node that
// stopped hosting never overwrites the new host's state. The lease's
// expiry is not required: another node hosts the network only after it
// took the row, so a leader stopping slowly (its lease lapsed during the
// handover, nobody took it yet) still saves its last changes.
func (s *Store) SaveSimState(ctx context.Context, data []byte, node, leaderIncarnation string, at time.Time) error {
	query := `INSERT INTO sim_state (id, data, node, saved_at) SELECT 1, ?, ?, ?`
	args := []any{data, node, ms(at)}
	if leaderIncarnation != "" {
		query += " WHERE EXISTS (SELECT 1 FROM cluster_leader WHERE id = 1 AND incarnation = ?)"
		args = append(args, leaderIncarnation)
	}
	query += " ON CONFLICT (id) DO UPDATE SET data = excluded.data, node = excluded.node, saved_at = excluded.saved_at"
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: save sim state: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrFenced
	}
	return nil
}

// SimState is the sim network's last snapshot (nil when none was saved).
func (s *Store) SimState(ctx context.Context) ([]byte, time.Time, error) {
	var data []byte
	var at int64
	err := s.db.QueryRowContext(ctx, "SELECT data, saved_at FROM sim_state WHERE id = 1").Scan(&data, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("store: read sim state: %w", err)
	}
	return data, fromMS(at), nil
}
