package fakewa_test

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/fakewa"
)

const (
	alice = "15551230001" // the account the client is linked to
	bob   = "15559870002" // a peer
)

// messageEvent matches a message event by id.
func messageEvent(id string) func(any) bool {
	return func(ev any) bool {
		m, ok := ev.(*events.Message)
		return ok && m.Info.ID == id
	}
}

func TestPeerSendsEncryptedMessages(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	peer, err := srv.AddPeer(fakewa.PeerOptions{Phone: bob, LID: "77000000000042", PushName: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	c, d := pairClient(t, srv, alice, nil)

	sent, err := peer.SendText(srv.Account(alice), "hello from bob")
	if err != nil {
		t.Fatalf("SendText: %v", err)
	}
	ev, i := c.rec.wait(t, 0, messageEvent(sent.ID))
	m := ev.(*events.Message)
	if m.Message.GetConversation() != "hello from bob" || m.Info.Sender != peer.JID() || m.Info.Chat != peer.JID() ||
		m.Info.SenderAlt != peer.LID() || m.Info.PushName != "Bob" || m.Info.IsFromMe {
		t.Fatalf("message %+v: %v", m.Info, m.Message)
	}
	if del, err := d.WaitAcked(ctxT(t), sent.ID); err != nil || del.Deliveries != 1 {
		t.Fatalf("delivery %+v: %v", del, err)
	}

	// An image: the peer uploads it to the media hosts with its keys.
	file := bytes.Repeat([]byte("picture!"), 300)
	up, err := srv.Upload(file, wm.MediaImage)
	if err != nil {
		t.Fatal(err)
	}
	img := &waE2E.ImageMessage{URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String("image/jpeg"), Caption: proto.String("look")}
	sent, err = peer.Send(srv.Account(alice), &waE2E.Message{ImageMessage: img})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ = c.rec.wait(t, i, messageEvent(sent.ID))
	got := ev.(*events.Message).Message.GetImageMessage()
	if got.GetCaption() != "look" || !bytes.Equal(got.GetMediaKey(), up.MediaKey) {
		t.Fatalf("image %v", got)
	}
	data, err := c.cli.Download(ctxT(t), got)
	if err != nil || !bytes.Equal(data, file) {
		t.Fatalf("Download: %d bytes, %v", len(data), err)
	}
	// Expired media: the hosts answer 410 (or 404).
	if !srv.ExpireMedia(up.DirectPath, 410) {
		t.Fatal("ExpireMedia: no such file")
	}
	if _, err := c.cli.Download(ctxT(t), got); !errors.Is(err, wm.ErrMediaDownloadFailedWith410) {
		t.Fatalf("Download of expired media: %v", err)
	}
}

func TestClientSendsToPeer(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	peer, _ := srv.AddPeer(fakewa.PeerOptions{Phone: bob, LID: "77000000000043", DeliveryReceipts: true})
	c, d := pairClient(t, srv, alice, nil)

	resp, err := c.cli.SendMessage(ctxT(t), peer.JID(), &waE2E.Message{Conversation: proto.String("hi bob")})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	r, err := peer.Wait(ctxT(t), func(r fakewa.Received) bool { return r.ID == resp.ID })
	if err != nil || r.Err != nil || r.Message.GetConversation() != "hi bob" || r.From != d.JID() || r.Type != "pkmsg" {
		t.Fatalf("peer received %+v: %v", r, err)
	}
	// The peer's phone is online: a delivery receipt comes back.
	rc, i := waitEvent[*events.Receipt](c, 0)
	if rc.Type != types.ReceiptTypeDelivered || len(rc.MessageIDs) != 1 || rc.MessageIDs[0] != resp.ID || rc.Sender != peer.JID() {
		t.Fatalf("receipt %+v", rc)
	}

	// The peer answers in the session the client started; the client's
	// next message is then a plain msg (until a reply, Signal repeats the
	// prekey message). An image goes through the media hosts.
	reply, err := peer.SendText(srv.Account(alice), "hi alice")
	if err != nil {
		t.Fatal(err)
	}
	c.rec.wait(t, 0, messageEvent(reply.ID))
	file := bytes.Repeat([]byte{7}, 4000)
	up, err := c.cli.Upload(ctxT(t), file, wm.MediaImage)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	img := &waE2E.ImageMessage{URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength)}
	resp, err = c.cli.SendMessage(ctxT(t), peer.JID(), &waE2E.Message{ImageMessage: img})
	if err != nil {
		t.Fatalf("SendMessage image: %v", err)
	}
	r, err = peer.Wait(ctxT(t), func(r fakewa.Received) bool { return r.ID == resp.ID })
	if err != nil || r.Type != "msg" || !bytes.Equal(r.Message.GetImageMessage().GetMediaKey(), up.MediaKey) {
		t.Fatalf("peer received %+v: %v", r, err)
	}
	if _, ok := srv.Media(up.URL); !ok {
		t.Fatal("uploaded file not on the media hosts")
	}
	waitEvent[*events.Receipt](c, i)
	// The client's read receipt reaches the peer.
	if err := c.cli.MarkRead(ctxT(t), []types.MessageID{"X1"}, time.Now(), peer.JID(), peer.JID()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "read receipt", func() bool {
		for _, rc := range peer.ClientReceipts() {
			if rc.Type == "read" && rc.IDs[0] == "X1" {
				return true
			}
		}
		return false
	})
}

func TestRetryReceiptAfterClientRebuilt(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	peer := srv.Peer(bob)
	c, _ := pairClient(t, srv, alice, nil)
	msg := &waE2E.Message{Conversation: proto.String("please decrypt me")}
	resp, err := c.cli.SendMessage(ctxT(t), peer.JID(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peer.Wait(ctxT(t), func(r fakewa.Received) bool { return r.ID == resp.ID }); err != nil {
		t.Fatal(err)
	}

	// The process restarts: whatsmeow's cache of recent messages is gone,
	// only GetMessageForRetry can find the message.
	var asked atomic.Int32
	c2 := c.rebuild(srv, func(cli *wm.Client) {
		cli.GetMessageForRetry = func(requester, to types.JID, id types.MessageID) *waE2E.Message {
			if to == peer.JID() && id == resp.ID {
				asked.Add(1)
				return msg
			}
			return nil
		}
	})
	c2.connect()
	waitEvent[*events.Connected](c2, 0)

	for _, tc := range []struct {
		opts  fakewa.RetryOptions
		count int
	}{
		{fakewa.RetryOptions{}, 1},                   // the same session
		{fakewa.RetryOptions{ResetSession: true}, 2}, // the peer lost it: keys, a new session
	} {
		if err := peer.RequestRetry(resp.ID, tc.opts); err != nil {
			t.Fatal(err)
		}
		r, err := peer.Wait(ctxT(t), func(r fakewa.Received) bool { return r.ID == resp.ID && r.Retry == tc.count })
		if err != nil || r.Err != nil || r.Message.GetConversation() != "please decrypt me" {
			t.Fatalf("retry %d: %+v, %v", tc.count, r, err)
		}
		if tc.opts.ResetSession && r.Type != "pkmsg" {
			t.Fatalf("resend after a reset session is a %s", r.Type)
		}
	}
	if asked.Load() != 2 {
		t.Fatalf("GetMessageForRetry called %d times", asked.Load())
	}
}

// failOnce is an event handler that fails the first message it sees.
func failOnce(calls *atomic.Int32) func(*wm.Client) {
	return func(cli *wm.Client) {
		cli.SynchronousAck = true
		cli.EnableDecryptedEventBuffer = true
		cli.AddEventHandlerWithSuccessStatus(func(ev any) bool {
			if _, ok := ev.(*events.Message); ok {
				return calls.Add(1) > 1
			}
			return true
		})
	}
}

func TestUnackedMessageRedeliveredOnReconnect(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	peer := srv.Peer(bob)
	var calls atomic.Int32
	c, d := pairClient(t, srv, alice, failOnce(&calls))

	sent, err := peer.SendText(srv.Account(alice), "you will see me twice")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "first delivery handled", func() bool { return calls.Load() == 1 })
	if del, _ := d.Delivery(sent.ID); del.Acked || del.Deliveries != 1 || len(d.Pending()) != 1 {
		t.Fatalf("after a failed handler: %+v, pending %d", del, len(d.Pending()))
	}
	// Reconnect: the server delivers the pending message again, and the
	// client decrypts it from its buffer.
	c.cli.Disconnect()
	c.connect()
	ev, _ := c.rec.wait(t, 0, messageEvent(sent.ID))
	if ev.(*events.Message).Message.GetConversation() != "you will see me twice" {
		t.Fatalf("redelivered %v", ev)
	}
	del, err := d.WaitAcked(ctxT(t), sent.ID)
	if err != nil || del.Deliveries != 2 || calls.Load() != 2 {
		t.Fatalf("delivery %+v, handler calls %d: %v", del, calls.Load(), err)
	}
}

func TestDuplicateAndDroppedDeliveries(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	peer := srv.Peer(bob)
	c, d := pairClient(t, srv, alice, func(cli *wm.Client) { cli.EnableDecryptedEventBuffer = true })
	isMsg := func(id string) func(any) bool { return messageEvent(id) }

	// The same stanza twice: one event.
	twice, err := peer.SendWith(srv.Account(alice), &waE2E.Message{Conversation: proto.String("echo")}, fakewa.SendOptions{Twice: true})
	if err != nil {
		t.Fatal(err)
	}
	if del, err := d.WaitAcked(ctxT(t), twice.ID); err != nil || del.Deliveries != 2 {
		t.Fatalf("duplicate: %+v %v", del, err)
	}

	// The connection drops between delivery and acknowledgement: the
	// client reconnects by itself and gets the message again.
	before := time.Now()
	dropped, err := peer.SendWith(srv.Account(alice), &waE2E.Message{Conversation: proto.String("again")}, fakewa.SendOptions{DropAfterDelivery: true})
	if err != nil {
		t.Fatal(err)
	}
	del, err := d.WaitAcked(ctxT(t), dropped.ID)
	if err != nil || del.Deliveries != 2 || d.AttemptsSince(before) != 1 {
		t.Fatalf("dropped: %+v, attempts %d: %v", del, d.AttemptsSince(before), err)
	}
	c.rec.wait(t, 0, isMsg(dropped.ID))
	time.Sleep(200 * time.Millisecond) // any late duplicate event
	for _, id := range []string{twice.ID, dropped.ID} {
		n := 0
		for _, ev := range c.rec.all() {
			if isMsg(id)(ev) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d events for %s", n, id)
		}
	}
}

func TestUndecryptableThenRetried(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	peer := srv.Peer(bob)
	c, d := pairClient(t, srv, alice, nil)
	// A first message, so the client has a session the garbage is not from.
	first, _ := peer.SendText(srv.Account(alice), "first")
	c.rec.wait(t, 0, messageEvent(first.ID))

	sent, err := peer.SendWith(srv.Account(alice), &waE2E.Message{Conversation: proto.String("secret")}, fakewa.SendOptions{Undecryptable: true})
	if err != nil {
		t.Fatal(err)
	}
	u, i := waitEvent[*events.UndecryptableMessage](c, 0)
	if u.Info.ID != sent.ID || u.Info.Sender != peer.JID() {
		t.Fatalf("undecryptable %+v", u.Info)
	}
	// The client asked for a retry; the peer sent the message again.
	ev, _ := c.rec.wait(t, i, messageEvent(sent.ID))
	if ev.(*events.Message).Message.GetConversation() != "secret" {
		t.Fatalf("after retry: %v", ev)
	}
	if _, err := d.WaitAcked(ctxT(t), sent.ID); err != nil {
		t.Fatal(err)
	}
	retried := false
	for _, rc := range peer.ClientReceipts() {
		retried = retried || rc.Type == "retry" && rc.IDs[0] == sent.ID
	}
	if !retried {
		t.Fatal("no retry receipt reached the peer")
	}
}

func TestPeerLosesItsSessionAndAsksForRetries(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	peer := srv.Peer(bob)
	c, d := pairClient(t, srv, alice, nil)
	send := func(text string) string {
		t.Helper()
		resp, err := c.cli.SendMessage(ctxT(t), peer.JID(), &waE2E.Message{Conversation: proto.String(text)})
		if err != nil {
			t.Fatal(err)
		}
		return resp.ID
	}
	first := send("before")
	if _, err := peer.Wait(ctxT(t), func(r fakewa.Received) bool { return r.ID == first && r.Err == nil }); err != nil {
		t.Fatal(err)
	}
	// The peer reinstalls: the client's next message is undecryptable. The
	// peer asks for a retry (count 1, no keys: the client resends in the
	// same session, still undecryptable), then again with its keys, and the
	// client starts a new session.
	peer.ForgetSession(d)
	id := send("after")
	r, err := peer.Wait(ctxT(t), func(r fakewa.Received) bool { return r.ID == id && r.Err == nil })
	if err != nil || r.Message.GetConversation() != "after" || r.Retry != 2 || r.Type != "pkmsg" {
		t.Fatalf("after the reinstall: %+v, %v", r, err)
	}
	failed := 0
	for _, r := range peer.Inbox() {
		if r.ID == id && r.Err != nil {
			failed++
		}
	}
	if failed != 2 {
		t.Fatalf("%d undecryptable copies, want 2", failed)
	}
}

func TestOtherDevicesGetWhatOneSends(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	peer := srv.Peer(bob)
	a, _ := pairClient(t, srv, alice, nil)
	b, db := pairClient(t, srv, alice, nil)
	resp, err := a.cli.SendMessage(ctxT(t), peer.JID(), &waE2E.Message{Conversation: proto.String("from my laptop")})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := b.rec.wait(t, 0, messageEvent(resp.ID))
	m := ev.(*events.Message)
	if !m.Info.IsFromMe || m.Info.Chat != peer.JID() || m.Message.GetConversation() != "from my laptop" {
		t.Fatalf("other device got %+v: %v", m.Info, m.Message)
	}
	if _, err := db.WaitAcked(ctxT(t), resp.ID); err != nil {
		t.Fatal(err)
	}
}
