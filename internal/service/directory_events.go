package service

import (
	"context"
	"slices"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/wire"
)

// Webhook events of a channel's chats, contacts, groups and presences. Each
// hook is handed to the store, which calls it inside the transaction of the
// change with what the change did, so the deliveries are committed with it;
// an event is only sent when something changed (an echo of our own change,
// or a duplicate from WhatsApp, sends nothing).

// newMessageHooks are the deliveries of a new message (messages.post),
// preceded by chats.post when the message started its chat.
func (s *Service) newMessageHooks(ctx context.Context, ch model.Channel, m model.Message) func(created *model.Chat) []model.WebhookDelivery {
	chatHooks := s.chatCreatedHooks(ctx, ch, &m)
	return func(created *model.Chat) []model.WebhookDelivery {
		var out []model.WebhookDelivery
		if created != nil && chatHooks != nil {
			out = chatHooks(*created)
		}
		return append(out, s.messageHooks(ctx, ch, m)...)
	}
}

// chatCreatedHooks are the chats.post deliveries of a new chat, with its
// last message when one started it.
func (s *Service) chatCreatedHooks(ctx context.Context, ch model.Channel, last *model.Message) func(c model.Chat) []model.WebhookDelivery {
	if !s.wants(ctx, ch, wire.TypeChats) {
		return nil
	}
	return func(c model.Chat) []model.WebhookDelivery {
		return s.deliveries(ctx, ch, wire.TypeChats, wire.MethodPost, c.ID, func() ([]byte, error) {
			lasts := map[string]model.Message{}
			if last != nil {
				lasts[c.ID] = *last
			}
			return wire.ChatsEvent(ch.ID, []model.Chat{c}, lasts, s.now())
		})
	}
}

// chatUpdateHooks are the chats.patch deliveries of a chat archived,
// pinned, muted, read or renamed.
func (s *Service) chatUpdateHooks(ctx context.Context, ch model.Channel) func(before, after model.Chat) []model.WebhookDelivery {
	if !s.wants(ctx, ch, wire.TypeChats) {
		return nil
	}
	return func(before, after model.Chat) []model.WebhookDelivery {
		if before == after {
			return nil
		}
		return s.deliveries(ctx, ch, wire.TypeChats, wire.MethodPatch, after.ID, func() ([]byte, error) {
			return wire.ChatsUpdatesEvent(ch.ID, []wire.Change[model.Chat]{{Before: before, After: after}}, s.now())
		})
	}
}

// ensureChat stores a chat (a group's) when the channel has none, sending
// chats.post when it is new.
func (s *Service) ensureChat(ctx context.Context, ch model.Channel, id, name string) error {
	err := s.store.EnsureChat(ctx, ch.ID, id, name, s.chatCreatedHooks(ctx, ch, nil))
	s.wake()
	return err
}

// saveContacts records users the channel learned of: contacts.post for the
// new ones that are on WhatsApp, contacts.patch for the renamed ones.
func (s *Service) saveContacts(ctx context.Context, ch model.Channel, cs []store.Contact) error {
	if len(cs) == 0 || !s.wants(ctx, ch, wire.TypeContacts) {
		return s.store.SaveContacts(ctx, cs)
	}
	defer s.wake()
	return s.store.SaveContacts(ctx, cs, func(added []store.Contact, renamed []store.ContactChange) []model.WebhookDelivery {
		added = slices.DeleteFunc(slices.Clone(added), func(c store.Contact) bool { return c.Status == store.ContactInvalid })
		var out []model.WebhookDelivery
		if len(added) > 0 {
			out = s.deliveries(ctx, ch, wire.TypeContacts, wire.MethodPost, "", func() ([]byte, error) {
				return wire.ContactsEvent(ch.ID, added)
			})
		}
		if len(renamed) > 0 {
			changes := make([]wire.Change[store.Contact], len(renamed))
			for i, r := range renamed {
				changes[i] = wire.Change[store.Contact]{Before: r.Before, After: r.After}
			}
			out = append(out, s.deliveries(ctx, ch, wire.TypeContacts, wire.MethodPatch, "", func() ([]byte, error) {
				return wire.ContactsUpdatesEvent(ch.ID, changes)
			})...)
		}
		return out
	})
}

// groupHooks are the deliveries of a change to a stored group: groups.put
// when its participants or their ranks changed (change, when given, says
// who did what; otherwise it is worked out from before and after), and
// groups.patch when anything else shown of it changed.
func (s *Service) groupHooks(ctx context.Context, ch model.Channel, change *engine.GroupChange) func(before, after store.Group) []model.WebhookDelivery {
	if !s.wants(ctx, ch, wire.TypeGroups) {
		return nil
	}
	return func(before, after store.Group) []model.WebhookDelivery {
		var out []model.WebhookDelivery
		if changes := participantChanges(before, after, change); len(changes) > 0 {
			out = s.deliveries(ctx, ch, wire.TypeGroups, wire.MethodPut, after.ID, func() ([]byte, error) {
				return wire.GroupsParticipantsEvent(ch.ID, changes)
			})
		}
		if !groupShownEqual(before, after) {
			out = append(out, s.deliveries(ctx, ch, wire.TypeGroups, wire.MethodPatch, after.ID, func() ([]byte, error) {
				return wire.GroupsUpdatesEvent(ch.ID, []wire.Change[store.Group]{{Before: before, After: after}})
			})...)
		}
		return out
	}
}

