package whatsmeow

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/fakewa"
)

// Every way WhatsApp ends or refuses a connection, played by fakewa to a
// linked session: the events the session emits (type, code, version),
// whether it stays linked and keeps its device in the store, and that it
// never reconnects by itself (the runtime owns reconnection).

// checkEnd checks how a connection ended: the lifecycle events from index
// from on are exactly want (once they all came), the session is linked and
// its device stored or neither, and it does not reconnect by itself.
func checkEnd(t *testing.T, w *world, o *online, from int, linked bool, want ...engine.Event) {
	t.Helper()
	for deadline := time.Now().Add(wait); len(o.lifecycle(from)) < len(want) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	d := o.dev
	if d == nil { // it never logged in
		jid, _ := parseDevice(o.device)
		d = o.acct.Device(jid.Device)
	}
	noReconnect(t, w.srv, d)
	if got := o.lifecycle(from); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %#v, want %#v", got, want)
	}
	if o.Linked() != linked {
		t.Fatalf("linked = %v, want %v", o.Linked(), linked)
	}
	waitFor(t, wait, func() bool { return hasDevice(t, w.e, o.device) == linked })
}

// A stream error 503 ("restart"), while connected and in answer to a
// login: StreamError then Disconnected, the login is kept, and the next
// Connect logs in.
func TestStreamError503(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	n := len(o.rec.all())
	if err := o.dev.Inject(fakewa.StreamError("503")); err != nil {
		t.Fatal(err)
	}
	checkEnd(t, w, o, n, true, engine.StreamError{Code: "503"}, engine.Disconnected{})

	o.dev.OnConnect(fakewa.StreamError("503"))
	n = len(o.rec.all())
	if err := o.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	checkEnd(t, w, o, n, true, engine.StreamError{Code: "503"}, engine.Disconnected{})
	if at := w.srv.Attempts(); at[len(at)-1].Result != "stream:503" {
		t.Fatalf("last attempt %+v", at[len(at)-1])
	}

	// Another code is WhatsApp's too (whatsmeow reports it itself).
	o.connect()
	n = len(o.rec.all())
	if err := o.dev.Inject(fakewa.StreamError("479")); err != nil {
		t.Fatal(err)
	}
	checkEnd(t, w, o, n, true, engine.StreamError{Code: "479"}, engine.Disconnected{})
	o.connect()
}

// versionLog records the engine's OnVersionChange calls.
type versionLog struct {
	mu  sync.Mutex
	got []engine.ClientVersion
}

func (l *versionLog) add(v engine.ClientVersion) {
	l.mu.Lock()
	l.got = append(l.got, v)
	l.mu.Unlock()
}

func (l *versionLog) all() []engine.ClientVersion {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]engine.ClientVersion(nil), l.got...)
}

// newerVersion is the version after whatsmeow's built-in one.
func newerVersion() store.WAVersionContainer {
	return store.WAVersionContainer{builtin[0], builtin[1], builtin[2] + 1}
}

// announced is the version a connection's client announced.
func announced(c *fakewa.Conn) string {
	v := c.Payload().GetUserAgent().GetAppVersion()
	return fmt.Sprintf("%d.%d.%d", v.GetPrimary(), v.GetSecondary(), v.GetTertiary())
}

// WhatsApp refuses the version (405): ClientOutdated with the version the
// session announced; the login is kept. A pinned version stays (the
// engine notes what WhatsApp announces), so connecting again is refused
// again.
func TestClientOutdated405(t *testing.T) {
	var versions versionLog
	w := newWorld(t, Options{OnVersionChange: versions.add})
	newer := newerVersion()
	w.srv.SetLatestVersion(newer[2])
	o := w.openStored("15551234567", 4, engine.SessionConfig{})
	o.acct.RequireVersion(newer)
	for range 2 {
		n := len(o.rec.all())
		if err := o.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		checkEnd(t, w, o, n, true, engine.ClientOutdated{Code: 405, Version: testVersion})
		if c := o.acct.Device(4).Attempts(); len(c) == 0 {
			t.Fatal("no login attempt")
		}
	}
	waitFor(t, wait, func() bool { return w.e.ClientVersion().Latest == newer.String() })
	if v := w.e.ClientVersion(); v.Version != testVersion || v.Source != SourceConfig || len(versions.all()) != 0 {
		t.Fatalf("a pinned version changed: %+v, OnVersionChange %v", v, versions.all())
	}
}

