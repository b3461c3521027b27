package service

import (
	"context"
	"errors"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// App state: a chat archived, pinned, muted or marked unread on the phone
// (or another device of the account) changes the stored chat, with a
// "chats" patch webhook; the same changes made through the API go to
// WhatsApp first (engine.ChatOrganizer), so that the phone shows them.

// mutedForever is how a chat muted without an end is stored.
var mutedForever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// pushChatState sends a chat's change to the account's other devices when
// the channel's engine can; an engine that cannot keeps it to wagate.
func (s *Service) pushChatState(ctx context.Context, ch model.Channel, chatID string, p ChatPatch) error {
	sess, err := s.session(ch)
	if err != nil {
		return err
	}
	org, ok := sess.(engine.ChatOrganizer)
	if !ok {
		return nil
	}
	st := engine.ChatState{Archived: p.Archive, Pinned: p.Pin, Muted: p.Mute}
	if p.Mute != nil && *p.Mute && p.MuteUntil != nil {
		st.MuteUntil = *p.MuteUntil
	}
	if p.Read != nil {
		unread := !*p.Read
		st.Unread = &unread
	}
	if err := org.SetChatState(ctx, chatID, st); err != nil {
		return s.labelError(ch, err)
	}
	return nil
}

// ingestChatState applies a chat's change made on another device. A chat
// the channel does not have is left alone (it shows with its state once a
// message or a history sync brings it).
func (s *Service) ingestChatState(ctx context.Context, ch model.Channel, e engine.ChatStateChange) error {
	if e.Chat == "" || e.State.Empty() {
		return nil
	}
	st := e.State
	_, err := s.store.UpdateChat(ctx, ch.ID, e.Chat, func(c *model.Chat) error {
		if st.Archived != nil {
			c.Archived = *st.Archived
		}
		if st.Pinned != nil {
			c.Pinned = *st.Pinned
		}
		if st.Muted != nil {
			c.MuteUntil = time.Time{}
			if *st.Muted {
				c.MuteUntil = mutedForever
				if !st.MuteUntil.IsZero() {
					c.MuteUntil = st.MuteUntil.UTC()
				}
			}
		}
		if st.Unread != nil {
			if !*st.Unread {
				c.Unread = 0
			} else if c.Unread == 0 {
				c.Unread = 1
			}
		}
		return nil
	}, s.chatUpdateHooks(ctx, ch))
	if errors.Is(err, store.ErrChatNotFound) {
		return nil
	}
	s.wake()
	return err
}
