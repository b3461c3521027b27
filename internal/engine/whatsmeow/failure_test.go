package whatsmeow

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

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
	noReconnect(t, d)
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
