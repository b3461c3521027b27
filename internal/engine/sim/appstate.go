package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine"
)

// App state: each account keeps, on its phone, how its chats are organized
// (archived, pinned, muted, marked unread) and its labels (WhatsApp
// Business), and its devices share them as WhatsApp's app state does. A
// change made on the phone (SetChatState, EditLabel, LabelChat) reaches
// every device of the account as engine.ChatStateChange, LabelChange or
// LabelChatChange; a change a session makes (it is an engine.ChatOrganizer
// and an engine.Labeler) shows on the phone (AppState) and reaches the
// account's other devices. The network's Snapshot keeps it.

// ErrLabelNotFound: a phone-side label operation on a label the phone does
// not have.
var ErrLabelNotFound = errors.New("sim: no such label")

// maxLabels bounds an account's labels.
const maxLabels = 99

// appState is an account's shared chat settings and labels.
type appState struct {
	chats  map[string]*ChatSettings // by chat JID
	labels map[string]engine.Label  // by ID
}

// ChatSettings is how an account organized one chat, as the phone-side
// API shows it.
type ChatSettings struct {
	Chat     string `json:"chat"`
	Archived bool   `json:"archived"`
	Pinned   bool   `json:"pinned"`
	// MutedUntil: zero when not muted; engine.ChatState's zero MuteUntil
	// (muted until unmuted) is kept as year 9999.
	MutedUntil time.Time `json:"muted_until,omitzero"`
	Unread     bool      `json:"unread"`
	Labels     []string  `json:"labels"`
}

// AppStateView is what a phone shows of its chats' settings and labels.
type AppStateView struct {
	Chats  []ChatSettings `json:"chats"`
	Labels []LabelView    `json:"labels"`
}

// LabelView is a label as the phone-side API shows it: its color by
// name (engine.LabelColors).
type LabelView struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
}

// appStateOf returns (creating) a phone's app state; under n.mu.
func (n *Network) appStateOf(p *phone) *appState {
	if n.appstate == nil {
		n.appstate = map[string]*appState{}
	}
	st := n.appstate[p.number]
	if st == nil {
		st = &appState{chats: map[string]*ChatSettings{}, labels: map[string]engine.Label{}}
		n.appstate[p.number] = st
	}
	return st
}

// chatJID normalizes a chat for app state: a user or group JID.
func chatJID(chat string) (string, error) {
	c, err := parseChat(chat)
	if err != nil {
		return "", err
	}
	if c.group != "" {
		return c.group, nil
	}
	return JID(c.user), nil
}

// applyChatState changes a chat's settings on the phone and tells the
// account's devices but except (nil: all of them).
func (n *Network) applyChatState(p *phone, except *device, chat string, st engine.ChatState) {
	as := n.appStateOf(p)
	c := as.chats[chat]
	if c == nil {
		c = &ChatSettings{Chat: chat, Labels: []string{}}
		as.chats[chat] = c
	}
	if st.Archived != nil {
		c.Archived = *st.Archived
	}
	if st.Pinned != nil {
		c.Pinned = *st.Pinned
	}
	if st.Muted != nil {
		c.MutedUntil = time.Time{}
		if *st.Muted {
			c.MutedUntil = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
			if !st.MuteUntil.IsZero() {
				c.MutedUntil = st.MuteUntil.UTC()
			}
		}
	}
	if st.Unread != nil {
		c.Unread = *st.Unread
	}
	n.toAccount(p, except, engine.ChatStateChange{Chat: chat, State: st, Time: n.opts.Now()})
}

// toAccount gives an event to the account's devices but except.
func (n *Network) toAccount(p *phone, except *device, ev engine.Event) {
	for _, d := range p.devices {
		if d != except {
			n.toDevice(d, ev)
		}
	}
}

// checkChatState refuses a change that changes nothing or mutes into the
// past.
func (n *Network) checkChatState(st engine.ChatState) error {
	if st.Empty() {
		return fmt.Errorf("%w: no change of archive, pin, mute or unread", ErrInvalidContent)
	}
	if st.Muted != nil && *st.Muted && !st.MuteUntil.IsZero() && !st.MuteUntil.After(n.opts.Now()) {
		return fmt.Errorf("%w: mute until a time in the past", ErrInvalidContent)
	}
	return nil
}

