package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// ErrContactNotFound is a contact the channel has not stored.
var ErrContactNotFound = fmt.Errorf("contact %w", model.ErrNotFound)

// ErrPresenceNotFound is an entry whose presence the channel has not seen.
var ErrPresenceNotFound = fmt.Errorf("presence %w", model.ErrNotFound)

// Contact statuses: what the last check of a number said.
const (
	ContactUnchecked = ""        // learned otherwise (a group, a profile)
	ContactValid     = "valid"   // on WhatsApp
	ContactInvalid   = "invalid" // not on WhatsApp
)

// Contact is a WhatsApp user a channel learned of.
type Contact struct {
	ChannelID string
	ID        string // user JID
	Name      string // the name the channel knows the user by, when any
	PushName  string // the name the user gave themselves
	// Status and CheckedAt are the last check of the number.
	Status    string
	CheckedAt time.Time
	UpdatedAt time.Time
	// LID is the user's LID when the channel knows it (read only).
	LID string
}

const contactColumns = "channel_id, id, name, pushname, status, checked_at, updated_at"

// contactSelect reads contactColumns and the user's LID when known.
var contactSelect = contactColumns + ", " + lidOfColumn("contacts")

func scanContact(row interface{ Scan(...any) error }) (Contact, error) {
	var c Contact
	var checked, updated int64
	err := row.Scan(&c.ChannelID, &c.ID, &c.Name, &c.PushName, &c.Status, &checked, &updated, &c.LID)
	c.CheckedAt, c.UpdatedAt = optTime(checked), fromMS(updated)
	return c, err
}

// SaveContacts records what the channel learned of users, in one
// transaction. Empty fields keep what is stored: a Name or PushName only
// replaces the stored one when set, and Status (with CheckedAt) only when
// set. A user learned otherwise than by a check (Status empty) is on
// WhatsApp, so a stored "invalid" becomes unchecked.
//
// hooks, when given, builds webhook deliveries of what changed, enqueued in
// the same transaction: the contacts that are new, and those whose Name or
// PushName changed, before and after.
func (s *Store) SaveContacts(ctx context.Context, cs []Contact, hooks ...func(added []Contact, renamed []ContactChange) []model.WebhookDelivery) error {
	hooks = given(hooks)
	if len(cs) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var added []Contact
		var renamed []ContactChange
		for _, c := range cs {
			if c.ChannelID == "" || c.ID == "" {
				return errors.New("store: save contact: no channel or user ID")
			}
			var before Contact
			known := false
			if len(hooks) > 0 {
				var err error
				before, err = scanContact(tx.QueryRowContext(ctx, s.q("SELECT "+contactSelect+" FROM contacts WHERE channel_id = ? AND id = ?"+s.forUpdate()), c.ChannelID, c.ID))
				switch {
				case err == nil:
					known = true
				case !errors.Is(err, sql.ErrNoRows):
					return fmt.Errorf("store: read contact: %w", err)
				}
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO contacts (`+contactColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (channel_id, id) DO UPDATE SET
					name = CASE WHEN excluded.name = '' THEN contacts.name ELSE excluded.name END,
					pushname = CASE WHEN excluded.pushname = '' THEN contacts.pushname ELSE excluded.pushname END,
					status = CASE WHEN excluded.status <> '' THEN excluded.status
						WHEN contacts.status = 'invalid' THEN '' ELSE contacts.status END,
					checked_at = CASE WHEN excluded.status <> '' THEN excluded.checked_at
						WHEN contacts.status = 'invalid' THEN 0 ELSE contacts.checked_at END,
					updated_at = excluded.updated_at`),
				c.ChannelID, c.ID, c.Name, c.PushName, c.Status, optMS(c.CheckedAt), ms(c.UpdatedAt))
			if err != nil {
				return fmt.Errorf("store: save contact: %w", err)
			}
			if len(hooks) == 0 {
				continue
			}
			after, err := scanContact(tx.QueryRowContext(ctx, s.q("SELECT "+contactSelect+" FROM contacts WHERE channel_id = ? AND id = ?"), c.ChannelID, c.ID))
			if err != nil {
				return fmt.Errorf("store: read contact: %w", err)
			}
			switch {
			case !known:
				added = append(added, after)
			case before.Name != after.Name || before.PushName != after.PushName:
				renamed = append(renamed, ContactChange{Before: before, After: after})
			}
		}
		if len(added) == 0 && len(renamed) == 0 {
			return nil
		}
		for _, h := range hooks {
			if err := s.EnqueueTx(ctx, tx, h(added, renamed)...); err != nil {
				return err
			}
		}
		return nil
	})
}

