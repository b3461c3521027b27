package sim

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/wagate/wagate/internal/engine"
)

// History sync on the sim network: a phone linking a device with history
// (LinkQRWith, LinkCodeWith) sends it one chunk of its past chats, as a
// phone does after a link: every chat in its inbox and sent lists with its
// messages, the LID pairs and names of the users in them. The chunk waits
// in the network (not in snapshots: a chunk announced before a restart is
// gone) until the channel fetches it.

var _ engine.HistoryFetcher = (*session)(nil)

// maxHistories bounds the chunks the network keeps at once.
const maxHistories = 256

// historyChunk is a chunk waiting to be fetched, for one phone's devices.
type historyChunk struct {
	number string
	h      engine.History
}

// LinkQRWith is LinkQR; history makes the phone send the device its past
// chats.
func (n *Network) LinkQRWith(number, qr string, history bool) (string, error) {
	channel, err := n.LinkQR(number, qr)
	if err == nil && history {
		n.sendHistory(number, channel)
	}
	return channel, err
}

// LinkCodeWith is LinkCode; history as LinkQRWith's.
func (n *Network) LinkCodeWith(number, code string, history bool) (string, error) {
	channel, err := n.LinkCode(number, code)
	if err == nil && history {
		n.sendHistory(number, channel)
	}
	return channel, err
}

// sendHistory gives the device a phone just linked for channel the notice
// of a chunk of the phone's past chats.
func (n *Network) sendHistory(number, channel string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.phones[number]
	if p == nil {
		return
	}
	var d *device
	for _, x := range p.devices {
		if x.channelID == channel {
			d = x
		}
	}
	if d == nil {
		return
	}
	id := "HS" + randHex(8)
	if n.histories == nil || len(n.histories) >= maxHistories {
		n.histories = map[string]historyChunk{}
	}
	n.histories[id] = historyChunk{number: number, h: n.pastChats(p)}
	n.toDevice(d, engine.HistoryNotice{ID: id, Ref: []byte(id), Time: n.opts.Now()})
}

// pastChats is what a phone's history chunk holds: its chats, newest
// first, with their messages oldest first (revoked ones left out), and the
// LID pairs and names of the users in them.
func (n *Network) pastChats(p *phone) engine.History {
	var h engine.History
	byChat := map[string]*engine.HistoryChat{}
	users := map[string]bool{}
	add := func(m *msg) {
		if m.revoked {
			return
		}
		chat := m.chatOf(p.number)
		hc := byChat[chat]
		if hc == nil {
			hc = &engine.HistoryChat{ID: chat}
			if g := n.groups[chat]; g != nil {
				hc.Name = g.subject
			} else if o := n.phones[m.from]; o != nil && m.from != p.number {
				hc.Name = o.name
			} else if o := n.phones[m.to]; o != nil {
				hc.Name = o.name
			}
			byChat[chat] = hc
		}
		from := m.from == p.number
		name := ""
		if o := n.phones[m.from]; o != nil {
			name = o.name
		}
		hc.Messages = append(hc.Messages, engine.Message{ID: m.id, Chat: chat, Sender: JID(m.from), PushName: name, FromMe: from,
			Text: m.content.Text, Time: m.time, Content: withRef(m.id, m.content)})
		if m.time.After(hc.LastTime) {
			hc.LastTime = m.time
		}
		if d := m.rcpts[p.number]; d != nil && !d.read {
			hc.Unread++
		}
		users[m.from] = true
		if !m.group {
			users[m.to] = true
		}
	}
	for _, m := range p.inbox {
		add(m)
	}
	for _, m := range p.sent {
		add(m)
	}
	delete(users, p.number)
	for _, hc := range byChat {
		slices.SortStableFunc(hc.Messages, func(a, b engine.Message) int { return a.Time.Compare(b.Time) })
		h.Chats = append(h.Chats, *hc)
	}
	slices.SortStableFunc(h.Chats, func(a, b engine.HistoryChat) int {
		return cmp.Or(b.LastTime.Compare(a.LastTime), cmp.Compare(a.ID, b.ID))
	})
	nums := make([]string, 0, len(users))
	for num := range users {
		nums = append(nums, num)
	}
	slices.Sort(nums)
	for _, num := range nums {
		h.Mappings = append(h.Mappings, engine.LIDPair{LID: LID(num), PN: JID(num)})
		if o := n.phones[num]; o != nil && o.name != "" {
			h.PushNames = append(h.PushNames, engine.PushName{User: JID(num), Name: o.name})
		}
	}
	return h
}

// FetchHistory returns a chunk the session's phone sent, within limits.
func (s *session) FetchHistory(ctx context.Context, ref []byte, limits engine.HistoryLimits) (engine.History, error) {
	var out engine.History
	err := s.do(ctx, func(a actor) error {
		c, ok := s.net.histories[string(ref)]
		if !ok || c.number != a.p.number {
			return fmt.Errorf("%w: no history chunk %q for this account (chunks do not survive a restart)", engine.ErrInvalidContent, ref)
		}
		out = limitHistory(c.h, limits)
		return nil
	})
	return out, err
}

// limitHistory applies limits to a full chunk (mappings and names stay).
func limitHistory(h engine.History, l engine.HistoryLimits) engine.History {
	out := engine.History{Mappings: h.Mappings, PushNames: h.PushNames}
	for _, hc := range h.Chats {
		if l.Messages <= 0 || hc.LastTime.Before(l.Since) || (l.MaxChats > 0 && len(out.Chats) >= l.MaxChats) {
			out.SkippedChats++
			out.SkippedMessages += len(hc.Messages)
			continue
		}
		var msgs []engine.Message
		for _, m := range hc.Messages {
			if m.Time.Before(l.Since) {
				out.SkippedMessages++
				continue
			}
			msgs = append(msgs, m)
		}
		if over := len(msgs) - l.Messages; over > 0 {
			out.SkippedMessages += over
			msgs = msgs[over:]
		}
		hc.Messages = msgs
		out.Chats = append(out.Chats, hc)
	}
	return out
}
