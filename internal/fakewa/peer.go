package fakewa

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/session"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// PeerOptions describe a peer.
type PeerOptions struct {
	// Phone is the peer's number (digits, an optional +).
	Phone string
	// LID is the peer's LID user (digits); "" for none. A peer with a LID
	// sends with sender_lid, so clients encrypt to its LID.
	LID string
	// PushName is the name its messages carry (notify); "" is the number.
	PushName string
	// About is its about text (usync status).
	About string
	// DeliveryReceipts makes the peer send a delivery receipt for every
	// message it decrypts, as a phone that is online does.
	DeliveryReceipts bool
	// ManualRetries stops the peer from answering a message it cannot
	// decrypt with a retry receipt (up to 4 per message, with its keys from
	// the second on, as WhatsApp clients do); RequestRetry still works.
	ManualRetries bool
}

// Peer is a contact on WhatsApp with one device (its phone, device 0) and
// real Signal keys: it sends end-to-end encrypted messages to linked
// devices, decrypts what they send it, and plays both sides of retries.
type Peer struct {
	srv      *Server
	phone    string
	lid      string
	pushName string
	about    string
	receipts bool
	manual   bool

	mu       sync.Mutex
	store    *signalStore
	inbox    []Received
	clientRc []ClientReceipt
	sent     map[string]*peerSent
	sentIDs  []string // sent's keys, oldest first
	retries  map[string]int
}

type peerSent struct {
	msg *waE2E.Message
	t   time.Time
	by  string // SendOptions.Addressing
}

const maxPeerHistory = 4096

// Received is a message a client sent the peer, as the peer decrypted it.
type Received struct {
	ID      string
	From    types.JID // the sending device (phone-number JID)
	Message *waE2E.Message
	Type    string // "pkmsg" or "msg"
	Retry   int    // the resend's count after a retry receipt; 0 for the first send
	Time    time.Time
	Err     error // the peer could not decrypt it; Message is nil
}

// ClientReceipt is a receipt a client sent the peer (delivery, read,
// retry...).
type ClientReceipt struct {
	IDs  []string
	Type string // "" for delivery, "read", "retry", ...
	From types.JID
	Time time.Time
}

