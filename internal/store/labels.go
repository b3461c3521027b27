package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// Labels: each channel's account labels (WhatsApp Business) and the chats
// that carry them (labels, chat_labels).

// ErrLabelNotFound: no label with that ID.
var ErrLabelNotFound = fmt.Errorf("label %w", model.ErrNotFound)

// ErrLabelAssociationNotFound: the chat does not carry the label.
var ErrLabelAssociationNotFound = fmt.Errorf("label association %w", model.ErrNotFound)

// ErrLabelAssociationExists: the chat already carries the label.
var ErrLabelAssociationExists = fmt.Errorf("label association already exists: %w", model.ErrConflict)

// Label is one of a channel's labels; Count is how many chats carry it
// (filled when read).
type Label struct {
	ChannelID string
	ID        string
	Name      string
	Color     int
	UpdatedAt time.Time
	Count     int
}

const labelSelect = `SELECT l.channel_id, l.id, l.name, l.color, l.updated_at,
	(SELECT COUNT(*) FROM chat_labels a WHERE a.channel_id = l.channel_id AND a.label_id = l.id)
	FROM labels l`

func scanLabel(row interface{ Scan(...any) error }) (Label, error) {
	var l Label
	var at int64
	err := row.Scan(&l.ChannelID, &l.ID, &l.Name, &l.Color, &at, &l.Count)
	l.UpdatedAt = fromMS(at)
	return l, err
}

