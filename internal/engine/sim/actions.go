package sim

import (
	"context"
	"fmt"
	"strings"

	"github.com/wagate/wagate/internal/engine"
)

// do runs fn for the session's account under the network's lock, when the
// session is linked (engine.ErrNotLinked) and connected
// (engine.ErrNotConnected).
func (s *session) do(ctx context.Context, fn func(a actor) error) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.net.mu.Lock()
	defer s.net.mu.Unlock()
	d, err := s.online()
	if err != nil {
		return err
	}
	return fn(actor{p: d.phone, dev: d})
}

// doGroup is do with a parsed group JID.
func (s *session) doGroup(ctx context.Context, group string, fn func(a actor, jid string) error) error {
	jid, err := parseGroup(group)
	if err != nil {
		return err
	}
	return s.do(ctx, func(a actor) error { return fn(a, jid) })
}

// doChat is do with the target of a chat (resolve).
func (s *session) doChat(ctx context.Context, chat string, fn func(a actor, t target) error) error {
	c, err := parseChat(chat)
	if err != nil {
		return err
	}
	return s.do(ctx, func(a actor) error {
		t, err := s.net.resolve(a, c)
		if err != nil {
			return err
		}
		return fn(a, t)
	})
}

// Send sends a message of any kind to a user (a user JID; digits and
// "+digits" work too) or a group the account is in. The recipients' phones
// and devices get it, the account's other devices get a FromMe copy, then
// all the account's devices (this one included) get a delivered Receipt
// (one per member for a group). Media bytes come from c.Media.Data, or from
// c.Media.Fetch when Data is empty; the network keeps its own copy and
// fills in Size, SHA256 and a default MimeType. With c.EditedID it edits
// the text of an own message of the chat instead (recipients get a
// KindEdit message); the SentMessage is then the edit's. Errors:
// ErrInvalidText, ErrInvalidContent, ErrTooLarge, engine.ErrInvalidPhone,
// ErrNotOnWhatsApp (also engine.ErrNotOnWhatsApp), ErrOwnNumber,
// engine.ErrGroupNotFound, engine.ErrNotAdmin (an announcement group), for
// edits ErrMessageNotFound (also engine.ErrMessageUnknown) and ErrTooLate,
// engine.ErrNotLinked, engine.ErrNotConnected.
func (s *session) Send(ctx context.Context, chat string, c engine.Content) (engine.SentMessage, error) {
	if err := ctxErr(ctx); err != nil {
		return engine.SentMessage{}, err
	}
	if m := c.Media; m != nil && len(m.Data) == 0 && m.Fetch != nil {
		data, err := m.Fetch(ctx)
		if err != nil {
			return engine.SentMessage{}, fmt.Errorf("sim: fetching the media to send: %w", err)
		}
		cp := *m
		cp.Data, cp.Fetch = data, nil
		c.Media = &cp
	}
	c, err := checkContent(c)
	if err != nil {
		return engine.SentMessage{}, err
	}
	if IsNewsletter(chat) { // a post (newsletters.go)
		var out engine.SentMessage
		err := s.do(ctx, func(a actor) (err error) { out, err = s.net.postNewsletter(a, strings.TrimSpace(chat), c); return err })
		return out, err
	}
	to, err := parseChat(chat)
	if err != nil {
		return engine.SentMessage{}, err
	}
	var out engine.SentMessage
	err = s.do(ctx, func(a actor) error {
		if t, err := s.net.resolve(a, to); err == nil && c.EditedID == "" {
			if err := s.net.reachoutFault(s, a.p, t); err != nil {
				return err
			}
		}
		r, err := s.net.send(a, to, c)
		if err == nil {
			out = engine.SentMessage{ID: r.id, Chat: r.chat, Time: r.time, Payload: payloadOf(r.id)}
		}
		return err
	})
	return out, err
}

// SendText sends a text: Send with engine.KindText.
func (s *session) SendText(ctx context.Context, to, text string) (engine.SentMessage, error) {
	return s.Send(ctx, to, engine.Content{Kind: engine.KindText, Text: text})
}

// React sets (emoji) or removes ("") the account's reaction to a message
// of a chat, one it sent or received; sender, when given, must be its
// author. The chat's members get a KindReaction message; the phones show
// the reaction on the message. Errors: ErrMessageNotFound (also
// engine.ErrMessageUnknown), ErrInvalidContent (not an emoji),
// engine.ErrGroupNotFound, engine.ErrNotLinked, engine.ErrNotConnected.
func (s *session) React(ctx context.Context, chat, sender, id, emoji string) error {
	return s.doChat(ctx, chat, func(a actor, t target) error { return s.net.react(a, t, sender, id, emoji) })
}

// Revoke deletes a message of a chat for everyone: an own message, or as a
// group admin any message of the group, within RevokeWindow. The chat's
// members get a KindRevoke message; the phones drop the content. Errors:
// ErrMessageNotFound (also engine.ErrMessageUnknown; another's message in
// a 1:1 chat too), engine.ErrNotAdmin, ErrTooLate, engine.ErrGroupNotFound,
// engine.ErrNotLinked, engine.ErrNotConnected.
func (s *session) Revoke(ctx context.Context, chat, sender, id string) error {
	return s.doChat(ctx, chat, func(a actor, t target) error { return s.net.revokeMsg(a, t, sender, id) })
}

