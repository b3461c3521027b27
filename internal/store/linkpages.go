package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// Hosted linking pages live in the settings table, one row per link under
// linkPagePrefix+ID with the page as JSON: they are few (a partner makes
// one per customer it is onboarding), read by ID, and pruned once expired,
// so they need no table of their own. The signing key is one more row.
const (
	linkPagePrefix    = "link_page:"
	keyLinkPageSecret = "link_page_secret"
)

// LinkPageSecret returns the key that signs linking-page URLs, creating it
// on first use. Every node of a cluster reads the same one.
func (s *Store) LinkPageSecret(ctx context.Context) ([]byte, error) {
	if v, ok, err := s.Setting(ctx, keyLinkPageSecret); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return hex.DecodeString(v)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if _, err := s.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
		keyLinkPageSecret, hex.EncodeToString(key)); err != nil {
		return nil, fmt.Errorf("store: create link page secret: %w", err)
	}
	v, _, err := s.Setting(ctx, keyLinkPageSecret) // another node may have won
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(v)
}

// PutLinkPage stores a linking page (a new one, or a change to one).
func (s *Store) PutLinkPage(ctx context.Context, p model.LinkPage) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("store: encode link page: %w", err)
	}
	return s.SetSetting(ctx, linkPagePrefix+p.ID, string(raw))
}

// LinkPage reads one linking page by ID.
func (s *Store) LinkPage(ctx context.Context, id string) (model.LinkPage, error) {
	var p model.LinkPage
	var raw string
	err := s.db.QueryRowContext(ctx, s.q("SELECT value FROM settings WHERE key = ?"), linkPagePrefix+id).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("store: link page %s: %w", id, model.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("store: read link page: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return p, fmt.Errorf("store: decode link page: %w", err)
	}
	return p, nil
}

// LinkPages lists the stored linking pages of one partner ("": all),
// optionally of one channel.
func (s *Store) LinkPages(ctx context.Context, partnerID, channelID string) ([]model.LinkPage, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT value FROM settings WHERE substr(key, 1, ?) = ?"), len(linkPagePrefix), linkPagePrefix)
	if err != nil {
		return nil, fmt.Errorf("store: list link pages: %w", err)
	}
	defer rows.Close()
	var out []model.LinkPage
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("store: list link pages: %w", err)
		}
		var p model.LinkPage
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return nil, fmt.Errorf("store: decode link page: %w", err)
		}
		if (partnerID == "" || p.PartnerID == partnerID) && (channelID == "" || p.ChannelID == channelID) {
			out = append(out, p)
		}
	}
	return out, rows.Err()
}

// PruneLinkPages deletes the linking pages that expired before cutoff; it
// returns how many.
func (s *Store) PruneLinkPages(ctx context.Context, cutoff time.Time) (int, error) {
	all, err := s.LinkPages(ctx, "", "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range all {
		if p.ExpiresAt.Before(cutoff) {
			if _, err := s.exec(ctx, `DELETE FROM settings WHERE key = ?`, linkPagePrefix+p.ID); err != nil {
				return n, fmt.Errorf("store: prune link page: %w", err)
			}
			n++
		}
	}
	return n, nil
}
