package fakewa_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/fakewa"
)

// reconnect disconnects the client and connects it again; it returns the
// index of the next event.
func (c *client) reconnect() int {
	c.t.Helper()
	c.cli.Disconnect()
	n := len(c.rec.all())
	c.connect()
	return n
}

func lastAttempt(srv *fakewa.Server) fakewa.Attempt {
	at := srv.Attempts()
	return at[len(at)-1]
}

func TestClientOutdatedUntilItAnnouncesTheVersion(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	c, d := pairClient(t, srv, alice, nil)
	cur := store.GetWAVersion()
	newer := store.WAVersionContainer{cur[0], cur[1], cur[2] + 1}
	d.RequireVersion(newer)

	i := c.reconnect()
	waitEvent[*events.ClientOutdated](c, i)
	if a := lastAttempt(srv); a.Result != "failure:405" || a.Device != d.JID() {
		t.Fatalf("attempt %+v", a)
	}
	// Still outdated on the next try; a client announcing the version gets in.
	i = c.reconnect()
	waitEvent[*events.ClientOutdated](c, i)
	c2 := c.rebuild(srv, func(cli *wm.Client) {
		cli.GetClientPayload = func() *waWa6.ClientPayload {
			p := cli.Store.GetClientPayload()
			p.UserAgent.AppVersion = newer.ProtoAppVersion()
			return p
		}
	})
	c2.connect()
	waitEvent[*events.Connected](c2, 0)

	// 409: bad user agent, once.
	d.RequireVersion(store.WAVersionContainer{})
	d.OnConnect(fakewa.BadUserAgent())
	i = c2.reconnect()
	cf, _ := waitEvent[*events.ConnectFailure](c2, i)
	if cf.Reason != events.ConnectFailureBadUserAgent {
		t.Fatalf("connect failure %+v", cf)
	}
	i = c2.reconnect()
	waitEvent[*events.Connected](c2, i)
}

func TestSendRejectedWith463(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	peer := srv.Peer(bob)
	c, _ := pairClient(t, srv, alice, nil)
	acct := srv.Account(alice)
	acct.RejectSends(463)
	_, err := c.cli.SendMessage(ctxT(t), peer.JID(), &waE2E.Message{Conversation: proto.String("cold contact")})
	if !errors.Is(err, wm.ErrServerReturnedError) || !strings.Contains(err.Error(), "463") {
		t.Fatalf("SendMessage: %v", err)
	}
	if len(peer.Inbox()) != 0 {
		t.Fatal("a rejected message was delivered")
	}
	acct.RejectSends(0)
	if _, err := c.cli.SendMessage(ctxT(t), peer.JID(), &waE2E.Message{Conversation: proto.String("warm")}); err != nil {
		t.Fatalf("SendMessage after the timelock: %v", err)
	}
}

func TestKeepAliveLossAndRestore(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	c, d := pairClient(t, srv, alice, nil)
	conn := d.Conn()
	d.MutePings(true)
	_, i := waitEvent[*events.KeepAliveTimeout](c, 0)
	if d.Conn() != conn {
		t.Fatal("the connection changed while pings were muted")
	}
	d.MutePings(false)
	waitEvent[*events.KeepAliveRestored](c, i)
}

func TestTemporaryBan(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	c, d := pairClient(t, srv, alice, nil)
	for _, expire := range []time.Duration{time.Hour, 0} {
		d.OnConnect(fakewa.TemporaryBan(101, expire))
		i := c.reconnect()
		ban, _ := waitEvent[*events.TemporaryBan](c, i)
		if ban.Code != events.TempBanSentToTooManyPeople || ban.Expire != expire {
			t.Fatalf("ban %+v, want expire %s", ban, expire)
		}
	}
	// A ban does not unlink.
	i := c.reconnect()
	waitEvent[*events.Connected](c, i)
}

func TestStreamErrors(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	c, d := pairClient(t, srv, alice, nil)

	// 503 and 515: whatsmeow reconnects by itself.
	for _, code := range []string{"503", "515"} {
		n := len(c.rec.all())
		before := time.Now()
		if err := d.Inject(fakewa.StreamError(code)); err != nil {
			t.Fatal(err)
		}
		waitEvent[*events.Connected](c, n)
		if d.AttemptsSince(before) != 1 {
			t.Fatalf("%s: %d attempts", code, d.AttemptsSince(before))
		}
	}
	// An unknown code is an events.StreamError; the server closes the
	// socket and whatsmeow reconnects.
	n := len(c.rec.all())
	_ = d.Inject(fakewa.StreamError("479"))
	se, i := waitEvent[*events.StreamError](c, n)
	if se.Code != "479" {
		t.Fatalf("stream error %+v", se)
	}
	waitEvent[*events.Connected](c, i)
}

