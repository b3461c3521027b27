package service

import (
	"context"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

func communities(s *Service, ch model.Channel) (engine.Communitarian, error) {
	return capability[engine.Communitarian](s, ch, "run communities")
}

// communityDo runs an action on a checked community ID.
func (s *Service) communityDo(ctx context.Context, ch model.Channel, rawID string, fn func(c engine.Communitarian, jid string) error) error {
	jid, err := GroupID("CommunityID", rawID)
	if err != nil {
		return err
	}
	c, err := communities(s, ch)
	if err != nil {
		return err
	}
	defer s.wake() // the group changes' webhooks
	return s.capError(ch, fn(c, jid))
}

// Communities lists the communities the account is in (a page, and how
// many in all).
func (s *Service) Communities(ctx context.Context, ch model.Channel, p Page) ([]engine.CommunityInfo, int, error) {
	c, err := communities(s, ch)
	if err != nil {
		return nil, 0, err
	}
	all, err := c.Communities(ctx)
	if err != nil {
		return nil, 0, s.capError(ch, err)
	}
	return pageOf(all, p), len(all), nil
}

// CreateCommunity creates a community with its announcement group.
func (s *Service) CreateCommunity(ctx context.Context, ch model.Channel, subject, description string) (engine.CommunityInfo, error) {
	if err := checkSubject(subject); err != nil {
		return engine.CommunityInfo{}, err
	}
	if err := checkDescription(description); err != nil {
		return engine.CommunityInfo{}, err
	}
	c, err := communities(s, ch)
	if err != nil {
		return engine.CommunityInfo{}, err
	}
	defer s.wake()
	info, err := c.CreateCommunity(ctx, subject, description)
	return info, s.capError(ch, err)
}

// Community reads a community.
func (s *Service) Community(ctx context.Context, ch model.Channel, rawID string) (engine.CommunityInfo, error) {
	var out engine.CommunityInfo
	err := s.communityDo(ctx, ch, rawID, func(c engine.Communitarian, jid string) (err error) {
		out, err = c.Community(ctx, jid)
		return err
	})
	return out, err
}

// CreateCommunityGroup creates a group in a community.
func (s *Service) CreateCommunityGroup(ctx context.Context, ch model.Channel, rawID, subject string, participants []string, hidden bool) (store.Group, error) {
	if err := checkSubject(subject); err != nil {
		return store.Group{}, err
	}
	users, err := participantIDs("participants", participants, ch.WAPhone)
	if err != nil {
		return store.Group{}, err
	}
	var out store.Group
	err = s.communityDo(ctx, ch, rawID, func(c engine.Communitarian, jid string) error {
		info, err := c.CreateCommunityGroup(ctx, jid, subject, users, hidden)
		if err != nil {
			return err
		}
		out = groupRecord(ch.ID, info.GroupInfo, s.now())
		return nil
	})
	return out, err
}

// DeactivateCommunity ends a community the account created.
func (s *Service) DeactivateCommunity(ctx context.Context, ch model.Channel, rawID string) error {
	return s.communityDo(ctx, ch, rawID, func(c engine.Communitarian, jid string) error { return c.DeactivateCommunity(ctx, jid) })
}

// RevokeCommunityInvite makes a new invite link of a community (the old
// one stops working).
func (s *Service) RevokeCommunityInvite(ctx context.Context, ch model.Channel, rawID string) error {
	jid, err := s.checkCommunity(ctx, ch, rawID)
	if err != nil {
		return err
	}
	_, err = s.GroupInvite(ctx, ch, jid, true)
	return err
}

// checkCommunity returns the JID of a community the account is in.
func (s *Service) checkCommunity(ctx context.Context, ch model.Channel, rawID string) (string, error) {
	info, err := s.Community(ctx, ch, rawID)
	return info.JID, err
}

// LinkCommunityGroup links (or unlinks) a group to a community.
func (s *Service) LinkCommunityGroup(ctx context.Context, ch model.Channel, rawID, rawGroup string, link bool) error {
	group, err := GroupID("GroupID", rawGroup)
	if err != nil {
		return err
	}
	return s.communityDo(ctx, ch, rawID, func(c engine.Communitarian, jid string) error { return c.LinkGroup(ctx, jid, group, link) })
}

// JoinCommunityGroup joins a group of a community the account is in.
func (s *Service) JoinCommunityGroup(ctx context.Context, ch model.Channel, rawID, rawGroup string) error {
	group, err := GroupID("GroupID", rawGroup)
	if err != nil {
		return err
	}
	return s.communityDo(ctx, ch, rawID, func(c engine.Communitarian, jid string) error { return c.JoinSubGroup(ctx, jid, group) })
}

// SetCommunitySetting sets modify_groups or member_add_mode to anyone or
// admins.
func (s *Service) SetCommunitySetting(ctx context.Context, ch model.Channel, rawID, setting, policy string) error {
	if setting != engine.CommunityModifyGroups && setting != engine.CommunityMemberAdd {
		return invalid("setting", "must be %s or %s", engine.CommunityModifyGroups, engine.CommunityMemberAdd)
	}
	if policy != "anyone" && policy != "admins" {
		return invalid("policy", "must be anyone or admins")
	}
	return s.communityDo(ctx, ch, rawID, func(c engine.Communitarian, jid string) error {
		return c.SetCommunitySetting(ctx, jid, setting, policy == "admins")
	})
}

// UpdateCommunityParticipants changes a community's participants or
// admins (those of its parent group).
func (s *Service) UpdateCommunityParticipants(ctx context.Context, ch model.Channel, rawID string, participants []string, action engine.ParticipantAction) (ParticipantsResult, error) {
	if _, err := participantIDs("participants", participants, ch.WAPhone); err != nil {
		return ParticipantsResult{}, err
	}
	jid, err := s.checkCommunity(ctx, ch, rawID)
	if err != nil {
		return ParticipantsResult{}, err
	}
	return s.UpdateGroupParticipants(ctx, ch, jid, participants, action)
}

// CommunitySubGroups lists a community's groups: its announcement group
// and the others.
func (s *Service) CommunitySubGroups(ctx context.Context, ch model.Channel, rawID string) (announce *engine.SubGroup, other []engine.SubGroup, err error) {
	err = s.communityDo(ctx, ch, rawID, func(c engine.Communitarian, jid string) error {
		subs, err := c.SubGroups(ctx, jid)
		for i := range subs {
			if subs[i].DefaultSub && announce == nil {
				announce = &subs[i]
				continue
			}
			other = append(other, subs[i])
		}
		return err
	})
	if err == nil && other == nil {
		other = []engine.SubGroup{}
	}
	return announce, other, err
}

// CommunityEvent is an event to announce, as the gate API takes it.
type CommunityEvent struct {
	To, Title, Description string
	Start, End             int64 // Unix seconds
	Latitude, Longitude    *float64
	Location, Address      string
}

// CommunityEvent announces an event in a group (a community's
// announcement group, typically), counted as a message sent.
func (s *Service) CommunityEvent(ctx context.Context, ch model.Channel, e CommunityEvent) error {
	jid, err := GroupID("to", e.To)
	if err != nil {
		return err
	}
	if err := checkText("title", e.Title, true, MaxGroupSubject); err != nil {
		return err
	}
	if err := checkDescriptionField("description", e.Description, MaxGroupDescription); err != nil {
		return err
	}
	if e.Start <= 0 {
		return invalid("startTime", "is required: a Unix time in seconds")
	}
	if e.End != 0 && e.End < e.Start {
		return invalid("endTime", "must not be before startTime")
	}
	info := engine.EventInfo{Title: e.Title, Description: e.Description, Start: time.Unix(e.Start, 0).UTC()}
	if e.End != 0 {
		info.End = time.Unix(e.End, 0).UTC()
	}
	if (e.Latitude == nil) != (e.Longitude == nil) {
		return invalid("degreesLatitude", "degreesLatitude and degreesLongitude go together")
	}
	if e.Latitude != nil {
		if *e.Latitude < -90 || *e.Latitude > 90 || *e.Longitude < -180 || *e.Longitude > 180 {
			return invalid("degreesLatitude", "latitude -90 to 90, longitude -180 to 180")
		}
		info.Location = &engine.Location{Latitude: *e.Latitude, Longitude: *e.Longitude, Name: e.Location, Address: e.Address}
	}
	ep, err := capability[engine.EventPoster](s, ch, "announce events")
	if err != nil {
		return err
	}
	if err := s.UseLimit(ctx, ch, LimitMessages, 1); err != nil {
		return err
	}
	sent, err := ep.PostEvent(ctx, jid, info)
	if err != nil {
		s.releaseLimit(ctx, ch, LimitMessages, 1)
		return s.capError(ch, err)
	}
	c := engine.Content{Kind: engine.KindEvent, Text: e.Title, Location: info.Location}
	m := s.newMessage(ch, sent.ID, jid, true, s.selfJID(ch), ch.WAName, "api", model.MessagePending, c, nil, sent.Time)
	if _, err := s.insertMessage(ctx, store.NewMessage{Message: m, Hooks: hooks1(s.newMessageHooks(ctx, ch, m)), Payload: sent.Payload}); err != nil {
		return err
	}
	s.wake()
	return nil
}
