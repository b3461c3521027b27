package sim

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine"
)

// Communities are groups with a role: a community is a parent group with
// an announcement group (only admins send) created with it; groups are
// linked to it by its admins (or any member, when modify_groups is
// "anyone"). Their participants, admins and invite links are those of the
// groups (engine.Actor).

var _ engine.Communitarian = (*session)(nil)

// commMeta is what makes a group part of a community.
type commMeta struct {
	IsParent     bool   `json:"is_parent,omitempty"`
	Parent       string `json:"parent,omitempty"`
	DefaultSub   bool   `json:"default_sub,omitempty"`
	Hidden       bool   `json:"hidden,omitempty"`
	AdminsAdd    bool   `json:"admins_add,omitempty"`
	AdminsModify bool   `json:"admins_modify,omitempty"`
}

// SnapCommunity is a group's community role in a Snapshot.
type SnapCommunity struct {
	JID string `json:"jid"`
	commMeta
}

// comm returns the community role of a group (nil: none).
func (n *Network) comm(jid string) *commMeta {
	if n.communities == nil {
		n.communities = map[string]*commMeta{}
	}
	return n.communities[jid]
}

func (n *Network) setComm(jid string, m *commMeta) {
	n.comm(jid)
	n.communities[jid] = m
}

func (n *Network) communityInfo(g *group) engine.CommunityInfo {
	out := engine.CommunityInfo{GroupInfo: g.info()}
	if m := n.comm(g.jid); m != nil {
		out.IsParent, out.Parent, out.DefaultSub = m.IsParent, m.Parent, m.DefaultSub
		out.AdminsAddMembers, out.AdminsModifyGroups = m.AdminsAdd, m.AdminsModify
	}
	return out
}

// community returns a community p is in.
func (n *Network) community(p *phone, jid string) (*group, *commMeta, error) {
	g, err := n.memberGroup(p, jid)
	if err != nil {
		return nil, nil, err
	}
	m := n.comm(jid)
	if m == nil || !m.IsParent {
		return nil, nil, fmt.Errorf("%w: %s is a group, not a community", engine.ErrNotCommunity, jid)
	}
	return g, m, nil
}

// CreateCommunity creates a community owned by the account, with its
// announcement group. Errors: ErrInvalidGroup, engine.ErrNotLinked,
// engine.ErrNotConnected.
func (s *session) CreateCommunity(ctx context.Context, subject, description string) (engine.CommunityInfo, error) {
	var out engine.CommunityInfo
	err := s.do(ctx, func(a actor) error {
		if err := checkDescription(description); err != nil {
			return err
		}
		g, _, err := s.net.createGroup(a, subject, nil)
		if err != nil {
			return err
		}
		g.description = description
		s.net.setComm(g.jid, &commMeta{IsParent: true, AdminsModify: true, AdminsAdd: true})
		ann, _, err := s.net.createGroup(a, subject, nil)
		if err != nil {
			return err
		}
		ann.announce = true
		s.net.setComm(ann.jid, &commMeta{Parent: g.jid, DefaultSub: true})
		out = s.net.communityInfo(g)
		return nil
	})
	return out, err
}

// Communities lists the communities the account is in.
func (s *session) Communities(ctx context.Context) ([]engine.CommunityInfo, error) {
	var out []engine.CommunityInfo
	err := s.do(ctx, func(a actor) error {
		for _, jid := range slices.Sorted(maps.Keys(a.p.groups)) {
			if m := s.net.comm(jid); m != nil && m.IsParent {
				out = append(out, s.net.communityInfo(a.p.groups[jid]))
			}
		}
		return nil
	})
	return out, err
}

// Community reads a community the account is in.
func (s *session) Community(ctx context.Context, jid string) (engine.CommunityInfo, error) {
	var out engine.CommunityInfo
	err := s.doGroup(ctx, jid, func(a actor, jid string) error {
		g, _, err := s.net.community(a.p, jid)
		if err == nil {
			out = s.net.communityInfo(g)
		}
		return err
	})
	return out, err
}

// mayModify checks that p may link groups to community g.
func mayModify(g *group, m *commMeta, p *phone) error {
	if m.AdminsModify && !g.members[p.number].admin {
		return fmt.Errorf("%w: only admins of %s change its groups", engine.ErrNotAdmin, g.jid)
	}
	return nil
}