// 409 (bad user agent) is a refused version too.
func TestClientOutdated409(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.openStored("15551234567", 4, engine.SessionConfig{})
	o.acct.OnConnect(fakewa.BadUserAgent())
	if err := o.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	checkEnd(t, w, o, 0, true, engine.ClientOutdated{Code: 409, Version: testVersion})
	o.connect() // once: the server refused one login
}

// After a 405 the engine asks web.whatsapp.com for the current version at
// once, uses it (OnVersionChange, once), and the next Connect announces it
// and logs in. The same after a 409.
func TestClientOutdatedLearnsTheNewVersion(t *testing.T) {
	for _, fault := range []fakewa.Fault{fakewa.ClientOutdated(), fakewa.BadUserAgent()} {
		t.Run(fault.String(), func(t *testing.T) {
			var versions versionLog
			w := newWorld(t, Options{WAVersion: learnVersion, OnVersionChange: versions.add})
			if v := w.e.ClientVersion(); v.Version != builtin.String() || v.Source != SourceBuiltin {
				t.Fatalf("ClientVersion at start %+v", v)
			}
			newer := newerVersion()
			w.srv.SetLatestVersion(newer[2])
			o := w.openStored("15551234567", 4, engine.SessionConfig{})
			code := 405
			if fault == fakewa.BadUserAgent() {
				code = 409
				o.acct.OnConnect(fault)
			} else {
				o.acct.RequireVersion(newer) // 405 for older versions
			}
			if err := o.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			checkEnd(t, w, o, 0, true, engine.ClientOutdated{Code: code, Version: builtin.String()})
			o.acct.RequireVersion(newer) // from now on only the new version gets in
			waitFor(t, wait, func() bool { return len(versions.all()) > 0 })
			v := w.e.ClientVersion()
			if got := versions.all(); len(got) != 1 || got[0].Version != newer.String() || got[0].Source != SourceWhatsApp || got[0] != v {
				t.Fatalf("OnVersionChange calls %+v, ClientVersion %+v", got, v)
			}
			o.connect()
			if got := announced(o.conn); got != newer.String() {
				t.Fatalf("the next login announced %s, want %s", got, newer)
			}
			if len(versions.all()) != 1 {
				t.Fatalf("OnVersionChange calls %+v", versions.all())
			}
		})
	}
}

// When WhatsApp retires a version every channel is refused, one after
// another: the sessions refused after the engine learned the new version
// still report the version their own connection announced.
func TestClientOutdatedReportsTheAnnouncedVersion(t *testing.T) {
	var versions versionLog
	w := newWorld(t, Options{WAVersion: learnVersion, OnVersionChange: versions.add})
	a := w.connectStored("15551234567", 4, engine.SessionConfig{})
	b := w.connectStored("15557770000", 5, engine.SessionConfig{})
	newer := newerVersion()
	w.srv.SetLatestVersion(newer[2])
	for _, o := range []*online{a, b} {
		n := len(o.rec.all())
		if err := o.dev.Inject(fakewa.ClientOutdated()); err != nil {
			t.Fatal(err)
		}
		checkEnd(t, w, o, n, true, engine.ClientOutdated{Code: 405, Version: announced(o.conn)})
		waitFor(t, wait, func() bool { return len(versions.all()) == 1 })
	}
	if announced(b.conn) != builtin.String() || w.e.ClientVersion().Version != newer.String() {
		t.Fatalf("b announced %s; the engine uses %+v", announced(b.conn), w.e.ClientVersion())
	}
}

// RefreshClientVersion learns the version web.whatsapp.com announces;
// OnVersionChange runs once per new version; the next Connect announces it
// and logs in where the old one is refused.
func TestRefreshClientVersion(t *testing.T) {
	var versions versionLog
	w := newWorld(t, Options{WAVersion: learnVersion, OnVersionChange: versions.add})
	newer := newerVersion()
	w.srv.SetLatestVersion(newer[2])
	o := w.openStored("15551234567", 4, engine.SessionConfig{})
	o.acct.RequireVersion(newer)
	for range 2 {
		v, err := w.e.RefreshClientVersion(ctxT(t))
		if err != nil || v.Version != newer.String() || v.Source != SourceWhatsApp || v.Latest != newer.String() || v.CheckError != "" || v.LearnedAt.IsZero() {
			t.Fatalf("RefreshClientVersion = %+v, %v", v, err)
		}
	}
	if got := versions.all(); len(got) != 1 || got[0].Version != newer.String() {
		t.Fatalf("OnVersionChange calls %+v", got)
	}
	o.connect()
	if got := announced(o.conn); got != newer.String() {
		t.Fatalf("the login announced %s, want %s", got, newer)
	}
}

