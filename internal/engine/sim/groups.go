package sim

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine"
)

// Per-participant errors of CreateGroup and UpdateParticipants
// (engine.ParticipantResult.Error).
const (
	ResultNotOnWhatsApp  = "not on WhatsApp"
	ResultInvalidNumber  = "not a valid phone number"
	ResultNotParticipant = "not a participant"
	ResultAlreadyMember  = "already a participant"
	ResultGroupFull      = "the group is full"
	ResultCreator        = "the group creator cannot be removed or demoted"
	ResultSelf           = "cannot remove yourself; leave the group instead"
)

// Group change actions (engine.GroupChange.Action).
const (
	ActionCreate      = "create"
	ActionJoin        = "join"
	ActionLeave       = "leave"
	ActionAdd         = "add"
	ActionRemove      = "remove"
	ActionPromote     = "promote"
	ActionDemote      = "demote"
	ActionSubject     = "subject"
	ActionDescription = "description"
	ActionSettings    = "settings"
	ActionPicture     = "picture"
)

// inviteAlphabet is the alphabet of invite codes (22 characters, like
// WhatsApp's).
const inviteAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// group is a group chat.
type group struct {
	jid                  string
	subject, description string
	owner                string // the creator's number
	created              time.Time
	members              map[string]*member // by number
	order                []string           // numbers, in the order they joined
	announce, locked     bool
	invite               string // "" until an admin asks for one
	photo                []byte // JPEG; nil: none
}

// member is a participant of a group.
type member struct {
	admin, super bool
}

// info is the group as engine.GroupInfo.
func (g *group) info() engine.GroupInfo {
	out := engine.GroupInfo{JID: g.jid, Subject: g.subject, Description: g.description, Owner: JID(g.owner),
		Created: g.created, Announce: g.announce, Locked: g.locked, Participants: make([]engine.Participant, 0, len(g.order))}
	for _, num := range g.order {
		m := g.members[num]
		out.Participants = append(out.Participants, engine.Participant{JID: JID(num), Admin: m.admin, SuperAdmin: m.super})
	}
	return out
}

// hasAdmin reports whether any member is an admin.
func (g *group) hasAdmin() bool {
	for _, m := range g.members {
		if m.admin {
			return true
		}
	}
	return false
}

// parseGroup normalizes a group JID ("<digits>@g.us"; bare digits are
// taken as the group's). A malformed one is engine.ErrGroupNotFound.
func parseGroup(s string) (string, error) {
	v := strings.TrimSpace(s)
	if !strings.Contains(v, "@") {
		v += "@g.us"
	}
	user, ok := strings.CutSuffix(v, "@g.us")
	if !ok || !validGroupUser(user) {
		return "", fmt.Errorf("%w: %q is not a group JID (digits@g.us)", engine.ErrGroupNotFound, s)
	}
	return v, nil
}

// memberGroup returns a group p is a member of.
func (n *Network) memberGroup(p *phone, jid string) (*group, error) {
	g := n.groups[jid]
	if g == nil || g.members[p.number] == nil {
		return nil, fmt.Errorf("%w: %s is not in a group %s", engine.ErrGroupNotFound, p.number, jid)
	}
	return g, nil
}

// adminGroup returns a group p is an admin of.
func (n *Network) adminGroup(p *phone, jid string) (*group, error) {
	g, err := n.memberGroup(p, jid)
	if err != nil {
		return nil, err
	}
	if !g.members[p.number].admin {
		return nil, fmt.Errorf("%w: %s is not an admin of %s", engine.ErrNotAdmin, p.number, jid)
	}
	return g, nil
}

// editor returns a group whose info p may change: any member, or only
// admins when it is Locked.
func (n *Network) editor(p *phone, jid string) (*group, error) {
	g, err := n.memberGroup(p, jid)
	if err != nil {
		return nil, err
	}
	if g.locked && !g.members[p.number].admin {
		return nil, fmt.Errorf("%w: only admins change the info of %s", engine.ErrNotAdmin, jid)
	}
	return g, nil
}

