package whatsmeow

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/store/storetest"
)

// These tests connect real whatsmeow clients to the fake server on
// loopback. They run under -race: see the package report for whatsmeow's
// known socket race (its issue #1085) and whether it showed here.

const wait = 10 * time.Second

func TestLoginFlowPairingAndLogout(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{})
	fake := newFakeWA(t, e)
	rec := newRecorder()
	ctx := context.Background()
	s, err := e.Open(ctx, engine.SessionConfig{ChannelID: "AAAAAA-00003", Events: rec.add, Ingest: rec.ingest})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := s.Connect(cctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	c := fake.next(wait)
	if c.login {
		t.Fatal("unlinked session sent a login payload")
	}
	if _, err := s.PairPhone(ctx, "15551234567"); !errors.Is(err, engine.ErrNotInLoginFlow) {
		t.Fatalf("PairPhone before the first QR: %v", err)
	}
	if err := c.send(pairDeviceNode("ref1", "ref2", "ref3", "ref4", "ref5", "ref6")); err != nil {
		t.Fatal(err)
	}
	ev, i := rec.wait(t, 0, wait, isType[engine.QR])
	qr := ev.(engine.QR)
	if !strings.HasPrefix(qr.Code, "ref1,") || len(strings.Split(qr.Code, ",")) != 4 {
		t.Fatalf("QR code %q", qr.Code)
	}
	if d := time.Until(qr.Expires); d < 55*time.Second || d > 61*time.Second {
		t.Fatalf("first QR expires in %s, want about 60s", d)
	}

	// Pairing code while the flow runs.
	if _, err := s.PairPhone(ctx, "0155"); !errors.Is(err, engine.ErrInvalidPhone) {
		t.Fatalf("bad phone: %v", err)
	}
	pctx, pcancel := context.WithTimeout(ctx, wait)
	code, err := s.PairPhone(pctx, "+15551234567")
	pcancel()
	if err != nil {
		t.Fatalf("PairPhone: %v", err)
	}
	if !regexp.MustCompile(`^[0-9A-Z]{4}-[0-9A-Z]{4}$`).MatchString(code) {
		t.Fatalf("pairing code %q", code)
	}

	// The phone scans: pair-success, then WhatsApp's 515 restart.
	device := types.JID{User: "15551234567", Device: 9, Server: types.DefaultUserServer}
	lid := types.JID{User: "99887766", Device: 9, Server: types.HiddenUserServer}
	if err := c.send(pairSuccessNode(t, qr.Code, device, lid)); err != nil {
		t.Fatal(err)
	}
	ev, i = rec.wait(t, i, wait, isType[engine.Linked])
	linked := ev.(engine.Linked)
	if linked.Device != "15551234567:9@s.whatsapp.net" || linked.Account != (engine.Account{Phone: "15551234567", Name: "Acme"}) {
		t.Fatalf("Linked = %+v", linked)
	}
	c.waitNode(t, "iq", "pair-device-sign", wait)
	if !s.Linked() || countDevices(t, st) != 1 {
		t.Fatalf("after pairing: linked=%v rows=%d", s.Linked(), countDevices(t, st))
	}
	if err := c.send(streamError("515", "")); err != nil {
		t.Fatal(err)
	}
	c2 := fake.next(wait)
	if !c2.login || c2.payload.GetUsername() != 15551234567 || c2.payload.GetDevice() != 9 {
		t.Fatalf("reconnect after 515: login=%v payload user %d device %d", c2.login, c2.payload.GetUsername(), c2.payload.GetDevice())
	}
	if v := c2.payload.GetUserAgent().GetAppVersion(); v.GetTertiary() != 1031080782 {
		t.Fatalf("login announces version %v", v)
	}
	if err := c2.send(successNode()); err != nil {
		t.Fatal(err)
	}
	_, i = rec.wait(t, i, wait, isType[engine.Connected])
	for _, ev := range rec.all() {
		if _, ok := ev.(engine.QRTimeout); ok {
			t.Fatalf("QRTimeout after pairing: %#v", rec.all())
		}
	}

	// A second session on the stored device opens linked.
	s2, err := e.Open(ctx, engine.SessionConfig{Device: linked.Device})
	if err != nil || !s2.Linked() || s2.Self().Phone != "15551234567" {
		t.Fatalf("reopen paired device: %v", err)
	}
	s2.Close()

	// The phone removes the device: LoggedOut, and the device is gone.
	if err := c2.send(streamError("401", "device_removed")); err != nil {
		t.Fatal(err)
	}
	ev, i = rec.wait(t, i, wait, isType[engine.LoggedOut])
	if r := ev.(engine.LoggedOut).Reason; !strings.HasPrefix(r, "401") {
		t.Fatalf("LoggedOut reason %q", r)
	}
	if s.Linked() {
		t.Fatal("linked after LoggedOut")
	}
	waitFor(t, wait, func() bool { return countDevices(t, st) == 0 })

	// Connect again: a fresh login flow with a fresh device.
	cctx2, cancel2 := context.WithTimeout(ctx, wait)
	defer cancel2()
	if err := s.Connect(cctx2); err != nil {
		t.Fatalf("Connect after LoggedOut: %v", err)
	}
	c3 := fake.next(wait)
	if c3.login {
		t.Fatal("relogin used the old device")
	}
	if err := c3.send(pairDeviceNode("again1", "again2")); err != nil {
		t.Fatal(err)
	}
	ev, _ = rec.wait(t, i, wait, isType[engine.QR])
	if code := ev.(engine.QR).Code; !strings.HasPrefix(code, "again1,") || strings.Split(code, ",")[1] == strings.Split(qr.Code, ",")[1] {
		t.Fatalf("new flow QR %q reuses the old noise key", code)
	}
}