func TestStreamErrorOnConnectThenReplaced(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	c, d := pairClient(t, srv, alice, nil)
	// A 503 on connect: refused once, then in (after whatsmeow's 2 s).
	d.OnConnect(fakewa.StreamError("503"))
	before := time.Now()
	n := len(c.rec.all())
	_ = d.Inject(fakewa.Drop())
	waitEvent[*events.Connected](c, n)
	if d.AttemptsSince(before) != 2 {
		t.Fatalf("503 on connect: %d attempts", d.AttemptsSince(before))
	}

	// Replaced: final, no reconnect.
	n = len(c.rec.all())
	_ = d.Inject(fakewa.Replaced())
	waitEvent[*events.StreamReplaced](c, n)
	before = time.Now()
	time.Sleep(time.Second)
	if d.AttemptsSince(before) != 0 || d.Conn() != nil {
		t.Fatalf("reconnected after a replaced stream: %d attempts", d.AttemptsSince(before))
	}
}

func TestLoggedOut(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	// While connected: <stream:error code="401"><conflict type="device_removed"/>.
	c, d := pairClient(t, srv, alice, nil)
	_ = d.Inject(fakewa.LoggedOut())
	lo, _ := waitEvent[*events.LoggedOut](c, 0)
	if lo.OnConnect || lo.Reason != events.ConnectFailureLoggedOut || d.Linked() {
		t.Fatalf("LoggedOut %+v, linked %v", lo, d.Linked())
	}
	eventually(t, "store deleted", func() bool {
		devs, err := c.store.GetAllDevices(ctxT(t))
		return err == nil && len(devs) == 0
	})

	// On connect: <failure reason="401"/>.
	c2, d2 := pairClient(t, srv, alice, nil)
	if d2.ID() == d.ID() {
		t.Fatal("a new device reused the old device number")
	}
	srv.Account(alice).OnConnect(fakewa.LoggedOut())
	i := c2.reconnect()
	lo, _ = waitEvent[*events.LoggedOut](c2, i)
	if !lo.OnConnect || d2.Linked() || len(srv.Account(alice).Devices()) != 0 {
		t.Fatalf("LoggedOut %+v, linked %v", lo, d2.Linked())
	}
}

func TestRefusedConnectionsAndReconnects(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	c, d := pairClient(t, srv, alice, nil)
	srv.Refuse(true)
	before := time.Now()
	n := len(c.rec.all())
	_ = d.Inject(fakewa.Drop())
	waitEvent[*events.Disconnected](c, n)
	eventually(t, "a refused attempt", func() bool { return lastAttempt(srv).Result == "refused" })
	srv.Refuse(false)
	waitEvent[*events.Connected](c, n)
	refused := 0
	for _, a := range srv.Attempts() {
		if a.Result == "refused" && a.Time.After(before) {
			refused++
		}
	}
	if refused == 0 || d.AttemptsSince(before) != 1 {
		t.Fatalf("%d refused, %d device attempts", refused, d.AttemptsSince(before))
	}
}

func TestGetLatestVersion(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	srv.SetLatestVersion(1031999999)
	v, err := wm.GetLatestVersion(ctxT(t), srv.HTTPClient())
	if err != nil || *v != (store.WAVersionContainer{2, 3000, 1031999999}) {
		t.Fatalf("GetLatestVersion = %v, %v", v, err)
	}
}

func TestStalledLogin(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	c, d := pairClient(t, srv, alice, nil)
	d.OnConnect(fakewa.Stall())
	before := map[*fakewa.Conn]bool{}
	for _, cn := range srv.Conns() {
		before[cn] = true // the old connection may linger a moment after the client's disconnect
	}
	i := c.reconnect()
	var conn *fakewa.Conn
	eventually(t, "the stalled connection", func() bool {
		for _, cn := range srv.Conns() {
			if cn.DeviceJID() == d.JID() && !before[cn] {
				conn = cn
			}
		}
		return conn != nil
	})
	time.Sleep(500 * time.Millisecond)
	if n := c.rec.count(i, func(ev any) bool { _, ok := ev.(*events.Connected); return ok }); n != 0 || d.Conn() != nil {
		t.Fatalf("a stalled login connected (%d events)", n)
	}
	select {
	case <-conn.Closed():
		t.Fatal("the server closed a stalled login")
	default:
	}
}