// groupEvent gives a change to the devices of every member and of also
// (members that were removed or left).
func (n *Network) groupEvent(g *group, ev engine.GroupChange, also ...*phone) {
	ev.Group, ev.Time = g.jid, n.opts.Now()
	for _, num := range g.order {
		if p := n.phones[num]; p != nil {
			for _, d := range p.devices {
				n.toDevice(d, ev)
			}
		}
	}
	for _, p := range also {
		for _, d := range p.devices {
			n.toDevice(d, ev)
		}
	}
}

// addMember makes p a member of g.
func (g *group) addMember(p *phone, m *member) {
	g.members[p.number] = m
	g.order = append(g.order, p.number)
	p.groups[g.jid] = g
}

// removeMember takes p out of g.
func (g *group) removeMember(p *phone) {
	delete(g.members, p.number)
	g.order = slices.DeleteFunc(g.order, func(num string) bool { return num == p.number })
	delete(p.groups, g.jid)
}

// afterLeave keeps a group that lost members usable: gone when empty, else
// with an admin (the oldest member is promoted when none is left).
func (n *Network) afterLeave(g *group) {
	if len(g.order) == 0 {
		delete(n.groups, g.jid)
		if g.invite != "" {
			delete(n.invites, g.invite)
		}
		return
	}
	if !g.hasAdmin() {
		first := g.order[0]
		g.members[first].admin = true
		n.groupEvent(g, engine.GroupChange{Action: ActionPromote, Participants: []string{JID(first)}})
	}
}

// participantNumbers parses participants for CreateGroup and
// UpdateParticipants: each distinct one once, in order, with its number
// ("" when malformed).
func participantNumbers(users []string) (jids, numbers []string) {
	seen := map[string]bool{}
	for _, u := range users {
		num, err := parseRecipient(u)
		jid := strings.TrimSpace(u)
		if err == nil {
			jid = JID(num)
		}
		if seen[jid] {
			continue
		}
		seen[jid] = true
		jids, numbers = append(jids, jid), append(numbers, num)
	}
	return jids, numbers
}

// createGroup creates a group of a with participants that are accounts on
// the network; the others are refused in the results (one per distinct
// participant but a itself, in order).
func (n *Network) createGroup(a actor, subject string, participants []string) (*group, []engine.ParticipantResult, error) {
	if err := checkSubject(subject); err != nil {
		return nil, nil, err
	}
	if len(participants) > MaxGroupSize-1 {
		return nil, nil, fmt.Errorf("%w: %d participants; a group has at most %d, its creator included", ErrInvalidGroup, len(participants), MaxGroupSize)
	}
	var jid string
	for {
		jid = "120363" + randDigits(12) + "@g.us"
		if n.groups[jid] == nil {
			break
		}
	}
	g := &group{jid: jid, subject: subject, owner: a.p.number, created: n.opts.Now(), members: map[string]*member{}, locked: true}
	g.addMember(a.p, &member{admin: true, super: true})
	n.groups[jid] = g
	jids, numbers := participantNumbers(participants)
	results := make([]engine.ParticipantResult, 0, len(jids))
	for i, num := range numbers {
		if num == a.p.number {
			continue
		}
		r := engine.ParticipantResult{JID: jids[i]}
		switch p := n.phones[num]; {
		case num == "":
			r.Error = ResultInvalidNumber
		case p == nil:
			r.Error = ResultNotOnWhatsApp
		default:
			g.addMember(p, &member{})
		}
		results = append(results, r)
	}
	all := make([]string, len(g.order))
	for i, num := range g.order {
		all[i] = JID(num)
	}
	n.groupEvent(g, engine.GroupChange{Action: ActionCreate, Actor: a.jid(), Participants: all, Subject: subject})
	return g, results, nil
}