// checkLabel refuses a malformed label (deleted: only its ID matters).
func checkLabel(l engine.Label, deleted bool) error {
	if id, err := strconv.Atoi(l.ID); err != nil || id < 1 || id > maxLabels || strconv.Itoa(id) != l.ID {
		return fmt.Errorf("%w: label ID %q is not a number from 1 to %d", ErrInvalidContent, l.ID, maxLabels)
	}
	if deleted {
		return nil
	}
	name := strings.TrimSpace(l.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) {
		return fmt.Errorf("%w: a label name is 1 to 100 characters", ErrInvalidContent)
	}
	if l.Color < 0 || l.Color >= len(engine.LabelColors) {
		return fmt.Errorf("%w: label color %d is not 0 to %d", ErrInvalidContent, l.Color, len(engine.LabelColors)-1)
	}
	return nil
}

// editLabel creates, changes or deletes a label on the phone and tells the
// account's devices but except.
func (n *Network) editLabel(p *phone, except *device, l engine.Label, deleted bool) {
	as := n.appStateOf(p)
	if deleted {
		delete(as.labels, l.ID)
		for _, c := range as.chats {
			c.Labels = slices.DeleteFunc(c.Labels, func(x string) bool { return x == l.ID })
		}
	} else {
		l.Name = strings.TrimSpace(l.Name)
		as.labels[l.ID] = l
	}
	n.toAccount(p, except, engine.LabelChange{Label: l, Deleted: deleted, Time: n.opts.Now()})
}

// labelChat gives a chat a label or takes it away, on the phone, and tells
// the account's devices but except.
func (n *Network) labelChat(p *phone, except *device, label, chat string, labeled bool) {
	as := n.appStateOf(p)
	c := as.chats[chat]
	if c == nil {
		c = &ChatSettings{Chat: chat, Labels: []string{}}
		as.chats[chat] = c
	}
	c.Labels = slices.DeleteFunc(c.Labels, func(x string) bool { return x == label })
	if labeled {
		c.Labels = append(c.Labels, label)
		slices.SortFunc(c.Labels, func(a, b string) int {
			x, _ := strconv.Atoi(a)
			y, _ := strconv.Atoi(b)
			return x - y
		})
	}
	n.toAccount(p, except, engine.LabelChatChange{Label: label, Chat: chat, Labeled: labeled, Time: n.opts.Now()})
}

// SetChatState is the phone archiving, pinning, muting or marking a chat
// unread (nil fields stay); the account's devices get a ChatStateChange.
func (n *Network) SetChatState(number, chat string, st engine.ChatState) error {
	jid, err := chatJID(chat)
	if err != nil {
		return err
	}
	if err := n.checkChatState(st); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return err
	}
	n.applyChatState(p, nil, jid, st)
	return nil
}

// EditLabel is the phone creating or changing a label (an empty ID: the
// next free one) or deleting it (ErrLabelNotFound when it has none with
// that ID). It returns the label.
func (n *Network) EditLabel(number string, l engine.Label, deleted bool) (engine.Label, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return l, err
	}
	as := n.appStateOf(p)
	l.Name = strings.TrimSpace(l.Name)
	if l.ID == "" && !deleted {
		next := 1
		for id := range as.labels {
			if v, _ := strconv.Atoi(id); v >= next {
				next = v + 1
			}
		}
		l.ID = strconv.Itoa(next)
	}
	if err := checkLabel(l, deleted); err != nil {
		return l, err
	}
	if _, ok := as.labels[l.ID]; deleted && !ok {
		return l, fmt.Errorf("%w: %s has no label %s", ErrLabelNotFound, number, l.ID)
	}
	n.editLabel(p, nil, l, deleted)
	return l, nil
}

// LabelChat is the phone giving a chat one of its labels, or taking it
// away.
func (n *Network) LabelChat(number, label, chat string, labeled bool) error {
	jid, err := chatJID(chat)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return err
	}
	if _, ok := n.appStateOf(p).labels[label]; !ok {
		return fmt.Errorf("%w: %s has no label %q", ErrLabelNotFound, number, label)
	}
	n.labelChat(p, nil, label, jid, labeled)
	return nil
}

