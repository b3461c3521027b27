package whatsmeow

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

// Communities through whatsmeow: a community is a parent group (WhatsApp
// creates its announcement group with it); groups are created in it or
// linked to it. Deactivating a community, joining one of its groups
// without the group's invite link, hidden groups and the modify_groups
// setting are not offered by whatsmeow: engine.ErrUnsupported.

var (
	_ engine.Communitarian = (*Session)(nil)
	_ engine.EventPoster   = (*Session)(nil)
)

// communityInfo converts whatsmeow's group info of a community or a
// group of one.
func communityInfo(ctx context.Context, cli *wm.Client, g *types.GroupInfo) engine.CommunityInfo {
	out := engine.CommunityInfo{GroupInfo: phoneGroupInfo(ctx, cli, g), IsParent: g.IsParent, DefaultSub: g.IsDefaultSubGroup,
		AdminsAddMembers: g.MemberAddMode == types.GroupMemberAddModeAdmin, AdminsModifyGroups: true}
	if !g.LinkedParentJID.IsEmpty() {
		out.Parent = g.LinkedParentJID.String()
	}
	return out
}

// CreateCommunity creates a community.
func (s *Session) CreateCommunity(ctx context.Context, subject, description string) (engine.CommunityInfo, error) {
	subject = strings.TrimSpace(subject)
	if subject == "" {
		return engine.CommunityInfo{}, fmt.Errorf("%w: empty community subject", ErrInvalidContent)
	}
	cli, _, _, err := s.online()
	if err != nil {
		return engine.CommunityInfo{}, err
	}
	g, err := cli.CreateGroup(ctx, wm.ReqCreateGroup{Name: subject, GroupParent: types.GroupParent{IsParent: true}})
	if err != nil {
		return engine.CommunityInfo{}, fmt.Errorf("whatsmeow: create community: %w", mapSendErr(err))
	}
	if description != "" {
		if err := cli.SetGroupDescription(ctx, g.JID, description); err != nil {
			return engine.CommunityInfo{}, fmt.Errorf("whatsmeow: community %s created, its description not set: %w", g.JID, mapSendErr(err))
		}
		g.Topic = description
	}
	g.IsParent = true
	return communityInfo(ctx, cli, g), nil
}

// Communities lists the communities the account is in.
func (s *Session) Communities(ctx context.Context) ([]engine.CommunityInfo, error) {
	cli, _, _, err := s.online()
	if err != nil {
		return nil, err
	}
	list, err := cli.GetJoinedGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: communities: %w", mapSendErr(err))
	}
	var out []engine.CommunityInfo
	for _, g := range list {
		if g != nil && g.IsParent {
			out = append(out, communityInfo(ctx, cli, g))
		}
	}
	return out, nil
}

// community reads a community the account is in.
func (s *Session) community(ctx context.Context, cli *wm.Client, jid types.JID) (*types.GroupInfo, error) {
	g, err := cli.GetGroupInfo(ctx, jid)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: community %s: %w", jid, groupErr(err))
	}
	if !g.IsParent {
		return nil, fmt.Errorf("%w: %s is a group, not a community", engine.ErrNotCommunity, jid)
	}
	return g, nil
}

// Community reads one community.
func (s *Session) Community(ctx context.Context, community string) (engine.CommunityInfo, error) {
	jid, err := parseGroup(community)
	if err != nil {
		return engine.CommunityInfo{}, err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return engine.CommunityInfo{}, err
	}
	g, err := s.community(ctx, cli, jid)
	if err != nil {
		return engine.CommunityInfo{}, err
	}
	return communityInfo(ctx, cli, g), nil
}

// CreateCommunityGroup creates a group linked to a community.
func (s *Session) CreateCommunityGroup(ctx context.Context, community, subject string, participants []string, hidden bool) (engine.CommunityInfo, error) {
	parent, err := parseGroup(community)
	if err != nil {
		return engine.CommunityInfo{}, err
	}
	subject = strings.TrimSpace(subject)
	if subject == "" {
		return engine.CommunityInfo{}, fmt.Errorf("%w: empty group subject", ErrInvalidContent)
	}
	users, err := parseUsers(participants)
	if err != nil {
		return engine.CommunityInfo{}, err
	}
	if hidden {
		return engine.CommunityInfo{}, unsupported("creating a hidden group in a community (isHidden)")
	}
	cli, _, _, err := s.online()
	if err != nil {
		return engine.CommunityInfo{}, err
	}
	g, err := cli.CreateGroup(ctx, wm.ReqCreateGroup{Name: subject, Participants: users,
		GroupLinkedParent: types.GroupLinkedParent{LinkedParentJID: parent}})
	if err != nil {
		return engine.CommunityInfo{}, fmt.Errorf("whatsmeow: create group in community %s: %w", parent, adminErr(ctx, cli, parent, err))
	}
	g.LinkedParentJID = parent
	return communityInfo(ctx, cli, g), nil
}

