package sim

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/engine"
)

// This file holds what accounts keep beyond messages and groups: the
// blocklist, the address book, pinned messages, the group settings beyond
// announce and locked, and requests to join groups. It is part of the
// network's snapshot (SnapExtra).

// ErrBlocked: the account blocked the user it sends to (unblock first).
var ErrBlocked = engine.ErrBlocked

// ErrJoinRequested: the group needs an admin's approval to join; the
// request waits for it.
var ErrJoinRequested = engine.ErrJoinRequested

// extras is the network's extra state (under Network.mu).
type extras struct {
	blocked   map[string]map[string]bool   // by account number: the numbers it blocked
	book      map[string]map[string]string // by account number: saved names by number
	pins      map[string]time.Time         // by message ID: pinned until
	approve   map[string]bool              // by group JID: joining needs an admin's approval
	addAnyone map[string]bool              // by group JID: any member adds participants (else admins only)
	requests  map[string][]SnapJoinRequest // by group JID, oldest first
	photos    map[string][]byte            // by account number: its profile picture (JPEG)
	ephemeral map[string]time.Duration     // by chat JID (groups) or "number|number" (users): disappearing after
}

func newExtras() *extras {
	return &extras{blocked: map[string]map[string]bool{}, book: map[string]map[string]string{}, pins: map[string]time.Time{},
		approve: map[string]bool{}, addAnyone: map[string]bool{}, requests: map[string][]SnapJoinRequest{},
		photos: map[string][]byte{}, ephemeral: map[string]time.Duration{}}
}

// SnapExtra is extras in a Snapshot.
type SnapExtra struct {
	Blocked   map[string][]string          `json:"blocked,omitempty"`
	Book      map[string]map[string]string `json:"book,omitempty"`
	Pins      map[string]time.Time         `json:"pins,omitempty"`
	Approve   []string                     `json:"approve,omitempty"`
	AddAnyone []string                     `json:"add_anyone,omitempty"`
	Requests  map[string][]SnapJoinRequest `json:"requests,omitempty"`
	Photos    map[string][]byte            `json:"photos,omitempty"`
	Ephemeral map[string]time.Duration     `json:"ephemeral,omitempty"`
}

// SnapJoinRequest is a request to join a group.
type SnapJoinRequest struct {
	Number string    `json:"number"`
	Method string    `json:"method"`
	Time   time.Time `json:"time"`
}

func (x *extras) snapshot() SnapExtra {
	s := SnapExtra{Blocked: map[string][]string{}, Book: map[string]map[string]string{}, Pins: maps.Clone(x.pins),
		Requests: map[string][]SnapJoinRequest{}, Photos: maps.Clone(x.photos),
		Ephemeral: maps.Clone(x.ephemeral)}
	for num, set := range x.blocked {
		if len(set) > 0 {
			s.Blocked[num] = slices.Sorted(maps.Keys(set))
		}
	}
	for num, b := range x.book {
		if len(b) > 0 {
			s.Book[num] = maps.Clone(b)
		}
	}
	s.Approve = trueKeys(x.approve)
	s.AddAnyone = trueKeys(x.addAnyone)
	for g, rs := range x.requests {
		if len(rs) > 0 {
			s.Requests[g] = slices.Clone(rs)
		}
	}
	return s
}

