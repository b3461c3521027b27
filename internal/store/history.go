package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// HistoryItem is a history sync chunk a channel was told of, waiting to be
// fetched and imported.
type HistoryItem struct {
	ChannelID string
	ID        string
	Ref       []byte
	Attempts  int
	CreatedAt time.Time
}

// QueueHistory keeps a chunk's notice (once: the same ID again is
// ignored).
func (s *Store) QueueHistory(ctx context.Context, channelID, id string, ref []byte, at time.Time) error {
	if _, err := s.exec(ctx, `INSERT INTO history_queue (channel_id, id, ref, attempts, next_at, created_at) VALUES (?, ?, ?, 0, 0, ?)
		ON CONFLICT (channel_id, id) DO NOTHING`, channelID, id, ref, ms(at)); err != nil {
		return fmt.Errorf("store: queue history: %w", err)
	}
	return nil
}

// NextHistory returns the oldest chunk due at now (ok false when none).
func (s *Store) NextHistory(ctx context.Context, now time.Time) (HistoryItem, bool, error) {
	var it HistoryItem
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT channel_id, id, ref, attempts, created_at FROM history_queue
		WHERE next_at <= ? ORDER BY created_at, channel_id, id LIMIT 1`), ms(now)).Scan(&it.ChannelID, &it.ID, &it.Ref, &it.Attempts, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return it, false, nil
	}
	if err != nil {
		return it, false, fmt.Errorf("store: next history: %w", err)
	}
	it.CreatedAt = fromMS(created)
	return it, true, nil
}

// PostponeHistory makes a chunk due again at next; failed counts an
// attempt.
func (s *Store) PostponeHistory(ctx context.Context, channelID, id string, next time.Time, failed bool) error {
	add := 0
	if failed {
		add = 1
	}
	if _, err := s.exec(ctx, "UPDATE history_queue SET next_at = ?, attempts = attempts + ? WHERE channel_id = ? AND id = ?",
		ms(next), add, channelID, id); err != nil {
		return fmt.Errorf("store: postpone history: %w", err)
	}
	return nil
}

// DeleteHistory drops a chunk's notice (imported, or given up).
func (s *Store) DeleteHistory(ctx context.Context, channelID, id string) error {
	if _, err := s.exec(ctx, "DELETE FROM history_queue WHERE channel_id = ? AND id = ?", channelID, id); err != nil {
		return fmt.Errorf("store: delete history: %w", err)
	}
	return nil
}

// HistoryQueued counts a channel's chunks waiting.
func (s *Store) HistoryQueued(ctx context.Context, channelID string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM history_queue WHERE channel_id = ?"), channelID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count history: %w", err)
	}
	return n, nil
}