// CreateCommunityGroup creates a group linked to a community.
func (s *session) CreateCommunityGroup(ctx context.Context, community, subject string, participants []string, hidden bool) (engine.CommunityInfo, error) {
	var out engine.CommunityInfo
	err := s.doGroup(ctx, community, func(a actor, jid string) error {
		c, m, err := s.net.community(a.p, jid)
		if err != nil {
			return err
		}
		if err := mayModify(c, m, a.p); err != nil {
			return err
		}
		g, _, err := s.net.createGroup(a, subject, participants)
		if err != nil {
			return err
		}
		s.net.setComm(g.jid, &commMeta{Parent: jid, Hidden: hidden})
		out = s.net.communityInfo(g)
		return nil
	})
	return out, err
}

// LinkGroup links or unlinks a group the account admins.
func (s *session) LinkGroup(ctx context.Context, community, group string, link bool) error {
	gjid, err := parseGroup(group)
	if err != nil {
		return err
	}
	return s.doGroup(ctx, community, func(a actor, jid string) error {
		c, m, err := s.net.community(a.p, jid)
		if err != nil {
			return err
		}
		if err := mayModify(c, m, a.p); err != nil {
			return err
		}
		g, err := s.net.adminGroup(a.p, gjid)
		if err != nil {
			return err
		}
		gm := s.net.comm(gjid)
		switch {
		case link && gm != nil && (gm.IsParent || gm.Parent != ""):
			return fmt.Errorf("%w: %s is a community or already linked to one", engine.ErrInvalidContent, gjid)
		case link:
			s.net.setComm(gjid, &commMeta{Parent: jid})
		case gm == nil || gm.Parent != jid || gm.DefaultSub:
			return fmt.Errorf("%w: %s is not a group linked to %s", engine.ErrNotCommunity, gjid, jid)
		default:
			delete(s.net.communities, gjid)
		}
		s.net.groupEvent(g, engine.GroupChange{Action: ActionSettings, Actor: a.jid()})
		return nil
	})
}

// SubGroups lists a community's groups: its announcement group first,
// then the others by subject; hidden groups only for their members.
func (s *session) SubGroups(ctx context.Context, community string) ([]engine.SubGroup, error) {
	var out []engine.SubGroup
	err := s.doGroup(ctx, community, func(a actor, jid string) error {
		if _, _, err := s.net.community(a.p, jid); err != nil {
			return err
		}
		for _, gjid := range slices.Sorted(maps.Keys(s.net.communities)) {
			m, g := s.net.communities[gjid], s.net.groups[gjid]
			if g == nil || m.Parent != jid || (m.Hidden && g.members[a.p.number] == nil) {
				continue
			}
			out = append(out, engine.SubGroup{JID: gjid, Subject: g.subject, Created: g.created, DefaultSub: m.DefaultSub})
		}
		slices.SortStableFunc(out, func(x, y engine.SubGroup) int {
			switch {
			case x.DefaultSub != y.DefaultSub:
				if x.DefaultSub {
					return -1
				}
				return 1
			case x.Subject < y.Subject:
				return -1
			case x.Subject > y.Subject:
				return 1
			}
			return 0
		})
		return nil
	})
	return out, err
}

// JoinSubGroup joins a group linked to a community the account is in.
func (s *session) JoinSubGroup(ctx context.Context, community, group string) error {
	gjid, err := parseGroup(group)
	if err != nil {
		return err
	}
	return s.doGroup(ctx, community, func(a actor, jid string) error {
		if _, _, err := s.net.community(a.p, jid); err != nil {
			return err
		}
		g, m := s.net.groups[gjid], s.net.comm(gjid)
		if g == nil || m == nil || m.Parent != jid {
			return fmt.Errorf("%w: %s is not a group linked to %s", engine.ErrNotCommunity, gjid, jid)
		}
		if g.members[a.p.number] != nil {
			return nil
		}
		if len(g.order) >= MaxGroupSize {
			return ErrGroupFull
		}
		g.addMember(a.p, &member{})
		s.net.groupEvent(g, engine.GroupChange{Action: ActionJoin, Actor: a.jid(), Participants: []string{a.jid()}})
		return nil
	})
}

// SetCommunitySetting sets who links groups or adds members (admins only).
func (s *session) SetCommunitySetting(ctx context.Context, community, setting string, adminsOnly bool) error {
	return s.doGroup(ctx, community, func(a actor, jid string) error {
		c, m, err := s.net.community(a.p, jid)
		if err != nil {
			return err
		}
		if !c.members[a.p.number].admin {
			return fmt.Errorf("%w: only admins change the settings of %s", engine.ErrNotAdmin, jid)
		}
		switch setting {
		case engine.CommunityModifyGroups:
			m.AdminsModify = adminsOnly
		case engine.CommunityMemberAdd:
			m.AdminsAdd = adminsOnly
		default:
			return fmt.Errorf("%w: unknown community setting %q", engine.ErrInvalidContent, setting)
		}
		s.net.groupEvent(c, engine.GroupChange{Action: ActionSettings, Actor: a.jid()})
		return nil
	})
}