// updateParticipants adds, removes, promotes or demotes participants of a
// group a is an admin of. Each distinct user gets a result; one GroupChange
// names those it worked for.
func (n *Network) updateParticipants(a actor, jid string, users []string, action engine.ParticipantAction) ([]engine.ParticipantResult, error) {
	switch action {
	case engine.ParticipantAdd, engine.ParticipantRemove, engine.ParticipantPromote, engine.ParticipantDemote:
	default:
		return nil, fmt.Errorf("%w: unknown participant action %q (add, remove, promote or demote)", ErrInvalidGroup, action)
	}
	switch {
	case len(users) == 0:
		return nil, fmt.Errorf("%w: no participants to %s", ErrInvalidGroup, action)
	case len(users) > MaxGroupSize:
		return nil, fmt.Errorf("%w: at most %d participants at once", ErrInvalidGroup, MaxGroupSize)
	}
	admin := n.adminGroup
	if action == engine.ParticipantAdd && n.extra.addAnyone[jid] { // add_participants: anyone
		admin = n.memberGroup
	}
	g, err := admin(a.p, jid)
	if err != nil {
		return nil, err
	}
	jids, numbers := participantNumbers(users)
	results := make([]engine.ParticipantResult, len(jids))
	var (
		done    []string
		removed []*phone
	)
	for i, num := range numbers {
		results[i].JID = jids[i]
		p := n.phones[num]
		m := g.members[num]
		var e string
		switch {
		case num == "":
			e = ResultInvalidNumber
		case p == nil:
			e = ResultNotOnWhatsApp
		case action == engine.ParticipantAdd && m != nil:
			e = ResultAlreadyMember
		case action == engine.ParticipantAdd && len(g.order) >= MaxGroupSize:
			e = ResultGroupFull
		case action == engine.ParticipantAdd:
			g.addMember(p, &member{})
		case m == nil:
			e = ResultNotParticipant
		case action == engine.ParticipantRemove && p == a.p:
			e = ResultSelf
		case (action == engine.ParticipantRemove || action == engine.ParticipantDemote) && m.super:
			e = ResultCreator
		case action == engine.ParticipantRemove:
			g.removeMember(p)
			removed = append(removed, p)
		case action == engine.ParticipantPromote:
			m.admin = true
		case action == engine.ParticipantDemote:
			m.admin = false
		}
		results[i].Error = e
		if e == "" {
			done = append(done, jids[i])
		}
	}
	if len(done) > 0 {
		n.groupEvent(g, engine.GroupChange{Action: string(action), Actor: a.jid(), Participants: done}, removed...)
		n.afterLeave(g)
		n.mirrorCommunity(g, action, done) // communities.go
	}
	return results, nil
}

// leaveGroup takes a out of a group; the members, a included, get "leave".
func (n *Network) leaveGroup(a actor, jid string) error {
	g, err := n.memberGroup(a.p, jid)
	if err != nil {
		return err
	}
	g.removeMember(a.p)
	n.groupEvent(g, engine.GroupChange{Action: ActionLeave, Actor: a.jid(), Participants: []string{a.jid()}}, a.p)
	n.afterLeave(g)
	return nil
}

// GroupSettings changes a group's settings; nil fields stay.
type GroupSettings struct {
	// Announce: only admins send messages.
	Announce *bool
	// Locked: only admins change the subject, description and photo.
	Locked *bool
}

// setSettings changes a group's settings (admins only).
func (n *Network) setSettings(a actor, jid string, s GroupSettings) error {
	g, err := n.adminGroup(a.p, jid)
	if err != nil {
		return err
	}
	if s.Announce == nil && s.Locked == nil {
		return nil
	}
	if s.Announce != nil {
		g.announce = *s.Announce
	}
	if s.Locked != nil {
		g.locked = *s.Locked
	}
	n.groupEvent(g, engine.GroupChange{Action: ActionSettings, Actor: a.jid()})
	return nil
}

// groupInvite returns a group's invite code (admins only), a new one when
// there is none or reset.
func (n *Network) groupInvite(a actor, jid string, reset bool) (string, error) {
	g, err := n.adminGroup(a.p, jid)
	if err != nil {
		return "", err
	}
	if g.invite != "" && !reset {
		return g.invite, nil
	}
	delete(n.invites, g.invite)
	var code string
	for {
		b := randBytes(22)
		for i := range b {
			b[i] = inviteAlphabet[int(b[i])%len(inviteAlphabet)]
		}
		code = string(b)
		if n.invites[code] == nil {
			break
		}
	}
	g.invite = code
	n.invites[code] = g
	return code, nil
}

