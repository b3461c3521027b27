package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/wire"
)

// MessageFilter selects messages to list.
type MessageFilter struct {
	Page
	ChatID   string // "" all chats (given as the client wrote it)
	FromMe   *bool
	TimeFrom *time.Time
	TimeTo   *time.Time
	// Ascending lists oldest first (sort=asc); newest first by default.
	Ascending bool
}

// Messages lists a channel's stored messages.
func (s *Service) Messages(ctx context.Context, ch model.Channel, f MessageFilter) ([]model.Message, int, error) {
	q := store.MessageQuery{FromMe: f.FromMe, From: f.TimeFrom, To: f.TimeTo, Count: f.Count, Offset: f.Offset, Ascending: f.Ascending}
	if f.ChatID != "" {
		chat, err := ChatID("ChatID", f.ChatID)
		if err != nil {
			return nil, 0, fmt.Errorf("chat %q %w", f.ChatID, model.ErrNotFound)
		}
		q.ChatID = chat
		if _, err := s.store.Chat(ctx, ch.ID, chat); err != nil { // an unknown chat is 404, as Whapi documents
			return nil, 0, err
		}
	}
	if f.TimeFrom != nil && f.TimeTo != nil && f.TimeTo.Before(*f.TimeFrom) {
		return nil, 0, invalid("time_to", "must not be before time_from")
	}
	return s.store.Messages(ctx, ch.ID, q)
}

// Message reads one stored message.
func (s *Service) Message(ctx context.Context, ch model.Channel, id string) (model.Message, error) {
	if err := CheckMessageID(id); err != nil {
		return model.Message{}, err
	}
	return s.store.Message(ctx, ch.ID, id)
}

// ForwardMessage sends a stored message again, to another chat.
func (s *Service) ForwardMessage(ctx context.Context, ch model.Channel, id, to string) (model.Message, error) {
	m, err := s.Message(ctx, ch, id)
	if err != nil {
		return m, err
	}
	if m.Status == model.MessageDeleted {
		return model.Message{}, fmt.Errorf("message %s was deleted: %w", id, model.ErrConflict)
	}
	var obj map[string]any
	_ = json.Unmarshal(m.Content, &obj)
	str := func(k string) string { v, _ := obj[k].(string); return v }
	r := SendRequest{Kind: m.Type, To: to, Body: str("body"), Caption: str("caption"), Name: str("name"),
		Address: str("address"), URL: str("url"), VCard: str("vcard"), Title: str("title"), Description: str("description")}
	switch m.Type {
	case engine.KindLocation:
		lat, _ := obj["latitude"].(float64)
		lon, _ := obj["longitude"].(float64)
		r.Latitude, r.Longitude = &lat, &lon
	case engine.KindPoll:
		if opts, ok := obj["options"].([]any); ok {
			for _, o := range opts {
				if s, ok := o.(string); ok {
					r.Options = append(r.Options, s)
				}
			}
		}
	case engine.KindLinkPreview:
		r.Canonical = str("url")
	}
	if engine.IsMedia(m.Type) {
		if str("id") == "" {
			return model.Message{}, fmt.Errorf("the file of message %s was not downloaded; it cannot be forwarded: %w", id, model.ErrConflict)
		}
		r.Media = str("id")
	}
	if _, _, err := checkSend(r); err != nil {
		if fe := (*FieldError)(nil); errors.As(err, &fe) && fe.Field != "to" {
			return model.Message{}, fmt.Errorf("message %s cannot be forwarded (%v): %w", id, err, model.ErrConflict)
		}
		return model.Message{}, err
	}
	return s.Send(ctx, ch, r)
}