func TestLoginFlowConnectionLostGivesQRTimeout(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{})
	fake := newFakeWA(t, e)
	rec := newRecorder()
	s, _ := e.Open(context.Background(), engine.SessionConfig{Events: rec.add, Ingest: rec.ingest})
	defer s.Close()
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := fake.next(wait)
	c.send(pairDeviceNode("r1", "r2", "r3"))
	_, i := rec.wait(t, 0, wait, isType[engine.QR])
	c.ws.CloseNow()
	rec.wait(t, i, wait, isType[engine.QRTimeout])
	if _, err := s.PairPhone(context.Background(), "15551234567"); !errors.Is(err, engine.ErrNotInLoginFlow) {
		t.Fatalf("PairPhone after the flow ended: %v", err)
	}
	if s.Linked() || countDevices(t, st) != 0 {
		t.Fatal("an abandoned login left a device")
	}
}

func TestLinkedLoginFailures(t *testing.T) {
	cases := []struct {
		name string
		send func(c *fakeConn) error
		want engine.Event
		// linked after the event
		linked bool
	}{
		{"client outdated", func(c *fakeConn) error { return c.send(failure(405, nil)) },
			engine.ClientOutdated{Code: 405, Version: testVersion}, true},
		{"temporary ban", func(c *fakeConn) error { return c.send(failure(402, map[string]any{"code": 102, "expire": 3600})) },
			engine.TemporaryBan{Code: 102, Reason: "102: too many people blocked you", Expires: time.Hour}, true},
		{"logged out on connect", func(c *fakeConn) error { return c.send(failure(401, nil)) },
			engine.LoggedOut{Reason: "401: logged out from another device", Code: 401}, false},
		{"unknown failure", func(c *fakeConn) error { return c.send(failure(499, nil)) },
			engine.ConnectFailure{Code: 499, Reason: "499: unknown error"}, true},
		{"stream replaced", func(c *fakeConn) error {
			if err := c.send(successNode()); err != nil {
				return err
			}
			return c.send(streamError("", "replaced"))
		}, engine.StreamReplaced{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := storetest.Open(t, storetest.Backends(t)[0])
			e := newEngine(t, st, Options{})
			fake := newFakeWA(t, e)
			device := storeDevice(t, e, "15551234567", 4)
			rec := newRecorder()
			s, err := e.Open(context.Background(), engine.SessionConfig{Device: device, Events: rec.add, Ingest: rec.ingest})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Connect(context.Background()); err != nil {
				t.Fatal(err)
			}
			c := fake.next(wait)
			if !c.login || c.payload.GetUsername() != 15551234567 || c.payload.GetDevice() != 4 {
				t.Fatalf("login payload user %d device %d", c.payload.GetUsername(), c.payload.GetDevice())
			}
			if err := tc.send(c); err != nil {
				t.Fatal(err)
			}
			got, _ := rec.wait(t, 0, wait, func(ev engine.Event) bool {
				switch ev.(type) {
				case engine.ConnectFailure, engine.TemporaryBan, engine.LoggedOut, engine.StreamReplaced, engine.ClientOutdated:
					return true
				}
				return false
			})
			if got != tc.want {
				t.Fatalf("final event %#v, want %#v", got, tc.want)
			}
			if s.Linked() != tc.linked {
				t.Fatalf("linked = %v after %T", s.Linked(), got)
			}
			rows := 1
			if !tc.linked {
				rows = 0
			}
			waitFor(t, wait, func() bool { return countDevices(t, st) == rows })
			// Final: whatsmeow does not reconnect by itself.
			select {
			case c := <-fake.conns:
				t.Fatalf("client reconnected after a final event (login=%v)", c.login)
			case <-time.After(time.Second):
			}
		})
	}
}