// byInvite finds the group of an invite code (or link).
func (n *Network) byInvite(code string) (*group, error) {
	c := strings.TrimSpace(code)
	c = strings.TrimPrefix(strings.TrimPrefix(c, "https://"), "http://")
	c = strings.TrimPrefix(c, "chat.whatsapp.com/")
	g := n.invites[c]
	if c == "" || g == nil {
		return nil, fmt.Errorf("%w: %q", engine.ErrInviteNotFound, code)
	}
	return g, nil
}

// joinGroup makes a a member of the group of an invite code; a member
// already just gets the JID.
func (n *Network) joinGroup(a actor, code string) (string, error) {
	g, err := n.byInvite(code)
	if err != nil {
		return "", err
	}
	if g.members[a.p.number] != nil {
		return g.jid, nil
	}
	if len(g.order) >= MaxGroupSize {
		return "", fmt.Errorf("%w: %s has %d members", ErrGroupFull, g.jid, len(g.order))
	}
	if n.extra.approve[g.jid] {
		n.requestJoin(a.p, g)
		return "", fmt.Errorf("%w: %s", ErrJoinRequested, g.jid)
	}
	g.addMember(a.p, &member{})
	n.groupEvent(g, engine.GroupChange{Action: ActionJoin, Actor: a.jid(), Participants: []string{a.jid()}})
	return g.jid, nil
}

// groupsOf lists the groups of p, oldest first.
func groupsOf(p *phone) []engine.GroupInfo {
	gs := make([]*group, 0, len(p.groups))
	for _, g := range p.groups {
		gs = append(gs, g)
	}
	slices.SortFunc(gs, func(a, b *group) int {
		if c := a.created.Compare(b.created); c != 0 {
			return c
		}
		return strings.Compare(a.jid, b.jid)
	})
	out := make([]engine.GroupInfo, len(gs))
	for i, g := range gs {
		out[i] = g.info()
	}
	return out
}

func checkSubject(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("%w: the subject must not be blank", ErrInvalidGroup)
	case !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxSubjectLen:
		return fmt.Errorf("%w: the subject must be at most %d characters", ErrInvalidGroup, MaxSubjectLen)
	case strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Errorf("%w: the subject must not contain control characters", ErrInvalidGroup)
	}
	return nil
}

func checkDescription(s string) error {
	switch {
	case !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxDescriptionLen:
		return fmt.Errorf("%w: the description must be at most %d characters", ErrInvalidGroup, MaxDescriptionLen)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		return fmt.Errorf("%w: the description must not contain control characters but line breaks and tabs", ErrInvalidGroup)
	}
	return nil
}

func checkPhoto(jpeg []byte) error {
	switch {
	case len(jpeg) > MaxPictureSize:
		return fmt.Errorf("%w: the photo is %d bytes, more than %d", ErrTooLarge, len(jpeg), MaxPictureSize)
	case len(jpeg) > 0 && !bytes.HasPrefix(jpeg, []byte{0xFF, 0xD8, 0xFF}):
		return fmt.Errorf("%w: the photo is not a JPEG", ErrInvalidContent)
	}
	return nil
}

func randDigits(k int) string {
	b := randBytes(k)
	for i := range b {
		b[i] = '0' + b[i]%10 // close enough to uniform for IDs
	}
	return string(b)
}

// CreateGroup creates a group with the account as super admin and, as
// members, the participants (user JIDs) that are accounts on the network;
// the others are left out (the phone-side CreateGroup says why). Every
// member's devices get a "create" GroupChange. New groups are Locked.
// Errors: ErrInvalidGroup (subject, more than MaxGroupSize-1
// participants), engine.ErrNotLinked, engine.ErrNotConnected.
func (s *session) CreateGroup(ctx context.Context, subject string, participants []string) (engine.GroupInfo, error) {
	var out engine.GroupInfo
	err := s.do(ctx, func(a actor) error {
		g, _, err := s.net.createGroup(a, subject, participants)
		if err == nil {
			out = g.info()
		}
		return err
	})
	return out, err
}

// Groups lists the groups the account is in, oldest first.
func (s *session) Groups(ctx context.Context) ([]engine.GroupInfo, error) {
	var out []engine.GroupInfo
	err := s.do(ctx, func(a actor) error {
		out = groupsOf(a.p)
		return nil
	})
	return out, err
}

