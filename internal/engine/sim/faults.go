package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/engine"
)

// Failure modes: the network can play, on demand and per channel, what real
// WhatsApp does to a client, so that what runs on top (wagate's runtime, a
// partner's integration) can be rehearsed offline. Inject plays a Fault on
// a channel's latest open session; faults that last (refused versions,
// bans, refused connections, a dead proxy, refused new contacts) stay until
// FaultClear. ChannelStats says what the network saw (connects, events
// delivered again, retries answered).

// Version is the client version the sim engine announces to the network.
const Version = "sim-1"

// ingestTimeout bounds one Ingest call.
const ingestTimeout = 10 * time.Second

// Fault kinds.
const (
	// FaultDisconnect drops the connection (Disconnected).
	FaultDisconnect = "disconnect"
	// FaultStreamError ends the stream with an error code (StreamError,
	// then Disconnected). Code: "503" by default.
	FaultStreamError = "stream_error"
	// FaultKeepAliveLost: pings go unanswered since Seconds ago
	// (KeepAliveLost); the connection stays until FaultKeepAliveRestored.
	FaultKeepAliveLost = "keepalive_lost"
	// FaultKeepAliveRestored: pings are answered again (KeepAliveRestored).
	FaultKeepAliveRestored = "keepalive_restored"
	// FaultReplaced: another client connected with the device
	// (StreamReplaced); the connection ends.
	FaultReplaced = "replaced"
	// FaultBan bans the account for Seconds (0: WhatsApp gives no end) with
	// reason Code: the connection ends with TemporaryBan, and connecting
	// again gets TemporaryBan until the ban is over.
	FaultBan = "ban"
	// FaultLogout: the phone unlinks the device (LoggedOut).
	FaultLogout = "logout"
	// FaultClientOutdated: WhatsApp refuses the client's version (405, or
	// Code 409): the connection ends with ClientOutdated, and so does every
	// connect until FaultClear.
	FaultClientOutdated = "client_outdated"
	// FaultRefuseConnections: connects fail before WhatsApp answers (and a
	// connection ends) until FaultClear.
	FaultRefuseConnections = "refuse_connections"
	// FaultProxyUnreachable: the channel's proxy stops carrying
	// connections (connects through a proxy fail with
	// engine.ErrProxyUnreachable) until FaultClear.
	FaultProxyUnreachable = "proxy_unreachable"
	// FaultReachoutLimited: WhatsApp refuses messages to numbers the
	// account never talked with (engine.ErrReachoutLimited, WhatsApp's 463)
	// until FaultClear.
	FaultReachoutLimited = "reachout_limited"
	// FaultUndecryptable: the next message from phone From reaches the
	// channel first as Undecryptable, then, after Seconds (default 1),
	// decrypted under the same ID (as after the sender answered the retry
	// receipt).
	FaultUndecryptable = "undecryptable"
	// FaultDuplicate: the next message the channel receives is delivered
	// twice (same ID).
	FaultDuplicate = "duplicate"
	// FaultDropBeforeAck: the connection drops right after the next message
	// is delivered, before the client's acknowledgement counts: it is
	// delivered again on the next connection.
	FaultDropBeforeAck = "drop_before_ack"
	// FaultRetryReceipt: the recipient of message ID (sent by the channel)
	// asks for it again; the channel answers from what it kept
	// (SessionConfig.SentPayload).
	FaultRetryReceipt = "retry_receipt"
	// FaultClear ends every lasting fault of the channel.
	FaultClear = "clear"
)

// FaultKinds lists every fault kind.
func FaultKinds() []string {
	return []string{FaultDisconnect, FaultStreamError, FaultKeepAliveLost, FaultKeepAliveRestored, FaultReplaced,
		FaultBan, FaultLogout, FaultClientOutdated, FaultRefuseConnections, FaultProxyUnreachable,
		FaultReachoutLimited, FaultUndecryptable, FaultDuplicate, FaultDropBeforeAck, FaultRetryReceipt, FaultClear}
}

// Fault is one failure to play on a channel.
type Fault struct {
	Kind string
	// Code is WhatsApp's code where the kind has one (stream error code,
	// ban reason code, 405 or 409).
	Code int
	// Seconds: ban length; how long ago pings stopped; delay before an
	// undecryptable message is decrypted.
	Seconds int
	// From is the phone number whose next message is undecryptable.
	From string
	// ID is the message a retry receipt asks for.
	ID string
}