func failure(reason int, attrs map[string]any) waBinary.Node {
	n := waBinary.Node{Tag: "failure", Attrs: waBinary.Attrs{"reason": reason}}
	for k, v := range attrs {
		n.Attrs[k] = v
	}
	return n
}

// A session never reconnects by itself: after a dropped connection it
// reports Disconnected and waits for its owner's Connect, which reuses the
// client.
func TestNoAutomaticReconnect(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{})
	fake := newFakeWA(t, e)
	device := storeDevice(t, e, "15551234567", 5)
	rec := newRecorder()
	sess, _ := e.Open(context.Background(), engine.SessionConfig{Device: device, Events: rec.add, Ingest: rec.ingest})
	defer sess.Close()
	s := sess.(*Session)
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := fake.next(wait)
	c.send(successNode())
	_, i := rec.wait(t, 0, wait, isType[engine.Connected])
	first := s.cli

	c.ws.CloseNow() // the network drops
	_, i = rec.wait(t, i, wait, isType[engine.Disconnected])
	select {
	case c := <-fake.conns:
		t.Fatalf("the session reconnected by itself (login=%v)", c.login)
	case <-time.After(time.Second):
	}
	if !s.Linked() {
		t.Fatal("a dropped connection unlinked the session")
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatalf("Connect after the drop: %v", err)
	}
	c = fake.next(wait)
	c.send(successNode())
	rec.wait(t, i, wait, isType[engine.Connected])
	if s.cli != first {
		t.Error("reconnecting built a new whatsmeow client (its caches are lost)")
	}
}

func TestLoginWatchdog(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{LoginTimeout: 300 * time.Millisecond})
	fake := newFakeWA(t, e)
	device := storeDevice(t, e, "15551234567", 6)
	rec := newRecorder()
	s, _ := e.Open(context.Background(), engine.SessionConfig{Device: device, Events: rec.add, Ingest: rec.ingest})
	defer s.Close()
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := fake.next(wait) // the server never answers the login
	ev, _ := rec.wait(t, 0, wait, isType[engine.ConnectFailure])
	if cf := ev.(engine.ConnectFailure); !strings.Contains(cf.Reason, "no login within") {
		t.Fatalf("watchdog event %#v", cf)
	}
	select {
	case <-c.closed:
	case <-time.After(wait):
		t.Fatal("watchdog left the connection open")
	}
}

