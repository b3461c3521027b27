package store

import (
	"context"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// MessageView is what one recipient did with a message the channel sent.
type MessageView struct {
	MessageID string
	Chat      string
	Viewer    string // the recipient's JID
	Status    string // model.MessageDelivered, Read or Played
	Time      time.Time
}

// StatusView is the recipient a receipt names, recorded with its status
// change (StatusChange.View) in the same transaction.
type StatusView struct {
	Chat   string
	Viewer string // the recipient's JID
	Time   time.Time
}

// putMessageViews records receipts of one recipient for messages; a view
// only moves up (a late delivered receipt never undoes a read).
func (s *Store) putMessageViews(ctx context.Context, q querier, channelID string, ids []string, v StatusView, status string) error {
	rank := model.MessageStatusRank(status)
	for _, id := range ids {
		_, err := q.ExecContext(ctx, s.q(`INSERT INTO message_views (channel_id, message_id, viewer, chat_id, status, status_rank, ts)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (channel_id, message_id, viewer) DO UPDATE SET status = excluded.status, status_rank = excluded.status_rank, ts = excluded.ts
			WHERE message_views.status_rank < excluded.status_rank`), channelID, id, v.Viewer, v.Chat, status, rank, ms(v.Time))
		if err != nil {
			return fmt.Errorf("store: put message view: %w", err)
		}
	}
	return nil
}

// MessageViews lists the recipients' views of a message, by time.
func (s *Store) MessageViews(ctx context.Context, channelID, messageID string) ([]MessageView, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT chat_id, viewer, status, ts FROM message_views
		WHERE channel_id = ? AND message_id = ? ORDER BY ts, viewer`), channelID, messageID)
	if err != nil {
		return nil, fmt.Errorf("store: list message views: %w", err)
	}
	defer rows.Close()
	var out []MessageView
	for rows.Next() {
		v := MessageView{MessageID: messageID}
		var t int64
		if err := rows.Scan(&v.Chat, &v.Viewer, &v.Status, &t); err != nil {
			return nil, fmt.Errorf("store: scan message view: %w", err)
		}
		v.Time = time.UnixMilli(t).UTC()
		out = append(out, v)
	}
	return out, rows.Err()
}