// FaultResult says what a fault did.
type FaultResult struct {
	// Connected: the channel had a connection when the fault was played.
	Connected bool
	// Answered: a retry receipt was answered (the channel still had the
	// message).
	Answered bool
}

// Errors of Inject.
var (
	ErrUnknownFault = errors.New("sim: unknown fault")
	ErrBadFault     = errors.New("sim: bad fault")
	// ErrUnreachable is what a connect gets while connections are refused.
	ErrUnreachable = errors.New("sim: WhatsApp did not answer")
)

// channelFaults is what lasts of a channel's faults, and what the network
// saw of the channel. Guarded by Network.mu.
type channelFaults struct {
	outdated     int       // 405 or 409 while refused; 0: not
	banned       bool      // a ban runs
	banCode      int       // its reason code
	banUntil     time.Time // zero: no end given
	refuse       bool
	proxyDead    bool
	reachout     bool
	undecrypt    map[string]time.Duration // next message from these numbers
	duplicate    int
	dropAfter    int
	connects     []time.Time
	redelivered  int
	ingestFailed int
	retries      int // retry receipts answered
	retriesLost  int // retry receipts the channel could not answer
}

// ChannelStats is what the network saw of a channel.
type ChannelStats struct {
	// Connects are the times of every Connect of the channel's sessions.
	Connects []time.Time
	// Faults lists the lasting faults in force.
	Faults []string
	// Redelivered counts events delivered again after the channel did not
	// store (acknowledge) them, or lost its connection first.
	Redelivered int
	// IngestFailures counts events the channel failed to store.
	IngestFailures int
	// RetriesAnswered and RetriesUnanswered count retry receipts the
	// channel could and could not answer.
	RetriesAnswered, RetriesUnanswered int
}

func (n *Network) faultsOf(channelID string) *channelFaults {
	if n.faults == nil {
		n.faults = map[string]*channelFaults{}
	}
	f := n.faults[channelID]
	if f == nil {
		f = &channelFaults{undecrypt: map[string]time.Duration{}}
		n.faults[channelID] = f
	}
	return f
}

// ChannelStats returns what the network saw of a channel.
func (n *Network) ChannelStats(channelID string) ChannelStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	f := n.faultsOf(channelID)
	st := ChannelStats{Connects: slices.Clone(f.connects), Redelivered: f.redelivered, IngestFailures: f.ingestFailed,
		RetriesAnswered: f.retries, RetriesUnanswered: f.retriesLost}
	for kind, on := range map[string]bool{FaultClientOutdated: f.outdated != 0, FaultBan: f.banned,
		FaultRefuseConnections: f.refuse, FaultProxyUnreachable: f.proxyDead, FaultReachoutLimited: f.reachout} {
		if on {
			st.Faults = append(st.Faults, kind)
		}
	}
	slices.Sort(st.Faults)
	return st
}

