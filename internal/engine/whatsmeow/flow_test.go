package whatsmeow

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/store"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/fakewa"
)

// Login flows, linked logins and the session's own connection handling,
// with real whatsmeow clients against fakewa on loopback. Under -race they
// run in TestSocketTestsUnderRace's child (socketrace_test.go).

// A QR login: no pairing code before the first QR, codes while it runs,
// the phone scans, Linked, whatsmeow's 515 reconnect logs in as the new
// device with the engine's version, a second session opens on it, the phone
// removes it (LoggedOut, device deleted) and the next Connect starts a new
// flow with a new device.
func TestLoginFlowPairingAndLogout(t *testing.T) {
	w := newWorld(t, Options{})
	acct := w.srv.Account("15551234567")
	acct.SetBusinessName("Acme")
	o := w.open(engine.SessionConfig{ChannelID: "AAAAAA-00003"})
	ctx := ctxT(t)

	// The first registration is never answered: the flow runs, no QR yet.
	w.srv.OnConnect(fakewa.Stall())
	if err := o.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	c, err := w.srv.NextConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Login() {
		t.Fatal("an unlinked session sent a login payload")
	}
	if _, err := o.PairPhone(ctx, "15551234567"); !errors.Is(err, engine.ErrNotInLoginFlow) {
		t.Fatalf("PairPhone before the first QR: %v", err)
	}
	o.Disconnect()

	if err := o.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if c, err = w.srv.NextConn(ctx); err != nil || c.Login() {
		t.Fatalf("second registration: %v", err)
	}
	ev, i := o.rec.wait(t, 0, wait, isType[engine.QR])
	qr := ev.(engine.QR)
	if parts := strings.Split(qr.Code, ","); len(parts) != 4 || parts[0] == "" {
		t.Fatalf("QR code %q", qr.Code)
	}
	if d := time.Until(qr.Expires); d < 55*time.Second || d > 61*time.Second {
		t.Fatalf("first QR expires in %s, want about 60s", d)
	}

	// Pairing codes while the flow runs.
	if _, err := o.PairPhone(ctx, "0155"); !errors.Is(err, engine.ErrInvalidPhone) {
		t.Fatalf("bad phone: %v", err)
	}
	code, err := o.PairPhone(ctx, "+15551234567")
	if err != nil {
		t.Fatalf("PairPhone: %v", err)
	}
	if !regexp.MustCompile(`^[0-9A-Z]{4}-[0-9A-Z]{4}$`).MatchString(code) {
		t.Fatalf("pairing code %q", code)
	}

	// The phone scans the QR code.
	d, err := acct.ScanQR(ctx, qr.Code)
	if err != nil {
		t.Fatalf("ScanQR: %v", err)
	}
	ev, i = o.rec.wait(t, i, wait, isType[engine.Linked])
	linked := ev.(engine.Linked)
	if linked.Device != d.JID().String() || linked.Account != (engine.Account{Phone: "15551234567", Name: "Acme"}) {
		t.Fatalf("Linked = %+v, device at the server %s", linked, d.JID())
	}
	if _, err := c.WaitNode(ctx, fakewa.Tag("iq", "pair-device-sign")); err != nil {
		t.Fatal(err)
	}
	if !o.Linked() || !hasDevice(t, w.e, linked.Device) {
		t.Fatalf("after pairing: linked=%v devices=%v", o.Linked(), storedDevices(t, w.e))
	}
	// The server restarts the stream (515); whatsmeow logs in as the device.
	c2, err := w.srv.NextConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !c2.Login() || c2.DeviceJID() != d.JID() {
		t.Fatalf("reconnect after 515: login=%v device %s", c2.Login(), c2.DeviceJID())
	}
	want, _ := store.ParseVersion(testVersion)
	if v := c2.Payload().GetUserAgent().GetAppVersion(); !sameVersion(v, want) {
		t.Fatalf("login announces version %v, want %s", v, testVersion)
	}
	_, i = o.rec.wait(t, i, wait, isType[engine.Connected])
	if _, err := d.WaitOnline(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ev := range o.rec.all() {
		if _, ok := ev.(engine.QRTimeout); ok {
			t.Fatalf("QRTimeout after pairing: %#v", o.rec.all())
		}
	}

	// A second session on the stored device opens linked.
	s2, err := w.e.Open(ctx, engine.SessionConfig{Device: linked.Device})
	if err != nil || !s2.Linked() || s2.Self().Phone != "15551234567" {
		t.Fatalf("reopen the paired device: %v", err)
	}
	s2.Close()

	// The phone removes the device: LoggedOut, and the device is gone.
	if err := d.Inject(fakewa.LoggedOut()); err != nil {
		t.Fatal(err)
	}
	ev, i = o.rec.wait(t, i, wait, isType[engine.LoggedOut])
	if lo := ev.(engine.LoggedOut); lo.Code != 401 || !strings.HasPrefix(lo.Reason, "401") {
		t.Fatalf("LoggedOut %+v", lo)
	}
	if o.Linked() {
		t.Fatal("linked after LoggedOut")
	}
	waitFor(t, wait, func() bool { return len(storedDevices(t, w.e)) == 0 })

	// Connect again: a fresh login flow with a fresh device.
	if err := o.Connect(ctx); err != nil {
		t.Fatalf("Connect after LoggedOut: %v", err)
	}
	if c3, err := w.srv.NextConn(ctx); err != nil || c3.Login() {
		t.Fatalf("the login after LoggedOut used the old device (%v)", err)
	}
	ev, _ = o.rec.wait(t, i, wait, isType[engine.QR])
	if again := ev.(engine.QR).Code; strings.Split(again, ",")[1] == strings.Split(qr.Code, ",")[1] {
		t.Fatalf("the new flow's QR %q reuses the old Noise key", again)
	}
}

// A pairing code entered on the phone links the session as a QR scan does,
// and the new device can be messaged.
func TestLoginFlowPairingCode(t *testing.T) {
	w := newWorld(t, Options{})
	acct := w.srv.Account("15551234567")
	o := w.open(engine.SessionConfig{})
	ctx := ctxT(t)
	if err := o.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	_, i := o.rec.wait(t, 0, wait, isType[engine.QR])
	code, err := o.PairPhone(ctx, "15551234567")
	if err != nil {
		t.Fatalf("PairPhone: %v", err)
	}
	if _, err := acct.EnterCode(ctx, strings.ReplaceAll(code, "-", "")); err != nil {
		t.Fatalf("EnterCode: %v", err)
	}
	ev, i := o.rec.wait(t, i, wait, isType[engine.Linked])
	if l := ev.(engine.Linked); l.Account.Phone != "15551234567" || !strings.HasPrefix(l.Device, "15551234567:") {
		t.Fatalf("Linked = %+v", l)
	}
	_, i = o.rec.wait(t, i, wait, isType[engine.Connected])
	devs := acct.Devices()
	if len(devs) != 1 || devs[0].Conn() == nil {
		t.Fatalf("the account's devices at the server: %v", devs)
	}
	// The new device has working Signal keys: a peer's message arrives.
	sent, err := w.srv.Peer("15557654321").SendText(acct, "welcome")
	if err != nil {
		t.Fatal(err)
	}
	ev, _ = o.rec.wait(t, i, wait, isType[engine.Message])
	if m := ev.(engine.Message); m.ID != sent.ID || m.Text != "welcome" {
		t.Fatalf("message %+v", m)
	}
	if _, err := devs[0].WaitAcked(ctx, sent.ID); err != nil {
		t.Fatal(err)
	}
}

func TestLoginFlowConnectionLostGivesQRTimeout(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.open(engine.SessionConfig{})
	ctx := ctxT(t)
	if err := o.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := w.srv.NextConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, i := o.rec.wait(t, 0, wait, isType[engine.QR])
	c.Close()
	o.rec.wait(t, i, wait, isType[engine.QRTimeout])
	if _, err := o.PairPhone(ctx, "15551234567"); !errors.Is(err, engine.ErrNotInLoginFlow) {
		t.Fatalf("PairPhone after the flow ended: %v", err)
	}
	if o.Linked() || len(storedDevices(t, w.e)) != 0 {
		t.Fatal("an abandoned login left a device")
	}
}

// A session never reconnects by itself: after a dropped connection it
// reports Disconnected and waits for its owner's Connect, which reuses the
// client (and its caches).
func TestNoAutomaticReconnect(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.connectStored("15551234567", 5, engine.SessionConfig{})
	first := o.cli

	n := len(o.rec.all())
	o.conn.Close() // the network drops
	o.rec.wait(t, n, wait, isType[engine.Disconnected])
	noReconnect(t, w.srv, o.dev)
	if !o.Linked() {
		t.Fatal("a dropped connection unlinked the session")
	}
	o.connect()
	if o.cli != first {
		t.Error("reconnecting built a new whatsmeow client (its caches are lost)")
	}
}

func TestLoginWatchdog(t *testing.T) {
	w := newWorld(t, Options{LoginTimeout: 300 * time.Millisecond})
	o := w.openStored("15551234567", 6, engine.SessionConfig{})
	w.srv.OnConnect(fakewa.Stall()) // the server never answers the login
	ctx := ctxT(t)
	if err := o.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := w.srv.NextConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := o.rec.wait(t, 0, wait, isType[engine.ConnectFailure])
	if cf := ev.(engine.ConnectFailure); !strings.Contains(cf.Reason, "no login within") {
		t.Fatalf("watchdog event %#v", cf)
	}
	select {
	case <-c.Closed():
	case <-ctx.Done():
		t.Fatal("the watchdog left the connection open")
	}
	if !o.Linked() {
		t.Fatal("the watchdog unlinked the session")
	}
}

// After Disconnect nothing comes from the connection; what WhatsApp had
// for the device meanwhile comes with the next Connect.
func TestDisconnectStopsEvents(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.connectStored("15551234567", 8, engine.SessionConfig{})
	bob := w.srv.Peer("15557654321")
	n := len(o.rec.all())
	o.Disconnect()
	select {
	case <-o.conn.Closed():
	case <-ctxT(t).Done():
		t.Fatal("Disconnect left the connection open")
	}
	sent, err := bob.SendText(o.acct, "while you were away")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if got := o.rec.all()[n:]; len(got) != 0 {
		t.Fatalf("events after Disconnect: %#v", got)
	}
	if !o.Linked() {
		t.Fatal("Disconnect unlinked")
	}
	if _, err := o.SendText(ctxT(t), "15557654321", "hi"); !errors.Is(err, engine.ErrNotConnected) {
		t.Fatalf("SendText after Disconnect: %v", err)
	}
	o.connect()
	ev, _ := o.rec.wait(t, n, wait, isType[engine.Message])
	if m := ev.(engine.Message); m.ID != sent.ID || m.Text != "while you were away" {
		t.Fatalf("message after reconnecting: %+v", m)
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOnlineActions(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.connectStored("15551234567", 2, engine.SessionConfig{})
	ctx := ctxT(t)
	attempts := len(w.srv.Attempts())
	if err := o.Connect(ctx); err != nil {
		t.Fatalf("Connect while connected: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(w.srv.Attempts()); n != attempts {
		t.Fatal("Connect while connected opened a second connection")
	}

	p, err := o.Profile(ctx)
	if err != nil {
		t.Fatalf("Profile: %v", err)
	}
	if p != (engine.Profile{Name: "Alice", Picture: "https://mmg.whatsapp.net/v/pic.jpg"}) {
		t.Fatalf("Profile = %+v", p)
	}
	about := "Busy"
	if err := o.SetProfile(ctx, engine.ProfileUpdate{About: &about}); err != nil {
		t.Fatalf("SetProfile about: %v", err)
	}
	status, err := o.conn.WaitNode(ctx, fakewa.Tag("iq", "status"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := status.GetChildren()[0].Content.([]byte); string(got) != "Busy" {
		t.Fatalf("status sent %q", got)
	}
	// The push name is an app-state patch; it needs the app-state keys the
	// phone shares after linking, which this device never got.
	name := "Bob"
	if err := o.SetProfile(ctx, engine.ProfileUpdate{Name: &name}); err == nil || !strings.Contains(err.Error(), "app state") {
		t.Fatalf("SetProfile name without app-state keys: %v", err)
	}

	bob := w.srv.Peer("15557654321")
	if err := o.MarkRead(ctx, "15557654321", "", []string{"MSG1", "MSG2"}); err != nil {
		t.Fatalf("MarkRead: %v", err)
	}
	waitFor(t, wait, func() bool {
		for _, r := range bob.ClientReceipts() {
			if r.Type == "read" && strings.Join(r.IDs, ",") == "MSG1,MSG2" && r.From == o.dev.JID() {
				return true
			}
		}
		return false
	})

	sent, err := o.SendText(ctx, "+15557654321", "hello")
	if err != nil {
		t.Fatalf("SendText: %v", err)
	}
	if sent.ID == "" || sent.Chat != "15557654321@s.whatsapp.net" || sent.Time.IsZero() || len(sent.Payload) == 0 {
		t.Fatalf("SentMessage %+v", sent)
	}
	if _, err := o.conn.WaitNode(ctx, func(n *waBinary.Node) bool { return n.Tag == "message" && n.Attrs["id"] == sent.ID }); err != nil {
		t.Fatal(err)
	}

	// Logout tells WhatsApp, then drops the device; no event.
	n := len(o.rec.all())
	if err := o.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if _, err := o.conn.WaitNode(ctx, fakewa.Tag("iq", "remove-companion-device")); err != nil {
		t.Fatal(err)
	}
	if o.Linked() || len(storedDevices(t, w.e)) != 0 || o.dev.Linked() {
		t.Fatalf("after Logout: linked=%v devices=%v linked at the server=%v", o.Linked(), storedDevices(t, w.e), o.dev.Linked())
	}
	time.Sleep(200 * time.Millisecond)
	if got := o.rec.all()[n:]; len(got) != 0 {
		t.Fatalf("events after Logout: %#v", got)
	}
	// And Connect starts a login flow.
	if err := o.Connect(ctx); err != nil {
		t.Fatalf("Connect after Logout: %v", err)
	}
	waitFor(t, wait, func() bool {
		at := w.srv.Attempts()
		return at[len(at)-1].Result == "registration"
	})
}
