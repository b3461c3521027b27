package fakewa

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
)

// Account is a WhatsApp account: a phone number, its LID, the phone's
// identity key (which signs the devices it links) and its linked devices.
// Its embedded Faults apply to all its devices.
type Account struct {
	Faults

	srv      *Server
	phone    string
	lid      string
	identity *keys.KeyPair

	mu       sync.Mutex
	business string
	devices  map[uint16]*Device
	nextID   uint16
	appState *appState // app state collections (appstate.go)
}

// Account returns the account of a phone number (digits, an optional +),
// creating it on first use with a LID of its own.
func (s *Server) Account(phone string) *Account {
	phone = strings.TrimPrefix(phone, "+")
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[phone]; ok {
		return a
	}
	a := &Account{srv: s, phone: phone, lid: lidFor(phone), identity: keys.NewKeyPair(),
		devices: map[uint16]*Device{}, nextID: 1}
	a.Faults.live = a.liveConns
	s.accounts[phone] = a
	s.lids[a.lid] = a
	return a
}

// Accounts returns the accounts the server knows.
func (s *Server) Accounts() []*Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *Account) int { return strings.Compare(a.phone, b.phone) })
	return out
}

// lidFor is the LID the server gives a phone number: stable and distinct.
func lidFor(phone string) string {
	n, _ := strconv.ParseUint(phone, 10, 64)
	return strconv.FormatUint(100000000000000+n%900000000000000, 10)
}

// Phone is the account's phone number.
func (a *Account) Phone() string { return a.phone }

// JID is the account's phone-number JID.
func (a *Account) JID() types.JID { return types.NewJID(a.phone, types.DefaultUserServer) }

// LID is the account's LID.
func (a *Account) LID() types.JID { return types.NewJID(a.lid, types.HiddenUserServer) }

// SetBusinessName sets the business name pairing announces (pair-success
// <biz name>), which whatsmeow stores as the device's BusinessName.
func (a *Account) SetBusinessName(name string) {
	a.mu.Lock()
	a.business = name
	a.mu.Unlock()
}

// Device returns a device of the account by its device number, nil if the
// account never had it.
func (a *Account) Device(id uint16) *Device {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.devices[id]
}

// Devices returns the account's linked devices, by device number.
func (a *Account) Devices() []*Device {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*Device, 0, len(a.devices))
	for _, d := range a.devices {
		if d.Linked() {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(x, y *Device) int { return int(x.id) - int(y.id) })
	return out
}

func (a *Account) liveConns() []*Conn {
	var out []*Conn
	for _, d := range a.Devices() {
		out = append(out, d.liveConns()...)
	}
	return out
}

// newDevice makes the account's next device (not yet linked).
func (a *Account) newDevice() *Device {
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.devices[a.nextID] != nil {
		a.nextID++
	}
	d := a.makeDevice(a.nextID)
	a.nextID++
	return d
}

// makeDevice adds device id to the account; a.mu is held.
func (a *Account) makeDevice(id uint16) *Device {
	d := &Device{acct: a, id: id}
	d.Faults.live = d.liveConns
	a.devices[id] = d
	return d
}

// loginDevice finds the device a login names: linked with this Noise key,
// or (autoLink) linked now, unless it was logged out. Known is false when
// the login must fail.
func (a *Account) loginDevice(id uint16, noiseKey [32]byte, autoLink bool) (d *Device, known bool) {
	a.mu.Lock()
	d = a.devices[id]
	if d == nil && autoLink {
		d = a.makeDevice(id)
		if id >= a.nextID {
			a.nextID = id + 1
		}
	}
	a.mu.Unlock()
	if d == nil {
		return nil, false
	}
	d.mu.Lock()
	if d.linked && d.noiseKey == noiseKey {
		d.mu.Unlock()
		return d, true
	}
	if !autoLink || d.removed {
		d.mu.Unlock()
		return nil, false
	}
	d.relinkLocked(noiseKey)
	d.mu.Unlock()
	a.srv.forgetSessions(d)
	return d, true
}

// Device is a linked (companion) device of an account: the keys it
// registered, its live connection, its connection attempts and its offline
// queue. Its embedded Faults apply to it alone.
type Device struct {
	Faults

	acct *Account
	id   uint16

	mu       sync.Mutex
	linked   bool
	removed  bool // logged out: it never logs in again
	auto     bool // linked on its first login (made in a client's store)
	noiseKey [32]byte
	keys     deviceKeys
	conn     *Conn // logged in now
	outbox   []*stanza
	acked    int // acked stanzas in outbox
	attempts []time.Time
}

