package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// Retention: the batches the background pruning deletes (service's
// PruneRetention). Each call is one short transaction of at most limit
// rows of one channel, found through an index (messages_by_time,
// webhook_deliveries_finished, media), so a writer waits at most one
// batch.

// ChannelDoc is a channel's ID and raw settings document.
type ChannelDoc struct {
	ID       string
	Settings string
}

// ChannelDocs lists up to limit channels with IDs after after, in ID
// order, with their settings documents (a page of all channels).
func (s *Store) ChannelDocs(ctx context.Context, after string, limit int) ([]ChannelDoc, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id, settings FROM channels WHERE id > ? ORDER BY id LIMIT ?"), after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list channel settings: %w", err)
	}
	defer rows.Close()
	var out []ChannelDoc
	for rows.Next() {
		var d ChannelDoc
		if err := rows.Scan(&d.ID, &d.Settings); err != nil {
			return nil, fmt.Errorf("store: list channel settings: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// PruneMessages deletes up to limit of a channel's messages older than
// before (their time), oldest first, and returns how many went. Chats stay
// (with their last message time).
func (s *Store) PruneMessages(ctx context.Context, channelID string, before time.Time, limit int) (int, error) {
	// The row-value IN lets PostgreSQL find each row by its primary key
	// (with "id IN" it may scan all of the channel's rows for the ids).
	res, err := s.exec(ctx, `DELETE FROM messages WHERE (channel_id, id) IN
		(SELECT channel_id, id FROM messages WHERE channel_id = ? AND ts < ? ORDER BY ts LIMIT ?)`, channelID, ms(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: prune messages: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// PruneChannelDeliveries deletes up to limit of a channel's finished
// (delivered, dropped, failed) webhook deliveries that finished before
// before, with their attempts, and returns how many went.
func (s *Store) PruneChannelDeliveries(ctx context.Context, channelID string, before time.Time, limit int) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		seqs, err := s.seqs(ctx, tx, `SELECT d.seq FROM webhook_deliveries d WHERE d.status <> 'pending'
			AND d.finished_at < ? AND d.channel_id = ? LIMIT ?`+s.skipLocked("d"), ms(before), channelID, limit)
		if err != nil || len(seqs) == 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM webhook_attempts WHERE delivery_id IN
			(SELECT id FROM webhook_deliveries WHERE seq IN (`+placeholders(len(seqs))+`))`), seqs...); err != nil {
			return fmt.Errorf("store: prune webhook attempts: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM webhook_deliveries WHERE seq IN (`+placeholders(len(seqs))+`)`), seqs...); err != nil {
			return fmt.Errorf("store: prune webhook deliveries: %w", err)
		}
		n = len(seqs)
		return nil
	})
	return n, err
}

// MediaBefore lists up to limit of a channel's media files stored before
// before, oldest first.
func (s *Store) MediaBefore(ctx context.Context, channelID string, before time.Time, limit int) ([]model.MediaFile, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+mediaColumns+" FROM media WHERE channel_id = ? AND created_at < ? ORDER BY created_at LIMIT ?"),
		channelID, ms(before), limit)
	if err != nil {
		return nil, fmt.Errorf("store: list old media: %w", err)
	}
	out, _, err := collectMedia(rows, 0)
	return out, err
}