// Inject plays f on a channel. Kinds that act on a connection or a device
// need an open session (ErrSessionNotFound); lasting kinds can be set
// before the channel opens one. Bad arguments are ErrBadFault.
func (n *Network) Inject(channelID string, f Fault) (FaultResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return FaultResult{}, ErrClosed
	}
	cf := n.faultsOf(channelID)
	s := n.sessions[channelID]
	res := FaultResult{Connected: s != nil && s.connected}
	needSession := func() error {
		if s == nil {
			return fmt.Errorf("%w: %s", ErrSessionNotFound, channelID)
		}
		return nil
	}
	now := n.opts.Now()
	switch f.Kind {
	case FaultClear:
		*cf = channelFaults{undecrypt: map[string]time.Duration{}, connects: cf.connects, redelivered: cf.redelivered,
			ingestFailed: cf.ingestFailed, retries: cf.retries, retriesLost: cf.retriesLost}
	case FaultDisconnect:
		if err := needSession(); err != nil {
			return res, err
		}
		s.disconnectLocked(ReasonConnectionLost, true)
	case FaultStreamError:
		if err := needSession(); err != nil {
			return res, err
		}
		code := f.Code
		if code == 0 {
			code = 503
		}
		if s.connected {
			s.emit(engine.StreamError{Code: fmt.Sprint(code)})
			s.disconnectLocked("", true)
		}
	case FaultKeepAliveLost:
		if err := needSession(); err != nil {
			return res, err
		}
		if s.connected {
			s.emit(engine.KeepAliveLost{Failures: 1, LastSuccess: now.Add(-time.Duration(f.Seconds) * time.Second)})
		}
	case FaultKeepAliveRestored:
		if err := needSession(); err != nil {
			return res, err
		}
		if s.connected {
			s.emit(engine.KeepAliveRestored{})
		}
	case FaultReplaced:
		if err := needSession(); err != nil {
			return res, err
		}
		if s.connected {
			s.dropLocked()
			s.emit(engine.StreamReplaced{})
		}
	case FaultBan:
		if f.Seconds < 0 {
			return res, fmt.Errorf("%w: seconds must not be negative", ErrBadFault)
		}
		cf.banned, cf.banCode, cf.banUntil = true, f.Code, time.Time{}
		if f.Seconds > 0 {
			cf.banUntil = now.Add(time.Duration(f.Seconds) * time.Second)
		}
		if s != nil && s.connected {
			s.dropLocked()
			s.emit(cf.ban(now))
		}
	case FaultLogout:
		if err := needSession(); err != nil {
			return res, err
		}
		if s.dev == nil {
			return res, fmt.Errorf("%w: the channel is not linked", ErrBadFault)
		}
		n.revoke(s.dev, "the phone unlinked this device", nil)
	case FaultClientOutdated:
		code := f.Code
		if code == 0 {
			code = 405
		}
		if code != 405 && code != 409 {
			return res, fmt.Errorf("%w: code must be 405 or 409", ErrBadFault)
		}
		cf.outdated = code
		if s != nil && s.connected {
			s.dropLocked()
			s.emit(engine.ClientOutdated{Code: code, Version: Version})
		}
	case FaultRefuseConnections:
		cf.refuse = true
		if s != nil {
			s.disconnectLocked(ReasonConnectionLost, true)
		}
	case FaultProxyUnreachable:
		cf.proxyDead = true
		if s != nil && s.connProxy != "" {
			s.disconnectLocked("the proxy stopped answering", true)
		}
	case FaultReachoutLimited:
		cf.reachout = true
	case FaultUndecryptable:
		from := strings.TrimPrefix(strings.TrimSpace(f.From), "+")
		if !validNumber(from) {
			return res, fmt.Errorf("%w: from must be a phone number", ErrBadFault)
		}
		d := time.Duration(f.Seconds) * time.Second
		if d <= 0 {
			d = time.Second
		}
		cf.undecrypt[from] = d
	case FaultDuplicate:
		cf.duplicate++
	case FaultDropBeforeAck:
		cf.dropAfter++
	case FaultRetryReceipt:
		if err := needSession(); err != nil {
			return res, err
		}
		if f.ID == "" {
			return res, fmt.Errorf("%w: id is required", ErrBadFault)
		}
		// Answered off the lock: the channel reads its store.
		get, id := s.sent, f.ID
		n.mu.Unlock()
		ok := false
		if get != nil {
			ctx, cancel := context.WithTimeout(context.Background(), ingestTimeout)
			p, err := get(ctx, id)
			cancel()
			ok = err == nil && string(p) == string(payloadOf(id))
		}
		n.mu.Lock()
		res.Answered = ok
		if ok {
			cf.retries++
		} else {
			cf.retriesLost++
		}
	default:
		return res, fmt.Errorf("%w: %q", ErrUnknownFault, f.Kind)
	}
	return res, nil
}

// payloadOf is what the sim engine keeps of a message it sent: enough to
// tell that the channel still has it.
func payloadOf(id string) []byte { return []byte("sim-message:" + id) }

// ban is the TemporaryBan event of the ban in force at now.
func (f *channelFaults) ban(now time.Time) engine.TemporaryBan {
	ev := engine.TemporaryBan{Code: f.banCode, Reason: "sim: temporary ban"}
	if !f.banUntil.IsZero() {
		ev.Expires = max(f.banUntil.Sub(now), time.Second)
	}
	return ev
}

// dropLocked ends a session's connection without an event (the caller
// emits the one that says why).
func (s *session) dropLocked() {
	s.connected = false
	if s.dev != nil && s.dev.conn == s {
		s.dev.conn = nil
	}
}

