package service

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// MaxPresenceDelay bounds how long a typing or recording presence is shown
// before it is paused (seconds), within one request.
const MaxPresenceDelay = 30

// SetOwnPresence makes the channel's account available ("online") or
// unavailable ("offline").
func (s *Service) SetOwnPresence(ctx context.Context, ch model.Channel, presence string) error {
	var online bool
	switch presence {
	case "online":
		online = true
	case "offline":
	case "":
		return invalid("presence", "is required: online or offline")
	default:
		return invalid("presence", "must be online or offline, not %q", presence)
	}
	sess, err := s.session(ch)
	if err != nil {
		return err
	}
	return s.actionError(ch, sess.SetPresence(ctx, online))
}

// announcePresenceTimeout bounds announcePresence.
const announcePresenceTimeout = 15 * time.Second

// announcePresence shows a channel's account available when it comes
// online, or unavailable with the offline_mode setting (Whapi's: the phone
// then keeps getting notifications), as mature whatsmeow users do on
// connect: WhatsApp then has the account's name for its messages. The
// engine sends it again on later connections and once the name is known.
func (s *Service) announcePresence(channelID string) {
	ctx, cancel := context.WithTimeout(context.Background(), announcePresenceTimeout)
	defer cancel()
	ch, err := s.channelByID(ctx, channelID)
	if err != nil {
		return
	}
	settings, err := s.ChannelSettings(ctx, ch)
	if err != nil {
		return
	}
	sess, err := s.session(ch)
	if err != nil {
		return
	}
	if err := sess.SetPresence(ctx, !settings.OfflineMode); err != nil {
		s.log.DebugContext(ctx, "presence on connect not sent yet", "channel_id", ch.ID, "error", err)
	}
}

// SendChatPresence shows typing, recording or paused ("pause") in a chat
// (a phone number, user JID or group JID). With a delay (seconds, up to
// MaxPresenceDelay) typing or recording shows that long and is then
// paused: the call returns after the delay.
func (s *Service) SendChatPresence(ctx context.Context, ch model.Channel, rawEntry, presence string, delay float64) error {
	chat, err := ChatID("EntryID", rawEntry)
	if err != nil {
		return err
	}
	var state engine.PresenceState
	switch presence {
	case "typing":
		state = engine.PresenceTyping
	case "recording":
		state = engine.PresenceRecording
	case "pause", "paused":
		state = engine.PresencePaused
	case "":
		return invalid("presence", "is required: typing, recording or pause")
	default:
		return invalid("presence", "must be typing, recording or pause, not %q", presence)
	}
	if math.IsNaN(delay) || delay < 0 || delay > MaxPresenceDelay {
		return invalid("delay", "must be from 0 to %d seconds", MaxPresenceDelay)
	}
	sess, err := s.session(ch)
	if err != nil {
		return err
	}
	if err := sess.SendChatPresence(ctx, chat, state); err != nil {
		return s.actionError(ch, err)
	}
	if delay == 0 || state == engine.PresencePaused {
		return nil
	}
	t := time.NewTimer(time.Duration(delay * float64(time.Second)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("the request ended before the delay did (%v): %w", ctx.Err(), model.ErrUnavailable)
	case <-t.C:
	}
	return s.actionError(ch, sess.SendChatPresence(ctx, chat, engine.PresencePaused))
}

// SubscribePresence asks WhatsApp for a user's presence updates (a phone
// number or user JID). Until one arrives, the user's presence is "pending".
func (s *Service) SubscribePresence(ctx context.Context, ch model.Channel, rawEntry string) error {
	user, err := ChatID("EntryID", rawEntry)
	if err != nil {
		return err
	}
	if IsGroup(user) {
		return invalid("EntryID", "%q is a group: presences are subscribed per user (typing in a group arrives without one)", rawEntry)
	}
	sess, err := s.session(ch)
	if err != nil {
		return err
	}
	if err := sess.SubscribePresence(ctx, user); err != nil {
		return s.actionError(ch, err)
	}
	return s.store.SetPresence(ctx, store.Presence{
		ChannelID: ch.ID, EntryID: user, UserID: user, Status: store.PresencePending, UpdatedAt: s.now(),
	})
}

// Presence returns the last presence the channel saw of a user or a group
// (who typed or recorded in it last).
func (s *Service) Presence(ctx context.Context, ch model.Channel, rawEntry string) (store.Presence, error) {
	entry, err := ChatID("EntryID", rawEntry)
	if err != nil {
		return store.Presence{}, err
	}
	p, err := s.store.Presence(ctx, ch.ID, entry)
	if errors.Is(err, store.ErrPresenceNotFound) {
		how := "subscribe to it with POST /presences/{EntryID}"
		if IsGroup(entry) {
			how = "nobody typed in it yet"
		}
		return p, fmt.Errorf("no presence of %s known: %s: %w", rawEntry, how, model.ErrNotFound)
	}
	return p, err
}

// ingestPresence stores a presence WhatsApp reported: a user's (online,
// offline with when last seen), or typing and recording in a chat.
func (s *Service) ingestPresence(ctx context.Context, ch model.Channel, e engine.Presence) error {
	defer s.wake() // webhook deliveries of the presence
	user, entry := e.User, e.Chat
	if entry == "" {
		entry = user
	}
	if user == "" {
		user = entry
	}
	if entry == "" {
		return nil
	}
	now := s.now()
	p := store.Presence{ChannelID: ch.ID, EntryID: entry, UserID: user, UpdatedAt: now}
	switch e.State {
	case engine.PresenceOnline, engine.PresencePaused:
		// Paused: stopped typing, still there.
		p.Status, p.LastSeen = store.PresenceOnline, now
	case engine.PresenceOffline:
		p.Status, p.LastSeen = store.PresenceOffline, e.LastSeen
	case engine.PresenceTyping:
		p.Status, p.LastSeen = store.PresenceTyping, now
	case engine.PresenceRecording:
		p.Status, p.LastSeen = store.PresenceRecording, now
	default:
		return nil
	}
	if err := s.store.SetPresence(ctx, p, s.presenceHooks(ctx, ch, p)...); err != nil {
		return err
	}
	if PhoneOf(user) == "" || user == ch.WAPhone+"@"+UserServer {
		return nil
	}
	return s.saveContacts(ctx, ch, []store.Contact{{ChannelID: ch.ID, ID: user, UpdatedAt: now}})
}
