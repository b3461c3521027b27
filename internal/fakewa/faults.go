package fakewa

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/store"
)

// faultKind is what a Fault does.
type faultKind int

const (
	faultFailure     faultKind = iota + 1 // <failure reason=..>
	faultStreamError                      // <stream:error code=..>
	faultReplaced                         // <stream:error><conflict type="replaced"/>
	faultLoggedOut                        // 401: the device is removed
	faultBan                              // <failure reason="402" code=.. expire=..>
	faultDrop                             // the socket is closed, no goodbye
	faultStall                            // the login is never answered
)

// Fault is a failure the server plays to a client, now (Faults.Inject) or
// when it next logs in (Faults.OnConnect). Build one with the functions
// below; String and ParseFault convert it to and from a short text
// ("failure:405", "ban:101:3600", "stream:503", "replaced", "logout",
// "drop", "stall") for the process control protocol.
type Fault struct {
	kind   faultKind
	code   string        // stream error code
	reason int           // failure reason
	ban    int           // temporary ban code
	expire time.Duration // temporary ban expiry, 0 for none
}

// ClientOutdated is <failure reason="405"/>: the client's version is too old.
func ClientOutdated() Fault { return Failure(405) }

// BadUserAgent is <failure reason="409"/>.
func BadUserAgent() Fault { return Failure(409) }

// Failure is <failure reason="reason"/> (a connect failure; the server
// closes the socket after it).
func Failure(reason int) Fault { return Fault{kind: faultFailure, reason: reason} }

// TemporaryBan is <failure reason="402" code="code" expire="seconds"/>;
// expire 0 leaves the expire attribute out.
func TemporaryBan(code int, expire time.Duration) Fault {
	return Fault{kind: faultBan, reason: 402, ban: code, expire: expire}
}

// StreamError is <stream:error code="code"/> ("503", "515", or any other
// code, which whatsmeow reports as events.StreamError). The server closes
// the socket after it.
func StreamError(code string) Fault { return Fault{kind: faultStreamError, code: code} }

// Replaced is <stream:error><conflict type="replaced"/></stream:error>:
// another client took over the session.
func Replaced() Fault { return Fault{kind: faultReplaced} }

// LoggedOut removes the device from its account: on a live connection it
// is <stream:error code="401"><conflict type="device_removed"/>, on connect
// <failure reason="401"/>. Either way the server forgets the device.
func LoggedOut() Fault { return Fault{kind: faultLoggedOut, reason: 401} }

// Drop closes the socket without a word (a network failure); on connect
// it closes right after the handshake.
func Drop() Fault { return Fault{kind: faultDrop} }

// Stall, on connect, never answers the login: the connection stays open
// without <success>. Injected now it does nothing.
func Stall() Fault { return Fault{kind: faultStall} }

// String is the fault's short text, which ParseFault reads back.
func (f Fault) String() string {
	switch f.kind {
	case faultFailure:
		return "failure:" + strconv.Itoa(f.reason)
	case faultBan:
		return fmt.Sprintf("ban:%d:%d", f.ban, int(f.expire/time.Second))
	case faultStreamError:
		return "stream:" + f.code
	case faultReplaced:
		return "replaced"
	case faultLoggedOut:
		return "logout"
	case faultDrop:
		return "drop"
	case faultStall:
		return "stall"
	}
	return "none"
}

// ParseFault reads a fault's short text (see Fault).
func ParseFault(s string) (Fault, error) {
	parts := strings.Split(s, ":")
	num := func(i int) (int, error) {
		if i >= len(parts) {
			return 0, fmt.Errorf("fakewa: fault %q: missing number", s)
		}
		return strconv.Atoi(parts[i])
	}
	switch parts[0] {
	case "failure":
		n, err := num(1)
		return Failure(n), err
	case "ban":
		code, err := num(1)
		if err != nil {
			return Fault{}, err
		}
		secs := 0
		if len(parts) > 2 {
			if secs, err = num(2); err != nil {
				return Fault{}, err
			}
		}
		return TemporaryBan(code, time.Duration(secs)*time.Second), nil
	case "stream":
		if len(parts) < 2 || parts[1] == "" {
			return Fault{}, fmt.Errorf("fakewa: fault %q: missing code", s)
		}
		return StreamError(parts[1]), nil
	case "replaced":
		return Replaced(), nil
	case "logout":
		return LoggedOut(), nil
	case "drop":
		return Drop(), nil
	case "stall":
		return Stall(), nil
	}
	return Fault{}, fmt.Errorf("fakewa: unknown fault %q", s)
}

