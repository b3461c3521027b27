package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// What real WhatsApp makes the store keep besides messages: the encoded
// form of sent messages (for retry receipts), counters of what WhatsApp did
// to a channel, and process-wide facts in a key-value table.

func (s *Store) putSentPayload(ctx context.Context, tx *sql.Tx, channelID, messageID string, payload []byte, at time.Time) error {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO sent_payloads (channel_id, message_id, payload, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (channel_id, message_id) DO NOTHING`),
		channelID, messageID, payload, ms(at)); err != nil {
		return fmt.Errorf("store: keep sent payload: %w", err)
	}
	return nil
}

// PutSentPayload keeps the encoded form of a message a channel sent that is
// not stored as a message of its own (an edit, a reaction).
func (s *Store) PutSentPayload(ctx context.Context, channelID, messageID string, payload []byte, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.putSentPayload(ctx, tx, channelID, messageID, payload, at) })
}

// SentPayload returns the encoded form of a message a channel sent, nil
// when it is not kept (never sent through wagate, or pruned).
func (s *Store) SentPayload(ctx context.Context, channelID, messageID string) ([]byte, error) {
	var p []byte
	err := s.db.QueryRowContext(ctx, s.q(`SELECT payload FROM sent_payloads WHERE channel_id = ? AND message_id = ?`),
		channelID, messageID).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: sent payload: %w", err)
	}
	return p, nil
}

// PruneSentPayloads deletes kept payloads of messages sent before before,
// at most batch rows per transaction (so writers are never held up long),
// and returns how many it deleted.
func (s *Store) PruneSentPayloads(ctx context.Context, before time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = 1000
	}
	total := 0
	for {
		res, err := s.exec(ctx, `DELETE FROM sent_payloads WHERE (channel_id, message_id) IN
			(SELECT channel_id, message_id FROM sent_payloads WHERE created_at < ? LIMIT ?)`, ms(before), batch)
		if err != nil {
			return total, fmt.Errorf("store: prune sent payloads: %w", err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
		if int(n) < batch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// Channel counter names.
const (
	// CounterUndecryptable counts messages that arrived but could not be
	// decrypted.
	CounterUndecryptable = "undecryptable"
	// CounterReachoutRefused counts sends WhatsApp refused because the
	// account may not write to new contacts for now (463).
	CounterReachoutRefused = "reachout_refused"
)

// Counter is one counter of a channel.
type Counter struct {
	Count int64
	// Last is when it last moved, Info what it said then.
	Last time.Time
	Info string
}

// BumpChannelCounter adds one to a channel's counter name.
func (s *Store) BumpChannelCounter(ctx context.Context, channelID, name, info string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.BumpChannelCounterTx(ctx, tx, channelID, name, info, at) })
}

// BumpChannelCounterTx is BumpChannelCounter inside a transaction.
func (s *Store) BumpChannelCounterTx(ctx context.Context, tx *sql.Tx, channelID, name, info string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO channel_counters (channel_id, name, count, last_at, last_info)
		VALUES (?, ?, 1, ?, ?) ON CONFLICT (channel_id, name) DO UPDATE SET
			count = channel_counters.count + 1, last_at = excluded.last_at, last_info = excluded.last_info`),
		channelID, name, ms(at), info); err != nil {
		return fmt.Errorf("store: bump counter %s: %w", name, err)
	}
	return nil
}

// ChannelCounters returns a channel's counters by name.
func (s *Store) ChannelCounters(ctx context.Context, channelID string) (map[string]Counter, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT name, count, last_at, last_info FROM channel_counters WHERE channel_id = ?`), channelID)
	if err != nil {
		return nil, fmt.Errorf("store: channel counters: %w", err)
	}
	defer rows.Close()
	out := map[string]Counter{}
	for rows.Next() {
		var name string
		var c Counter
		var last int64
		if err := rows.Scan(&name, &c.Count, &last, &c.Info); err != nil {
			return nil, fmt.Errorf("store: channel counters: %w", err)
		}
		c.Last = fromMS(last)
		out[name] = c
	}
	return out, rows.Err()
}

// GetKV returns the value stored under key ("" and false when none).
func (s *Store) GetKV(ctx context.Context, key string) (string, time.Time, bool, error) {
	var v string
	var at int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT value, updated_at FROM kv WHERE key = ?`), key).Scan(&v, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("store: get %s: %w", key, err)
	}
	return v, fromMS(at), true, nil
}

// SetKV stores value under key.
func (s *Store) SetKV(ctx context.Context, key, value string, at time.Time) error {
	if _, err := s.exec(ctx, `INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, ms(at)); err != nil {
		return fmt.Errorf("store: set %s: %w", key, err)
	}
	return nil
}

// InsertKV stores value under key unless the key exists (the first of
// several nodes to create a shared value wins; the others read it).
func (s *Store) InsertKV(ctx context.Context, key, value string, at time.Time) error {
	if _, err := s.exec(ctx, `INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`, key, value, ms(at)); err != nil {
		return fmt.Errorf("store: insert %s: %w", key, err)
	}
	return nil
}

// LinkedDevices lists the engine devices of every channel, running or not.
func (s *Store) LinkedDevices(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT wa_device FROM channels WHERE wa_device <> ''`)
	if err != nil {
		return nil, fmt.Errorf("store: linked devices: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("store: linked devices: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
