package sim_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
)

var (
	qrFormat     = regexp.MustCompile(`^2@[A-Za-z0-9+/]{64},[A-Za-z0-9+/]{43}=,[A-Za-z0-9+/]{43}=,[A-Za-z0-9+/]{43}=$`)
	pairFormat   = regexp.MustCompile(`^[1-9A-HJ-NP-TV-Z]{8}$`)
	deviceFormat = regexp.MustCompile(`^sim:15551230001:[0-9a-f]{12}$`)
)

const (
	alice = "15551230001"
	bob   = "15551230002"
	carol = "15551230003"
)

func TestQRRotationTiming(t *testing.T) {
	const first, nextD = 80 * time.Millisecond, 40 * time.Millisecond
	n := newNet(t, sim.Options{QRFirst: first, QRNext: nextD, QRCount: 3})
	c := open(t, n, "CHAN-1", "")

	// Timers never fire early and events may arrive late, so times are
	// checked as bounds: code i is issued no earlier than start + the
	// lifetimes of the codes before it, and the first one during Connect.
	start := time.Now()
	noErr(t, c.s.Connect(ctx))
	connected := time.Now()
	noErr(t, c.s.Connect(ctx)) // a second Connect during the flow changes nothing
	var codes []string
	earliest := start
	for i := 0; i < 3; i++ {
		qr := next[engine.QR](t, c.ev)
		got := time.Now()
		if !qrFormat.MatchString(qr.Code) {
			t.Errorf("QR %q does not look like WhatsApp's", qr.Code)
		}
		codes = append(codes, qr.Code)
		life := first
		if i > 0 {
			life = nextD
		}
		if qr.Expires.Before(earliest.Add(life)) || qr.Expires.After(got.Add(life)) {
			t.Errorf("QR %d expires %s after start, want between %s and %s", i,
				qr.Expires.Sub(start), earliest.Add(life).Sub(start), got.Add(life).Sub(start))
		}
		if i == 0 && qr.Expires.After(connected.Add(first)) {
			t.Errorf("the first QR was not issued during Connect")
		}
		earliest = earliest.Add(life)
	}
	next[engine.QRTimeout](t, c.ev)
	if total, want := time.Since(start), first+2*nextD; total < want {
		t.Errorf("QRTimeout after %s, want %s at least", total, want)
	}
	c.ev.none(t, 2*nextD)

	if len(slices.Compact(slices.Sorted(slices.Values(codes)))) != 3 {
		t.Errorf("codes repeat: %q", codes)
	}
	// The keys part stays for the flow, the ref changes.
	if strings.SplitN(codes[0], ",", 2)[1] != strings.SplitN(codes[2], ",", 2)[1] {
		t.Errorf("the keys part of the codes changed within a flow")
	}
	if info, _ := n.SessionInfo("CHAN-1"); info.LoginFlow || info.QR != "" {
		t.Errorf("after QRTimeout: %+v", info)
	}

	addPhone(t, n, alice, "Alice")
	_, err := n.LinkQR(alice, codes[0])
	wantErr(t, err, sim.ErrQRExpired, "rotated out")
	_, err = n.LinkQR(alice, codes[2])
	wantErr(t, err, sim.ErrQRExpired, "timed out")
	_, err = n.LinkQR(alice, "2@nope,a,b,c")
	wantErr(t, err, sim.ErrQRUnknown)

	// A new Connect starts a new flow with new codes.
	noErr(t, c.s.Connect(ctx))
	qr := next[engine.QR](t, c.ev)
	if slices.Contains(codes, qr.Code) {
		t.Error("a new flow reused a code")
	}
	noErr(t, c.s.Close())
}