// node is what the fault sends, on connect or on a live connection.
func (f Fault) node(onConnect bool) (waBinary.Node, bool) {
	switch f.kind {
	case faultFailure:
		return waBinary.Node{Tag: "failure", Attrs: waBinary.Attrs{"reason": f.reason}}, true
	case faultBan:
		n := waBinary.Node{Tag: "failure", Attrs: waBinary.Attrs{"reason": 402, "code": f.ban}}
		if f.expire > 0 {
			n.Attrs["expire"] = int(f.expire / time.Second)
		}
		return n, true
	case faultStreamError:
		return waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{"code": f.code}}, true
	case faultReplaced:
		return waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{},
			Content: []waBinary.Node{{Tag: "conflict", Attrs: waBinary.Attrs{"type": "replaced"}}}}, true
	case faultLoggedOut:
		if onConnect {
			return waBinary.Node{Tag: "failure", Attrs: waBinary.Attrs{"reason": 401}}, true
		}
		return waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{"code": "401"},
			Content: []waBinary.Node{{Tag: "conflict", Attrs: waBinary.Attrs{"type": "device_removed"}}}}, true
	}
	return waBinary.Node{}, false
}

// ErrNotConnected is returned when something needs a live connection and
// there is none.
var ErrNotConnected = errors.New("fakewa: not connected")

// Faults holds the failures scheduled for a scope: the whole server, an
// account (all its devices) or one device. Server, Account and Device each
// embed one. A login consults the device's, then the account's, then the
// server's; a registration (an unlinked client) only the server's. All
// methods are safe for concurrent use.
type Faults struct {
	mu         sync.Mutex
	onConnect  []Fault
	minVersion store.WAVersionContainer
	mutePings  bool
	sendError  int
	live       func() []*Conn // the scope's live connections
}

// OnConnect queues faults for the next logins in the scope: each login
// plays (and consumes) the oldest one instead of succeeding.
func (f *Faults) OnConnect(faults ...Fault) {
	f.mu.Lock()
	f.onConnect = append(f.onConnect, faults...)
	f.mu.Unlock()
}

// Inject plays a fault now on every live connection in the scope. It fails
// with ErrNotConnected when there is none.
func (f *Faults) Inject(fault Fault) error {
	conns := f.live()
	if len(conns) == 0 {
		return ErrNotConnected
	}
	for _, c := range conns {
		c.play(fault, false)
	}
	return nil
}

// RequireVersion answers every login or registration in the scope that
// announces a version (ClientPayload.UserAgent.AppVersion) below v with
// <failure reason="405"/>, until a client announces v or newer. The zero
// version lifts the requirement.
func (f *Faults) RequireVersion(v store.WAVersionContainer) {
	f.mu.Lock()
	f.minVersion = v
	f.mu.Unlock()
}

// MutePings stops (true) or resumes (false) answering the clients' w:p
// keepalive pings in the scope; the connections stay open.
func (f *Faults) MutePings(mute bool) {
	f.mu.Lock()
	f.mutePings = mute
	f.mu.Unlock()
}

// RejectSends answers every <message> the clients in the scope send with
// <ack class="message" error="code"/> (463 is WhatsApp's reach-out
// timelock) and delivers nothing; 0 accepts messages again.
func (f *Faults) RejectSends(code int) {
	f.mu.Lock()
	f.sendError = code
	f.mu.Unlock()
}

func (f *Faults) popOnConnect() (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.onConnect) == 0 {
		return Fault{}, false
	}
	fault := f.onConnect[0]
	f.onConnect = f.onConnect[1:]
	return fault, true
}

func (f *Faults) settings() (minVersion store.WAVersionContainer, mutePings bool, sendError int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.minVersion, f.mutePings, f.sendError
}

// chain is the scopes that apply to a connection, nearest first.
type chain []*Faults

// connectFault is the fault a login plays: a version the scope refuses,
// else the first queued OnConnect fault.
func (ch chain) connectFault(p *waWa6.ClientPayload) (Fault, bool) {
	for _, f := range ch {
		if min, _, _ := f.settings(); !min.IsZero() && older(p, min) {
			return ClientOutdated(), true
		}
	}
	for _, f := range ch {
		if fault, ok := f.popOnConnect(); ok {
			return fault, true
		}
	}
	return Fault{}, false
}

func (ch chain) mutePings() bool {
	for _, f := range ch {
		if _, mute, _ := f.settings(); mute {
			return true
		}
	}
	return false
}

func (ch chain) sendError() int {
	for _, f := range ch {
		if _, _, code := f.settings(); code != 0 {
			return code
		}
	}
	return 0
}

// older reports whether the payload announces a version below min.
func older(p *waWa6.ClientPayload, min store.WAVersionContainer) bool {
	v := p.GetUserAgent().GetAppVersion()
	got := [3]uint32{v.GetPrimary(), v.GetSecondary(), v.GetTertiary()}
	for i := range got {
		if got[i] != min[i] {
			return got[i] < min[i]
		}
	}
	return false
}
