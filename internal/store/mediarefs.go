package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// ErrMediaRefNotFound: no received file with that media ID.
var ErrMediaRefNotFound = fmt.Errorf("media %w", model.ErrNotFound)

// ErrCallNotFound: no call with that ID.
var ErrCallNotFound = fmt.Errorf("call %w", model.ErrNotFound)

// MediaRef is a received file that is fetched on demand: the engine's
// reference (Ref) and the message it came with.
type MediaRef struct {
	ChannelID, MediaID        string
	MessageID, ChatID, Sender string
	FromMe                    bool
	Kind, MimeType, FileName  string
	Ref                       string
	CreatedAt                 time.Time
}

const mediaRefColumns = "channel_id, media_id, message_id, chat_id, sender, from_me, kind, mime_type, file_name, ref, created_at"

// PutMediaRef records a received file's reference (once per media ID).
func (s *Store) PutMediaRef(ctx context.Context, r MediaRef) error {
	_, err := s.exec(ctx, "INSERT INTO media_refs ("+mediaRefColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id, media_id) DO NOTHING",
		r.ChannelID, r.MediaID, r.MessageID, r.ChatID, r.Sender, r.FromMe, r.Kind, r.MimeType, r.FileName, r.Ref, ms(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put media ref: %w", err)
	}
	return nil
}

// MediaRef reads a received file's reference by its media ID.
func (s *Store) MediaRef(ctx context.Context, channelID, mediaID string) (MediaRef, error) {
	var r MediaRef
	var created int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT "+mediaRefColumns+" FROM media_refs WHERE channel_id = ? AND media_id = ?"), channelID, mediaID).
		Scan(&r.ChannelID, &r.MediaID, &r.MessageID, &r.ChatID, &r.Sender, &r.FromMe, &r.Kind, &r.MimeType, &r.FileName, &r.Ref, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrMediaRefNotFound
	}
	if err != nil {
		return r, fmt.Errorf("store: read media ref: %w", err)
	}
	r.CreatedAt = fromMS(created)
	return r, nil
}

// MediaRefOfMessage reads the reference of a message's file.
func (s *Store) MediaRefOfMessage(ctx context.Context, channelID, messageID string) (MediaRef, error) {
	var mediaID string
	err := s.db.QueryRowContext(ctx, s.q("SELECT media_id FROM media_refs WHERE channel_id = ? AND message_id = ? ORDER BY created_at DESC LIMIT 1"), channelID, messageID).Scan(&mediaID)
	if errors.Is(err, sql.ErrNoRows) {
		return MediaRef{}, ErrMediaRefNotFound
	}
	if err != nil {
		return MediaRef{}, fmt.Errorf("store: read media ref: %w", err)
	}
	return s.MediaRef(ctx, channelID, mediaID)
}

// DeleteMediaRefsBefore drops references recorded before t; it returns
// how many went.
func (s *Store) DeleteMediaRefsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.exec(ctx, "DELETE FROM media_refs WHERE created_at < ?", ms(t))
	if err != nil {
		return 0, fmt.Errorf("store: prune media refs: %w", err)
	}
	return res.RowsAffected()
}

// Call is a call a channel saw.
type Call struct {
	ChannelID, ID, ChatID, Caller string
	Status                        string // the engine's last status: offer, accept, terminate, missed
	Video, Group                  bool
	Answered, Rejected            bool
	CreatedAt, UpdatedAt          time.Time
}

const callColumns = "channel_id, id, chat_id, caller, status, video, is_group, answered, rejected, created_at, updated_at"

func scanCall(row interface{ Scan(...any) error }) (Call, error) {
	var c Call
	var created, updated int64
	err := row.Scan(&c.ChannelID, &c.ID, &c.ChatID, &c.Caller, &c.Status, &c.Video, &c.Group, &c.Answered, &c.Rejected, &created, &updated)
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return c, err
}

// UpdateCall applies fn to a channel's call (a new one, zero but its IDs,
// when there is none) and stores it with the deliveries hook returns, in
// one transaction.
func (s *Store) UpdateCall(ctx context.Context, channelID, id string, fn func(c *Call, created bool) error,
	hook func(c Call) []model.WebhookDelivery) (Call, error) {
	var out Call
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := scanCall(tx.QueryRowContext(ctx, s.q("SELECT "+callColumns+" FROM calls WHERE channel_id = ? AND id = ?"+s.forUpdate()), channelID, id))
		created := errors.Is(err, sql.ErrNoRows)
		if err != nil && !created {
			return fmt.Errorf("store: read call: %w", err)
		}
		if created {
			c = Call{ChannelID: channelID, ID: id}
		}
		if err := fn(&c, created); err != nil {
			return err
		}
		if c.CreatedAt.IsZero() {
			c.CreatedAt = c.UpdatedAt
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO calls (`+callColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (channel_id, id) DO UPDATE SET chat_id = excluded.chat_id, caller = excluded.caller, status = excluded.status,
				video = excluded.video, is_group = excluded.is_group, answered = excluded.answered, rejected = excluded.rejected,
				updated_at = excluded.updated_at`),
			c.ChannelID, c.ID, c.ChatID, c.Caller, c.Status, c.Video, c.Group, c.Answered, c.Rejected, ms(c.CreatedAt), ms(c.UpdatedAt))
		if err != nil {
			return fmt.Errorf("store: put call: %w", err)
		}
		if hook != nil {
			if err := s.EnqueueTx(ctx, tx, hook(c)...); err != nil {
				return err
			}
		}
		out = c
		return nil
	})
	return out, err
}

// Call reads a channel's call.
func (s *Store) Call(ctx context.Context, channelID, id string) (Call, error) {
	c, err := scanCall(s.db.QueryRowContext(ctx, s.q("SELECT "+callColumns+" FROM calls WHERE channel_id = ? AND id = ?"), channelID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrCallNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: read call: %w", err)
	}
	return c, nil
}

// DeleteCallsBefore drops calls last seen before t.
func (s *Store) DeleteCallsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.exec(ctx, "DELETE FROM calls WHERE updated_at < ?", ms(t))
	if err != nil {
		return 0, fmt.Errorf("store: prune calls: %w", err)
	}
	return res.RowsAffected()
}