// CheckNumbers says which numbers have a phone on the network. Inputs
// that are not numbers (digits, "+digits" or user JIDs) do not exist.
func (s *session) CheckNumbers(ctx context.Context, phones []string) ([]engine.NumberCheck, error) {
	out := make([]engine.NumberCheck, len(phones))
	err := s.do(ctx, func(actor) error {
		for i, in := range phones {
			out[i].Input = in
			if num, err := parseRecipient(in); err == nil && s.net.phones[num] != nil {
				out[i].JID, out[i].Exists = JID(num), true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UserProfile reads the name and about text of an account. Errors:
// engine.ErrInvalidPhone, ErrNotOnWhatsApp (also engine.ErrNotOnWhatsApp).
func (s *session) UserProfile(ctx context.Context, user string) (engine.Profile, error) {
	num, err := parseRecipient(user)
	if err != nil {
		return engine.Profile{}, err
	}
	var out engine.Profile
	err = s.do(ctx, func(actor) error {
		p := s.net.phones[num]
		if p == nil {
			return fmt.Errorf("%w: %s", ErrNotOnWhatsApp, num)
		}
		out = engine.Profile{Name: p.name, About: p.about}
		return nil
	})
	return out, err
}

// SetPresence makes the account available (online) or unavailable
// (offline, last seen now). Sessions subscribed to it get a Presence when
// that changes it.
func (s *session) SetPresence(ctx context.Context, online bool) error {
	return s.do(ctx, func(a actor) error {
		s.net.setAvailable(a.p, online)
		return nil
	})
}

// SendChatPresence shows typing, recording or paused in a chat: the
// connected devices of the chat's other members get a Presence (Chat: the
// account for a 1:1 chat, the group for a group). Errors:
// ErrInvalidContent (another state), engine.ErrInvalidPhone,
// ErrNotOnWhatsApp, ErrOwnNumber, engine.ErrGroupNotFound,
// engine.ErrNotLinked, engine.ErrNotConnected.
func (s *session) SendChatPresence(ctx context.Context, chat string, state engine.PresenceState) error {
	if err := checkChatState(state); err != nil {
		return err
	}
	return s.doChat(ctx, chat, func(a actor, t target) error {
		s.net.chatPresence(a, t, state)
		return nil
	})
}

// SubscribePresence subscribes this session to a user's presence: it gets
// the current one at once, then every change, while its connection lasts.
// Errors: engine.ErrInvalidPhone, ErrNotOnWhatsApp, engine.ErrNotLinked,
// engine.ErrNotConnected.
func (s *session) SubscribePresence(ctx context.Context, user string) error {
	num, err := parseRecipient(user)
	if err != nil {
		return err
	}
	return s.do(ctx, func(actor) error {
		p := s.net.phones[num]
		if p == nil {
			return fmt.Errorf("%w: %s", ErrNotOnWhatsApp, num)
		}
		s.net.subscribe(s, p)
		return nil
	})
}

// subSet is a set of sessions subscribed to an account's presence.
type subSet map[*session]struct{}

// subscribe adds a presence subscription of s to p and gives s p's
// current presence.
func (n *Network) subscribe(s *session, p *phone) {
	set := n.subs[p.number]
	if set == nil {
		set = subSet{}
		n.subs[p.number] = set
	}
	set[s] = struct{}{}
	if s.subs == nil {
		s.subs = map[string]struct{}{}
	}
	s.subs[p.number] = struct{}{}
	s.emit(presenceOf(p))
}

// unsubscribeAll drops the presence subscriptions of s (its connection
// ended, or a new one starts).
func (n *Network) unsubscribeAll(s *session) {
	for num := range s.subs {
		if set := n.subs[num]; set != nil {
			delete(set, s)
			if len(set) == 0 {
				delete(n.subs, num)
			}
		}
	}
	s.subs = nil
}

// presenceOf is an account's presence.
func presenceOf(p *phone) engine.Presence {
	jid := JID(p.number)
	if p.available {
		return engine.Presence{Chat: jid, User: jid, State: engine.PresenceOnline}
	}
	return engine.Presence{Chat: jid, User: jid, State: engine.PresenceOffline, LastSeen: p.lastSeen}
}

// setAvailable changes an account's presence; its connected subscribers
// get it when it changed.
func (n *Network) setAvailable(p *phone, online bool) {
	if p.available == online {
		return
	}
	p.available = online
	if !online {
		p.lastSeen = n.opts.Now()
	}
	ev := presenceOf(p)
	for s := range n.subs[p.number] {
		if s.connected && !s.closed {
			s.emit(ev)
		}
	}
}

// chatPresence gives a chat state to the connected devices of the chat's
// other members.
func (n *Network) chatPresence(a actor, t target, state engine.PresenceState) {
	ev := engine.Presence{Chat: a.jid(), User: a.jid(), State: state}
	if t.group != nil {
		ev.Chat = t.group.jid
	}
	for _, r := range n.recipients(a.p, t) {
		for _, d := range r.devices {
			if d.conn != nil {
				d.conn.emit(ev)
			}
		}
	}
}

func checkChatState(state engine.PresenceState) error {
	switch state {
	case engine.PresenceTyping, engine.PresenceRecording, engine.PresencePaused:
		return nil
	}
	return fmt.Errorf("%w: chat presence %q; want typing, recording or paused", ErrInvalidContent, state)
}

// SetPresence makes a phone's account available (online) or unavailable,
// like Session.SetPresence. Error: ErrPhoneNotFound.
func (n *Network) SetPresence(number string, online bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return err
	}
	n.setAvailable(p, online)
	return nil
}

// SendChatPresence shows typing, recording or paused from a phone in a chat
// (a number, a user JID or a group JID), like Session.SendChatPresence.
// Errors: ErrPhoneNotFound and those of Session.SendChatPresence.
func (n *Network) SendChatPresence(number, chat string, state engine.PresenceState) error {
	if err := checkChatState(state); err != nil {
		return err
	}
	c, err := parseChat(chat)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return err
	}
	a := actor{p: p}
	t, err := n.resolve(a, c)
	if err != nil {
		return err
	}
	n.chatPresence(a, t, state)
	return nil
}