// groupShownEqual reports whether two groups look the same through the
// gate API.
func groupShownEqual(a, b store.Group) bool {
	wa, wb := wire.NewGroup(a), wire.NewGroup(b)
	return wa.Name == wb.Name && wa.NameAt == wb.NameAt && wa.Description == wb.Description &&
		wa.CreatedAt == wb.CreatedAt && wa.CreatedBy == wb.CreatedBy && wa.Restricted == wb.Restricted &&
		wa.Announcements == wb.Announcements && wa.InviteCode == wb.InviteCode
}

// participantChanges are the participant events between two states of a
// group: the given change narrowed to whom it really changed, or, without
// one, additions, removals, promotions and demotions.
func participantChanges(before, after store.Group, change *engine.GroupChange) []engine.GroupChange {
	added, removed, promoted, demoted := participantDiff(before, after)
	if len(added)+len(removed)+len(promoted)+len(demoted) == 0 {
		return nil
	}
	if change != nil {
		var affected []string
		switch change.Action {
		case string(engine.ParticipantAdd), "join":
			affected = added
		case string(engine.ParticipantRemove), "leave":
			affected = removed
		case string(engine.ParticipantPromote):
			affected = promoted
		case string(engine.ParticipantDemote):
			affected = demoted
		}
		if len(affected) > 0 {
			c := *change
			c.Group, c.Participants = after.ID, affected
			return []engine.GroupChange{c}
		}
	}
	var out []engine.GroupChange
	for _, d := range []struct {
		action string
		users  []string
	}{{string(engine.ParticipantAdd), added}, {string(engine.ParticipantRemove), removed},
		{string(engine.ParticipantPromote), promoted}, {string(engine.ParticipantDemote), demoted}} {
		if len(d.users) > 0 {
			c := engine.GroupChange{Group: after.ID, Action: d.action, Participants: d.users}
			if change != nil {
				c.Actor, c.Time = change.Actor, change.Time
			}
			out = append(out, c)
		}
	}
	return out
}

// participantDiff compares the participants of two states of a group.
func participantDiff(before, after store.Group) (added, removed, promoted, demoted []string) {
	was := make(map[string]store.GroupParticipant, len(before.Participants))
	for _, p := range before.Participants {
		was[p.UserID] = p
	}
	for _, p := range after.Participants {
		old, ok := was[p.UserID]
		switch {
		case !ok:
			added = append(added, p.UserID)
		case !old.IsAdmin() && p.IsAdmin():
			promoted = append(promoted, p.UserID)
		case old.IsAdmin() && !p.IsAdmin():
			demoted = append(demoted, p.UserID)
		}
		delete(was, p.UserID)
	}
	for _, p := range before.Participants {
		if _, gone := was[p.UserID]; gone {
			removed = append(removed, p.UserID)
		}
	}
	return added, removed, promoted, demoted
}

// savedGroupHooks are the deliveries of a group saved whole: groups.post
// when the channel did not have it, the changes otherwise.
func (s *Service) savedGroupHooks(ctx context.Context, ch model.Channel, change *engine.GroupChange) func(before *store.Group, after store.Group) []model.WebhookDelivery {
	changed := s.groupHooks(ctx, ch, change)
	if changed == nil {
		return nil
	}
	return func(before *store.Group, after store.Group) []model.WebhookDelivery {
		if before != nil {
			return changed(*before, after)
		}
		return s.deliveries(ctx, ch, wire.TypeGroups, wire.MethodPost, after.ID, func() ([]byte, error) {
			return wire.GroupsEvent(ch.ID, []store.Group{after})
		})
	}
}

// groupLeftHooks are the groups.put deliveries of the account leaving or
// being removed from a group.
func (s *Service) groupLeftHooks(ctx context.Context, ch model.Channel, c engine.GroupChange) []model.WebhookDelivery {
	if len(c.Participants) == 0 {
		return nil
	}
	return s.deliveries(ctx, ch, wire.TypeGroups, wire.MethodPut, c.Group, func() ([]byte, error) {
		return wire.GroupsParticipantsEvent(ch.ID, []engine.GroupChange{c})
	})
}

// presenceHooks are the presences.post deliveries of a presence seen.
func (s *Service) presenceHooks(ctx context.Context, ch model.Channel, p store.Presence) []model.WebhookDelivery {
	return s.deliveries(ctx, ch, wire.TypePresences, wire.MethodPost, p.EntryID, func() ([]byte, error) {
		return wire.PresencesEvent(ch.ID, []store.Presence{p})
	})
}