// DeactivateCommunity ends a community (its creator only): linked groups
// become ordinary groups, the community and its announcement group are
// gone, their members get a "leave" change.
func (s *session) DeactivateCommunity(ctx context.Context, community string) error {
	return s.doGroup(ctx, community, func(a actor, jid string) error {
		c, _, err := s.net.community(a.p, jid)
		if err != nil {
			return err
		}
		if !c.members[a.p.number].super {
			return fmt.Errorf("%w: only the creator of %s deactivates it", engine.ErrNotAdmin, jid)
		}
		for _, gjid := range slices.Sorted(maps.Keys(s.net.communities)) {
			m := s.net.communities[gjid]
			if m.Parent != jid {
				continue
			}
			delete(s.net.communities, gjid)
			if g := s.net.groups[gjid]; g != nil && m.DefaultSub {
				s.net.dissolve(g, a)
			}
		}
		delete(s.net.communities, jid)
		s.net.dissolve(c, a)
		return nil
	})
}

// dissolve removes every member of a group, then the group.
func (n *Network) dissolve(g *group, a actor) {
	var gone []*phone
	for _, num := range g.order {
		if p := n.phones[num]; p != nil {
			gone = append(gone, p)
		}
	}
	all := make([]string, len(g.order))
	for i, num := range g.order {
		all[i] = JID(num)
	}
	for _, p := range gone {
		g.removeMember(p)
	}
	g.order = nil
	n.groupEvent(g, engine.GroupChange{Action: ActionLeave, Actor: a.jid(), Participants: all}, gone...)
	n.afterLeave(g)
}

var _ engine.EventPoster = (*session)(nil)

// PostEvent announces an event in a group the account is in: the members
// get a message of kind engine.KindEvent whose text is the title (and the
// description on the next lines), with the place as Location.
func (s *session) PostEvent(ctx context.Context, chat string, e engine.EventInfo) (engine.SentMessage, error) {
	if strings.TrimSpace(e.Title) == "" || utf8.RuneCountInString(e.Title) > MaxSubjectLen {
		return engine.SentMessage{}, fmt.Errorf("%w: an event title is 1 to %d characters", ErrInvalidContent, MaxSubjectLen)
	}
	if e.Start.IsZero() || (!e.End.IsZero() && e.End.Before(e.Start)) {
		return engine.SentMessage{}, fmt.Errorf("%w: an event starts, and ends after it starts", ErrInvalidContent)
	}
	text := e.Title
	if e.Description != "" {
		text += "\n" + e.Description
	}
	c := engine.Content{Kind: engine.KindEvent, Text: text, Location: e.Location}
	var out engine.SentMessage
	err := s.doGroup(ctx, chat, func(a actor, jid string) error {
		g, err := s.net.memberGroup(a.p, jid)
		if err != nil {
			return err
		}
		if g.announce && !g.members[a.p.number].admin {
			return fmt.Errorf("%w: only admins post to %s", engine.ErrNotAdmin, jid)
		}
		m := s.net.deliver(a, target{group: g}, c)
		out = engine.SentMessage{ID: m.id, Chat: jid, Time: m.time, Payload: payloadOf(m.id)}
		return nil
	})
	return out, err
}

// mirrorCommunity applies a change of a community's members to its
// announcement group, as WhatsApp does: members of a community are in it.
func (n *Network) mirrorCommunity(g *group, action engine.ParticipantAction, users []string) {
	if m := n.comm(g.jid); m == nil || !m.IsParent || (action != engine.ParticipantAdd && action != engine.ParticipantRemove) {
		return
	}
	for jid, sm := range n.communities {
		ann := n.groups[jid]
		if ann == nil || sm.Parent != g.jid || !sm.DefaultSub {
			continue
		}
		var done []string
		var removed []*phone
		for _, u := range users {
			num, err := parseRecipient(u)
			p := n.phones[num]
			switch {
			case err != nil || p == nil:
			case action == engine.ParticipantAdd && ann.members[num] == nil && len(ann.order) < MaxGroupSize:
				ann.addMember(p, &member{})
				done = append(done, u)
			case action == engine.ParticipantRemove && ann.members[num] != nil && !ann.members[num].super:
				ann.removeMember(p)
				removed = append(removed, p)
				done = append(done, u)
			}
		}
		if len(done) > 0 {
			n.groupEvent(ann, engine.GroupChange{Action: string(action), Participants: done}, removed...)
			n.afterLeave(ann)
		}
	}
}