// AddPeer adds a peer; a number that is already a peer is an error.
func (s *Server) AddPeer(o PeerOptions) (*Peer, error) {
	phone := strings.TrimPrefix(o.Phone, "+")
	if phone == "" {
		return nil, errors.New("fakewa: a peer needs a phone number")
	}
	p := &Peer{srv: s, phone: phone, lid: o.LID, pushName: o.PushName, about: o.About, receipts: o.DeliveryReceipts,
		manual: o.ManualRetries, store: newSignalStore(), sent: map[string]*peerSent{}, retries: map[string]int{}}
	if p.pushName == "" {
		p.pushName = phone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peers[phone] != nil {
		return nil, fmt.Errorf("fakewa: %s is already a peer", phone)
	}
	s.peers[phone] = p
	if p.lid != "" {
		s.peerLIDs[p.lid] = p
	}
	return p, nil
}

// Peer returns the peer of a number, adding one without a LID if needed.
func (s *Server) Peer(phone string) *Peer {
	phone = strings.TrimPrefix(phone, "+")
	s.mu.Lock()
	p := s.peers[phone]
	s.mu.Unlock()
	if p != nil {
		return p
	}
	p, err := s.AddPeer(PeerOptions{Phone: phone})
	if err != nil { // added meanwhile
		s.mu.Lock()
		p = s.peers[phone]
		s.mu.Unlock()
	}
	return p
}

// JID is the peer's phone-number JID.
func (p *Peer) JID() types.JID { return types.NewJID(p.phone, types.DefaultUserServer) }

// LID is the peer's LID JID, empty if it has none.
func (p *Peer) LID() types.JID {
	if p.lid == "" {
		return types.EmptyJID
	}
	return types.NewJID(p.lid, types.HiddenUserServer)
}

// address is the Signal address of a linked device, as the peer keeps it.
func address(d *Device) *protocol.SignalAddress {
	return protocol.NewSignalAddress(d.acct.phone, uint32(d.id))
}

// forgetSessions drops every peer's session with a device that was linked
// anew or logged out: its keys are gone.
func (s *Server) forgetSessions(d *Device) {
	s.mu.Lock()
	peers := make([]*Peer, 0, len(s.peers))
	for _, p := range s.peers {
		peers = append(peers, p)
	}
	s.mu.Unlock()
	addr := address(d).String()
	for _, p := range peers {
		p.mu.Lock()
		delete(p.store.sessions, addr)
		delete(p.store.identities, addr)
		p.mu.Unlock()
	}
}

// SendOptions change how a peer sends a message.
type SendOptions struct {
	// ID is the message id; "" makes one.
	ID string
	// Devices limits the send to these device numbers of the account;
	// nil is every linked device.
	Devices []uint16
	// Undecryptable sends a ciphertext the device cannot decrypt (from a
	// Signal session it does not have, as after a sender's reinstall). The
	// client answers with a retry receipt, and the peer then sends the real
	// message again, re-encrypted, as a real sender does.
	Undecryptable bool
	// Twice delivers the stanza twice in a row: same id, same ciphertext.
	Twice bool
	// DropAfterDelivery closes the device's connection right after the
	// stanza is written, before the client can acknowledge it.
	DropAfterDelivery bool
	// Addressing is how the stanza names the peer (a peer with a LID
	// only): "" by number with sender_lid beside it, AddressLID by LID
	// with sender_pn beside it, AddressLIDOnly by LID alone.
	Addressing string
}

// Addressings of SendOptions.
const (
	AddressLID     = "lid"
	AddressLIDOnly = "lid_only"
)

// Sent is what a peer sent.
type Sent struct {
	ID      string
	Time    time.Time
	Devices []types.JID // the devices it was queued for
}

// ErrNoDevices is returned when an account has no linked device to send to.
var ErrNoDevices = errors.New("fakewa: the account has no linked device")

// SendText sends a conversation text message to every linked device of
// the account.
func (p *Peer) SendText(to *Account, text string) (Sent, error) {
	return p.Send(to, &waE2E.Message{Conversation: proto.String(text)})
}

// Send sends a message to every linked device of the account, encrypted
// for each: a pkmsg while the peer has no session with the device (it
// takes one of the device's prekeys from the server), then msg. Each copy
// is queued on its device (see Device.Delivery) and written now if the
// device is online.
func (p *Peer) Send(to *Account, msg *waE2E.Message) (Sent, error) {
	return p.SendWith(to, msg, SendOptions{})
}

// SendWith is Send with options.
func (p *Peer) SendWith(to *Account, msg *waE2E.Message, o SendOptions) (Sent, error) {
	plain, err := proto.Marshal(msg)
	if err != nil {
		return Sent{}, fmt.Errorf("fakewa: marshal message: %w", err)
	}
	var devices []*Device
	for _, d := range to.Devices() {
		if o.Devices == nil || slices.Contains(o.Devices, d.id) {
			devices = append(devices, d)
		}
	}
	if len(devices) == 0 {
		return Sent{}, ErrNoDevices
	}
	sent := Sent{ID: o.ID, Time: time.Now()}
	if sent.ID == "" {
		sent.ID = messageID()
	}
	nodes := make([]waBinary.Node, len(devices))
	p.mu.Lock()
	for i, d := range devices {
		var enc waBinary.Node
		if o.Undecryptable {
			enc, err = p.garbleFor(d, plain)
		} else {
			enc, err = p.encryptFor(d, plain)
		}
		if err != nil {
			p.mu.Unlock()
			return Sent{}, err
		}
		nodes[i] = p.messageNode(sent.ID, sent.Time, msg, enc, o.Addressing)
		sent.Devices = append(sent.Devices, d.JID())
	}
	p.remember(sent.ID, &peerSent{msg: msg, t: sent.Time, by: o.Addressing})
	p.mu.Unlock()
	for i, d := range devices {
		d.enqueue(nodes[i], deliverOptions{twice: o.Twice, dropAfter: o.DropAfterDelivery})
	}
	return sent, nil
}

func (p *Peer) remember(id string, s *peerSent) {
	if _, ok := p.sent[id]; !ok {
		p.sentIDs = append(p.sentIDs, id)
	}
	p.sent[id] = s
	if len(p.sentIDs) > maxPeerHistory {
		for _, old := range p.sentIDs[:maxPeerHistory/2] {
			delete(p.sent, old)
		}
		p.sentIDs = append(p.sentIDs[:0], p.sentIDs[maxPeerHistory/2:]...)
	}
}

// messageNode is the <message> stanza the peer's phone sends.
func (p *Peer) messageNode(id string, t time.Time, msg *waE2E.Message, enc waBinary.Node, by string) waBinary.Node {
	attrs := waBinary.Attrs{"from": p.JID(), "id": id, "t": t.Unix(), "type": messageType(msg), "notify": p.pushName}
	switch {
	case p.lid == "":
	case by == AddressLID:
		attrs["from"], attrs["sender_pn"] = p.LID(), p.JID()
	case by == AddressLIDOnly:
		attrs["from"] = p.LID()
	default:
		attrs["sender_lid"] = p.LID()
	}
	return waBinary.Node{Tag: "message", Attrs: attrs, Content: []waBinary.Node{enc}}
}

// messageType is the stanza type WhatsApp gives a message.
func messageType(m *waE2E.Message) string {
	switch {
	case m.ReactionMessage != nil || m.EncReactionMessage != nil:
		return "reaction"
	case m.PollCreationMessage != nil || m.PollCreationMessageV3 != nil || m.PollUpdateMessage != nil:
		return "poll"
	case m.ImageMessage != nil || m.VideoMessage != nil || m.AudioMessage != nil || m.DocumentMessage != nil ||
		m.StickerMessage != nil || m.ContactMessage != nil || m.LocationMessage != nil:
		return "media"
	}
	return "text"
}

// encryptFor encrypts a plaintext for a device in the peer's session with
// it, starting the session from the device's prekey bundle if needed.
// p.mu is held.
func (p *Peer) encryptFor(d *Device, plain []byte) (waBinary.Node, error) {
	ctx := context.Background()
	addr := address(d)
	builder := session.NewBuilderFromSignal(p.store, addr, serializer)
	if ok, _ := p.store.ContainsSession(ctx, addr); !ok {
		bundle, err := d.bundle(true)
		if err != nil {
			return waBinary.Node{}, fmt.Errorf("fakewa: %s has no keys to encrypt to: %w", d.JID(), err)
		}
		if err := builder.ProcessBundle(ctx, bundle); err != nil {
			return waBinary.Node{}, fmt.Errorf("fakewa: %s's prekey bundle: %w", d.JID(), err)
		}
	}
	ct, err := session.NewCipher(builder, addr).Encrypt(ctx, pad(plain))
	if err != nil {
		return waBinary.Node{}, fmt.Errorf("fakewa: encrypt for %s: %w", d.JID(), err)
	}
	typ := "msg"
	if ct.Type() == protocol.PREKEY_TYPE {
		typ = "pkmsg"
	}
	return encNode(typ, ct.Serialize()), nil
}

// garbleFor makes a well-formed msg the device cannot decrypt: it comes
// from a Signal session the device never saw. p.mu is held.
func (p *Peer) garbleFor(d *Device, plain []byte) (waBinary.Node, error) {
	ctx := context.Background()
	addr := address(d)
	other := newSignalStore()
	builder := session.NewBuilderFromSignal(other, addr, serializer)
	bundle, err := d.bundle(false)
	if err != nil {
		return waBinary.Node{}, fmt.Errorf("fakewa: %s has no keys to encrypt to: %w", d.JID(), err)
	}
	if err := builder.ProcessBundle(ctx, bundle); err != nil {
		return waBinary.Node{}, err
	}
	ct, err := session.NewCipher(builder, addr).Encrypt(ctx, pad(plain))
	if err != nil {
		return waBinary.Node{}, err
	}
	pk, ok := ct.(*protocol.PreKeySignalMessage)
	if !ok {
		return waBinary.Node{}, errors.New("fakewa: a new session did not start with a prekey message")
	}
	return encNode("msg", pk.WhisperMessage().Serialize()), nil
}

func encNode(typ string, ct []byte) waBinary.Node {
	return waBinary.Node{Tag: "enc", Attrs: waBinary.Attrs{"v": "2", "type": typ}, Content: ct}
}

// bundleNode is the peer's answer to a prekey fetch: a fresh one-time
// prekey each time, as WhatsApp hands out one per fetch.
func (p *Peer) bundleNode(jid types.JID) waBinary.Node {
	p.mu.Lock()
	defer p.mu.Unlock()
	content := append([]waBinary.Node{{Tag: "registration", Content: regIDBytes(p.store.regID)}}, p.store.bundleContent()...)
	return waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}, Content: content}
}

