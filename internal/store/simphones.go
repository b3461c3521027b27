package store

import (
	"context"
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
