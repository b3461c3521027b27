package sim

import (
	"maps"
	"slices"
	"time"

	"github.com/wagate/wagate/internal/engine"
)

// Snapshot is the network's lasting state: phones and their inboxes, linked
// devices and what waits for them, messages, groups. Login flows, open
// sessions, presence subscriptions and injected faults are not in it: they
// last one connection. A network that moves (cluster mode: to another node)
// or restarts continues from its last snapshot.
type Snapshot struct {
	Phones   []SnapPhone   `json:"phones"`
	Devices  []SnapDevice  `json:"devices"`
	Revoked  []string      `json:"revoked,omitempty"`
	Messages []SnapMessage `json:"messages"`
	Groups   []SnapGroup   `json:"groups"`
	Extra    SnapExtra     `json:"extra"`
	// Communities and Newsletters: communities.go, newsletters.go.
	Communities []SnapCommunity  `json:"communities,omitempty"`
	Newsletters []SnapNewsletter `json:"newsletters,omitempty"`
	// Business: the accounts' business data (business_snap.go).
	Business []SnapBusiness `json:"business,omitempty"`
	// AppState: the phones' chat settings and labels (appstate.go).
	AppState []SnapAppState `json:"app_state,omitempty"`
}

// SnapPhone is a phone in a Snapshot.
type SnapPhone struct {
	Number    string    `json:"number"`
	Name      string    `json:"name"`
	About     string    `json:"about,omitempty"`
	Auto      bool      `json:"auto,omitempty"`
	Available bool      `json:"available,omitempty"`
	LastSeen  time.Time `json:"last_seen"`
	// Inbox and Sent are message IDs, oldest first.
	Inbox []string `json:"inbox,omitempty"`
	Sent  []string `json:"sent,omitempty"`
}

// SnapDevice is a linked device in a Snapshot; Queue is what waits for its
// next connection, oldest first.
type SnapDevice struct {
	ID        string         `json:"id"`
	Phone     string         `json:"phone"`
	ChannelID string         `json:"channel_id,omitempty"`
	LinkedAt  time.Time      `json:"linked_at"`
	Queue     []engine.Event `json:"-"`
	Requeued  int            `json:"requeued,omitempty"`
}

// SnapMessage is a message in a Snapshot. Media bytes are left out (they
// are kept in memory only): a message keeps its file's details.
type SnapMessage struct {
	ID      string                  `json:"id"`
	From    string                  `json:"from"`
	To      string                  `json:"to"`
	Group   bool                    `json:"group,omitempty"`
	Content engine.Content          `json:"content"`
	Time    time.Time               `json:"time"`
	Status  string                  `json:"status"`
	Edited  bool                    `json:"edited,omitempty"`
	Revoked bool                    `json:"revoked,omitempty"`
	Reacts  []PhoneReaction         `json:"reacts,omitempty"`
	Rcpts   map[string]SnapDelivery `json:"rcpts,omitempty"`
	Unread  int                     `json:"unread,omitempty"`
	InSent  bool                    `json:"in_sent,omitempty"`
}

// SnapDelivery is what happened to a message at one recipient.
type SnapDelivery struct {
	Delivered bool `json:"delivered,omitempty"`
	Read      bool `json:"read,omitempty"`
}

// SnapGroup is a group in a Snapshot; Members are in joining order.
type SnapGroup struct {
	JID         string       `json:"jid"`
	Subject     string       `json:"subject"`
	Description string       `json:"description,omitempty"`
	Owner       string       `json:"owner"`
	Created     time.Time    `json:"created"`
	Members     []SnapMember `json:"members"`
	Announce    bool         `json:"announce,omitempty"`
	Locked      bool         `json:"locked,omitempty"`
	Invite      string       `json:"invite,omitempty"`
	Photo       []byte       `json:"photo,omitempty"`
}

// SnapMember is a group member in a Snapshot.
type SnapMember struct {
	Number string `json:"number"`
	Admin  bool   `json:"admin,omitempty"`
	Super  bool   `json:"super,omitempty"`
}

