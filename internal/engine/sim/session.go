package sim

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/wagate/wagate/internal/engine"
)

// session is one channel's connection to the simulated network.
type session struct {
	net       *Network
	channelID string
	events    func(engine.Event)
	ingest    func(context.Context, engine.Event) error
	sent      func(context.Context, string) ([]byte, error)

	// Guarded by net.mu.
	dev       *device // nil: not linked
	proxy     string
	connProxy string
	connected bool
	flow      *flow
	closed    bool
	subs      map[string]struct{} // numbers whose presence the connection watches

	// The event queue; qmu is taken after net.mu, never before it.
	qmu   sync.Mutex
	cond  *sync.Cond
	queue []engine.Event
	stop  bool
	done  chan struct{}
}

var _ engine.Session = (*session)(nil)

// Open prepares a session for a channel; it does not connect. cfg.Device
// empty: unlinked, Connect starts a login flow. A Device the network knows
// attaches to it; a well-formed "sim:<digits>:<id>" the network does not
// know (after a restart) is re-registered, with its phone (named after its
// number, until AddPhone adopts it) when that is missing too; a device this network revoked or a
// malformed one is engine.ErrDeviceNotFound. A bad cfg.Proxy is
// engine.ErrBadProxy; an empty ChannelID is ErrInvalidChannel. A nil
// cfg.Events drops the events.
func (n *Network) Open(ctx context.Context, cfg engine.SessionConfig) (engine.Session, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if cfg.ChannelID == "" {
		return nil, ErrInvalidChannel
	}
	if err := checkProxy(cfg.Proxy); err != nil {
		return nil, err
	}
	s := &session{net: n, channelID: cfg.ChannelID, events: cfg.Events, ingest: cfg.Ingest, sent: cfg.SentPayload,
		proxy: cfg.Proxy, done: make(chan struct{})}
	if s.events == nil {
		s.events = func(engine.Event) {}
	}
	s.cond = sync.NewCond(&s.qmu)

	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	if cfg.Device != "" {
		d := n.devices[cfg.Device]
		if d == nil {
			if n.revoked[cfg.Device] {
				return nil, fmt.Errorf("%w: %s was unlinked", engine.ErrDeviceNotFound, cfg.Device)
			}
			if d = n.reregister(cfg.Device); d == nil {
				return nil, fmt.Errorf("%w: %q is not a sim device (sim:<digits>:<id>)", engine.ErrDeviceNotFound, cfg.Device)
			}
		}
		d.channelID = cfg.ChannelID
		d.holders[s] = struct{}{}
		s.dev = d
	}
	n.open[s] = struct{}{}
	n.sessions[s.channelID] = s
	go s.deliverLoop()
	return s, nil
}

// emit queues an event for delivery. Called with net.mu held.
func (s *session) emit(ev engine.Event) {
	s.qmu.Lock()
	if !s.stop {
		s.queue = append(s.queue, ev)
		s.cond.Signal()
	}
	s.qmu.Unlock()
}

// deliverLoop calls Events for each queued event, one at a time, until
// stopDelivery.
func (s *session) deliverLoop() {
	defer close(s.done)
	for {
		s.qmu.Lock()
		for len(s.queue) == 0 && !s.stop {
			s.cond.Wait()
		}
		if s.stop {
			s.queue = nil
			s.qmu.Unlock()
			return
		}
		ev := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.qmu.Unlock()
		s.deliver(ev)
	}
}

// deliver hands one event to the session's owner: data events to Ingest,
// which acknowledges them (an event it fails to store goes back to the
// device's queue, delivered again on its next connection, as WhatsApp
// does with what a client did not acknowledge), the rest to Events.
func (s *session) deliver(ev engine.Event) {
	if !engine.IsData(ev) {
		s.events(ev)
		return
	}
	if s.ingest == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ingestTimeout)
	err := s.ingest(ctx, ev)
	cancel()
	s.net.acked(s, ev, err)
}

// stopDelivery drops the queued events and waits until no Events call runs.
func (s *session) stopDelivery() {
	s.qmu.Lock()
	s.stop = true
	s.cond.Broadcast()
	s.qmu.Unlock()
	<-s.done
}

