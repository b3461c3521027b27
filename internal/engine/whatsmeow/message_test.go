package whatsmeow

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/fakewa"
)

// Messages through real end-to-end encryption: fakewa peers hold Signal
// sessions with the session's device, and the server keeps what it sends
// a device until the client acknowledges it. A message is acknowledged
// only once Ingest stored it.

const bobPhone = "15557654321"

// inbox is an Ingest that records what it stores and can refuse
// messages.
type inbox struct {
	mu     sync.Mutex
	calls  []engine.Event           // every call, refused ones included
	refuse map[string]int           // message text -> how many more times to refuse it
	slow   map[string]time.Duration // message text -> how long its next store takes
}

func (in *inbox) ingest(_ context.Context, ev engine.Event) error {
	in.mu.Lock()
	in.calls = append(in.calls, ev)
	m, _ := ev.(engine.Message)
	delay := in.slow[m.Text]
	delete(in.slow, m.Text)
	refuse := in.refuse[m.Text] > 0
	if refuse {
		in.refuse[m.Text]--
	}
	in.mu.Unlock()
	time.Sleep(delay)
	if refuse {
		return errors.New("the database is down")
	}
	return nil
}

// messages returns the Message calls for a message ID.
func (in *inbox) messages(id string) []engine.Message {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []engine.Message
	for _, ev := range in.calls {
		if m, ok := ev.(engine.Message); ok && m.ID == id {
			out = append(out, m)
		}
	}
	return out
}

func (in *inbox) all() []engine.Event {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.calls)
}

// A peer's text arrives through Ingest with its text, chat, sender and
// push name (numbers, not LIDs, though the peer sends with its LID), and
// is acknowledged; receipts for what the session sent arrive the same way.
func TestPeerMessageThroughIngest(t *testing.T) {
	w := newWorld(t, Options{})
	bob, err := w.srv.AddPeer(fakewa.PeerOptions{Phone: bobPhone, LID: "77000000000042", PushName: "Bob", DeliveryReceipts: true})
	if err != nil {
		t.Fatal(err)
	}
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	n := len(o.rec.all())
	sent, err := bob.SendText(o.acct, "hello from bob")
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := o.rec.wait(t, n, wait, isType[engine.Message])
	m := ev.(engine.Message)
	chat := bob.JID().String()
	if m.ID != sent.ID || m.Text != "hello from bob" || m.Chat != chat || m.Sender != chat || m.PushName != "Bob" || m.FromMe ||
		m.Content.Kind != engine.KindText || m.Time.Unix() != sent.Time.Unix() {
		t.Fatalf("message %+v", m)
	}
	if del, err := o.dev.WaitAcked(ctxT(t), sent.ID); err != nil || del.Deliveries != 1 {
		t.Fatalf("delivery %+v: %v", del, err)
	}

	// The session answers; bob's phone is online: delivered, then read.
	n = len(o.rec.all())
	out, err := o.SendText(ctxT(t), bobPhone, "hi bob")
	if err != nil {
		t.Fatal(err)
	}
	ev, i := o.rec.wait(t, n, wait, isType[engine.Receipt])
	want := engine.Receipt{IDs: []string{out.ID}, Chat: chat, Sender: chat, Type: engine.ReceiptDelivered}
	if r := ev.(engine.Receipt); r.Time.IsZero() || !receiptIs(r, want) {
		t.Fatalf("receipt %+v, want %+v", r, want)
	}
	if err := bob.Receipt(o.acct, "read", out.ID); err != nil {
		t.Fatal(err)
	}
	ev, _ = o.rec.wait(t, i+1, wait, isType[engine.Receipt])
	want.Type = engine.ReceiptRead
	if r := ev.(engine.Receipt); !receiptIs(r, want) {
		t.Fatalf("read receipt %+v, want %+v", r, want)
	}
	waitFor(t, wait, func() bool { return len(o.dev.Pending()) == 0 })
}

func receiptIs(r, want engine.Receipt) bool {
	r.Time = time.Time{}
	return slices.Equal(r.IDs, want.IDs) && r.Chat == want.Chat && r.Sender == want.Sender && r.Type == want.Type
}