func trueKeys(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func loadExtras(s SnapExtra) *extras {
	x := newExtras()
	for num, list := range s.Blocked {
		x.blocked[num] = map[string]bool{}
		for _, b := range list {
			x.blocked[num][b] = true
		}
	}
	for num, b := range s.Book {
		x.book[num] = maps.Clone(b)
	}
	maps.Copy(x.pins, s.Pins)
	for _, g := range s.Approve {
		x.approve[g] = true
	}
	for _, g := range s.AddAnyone {
		x.addAnyone[g] = true
	}
	for g, rs := range s.Requests {
		x.requests[g] = slices.Clone(rs)
	}
	maps.Copy(x.photos, s.Photos)
	maps.Copy(x.ephemeral, s.Ephemeral)
	return x
}

// userNumber parses a user JID (or digits) to a number.
func userNumber(user string) (string, error) {
	num := strings.TrimSuffix(strings.TrimPrefix(user, "+"), "@s.whatsapp.net")
	if !validNumber(num) {
		return "", fmt.Errorf("%w: %q", engine.ErrInvalidPhone, user)
	}
	return num, nil
}

// blockedBy reports whether the account numbered by blocked other.
func (n *Network) blockedBy(by, other string) bool { return n.extra.blocked[by][other] }

// Blocklist lists the users the account blocked.
func (s *session) Blocklist(ctx context.Context) ([]string, error) {
	var out []string
	err := s.do(ctx, func(a actor) error {
		for _, num := range slices.Sorted(maps.Keys(s.net.extra.blocked[a.p.number])) {
			out = append(out, JID(num))
		}
		return nil
	})
	return out, err
}

// SetBlocked blocks or unblocks a user on the network (ErrNotOnWhatsApp
// for an unknown number). A blocked user's messages to the account are
// not delivered; the account cannot send to a user it blocked.
func (s *session) SetBlocked(ctx context.Context, user string, blocked bool) error {
	num, err := userNumber(user)
	if err != nil {
		return err
	}
	return s.do(ctx, func(a actor) error {
		if _, err := s.net.recipient(a.p, num); err != nil {
			return err
		}
		set := s.net.extra.blocked[a.p.number]
		if set == nil {
			set = map[string]bool{}
			s.net.extra.blocked[a.p.number] = set
		}
		if blocked {
			set[num] = true
		} else {
			delete(set, num)
		}
		return nil
	})
}

// LIDs gives every phone of the network its LID, derived from its number
// (the same number always has the same LID).
func (s *session) LIDs(ctx context.Context, users []string) (map[string]string, error) {
	out := map[string]string{}
	err := s.do(ctx, func(a actor) error {
		for _, u := range users {
			num, err := userNumber(u)
			if err != nil {
				return err
			}
			if s.net.phones[num] != nil {
				out[JID(num)] = LID(num)
			}
		}
		return nil
	})
	return out, err
}

// LID is the sim's LID of a number: 15 digits derived from it.
func LID(number string) string {
	var h uint64 = 1469598103934665603
	for _, c := range number {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return fmt.Sprintf("%015d@lid", 100000000000000+h%900000000000000)
}

// SaveContact saves a user in the account's address book.
func (s *session) SaveContact(ctx context.Context, user, name string) error {
	num, err := userNumber(user)
	if err != nil {
		return err
	}
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: a contact needs a name", engine.ErrInvalidContent)
	}
	return s.do(ctx, func(a actor) error {
		b := s.net.extra.book[a.p.number]
		if b == nil {
			b = map[string]string{}
			s.net.extra.book[a.p.number] = b
		}
		b[num] = name
		return nil
	})
}

// DeleteContact removes a user from the account's address book
// (ErrNotOnWhatsApp when it was not in it).
func (s *session) DeleteContact(ctx context.Context, user string) error {
	num, err := userNumber(user)
	if err != nil {
		return err
	}
	return s.do(ctx, func(a actor) error {
		if _, ok := s.net.extra.book[a.p.number][num]; !ok {
			return fmt.Errorf("%w: %s is not in the address book", engine.ErrNotOnWhatsApp, num)
		}
		delete(s.net.extra.book[a.p.number], num)
		return nil
	})
}

// PinMessage pins (d > 0) or unpins a message of a chat the account is in.
func (s *session) PinMessage(ctx context.Context, chat, sender, id string, d time.Duration) error {
	return s.doChat(ctx, chat, func(a actor, t target) error {
		m := s.net.msgs[id]
		if m == nil || m.revoked || !inChat(m, a, t) {
			return fmt.Errorf("%w: %s in %s", ErrMessageNotFound, id, t.jid())
		}
		if t.group != nil && t.group.announce && !t.group.members[a.p.number].admin {
			return fmt.Errorf("%w: only admins pin messages in %s", engine.ErrNotAdmin, t.jid())
		}
		if d <= 0 {
			delete(s.net.extra.pins, id)
			return nil
		}
		s.net.extra.pins[id] = s.net.opts.Now().Add(d)
		return nil
	})
}

// inChat reports whether m belongs to the chat t of account a.
func inChat(m *msg, a actor, t target) bool {
	if t.group != nil {
		return m.group && m.to == t.group.jid
	}
	other := t.user.number
	return !m.group && ((m.from == a.p.number && m.to == other) || (m.from == other && m.to == a.p.number))
}

// PinnedUntil reports until when a message is pinned (zero: not pinned).
func (n *Network) PinnedUntil(id string) time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	until := n.extra.pins[id]
	if !until.After(n.opts.Now()) {
		return time.Time{}
	}
	return until
}

