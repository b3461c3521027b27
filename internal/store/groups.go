package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// ErrGroupNotFound is a group the channel has not stored.
var ErrGroupNotFound = fmt.Errorf("group %w", model.ErrNotFound)

// Participant ranks, as the gate API names them.
const (
	RankCreator = "creator"
	RankAdmin   = "admin"
	RankMember  = "member"
)

// Group is a WhatsApp group a channel's account is in, as last seen.
type Group struct {
	ChannelID   string
	ID          string // group JID
	Subject     string
	SubjectAt   time.Time // zero when unknown
	Description string
	Owner       string    // creator's JID, when known
	CreatedAt   time.Time // zero when unknown
	Announce    bool      // only admins send
	Locked      bool      // only admins edit the group's info
	InviteCode  string    // when the channel asked for it
	UpdatedAt   time.Time
	// Participants are in the order of their JIDs.
	Participants []GroupParticipant
}

// GroupParticipant is a member of a group.
type GroupParticipant struct {
	UserID string // user JID
	Rank   string // RankCreator, RankAdmin or RankMember
}

// IsAdmin reports whether a rank may administer the group.
func (p GroupParticipant) IsAdmin() bool { return p.Rank == RankAdmin || p.Rank == RankCreator }

// Participant returns a group's participant by user JID.
func (g *Group) Participant(userID string) (GroupParticipant, bool) {
	for _, p := range g.Participants {
		if p.UserID == userID {
			return p, true
		}
	}
	return GroupParticipant{}, false
}

// SetParticipant adds a participant or changes its rank.
func (g *Group) SetParticipant(userID, rank string) {
	for i, p := range g.Participants {
		if p.UserID == userID {
			g.Participants[i].Rank = rank
			return
		}
	}
	g.Participants = append(g.Participants, GroupParticipant{UserID: userID, Rank: rank})
	sortParticipants(g.Participants)
}

// RemoveParticipant drops a participant; it reports whether there was one.
func (g *Group) RemoveParticipant(userID string) bool {
	n := len(g.Participants)
	g.Participants = slices.DeleteFunc(g.Participants, func(p GroupParticipant) bool { return p.UserID == userID })
	return len(g.Participants) != n
}

// clone is a copy of g that shares no participants with it.
func (g Group) clone() Group {
	g.Participants = slices.Clone(g.Participants)
	return g
}

func sortParticipants(ps []GroupParticipant) {
	slices.SortFunc(ps, func(a, b GroupParticipant) int { return strings.Compare(a.UserID, b.UserID) })
}

const groupColumns = "channel_id, id, subject, subject_at, description, owner, created_at, announce, locked, invite_code, updated_at"

func scanGroup(row interface{ Scan(...any) error }) (Group, error) {
	var g Group
	var subjectAt, createdAt, updatedAt int64
	err := row.Scan(&g.ChannelID, &g.ID, &g.Subject, &subjectAt, &g.Description, &g.Owner, &createdAt,
		&g.Announce, &g.Locked, &g.InviteCode, &updatedAt)
	g.SubjectAt, g.CreatedAt, g.UpdatedAt = optTime(subjectAt), optTime(createdAt), fromMS(updatedAt)
	return g, err
}

// optTime is a stored time where 0 means unknown.
func optTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMS(v)
}

// optMS stores a time where the zero time means unknown.
func optMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

