package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// LIDPair is a user's LID ("<digits>@lid") and phone-number JID.
type LIDPair struct {
	LID string
	PN  string
}

// PutLIDs records LID and phone-number pairs of a channel's users, in one
// transaction; a pair replaces any other pair with the same LID or the
// same number. It returns the pairs that were not stored as they are.
func (s *Store) PutLIDs(ctx context.Context, channelID string, pairs []LIDPair, at time.Time) ([]LIDPair, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	var fresh []LIDPair
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		fresh = fresh[:0]
		for _, p := range pairs {
			if p.LID == "" || p.PN == "" {
				return errors.New("store: put LID: empty LID or number")
			}
			var pn string
			err := tx.QueryRowContext(ctx, s.q("SELECT pn FROM contact_lids WHERE channel_id = ? AND lid = ?"), channelID, p.LID).Scan(&pn)
			if err == nil && pn == p.PN {
				continue
			}
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: read LID: %w", err)
			}
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM contact_lids WHERE channel_id = ? AND (lid = ? OR pn = ?)"), channelID, p.LID, p.PN); err != nil {
				return fmt.Errorf("store: put LID: %w", err)
			}
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO contact_lids (channel_id, lid, pn, updated_at) VALUES (?, ?, ?, ?)"),
				channelID, p.LID, p.PN, ms(at)); err != nil {
				return fmt.Errorf("store: put LID: %w", err)
			}
			fresh = append(fresh, p)
		}
		return nil
	})
	return fresh, err
}

// PNOfLID returns the phone-number JID of a LID ("" when not known).
func (s *Store) PNOfLID(ctx context.Context, channelID, lid string) (string, error) {
	var pn string
	err := s.db.QueryRowContext(ctx, s.q("SELECT pn FROM contact_lids WHERE channel_id = ? AND lid = ?"), channelID, lid).Scan(&pn)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: read LID: %w", err)
	}
	return pn, nil
}

// LIDsOf returns the LIDs of phone-number JIDs, by number; numbers with no
// known LID are left out.
func (s *Store) LIDsOf(ctx context.Context, channelID string, pns []string) (map[string]string, error) {
	out := make(map[string]string, len(pns))
	for _, pn := range pns {
		if _, ok := out[pn]; ok || pn == "" {
			continue
		}
		var lid string
		err := s.db.QueryRowContext(ctx, s.q("SELECT lid FROM contact_lids WHERE channel_id = ? AND pn = ?"), channelID, pn).Scan(&lid)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: read LID: %w", err)
		}
		out[pn] = lid
	}
	return out, nil
}

// lidOfColumn is the LID of the row's user (col), "" when not known; for
// the SELECT lists of chats and contacts.
func lidOfColumn(table string) string {
	return "COALESCE((SELECT l.lid FROM contact_lids l WHERE l.channel_id = " + table + ".channel_id AND l.pn = " + table + ".id), '')"
}

