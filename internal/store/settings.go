package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wagate/wagate/internal/model"
)

// Setting keys.
const (
	keyAdminTokenHash   = "admin_token_hash"
	keyAdminTokenPinned = "admin_token_pinned"
	keyOperatorSettings = "operator"
)

// Setting reads one value; ok is false when it was never set.
func (s *Store) Setting(ctx context.Context, key string) (value string, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, s.q("SELECT value FROM settings WHERE key = ?"), key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: read setting %s: %w", key, err)
	}
	return value, true, nil
}

// SetSetting writes one value.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	if key == keyOperatorSettings {
		defer s.changed(Change{Operator: true})
	}
	_, err := s.exec(ctx, (`INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`), key, value)
	if err != nil {
		return fmt.Errorf("store: write setting %s: %w", key, err)
	}
	return nil
}

// AdminTokenHash returns the stored hash of the operator token, if any.
func (s *Store) AdminTokenHash(ctx context.Context) (string, bool, error) {
	return s.Setting(ctx, keyAdminTokenHash)
}

// InitAdminTokenHash stores the operator token hash unless one exists; it
// reports whether it stored it (false: another process got there first).
func (s *Store) InitAdminTokenHash(ctx context.Context, hash string) (bool, error) {
	res, err := s.exec(ctx, (`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`),
		keyAdminTokenHash, hash)
	if err != nil {
		return false, fmt.Errorf("store: init admin token: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetAdminTokenHash replaces the operator token hash (token rotation).
func (s *Store) SetAdminTokenHash(ctx context.Context, hash string) error {
	return s.SetSetting(ctx, keyAdminTokenHash, hash)
}

// SetAdminTokenPinned records whether the operator token comes from
// WAGATE_ADMIN_TOKEN (set at every start), for the CLI's rotate-token.
func (s *Store) SetAdminTokenPinned(ctx context.Context, pinned bool) error {
	return s.SetSetting(ctx, keyAdminTokenPinned, fmt.Sprint(pinned))
}

// AdminTokenPinned reports whether the server last started with the
// operator token set by WAGATE_ADMIN_TOKEN.
func (s *Store) AdminTokenPinned(ctx context.Context) (bool, error) {
	v, _, err := s.Setting(ctx, keyAdminTokenPinned)
	return v == "true", err
}

// OperatorSettings returns the operator's settings, defaults filled in.
func (s *Store) OperatorSettings(ctx context.Context) (model.OperatorSettings, error) {
	return operatorSettings(ctx, s, s.db)
}

func operatorSettings(ctx context.Context, s *Store, q querier) (model.OperatorSettings, error) {
	out := model.DefaultOperatorSettings()
	var raw string
	err := q.QueryRowContext(ctx, s.q("SELECT value FROM settings WHERE key = ?"), keyOperatorSettings).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("store: read operator settings: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return out, fmt.Errorf("store: decode operator settings: %w", err)
	}
	return out, nil
}

// SetOperatorSettings stores the operator's settings.
func (s *Store) SetOperatorSettings(ctx context.Context, v model.OperatorSettings) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode operator settings: %w", err)
	}
	return s.SetSetting(ctx, keyOperatorSettings, string(raw))
}