// MarkMessageRead marks a received message (and its chat) read, sending a
// read receipt.
func (s *Service) MarkMessageRead(ctx context.Context, ch model.Channel, id string) error {
	m, err := s.Message(ctx, ch, id)
	if err != nil {
		return err
	}
	if m.FromMe {
		return invalid("MessageID", "message %s is the channel's own; only received messages are marked read", id)
	}
	sess, err := s.session(ch)
	if err != nil {
		return err
	}
	sender := ""
	if IsGroup(m.ChatID) {
		sender = m.Sender
	}
	if err := sess.MarkRead(ctx, m.ChatID, sender, []string{m.ID}); err != nil {
		return s.actionError(ch, err)
	}
	if _, err := s.store.UpdateMessage(ctx, ch.ID, id, func(m *model.Message) error {
		if model.MessageStatusRank(m.Status) < model.MessageStatusRank(model.MessageRead) {
			m.Status = model.MessageRead
		}
		return nil
	}); err != nil {
		return err
	}
	_, err = s.store.UpdateChat(ctx, ch.ID, m.ChatID, func(c *model.Chat) error { c.Unread = 0; return nil }, s.chatUpdateHooks(ctx, ch))
	s.wake()
	return ignoreNotFound(err)
}

// DeleteMessage deletes a message for everyone (own messages, or any in a
// group the channel administers).
func (s *Service) DeleteMessage(ctx context.Context, ch model.Channel, id string) error {
	m, err := s.Message(ctx, ch, id)
	if err != nil {
		return err
	}
	if m.Status == model.MessageDeleted {
		return fmt.Errorf("message %s is already deleted: %w", id, model.ErrConflict)
	}
	if !m.FromMe && !IsGroup(m.ChatID) {
		return fmt.Errorf("only the channel's own messages can be deleted for everyone: %w", model.ErrForbidden)
	}
	sess, err := s.session(ch)
	if err != nil {
		return err
	}
	sender := ""
	if !m.FromMe {
		sender = m.Sender
	}
	if err := sess.Revoke(ctx, m.ChatID, sender, m.ID); err != nil {
		return s.actionError(ch, err)
	}
	_, err = s.store.UpdateMessage(ctx, ch.ID, id, func(m *model.Message) error {
		m.Status, m.Body, m.Content = model.MessageDeleted, "", mustJSON(kindObject{})
		return nil
	}, s.updateHooks(ctx, ch))
	s.wake()
	return err
}

// ReactToMessage sets (emoji) or removes ("") the channel's reaction.
func (s *Service) ReactToMessage(ctx context.Context, ch model.Channel, id, emoji string) error {
	if emoji != "" && (len([]rune(emoji)) > 10 || !isEmojiLike(emoji)) {
		return invalid("emoji", "must be one emoji")
	}
	m, err := s.Message(ctx, ch, id)
	if err != nil {
		return err
	}
	if m.Status == model.MessageDeleted {
		return fmt.Errorf("message %s was deleted: %w", id, model.ErrConflict)
	}
	self := s.selfJID(ch)
	if emoji == "" {
		found := false
		for _, r := range m.Reactions {
			found = found || r.From == self
		}
		if !found {
			return fmt.Errorf("the channel has no reaction on message %s: %w", id, model.ErrNotFound)
		}
	}
	sess, err := s.session(ch)
	if err != nil {
		return err
	}
	sender := ""
	if !m.FromMe {
		sender = m.Sender
	}
	if err := sess.React(ctx, m.ChatID, sender, m.ID, emoji); err != nil {
		return s.actionError(ch, err)
	}
	_, err = s.store.UpdateMessage(ctx, ch.ID, id, func(m *model.Message) error {
		m.Reactions = setReaction(m.Reactions, self, emoji, s.now())
		return nil
	}, s.updateHooks(ctx, ch))
	s.wake()
	return err
}

// isEmojiLike refuses letters, digits and spaces; emoji sequences pass.
func isEmojiLike(s string) bool {
	for _, r := range s {
		if r < 0x2000 && r != 0x00a9 && r != 0x00ae {
			return false
		}
	}
	return true
}

// StarMessage stars or unstars a stored message.
func (s *Service) StarMessage(ctx context.Context, ch model.Channel, id string, star bool) error {
	if err := CheckMessageID(id); err != nil {
		return err
	}
	_, err := s.store.UpdateMessage(ctx, ch.ID, id, func(m *model.Message) error { m.Starred = star; return nil })
	return err
}

// --- chats

// Chats lists a channel's chats.
func (s *Service) Chats(ctx context.Context, ch model.Channel, p Page) ([]model.Chat, int, error) {
	return s.store.Chats(ctx, ch.ID, p.Count, p.Offset)
}

