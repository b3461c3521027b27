// Package audit carries who is acting (an operator, a partner, a channel
// token or the system, and from which address) through a request's context,
// and the audit entry of the change being made, which the store writes in
// the same transaction as the change. It imports only the standard library
// and model, so every layer may use it.
package audit

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Kinds of actors.
const (
	ActorOperator = "operator" // the admin token, an operator session, the CLI
	ActorPartner  = "partner"  // a partner's token or dashboard session
	ActorChannel  = "channel"  // a channel's own token (the gate API)
	ActorSystem   = "system"   // wagate itself: expiry, background work
)

// Actor is who makes a change.
type Actor struct {
	Kind string // ActorOperator, ActorPartner, ActorChannel or ActorSystem
	// ID names the actor: "admin-token", "cli" or an operator's name, a
	// partner's ID, a channel's ID; empty for the system.
	ID string
	// IP is the client address of the request ("" outside one).
	IP string
}

// Entry is one audited change.
type Entry struct {
	ID        int64
	At        time.Time
	Actor     Actor
	PartnerID string // the partner the change is about ("" for installation-wide changes)
	ChannelID string // the channel it is about, if any
	// Action names the change, resource.verb: partner.create,
	// channel.stop, settings.update...
	Action string
	// Target is the ID of what changed when it is neither the partner nor
	// the channel (a project, a webhook...); may be empty.
	Target string
	// Before and After are the changed fields as JSON objects, where the
	// change has a before and an after that fit in a few fields; secrets
	// never appear in them.
	Before, After json.RawMessage
}

type actorKey struct{}
type pendingKey struct{}
type ipKey struct{}

// WithIP returns ctx carrying the client address of its request, which
// the actor set later takes when it has none.
func WithIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ipKey{}, ip)
}

// WithActor returns ctx carrying the actor of its changes.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorOf returns ctx's actor: the system when none was set, with the
// request's address (WithIP) when it has none of its own.
func ActorOf(ctx context.Context) Actor {
	a, ok := ctx.Value(actorKey{}).(Actor)
	if !ok {
		a = Actor{Kind: ActorSystem}
	}
	if a.IP == "" {
		a.IP, _ = ctx.Value(ipKey{}).(string)
	}
	return a
}

// Pending is an entry waiting for the transaction of its change.
type Pending struct {
	Entry   Entry
	written atomic.Bool
}

// Written reports whether the store wrote the entry (in a committed
// transaction).
func (p *Pending) Written() bool { return p.written.Load() }

// MarkWritten is called by the store once the transaction holding the
// entry committed.
func (p *Pending) MarkWritten() { p.written.Store(true) }

// Record returns ctx carrying e as the audit entry of the change about to
// be made (its actor from ctx unless set): the store writes it in the
// transaction of the first change made with that context.
func Record(ctx context.Context, e Entry) (context.Context, *Pending) {
	if e.Actor.Kind == "" {
		e.Actor = ActorOf(ctx)
	}
	p := &Pending{Entry: e}
	return context.WithValue(ctx, pendingKey{}, p), p
}

// PendingOf returns ctx's entry not yet written, or nil.
func PendingOf(ctx context.Context) *Pending {
	p, _ := ctx.Value(pendingKey{}).(*Pending)
	if p == nil || p.Written() {
		return nil
	}
	return p
}

// JSON encodes v for Before and After (nil stays nil).
func JSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// RequestIP is the host part of r.RemoteAddr (which the HTTP layer sets to
// the real client address behind trusted proxies).
func RequestIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Describe sets the pending entry's before and after (called inside the
// change's transaction, where both are known); nil values are left out.
func Describe(ctx context.Context, before, after any) {
	if p := PendingOf(ctx); p != nil {
		p.Entry.Before, p.Entry.After = JSON(before), JSON(after)
	}
}

// SetChannel names the channel of the pending entry (once it is known,
// e.g. a new channel's ID).
func SetChannel(ctx context.Context, channelID string) {
	if p := PendingOf(ctx); p != nil {
		p.Entry.ChannelID = channelID
	}
}

// Diff returns the fields of before and after whose values differ (as
// JSON), for Describe.
func Diff(before, after map[string]any) (map[string]any, map[string]any) {
	b, a := map[string]any{}, map[string]any{}
	for k, v := range after {
		if string(JSON(v)) != string(JSON(before[k])) {
			b[k], a[k] = before[k], v
		}
	}
	for k, v := range before {
		if _, ok := after[k]; !ok {
			b[k] = v
		}
	}
	return b, a
}

// Fields is v (a struct) as a map of its JSON fields, for Diff.
func Fields(v any) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(JSON(v), &m)
	return m
}

// SetPartner names the partner of the pending entry (a new partner's ID).
func SetPartner(ctx context.Context, partnerID string) {
	if p := PendingOf(ctx); p != nil {
		p.Entry.PartnerID = partnerID
	}
}