// detach removes a session from the network (Close). Called with net.mu held.
func (n *Network) detach(s *session) {
	s.closed = true
	if s.flow != nil {
		n.endFlow(s.flow, "the login flow was cancelled (the session closed)")
	}
	if d := s.dev; d != nil {
		delete(d.holders, s)
		if d.conn == s {
			d.conn = nil
		}
	}
	s.connected = false
	n.unsubscribeAll(s)
	delete(n.open, s)
	if n.sessions[s.channelID] == s {
		delete(n.sessions, s.channelID)
	}
}

// Close disconnects and releases the session; it keeps the login (the
// device stays linked and queues messages). No event is delivered after
// Close returns; Close waits for a running Events call.
func (s *session) Close() error {
	n := s.net
	n.mu.Lock()
	if s.closed {
		n.mu.Unlock()
		return nil
	}
	n.detach(s)
	n.mu.Unlock()
	s.stopDelivery()
	return nil
}

// Connect: a linked session connects at once (Connected, then what was
// queued while offline). A session connected elsewhere with the same device
// loses its stream (StreamReplaced). An unlinked session starts a login
// flow (QR events). Connecting or connected sessions: no-op. The proxy set
// now is the one the connection uses.
func (s *session) Connect(ctx context.Context) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	n := s.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.connected || s.flow != nil {
		return nil
	}
	s.connProxy = s.proxy
	if done, err := n.connectFault(s); done {
		return err
	}
	if s.dev == nil {
		n.startFlow(s)
		return nil
	}
	d := s.dev
	if old := d.conn; old != nil && old != s {
		old.connected = false
		old.emit(engine.StreamReplaced{})
	}
	d.conn, s.connected = s, true
	n.unsubscribeAll(s) // subscriptions last one connection
	s.emit(engine.Connected{})
	queued := d.queue
	d.queue, d.requeued = nil, 0
	for _, ev := range queued {
		s.emit(ev)
	}
	return nil
}

// Disconnect closes the connection (or cancels a login flow); the login is
// kept. It emits nothing (the caller knows). Without a connection it does
// nothing.
func (s *session) Disconnect() {
	n := s.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if s.closed {
		return
	}
	s.disconnectLocked("", false)
}

// disconnectLocked ends a connection or login flow, with a Disconnected
// event giving reason when emit is set (the network dropped it; the
// session's own Disconnect emits nothing).
func (s *session) disconnectLocked(reason string, emit bool) bool {
	switch {
	case s.connected:
		s.connected = false
		if s.dev != nil && s.dev.conn == s {
			s.dev.conn = nil
		}
	case s.flow != nil:
		s.net.endFlow(s.flow, "the login flow was cancelled (disconnected)")
	default:
		return false
	}
	if emit {
		s.emit(engine.Disconnected{Reason: reason})
	}
	return true
}

// Logout tells the network to unlink the device: the phone no longer lists
// it, Open with it is ErrDeviceNotFound, and the session is unlinked (and
// disconnected). This session gets no event; other open sessions holding
// the same device get LoggedOut. Not linked: engine.ErrNotLinked. It works
// without a connection (the sim network is always reachable).
func (s *session) Logout(ctx context.Context) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	n := s.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.dev == nil {
		return engine.ErrNotLinked
	}
	n.revoke(s.dev, "logged out from another session of this device", s)
	return nil
}

// Forget drops the device locally, without telling the network: the session
// is unlinked (and disconnected, without an event), but the phone still
// lists the device, messages to the account queue for it, and Open with the
// device string works again, until the device logs out or the phone unlinks
// it (Unlink). Not linked: nothing to do.
func (s *session) Forget(ctx context.Context) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	n := s.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if d := s.dev; d != nil {
		delete(d.holders, s)
		if d.conn == s {
			d.conn = nil
		}
	}
	s.dev, s.connected = nil, false
	return nil
}