// Group reads a group the account is in; engine.ErrGroupNotFound otherwise.
func (s *session) Group(ctx context.Context, jid string) (engine.GroupInfo, error) {
	var out engine.GroupInfo
	err := s.doGroup(ctx, jid, func(a actor, jid string) error {
		g, err := s.net.memberGroup(a.p, jid)
		if err == nil {
			out = g.info()
		}
		return err
	})
	return out, err
}

// SetGroupSubject changes a group's subject (1 to 100 characters); every
// member's devices get a "subject" GroupChange. Errors: ErrInvalidGroup,
// engine.ErrGroupNotFound, engine.ErrNotAdmin (a Locked group).
func (s *session) SetGroupSubject(ctx context.Context, jid, subject string) error {
	if err := checkSubject(subject); err != nil {
		return err
	}
	return s.doGroup(ctx, jid, func(a actor, jid string) error {
		g, err := s.net.editor(a.p, jid)
		if err != nil {
			return err
		}
		g.subject = subject
		s.net.groupEvent(g, engine.GroupChange{Action: ActionSubject, Actor: a.jid(), Subject: subject})
		return nil
	})
}

// SetGroupDescription changes a group's description (up to 2048
// characters; "" removes it); every member's devices get a "description"
// GroupChange. Errors as SetGroupSubject.
func (s *session) SetGroupDescription(ctx context.Context, jid, description string) error {
	if err := checkDescription(description); err != nil {
		return err
	}
	return s.doGroup(ctx, jid, func(a actor, jid string) error {
		g, err := s.net.editor(a.p, jid)
		if err != nil {
			return err
		}
		g.description = description
		s.net.groupEvent(g, engine.GroupChange{Action: ActionDescription, Actor: a.jid(), Description: description})
		return nil
	})
}

// SetGroupPhoto sets a group's photo (a JPEG up to MaxPictureSize; empty
// removes it); every member's devices get a "picture" GroupChange. Errors
// as SetGroupSubject, and ErrTooLarge, ErrInvalidContent (not a JPEG).
func (s *session) SetGroupPhoto(ctx context.Context, jid string, jpeg []byte) error {
	if err := checkPhoto(jpeg); err != nil {
		return err
	}
	photo := slices.Clone(jpeg)
	return s.doGroup(ctx, jid, func(a actor, jid string) error {
		g, err := s.net.editor(a.p, jid)
		if err != nil {
			return err
		}
		g.photo = photo
		s.net.groupEvent(g, engine.GroupChange{Action: ActionPicture, Actor: a.jid()})
		return nil
	})
}

// UpdateParticipants adds, removes, promotes or demotes participants (admins
// only). Each distinct user gets a result, in order; Error is one of the
// Result* texts (ResultNotOnWhatsApp, ResultNotParticipant, ...) or empty.
// Those it worked for are named in one GroupChange to every member's
// devices, removed ones included. Errors: ErrInvalidGroup (no users, more
// than MaxGroupSize, unknown action), engine.ErrGroupNotFound,
// engine.ErrNotAdmin.
func (s *session) UpdateParticipants(ctx context.Context, jid string, users []string, action engine.ParticipantAction) ([]engine.ParticipantResult, error) {
	var out []engine.ParticipantResult
	err := s.doGroup(ctx, jid, func(a actor, jid string) (err error) {
		out, err = s.net.updateParticipants(a, jid, users, action)
		return err
	})
	return out, err
}

// LeaveGroup leaves a group; every member's devices, the account's
// included, get a "leave" GroupChange. Error: engine.ErrGroupNotFound.
func (s *session) LeaveGroup(ctx context.Context, jid string) error {
	return s.doGroup(ctx, jid, func(a actor, jid string) error { return s.net.leaveGroup(a, jid) })
}

// GroupInvite returns the group's invite code (22 characters; admins only:
// engine.ErrNotAdmin); reset revokes the old code and makes a new one.
func (s *session) GroupInvite(ctx context.Context, jid string, reset bool) (string, error) {
	var code string
	err := s.doGroup(ctx, jid, func(a actor, jid string) (err error) {
		code, err = s.net.groupInvite(a, jid, reset)
		return err
	})
	return code, err
}