// MergeChat moves what a channel keeps under a user's LID (from) to the
// user's phone-number JID (to): the chat's messages, the chat itself
// (merged into to's chat when there is one: unread counts add up, the
// newest message stays last, flags and a name are kept), the contact, the
// user's group memberships, and the references of received files. merged is false when nothing was kept
// under from.
func (s *Store) MergeChat(ctx context.Context, channelID, from, to string) (merged bool, err error) {
	if from == to || from == "" || to == "" {
		return false, nil
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		merged = false
		moves := []struct{ what, query string }{
			{"messages", "UPDATE messages SET chat_id = ? WHERE channel_id = ? AND chat_id = ?"},
			{"senders", "UPDATE messages SET sender = ? WHERE channel_id = ? AND sender = ?"},
			{"media", "UPDATE media_refs SET chat_id = ? WHERE channel_id = ? AND chat_id = ?"},
			{"media senders", "UPDATE media_refs SET sender = ? WHERE channel_id = ? AND sender = ?"},
		}
		for _, m := range moves {
			res, err := tx.ExecContext(ctx, s.q(m.query), to, channelID, from)
			if err != nil {
				return fmt.Errorf("store: merge chat %s: %w", m.what, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				merged = true
			}
		}
		old, err := scanChat(tx.QueryRowContext(ctx, s.q("SELECT "+chatColumns+" FROM chats WHERE channel_id = ? AND id = ?"+s.forUpdate()), channelID, from))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("store: merge chat: %w", err)
		default:
			merged = true
			if err := s.mergeChatRow(ctx, tx, old, to); err != nil {
				return err
			}
		}
		// Group memberships kept under the LID take the number, unless
		// the number is a member already (then the LID's row goes).
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM wa_group_participants WHERE channel_id = ? AND user_id = ?
			AND group_id IN (SELECT group_id FROM wa_group_participants WHERE channel_id = ? AND user_id = ?)`),
			channelID, from, channelID, to); err != nil {
			return fmt.Errorf("store: merge group members: %w", err)
		}
		res, err := tx.ExecContext(ctx, s.q("UPDATE wa_group_participants SET user_id = ? WHERE channel_id = ? AND user_id = ?"), to, channelID, from)
		if err != nil {
			return fmt.Errorf("store: merge group members: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			merged = true
		}
		return s.mergeContact(ctx, tx, channelID, from, to, &merged)
	})
	return merged, err
}

// mergeChatRow folds chat old into the chat to (created from old when
// there is none) and drops old.
func (s *Store) mergeChatRow(ctx context.Context, tx *sql.Tx, old model.Chat, to string) error {
	var mute int64
	if !old.MuteUntil.IsZero() {
		mute = ms(old.MuteUntil)
	}
	var last int64
	if !old.LastTime.IsZero() {
		last = ms(old.LastTime)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chats (channel_id, id, type, name, last_message_id, last_ts, unread, archived, pinned, mute_until)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel_id, id) DO UPDATE SET
			last_message_id = CASE WHEN excluded.last_ts > chats.last_ts THEN excluded.last_message_id ELSE chats.last_message_id END,
			last_ts = CASE WHEN excluded.last_ts > chats.last_ts THEN excluded.last_ts ELSE chats.last_ts END,
			unread = chats.unread + excluded.unread,
			name = CASE WHEN chats.name = '' THEN excluded.name ELSE chats.name END,
			pinned = chats.pinned OR excluded.pinned,
			mute_until = CASE WHEN excluded.mute_until > chats.mute_until THEN excluded.mute_until ELSE chats.mute_until END`),
		old.ChannelID, to, ChatType(to), old.Name, old.LastMessageID, last, old.Unread, old.Archived, old.Pinned, mute); err != nil {
		return fmt.Errorf("store: merge chat: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q("DELETE FROM chats WHERE channel_id = ? AND id = ?"), old.ChannelID, old.ID); err != nil {
		return fmt.Errorf("store: merge chat: %w", err)
	}
	return nil
}

// mergeContact folds the contact kept under from into to's.
func (s *Store) mergeContact(ctx context.Context, tx *sql.Tx, channelID, from, to string, merged *bool) error {
	old, err := scanContact(tx.QueryRowContext(ctx, s.q("SELECT "+contactSelect+" FROM contacts WHERE channel_id = ? AND id = ?"), channelID, from))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: merge contact: %w", err)
	}
	*merged = true
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO contacts (`+contactColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel_id, id) DO UPDATE SET
			name = CASE WHEN contacts.name = '' THEN excluded.name ELSE contacts.name END,
			pushname = CASE WHEN contacts.pushname = '' THEN excluded.pushname ELSE contacts.pushname END`),
		channelID, to, old.Name, old.PushName, old.Status, optMS(old.CheckedAt), ms(old.UpdatedAt)); err != nil {
		return fmt.Errorf("store: merge contact: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q("DELETE FROM contacts WHERE channel_id = ? AND id = ?"), channelID, from); err != nil {
		return fmt.Errorf("store: merge contact: %w", err)
	}
	return nil
}