// Ingest fails: the message is not acknowledged, so WhatsApp delivers it
// again on the next connection; whatsmeow decrypts it again from its
// event buffer (the Signal ratchet has moved on) and this time it is
// stored and acknowledged.
func TestIngestFailureRedelivers(t *testing.T) {
	w := newWorld(t, Options{})
	bob := w.srv.Peer(bobPhone)
	in := &inbox{refuse: map[string]int{"store me": 1}}
	o := w.connectStored("15551234567", 4, engine.SessionConfig{Ingest: in.ingest})
	sent, err := bob.SendText(o.acct, "store me")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, wait, func() bool { return len(in.messages(sent.ID)) == 1 })
	time.Sleep(300 * time.Millisecond) // an acknowledgement would be there by now
	if del, _ := o.dev.Delivery(sent.ID); del.Acked || del.Deliveries != 1 {
		t.Fatalf("a message Ingest refused: %+v", del)
	}
	// Nothing happens until the owner connects again.
	o.Disconnect()
	o.connect()
	del, err := o.dev.WaitAcked(ctxT(t), sent.ID)
	if err != nil || del.Deliveries != 2 {
		t.Fatalf("after reconnecting: %+v, %v", del, err)
	}
	got := in.messages(sent.ID)
	if len(got) != 2 || got[1].Text != "store me" || got[1].Sender != bob.JID().String() {
		t.Fatalf("Ingest calls %+v", got)
	}
}

// The same stanza twice (same ID, same ciphertext): whatsmeow's event
// buffer knows it was processed, so Ingest sees it once; both deliveries
// are acknowledged.
func TestDuplicateDelivery(t *testing.T) {
	w := newWorld(t, Options{})
	bob := w.srv.Peer(bobPhone)
	in := &inbox{}
	o := w.connectStored("15551234567", 4, engine.SessionConfig{Ingest: in.ingest})
	sent, err := bob.SendWith(o.acct, &waE2E.Message{Conversation: proto.String("echo")}, fakewa.SendOptions{Twice: true})
	if err != nil {
		t.Fatal(err)
	}
	if del, err := o.dev.WaitAcked(ctxT(t), sent.ID); err != nil || del.Deliveries != 2 {
		t.Fatalf("delivery %+v: %v", del, err)
	}
	time.Sleep(300 * time.Millisecond) // a second Ingest call would be there by now
	if got := in.messages(sent.ID); len(got) != 1 || got[0].Text != "echo" {
		t.Fatalf("Ingest calls %+v", got)
	}
	if len(o.dev.Pending()) != 0 {
		t.Fatalf("pending %+v", o.dev.Pending())
	}
}

// The connection drops between the delivery and the acknowledgement: the
// session reports Disconnected and waits; after the owner's Connect the
// message comes again and is acknowledged. Ingest stores it once: either
// the first delivery was stored before the drop (whatsmeow then knows the
// second is processed) or it never got that far.
//
// fakewa closes the connection right after writing the message, but a
// quick client can acknowledge in between (about one run in seven): the
// first store takes 200 ms, so that the drop comes first, as it does when
// storing takes a while.
func TestDroppedBeforeAck(t *testing.T) {
	w := newWorld(t, Options{})
	bob := w.srv.Peer(bobPhone)
	in := &inbox{slow: map[string]time.Duration{"again": 200 * time.Millisecond}}
	o := w.connectStored("15551234567", 4, engine.SessionConfig{Ingest: in.ingest})
	n := len(o.rec.all())
	sent, err := bob.SendWith(o.acct, &waE2E.Message{Conversation: proto.String("again")}, fakewa.SendOptions{DropAfterDelivery: true})
	if err != nil {
		t.Fatal(err)
	}
	o.rec.wait(t, n, wait, isType[engine.Disconnected])
	if del, _ := o.dev.Delivery(sent.ID); del.Acked || del.Deliveries != 1 {
		t.Fatalf("before reconnecting: %+v", del)
	}
	noReconnect(t, w.srv, o.dev)
	o.connect()
	if del, err := o.dev.WaitAcked(ctxT(t), sent.ID); err != nil || del.Deliveries != 2 {
		t.Fatalf("after reconnecting: %+v, %v", del, err)
	}
	time.Sleep(300 * time.Millisecond)
	if got := in.messages(sent.ID); len(got) != 1 || got[0].Text != "again" {
		t.Fatalf("Ingest calls %+v", got)
	}
}

// A message the device cannot decrypt: Undecryptable through Ingest (the
// stanza is acknowledged), the client's retry receipt makes the peer send
// it again, and the Message with the same ID follows.
func TestUndecryptableThenRetried(t *testing.T) {
	w := newWorld(t, Options{})
	bob, _ := w.srv.AddPeer(fakewa.PeerOptions{Phone: bobPhone, PushName: "Bob"})
	in := &inbox{}
	o := w.connectStored("15551234567", 4, engine.SessionConfig{Ingest: in.ingest})
	sent, err := bob.SendWith(o.acct, &waE2E.Message{Conversation: proto.String("secret")}, fakewa.SendOptions{Undecryptable: true})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, wait, func() bool { return len(in.messages(sent.ID)) == 1 })
	var undecryptable *engine.Undecryptable
	var order []string
	for _, ev := range in.all() {
		switch e := ev.(type) {
		case engine.Undecryptable:
			undecryptable = &e
			order = append(order, "undecryptable")
		case engine.Message:
			order = append(order, "message")
		}
	}
	chat := bob.JID().String()
	if undecryptable == nil || undecryptable.ID != sent.ID || undecryptable.Chat != chat || undecryptable.Sender != chat ||
		undecryptable.PushName != "Bob" || undecryptable.Unavailable || !slices.Equal(order, []string{"undecryptable", "message"}) {
		t.Fatalf("Ingest calls %#v", in.all())
	}
	if m := in.messages(sent.ID)[0]; m.Text != "secret" || m.Sender != chat {
		t.Fatalf("message after the retry %+v", m)
	}
	retried := false
	for _, r := range bob.ClientReceipts() {
		retried = retried || r.Type == "retry" && r.IDs[0] == sent.ID
	}
	if !retried {
		t.Fatal("no retry receipt reached the peer")
	}
	waitFor(t, wait, func() bool { return len(o.dev.Pending()) == 0 })
}