// SaveGroup stores a group as given, replacing what the channel had of it
// (participants included), in one transaction. An empty InviteCode keeps
// the stored one, and so does a zero SubjectAt with the same Subject.
//
// hooks, when given, builds webhook deliveries of the change from the group
// as it was (nil when it is new) and as saved, enqueued in the same
// transaction.
func (s *Store) SaveGroup(ctx context.Context, g Group, hooks ...func(before *Group, after Group) []model.WebhookDelivery) error {
	hooks = given(hooks)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var before *Group
		if len(hooks) > 0 {
			old, err := s.group(ctx, tx, g.ChannelID, g.ID, s.forUpdate())
			switch {
			case err == nil:
				before = &old
			case !errors.Is(err, ErrGroupNotFound):
				return err
			}
		}
		if err := s.saveGroup(ctx, tx, g); err != nil {
			return err
		}
		if len(hooks) == 0 {
			return nil
		}
		after, err := s.group(ctx, tx, g.ChannelID, g.ID, "")
		if err != nil {
			return err
		}
		for _, h := range hooks {
			if err := s.EnqueueTx(ctx, tx, h(before, after)...); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) saveGroup(ctx context.Context, tx *sql.Tx, g Group) error {
	if g.ChannelID == "" || g.ID == "" {
		return errors.New("store: save group: no channel or group ID")
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO wa_groups (`+groupColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel_id, id) DO UPDATE SET subject = excluded.subject,
			subject_at = CASE WHEN excluded.subject_at = 0 AND excluded.subject = wa_groups.subject THEN wa_groups.subject_at ELSE excluded.subject_at END,
			description = excluded.description, owner = excluded.owner, created_at = excluded.created_at,
			announce = excluded.announce, locked = excluded.locked,
			invite_code = CASE WHEN excluded.invite_code = '' THEN wa_groups.invite_code ELSE excluded.invite_code END,
			updated_at = excluded.updated_at`),
		g.ChannelID, g.ID, g.Subject, optMS(g.SubjectAt), g.Description, g.Owner, optMS(g.CreatedAt),
		g.Announce, g.Locked, g.InviteCode, ms(g.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: save group: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q("DELETE FROM wa_group_participants WHERE channel_id = ? AND group_id = ?"), g.ChannelID, g.ID); err != nil {
		return fmt.Errorf("store: save group participants: %w", err)
	}
	seen := make(map[string]bool, len(g.Participants))
	for _, p := range g.Participants {
		if p.UserID == "" || seen[p.UserID] {
			continue
		}
		seen[p.UserID] = true
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO wa_group_participants (channel_id, group_id, user_id, rank) VALUES (?, ?, ?, ?)"),
			g.ChannelID, g.ID, p.UserID, p.Rank); err != nil {
			return fmt.Errorf("store: save group participant: %w", err)
		}
	}
	return nil
}

// ReplaceGroups makes the channel's stored groups exactly gs (the list the
// account is in now): groups not in it are dropped. Stored invite codes
// are kept.
func (s *Store) ReplaceGroups(ctx context.Context, channelID string, gs []Group) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		keep := make(map[string]bool, len(gs))
		for _, g := range gs {
			if g.ChannelID != channelID {
				return fmt.Errorf("store: replace groups: group %s is of channel %q, not %q", g.ID, g.ChannelID, channelID)
			}
			if err := s.saveGroup(ctx, tx, g); err != nil {
				return err
			}
			keep[g.ID] = true
		}
		rows, err := tx.QueryContext(ctx, s.q("SELECT id FROM wa_groups WHERE channel_id = ?"), channelID)
		if err != nil {
			return fmt.Errorf("store: replace groups: %w", err)
		}
		var drop []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("store: replace groups: %w", err)
			}
			if !keep[id] {
				drop = append(drop, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: replace groups: %w", err)
		}
		for _, id := range drop {
			if err := s.deleteGroup(ctx, tx, channelID, id); err != nil && !errors.Is(err, ErrGroupNotFound) {
				return err
			}
		}
		return nil
	})
}

// Group returns one stored group of a channel with its participants.
func (s *Store) Group(ctx context.Context, channelID, id string) (Group, error) {
	return s.group(ctx, s.db, channelID, id, "")
}

