package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SaveLoginDevice records (or renews) a device an account logged in from.
func (s *Store) SaveLoginDevice(ctx context.Context, tokenHash, account string, now, expires time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO dashboard_devices (token_hash, account, created_at, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (token_hash) DO UPDATE SET expires_at = excluded.expires_at WHERE dashboard_devices.account = excluded.account`,
		tokenHash, account, ms(now), ms(expires))
	if err != nil {
		return fmt.Errorf("store: save login device: %w", err)
	}
	return nil
}

// LoginDevice returns the account of a device that has not expired at
// now ("" when there is none).
func (s *Store) LoginDevice(ctx context.Context, tokenHash string, now time.Time) (string, error) {
	var account string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT account FROM dashboard_devices WHERE token_hash = ? AND expires_at > ?`),
		tokenHash, ms(now)).Scan(&account)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: read login device: %w", err)
	}
	return account, nil
}

// PurgeLoginDevices deletes the devices expired at now.
func (s *Store) PurgeLoginDevices(ctx context.Context, now time.Time) error {
	if _, err := s.exec(ctx, `DELETE FROM dashboard_devices WHERE expires_at <= ?`, ms(now)); err != nil {
		return fmt.Errorf("store: purge login devices: %w", err)
	}
	return nil
}