// WhatsApp stops answering pings: KeepAliveLost while the connection
// stays, then KeepAliveRestored when it answers again; no reconnect, and
// the session works on. (TestMain shortens whatsmeow's keepalive timings.)
func TestKeepAliveLostAndRestored(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	bob := w.srv.Peer("15557654321")
	n := len(o.rec.all())
	since := time.Now()
	o.dev.MutePings(true)
	ev, i := o.rec.wait(t, n, wait, isType[engine.KeepAliveLost])
	if lost := ev.(engine.KeepAliveLost); lost.Failures != 1 || lost.LastSuccess.IsZero() || lost.LastSuccess.After(time.Now()) {
		t.Fatalf("KeepAliveLost %+v", lost)
	}
	if o.dev.Conn() != o.conn {
		t.Fatal("the connection changed while pings went unanswered")
	}
	o.dev.MutePings(false)
	o.rec.wait(t, i, wait, isType[engine.KeepAliveRestored])
	// Lost once or more (a ping sent while muted stays unanswered), then
	// restored; nothing else.
	evs := o.lifecycle(n)
	for k, ev := range evs[:len(evs)-1] {
		if lost, ok := ev.(engine.KeepAliveLost); !ok || lost.Failures != k+1 {
			t.Fatalf("events %#v", evs)
		}
	}
	if _, ok := evs[len(evs)-1].(engine.KeepAliveRestored); !ok {
		t.Fatalf("events %#v", evs)
	}
	if n := o.dev.AttemptsSince(since); n != 0 || o.dev.Conn() != o.conn || !o.Linked() {
		t.Fatalf("%d login attempts, connection kept %v, linked %v", n, o.dev.Conn() == o.conn, o.Linked())
	}
	sent, err := o.SendText(ctxT(t), "15557654321", "still here")
	if err != nil {
		t.Fatalf("SendText after the pings came back: %v", err)
	}
	if _, err := bob.Wait(ctxT(t), func(r fakewa.Received) bool { return r.ID == sent.ID && r.Err == nil }); err != nil {
		t.Fatal(err)
	}
}

// Another client took the device over: StreamReplaced alone, the login is
// kept, and a Connect takes the device back.
func TestStreamReplaced(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	n := len(o.rec.all())
	if err := o.dev.Inject(fakewa.Replaced()); err != nil {
		t.Fatal(err)
	}
	checkEnd(t, w, o, n, true, engine.StreamReplaced{})
	o.connect()
}

// A temporary ban, with and without an end WhatsApp gives: TemporaryBan
// with WhatsApp's code and the time left; the login is kept, and once the
// ban is over the next Connect logs in.
func TestTemporaryBan(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	for _, want := range []engine.TemporaryBan{
		{Code: 101, Reason: "101: you sent too many messages to people who don't have you in their address books", Expires: time.Hour},
		{Code: 102, Reason: "102: too many people blocked you"},
	} {
		o.Disconnect()
		o.dev.OnConnect(fakewa.TemporaryBan(want.Code, want.Expires))
		n := len(o.rec.all())
		if err := o.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		checkEnd(t, w, o, n, true, want)
	}
	o.connect()
}

// A refusal the engine has no name for: ConnectFailure with WhatsApp's
// code; the login is kept.
func TestConnectFailureUnknown(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.openStored("15551234567", 4, engine.SessionConfig{})
	o.acct.OnConnect(fakewa.Failure(499))
	if err := o.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	checkEnd(t, w, o, 0, true, engine.ConnectFailure{Code: 499, Reason: "499: unknown error"})
	o.connect()
}

// The phone unlinks the device while the session is connected, or
// WhatsApp refuses its login as logged out: LoggedOut, the session is
// unlinked, the device deleted from the store, and the next Connect starts
// a login flow with a new device.
func TestLoggedOut(t *testing.T) {
	for _, onConnect := range []bool{false, true} {
		name := "while connected"
		if onConnect {
			name = "on connect"
		}
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, Options{})
			var o *online
			n := 0
			if onConnect {
				o = w.openStored("15551234567", 4, engine.SessionConfig{})
				o.acct.OnConnect(fakewa.LoggedOut())
				if err := o.Connect(ctxT(t)); err != nil {
					t.Fatal(err)
				}
			} else {
				o = w.connectStored("15551234567", 4, engine.SessionConfig{})
				n = len(o.rec.all())
				if err := o.dev.Inject(fakewa.LoggedOut()); err != nil {
					t.Fatal(err)
				}
			}
			checkEnd(t, w, o, n, false, engine.LoggedOut{Code: 401, Reason: "401: logged out from another device"})
			if o.acct.Device(4).Linked() || o.Self() != (engine.Account{}) || o.Device() != "" {
				t.Fatalf("after LoggedOut: linked at the server %v, self %+v", o.acct.Device(4).Linked(), o.Self())
			}
			n = len(o.rec.all())
			if err := o.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			o.rec.wait(t, n, wait, isType[engine.QR])
			if at := w.srv.Attempts(); at[len(at)-1].Result != "registration" {
				t.Fatalf("the Connect after LoggedOut: %+v", at[len(at)-1])
			}
		})
	}
}