func (s *Store) group(ctx context.Context, q querier, channelID, id, suffix string) (Group, error) {
	g, err := scanGroup(q.QueryRowContext(ctx, s.q("SELECT "+groupColumns+" FROM wa_groups WHERE channel_id = ? AND id = ?"+suffix), channelID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return g, ErrGroupNotFound
	}
	if err != nil {
		return g, fmt.Errorf("store: read group: %w", err)
	}
	byGroup, err := s.participants(ctx, q, channelID, []string{id})
	if err != nil {
		return g, err
	}
	g.Participants = byGroup[id]
	return g, nil
}

// participants loads the participants of some groups of a channel.
func (s *Store) participants(ctx context.Context, q querier, channelID string, groupIDs []string) (map[string][]GroupParticipant, error) {
	out := make(map[string][]GroupParticipant, len(groupIDs))
	if len(groupIDs) == 0 {
		return out, nil
	}
	args := []any{channelID}
	for _, id := range groupIDs {
		args = append(args, id)
	}
	in := strings.TrimSuffix(strings.Repeat("?, ", len(groupIDs)), ", ")
	rows, err := q.QueryContext(ctx, s.q("SELECT group_id, user_id, rank FROM wa_group_participants WHERE channel_id = ? AND group_id IN ("+in+") ORDER BY group_id, user_id"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read group participants: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var gid string
		var p GroupParticipant
		if err := rows.Scan(&gid, &p.UserID, &p.Rank); err != nil {
			return nil, fmt.Errorf("store: read group participants: %w", err)
		}
		out[gid] = append(out[gid], p)
	}
	return out, rows.Err()
}

// Groups lists a channel's stored groups by subject (then ID), with their
// participants, and how many there are.
func (s *Store) Groups(ctx context.Context, channelID string, count, offset int) ([]Group, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM wa_groups WHERE channel_id = ?"), channelID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count groups: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+groupColumns+" FROM wa_groups WHERE channel_id = ? ORDER BY subject, id LIMIT ? OFFSET ?"),
		channelID, count, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list groups: %w", err)
	}
	out := []Group{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("store: list groups: %w", err)
		}
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: list groups: %w", err)
	}
	ids := make([]string, len(out))
	for i, g := range out {
		ids[i] = g.ID
	}
	byGroup, err := s.participants(ctx, s.db, channelID, ids)
	if err != nil {
		return nil, 0, err
	}
	for i := range out {
		out[i].Participants = byGroup[out[i].ID]
	}
	return out, total, nil
}

// UpdateGroup changes a stored group with fn, in a transaction; fn may
// change every field but the IDs. A group the channel has not stored is
// ErrGroupNotFound.
// hooks, when given, builds webhook deliveries of the change from the group
// before and after it, enqueued in the same transaction.
func (s *Store) UpdateGroup(ctx context.Context, channelID, id string, fn func(g *Group) error,
	hooks ...func(before, after Group) []model.WebhookDelivery) (Group, error) {
	hooks = given(hooks)
	var out Group
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := s.group(ctx, tx, channelID, id, s.forUpdate())
		if err != nil {
			return err
		}
		before := g.clone()
		if err := fn(&g); err != nil {
			return err
		}
		g.ChannelID, g.ID = channelID, id
		if err := s.saveGroup(ctx, tx, g); err != nil {
			return err
		}
		for _, h := range hooks {
			if err := s.EnqueueTx(ctx, tx, h(before, g)...); err != nil {
				return err
			}
		}
		out = g
		return nil
	})
	return out, err
}

// DeleteGroup forgets a group of a channel (left, or removed from it). ds,
// webhook deliveries of the change, are enqueued in the same transaction
// when the group was stored.
func (s *Store) DeleteGroup(ctx context.Context, channelID, id string, ds ...model.WebhookDelivery) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.deleteGroup(ctx, tx, channelID, id); err != nil {
			return err
		}
		return s.EnqueueTx(ctx, tx, ds...)
	})
}

func (s *Store) deleteGroup(ctx context.Context, tx *sql.Tx, channelID, id string) error {
	// Participants go first: the cascade is not relied on.
	if _, err := tx.ExecContext(ctx, s.q("DELETE FROM wa_group_participants WHERE channel_id = ? AND group_id = ?"), channelID, id); err != nil {
		return fmt.Errorf("store: delete group participants: %w", err)
	}
	res, err := tx.ExecContext(ctx, s.q("DELETE FROM wa_groups WHERE channel_id = ? AND id = ?"), channelID, id)
	if err != nil {
		return fmt.Errorf("store: delete group: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrGroupNotFound
	}
	return nil
}
