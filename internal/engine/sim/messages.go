package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/engine"
)

// actor is an account acting: from one of its devices, or from the phone
// when dev is nil.
type actor struct {
	p   *phone
	dev *device
	// by is how WhatsApp addresses the phone's messages to the
	// recipients' devices (identity.go); "" by number.
	by Addressing
}

// jid is the account's JID.
func (a actor) jid() string { return JID(a.p.number) }

// newID returns a new message ID: like WhatsApp Web's ("3EB0...") for a
// device, like a phone's ("3A...") for the phone.
func (a actor) newID() string {
	if a.dev != nil {
		return "3EB0" + randHex(8)
	}
	return "3A" + randHex(9)
}

// target is where a message goes: an account or a group.
type target struct {
	user  *phone
	group *group
}

// jid is the chat's JID from the sender's side.
func (t target) jid() string {
	if t.group != nil {
		return t.group.jid
	}
	return JID(t.user.number)
}

// resolve finds the chat an account acts in. A user must be another
// account on the network (ErrOwnNumber, ErrNotOnWhatsApp); a group must
// exist and have the account as a member (engine.ErrGroupNotFound).
func (n *Network) resolve(a actor, c chatID) (target, error) {
	if c.group == "" {
		r, err := n.recipient(a.p, c.user)
		if err != nil {
			return target{}, err
		}
		return target{user: r}, nil
	}
	g, err := n.memberGroup(a.p, c.group)
	if err != nil {
		return target{}, err
	}
	return target{group: g}, nil
}

// sent is what send did: the message sent or edited, and the ID and time
// of what went out (for an edit, the edit's own).
type sent struct {
	m    *msg
	id   string
	time time.Time
	chat string
}

// send sends checked content (checkContent) from an account to a chat, or
// edits an earlier message when c.EditedID is set.
func (n *Network) send(a actor, chat chatID, c engine.Content) (sent, error) {
	t, err := n.resolve(a, chat)
	if err != nil {
		return sent{}, err
	}
	if g := t.group; g != nil && g.announce && !g.members[a.p.number].admin {
		return sent{}, fmt.Errorf("%w: only admins send messages to %s", engine.ErrNotAdmin, g.jid)
	}
	if t.user != nil && n.blockedBy(a.p.number, t.user.number) {
		return sent{}, fmt.Errorf("%w: %s", ErrBlocked, t.user.number)
	}
	if c.EditedID != "" {
		return n.edit(a, t, c)
	}
	m := n.deliver(a, t, c)
	return sent{m: m, id: m.id, time: m.time, chat: t.jid()}, nil
}