// Snapshot copies the network's lasting state.
func (n *Network) Snapshot() Snapshot {
	n.mu.Lock()
	defer n.mu.Unlock()
	var s Snapshot
	for _, num := range slices.Sorted(maps.Keys(n.phones)) {
		p := n.phones[num]
		sp := SnapPhone{Number: p.number, Name: p.name, About: p.about, Auto: p.auto, Available: p.available, LastSeen: p.lastSeen}
		for _, m := range p.inbox {
			sp.Inbox = append(sp.Inbox, m.id)
		}
		for _, m := range p.sent {
			sp.Sent = append(sp.Sent, m.id)
		}
		s.Phones = append(s.Phones, sp)
		for _, d := range p.devices {
			s.Devices = append(s.Devices, SnapDevice{ID: d.id, Phone: p.number, ChannelID: d.channelID, LinkedAt: d.linkedAt,
				Queue: slices.Clone(d.queue), Requeued: d.requeued})
		}
	}
	s.Revoked = slices.Sorted(maps.Keys(n.revoked))
	for _, id := range slices.Sorted(maps.Keys(n.msgs)) {
		m := n.msgs[id]
		c := m.content
		if c.Media != nil {
			media := *c.Media
			media.Data, media.Fetch = nil, nil
			c.Media = &media
		}
		c = withoutBusinessFiles(c) // business_snap.go
		sm := SnapMessage{ID: m.id, From: m.from, To: m.to, Group: m.group, Content: c, Time: m.time, Status: m.status,
			Edited: m.edited, Revoked: m.revoked, Reacts: slices.Clone(m.reacts), Unread: m.unread, InSent: m.inSent}
		if len(m.rcpts) > 0 {
			sm.Rcpts = make(map[string]SnapDelivery, len(m.rcpts))
			for num, d := range m.rcpts {
				sm.Rcpts[num] = SnapDelivery{Delivered: d.delivered, Read: d.read}
			}
		}
		s.Messages = append(s.Messages, sm)
	}
	for _, jid := range slices.Sorted(maps.Keys(n.groups)) {
		g := n.groups[jid]
		sg := SnapGroup{JID: g.jid, Subject: g.subject, Description: g.description, Owner: g.owner, Created: g.created,
			Announce: g.announce, Locked: g.locked, Invite: g.invite, Photo: g.photo}
		for _, num := range g.order {
			m := g.members[num]
			sg.Members = append(sg.Members, SnapMember{Number: num, Admin: m.admin, Super: m.super})
		}
		s.Groups = append(s.Groups, sg)
	}
	s.Extra = n.extra.snapshot()
	n.snapshotExtra(&s)
	n.snapshotBusiness(&s)
	n.snapshotAppState(&s)
	return s
}

// Load replaces the network's state with a snapshot's, and reopens a closed
// network. Open sessions are closed first (they belong to the state being
// replaced). Phones, messages
// and groups the snapshot refers to but lacks are skipped.
func (n *Network) Load(s Snapshot) {
	n.mu.Lock()
	open := make([]*session, 0, len(n.open))
	for sess := range n.open {
		open = append(open, sess)
	}
	n.mu.Unlock()
	for _, sess := range open {
		_ = sess.Close()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = false // a network closed to take its last snapshot serves again
	n.phones, n.devices, n.revoked = map[string]*phone{}, map[string]*device{}, map[string]bool{}
	n.msgs, n.groups, n.invites = map[string]*msg{}, map[string]*group{}, map[string]*group{}
	n.subs = map[string]subSet{}
	n.faults = map[string]*channelFaults{}
	n.extra = loadExtras(s.Extra)
	for _, sm := range s.Messages {
		m := &msg{id: sm.ID, from: sm.From, to: sm.To, group: sm.Group, content: sm.Content, time: sm.Time, status: sm.Status,
			edited: sm.Edited, revoked: sm.Revoked, reacts: sm.Reacts, unread: sm.Unread, inSent: sm.InSent, rcpts: map[string]*delivery{}}
		for num, d := range sm.Rcpts {
			m.rcpts[num] = &delivery{delivered: d.Delivered, read: d.Read}
		}
		n.msgs[m.id] = m
	}
	for _, sp := range s.Phones {
		if !validNumber(sp.Number) {
			continue
		}
		p := newPhone(sp.Number, sp.Name, sp.Auto)
		p.about, p.available, p.lastSeen = sp.About, sp.Available, sp.LastSeen
		for _, id := range sp.Inbox {
			if m := n.msgs[id]; m != nil {
				p.inbox = append(p.inbox, m)
			}
		}
		for _, id := range sp.Sent {
			if m := n.msgs[id]; m != nil {
				p.sent = append(p.sent, m)
			}
		}
		n.phones[p.number] = p
	}
	for _, sd := range s.Devices {
		p := n.phones[sd.Phone]
		if p == nil {
			continue
		}
		d := &device{id: sd.ID, phone: p, channelID: sd.ChannelID, linkedAt: sd.LinkedAt, holders: map[*session]struct{}{},
			queue: slices.Clone(sd.Queue), requeued: sd.Requeued}
		p.devices = append(p.devices, d)
		n.devices[d.id] = d
	}
	for _, id := range s.Revoked {
		n.revoked[id] = true
	}
	for _, sg := range s.Groups {
		g := &group{jid: sg.JID, subject: sg.Subject, description: sg.Description, owner: sg.Owner, created: sg.Created,
			members: map[string]*member{}, announce: sg.Announce, locked: sg.Locked, invite: sg.Invite, photo: sg.Photo}
		for _, sm := range sg.Members {
			g.members[sm.Number] = &member{admin: sm.Admin, super: sm.Super}
			g.order = append(g.order, sm.Number)
			if p := n.phones[sm.Number]; p != nil {
				p.groups[g.jid] = g
			}
		}
		n.groups[g.jid] = g
		if g.invite != "" {
			n.invites[g.invite] = g
		}
	}
	n.loadExtra(s)
	n.loadBusiness(s)
	n.loadAppState(s)
}

// Reopen makes a closed network serve again with the state it had.
func (n *Network) Reopen() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = false
}

// Closed reports whether the network was closed (and not reopened).
func (n *Network) Closed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// CheckProxy says whether the sim engine accepts a proxy URL (what
// ValidateProxy says), for engines that relay it.
func CheckProxy(proxy string) error { return checkProxy(proxy) }