// SetGroupSetting changes a group setting (admins only).
func (s *session) SetGroupSetting(ctx context.Context, group string, setting engine.GroupSetting, adminsOnly bool) error {
	return s.doGroup(ctx, group, func(a actor, jid string) error {
		g, err := s.net.adminGroup(a.p, jid)
		if err != nil {
			return err
		}
		switch setting {
		case engine.SettingSendMessages:
			g.announce = adminsOnly
		case engine.SettingEditInfo:
			g.locked = adminsOnly
		case engine.SettingApprove:
			s.net.extra.approve[jid] = adminsOnly
			if !adminsOnly { // every waiting request is approved
				for _, r := range s.net.extra.requests[jid] {
					s.net.approveRequest(a, g, r.Number)
				}
				delete(s.net.extra.requests, jid)
			}
		case engine.SettingAddParticipants:
			s.net.extra.addAnyone[jid] = !adminsOnly
		default:
			return fmt.Errorf("%w: group setting %q", engine.ErrUnsupported, setting)
		}
		s.net.groupEvent(g, engine.GroupChange{Action: ActionSettings, Actor: a.jid()})
		return nil
	})
}

// approveRequest makes the requester numbered num a member of g.
func (n *Network) approveRequest(a actor, g *group, num string) bool {
	p := n.phones[num]
	if p == nil || g.members[num] != nil || len(g.order) >= MaxGroupSize {
		return false
	}
	g.addMember(p, &member{})
	n.groupEvent(g, engine.GroupChange{Action: ActionAdd, Actor: a.jid(), Participants: []string{JID(num)}})
	return true
}

// requestJoin records a request of p to join g (joinGroup when the group
// needs approval).
func (n *Network) requestJoin(p *phone, g *group) {
	for _, r := range n.extra.requests[g.jid] {
		if r.Number == p.number {
			return
		}
	}
	n.extra.requests[g.jid] = append(n.extra.requests[g.jid], SnapJoinRequest{Number: p.number, Method: "invite_link", Time: n.opts.Now()})
}

// GroupRequests lists the requests to join a group (admins only).
func (s *session) GroupRequests(ctx context.Context, group string) ([]engine.JoinRequest, error) {
	var out []engine.JoinRequest
	err := s.doGroup(ctx, group, func(a actor, jid string) error {
		if _, err := s.net.adminGroup(a.p, jid); err != nil {
			return err
		}
		for _, r := range s.net.extra.requests[jid] {
			out = append(out, engine.JoinRequest{User: JID(r.Number), Method: r.Method, Time: r.Time})
		}
		return nil
	})
	return out, err
}