// Labels lists a channel's labels by ID (numerically).
func (s *Store) Labels(ctx context.Context, channelID string) ([]Label, error) {
	rows, err := s.db.QueryContext(ctx, s.q(labelSelect+" WHERE l.channel_id = ? ORDER BY LENGTH(l.id), l.id"), channelID)
	if err != nil {
		return nil, fmt.Errorf("store: list labels: %w", err)
	}
	defer rows.Close()
	out := []Label{}
	for rows.Next() {
		l, err := scanLabel(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list labels: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Label reads one of a channel's labels.
func (s *Store) Label(ctx context.Context, channelID, id string) (Label, error) {
	l, err := scanLabel(s.db.QueryRowContext(ctx, s.q(labelSelect+" WHERE l.channel_id = ? AND l.id = ?"), channelID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrLabelNotFound
	}
	if err != nil {
		return l, fmt.Errorf("store: read label: %w", err)
	}
	return l, nil
}

// NextLabelID is the smallest label ID above every ID the channel has ("1"
// for none).
func (s *Store) NextLabelID(ctx context.Context, channelID string) (string, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id FROM labels WHERE channel_id = ?"), channelID)
	if err != nil {
		return "", fmt.Errorf("store: label IDs: %w", err)
	}
	defer rows.Close()
	highest := 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", fmt.Errorf("store: label IDs: %w", err)
		}
		if n, err := strconv.Atoi(id); err == nil && n > highest {
			highest = n
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("store: label IDs: %w", err)
	}
	return strconv.Itoa(highest + 1), nil
}

// PutLabel creates or changes a label. hook, when not nil, builds the
// webhook deliveries of the change (before: nil when the label is new),
// enqueued in the same transaction; it is not called when nothing changed.
func (s *Store) PutLabel(ctx context.Context, l Label, hook func(before *Label, after Label) []model.WebhookDelivery) (Label, error) {
	var out Label
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := scanLabel(tx.QueryRowContext(ctx, s.q(labelSelect+" WHERE l.channel_id = ? AND l.id = ?"+s.forUpdate()), l.ChannelID, l.ID))
		var before *Label
		switch {
		case err == nil:
			before = &old
			l.Count = old.Count
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("store: read label: %w", err)
		}
		out = l
		if before != nil && before.Name == l.Name && before.Color == l.Color {
			out = *before
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO labels (channel_id, id, name, color, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (channel_id, id) DO UPDATE SET name = excluded.name, color = excluded.color, updated_at = excluded.updated_at`),
			l.ChannelID, l.ID, l.Name, l.Color, ms(l.UpdatedAt)); err != nil {
			return fmt.Errorf("store: put label: %w", err)
		}
		if hook != nil {
			return s.EnqueueTx(ctx, tx, hook(before, l)...)
		}
		return nil
	})
	return out, err
}

// DeleteLabel removes a label and takes it off every chat; ds, webhook
// deliveries of the deletion, are enqueued in the same transaction.
func (s *Store) DeleteLabel(ctx context.Context, channelID, id string, ds ...model.WebhookDelivery) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM labels WHERE channel_id = ? AND id = ?"), channelID, id)
		if err != nil {
			return fmt.Errorf("store: delete label: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: delete label: %w", err)
		} else if n == 0 {
			return ErrLabelNotFound
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM chat_labels WHERE channel_id = ? AND label_id = ?"), channelID, id); err != nil {
			return fmt.Errorf("store: delete label: %w", err)
		}
		return s.EnqueueTx(ctx, tx, ds...)
	})
}

// SetChatLabel gives a chat a label (on) or takes it away.
// ErrLabelAssociationExists or ErrLabelAssociationNotFound when there is
// nothing to do. hook, when not nil, builds the webhook deliveries of the
// change, enqueued in the same transaction.
func (s *Store) SetChatLabel(ctx context.Context, channelID, labelID, chatID string, on bool, at time.Time,
	hook func() []model.WebhookDelivery) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if on {
			res, err = tx.ExecContext(ctx, s.q(`INSERT INTO chat_labels (channel_id, label_id, chat_id, created_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (channel_id, label_id, chat_id) DO NOTHING`), channelID, labelID, chatID, ms(at))
		} else {
			res, err = tx.ExecContext(ctx, s.q("DELETE FROM chat_labels WHERE channel_id = ? AND label_id = ? AND chat_id = ?"),
				channelID, labelID, chatID)
		}
		if err != nil {
			return fmt.Errorf("store: label chat: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: label chat: %w", err)
		}
		switch {
		case n == 0 && on:
			return ErrLabelAssociationExists
		case n == 0:
			return ErrLabelAssociationNotFound
		}
		if hook != nil {
			return s.EnqueueTx(ctx, tx, hook()...)
		}
		return nil
	})
}

// ChatLabels returns the labels of the given chats (those with none are
// left out), each chat's by label ID.
func (s *Store) ChatLabels(ctx context.Context, channelID string, chatIDs []string) (map[string][]Label, error) {
	out := map[string][]Label{}
	if len(chatIDs) == 0 {
		return out, nil
	}
	for start := 0; start < len(chatIDs); start += 500 {
		if err := s.chatLabels(ctx, channelID, chatIDs[start:min(start+500, len(chatIDs))], out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) chatLabels(ctx context.Context, channelID string, chatIDs []string, out map[string][]Label) error {
	args := make([]any, 0, len(chatIDs)+1)
	args = append(args, channelID)
	marks := make([]string, len(chatIDs))
	for i, id := range chatIDs {
		marks[i] = "?"
		args = append(args, id)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT a.chat_id, l.channel_id, l.id, l.name, l.color, l.updated_at,
		(SELECT COUNT(*) FROM chat_labels c WHERE c.channel_id = l.channel_id AND c.label_id = l.id)
		FROM chat_labels a JOIN labels l ON l.channel_id = a.channel_id AND l.id = a.label_id
		WHERE a.channel_id = ? AND a.chat_id IN (`+strings.Join(marks, ", ")+`) ORDER BY a.chat_id, LENGTH(l.id), l.id`), args...)
	if err != nil {
		return fmt.Errorf("store: chat labels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var chat string
		var l Label
		var at int64
		if err := rows.Scan(&chat, &l.ChannelID, &l.ID, &l.Name, &l.Color, &at, &l.Count); err != nil {
			return fmt.Errorf("store: chat labels: %w", err)
		}
		l.UpdatedAt = fromMS(at)
		out[chat] = append(out[chat], l)
	}
	return rows.Err()
}

// LabelChats lists the IDs of the chats that carry a label.
func (s *Store) LabelChats(ctx context.Context, channelID, labelID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT chat_id FROM chat_labels WHERE channel_id = ? AND label_id = ? ORDER BY created_at, chat_id"),
		channelID, labelID)
	if err != nil {
		return nil, fmt.Errorf("store: label chats: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: label chats: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
