package fakewa

import (
	"context"
	"crypto/cipher"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/types"
)

// Conn is one client connection after the Noise handshake: a login of a
// linked device, or a registration (an unlinked client showing QR codes).
// Its state is one goroutine (the reader) and, while tests look, the nodes
// the client sent.
type Conn struct {
	srv     *Server
	ws      *websocket.Conn
	payload *waWa6.ClientPayload
	static  [32]byte // the client's Noise key
	started time.Time
	closed  chan struct{}
	once    sync.Once

	wmu    sync.Mutex
	write  cipher.AEAD
	wcount uint32
	read   cipher.AEAD // the reader goroutine's
	rcount uint32

	mu       sync.Mutex
	device   *Device // the device that logged in, or that this registration paired
	online   bool    // <success> sent
	nodes    []*waBinary.Node
	nodeBase int // absolute index of nodes[0]
	cursor   int // WaitNode's absolute position
	waiters  map[string]chan *waBinary.Node
}

func serveConn(s *Server, ws *websocket.Conn) {
	now := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	fr := &frameReader{ws: ws}
	hs, err := handshake(ctx, ws, fr, s.static, s.chain)
	cancel()
	if err != nil {
		s.attempt(Attempt{Time: now, Result: "handshake failed"})
		s.log.Debug("fakewa: handshake", slog.Any("error", err))
		ws.CloseNow()
		return
	}
	c := &Conn{srv: s, ws: ws, payload: hs.payload, static: hs.clientStatic, started: now,
		closed: make(chan struct{}), write: hs.write, read: hs.read}
	s.track(c)
	defer func() {
		c.Close()
		c.detach()
		s.untrack(c)
	}()
	if c.Login() {
		c.login()
	} else {
		c.register()
	}
	for {
		frame, err := fr.next(context.Background())
		if err != nil {
			return
		}
		plain, err := c.read.Open(frame[:0], nonce(c.rcount), frame, nil)
		c.rcount++
		if err != nil {
			s.log.Debug("fakewa: bad frame", slog.Any("error", err))
			return
		}
		data, err := waBinary.Unpack(plain)
		if err != nil {
			return
		}
		node, err := waBinary.Unmarshal(data)
		if err != nil {
			s.log.Debug("fakewa: bad node", slog.Any("error", err))
			return
		}
		c.handle(node)
	}
}

// Payload is the ClientPayload the client sent in the handshake.
func (c *Conn) Payload() *waWa6.ClientPayload { return c.payload }

// Login reports whether the client logged in as a linked device (rather
// than registering a new one).
func (c *Conn) Login() bool { return c.payload.Username != nil }

// DeviceJID is the device the client logged in as (from its payload); empty
// for a registration.
func (c *Conn) DeviceJID() types.JID {
	if !c.Login() {
		return types.EmptyJID
	}
	return types.JID{User: fmt.Sprint(c.payload.GetUsername()), Device: uint16(c.payload.GetDevice()), Server: types.DefaultUserServer}
}

// Device is the device of the connection: the one that logged in, or the
// one a registration paired; nil before.
func (c *Conn) Device() *Device {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.device
}

// Closed is closed when the connection is.
func (c *Conn) Closed() <-chan struct{} { return c.closed }

// Close drops the connection without a word, as a network failure would.
func (c *Conn) Close() {
	c.once.Do(func() {
		close(c.closed)
		c.ws.CloseNow()
	})
}

func (c *Conn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *Conn) isOnline() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.online
}

// onlineDevice is the device of a connection that logged in (got
// <success>), nil otherwise: WhatsApp takes no stanza before that.
func (c *Conn) onlineDevice() *Device {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.online {
		return nil
	}
	return c.device
}

// closeSoon closes the connection after the server's grace, or earlier if
// the client closes it: what WhatsApp does after a failure or stream error.
func (c *Conn) closeSoon() {
	go func() {
		t := time.NewTimer(c.srv.opts.CloseGrace)
		defer t.Stop()
		select {
		case <-c.closed:
		case <-t.C:
		}
		c.Close()
	}()
}

// Send encrypts and sends a node to the client as it is (untracked: use a
// Peer or Device for stanzas that must be acknowledged).
func (c *Conn) Send(node waBinary.Node) error {
	data, err := marshalNode(node)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.isClosed() {
		return ErrNotConnected
	}
	ct := c.write.Seal(nil, nonce(c.wcount), data, nil)
	c.wcount++
	ctx, cancel := context.WithTimeout(context.Background(), c.srv.opts.WriteTimeout)
	defer cancel()
	if err := writeFrame(ctx, c.ws, ct); err != nil {
		c.Close()
		return fmt.Errorf("fakewa: write: %w", err)
	}
	return nil
}

// marshalNode is waBinary.Marshal, with its panics (an attribute of a type
// it cannot encode) as errors.
func marshalNode(node waBinary.Node) (data []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("fakewa: marshal <%s>: %v", node.Tag, p)
		}
	}()
	data, err = waBinary.Marshal(node)
	if err != nil {
		err = fmt.Errorf("fakewa: marshal <%s>: %w", node.Tag, err)
	}
	return data, err
}

