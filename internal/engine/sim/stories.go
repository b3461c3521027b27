package sim

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/wagate/wagate/internal/engine"
)

// Stories (status updates) travel like group messages to status@broadcast:
// the author's audience gets them in its inboxes and on its devices
// (engine.Message with Chat status@broadcast, Sender the author), the
// author's other devices get a FromMe copy, and the author's devices get a
// delivered Receipt per viewer, then read Receipts as viewers read them.

var _ engine.Storyteller = (*session)(nil)

// storyKinds are the kinds a story may be.
var storyKinds = []string{engine.KindText, engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindAudio, engine.KindVoice}

// PostStory posts a story from the session's account. Without an
// audience it goes to the account's contacts: every account it exchanged
// a message with or shares a group with. Errors: ErrInvalidContent (a kind
// stories cannot be), ErrNotOnWhatsApp (an audience number without a
// phone), engine.ErrNotLinked, engine.ErrNotConnected.
func (s *session) PostStory(ctx context.Context, p engine.StoryPost) (engine.SentMessage, error) {
	if m := p.Content.Media; m != nil && len(m.Data) == 0 && m.Fetch != nil {
		data, err := m.Fetch(ctx)
		if err != nil {
			return engine.SentMessage{}, fmt.Errorf("sim: fetching the media to post: %w", err)
		}
		cp := *m
		cp.Data, cp.Fetch = data, nil
		p.Content.Media = &cp
	}
	var out engine.SentMessage
	err := s.do(ctx, func(a actor) error {
		m, err := s.net.postStory(a, p)
		if err == nil {
			out = engine.SentMessage{ID: m.id, Chat: engine.StatusBroadcast, Time: m.time, Payload: payloadOf(m.id)}
		}
		return err
	})
	return out, err
}

// PostStory posts a story from a phone (audience: user JIDs or numbers;
// empty: its contacts). Errors: ErrPhoneNotFound and PostStory's.
func (n *Network) PostStory(number string, c engine.Content, audience []string) (PhoneMessage, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return PhoneMessage{}, err
	}
	m, err := n.postStory(actor{p: p}, engine.StoryPost{Content: c, Audience: audience})
	if err != nil {
		return PhoneMessage{}, err
	}
	return m.view(p.number), nil
}

func (n *Network) postStory(a actor, p engine.StoryPost) (*msg, error) {
	if !slices.Contains(storyKinds, p.Content.Kind) {
		return nil, fmt.Errorf("%w: a story is text, image, video, gif, audio or voice, not %q", ErrInvalidContent, p.Content.Kind)
	}
	if p.Content.QuotedID != "" || p.Content.EditedID != "" {
		return nil, fmt.Errorf("%w: a story quotes and edits nothing", ErrInvalidContent)
	}
	c, err := checkContent(p.Content)
	if err != nil {
		return nil, err
	}
	audience, err := n.storyAudience(a.p, p.Audience, p.Exclude)
	if err != nil {
		return nil, err
	}
	now := n.opts.Now()
	m := &msg{id: a.newID(), from: a.p.number, to: engine.StatusBroadcast, group: true, content: c, time: now,
		status: StatusDelivered, rcpts: map[string]*delivery{}, inSent: true}
	n.msgs[m.id] = m
	for _, r := range audience {
		m.rcpts[r.number] = &delivery{delivered: true}
		m.unread++
		r.inbox = append(r.inbox, m)
		if over := len(r.inbox) - n.opts.MaxMessages; over > 0 {
			for _, old := range r.inbox[:over] {
				n.evictInbox(r, old)
			}
			r.inbox = slices.Delete(r.inbox, 0, over)
		}
	}
	a.p.sent = append(a.p.sent, m)
	if over := len(a.p.sent) - n.opts.MaxMessages; over > 0 {
		for _, old := range a.p.sent[:over] {
			old.inSent = false
			n.release(old)
		}
		a.p.sent = slices.Delete(a.p.sent, 0, over)
	}
	from := a.jid()
	in := engine.Message{ID: m.id, Chat: engine.StatusBroadcast, Sender: from, PushName: a.p.name, Text: c.Text, Time: now, Content: c}
	for _, r := range audience {
		for _, d := range r.devices {
			n.toDevice(d, in)
		}
	}
	echo := in
	echo.FromMe = true
	for _, d := range a.p.devices {
		if d != a.dev {
			n.toDevice(d, echo)
		}
		for _, r := range audience {
			n.toDevice(d, engine.Receipt{IDs: []string{m.id}, Chat: engine.StatusBroadcast, Sender: JID(r.number),
				Type: engine.ReceiptDelivered, Time: now})
		}
	}
	return m, nil
}

// storyAudience is who sees a story of p: the accounts named, or p's
// contacts, minus the excluded ones.
func (n *Network) storyAudience(p *phone, named, exclude []string) ([]*phone, error) {
	skip := map[string]bool{p.number: true}
	for _, e := range exclude {
		num, err := parseRecipient(e)
		if err != nil {
			return nil, err
		}
		skip[num] = true
	}
	var out []*phone
	add := func(num string) {
		if r := n.phones[num]; r != nil && !skip[num] {
			skip[num] = true
			out = append(out, r)
		}
	}
	if len(named) > 0 {
		for _, u := range named {
			num, err := parseRecipient(u)
			if err != nil {
				return nil, err
			}
			if n.phones[num] == nil {
				return nil, fmt.Errorf("%w: %s", ErrNotOnWhatsApp, num)
			}
			add(num)
		}
		return out, nil
	}
	for _, m := range p.sent {
		if !m.group {
			add(m.to)
		}
	}
	for _, m := range p.inbox {
		if !m.group {
			add(m.from)
		}
	}
	for _, jid := range slices.Sorted(maps.Keys(p.groups)) {
		for _, num := range p.groups[jid].order {
			add(num)
		}
	}
	return out, nil
}
