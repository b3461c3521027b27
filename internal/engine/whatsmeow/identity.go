package whatsmeow

import (
	"context"
	"strings"
	"sync"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/internal/engine"
)

// Identity: WhatsApp addresses many users by a LID ("<digits>@lid")
// instead of their phone number. Every address that leaves this engine in
// an event is the phone-number form when WhatsApp told it (the stanza's
// alternate address, whatsmeow's LID store, filled by stanzas, usync
// lookups and history sync); the pairs learned go out first as a
// LIDMappings event, so that the owner keeps them and merges a chat that
// started under the other form. An address with no known number (or a
// malformed one) is kept as it came.

// lookupTimeout bounds the LID store lookups of one event.
const lookupTimeout = 5 * time.Second

// maxKnownPairs bounds the pairs a session remembers having reported.
const maxKnownPairs = 100_000

// knownPairs are the pairs a session reported (and its owner stored), so
// that each goes out once per session rather than with every message.
type knownPairs struct {
	mu sync.Mutex
	m  map[string]string // LID -> PN
}

func (k *knownPairs) has(p engine.LIDPair) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.m[p.LID] == p.PN
}

func (k *knownPairs) add(ps []engine.LIDPair) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m)+len(ps) > maxKnownPairs {
		k.m = make(map[string]string, len(ps))
	}
	for _, p := range ps {
		k.m[p.LID] = p.PN
	}
}

// resolver turns the LIDs of one event's addresses into phone numbers.
type resolver struct {
	ctx   context.Context
	cli   *wm.Client
	pn    map[string]string // LID -> PN, from the stanza and lookups
	pairs []engine.LIDPair  // what was learned, in order
}

func newResolver(ctx context.Context, cli *wm.Client) *resolver {
	return &resolver{ctx: ctx, cli: cli, pn: map[string]string{}}
}

// pair records that lid and pn are the same user (either order; ignored
// unless one is a LID and the other a phone-number JID).
func (r *resolver) pair(a, b types.JID) {
	if a.Server == types.DefaultUserServer && b.Server == types.HiddenUserServer {
		a, b = b, a
	}
	if a.Server != types.HiddenUserServer || b.Server != types.DefaultUserServer || a.User == "" || b.User == "" {
		return
	}
	lid, pn := a.ToNonAD().String(), b.ToNonAD().String()
	if r.pn[lid] == pn {
		return
	}
	r.pn[lid] = pn
	r.pairs = append(r.pairs, engine.LIDPair{LID: lid, PN: pn})
}

// source records the pairs a message, receipt or chat presence carries.
func (r *resolver) source(src types.MessageSource) {
	r.pair(src.Sender, src.SenderAlt)
	if !src.IsGroup {
		r.pair(src.Chat, src.RecipientAlt)
		if !src.IsFromMe {
			r.pair(src.Chat, src.SenderAlt)
		}
	}
}

// learn records the pairs whatsmeow's event carries.
func (r *resolver) learn(evt any) {
	switch e := evt.(type) {
	case *events.Message:
		r.source(e.Info.MessageSource)
	case *events.UndecryptableMessage:
		r.source(e.Info.MessageSource)
	case *events.Receipt:
		r.source(e.MessageSource)
	case *events.ChatPresence:
		r.source(e.MessageSource)
	case *events.GroupInfo:
		if e.Sender != nil && e.SenderPN != nil {
			r.pair(*e.Sender, *e.SenderPN)
		}
	case *events.JoinedGroup:
		if e.Sender != nil && e.SenderPN != nil {
			r.pair(*e.Sender, *e.SenderPN)
		}
		for _, p := range e.Participants {
			r.pair(p.JID, p.PhoneNumber)
			r.pair(p.LID, p.JID)
		}
	}
}

// phone is an address in its phone-number form when known: a user's LID
// becomes its number, anything else (numbers, groups, malformed input)
// stays as it is.
func (r *resolver) phone(addr string) string {
	user, ok := strings.CutSuffix(addr, "@"+types.HiddenUserServer)
	if !ok || user == "" || strings.Trim(user, "0123456789") != "" {
		return addr
	}
	if pn, ok := r.pn[addr]; ok {
		return pn
	}
	if r.cli == nil || r.cli.Store == nil || r.cli.Store.LIDs == nil {
		return addr
	}
	lid := types.NewJID(user, types.HiddenUserServer)
	ctx, cancel := context.WithTimeout(r.ctx, lookupTimeout)
	defer cancel()
	pn, err := r.cli.Store.LIDs.GetPNForLID(ctx, lid)
	if err != nil || pn.IsEmpty() || pn.Server != types.DefaultUserServer {
		r.pn[addr] = addr // asked once per event
		return addr
	}
	r.pair(lid, pn)
	return r.pn[addr]
}

func (r *resolver) phones(list []string) []string {
	for i, a := range list {
		list[i] = r.phone(a)
	}
	return list
}

// rewrite puts every address of a data event in its phone-number form.
func (r *resolver) rewrite(ev engine.Event) engine.Event {
	switch e := ev.(type) {
	case engine.Message:
		e.Chat, e.Sender = r.phone(e.Chat), r.phone(e.Sender)
		if c := e.Content.Mentions; len(c) > 0 {
			e.Content.Mentions = r.phones(append([]string(nil), c...))
		}
		e.Content.QuotedSender = r.phone(e.Content.QuotedSender)
		return e
	case engine.Undecryptable:
		e.Chat, e.Sender = r.phone(e.Chat), r.phone(e.Sender)
		return e
	case engine.Receipt:
		e.Chat, e.Sender = r.phone(e.Chat), r.phone(e.Sender)
		return e
	case engine.Presence:
		e.Chat, e.User = r.phone(e.Chat), r.phone(e.User)
		return e
	case engine.GroupChange:
		e.Actor = r.phone(e.Actor)
		e.Participants = r.phones(e.Participants)
		return e
	case engine.Call:
		e.From, e.Chat = r.phone(e.From), r.phone(e.Chat)
		return e
	}
	return ev
}

// resolve rewrites the data events mapped from evt and puts a LIDMappings
// event first when the event taught pairs the session has not reported.
func (s *Session) resolve(cli *wm.Client, evt any, out []engine.Event) []engine.Event {
	if !hasData(out) {
		return out
	}
	r := newResolver(s.ctx, cli)
	r.learn(evt)
	for i, e := range out {
		if engine.IsData(e) {
			out[i] = r.rewrite(e)
		}
	}
	var fresh []engine.LIDPair
	for _, p := range r.pairs {
		if !s.known.has(p) {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) == 0 {
		return out
	}
	return append([]engine.Event{engine.LIDMappings{Pairs: fresh}}, out...)
}

// phoneGroupInfo is groupInfo with participants (and the owner) known
// only by their LID given by phone number when the LID store knows it.
func phoneGroupInfo(ctx context.Context, cli *wm.Client, g *types.GroupInfo) engine.GroupInfo {
	gi := groupInfo(g)
	r := newResolver(ctx, cli)
	gi.Owner = r.phone(gi.Owner)
	for i := range gi.Participants {
		gi.Participants[i].JID = r.phone(gi.Participants[i].JID)
	}
	return gi
}