// connectFault is what the channel's lasting faults do to a Connect: an
// error to return, or an event that ends the attempt (done). Called with
// net.mu held.
func (n *Network) connectFault(s *session) (done bool, err error) {
	cf := n.faultsOf(s.channelID)
	now := n.opts.Now()
	cf.connects = append(cf.connects, now)
	switch {
	case cf.refuse:
		return true, ErrUnreachable
	case cf.proxyDead && s.connProxy != "":
		return true, fmt.Errorf("sim: %w", engine.ErrProxyUnreachable)
	case cf.outdated != 0:
		s.emit(engine.ClientOutdated{Code: cf.outdated, Version: Version})
		return true, nil
	case cf.banned:
		if !cf.banUntil.IsZero() && !now.Before(cf.banUntil) {
			cf.banned = false // over
			return false, nil
		}
		s.emit(cf.ban(now))
		return true, nil
	}
	return false, nil
}

// reachoutFault refuses a message to a number the account never talked
// with while WhatsApp limits the account. Called with net.mu held.
func (n *Network) reachoutFault(s *session, p *phone, t target) error {
	cf := n.faults[s.channelID]
	if cf == nil || !cf.reachout || t.group != nil || t.user == nil {
		return nil
	}
	to := t.user.number
	for _, m := range p.sent {
		if m.to == to {
			return nil
		}
	}
	for _, m := range p.inbox {
		if m.from == to {
			return nil
		}
	}
	return engine.ErrReachoutLimited
}

// held turns a message for a device into an Undecryptable event when the
// channel's faults say so, and delivers the message itself later. Called
// with net.mu held.
func (n *Network) held(d *device, ev engine.Event) (engine.Event, bool) {
	m, ok := ev.(engine.Message)
	if !ok || m.FromMe {
		return nil, false
	}
	cf := n.faults[d.channelID]
	if cf == nil {
		return nil, false
	}
	from := strings.TrimSuffix(m.Sender, "@s.whatsapp.net")
	wait, ok := cf.undecrypt[from]
	if !ok {
		return nil, false
	}
	delete(cf.undecrypt, from)
	time.AfterFunc(wait, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.devices[d.id] == d {
			n.toDevice(d, ev)
		}
	})
	return engine.Undecryptable{ID: m.ID, Chat: m.Chat, Sender: m.Sender, PushName: m.PushName, Time: m.Time}, true
}

// acked records what the session's owner did with a data event: stored it
// (nil) or not. An event not stored goes back to the device's queue, as
// WhatsApp delivers again what a client did not acknowledge; so does one
// delivered just before the connection dropped (FaultDropBeforeAck).
func (n *Network) acked(s *session, ev engine.Event, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	cf := n.faultsOf(s.channelID)
	d := s.dev
	if err != nil {
		cf.ingestFailed++
		if d != nil {
			n.requeue(d, ev)
		}
		return
	}
	if _, ok := ev.(engine.Message); !ok || d == nil || !s.connected {
		return
	}
	switch {
	case cf.dropAfter > 0:
		cf.dropAfter--
		n.requeue(d, ev)
		s.disconnectLocked("the connection dropped before the acknowledgement", true)
	case cf.duplicate > 0:
		cf.duplicate--
		cf.redelivered++
		s.emit(ev)
	}
}

// requeue puts an unacknowledged event at the front of the device's queue
// (after others already put back), for its next connection.
func (n *Network) requeue(d *device, ev engine.Event) {
	cf := n.faultsOf(d.channelID)
	cf.redelivered++
	i := 0
	for i < len(d.queue) && d.requeued > i {
		i++
	}
	d.queue = slices.Insert(d.queue, i, ev)
	d.requeued++
}

// ChannelSessions is one channel's sessions on the network.
type ChannelSessions struct {
	ChannelID string
	// Open counts the channel's open sessions (more than one: two
	// processes run the channel at once).
	Open int
	// Connected: one of them is connected (or in a login flow).
	Connected bool
	// Device is the linked device, when one is.
	Device string
}

// Sessions lists the channels with an open session, by channel ID.
func (n *Network) Sessions() []ChannelSessions {
	n.mu.Lock()
	defer n.mu.Unlock()
	by := map[string]*ChannelSessions{}
	for s := range n.open {
		si := by[s.channelID]
		if si == nil {
			si = &ChannelSessions{ChannelID: s.channelID}
			by[s.channelID] = si
		}
		si.Open++
		if s.connected || s.flow != nil {
			si.Connected = true
		}
		if s.dev != nil {
			si.Device = s.dev.id
		}
	}
	out := make([]ChannelSessions, 0, len(by))
	for _, id := range slices.Sorted(maps.Keys(by)) {
		out = append(out, *by[id])
	}
	return out
}