// payloads is a map-backed SentPayload, as the runtime keeps sent
// messages.
type payloads struct {
	mu    sync.Mutex
	kept  map[string][]byte
	asked []string
}

func (p *payloads) get(_ context.Context, id string) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, id)
	return p.kept[id], nil
}

func (p *payloads) keep(m engine.SentMessage) {
	p.mu.Lock()
	p.kept[m.ID] = m.Payload
	p.mu.Unlock()
}

func (p *payloads) questions() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.asked)
}

// What the session sends, the peer decrypts; SentMessage.Payload is the
// message. A peer's retry receipt is answered from whatsmeow's memory
// while the client lives, and, once the session was closed and another one
// opened (a new client: whatsmeow's memory is empty), from SentPayload;
// the peer decrypts the resent message. A message SentPayload does not
// know is not resent.
func TestRetryAnsweredFromSentPayload(t *testing.T) {
	w := newWorld(t, Options{})
	bob, _ := w.srv.AddPeer(fakewa.PeerOptions{Phone: bobPhone, ManualRetries: true})
	kept := &payloads{kept: map[string][]byte{}}
	o := w.connectStored("15551234567", 4, engine.SessionConfig{SentPayload: kept.get})
	ctx := ctxT(t)
	received := func(id string, retry int) fakewa.Received {
		t.Helper()
		r, err := bob.Wait(ctx, func(r fakewa.Received) bool { return r.ID == id && r.Retry == retry })
		if err != nil || r.Err != nil {
			t.Fatalf("bob did not decrypt %s (retry %d): %v %v", id, retry, err, r.Err)
		}
		return r
	}
	keep, err := o.SendText(ctx, bobPhone, "keep me")
	if err != nil {
		t.Fatal(err)
	}
	lost, err := o.SendText(ctx, bobPhone, "lose me")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []engine.SentMessage{keep, lost} {
		r := received(m.ID, 0)
		var payload waE2E.Message
		if err := proto.Unmarshal(m.Payload, &payload); err != nil || !proto.Equal(&payload, r.Message) {
			t.Fatalf("Payload %v (%v), bob got %v", &payload, err, r.Message)
		}
		if r.From != o.dev.JID() {
			t.Fatalf("bob got %s from %s", r.ID, r.From)
		}
	}
	kept.keep(keep) // the runtime kept one of them only

	// The same client: whatsmeow still has the message.
	if err := bob.RequestRetry(lost.ID, fakewa.RetryOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := received(lost.ID, 1); r.Message.GetConversation() != "lose me" {
		t.Fatalf("resent %v", r.Message)
	}
	if q := kept.questions(); len(q) != 0 {
		t.Fatalf("SentPayload asked for %v while whatsmeow had the message", q)
	}

	// A new session (a new client, as after a restart).
	first := o.cli
	o.Close()
	o2 := w.open(engine.SessionConfig{Device: o.device, SentPayload: kept.get})
	o2.connect()
	if o2.cli == first {
		t.Fatal("the new session reused the client")
	}
	if err := bob.RequestRetry(keep.ID, fakewa.RetryOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := received(keep.ID, 1); r.Message.GetConversation() != "keep me" || r.From != o2.dev.JID() {
		t.Fatalf("resent %+v", r)
	}
	if err := bob.RequestRetry(lost.ID, fakewa.RetryOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, wait, func() bool { return slices.Contains(kept.questions(), lost.ID) })
	time.Sleep(300 * time.Millisecond) // a resend would be there by now
	for _, r := range bob.Inbox() {
		if r.ID == lost.ID && r.Retry == 2 {
			t.Fatalf("a message SentPayload does not know was resent: %+v", r)
		}
	}
	if q := kept.questions(); !slices.Equal(q, []string{keep.ID, lost.ID}) {
		t.Fatalf("SentPayload asked for %v", q)
	}
}