// AppState shows a phone's chat settings (chats it changed) and labels.
func (n *Network) AppState(number string) (AppStateView, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return AppStateView{}, err
	}
	as := n.appStateOf(p)
	out := AppStateView{Chats: []ChatSettings{}, Labels: []LabelView{}}
	for _, jid := range slices.Sorted(maps.Keys(as.chats)) {
		c := *as.chats[jid]
		c.Labels = slices.Clone(c.Labels)
		out.Chats = append(out.Chats, c)
	}
	for _, l := range as.labels {
		out.Labels = append(out.Labels, LabelView{ID: l.ID, Name: l.Name, Color: engine.LabelColors[l.Color]})
	}
	slices.SortFunc(out.Labels, func(a, b LabelView) int {
		x, _ := strconv.Atoi(a.ID)
		y, _ := strconv.Atoi(b.ID)
		return x - y
	})
	return out, nil
}

// SetChatState changes a chat's settings for the account (engine.ChatOrganizer).
func (s *session) SetChatState(ctx context.Context, chat string, st engine.ChatState) error {
	jid, err := chatJID(chat)
	if err != nil {
		return err
	}
	if err := s.net.checkChatState(st); err != nil {
		return err
	}
	return s.do(ctx, func(a actor) error {
		s.net.applyChatState(a.p, a.dev, jid, st)
		return nil
	})
}

// EditLabel creates, changes or deletes a label of the account (engine.Labeler).
func (s *session) EditLabel(ctx context.Context, l engine.Label, deleted bool) error {
	if err := checkLabel(l, deleted); err != nil {
		return err
	}
	return s.do(ctx, func(a actor) error {
		s.net.editLabel(a.p, a.dev, l, deleted)
		return nil
	})
}

// LabelChat gives a chat a label or takes it away (engine.Labeler).
func (s *session) LabelChat(ctx context.Context, label, chat string, labeled bool) error {
	jid, err := chatJID(chat)
	if err != nil {
		return err
	}
	if err := checkLabel(engine.Label{ID: label}, true); err != nil {
		return err
	}
	return s.do(ctx, func(a actor) error {
		if _, ok := s.net.appStateOf(a.p).labels[label]; !ok {
			return fmt.Errorf("%w: the account has no label %s", ErrInvalidContent, label)
		}
		s.net.labelChat(a.p, a.dev, label, jid, labeled)
		return nil
	})
}

// SnapAppState is a phone's app state in a Snapshot.
type SnapAppState struct {
	Phone  string         `json:"phone"`
	Chats  []ChatSettings `json:"chats,omitempty"`
	Labels []engine.Label `json:"labels,omitempty"`
}

// snapshotAppState adds the phones' app state to a snapshot (under the
// lock).
func (n *Network) snapshotAppState(s *Snapshot) {
	for _, num := range slices.Sorted(maps.Keys(n.appstate)) {
		as := n.appstate[num]
		sa := SnapAppState{Phone: num}
		for _, jid := range slices.Sorted(maps.Keys(as.chats)) {
			c := *as.chats[jid]
			c.Labels = slices.Clone(c.Labels)
			sa.Chats = append(sa.Chats, c)
		}
		for _, id := range slices.Sorted(maps.Keys(as.labels)) {
			sa.Labels = append(sa.Labels, as.labels[id])
		}
		s.AppState = append(s.AppState, sa)
	}
}

// loadAppState restores the phones' app state (under the lock); that of
// phones the snapshot lacks is skipped.
func (n *Network) loadAppState(s Snapshot) {
	n.appstate = map[string]*appState{}
	for _, sa := range s.AppState {
		if n.phones[sa.Phone] == nil {
			continue
		}
		as := &appState{chats: map[string]*ChatSettings{}, labels: map[string]engine.Label{}}
		for _, c := range sa.Chats {
			cp := c
			cp.Labels = slices.Clone(c.Labels)
			if cp.Labels == nil {
				cp.Labels = []string{}
			}
			as.chats[c.Chat] = &cp
		}
		for _, l := range sa.Labels {
			if checkLabel(l, false) == nil {
				as.labels[l.ID] = l
			}
		}
		n.appstate[sa.Phone] = as
	}
}