func TestDisconnectStopsEvents(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{})
	fake := newFakeWA(t, e)
	device := storeDevice(t, e, "15551234567", 8)
	rec := newRecorder()
	s, _ := e.Open(context.Background(), engine.SessionConfig{Device: device, Events: rec.add, Ingest: rec.ingest})
	defer s.Close()
	s.Connect(context.Background())
	c := fake.next(wait)
	c.send(successNode())
	rec.wait(t, 0, wait, isType[engine.Connected])
	n := len(rec.all())
	s.Disconnect()
	select {
	case <-c.closed:
	case <-time.After(wait):
		t.Fatal("Disconnect left the connection open")
	}
	time.Sleep(300 * time.Millisecond)
	if got := rec.all()[n:]; len(got) != 0 {
		t.Fatalf("events after Disconnect: %#v", got)
	}
	if !s.Linked() {
		t.Fatal("Disconnect unlinked")
	}
	if _, err := s.SendText(context.Background(), "15557654321", "hi"); !errors.Is(err, engine.ErrNotConnected) {
		t.Fatalf("SendText after Disconnect: %v", err)
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
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{})
	fake := newFakeWA(t, e)
	device := storeDevice(t, e, "15551234567", 2)
	rec := newRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, _ := e.Open(ctx, engine.SessionConfig{Device: device, Events: rec.add, Ingest: rec.ingest})
	defer s.Close()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	c := fake.next(wait)
	c.send(successNode())
	rec.wait(t, 0, wait, isType[engine.Connected])
	if err := s.Connect(ctx); err != nil {
		t.Fatalf("Connect while connected: %v", err)
	}
	select {
	case <-fake.conns:
		t.Fatal("Connect while connected opened a second connection")
	case <-time.After(200 * time.Millisecond):
	}

	p, err := s.Profile(ctx)
	if err != nil {
		t.Fatalf("Profile: %v", err)
	}
	if p != (engine.Profile{Name: "Alice", About: fakeAbout, Picture: fakePicture}) {
		t.Fatalf("Profile = %+v", p)
	}
	about := "Busy"
	if err := s.SetProfile(ctx, engine.ProfileUpdate{About: &about}); err != nil {
		t.Fatalf("SetProfile about: %v", err)
	}
	status := c.waitNode(t, "iq", "status", wait)
	if got, _ := status.GetChildren()[0].Content.([]byte); string(got) != "Busy" {
		t.Fatalf("status sent %q", got)
	}
	// The push name is an app-state patch; it needs the app-state keys the
	// phone shares after linking, which this device never got.
	name := "Bob"
	if err := s.SetProfile(ctx, engine.ProfileUpdate{Name: &name}); err == nil || !strings.Contains(err.Error(), "app state") {
		t.Fatalf("SetProfile name without app-state keys: %v", err)
	}

	if err := s.MarkRead(ctx, "15557654321", "", []string{"MSG1", "MSG2"}); err != nil {
		t.Fatalf("MarkRead: %v", err)
	}
	r := c.waitNode(t, "receipt", "", wait)
	if r.Attrs["id"] != "MSG1" || r.Attrs["type"] != "read" || r.Attrs["to"] != types.NewJID("15557654321", types.DefaultUserServer) {
		t.Fatalf("receipt %s", r.XMLString())
	}

	sent, err := s.SendText(ctx, "+15557654321", "hello")
	if err != nil {
		t.Fatalf("SendText: %v", err)
	}
	if sent.ID == "" || sent.Chat != "15557654321@s.whatsapp.net" || sent.Time.IsZero() {
		t.Fatalf("SentMessage %+v", sent)
	}
	m := c.waitNode(t, "message", "", wait)
	if m.Attrs["id"] != sent.ID {
		t.Fatalf("message node %s", m.XMLString())
	}

	// Logout tells WhatsApp, then drops the device; no event.
	n := len(rec.all())
	if err := s.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	c.waitNode(t, "iq", "remove-companion-device", wait)
	if s.Linked() || countDevices(t, st) != 0 {
		t.Fatalf("after Logout: linked=%v rows=%d", s.Linked(), countDevices(t, st))
	}
	time.Sleep(200 * time.Millisecond)
	if got := rec.all()[n:]; len(got) != 0 {
		t.Fatalf("events after Logout: %#v", got)
	}
	// And Connect starts a login flow.
	if err := s.Connect(ctx); err != nil {
		t.Fatalf("Connect after Logout: %v", err)
	}
	if c := fake.next(wait); c.login {
		t.Fatal("login after Logout used the old device")
	}
}