const (
	maxAckedHistory  = 256
	maxDeviceAttempt = 4096
)

// JID is the device's phone-number JID (phone:device@s.whatsapp.net).
func (d *Device) JID() types.JID {
	return types.JID{User: d.acct.phone, Device: d.id, Server: types.DefaultUserServer}
}

// LID is the device's LID JID.
func (d *Device) LID() types.JID {
	return types.JID{User: d.acct.lid, Device: d.id, Server: types.HiddenUserServer}
}

// ID is the device number.
func (d *Device) ID() uint16 { return d.id }

// Account is the device's account.
func (d *Device) Account() *Account { return d.acct }

// Linked reports whether the device is linked (not logged out).
func (d *Device) Linked() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.linked
}

// Conn is the device's logged-in connection, nil when it is offline.
func (d *Device) Conn() *Conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conn
}

// WaitOnline waits until the device is logged in and returns its
// connection.
func (d *Device) WaitOnline(ctx context.Context) (*Conn, error) {
	var c *Conn
	err := d.acct.srv.wait(ctx, func() bool { c = d.Conn(); return c != nil })
	if err != nil {
		return nil, fmt.Errorf("fakewa: waiting for %s to log in: %w", d.JID(), err)
	}
	return c, nil
}

// WaitOffline waits until the device has no logged-in connection.
func (d *Device) WaitOffline(ctx context.Context) error {
	return d.acct.srv.wait(ctx, func() bool { return d.Conn() == nil })
}

// Attempts returns when the device tried to log in (handshakes that named
// it), oldest first; count those after a time to measure reconnects.
func (d *Device) Attempts() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.attempts)
}

// AttemptsSince is how many login attempts the device made since t.
func (d *Device) AttemptsSince(t time.Time) int {
	n := 0
	for _, at := range d.Attempts() {
		if !at.Before(t) {
			n++
		}
	}
	return n
}

func (d *Device) noteAttempt(t time.Time) {
	d.mu.Lock()
	if len(d.attempts) >= maxDeviceAttempt {
		d.attempts = append(d.attempts[:0], d.attempts[len(d.attempts)/2:]...)
	}
	d.attempts = append(d.attempts, t)
	d.mu.Unlock()
}

func (d *Device) liveConns() []*Conn {
	if c := d.Conn(); c != nil {
		return []*Conn{c}
	}
	return nil
}

// relinkLocked links the device anew with a Noise key: its keys and
// queue are forgotten. d.mu is held.
func (d *Device) relinkLocked(noiseKey [32]byte) {
	d.linked, d.noiseKey, d.keys, d.auto = true, noiseKey, deviceKeys{}, true
	d.outbox, d.acked = nil, 0
}

// unlink logs the device out: the server forgets it, and peers their
// sessions with it.
func (d *Device) unlink() {
	d.mu.Lock()
	d.linked, d.removed = false, true
	d.keys = deviceKeys{}
	d.outbox, d.acked = nil, 0
	d.mu.Unlock()
	d.acct.srv.forgetSessions(d)
	d.acct.srv.events.notify()
}

// goOnline makes c the device's live connection: it sends <success>, then
// every stanza still pending (WhatsApp's offline queue), then the end of
// the offline batch. It returns the connection c replaces.
func (d *Device) goOnline(c *Conn) (old *Conn) {
	d.mu.Lock()
	old, d.conn = d.conn, c
	if err := c.Send(c.successNode(d)); err != nil {
		d.conn = old
		d.mu.Unlock()
		return nil
	}
	c.mu.Lock()
	c.online = true
	c.mu.Unlock()
	pending := 0
	for _, st := range d.outbox {
		if !st.acked {
			d.writeLocked(st)
			pending++
		}
	}
	d.mu.Unlock()
	_ = c.Send(waBinary.Node{Tag: "ib", Attrs: waBinary.Attrs{},
		Content: []waBinary.Node{{Tag: "offline", Attrs: waBinary.Attrs{"count": pending}}}})
	if old == c {
		old = nil
	}
	return old
}

func (d *Device) goOffline(c *Conn) {
	d.mu.Lock()
	if d.conn == c {
		d.conn = nil
	}
	d.mu.Unlock()
}