func TestQRDefaultsAndFakeClock(t *testing.T) {
	clk := clock.NewFake(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	n := newNet(t, sim.Options{Now: clk.Now})
	addPhone(t, n, alice, "Alice")
	c := open(t, n, "CHAN-1", "")
	noErr(t, c.s.Connect(ctx))
	qr := next[engine.QR](t, c.ev)
	wantEqual(t, "first expiry", qr.Expires, clk.Now().Add(60*time.Second))

	// The clock passes the expiry: the code is refused, though no timer fired.
	clk.Advance(60 * time.Second)
	_, err := n.LinkQR(alice, qr.Code)
	wantErr(t, err, sim.ErrQRExpired, "valid until 2030-01-02T03:05:05Z")
	if info, _ := n.SessionInfo("CHAN-1"); info.QR != qr.Code {
		t.Error("the clock alone rotated the code")
	}

	// RotateQR does what the timer would: five more codes of 20 s, then the end.
	for i := 0; i < 5; i++ {
		noErr(t, n.RotateQR("CHAN-1"))
		qr2 := next[engine.QR](t, c.ev)
		wantEqual(t, "next expiry", qr2.Expires, clk.Now().Add(20*time.Second))
	}
	_, err = n.LinkQR(alice, qr.Code)
	wantErr(t, err, sim.ErrQRExpired, "rotated out")
	noErr(t, n.RotateQR("CHAN-1"))
	next[engine.QRTimeout](t, c.ev)
	wantErr(t, n.RotateQR("CHAN-1"), engine.ErrNotInLoginFlow)
	wantErr(t, n.RotateQR("NOPE"), sim.ErrSessionNotFound)
	c.ev.none(t, 20*time.Millisecond)
}

func TestLinkByQR(t *testing.T) {
	clk := clock.NewFake(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	n := newNet(t, sim.Options{Now: clk.Now})
	addPhone(t, n, alice, "Alice")
	c := open(t, n, "CHAN-1", "")
	if c.s.Linked() || c.s.Self() != (engine.Account{}) {
		t.Fatal("a new session is linked")
	}
	noErr(t, c.s.Connect(ctx))
	qr := next[engine.QR](t, c.ev)

	_, err := n.LinkQR("15559999999", qr.Code)
	wantErr(t, err, sim.ErrPhoneNotFound)
	id := val(n.LinkQR(alice, " "+qr.Code+"\n")).get(t)
	wantEqual(t, "channel", id, "CHAN-1")
	l := next[engine.Linked](t, c.ev)
	if !deviceFormat.MatchString(l.Device) {
		t.Errorf("device %q", l.Device)
	}
	wantEqual(t, "account", l.Account, engine.Account{Phone: alice, Name: "Alice"})
	next[engine.Connected](t, c.ev)
	c.ev.none(t, 20*time.Millisecond)

	if !c.s.Linked() || c.s.Self() != l.Account {
		t.Errorf("Linked %v, Self %+v", c.s.Linked(), c.s.Self())
	}
	p := val(n.Phone(alice)).get(t)
	wantEqual(t, "devices", p.Devices, []sim.Device{{ID: l.Device, ChannelID: "CHAN-1", LinkedAt: clk.Now(), Connected: true}})
	wantEqual(t, "jid", p.JID, alice+"@s.whatsapp.net")
	info, _ := n.SessionInfo("CHAN-1")
	wantEqual(t, "info", info, sim.SessionInfo{ChannelID: "CHAN-1", Device: l.Device, Linked: true, Connected: true})

	_, err = n.LinkQR(alice, qr.Code)
	wantErr(t, err, sim.ErrQRExpired, "already used")
	_, err = c.s.PairPhone(ctx, alice)
	wantErr(t, err, engine.ErrAlreadyLinked)
	noErr(t, c.s.Connect(ctx)) // already connected: nothing
	c.ev.none(t, 20*time.Millisecond)
}

func TestPairingCode(t *testing.T) {
	n := newNet(t, sim.Options{QRFirst: time.Hour})
	addPhone(t, n, alice, "Alice")
	addPhone(t, n, bob, "Bob")
	c := open(t, n, "CHAN-1", "")
	_, err := c.s.PairPhone(ctx, alice)
	wantErr(t, err, engine.ErrNotInLoginFlow)
	noErr(t, c.s.Connect(ctx))
	next[engine.QR](t, c.ev)
	_, err = c.s.PairPhone(ctx, "12ab")
	wantErr(t, err, engine.ErrInvalidPhone)

	old := val(c.s.PairPhone(ctx, alice)).get(t)
	code := val(c.s.PairPhone(ctx, "+"+alice)).get(t)
	for _, k := range []string{old, code} {
		if !pairFormat.MatchString(k) {
			t.Errorf("pairing code %q", k)
		}
	}
	_, err = n.LinkCode(alice, old)
	wantErr(t, err, sim.ErrCodeExpired, "newer pairing code")
	_, err = n.LinkCode(bob, code)
	wantErr(t, err, sim.ErrCodeOtherPhone)
	_, err = n.LinkCode(alice, "ZZZZ1111")
	wantErr(t, err, sim.ErrCodeWrong)
	_, err = n.LinkCode(carol, code)
	wantErr(t, err, sim.ErrPhoneNotFound)

	typed := strings.ToLower(code[:4] + "-" + code[4:])
	wantEqual(t, "channel", val(n.LinkCode(alice, typed)).get(t), "CHAN-1")
	l := next[engine.Linked](t, c.ev)
	wantEqual(t, "account", l.Account, engine.Account{Phone: alice, Name: "Alice"})
	next[engine.Connected](t, c.ev)
	_, err = n.LinkCode(alice, code)
	wantErr(t, err, sim.ErrCodeExpired, "already used")

	// A code dies with its flow.
	c2 := open(t, n, "CHAN-2", "")
	noErr(t, c2.s.Connect(ctx))
	next[engine.QR](t, c2.ev)
	code2 := val(c2.s.PairPhone(ctx, bob)).get(t)
	c2.s.Disconnect()
	_, err = n.LinkCode(bob, code2)
	wantErr(t, err, sim.ErrCodeExpired, "cancelled")
}

func TestPairingCodeExpiresWithTheClock(t *testing.T) {
	clk := clock.NewFake(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	n := newNet(t, sim.Options{Now: clk.Now})
	addPhone(t, n, alice, "Alice")
	c := open(t, n, "CHAN-1", "")
	noErr(t, c.s.Connect(ctx))
	next[engine.QR](t, c.ev)
	code := val(c.s.PairPhone(ctx, alice)).get(t)
	clk.Advance(160 * time.Second) // 60 + 5 * 20
	_, err := n.LinkCode(alice, code)
	wantErr(t, err, sim.ErrCodeExpired, "valid until")
	clk.Advance(-time.Second)
	val(n.LinkCode(alice, code)).get(t)
}

func TestTwoChannelsTalk(t *testing.T) {
	n := newNet(t, sim.Options{})
	addPhone(t, n, alice, "Alice")
	addPhone(t, n, bob, "Bob")
	a := link(t, n, "CHAN-A", alice)
	b := link(t, n, "CHAN-B", bob)

	sent := val(a.s.SendText(ctx, bob, "hi bob")).get(t)
	wantEqual(t, "chat", sent.Chat, bob+"@s.whatsapp.net")
	m := next[engine.Message](t, b.ev)
	wantEqual(t, "message", m, engine.Message{ID: sent.ID, Chat: alice + "@s.whatsapp.net", Sender: alice + "@s.whatsapp.net",
		PushName: "Alice", Text: "hi bob", Time: sent.Time, Content: engine.Content{Kind: engine.KindText, Text: "hi bob"}})
	r := next[engine.Receipt](t, a.ev)
	wantEqual(t, "receipt", r, engine.Receipt{IDs: []string{sent.ID}, Chat: bob + "@s.whatsapp.net", Sender: bob + "@s.whatsapp.net",
		Type: engine.ReceiptDelivered, Time: r.Time})

	for _, to := range []string{"+" + alice, alice + "@s.whatsapp.net", alice + "@c.us"} {
		back := val(b.s.SendText(ctx, to, "hi alice")).get(t)
		m := next[engine.Message](t, a.ev)
		if m.ID != back.ID || m.Sender != bob+"@s.whatsapp.net" || m.PushName != "Bob" || m.FromMe || m.Text != "hi alice" {
			t.Errorf("alice got %+v", m)
		}
		next[engine.Receipt](t, b.ev)
	}

	inA := val(n.Inbox(alice)).get(t)
	inB := val(n.Inbox(bob)).get(t)
	if len(inA) != 3 || len(inB) != 1 {
		t.Fatalf("inboxes: %d and %d messages", len(inA), len(inB))
	}
	wantEqual(t, "bob's inbox", inB[0], sim.PhoneMessage{ID: sent.ID, From: alice, To: bob, Body: "hi bob", Time: sent.Time, Status: sim.StatusDelivered,
		Content: engine.Content{Kind: engine.KindText, Text: "hi bob"}})
	if sentA := val(n.Sent(alice)).get(t); len(sentA) != 1 || sentA[0].ID != sent.ID {
		t.Errorf("alice's sent list: %+v", sentA)
	}

	_, err := a.s.SendText(ctx, carol, "x")
	wantErr(t, err, sim.ErrNotOnWhatsApp, carol)
	_, err = a.s.SendText(ctx, alice, "x")
	wantErr(t, err, sim.ErrOwnNumber)
	_, err = a.s.SendText(ctx, "120363000000000000@g.us", "x")
	wantErr(t, err, engine.ErrGroupNotFound, "120363000000000000@g.us")
	_, err = a.s.SendText(ctx, "bob", "x")
	wantErr(t, err, engine.ErrInvalidPhone)
	_, err = a.s.SendText(ctx, bob, " \n")
	wantErr(t, err, sim.ErrInvalidText)
	_, err = a.s.SendText(ctx, bob, strings.Repeat("x", sim.MaxTextLen+1))
	wantErr(t, err, sim.ErrInvalidText)
	a.ev.none(t, 20*time.Millisecond)
	b.ev.none(t, 0)
}

func TestPhoneToChannelAndMultiDevice(t *testing.T) {
	n := newNet(t, sim.Options{})
	addPhone(t, n, alice, "Alice")
	addPhone(t, n, bob, "Bob")
	a := link(t, n, "CHAN-A", alice)
	b1 := link(t, n, "CHAN-B1", bob)
	b2 := link(t, n, "CHAN-B2", bob) // a second device of bob's account
	if p := val(n.Phone(bob)).get(t); len(p.Devices) != 2 {
		t.Fatalf("bob's devices: %+v", p.Devices)
	}

	pm := val(n.SendFromPhone(bob, alice, "from bob's phone")).get(t)
	if pm.From != bob || pm.To != alice || pm.Status != sim.StatusDelivered || !strings.HasPrefix(pm.ID, "3A") {
		t.Errorf("SendFromPhone = %+v", pm)
	}
	m := next[engine.Message](t, a.ev)
	wantEqual(t, "alice got", m, engine.Message{ID: pm.ID, Chat: bob + "@s.whatsapp.net", Sender: bob + "@s.whatsapp.net",
		PushName: "Bob", Text: "from bob's phone", Time: pm.Time, Content: engine.Content{Kind: engine.KindText, Text: "from bob's phone"}})
	for _, c := range []*chanSession{b1, b2} {
		echo := next[engine.Message](t, c.ev)
		wantEqual(t, "echo", echo, engine.Message{ID: pm.ID, Chat: alice + "@s.whatsapp.net", Sender: bob + "@s.whatsapp.net",
			PushName: "Bob", FromMe: true, Text: "from bob's phone", Time: pm.Time, Content: engine.Content{Kind: engine.KindText, Text: "from bob's phone"}})
		if r := next[engine.Receipt](t, c.ev); r.Type != engine.ReceiptDelivered || r.IDs[0] != pm.ID {
			t.Errorf("receipt %+v", r)
		}
	}

	// Alice's channel writes to bob: his phone and both devices get it.
	sent := val(a.s.SendText(ctx, bob, "to all of bob")).get(t)
	for _, c := range []*chanSession{b1, b2} {
		if m := next[engine.Message](t, c.ev); m.ID != sent.ID || m.FromMe {
			t.Errorf("bob's device got %+v", m)
		}
	}
	if in := val(n.Inbox(bob)).get(t); len(in) != 1 || in[0].ID != sent.ID {
		t.Errorf("bob's inbox: %+v", in)
	}
	next[engine.Receipt](t, a.ev)

	// One of bob's devices sends: the other gets the FromMe copy.
	s2 := val(b2.s.SendText(ctx, alice, "from device 2")).get(t)
	if e := next[engine.Message](t, b1.ev); e.ID != s2.ID || !e.FromMe {
		t.Errorf("device 1 got %+v", e)
	}
	next[engine.Receipt](t, b1.ev)
	next[engine.Receipt](t, b2.ev)
	next[engine.Message](t, a.ev)

	_, err := n.SendFromPhone(carol, alice, "x")
	wantErr(t, err, sim.ErrPhoneNotFound)
	_, err = n.SendFromPhone(bob, carol, "x")
	wantErr(t, err, sim.ErrNotOnWhatsApp)
	_, err = n.SendFromPhone(bob, bob, "x")
	wantErr(t, err, sim.ErrOwnNumber)
	_, err = n.SendFromPhone(bob, alice, "")
	wantErr(t, err, sim.ErrInvalidText)
}

func TestReadReceipts(t *testing.T) {
	n := newNet(t, sim.Options{})
	addPhone(t, n, alice, "Alice")
	addPhone(t, n, bob, "Bob")
	a := link(t, n, "CHAN-A", alice)

	// Alice's channel writes to bob's phone (no channel there); the phone reads.
	s1 := val(a.s.SendText(ctx, bob, "one")).get(t)
	s2 := val(a.s.SendText(ctx, bob, "two")).get(t)
	for _, id := range []string{s1.ID, s2.ID} {
		r := next[engine.Receipt](t, a.ev)
		wantEqual(t, "delivered", []any{r.Type, r.IDs}, []any{engine.ReceiptDelivered, []string{id}})
	}

	err := n.Read(bob, []string{s1.ID, "NOPE1", "NOPE2"})
	wantErr(t, err, sim.ErrMessageNotFound, "NOPE1, NOPE2")
	if in := val(n.Inbox(bob)).get(t); in[0].Status != sim.StatusDelivered {
		t.Error("a failed Read marked a message")
	}
	wantErr(t, n.Read(alice, []string{s1.ID}), sim.ErrMessageNotFound) // not in alice's inbox
	wantErr(t, n.Read(carol, []string{s1.ID}), sim.ErrPhoneNotFound)
	a.ev.none(t, 20*time.Millisecond)

	noErr(t, n.Read(bob, []string{s1.ID, s2.ID, s1.ID}))
	r := next[engine.Receipt](t, a.ev)
	wantEqual(t, "read", r, engine.Receipt{IDs: []string{s1.ID, s2.ID}, Chat: bob + "@s.whatsapp.net", Sender: bob + "@s.whatsapp.net",
		Type: engine.ReceiptRead, Time: r.Time})
	for _, m := range val(n.Inbox(bob)).get(t) {
		if m.Status != sim.StatusRead {
			t.Errorf("%s is %s", m.ID, m.Status)
		}
	}
	noErr(t, n.Read(bob, []string{s1.ID})) // already read: no receipt
	a.ev.none(t, 20*time.Millisecond)

	// Bob's phone writes to alice's channel, which marks it read.
	pm := val(n.SendFromPhone(bob, alice, "did you read?")).get(t)
	next[engine.Message](t, a.ev)
	b := link(t, n, "CHAN-B", bob) // bob now has a device that gets receipts
	err = a.s.MarkRead(ctx, bob+"@s.whatsapp.net", bob+"@s.whatsapp.net", []string{pm.ID, "NOPE"})
	wantErr(t, err, sim.ErrMessageNotFound, "NOPE")
	noErr(t, a.s.MarkRead(ctx, bob+"@s.whatsapp.net", bob+"@s.whatsapp.net", []string{pm.ID}))
	rr := next[engine.Receipt](t, b.ev)
	wantEqual(t, "read by alice", []any{rr.Type, rr.IDs, rr.Sender}, []any{engine.ReceiptRead, []string{pm.ID}, alice + "@s.whatsapp.net"})
	if in := val(n.Inbox(alice)).get(t); in[0].Status != sim.StatusRead {
		t.Errorf("alice's inbox: %+v", in)
	}
	if out := val(n.Sent(bob)).get(t); out[0].Status != sim.StatusRead {
		t.Errorf("bob's sent list: %+v", out)
	}
}

func TestQueuedDeliveryOnReconnect(t *testing.T) {
	n := newNet(t, sim.Options{})
	addPhone(t, n, alice, "Alice")
	addPhone(t, n, bob, "Bob")
	a := link(t, n, "CHAN-A", alice)

	a.s.Disconnect() // the caller's own disconnect emits nothing
	a.ev.none(t, 20*time.Millisecond)
	a.s.Disconnect() // not connected: nothing
	_, err := a.s.SendText(ctx, bob, "x")
	wantErr(t, err, engine.ErrNotConnected)
	wantErr(t, a.s.MarkRead(ctx, "", "", nil), engine.ErrNotConnected)
	_, err = a.s.Profile(ctx)
	wantErr(t, err, engine.ErrNotConnected)
	if p := val(n.Phone(alice)).get(t); p.Devices[0].Connected {
		t.Error("the phone shows the device connected")
	}

	var ids []string
	for _, body := range []string{"one", "two", "three"} {
		ids = append(ids, val(n.SendFromPhone(bob, alice, body)).get(t).ID)
	}
	a.ev.none(t, 20*time.Millisecond)
	noErr(t, a.s.Connect(ctx))
	next[engine.Connected](t, a.ev)
	for i, id := range ids {
		if m := next[engine.Message](t, a.ev); m.ID != id {
			t.Errorf("queued message %d: %s, want %s", i, m.ID, id)
		}
	}

	// Queued across Close and a new session with the stored device.
	noErr(t, a.s.Close())
	pm := val(n.SendFromPhone(bob, alice, "while closed")).get(t)
	a2 := open(t, n, "CHAN-A", a.dev)
	if !a2.s.Linked() {
		t.Fatal("reopened session is not linked")
	}
	noErr(t, a2.s.Connect(ctx))
	next[engine.Connected](t, a2.ev)
	if m := next[engine.Message](t, a2.ev); m.ID != pm.ID {
		t.Errorf("got %+v", m)
	}

	// A dropped connection.
	wantEqual(t, "dropped", val(n.Drop("CHAN-A")).get(t), true)
	if d := next[engine.Disconnected](t, a2.ev); d.Reason != sim.ReasonConnectionLost {
		t.Errorf("Drop: %q", d.Reason)
	}
	wantEqual(t, "dropped again", val(n.Drop("CHAN-A")).get(t), false)
	_, err = n.Drop("NOPE")
	wantErr(t, err, sim.ErrSessionNotFound)
}

func TestUnlinkFromPhone(t *testing.T) {
	n := newNet(t, sim.Options{})
	addPhone(t, n, alice, "Alice")
	addPhone(t, n, bob, "Bob")
	a1 := link(t, n, "CHAN-1", alice)
	a2 := link(t, n, "CHAN-2", alice)
	b := link(t, n, "CHAN-B", bob)
	a2.s.Disconnect()

	wantEqual(t, "unlinked", val(n.Unlink(alice)).get(t), 2)
	for _, c := range []*chanSession{a1, a2} {
		wantEqual(t, "event", next[engine.LoggedOut](t, c.ev), engine.LoggedOut{Reason: "unlinked from phone"})
		if c.s.Linked() {
			t.Errorf("%s still linked", c.id)
		}
		_, err := c.s.SendText(ctx, bob, "x")
		wantErr(t, err, engine.ErrNotLinked)
		_, err = n.Open(ctx, engine.SessionConfig{ChannelID: c.id, Device: c.dev})
		wantErr(t, err, engine.ErrDeviceNotFound, "unlinked")
	}
	if p := val(n.Phone(alice)).get(t); len(p.Devices) != 0 {
		t.Errorf("alice still lists %+v", p.Devices)
	}
	if !b.s.Linked() {
		t.Error("bob's channel was unlinked too")
	}
	wantEqual(t, "unlinked again", val(n.Unlink(alice)).get(t), 0)
	_, err := n.Unlink(carol)
	wantErr(t, err, sim.ErrPhoneNotFound)

	// Connect starts a new login.
	noErr(t, a1.s.Connect(ctx))
	next[engine.QR](t, a1.ev)
}

func TestLogoutAndForget(t *testing.T) {
	n := newNet(t, sim.Options{})
	addPhone(t, n, alice, "Alice")
	addPhone(t, n, bob, "Bob")
	a := link(t, n, "CHAN-1", alice)

	// Forget: local only; the phone still lists the device, which still works.
	noErr(t, a.s.Forget(ctx))
	if a.s.Linked() {
		t.Error("linked after Forget")
	}
	noErr(t, a.s.Forget(ctx)) // nothing left to forget
	p := val(n.Phone(alice)).get(t)
	if len(p.Devices) != 1 || p.Devices[0].ID != a.dev || p.Devices[0].Connected {
		t.Errorf("after Forget the phone lists %+v", p.Devices)
	}
	pm := val(n.SendFromPhone(bob, alice, "queued for the forgotten device")).get(t)
	a.ev.none(t, 20*time.Millisecond)
	noErr(t, a.s.Close())

	a2 := open(t, n, "CHAN-1", a.dev)
	noErr(t, a2.s.Connect(ctx))
	next[engine.Connected](t, a2.ev)
	if m := next[engine.Message](t, a2.ev); m.ID != pm.ID {
		t.Errorf("got %+v", m)
	}

	// Logout: the network forgets the device; no event for this session.
	noErr(t, a2.s.Logout(ctx))
	if a2.s.Linked() {
		t.Error("linked after Logout")
	}
	a2.ev.none(t, 20*time.Millisecond)
	if p := val(n.Phone(alice)).get(t); len(p.Devices) != 0 {
		t.Errorf("after Logout the phone lists %+v", p.Devices)
	}
	wantErr(t, a2.s.Logout(ctx), engine.ErrNotLinked)
	_, err := n.Open(ctx, engine.SessionConfig{ChannelID: "CHAN-1", Device: a.dev})
	wantErr(t, err, engine.ErrDeviceNotFound)
	noErr(t, a2.s.Connect(ctx))
	next[engine.QR](t, a2.ev)
}

func TestStreamReplaced(t *testing.T) {
	n := newNet(t, sim.Options{})
	addPhone(t, n, alice, "Alice")
	a := link(t, n, "CHAN-1", alice)
	a2 := open(t, n, "CHAN-1", a.dev)
	noErr(t, a2.s.Connect(ctx))
	next[engine.Connected](t, a2.ev)
	next[engine.StreamReplaced](t, a.ev)
	_, err := a.s.SendText(ctx, bob, "x")
	wantErr(t, err, engine.ErrNotConnected)
}

func TestReopenAfterRestart(t *testing.T) {
	n1 := sim.New(sim.Options{})
	val(n1.AddPhone(alice, "Alice")).get(t)
	a := link(t, n1, "CHAN-1", alice)
	noErr(t, n1.Close())
	_, err := n1.Open(ctx, engine.SessionConfig{ChannelID: "X"})
	wantErr(t, err, sim.ErrClosed)
	_, err = n1.AddPhone(bob, "")
	wantErr(t, err, sim.ErrClosed)
	wantErr(t, a.s.Connect(ctx), sim.ErrClosed)

	n2 := newNet(t, sim.Options{}) // the restarted server
	addPhone(t, n2, bob, "Bob")
	a2 := open(t, n2, "CHAN-1", a.dev)
	if !a2.s.Linked() || a2.s.Self() != (engine.Account{Phone: alice, Name: alice}) {
		t.Fatalf("reopened: linked %v, self %+v", a2.s.Linked(), a2.s.Self())
	}
	p := val(n2.Phone(alice)).get(t)
	if len(p.Devices) != 1 || p.Devices[0].ID != a.dev || p.Devices[0].ChannelID != "CHAN-1" {
		t.Errorf("re-registered phone: %+v", p)
	}
	noErr(t, a2.s.Connect(ctx))
	next[engine.Connected](t, a2.ev)
	val(a2.s.SendText(ctx, bob, "still here")).get(t)
	if in := val(n2.Inbox(bob)).get(t); len(in) != 1 {
		t.Errorf("bob's inbox: %+v", in)
	}

	// The operator re-creates the phone: it is adopted, not a conflict.
	p = val(n2.AddPhone(alice, "Alice")).get(t)
	if p.Name != "Alice" || len(p.Devices) != 1 || a2.s.Self().Name != "Alice" {
		t.Errorf("adopted phone: %+v, self %+v", p, a2.s.Self())
	}
	_, err = n2.AddPhone(alice, "Alice")
	wantErr(t, err, sim.ErrPhoneExists)

	// A second device of the same account after the restart joins the phone.
	other := strings.TrimSuffix(a.dev, a.dev[len(a.dev)-4:]) + "beef"
	a3 := open(t, n2, "CHAN-3", other)
	if a3.s.Self().Phone != alice || len(val(n2.Phone(alice)).get(t).Devices) != 2 {
		t.Error("the second device did not join alice's phone")
	}

	for _, dev := range []string{"whatsmeow:1", "sim:", "sim:123:abc", "sim:15551230001:", "sim:15551230001:a-b", "sim:1555123000x:abc"} {
		_, err := n2.Open(ctx, engine.SessionConfig{ChannelID: "CHAN-X", Device: dev})
		wantErr(t, err, engine.ErrDeviceNotFound)
	}
}

// TestRestoreDevices: devices restored at start keep what their phone
// receives before their channel opens, and give it on the first connection.
func TestRestoreDevices(t *testing.T) {
	n1 := sim.New(sim.Options{})
	val(n1.AddPhone(alice, "Alice")).get(t)
	a := link(t, n1, "CHAN-1", alice)
	noErr(t, n1.Close())

	n2 := newNet(t, sim.Options{})
	n2.Restore([]sim.StoredPhone{{Number: alice, Name: "Alice"}, {Number: bob, Name: "Bob"}, {Number: "12", Name: "bad"}},
		[]string{a.dev, "whatsmeow:1", "sim:x"})
	if p := val(n2.Phone(alice)).get(t); p.Name != "Alice" || len(p.Devices) != 1 || p.Devices[0].ID != a.dev {
		t.Fatalf("restored phone: %+v", p)
	}
	if _, err := n2.Phone("12"); err == nil {
		t.Error("a malformed stored phone was restored")
	}
	sent := val(n2.SendFromPhone(bob, alice, "while you were away")).get(t)

	a2 := open(t, n2, "CHAN-1", a.dev)
	noErr(t, a2.s.Connect(ctx))
	next[engine.Connected](t, a2.ev)
	if m := next[engine.Message](t, a2.ev); m.ID != sent.ID || m.Text != "while you were away" {
		t.Errorf("queued message: %+v, want %s", m, sent.ID)
	}
	// Restoring again changes nothing: the device is the same one.
	n2.Restore(nil, []string{a.dev})
	if p := val(n2.Phone(alice)).get(t); len(p.Devices) != 1 {
		t.Errorf("devices after a second restore: %+v", p.Devices)
	}
}

func TestProxy(t *testing.T) {
	n := newNet(t, sim.Options{})
	_, err := n.Open(ctx, engine.SessionConfig{ChannelID: "CHAN-1", Proxy: "ftp://x:1"})
	wantErr(t, err, engine.ErrBadProxy)
	_, err = n.Open(ctx, engine.SessionConfig{})
	wantErr(t, err, sim.ErrInvalidChannel)

	r := newRecorder()
	s := val(n.Open(ctx, engine.SessionConfig{ChannelID: "CHAN-1", Proxy: "socks5://u:p@127.0.0.1:1080", Events: r.fn, Ingest: r.ingest})).get(t)
	defer s.Close()
	if p, ok := n.SessionProxy("CHAN-1"); !ok || p != "socks5://u:p@127.0.0.1:1080" {
		t.Errorf("SessionProxy = %q, %v", p, ok)
	}
	for _, good := range []string{"", "http://proxy.example:3128", "https://u:p@proxy.example", "socks5://[::1]:1080/"} {
		if err := s.SetProxy(good); err != nil {
			t.Errorf("SetProxy(%q): %v", good, err)
		}
	}
	for _, bad := range []string{"proxy.example:3128", "ftp://proxy.example", "socks5://", "http://h:port", "http://h/path", "http://h?x=1", "::"} {
		wantErr(t, s.SetProxy(bad), engine.ErrBadProxy)
	}
	if p, _ := n.SessionProxy("CHAN-1"); p != "socks5://[::1]:1080/" {
		t.Errorf("a refused proxy was recorded: %q", p)
	}
	noErr(t, s.SetProxy("http://proxy.example:3128"))
	noErr(t, s.Connect(ctx))
	noErr(t, s.SetProxy("socks5://other:1080"))
	info, _ := n.SessionInfo("CHAN-1")
	if info.ConnProxy != "http://proxy.example:3128" || info.Proxy != "socks5://other:1080" {
		t.Errorf("info %+v", info)
	}
	if _, ok := n.SessionProxy("NOPE"); ok {
		t.Error("SessionProxy of an unknown channel")
	}
}

func TestPhonesAndProfile(t *testing.T) {
	n := newNet(t, sim.Options{})
	for _, bad := range []string{"", "123456", "1234567890123456", "+15551230001", "1555 123 0001"} {
		_, err := n.AddPhone(bad, "x")
		wantErr(t, err, sim.ErrInvalidPhone)
	}
	_, err := n.AddPhone(alice, strings.Repeat("x", 26))
	wantErr(t, err, sim.ErrInvalidProfile)
	_, err = n.AddPhone(alice, "a\tb")
	wantErr(t, err, sim.ErrInvalidProfile)
	addPhone(t, n, bob, "")
	p := val(n.AddPhone(alice, "Alice")).get(t)
	wantEqual(t, "phone", p, sim.Phone{Number: alice, Name: "Alice", JID: alice + "@s.whatsapp.net", Devices: []sim.Device{}})
	_, err = n.AddPhone(alice, "Again")
	wantErr(t, err, sim.ErrPhoneExists)
	ps := n.Phones()
	if len(ps) != 2 || ps[0].Number != alice || ps[1].Number != bob || ps[1].Name != bob {
		t.Errorf("Phones = %+v", ps)
	}
	_, err = n.Phone(carol)
	wantErr(t, err, sim.ErrPhoneNotFound)

	c := open(t, n, "CHAN-1", "")
	_, err = c.s.Profile(ctx)
	wantErr(t, err, engine.ErrNotLinked)
	wantErr(t, c.s.SetProfile(ctx, engine.ProfileUpdate{}), engine.ErrNotLinked)
	c.s.Close()
	c = link(t, n, "CHAN-1", alice)
	wantEqual(t, "profile", val(c.s.Profile(ctx)).get(t), engine.Profile{Name: "Alice"})
	name, about := "Alice B.", "Busy"
	noErr(t, c.s.SetProfile(ctx, engine.ProfileUpdate{Name: &name, About: &about}))
	wantEqual(t, "profile", val(c.s.Profile(ctx)).get(t), engine.Profile{Name: name, About: about})
	if p := val(n.Phone(alice)).get(t); p.Name != name || p.About != about {
		t.Errorf("phone %+v", p)
	}
	if c.s.Self().Name != name {
		t.Errorf("Self %+v", c.s.Self())
	}
	blank, long := " ", strings.Repeat("x", 140)
	wantErr(t, c.s.SetProfile(ctx, engine.ProfileUpdate{Name: &blank}), sim.ErrInvalidProfile)
	wantErr(t, c.s.SetProfile(ctx, engine.ProfileUpdate{About: &long}), sim.ErrInvalidProfile)
	empty := ""
	noErr(t, c.s.SetProfile(ctx, engine.ProfileUpdate{About: &empty}))
}