// receive decrypts what a device sent the peer (one <enc>).
func (p *Peer) receive(d *Device, id string, enc waBinary.Node) {
	ctx := context.Background()
	typ, _ := enc.Attrs["type"].(string)
	r := Received{ID: id, From: d.JID(), Type: typ, Retry: attrInt(enc.Attrs["count"]), Time: time.Now()}
	ct, _ := enc.Content.([]byte)
	addr := address(d)
	p.mu.Lock()
	cipher := session.NewCipher(session.NewBuilderFromSignal(p.store, addr, serializer), addr)
	var plain []byte
	var err error
	switch typ {
	case "pkmsg":
		var m *protocol.PreKeySignalMessage
		if m, err = protocol.NewPreKeySignalMessageFromBytes(ct, serializer.PreKeySignalMessage, serializer.SignalMessage); err == nil {
			plain, err = cipher.DecryptMessage(ctx, m)
		}
	case "msg":
		var m *protocol.SignalMessage
		if m, err = protocol.NewSignalMessageFromBytes(ct, serializer.SignalMessage); err == nil {
			plain, err = cipher.Decrypt(ctx, m)
		}
	default:
		err = fmt.Errorf("fakewa: unsupported enc type %q", typ)
	}
	if err == nil {
		if plain, err = unpad(plain); err == nil {
			r.Message = &waE2E.Message{}
			err = proto.Unmarshal(plain, r.Message)
		}
	}
	if err != nil {
		r.Message, r.Err = nil, fmt.Errorf("fakewa: %s could not decrypt %s from %s: %w", p.phone, id, d.JID(), err)
	}
	p.inbox = append(p.inbox, r)
	if len(p.inbox) > maxPeerHistory {
		p.inbox = append(p.inbox[:0], p.inbox[maxPeerHistory/2:]...)
	}
	retry := err != nil && !p.manual && p.retries[id] < 4
	p.mu.Unlock()
	switch {
	case retry:
		_ = p.RequestRetry(id, RetryOptions{})
	case err == nil && p.receipts && r.Retry == 0:
		_ = p.Receipt(d.acct, "", id)
	}
	p.srv.events.notify()
}