// GroupByInvite previews the group of an invite code (or a
// chat.whatsapp.com link); engine.ErrInviteNotFound when no group has it.
func (s *session) GroupByInvite(ctx context.Context, code string) (engine.GroupInfo, error) {
	var out engine.GroupInfo
	err := s.do(ctx, func(a actor) error {
		g, err := s.net.byInvite(code)
		if err == nil {
			out = g.info()
		}
		return err
	})
	return out, err
}

// JoinGroup joins the group of an invite code; every member's devices get
// a "join" GroupChange. A member already just gets the JID. Errors:
// engine.ErrInviteNotFound, ErrGroupFull.
func (s *session) JoinGroup(ctx context.Context, code string) (string, error) {
	var jid string
	err := s.do(ctx, func(a actor) (err error) {
		jid, err = s.net.joinGroup(a, code)
		return err
	})
	return jid, err
}

// CreateGroup creates a group on a phone, like Session.CreateGroup, and
// says for each distinct participant (but the phone's own number) whether
// it was added (Error empty) or why not (ResultNotOnWhatsApp,
// ResultInvalidNumber). Errors: ErrPhoneNotFound, ErrInvalidGroup.
func (n *Network) CreateGroup(number, subject string, participants []string) (engine.GroupInfo, []engine.ParticipantResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return engine.GroupInfo{}, nil, err
	}
	g, results, err := n.createGroup(actor{p: p}, subject, participants)
	if err != nil {
		return engine.GroupInfo{}, nil, err
	}
	return g.info(), results, nil
}

// UpdateParticipants changes participants of a group from a phone, like
// Session.UpdateParticipants. Errors: ErrPhoneNotFound and those of
// Session.UpdateParticipants.
func (n *Network) UpdateParticipants(number, group string, users []string, action engine.ParticipantAction) ([]engine.ParticipantResult, error) {
	var out []engine.ParticipantResult
	err := n.phoneGroup(number, group, func(a actor, jid string) (err error) {
		out, err = n.updateParticipants(a, jid, users, action)
		return err
	})
	return out, err
}

// LeaveGroup is a phone leaving a group. Errors: ErrPhoneNotFound,
// engine.ErrGroupNotFound.
func (n *Network) LeaveGroup(number, group string) error {
	return n.phoneGroup(number, group, func(a actor, jid string) error { return n.leaveGroup(a, jid) })
}

// SetGroupSettings changes a group's settings from a phone (admins only);
// every member's devices get a "settings" GroupChange. Errors:
// ErrPhoneNotFound, engine.ErrGroupNotFound, engine.ErrNotAdmin.
func (n *Network) SetGroupSettings(number, group string, s GroupSettings) error {
	return n.phoneGroup(number, group, func(a actor, jid string) error { return n.setSettings(a, jid, s) })
}

// Groups lists the groups a phone is in, oldest first. Error:
// ErrPhoneNotFound.
func (n *Network) Groups(number string) ([]engine.GroupInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return nil, err
	}
	return groupsOf(p), nil
}

// Group returns any group of the network; engine.ErrGroupNotFound when
// there is none.
func (n *Network) Group(jid string) (engine.GroupInfo, error) {
	v, err := parseGroup(jid)
	if err != nil {
		return engine.GroupInfo{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return engine.GroupInfo{}, ErrClosed
	}
	g := n.groups[v]
	if g == nil {
		return engine.GroupInfo{}, fmt.Errorf("%w: %s", engine.ErrGroupNotFound, v)
	}
	return g.info(), nil
}

// GroupPhoto returns a group's photo (nil: none); engine.ErrGroupNotFound
// when there is no such group. The bytes are shared: do not modify them.
func (n *Network) GroupPhoto(jid string) ([]byte, error) {
	v, err := parseGroup(jid)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	g := n.groups[v]
	if g == nil {
		return nil, fmt.Errorf("%w: %s", engine.ErrGroupNotFound, v)
	}
	return g.photo, nil
}

// phoneGroup runs fn for a phone and a parsed group JID under the lock.
func (n *Network) phoneGroup(number, group string, fn func(a actor, jid string) error) error {
	jid, err := parseGroup(group)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return err
	}
	return fn(actor{p: p}, jid)
}