// PairPhone returns an 8-character pairing code for a number while the
// login flow runs: 8 characters from "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
// (WhatsApp's alphabet: no 0, I, O or U), e.g. "K7QX2M9D"; WhatsApp shows
// it as "K7QX-2M9D", and LinkCode accepts both. The number need not have a
// phone yet (LinkCode needs one). A new code replaces the flow's previous
// one. Errors: engine.ErrAlreadyLinked, engine.ErrInvalidPhone,
// engine.ErrNotInLoginFlow.
func (s *session) PairPhone(ctx context.Context, number string) (string, error) {
	if err := ctxErr(ctx); err != nil {
		return "", err
	}
	number = strings.TrimPrefix(strings.TrimSpace(number), "+")
	n := s.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if s.closed {
		return "", ErrClosed
	}
	if s.dev != nil {
		return "", engine.ErrAlreadyLinked
	}
	if !validNumber(number) {
		return "", fmt.Errorf("%w: %q is not 7 to 15 digits", engine.ErrInvalidPhone, number)
	}
	f := s.flow
	if f == nil {
		return "", engine.ErrNotInLoginFlow
	}
	if f.pair != nil {
		n.retirePair(f.pair, "a newer pairing code replaced it")
	}
	var code string
	for {
		code = pairingCode()
		if n.pairs[code] == nil {
			break
		}
	}
	f.pair = &pairCode{code: code, phone: number, flow: f}
	n.pairs[code] = f.pair
	return code, nil
}

// SetProxy validates and records the proxy ("" or a socks5://, http:// or
// https:// URL with a host; else engine.ErrBadProxy). It applies on the
// next Connect (SessionInfo.ConnProxy).
func (s *session) SetProxy(proxy string) error {
	if err := checkProxy(proxy); err != nil {
		return err
	}
	n := s.net
	n.mu.Lock()
	defer n.mu.Unlock()
	s.proxy = proxy
	return nil
}

// Linked reports whether the session has a device.
func (s *session) Linked() bool {
	s.net.mu.Lock()
	defer s.net.mu.Unlock()
	return s.dev != nil
}

// Self is the linked account (number and current name).
func (s *session) Self() engine.Account {
	s.net.mu.Lock()
	defer s.net.mu.Unlock()
	if s.dev == nil {
		return engine.Account{}
	}
	return engine.Account{Phone: s.dev.phone.number, Name: s.dev.phone.name}
}

// online returns the device of a linked, connected session.
func (s *session) online() (*device, error) {
	switch {
	case s.closed:
		return nil, ErrClosed
	case s.dev == nil:
		return nil, engine.ErrNotLinked
	case !s.connected:
		return nil, engine.ErrNotConnected
	}
	return s.dev, nil
}

// Profile reads the account's name and about. Errors: engine.ErrNotLinked,
// engine.ErrNotConnected.
func (s *session) Profile(ctx context.Context) (engine.Profile, error) {
	if err := ctxErr(ctx); err != nil {
		return engine.Profile{}, err
	}
	s.net.mu.Lock()
	defer s.net.mu.Unlock()
	d, err := s.online()
	if err != nil {
		return engine.Profile{}, err
	}
	return engine.Profile{Name: d.phone.name, About: d.phone.about}, nil
}

// SetProfile changes the account's name (1 to 25 characters) and/or about
// (up to 139); the phone shows the change. Errors: ErrInvalidProfile,
// engine.ErrNotLinked, engine.ErrNotConnected.
func (s *session) SetProfile(ctx context.Context, p engine.ProfileUpdate) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if p.Name != nil {
		if err := checkName(*p.Name); err != nil {
			return err
		}
	}
	if p.About != nil {
		if err := checkAbout(*p.About); err != nil {
			return err
		}
	}
	s.net.mu.Lock()
	defer s.net.mu.Unlock()
	d, err := s.online()
	if err != nil {
		return err
	}
	name, about := d.phone.name, d.phone.about
	if p.Name != nil {
		name = *p.Name
	}
	if p.About != nil {
		about = *p.About
	}
	if err := s.net.save(d.phone.number, name, about); err != nil {
		return err
	}
	d.phone.name, d.phone.about = name, about
	return nil
}

// MarkRead marks messages the account received as read, like Read on the
// phone: the phone's inbox shows them read, the senders' devices get read
// receipts (for group messages: Chat the group, Sender this account).
// chat and sender are not needed (IDs are unique on the network). IDs the
// account did not receive are ErrMessageNotFound, naming them, and nothing
// is marked. Errors also: engine.ErrNotLinked,
// engine.ErrNotConnected.
func (s *session) MarkRead(ctx context.Context, chat, sender string, ids []string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	n := s.net
	n.mu.Lock()
	defer n.mu.Unlock()
	d, err := s.online()
	if err != nil {
		return err
	}
	ms, err := n.received(d.phone, ids)
	if err != nil {
		return err
	}
	n.markRead(d.phone, ms)
	return nil
}