// LinkGroup links or unlinks a group.
func (s *Session) LinkGroup(ctx context.Context, community, group string, link bool) error {
	parent, err := parseGroup(community)
	if err != nil {
		return err
	}
	child, err := parseGroup(group)
	if err != nil {
		return err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if link {
		err = cli.LinkGroup(ctx, parent, child)
	} else {
		err = cli.UnlinkGroup(ctx, parent, child)
	}
	if err != nil {
		return fmt.Errorf("whatsmeow: link %s to %s (%v): %w", child, parent, link, adminErr(ctx, cli, parent, err))
	}
	return nil
}

// SubGroups lists a community's groups.
func (s *Session) SubGroups(ctx context.Context, community string) ([]engine.SubGroup, error) {
	jid, err := parseGroup(community)
	if err != nil {
		return nil, err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return nil, err
	}
	list, err := cli.GetSubGroups(ctx, jid)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: groups of community %s: %w", jid, groupErr(err))
	}
	out := make([]engine.SubGroup, 0, len(list))
	for _, t := range list {
		if t != nil {
			out = append(out, engine.SubGroup{JID: t.JID.String(), Subject: t.Name, DefaultSub: t.IsDefaultSubGroup})
		}
	}
	return out, nil
}

// JoinSubGroup is not offered by whatsmeow.
func (s *Session) JoinSubGroup(context.Context, string, string) error {
	return unsupported("joining a community's group without its invite link (join with PUT /groups and the group's invite code)")
}

// SetCommunitySetting sets who adds members (modify_groups is not offered
// by whatsmeow).
func (s *Session) SetCommunitySetting(ctx context.Context, community, setting string, adminsOnly bool) error {
	jid, err := parseGroup(community)
	if err != nil {
		return err
	}
	if setting != engine.CommunityMemberAdd {
		if setting == engine.CommunityModifyGroups {
			return unsupported("the community setting modify_groups")
		}
		return fmt.Errorf("%w: unknown community setting %q", ErrInvalidContent, setting)
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	mode := types.GroupMemberAddModeAllMember
	if adminsOnly {
		mode = types.GroupMemberAddModeAdmin
	}
	if err := cli.SetGroupMemberAddMode(ctx, jid, mode); err != nil {
		return fmt.Errorf("whatsmeow: community %s member add mode: %w", jid, adminErr(ctx, cli, jid, err))
	}
	return nil
}

// DeactivateCommunity is not offered by whatsmeow.
func (s *Session) DeactivateCommunity(context.Context, string) error {
	return unsupported("deactivating a community")
}

// PostEvent announces an event in a group (an event message, with the
// message secret WhatsApp needs for responses).
func (s *Session) PostEvent(ctx context.Context, chat string, e engine.EventInfo) (engine.SentMessage, error) {
	jid, err := parseGroup(chat)
	if err != nil {
		return engine.SentMessage{}, err
	}
	if strings.TrimSpace(e.Title) == "" || e.Start.IsZero() || (!e.End.IsZero() && e.End.Before(e.Start)) {
		return engine.SentMessage{}, fmt.Errorf("%w: an event needs a title and a start, and ends after it starts", ErrInvalidContent)
	}
	ev := &waE2E.EventMessage{Name: proto.String(e.Title), StartTime: proto.Int64(e.Start.Unix()), IsCanceled: proto.Bool(false)}
	if e.Description != "" {
		ev.Description = proto.String(e.Description)
	}
	if !e.End.IsZero() {
		ev.EndTime = proto.Int64(e.End.Unix())
	}
	if l := e.Location; l != nil {
		ev.Location = &waE2E.LocationMessage{DegreesLatitude: proto.Float64(l.Latitude), DegreesLongitude: proto.Float64(l.Longitude),
			Name: optString(l.Name), Address: optString(l.Address)}
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return engine.SentMessage{}, err
	}
	msg := &waE2E.Message{EventMessage: ev, MessageContextInfo: &waE2E.MessageContextInfo{MessageSecret: secret}}
	cli, _, _, err := s.online()
	if err != nil {
		return engine.SentMessage{}, err
	}
	resp, err := cli.SendMessage(ctx, jid, msg)
	if err != nil {
		return engine.SentMessage{}, fmt.Errorf("whatsmeow: post event: %w", sendErr(err))
	}
	payload, _ := proto.Marshal(msg)
	return engine.SentMessage{ID: resp.ID, Chat: jid.String(), Time: resp.Timestamp, Payload: payload}, nil
}
