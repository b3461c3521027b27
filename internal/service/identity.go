package service

import (
	"context"
	"errors"
	"strings"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/wire"
)

// One identity per person. WhatsApp addresses a user by phone number or
// by LID ("<digits>@lid"); the engines report the phone-number form when
// they know it, and the pairs they learn (LIDMappings). The channel keeps
// the pairs: an address that still arrives as a LID it knows is given its
// number here, a chat kept under a LID is merged into the number's chat
// once the pair is learned, and chats and contacts show the LID beside the
// number (field lid). A chat kept under a LID until its number is learned
// is then reported gone (chats.delete) and its messages are found in the
// number's chat (chats.post when that is new).

// lidUser reports whether addr is a well-formed user LID.
func lidUser(addr string) bool {
	user, ok := strings.CutSuffix(addr, "@lid")
	return ok && user != "" && strings.Trim(user, "0123456789") == ""
}

// pnUser reports whether addr is a well-formed phone-number JID.
func pnUser(addr string) bool {
	user, ok := strings.CutSuffix(addr, "@"+UserServer)
	return ok && user != "" && strings.Trim(user, "0123456789") == ""
}

// ingestLIDs keeps the pairs an engine learned and merges what the channel
// kept under each newly learned LID into the number's chat. Malformed
// pairs are skipped (logged), never an error: the addresses stay as they
// came.
func (s *Service) ingestLIDs(ctx context.Context, ch model.Channel, e engine.LIDMappings) error {
	pairs := make([]store.LIDPair, 0, len(e.Pairs))
	for _, p := range e.Pairs {
		if !lidUser(p.LID) || !pnUser(p.PN) {
			s.log.WarnContext(ctx, "malformed LID pair ignored", "channel_id", ch.ID, "lid", p.LID, "pn", p.PN)
			continue
		}
		pairs = append(pairs, store.LIDPair{LID: p.LID, PN: p.PN})
	}
	return s.putLIDs(ctx, ch, pairs)
}

// putLIDs stores pairs and merges chats of the new ones.
func (s *Service) putLIDs(ctx context.Context, ch model.Channel, pairs []store.LIDPair) error {
	fresh, err := s.store.PutLIDs(ctx, ch.ID, pairs, s.now())
	if err != nil {
		return err
	}
	for _, p := range fresh {
		if err := s.mergeLIDChat(ctx, ch, p); err != nil {
			return err
		}
	}
	return nil
}

// mergeLIDChat merges what the channel kept under a LID into the number's
// chat. A chat under the LID is reported gone (chats.delete), and the
// number's chat, when the merge made it, new (chats.post).
func (s *Service) mergeLIDChat(ctx context.Context, ch model.Channel, p store.LIDPair) error {
	_, err := s.store.Chat(ctx, ch.ID, p.LID)
	hadLID := err == nil
	if err != nil && !errors.Is(err, store.ErrChatNotFound) {
		return err
	}
	_, err = s.store.Chat(ctx, ch.ID, p.PN)
	hadPN := err == nil
	if err != nil && !errors.Is(err, store.ErrChatNotFound) {
		return err
	}
	merged, err := s.store.MergeChat(ctx, ch.ID, p.LID, p.PN)
	if err != nil || !merged {
		return err
	}
	s.log.InfoContext(ctx, "what was kept under a LID was merged into the number's chat", "channel_id", ch.ID, "lid", p.LID, "chat_id", p.PN)
	if !hadLID {
		return nil
	}
	var ds []model.WebhookDelivery
	if !hadPN {
		if c, err := s.store.Chat(ctx, ch.ID, p.PN); err == nil {
			if h := s.chatCreatedHooks(ctx, ch, nil); h != nil {
				ds = append(ds, h(c)...)
			}
		}
	}
	ds = append(ds, s.deliveries(ctx, ch, wire.TypeChats, wire.MethodDelete, p.LID, func() ([]byte, error) {
		return wire.ChatsRemovedEvent(ch.ID, []string{p.LID})
	})...)
	s.enqueue(ctx, ds)
	return nil
}

// phoneOf is a user address in its phone-number form when the channel
// knows the LID's number; anything else is returned as it is.
func (s *Service) phoneOf(ctx context.Context, ch model.Channel, addr string) (string, error) {
	if !lidUser(addr) {
		return addr, nil
	}
	pn, err := s.store.PNOfLID(ctx, ch.ID, addr)
	if err != nil || pn == "" {
		return addr, err
	}
	return pn, nil
}

// phones puts the LIDs of an incoming event's addresses in their
// phone-number form where the channel knows them.
func (s *Service) phones(ctx context.Context, ch model.Channel, ev engine.Event) (engine.Event, error) {
	var err error
	fix := func(addr *string) {
		if err == nil && lidUser(*addr) {
			*addr, err = s.phoneOf(ctx, ch, *addr)
		}
	}
	switch e := ev.(type) {
	case engine.Message:
		fix(&e.Chat)
		fix(&e.Sender)
		return e, err
	case engine.Undecryptable:
		fix(&e.Chat)
		fix(&e.Sender)
		return e, err
	case engine.Receipt:
		fix(&e.Chat)
		fix(&e.Sender)
		return e, err
	case engine.Presence:
		fix(&e.Chat)
		fix(&e.User)
		return e, err
	case engine.Call:
		fix(&e.Chat)
		fix(&e.From)
		return e, err
	case engine.GroupChange:
		fix(&e.Actor)
		if len(e.Participants) > 0 {
			e.Participants = append([]string(nil), e.Participants...)
			for i := range e.Participants {
				fix(&e.Participants[i])
			}
		}
		return e, err
	}
	return ev, nil
}