// deliver stores a new message in the sender's sent list and the
// recipients' inboxes, and gives it to their devices: the recipients'
// devices get it, the sender's other devices get a FromMe copy, then the
// sender's devices get a delivered Receipt per recipient.
func (n *Network) deliver(a actor, t target, c engine.Content) *msg {
	now := n.opts.Now()
	m := &msg{id: a.newID(), from: a.p.number, content: c, time: now, status: StatusDelivered, rcpts: map[string]*delivery{}, inSent: true}
	if t.group != nil {
		m.to, m.group = t.group.jid, true
	} else {
		m.to = t.user.number
	}
	rcpts := n.recipients(a.p, t)
	n.msgs[m.id] = m
	for _, r := range rcpts {
		m.rcpts[r.number] = &delivery{}
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
	n.fanout(a, t, rcpts, m.id, c, now)
	for _, r := range rcpts {
		if d := m.rcpts[r.number]; d != nil {
			d.delivered = true
		}
	}
	for _, d := range a.p.devices {
		for _, r := range rcpts {
			rj := JID(r.number)
			chat := rj
			if t.group != nil {
				chat = t.group.jid
			}
			n.toDevice(d, engine.Receipt{IDs: []string{m.id}, Chat: chat, Sender: rj, Type: engine.ReceiptDelivered, Time: now})
		}
	}
	return m
}

// recipients are the accounts a message from p to t reaches: the user, or
// the group's members but p.
func (n *Network) recipients(p *phone, t target) []*phone {
	if t.group == nil {
		if n.blockedBy(t.user.number, p.number) { // not delivered to who blocked the sender
			return nil
		}
		return []*phone{t.user}
	}
	out := make([]*phone, 0, len(t.group.order))
	for _, num := range t.group.order {
		if r := n.phones[num]; r != nil && r != p && !n.blockedBy(num, p.number) {
			out = append(out, r)
		}
	}
	return out
}

// fanout gives a message to the recipients' devices and, as FromMe, to the
// sender's other devices.
func (n *Network) fanout(a actor, t target, rcpts []*phone, id string, c engine.Content, now time.Time) {
	from, pre := a.addressed()
	c = withRef(id, c) // received files can be fetched again (mediaretry.go)
	in := engine.Message{ID: id, Chat: from, Sender: from, PushName: a.p.name, Text: c.Text, Time: now, Content: c}
	if t.group != nil {
		in.Chat = t.group.jid
	}
	for _, r := range rcpts {
		for _, d := range r.devices {
			if pre != nil {
				n.toDevice(d, pre)
			}
			n.toDevice(d, in)
		}
	}
	echo := in
	echo.Chat, echo.Sender, echo.FromMe = t.jid(), a.jid(), true
	for _, d := range a.p.devices {
		if d != a.dev {
			n.toDevice(d, echo)
		}
	}
}

// evictInbox drops a message from a phone's inbox (the list is trimmed by
// the caller): the phone can no longer read it.
func (n *Network) evictInbox(p *phone, m *msg) {
	if d := m.rcpts[p.number]; d != nil {
		if !d.read {
			m.unread--
		}
		delete(m.rcpts, p.number)
	}
	n.release(m)
}

// release forgets a message no list holds any more.
func (n *Network) release(m *msg) {
	if !m.inSent && len(m.rcpts) == 0 && n.msgs[m.id] == m {
		delete(n.msgs, m.id)
	}
}

// chatOf is the chat of a message as the account with number sees it.
func (m *msg) chatOf(number string) string {
	switch {
	case m.group:
		return m.to
	case m.from == number:
		return JID(m.to)
	}
	return JID(m.from)
}

// find returns a message the account sees in chat t: one it sent or
// received there. ErrMessageNotFound otherwise.
func (n *Network) find(a actor, t target, id string) (*msg, error) {
	m := n.msgs[id]
	if m == nil || (m.from != a.p.number && m.rcpts[a.p.number] == nil) || m.chatOf(a.p.number) != t.jid() {
		return nil, fmt.Errorf("%w: no message %q in the chat %s of %s", ErrMessageNotFound, id, t.jid(), a.p.number)
	}
	return m, nil
}

// own returns a message the account sent to chat t.
func (n *Network) own(a actor, t target, id, what string) (*msg, error) {
	m, err := n.find(a, t, id)
	if err != nil {
		return nil, err
	}
	if m.from != a.p.number {
		return nil, fmt.Errorf("%w: %s %s: it is not a message %s sent", ErrMessageNotFound, what, id, a.p.number)
	}
	return m, nil
}

// edit replaces the text of an own message (text, link preview, or the
// caption of an image, video, gif or document) within EditWindow. The
// chat's members get an engine.KindEdit message with a new ID.
func (n *Network) edit(a actor, t target, c engine.Content) (sent, error) {
	m, err := n.own(a, t, c.EditedID, "cannot edit")
	if err != nil {
		return sent{}, err
	}
	switch {
	case m.revoked:
		return sent{}, fmt.Errorf("%w: cannot edit %s: it was deleted", ErrMessageNotFound, m.id)
	case !editable(m.content.Kind):
		return sent{}, fmt.Errorf("%w: a %s message has no text to edit", ErrInvalidContent, m.content.Kind)
	}
	now := n.opts.Now()
	if age := now.Sub(m.time); age > EditWindow {
		return sent{}, fmt.Errorf("%w: %s was sent %s ago; messages can be edited for %s", ErrTooLate, m.id, age.Round(time.Second), EditWindow)
	}
	m.content.Text, m.content.Mentions, m.edited = c.Text, c.Mentions, true
	id := a.newID()
	ev := engine.Content{Kind: engine.KindEdit, EditedID: m.id, Text: c.Text, Mentions: c.Mentions}
	n.fanout(a, t, n.recipients(a.p, t), id, ev, now)
	return sent{m: m, id: id, time: now, chat: t.jid()}, nil
}

// editable reports whether messages of a kind have a text to edit.
func editable(kind string) bool {
	switch kind {
	case engine.KindText, engine.KindLinkPreview, engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindDocument:
		return true
	}
	return false
}

// react sets ("" removes) the account's reaction to a message of chat t;
// sender, when not empty, must be the message's author. The chat's members
// get an engine.KindReaction message.
func (n *Network) react(a actor, t target, sender, id, emoji string) error {
	if err := checkEmoji(emoji); err != nil {
		return err
	}
	m, err := n.find(a, t, id)
	if err != nil {
		return err
	}
	if err := checkAuthor(m, sender); err != nil {
		return err
	}
	if m.revoked {
		return fmt.Errorf("%w: cannot react to %s: it was deleted", ErrMessageNotFound, m.id)
	}
	now := n.opts.Now()
	m.reacts = slices.DeleteFunc(m.reacts, func(r PhoneReaction) bool { return r.From == a.p.number })
	if emoji != "" {
		m.reacts = append(m.reacts, PhoneReaction{From: a.p.number, Emoji: emoji, Time: now})
	}
	ev := engine.Content{Kind: engine.KindReaction, Reaction: &engine.Reaction{TargetID: m.id, Emoji: emoji}}
	n.fanout(a, t, n.recipients(a.p, t), a.newID(), ev, now)
	return nil
}

// revokeMsg deletes a message for everyone within RevokeWindow: an own
// message, or as a group admin any message of the group. The chat's
// members get an engine.KindRevoke message; the phones drop the content.
// Deleting a deleted message does nothing.
func (n *Network) revokeMsg(a actor, t target, sender, id string) error {
	m, err := n.find(a, t, id)
	if err != nil {
		return err
	}
	if err := checkAuthor(m, sender); err != nil {
		return err
	}
	if m.from != a.p.number {
		if !m.group {
			return fmt.Errorf("%w: cannot delete %s for everyone: it is not a message %s sent", ErrMessageNotFound, m.id, a.p.number)
		}
		if !t.group.members[a.p.number].admin {
			return fmt.Errorf("%w: only admins delete other members' messages of %s", engine.ErrNotAdmin, t.group.jid)
		}
	}
	if m.revoked {
		return nil
	}
	now := n.opts.Now()
	if age := now.Sub(m.time); age > RevokeWindow {
		return fmt.Errorf("%w: %s was sent %s ago; messages can be deleted for everyone for %s", ErrTooLate, m.id, age.Round(time.Second), RevokeWindow)
	}
	m.content, m.revoked, m.reacts = engine.Content{Kind: m.content.Kind}, true, nil
	ev := engine.Content{Kind: engine.KindRevoke, RevokedID: m.id}
	n.fanout(a, t, n.recipients(a.p, t), a.newID(), ev, now)
	return nil
}

// checkAuthor checks the sender a caller named for a message, if any.
func checkAuthor(m *msg, sender string) error {
	if sender == "" {
		return nil
	}
	num, err := parseRecipient(sender)
	if err != nil {
		return err
	}
	if num != m.from {
		return fmt.Errorf("%w: %s was not sent by %s", ErrMessageNotFound, m.id, sender)
	}
	return nil
}

// chatOfID is the chat of a message the phone sees, for the phone-side
// actions that name only the message.
func (n *Network) chatOfID(p *phone, id string) (chatID, error) {
	m := n.msgs[id]
	if m == nil || (m.from != p.number && m.rcpts[p.number] == nil) {
		return chatID{}, fmt.Errorf("%w: %s has no message %q", ErrMessageNotFound, p.number, id)
	}
	if m.group {
		return chatID{group: m.to}, nil
	}
	if m.from == p.number {
		return chatID{user: m.to}, nil
	}
	return chatID{user: m.from}, nil
}

// React is a phone reacting to a message it sent or received (emoji: ""
// removes its reaction). Errors: ErrPhoneNotFound, ErrMessageNotFound,
// ErrInvalidContent (not an emoji), engine.ErrGroupNotFound (no longer in
// the group).
func (n *Network) React(number, id, emoji string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	a, t, err := n.phoneChatOf(number, id)
	if err != nil {
		return err
	}
	return n.react(a, t, "", id, emoji)
}

// Revoke is a phone deleting a message for everyone: its own, or as a group
// admin any message of the group. Errors: ErrPhoneNotFound,
// ErrMessageNotFound, engine.ErrNotAdmin, engine.ErrGroupNotFound,
// ErrTooLate.
func (n *Network) Revoke(number, id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	a, t, err := n.phoneChatOf(number, id)
	if err != nil {
		return err
	}
	return n.revokeMsg(a, t, "", id)
}

// phoneChatOf finds a phone and the chat of a message it sees.
func (n *Network) phoneChatOf(number, id string) (actor, target, error) {
	p, err := n.phoneLocked(number)
	if err != nil {
		return actor{}, target{}, err
	}
	c, err := n.chatOfID(p, strings.TrimSpace(id))
	if err != nil {
		return actor{}, target{}, err
	}
	a := actor{p: p}
	t, err := n.resolve(a, c)
	return a, t, err
}