// AnswerGroupRequests approves or rejects requests to join (admins only).
func (s *session) AnswerGroupRequests(ctx context.Context, group string, users []string, approve bool) ([]engine.ParticipantResult, error) {
	var out []engine.ParticipantResult
	err := s.doGroup(ctx, group, func(a actor, jid string) error {
		g, err := s.net.adminGroup(a.p, jid)
		if err != nil {
			return err
		}
		reqs := s.net.extra.requests[jid]
		for _, u := range users {
			num, err := userNumber(u)
			res := engine.ParticipantResult{JID: u}
			i := slices.IndexFunc(reqs, func(r SnapJoinRequest) bool { return r.Number == num })
			switch {
			case err != nil:
				res.Error = ResultInvalidNumber
			case i < 0:
				res.JID, res.Error = JID(num), "no request to join"
			default:
				res.JID = JID(num)
				reqs = slices.Delete(reqs, i, i+1)
				if approve && !s.net.approveRequest(a, g, num) {
					res.Error = ResultGroupFull
				}
			}
			out = append(out, res)
		}
		s.net.extra.requests[jid] = reqs
		return nil
	})
	return out, err
}

// GroupPhoto returns a group's picture (members only).
func (s *session) GroupPhoto(ctx context.Context, group string) ([]byte, error) {
	var out []byte
	err := s.doGroup(ctx, group, func(a actor, jid string) error {
		g, err := s.net.memberGroup(a.p, jid)
		if err != nil {
			return err
		}
		if len(g.photo) == 0 {
			return fmt.Errorf("%w: %s", engine.ErrNoPhoto, jid)
		}
		out = slices.Clone(g.photo)
		return nil
	})
	return out, err
}

// SetProfilePhoto sets (or, nil, removes) the account's picture.
func (s *session) SetProfilePhoto(ctx context.Context, jpeg []byte) error {
	if jpeg != nil {
		if err := checkPhoto(jpeg); err != nil {
			return err
		}
	}
	return s.do(ctx, func(a actor) error {
		if jpeg == nil {
			delete(s.net.extra.photos, a.p.number)
		} else {
			s.net.extra.photos[a.p.number] = slices.Clone(jpeg)
		}
		return nil
	})
}

// ephemeralKey is the key of a chat's disappearing setting: the group's
// JID, or both users' numbers in order (the setting is the chat's, for
// both sides).
func ephemeralKey(a actor, t target) string {
	if t.group != nil {
		return t.group.jid
	}
	x, y := a.p.number, t.user.number
	if y < x {
		x, y = y, x
	}
	return x + "|" + y
}

// SetDisappearing sets a chat's disappearing messages (in a group where
// only admins edit the info, admins only).
func (s *session) SetDisappearing(ctx context.Context, chat string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: negative duration", engine.ErrInvalidContent)
	}
	return s.doChat(ctx, chat, func(a actor, t target) error {
		if g := t.group; g != nil && g.locked && !g.members[a.p.number].admin {
			return fmt.Errorf("%w: only admins change %s", engine.ErrNotAdmin, g.jid)
		}
		key := ephemeralKey(a, t)
		if d == 0 {
			delete(s.net.extra.ephemeral, key)
		} else {
			s.net.extra.ephemeral[key] = d
		}
		return nil
	})
}

// Disappearing reports a chat's disappearing setting between a phone and
// a user number or group JID (0: off), for the phone-side view.
func (n *Network) Disappearing(number, chat string) time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	if strings.HasSuffix(chat, "@g.us") {
		return n.extra.ephemeral[chat]
	}
	x, y := number, strings.TrimSuffix(chat, "@s.whatsapp.net")
	if y < x {
		x, y = y, x
	}
	return n.extra.ephemeral[x+"|"+y]
}

// ProfilePhoto is a phone's picture (nil: none), for the phone-side view.
func (n *Network) ProfilePhoto(number string) []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.extra.photos[number])
}

var (
	_ engine.ProfilePhotoSetter = (*session)(nil)
	_ engine.DisappearingSetter = (*session)(nil)
	_ engine.Blocker            = (*session)(nil)
	_ engine.LIDLookup          = (*session)(nil)
	_ engine.ContactBook        = (*session)(nil)
	_ engine.Pinner             = (*session)(nil)
	_ engine.GroupAdmin         = (*session)(nil)
)
