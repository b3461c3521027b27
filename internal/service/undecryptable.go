package service

import (
	"context"
	"errors"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// Messages WhatsApp delivered that could not be decrypted are never dropped:
// each is stored as a placeholder (type "system", subtype "ciphertext", as
// WhatsApp's own apps show "Waiting for this message"), reported with
// messages.post and counted on the channel. The engine has asked the sender
// to send it again; when the message then arrives, the placeholder takes its
// content and messages.patch reports the change.

// SubtypeCiphertext marks the placeholder of a message that could not be
// decrypted yet.
const SubtypeCiphertext = "ciphertext"

// ciphertextBody is the placeholder's text.
const ciphertextBody = "Waiting for this message. WhatsApp asked the sender's phone to send it again."

func (s *Service) ingestUndecryptable(ctx context.Context, ch model.Channel, e engine.Undecryptable) error {
	status := model.MessageDelivered
	if e.FromMe {
		status = model.MessageSent
	}
	c := engine.Content{Kind: engine.KindSystem, Text: ciphertextBody}
	m := s.newMessage(ch, e.ID, e.Chat, e.FromMe, e.Sender, e.PushName, "mobile", status, c, nil, e.Time)
	m.Subtype = SubtypeCiphertext
	info := "decryption failed"
	if e.Unavailable {
		info = "unavailable to this device"
	}
	inserted, err := s.insertMessage(ctx, store.NewMessage{Message: m, Hooks: hooks1(s.newMessageHooks(ctx, ch, m))})
	if err != nil || !inserted {
		return err // a second copy of the same failure counts once
	}
	s.wake()
	if err := s.store.BumpChannelCounter(ctx, ch.ID, store.CounterUndecryptable, info, s.now()); err != nil {
		s.log.WarnContext(ctx, "could not count an undecryptable message", "channel_id", ch.ID, "error", err)
	}
	s.log.WarnContext(ctx, "a message could not be decrypted; the sender was asked to send it again",
		"channel_id", ch.ID, "message_id", e.ID, "unavailable", e.Unavailable)
	return nil
}

// resolveCiphertext gives a stored placeholder the content of the message
// it stood for, m, which has just arrived again decrypted. Anything else
// stored under m's ID stays as it is (a duplicate delivery): resolved is
// false then.
func (s *Service) resolveCiphertext(ctx context.Context, ch model.Channel, m model.Message) (resolved bool, err error) {
	_, err = s.store.UpdateMessage(ctx, ch.ID, m.ID, func(old *model.Message) error {
		if old.Subtype != SubtypeCiphertext {
			return errNoChange
		}
		old.Type, old.Subtype, old.Body, old.Content, old.Context = m.Type, "", m.Body, m.Content, m.Context
		if old.Sender == "" {
			old.Sender = m.Sender
		}
		if old.FromName == "" {
			old.FromName = m.FromName
		}
		return nil
	}, s.updateHooks(ctx, ch))
	if errors.Is(err, errNoChange) {
		return false, nil
	}
	return err == nil, err
}

// errNoChange aborts an UpdateMessage that has nothing to change.
var errNoChange = errors.New("no change")