// Chat reads one chat, with its last message when there is one.
func (s *Service) Chat(ctx context.Context, ch model.Channel, raw string) (model.Chat, *model.Message, error) {
	id, err := ChatID("ChatID", raw)
	if err != nil {
		return model.Chat{}, nil, fmt.Errorf("chat %q %w", raw, model.ErrNotFound)
	}
	c, err := s.store.Chat(ctx, ch.ID, id)
	if err != nil {
		return c, nil, err
	}
	return c, s.lastMessage(ctx, c), nil
}

// LastMessage is a chat's last message, nil when it has none.
func (s *Service) lastMessage(ctx context.Context, c model.Chat) *model.Message {
	if c.LastMessageID == "" {
		return nil
	}
	m, err := s.store.Message(ctx, c.ChannelID, c.LastMessageID)
	if err != nil {
		return nil
	}
	return &m
}

// ChatLastMessages reads the last message of each chat (keyed by chat ID).
func (s *Service) ChatLastMessages(ctx context.Context, chats []model.Chat) map[string]model.Message {
	out := map[string]model.Message{}
	for _, c := range chats {
		if m := s.lastMessage(ctx, c); m != nil {
			out[c.ID] = *m
		}
	}
	return out
}

// DeleteChat forgets a chat and its stored messages.
func (s *Service) DeleteChat(ctx context.Context, ch model.Channel, raw string) error {
	id, err := ChatID("ChatID", raw)
	if err != nil {
		return fmt.Errorf("chat %q %w", raw, model.ErrNotFound)
	}
	ds := s.deliveries(ctx, ch, wire.TypeChats, wire.MethodDelete, id, func() ([]byte, error) {
		return wire.ChatsRemovedEvent(ch.ID, []string{id})
	})
	if err := s.store.DeleteChat(ctx, ch.ID, id, ds...); err != nil {
		return err
	}
	s.wake()
	return nil
}

// ChatPatch changes a chat; nil fields stay.
type ChatPatch struct {
	Archive *bool
	Pin     *bool
	Read    *bool
	// Mute silences the chat until MuteUntil; Mute false unmutes.
	Mute      *bool
	MuteUntil *time.Time
}

// UpdateChat archives, pins, mutes or marks a chat read (or unread).
func (s *Service) UpdateChat(ctx context.Context, ch model.Channel, raw string, p ChatPatch) (model.Chat, error) {
	id, err := ChatID("ChatID", raw)
	if err != nil {
		return model.Chat{}, fmt.Errorf("chat %q %w", raw, model.ErrNotFound)
	}
	if p.Archive == nil && p.Pin == nil && p.Read == nil && p.Mute == nil {
		return model.Chat{}, invalid("body", "give at least one of archive, pin, mute_until, mark_unread")
	}
	if p.MuteUntil != nil && !p.MuteUntil.After(s.now()) {
		return model.Chat{}, invalid("mute_until", "must be in the future")
	}
	c, err := s.store.Chat(ctx, ch.ID, id)
	if err != nil {
		return c, err
	}
	// WhatsApp first (appstate.go): the phone shows what the API did.
	if err := s.pushChatState(ctx, ch, id, p); err != nil {
		return c, err
	}
	if p.Read != nil && *p.Read && c.Unread > 0 {
		if last := s.lastMessage(ctx, c); last != nil && !last.FromMe {
			if err := s.MarkMessageRead(ctx, ch, last.ID); err != nil {
				return c, err
			}
		}
	}
	updated, err := s.store.UpdateChat(ctx, ch.ID, id, func(c *model.Chat) error {
		if p.Archive != nil {
			c.Archived = *p.Archive
		}
		if p.Pin != nil {
			c.Pinned = *p.Pin
		}
		if p.Read != nil {
			if *p.Read {
				c.Unread = 0
			} else if c.Unread == 0 {
				c.Unread = 1
			}
		}
		if p.Mute != nil {
			c.MuteUntil = time.Time{}
			if *p.Mute {
				c.MuteUntil = mutedForever
				if p.MuteUntil != nil {
					c.MuteUntil = *p.MuteUntil
				}
			}
		}
		return nil
	}, s.chatUpdateHooks(ctx, ch))
	s.wake()
	return updated, err
}