// ForgetSession makes the peer lose its Signal session with a device
// without telling anyone, as a reinstalled phone would: the device's next
// message to it cannot be decrypted, and the peer asks for a retry.
func (p *Peer) ForgetSession(d *Device) {
	p.mu.Lock()
	delete(p.store.sessions, address(d).String())
	p.mu.Unlock()
}

func attrInt(v any) int {
	var n int
	switch x := v.(type) {
	case string:
		_, _ = fmt.Sscan(x, &n)
	case int:
		n = x
	case int64:
		n = int(x)
	}
	return n
}

// Inbox returns every message clients sent the peer, in arrival order
// (resends after retries included).
func (p *Peer) Inbox() []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.inbox)
}

// Wait waits for a message in the inbox that match accepts (nil accepts
// any) and returns the first one.
func (p *Peer) Wait(ctx context.Context, match func(Received) bool) (Received, error) {
	var found Received
	err := p.srv.wait(ctx, func() bool {
		for _, r := range p.Inbox() {
			if match == nil || match(r) {
				found = r
				return true
			}
		}
		return false
	})
	if err != nil {
		return Received{}, fmt.Errorf("fakewa: waiting for a message to %s: %w", p.phone, err)
	}
	return found, nil
}

// ClientReceipts returns the receipts clients sent the peer, oldest first.
func (p *Peer) ClientReceipts() []ClientReceipt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.clientRc)
}

// Receipt sends a receipt from the peer for messages a client sent it, to
// every linked device of the account: typ "" is a delivery receipt, then
// "read", "played"...
func (p *Peer) Receipt(to *Account, typ types.ReceiptType, ids ...string) error {
	if len(ids) == 0 {
		return errors.New("fakewa: a receipt needs a message id")
	}
	devices := to.Devices()
	if len(devices) == 0 {
		return ErrNoDevices
	}
	attrs := waBinary.Attrs{"from": p.JID(), "id": ids[0], "t": time.Now().Unix()}
	if typ != "" {
		attrs["type"] = string(typ)
	}
	n := waBinary.Node{Tag: "receipt", Attrs: attrs}
	if len(ids) > 1 {
		items := make([]waBinary.Node, len(ids)-1)
		for i, id := range ids[1:] {
			items[i] = waBinary.Node{Tag: "item", Attrs: waBinary.Attrs{"id": id}}
		}
		n.Content = []waBinary.Node{{Tag: "list", Content: items}}
	}
	for _, d := range devices {
		d.enqueue(n, deliverOptions{})
	}
	return nil
}
