package store

import (
	"context"
	"fmt"
	"time"
)

// ChannelHealth is a channel's connection state as the node running it last
// wrote it (cluster mode), so that any node can show it.
type ChannelHealth struct {
	ChannelID string
	Node      string
	Epoch     int64
	Status    string
	State     string
	Error     string
	Code      int
	StartedAt time.Time
	UpdatedAt time.Time
}

// SaveChannelHealth records a channel's state, if f still holds (ErrFenced
// otherwise: the shard moved and the writer must stop the channel).
func (s *Store) SaveChannelHealth(ctx context.Context, f Fence, h ChannelHealth) error {
	cond, cargs := fenceCond(f)
	var started int64
	if !h.StartedAt.IsZero() {
		started = ms(h.StartedAt)
	}
	args := append([]any{h.ChannelID, f.Node, f.Epoch, h.Status, h.State, h.Error, h.Code, started, ms(h.UpdatedAt)}, cargs...)
	res, err := s.exec(ctx, `INSERT INTO channel_health (channel_id, node, epoch, status, state, error, code, started_at, updated_at)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE `+cond+`
		ON CONFLICT (channel_id) DO UPDATE SET node = excluded.node, epoch = excluded.epoch, status = excluded.status,
			state = excluded.state, error = excluded.error, code = excluded.code, started_at = excluded.started_at,
			updated_at = excluded.updated_at`, args...)
	if err != nil {
		if isForeignKeyViolation(err) {
			return nil // the channel was deleted meanwhile
		}
		return fmt.Errorf("store: save channel health: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrFenced
	}
	return nil
}

// ChannelHealths reads the recorded states of channels (those never
// recorded are missing from the map).
func (s *Store) ChannelHealths(ctx context.Context, ids []string) (map[string]ChannelHealth, error) {
	out := make(map[string]ChannelHealth, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 500)]
		ids = ids[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT channel_id, node, epoch, status, state, error, code, started_at, updated_at
			FROM channel_health WHERE channel_id IN (`+placeholders(len(batch))+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("store: channel healths: %w", err)
		}
		for rows.Next() {
			var h ChannelHealth
			var started, updated int64
			if err := rows.Scan(&h.ChannelID, &h.Node, &h.Epoch, &h.Status, &h.State, &h.Error, &h.Code, &started, &updated); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: scan channel health: %w", err)
			}
			if started > 0 {
				h.StartedAt = fromMS(started)
			}
			h.UpdatedAt = fromMS(updated)
			out[h.ChannelID] = h
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: channel healths: %w", err)
		}
	}
	return out, nil
}