// flow is a running login flow of an unlinked session.
type flow struct {
	s        *session
	keys     string // the fixed part of every QR code of the flow
	issued   int
	cur      *qrCode
	timer    *time.Timer
	deadline time.Time // on Options.Now: when the last code expires
	pair     *pairCode
	ended    bool
}

type qrCode struct {
	code    string
	flow    *flow
	expires time.Time
	gone    string // why it is no longer valid; "" while current
}

type pairCode struct {
	code  string
	phone string
	flow  *flow
	gone  string
}

// startFlow begins a login flow: the first QR code.
func (n *Network) startFlow(s *session) {
	o := n.opts
	f := &flow{s: s, keys: "," + randB64(32) + "," + randB64(32) + "," + randB64(32)}
	f.deadline = o.Now().Add(o.QRFirst + time.Duration(o.QRCount-1)*o.QRNext)
	s.flow = f
	n.issue(f, o.QRFirst)
}

// issue shows the flow's next QR code, valid for d.
func (n *Network) issue(f *flow, d time.Duration) {
	var code string
	for {
		// Like WhatsApp's: "<ref>,<noise key>,<identity key>,<adv secret>";
		// the ref changes with every code, the keys stay for the flow.
		code = "2@" + randB64(48) + f.keys
		if n.qrs[code] == nil {
			break
		}
	}
	c := &qrCode{code: code, flow: f, expires: n.opts.Now().Add(d)}
	n.qrs[code] = c
	f.cur = c
	f.issued++
	f.timer = time.AfterFunc(d, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if !f.ended && f.cur == c {
			n.rotate(f)
		}
	})
	f.s.emit(engine.QR{Code: code, Expires: c.expires})
}

// rotate retires the current code and issues the next, or ends the flow
// with QRTimeout after the last.
func (n *Network) rotate(f *flow) {
	f.timer.Stop()
	if f.issued < n.opts.QRCount {
		n.retireQR(f.cur, "it was rotated out: the channel shows a newer code")
		n.issue(f, n.opts.QRNext)
		return
	}
	n.endFlow(f, "the login flow timed out (all codes expired)")
	f.s.emit(engine.QRTimeout{})
}

// endFlow stops a flow; its codes are retired with reason.
func (n *Network) endFlow(f *flow, reason string) {
	if f.ended {
		return
	}
	f.ended = true
	f.timer.Stop()
	if f.cur != nil {
		n.retireQR(f.cur, reason)
	}
	if f.pair != nil {
		n.retirePair(f.pair, reason)
	}
	if f.s.flow == f {
		f.s.flow = nil
	}
}

func (n *Network) retireQR(c *qrCode, reason string) {
	if c.gone == "" {
		c.gone = reason
		n.retire("q" + c.code)
	}
}

func (n *Network) retirePair(c *pairCode, reason string) {
	if c.gone == "" {
		c.gone = reason
		n.retire("p" + c.code)
	}
}

// link ends a flow successfully: the session becomes a device of p.
func (n *Network) link(f *flow, p *phone) string {
	s := f.s
	n.endFlow(f, "it was already used to link a device")
	var id string
	for {
		id = "sim:" + p.number + ":" + strings.ToLower(randHex(6))
		if n.devices[id] == nil && !n.revoked[id] {
			break
		}
	}
	d := &device{id: id, phone: p, channelID: s.channelID, linkedAt: n.opts.Now(), holders: map[*session]struct{}{s: {}}}
	p.devices = append(p.devices, d)
	n.devices[id] = d
	s.dev, s.connected, d.conn = d, true, s
	s.emit(engine.Linked{Device: id, Account: engine.Account{Phone: p.number, Name: p.name}})
	s.emit(engine.Connected{})
	return s.channelID
}

// pairingAlphabet is WhatsApp's pairing-code alphabet.
const pairingAlphabet = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"

func pairingCode() string {
	b := randBytes(8)
	for i := range b {
		b[i] = pairingAlphabet[int(b[i])%len(pairingAlphabet)] // 256 % 32 == 0: uniform
	}
	return string(b)
}