// WhatsApp refuses a message to someone the account never talked with
// (463, its reach-out timelock): the send is engine.ErrReachoutLimited and
// nothing is delivered; the connection stays, and sends work again once
// WhatsApp accepts them.
func TestSendReachoutLimited(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	bob := w.srv.Peer("15557654321")
	n := len(o.rec.all())
	o.acct.RejectSends(463)
	_, err := o.SendText(ctxT(t), "15557654321", "cold contact")
	if !errors.Is(err, engine.ErrReachoutLimited) || errors.Is(err, engine.ErrNotConnected) {
		t.Fatalf("SendText refused with 463: %v", err)
	}
	if got := bob.Inbox(); len(got) != 0 {
		t.Fatalf("a refused message was delivered: %+v", got)
	}
	if evs := o.lifecycle(n); len(evs) != 0 || o.dev.Conn() != o.conn {
		t.Fatalf("after a refused send: events %#v, connection kept %v", evs, o.dev.Conn() == o.conn)
	}
	o.acct.RejectSends(0)
	sent, err := o.SendText(ctxT(t), "15557654321", "warm now")
	if err != nil {
		t.Fatalf("SendText once accepted: %v", err)
	}
	if _, err := bob.Wait(ctxT(t), func(r fakewa.Received) bool { return r.ID == sent.ID && r.Err == nil }); err != nil {
		t.Fatal(err)
	}
}

// WhatsApp refuses the websocket itself (HTTP 503): Connect returns the
// error (not a proxy's), nothing is emitted, the login is kept, and the
// session does not retry by itself.
func TestConnectRefused(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.openStored("15551234567", 4, engine.SessionConfig{})
	w.srv.Refuse(true)
	err := o.Connect(ctxT(t))
	if err == nil || errors.Is(err, engine.ErrProxyUnreachable) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Connect to a server that refuses: %v", err)
	}
	since := time.Now()
	time.Sleep(quiet)
	if at := w.srv.Attempts(); len(at) != 1 || at[0].Result != "refused" || at[0].Time.After(since) {
		t.Fatalf("attempts %+v", at)
	}
	if evs := o.rec.all(); len(evs) != 0 || !o.Linked() {
		t.Fatalf("events %#v, linked %v", evs, o.Linked())
	}
	w.srv.Refuse(false)
	o.connect()
}

// A proxy nobody listens on: Connect fails with ErrProxyUnreachable, in
// words that name neither the proxy nor its credentials, nothing reaches
// WhatsApp and nothing is emitted; without the proxy the session connects.
func TestConnectThroughDeadProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	// The hook puts the session's proxy in front of the fake server (whose
	// configuration replaces the client's transports).
	var proxy atomic.Value
	proxy.Store("")
	w := newWorld(t, Options{ClientHook: func(cli *wm.Client) {
		if p := proxy.Load().(string); p != "" {
			if err := cli.SetProxyAddress(p); err != nil {
				panic(err)
			}
		}
	}})
	for i, p := range []string{"socks5://wagate:s3cret@" + addr, "http://wagate:s3cret@" + addr} {
		proxy.Store(p)
		o := w.openStored("15551234567", uint16(4+i), engine.SessionConfig{Proxy: p})
		before := len(w.srv.Attempts())
		err := o.Connect(ctxT(t))
		if !errors.Is(err, engine.ErrProxyUnreachable) {
			t.Fatalf("Connect through %s: %v", p, err)
		}
		for _, leak := range []string{"127.0.0.1", port, "s3cret", "wagate:"} {
			if strings.Contains(err.Error(), leak) {
				t.Fatalf("the error names %q: %v", leak, err)
			}
		}
		time.Sleep(100 * time.Millisecond)
		if at := w.srv.Attempts()[before:]; len(at) != 0 || len(o.rec.all()) != 0 || !o.Linked() {
			t.Fatalf("attempts at the server %+v, events %#v, linked %v", at, o.rec.all(), o.Linked())
		}
		proxy.Store("")
		if err := o.SetProxy(""); err != nil {
			t.Fatal(err)
		}
		o.connect()
		o.Close()
	}
}