// request sends an IQ and waits for the client's answer (result or error).
func (c *Conn) request(ctx context.Context, iq waBinary.Node) (*waBinary.Node, error) {
	id := c.srv.newID()
	iq.Attrs["id"] = id
	ch := make(chan *waBinary.Node, 1)
	c.mu.Lock()
	if c.waiters == nil {
		c.waiters = map[string]chan *waBinary.Node{}
	}
	c.waiters[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiters, id)
		c.mu.Unlock()
	}()
	if err := c.Send(iq); err != nil {
		return nil, err
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-c.closed:
		return nil, ErrNotConnected
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// play sends what a fault sends and closes the connection as WhatsApp
// would.
func (c *Conn) play(f Fault, onConnect bool) {
	c.srv.log.Debug("fakewa: fault", slog.String("fault", f.String()), slog.Any("device", c.DeviceJID()))
	switch f.kind {
	case faultDrop:
		c.Close()
		return
	case faultStall:
		return
	case faultLoggedOut:
		if d := c.Device(); d != nil {
			d.unlink()
		}
	}
	if node, ok := f.node(onConnect); ok {
		_ = c.Send(node)
		c.closeSoon()
	}
}

// chain is the fault scopes of the connection, nearest first.
func (c *Conn) chain() chain {
	if d := c.Device(); d != nil {
		return chain{&d.Faults, &d.acct.Faults, &c.srv.Faults}
	}
	return chain{&c.srv.Faults}
}

// login answers a linked device's login: a fault, or <success> and then
// whatever the device's offline queue holds.
func (c *Conn) login() {
	s := c.srv
	jid := c.DeviceJID()
	acct := s.Account(jid.User)
	d, known := acct.loginDevice(jid.Device, c.static, !s.opts.RejectUnknownDevices)
	if !known {
		s.attempt(Attempt{Time: c.started, Device: jid, Result: "unknown device"})
		c.play(Failure(401), true)
		return
	}
	c.mu.Lock()
	c.device = d
	c.mu.Unlock()
	d.noteAttempt(c.started)
	if f, ok := c.chain().connectFault(c.payload); ok {
		s.attempt(Attempt{Time: c.started, Device: d.JID(), Result: f.String()})
		c.play(f, true)
		return
	}
	s.attempt(Attempt{Time: c.started, Device: d.JID(), Result: "login"})
	old := d.goOnline(c)
	if old != nil {
		old.play(Replaced(), false)
	}
	s.mu.Lock()
	s.stats.Logins++
	if old != nil {
		s.stats.Replaced++
	}
	s.mu.Unlock()
	s.events.notify()
}

// successNode is <success>: the login went through.
func (c *Conn) successNode(d *Device) waBinary.Node {
	return waBinary.Node{Tag: "success", Attrs: waBinary.Attrs{
		"t": time.Now().Unix(), "props": "1", "abprops": "1", "location": "fakewa",
		"lid": d.LID(), "display_name": "",
	}}
}

// detach takes the connection off its device when it ends.
func (c *Conn) detach() {
	if d := c.Device(); d != nil {
		d.goOffline(c)
	}
}

// handle is called for every client node, on the reader goroutine.
func (c *Conn) handle(node *waBinary.Node) {
	c.srv.mu.Lock()
	c.srv.stats.Received++
	c.srv.mu.Unlock()
	if !isPing(node) {
		c.keep(node)
	}
	switch node.Tag {
	case "iq":
		c.handleIQ(node)
	case "message":
		c.handleMessage(node)
	case "receipt":
		c.handleReceipt(node)
	case "call":
		c.handleCall(node) // calls.go
	case "ack":
		if d := c.onlineDevice(); d != nil {
			cls, _ := node.Attrs["class"].(string)
			id, _ := node.Attrs["id"].(string)
			d.ack(cls, id)
		}
	}
	c.srv.events.notify()
}

func isPing(n *waBinary.Node) bool {
	return n.Tag == "iq" && n.Attrs["xmlns"] == "w:p"
}

func (c *Conn) keep(node *waBinary.Node) {
	max := c.srv.opts.KeepNodes
	if max < 0 {
		return
	}
	c.mu.Lock()
	if len(c.nodes) >= max {
		drop := max/2 + 1
		c.nodes = append(c.nodes[:0], c.nodes[drop:]...)
		c.nodeBase += drop
	}
	c.nodes = append(c.nodes, node)
	c.mu.Unlock()
}

// Nodes returns the nodes the client sent that the connection kept
// (Options.KeepNodes; keepalive pings are never kept), oldest first.
func (c *Conn) Nodes() []*waBinary.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.nodes)
}

// WaitNode waits for a node from the client that match accepts. It looks
// at the nodes after the one the previous WaitNode returned (from the
// first, for the first call), so a node that came before the call is found
// too and consecutive calls walk through the client's nodes in order.
func (c *Conn) WaitNode(ctx context.Context, match func(*waBinary.Node) bool) (*waBinary.Node, error) {
	var found *waBinary.Node
	err := c.srv.wait(ctx, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.cursor < c.nodeBase {
			c.cursor = c.nodeBase
		}
		for i := c.cursor - c.nodeBase; i < len(c.nodes); i++ {
			if match(c.nodes[i]) {
				found = c.nodes[i]
				c.cursor = c.nodeBase + i + 1
				return true
			}
		}
		c.cursor = c.nodeBase + len(c.nodes)
		return false
	})
	if err != nil {
		return nil, fmt.Errorf("fakewa: waiting for a client node: %w", err)
	}
	return found, nil
}

// Tag matches a node by tag and, unless child is "", the tag of its first
// child: Tag("iq", "pair-device-sign"), Tag("receipt", "").
func Tag(tag, child string) func(*waBinary.Node) bool {
	return func(n *waBinary.Node) bool {
		if n.Tag != tag {
			return false
		}
		if child == "" {
			return true
		}
		kids := n.GetChildren()
		return len(kids) > 0 && kids[0].Tag == child
	}
}