// ContactChange is a stored contact before and after a change.
type ContactChange struct {
	Before, After Contact
}

// Contact returns one stored contact of a channel (whatever its status).
func (s *Store) Contact(ctx context.Context, channelID, id string) (Contact, error) {
	c, err := scanContact(s.db.QueryRowContext(ctx, s.q("SELECT "+contactSelect+" FROM contacts WHERE channel_id = ? AND id = ?"), channelID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrContactNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: read contact: %w", err)
	}
	return c, nil
}

// Contacts lists a channel's contacts that are on WhatsApp as far as it
// knows (numbers checked invalid are left out), by ID, and how many there
// are.
func (s *Store) Contacts(ctx context.Context, channelID string, count, offset int) ([]Contact, int, error) {
	const cond = "channel_id = ? AND status <> 'invalid'"
	var total int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM contacts WHERE "+cond), channelID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count contacts: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+contactSelect+" FROM contacts WHERE "+cond+" ORDER BY id LIMIT ? OFFSET ?"),
		channelID, count, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list contacts: %w", err)
	}
	defer rows.Close()
	out := []Contact{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: list contacts: %w", err)
		}
		out = append(out, c)
	}
	return out, total, rows.Err()
}

// Presence statuses as stored (the gate API's).
const (
	PresenceOnline    = "online"
	PresenceOffline   = "offline"
	PresenceTyping    = "typing"
	PresenceRecording = "recording"
	PresencePending   = "pending" // subscribed, nothing seen yet
)

// Presence is the last presence a channel saw of an entry: a user (online,
// offline, typing to the account) or a group someone types in.
type Presence struct {
	ChannelID string
	EntryID   string // user or group JID
	UserID    string // whom it is about
	Status    string
	LastSeen  time.Time // zero when unknown
	UpdatedAt time.Time
}

const presenceColumns = "channel_id, entry_id, user_id, status, last_seen, updated_at"

// SetPresence records the latest presence of an entry. An update older
// than the stored one is ignored. A "pending" presence (a subscription)
// never replaces a presence already seen.
//
// ds, the webhook deliveries of the presence, are enqueued in the same
// transaction when the presence is recorded (not when it is ignored).
func (s *Store) SetPresence(ctx context.Context, p Presence, ds ...model.WebhookDelivery) error {
	if p.ChannelID == "" || p.EntryID == "" {
		return errors.New("store: set presence: no channel or entry ID")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.setPresence(ctx, tx, p)
		if err != nil || n == 0 {
			return err
		}
		return s.EnqueueTx(ctx, tx, ds...)
	})
}

func (s *Store) setPresence(ctx context.Context, tx *sql.Tx, p Presence) (int64, error) {
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO presences (`+presenceColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel_id, entry_id) DO UPDATE SET user_id = excluded.user_id, status = excluded.status,
			last_seen = CASE WHEN excluded.last_seen = 0 THEN presences.last_seen ELSE excluded.last_seen END,
			updated_at = excluded.updated_at
		WHERE excluded.updated_at >= presences.updated_at AND excluded.status <> 'pending'`),
		p.ChannelID, p.EntryID, p.UserID, p.Status, optMS(p.LastSeen), ms(p.UpdatedAt))
	if err != nil {
		return 0, fmt.Errorf("store: set presence: %w", err)
	}
	return res.RowsAffected()
}

// Presence returns the last presence a channel saw of an entry.
func (s *Store) Presence(ctx context.Context, channelID, entryID string) (Presence, error) {
	var p Presence
	var last, updated int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT "+presenceColumns+" FROM presences WHERE channel_id = ? AND entry_id = ?"), channelID, entryID).
		Scan(&p.ChannelID, &p.EntryID, &p.UserID, &p.Status, &last, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrPresenceNotFound
	}
	if err != nil {
		return p, fmt.Errorf("store: read presence: %w", err)
	}
	p.LastSeen, p.UpdatedAt = optTime(last), fromMS(updated)
	return p, nil
}
