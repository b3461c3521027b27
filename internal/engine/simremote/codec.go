// Package simremote runs the sim engine across the nodes of a cluster: one
// node hosts the simulated network (Host) and every node's channels reach
// it as a remote engine (Engine), over one websocket per node, the way a
// real client reaches WhatsApp. A channel's session is opened on the host
// and its calls, events and acknowledgements travel as JSON frames; the
// sim's semantics are the host's (events in order, Ingest waited for before
// the next). When the host goes away, every session sees Disconnected and
// the runtime connects again, to the new host.
//
// The session's methods are generated from the engine package's
// interfaces (go generate: stubs_gen.go), so a new engine capability is
// remote as soon as the sim implements it.
package simremote

//go:generate go run ./gen

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/wagate/wagate/internal/engine"
)

// Path is where the host serves the websocket (under the cluster's
// internal prefix).
const Path = "/internal/cluster/sim"

// Frame operations.
const (
	opOpen   = "open"   // client: open a session (Config); reply Data: openReply
	opCall   = "call"   // client: call Method with Args; reply Results
	opReply  = "reply"  // either way: the answer to ID
	opEvent  = "event"  // host: a lifecycle event of SID
	opIngest = "ingest" // host: a data event of SID to store; answered with a reply
	opSent   = "sent"   // host: SentPayload of SID for message Data; answered with a reply
	opNet    = "net"    // client: call a phone-side Method of the network; reply Results
)

// networkMethods are the phone-side calls other nodes may make on the
// hosted network (the dashboard's sim panel).
var networkMethods = map[string]bool{"AddPhone": true, "Phone": true, "LinkQR": true, "LinkCode": true,
	"SendFromPhone": true, "SendContent": true, "Inbox": true}

// frame is one websocket message.
type frame struct {
	Op      string            `json:"op"`
	ID      uint64            `json:"id,omitempty"`
	SID     uint64            `json:"sid,omitempty"`
	Method  string            `json:"method,omitempty"`
	Args    []json.RawMessage `json:"args,omitempty"`
	Results []json.RawMessage `json:"results,omitempty"`
	Err     *wireError        `json:"err,omitempty"`
	Event   *wireEvent        `json:"event,omitempty"`
	Config  *openConfig       `json:"config,omitempty"`
	// TimeoutMS is the caller's deadline for a call, in milliseconds.
	TimeoutMS int64           `json:"timeout_ms,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// openConfig is engine.SessionConfig without its callbacks.
type openConfig struct {
	ChannelID string `json:"channel_id"`
	Device    string `json:"device,omitempty"`
	Proxy     string `json:"proxy,omitempty"`
}

// openReply is what the host says of an opened session.
type openReply struct {
	Linked bool           `json:"linked"`
	Self   engine.Account `json:"self"`
}

// wireEvent is an engine event with its type's name.
type wireEvent struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func encodeEvent(ev engine.Event) (*wireEvent, error) {
	name := eventName(ev)
	if name == "" {
		return nil, fmt.Errorf("simremote: event %T has no name", ev)
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	return &wireEvent{Type: name, Data: raw}, nil
}

func decodeEvent(w *wireEvent) (engine.Event, error) {
	if w == nil {
		return nil, errors.New("simremote: frame without an event")
	}
	p, ok := newEvent(w.Type)
	if !ok {
		return nil, fmt.Errorf("simremote: unknown event type %q", w.Type)
	}
	if err := json.Unmarshal(w.Data, p); err != nil {
		return nil, fmt.Errorf("simremote: event %s: %w", w.Type, err)
	}
	// p points to the event value: return the value.
	ev, ok := derefEvent(p)
	if !ok {
		return nil, fmt.Errorf("simremote: %s is not an event", w.Type)
	}
	return ev, nil
}

// wireError is an error with the names of the sentinels it matches.
type wireError struct {
	Message   string   `json:"message"`
	Sentinels []string `json:"sentinels,omitempty"`
}

func encodeError(err error) *wireError {
	if err == nil {
		return nil
	}
	w := &wireError{Message: err.Error()}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			w.Sentinels = append(w.Sentinels, s.name)
		}
	}
	return w
}

func decodeError(w *wireError) error {
	if w == nil {
		return nil
	}
	e := &remoteError{msg: w.Message}
	for _, name := range w.Sentinels {
		for _, s := range sentinels {
			if s.name == name {
				e.is = append(e.is, s.err)
			}
		}
	}
	return e
}

// remoteError is an error the host returned: it matches (errors.Is) every
// sentinel the original matched.
type remoteError struct {
	msg string
	is  []error
}

func (e *remoteError) Error() string { return e.msg }

func (e *remoteError) Is(target error) bool {
	for _, s := range e.is {
		if s == target {
			return true
		}
	}
	return false
}

// derefEvent is the event a pointer from newEvent points to.
func derefEvent(p any) (engine.Event, bool) {
	ev, ok := reflect.ValueOf(p).Elem().Interface().(engine.Event)
	return ev, ok
}
