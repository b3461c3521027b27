package whatsmeow

import (
	"context"
	"slices"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/fakewa"
	"github.com/wagate/wagate/internal/store/storetest"
)

// Helpers for the tests that connect real whatsmeow clients to a fakewa
// server on loopback (see internal/fakewa). They run under -race in
// TestSocketTestsUnderRace's child (socketrace_test.go), where nothing may
// t.Log: the parent reads every "xxx_test.go:NN:" line as a failure.

// wait bounds every wait for something the server or a client does.
const wait = 30 * time.Second

// quiet is how long a test watches for something that must not happen (a
// reconnect, a late event). whatsmeow's own reconnect, were it on, would
// dial at once after a drop (its first retry has no delay), and the server
// records an attempt as soon as the handshake is done.
const quiet = 500 * time.Millisecond

// world is a fakewa server, a store and an engine pointed at the server.
type world struct {
	t   *testing.T
	srv *fakewa.Server
	e   *Engine
}

// newWorld starts a server and an engine on a fresh SQLite store; opts are
// the engine's: HTTPClient is the server's, clients are pointed at the
// server (then given to opts.ClientHook, if any), and the version is
// pinned to testVersion unless opts says otherwise (see newEngine).
func newWorld(t *testing.T, opts Options) *world {
	t.Helper()
	needsSocket(t)
	srv := fakewa.New(t, fakewa.Options{})
	st := storetest.Open(t, storetest.Backends(t)[0])
	if hook := opts.ClientHook; hook != nil {
		// The test's hook adjusts a client the server configured.
		opts.ClientHook = func(cli *wm.Client) { srv.Configure(cli); hook(cli) }
	} else {
		opts.ClientHook = srv.Configure
	}
	opts.HTTPClient = srv.HTTPClient()
	return &world{t: t, srv: srv, e: newEngine(t, st, opts)}
}

// ctxT is a context bounded by wait that ends with the test.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// online is a session a test drives, with what the server knows of it
// (account, device and connection, once it logged in).
type online struct {
	*Session
	t      *testing.T
	rec    *recorder
	device string          // the device JID as stored
	acct   *fakewa.Account // its account at the server
	dev    *fakewa.Device  // and its device there
	conn   *fakewa.Conn    // the connection it logged in with
}

// connectStored stores a device for phone (device number n, as pairing
// would have), opens a session on it with cfg (Events and, unless set,
// Ingest go to a recorder) and connects it. The server links such a
// device on its first login (fakewa's default); its Signal keys arrive
// with the prekey upload that precedes Connected, so peers can message it
// once Connected came.
func (w *world) connectStored(phone string, n uint16, cfg engine.SessionConfig) *online {
	w.t.Helper()
	o := w.openStored(phone, n, cfg)
	o.connect()
	return o
}

// openStored is connectStored without the Connect.
func (w *world) openStored(phone string, n uint16, cfg engine.SessionConfig) *online {
	w.t.Helper()
	device := storeDevice(w.t, w.e, phone, n)
	cfg.Device = device
	return w.open(cfg)
}

// open opens a session with cfg, its events recorded.
func (w *world) open(cfg engine.SessionConfig) *online {
	w.t.Helper()
	rec := newRecorder()
	cfg.Events = rec.add
	if cfg.Ingest == nil {
		cfg.Ingest = rec.ingest
	}
	s, err := w.e.Open(context.Background(), cfg)
	if err != nil {
		w.t.Fatalf("Open: %v", err)
	}
	w.t.Cleanup(func() { s.Close() })
	o := &online{Session: s.(*Session), t: w.t, rec: rec, device: cfg.Device}
	if cfg.Device != "" {
		jid, _ := parseDevice(cfg.Device)
		o.acct = w.srv.Account(jid.User)
	}
	return o
}

// connect connects a linked session and waits until it logged in.
func (o *online) connect() {
	t := o.t
	t.Helper()
	n := len(o.rec.all())
	if err := o.Connect(ctxT(t)); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	o.rec.wait(t, n, wait, isType[engine.Connected])
	jid, _ := parseDevice(o.Device())
	o.dev = o.acct.Device(jid.Device)
	if o.dev == nil {
		t.Fatalf("the server does not know %s", jid)
	}
	c := o.dev.Conn()
	if c == nil {
		t.Fatalf("%s is not online at the server", jid)
	}
	o.conn = c
}

// lifecycle returns the session's lifecycle events from index from on.
func (o *online) lifecycle(from int) []engine.Event {
	var out []engine.Event
	for _, ev := range o.rec.all()[from:] {
		if !engine.IsData(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// noReconnect watches the server for quiet and fails the test if the
// session's device tried to log in again (or anyone connected at all: a
// logged-out device's attempts are not the device's any more).
func noReconnect(t *testing.T, srv *fakewa.Server, d *fakewa.Device) {
	t.Helper()
	since := time.Now()
	time.Sleep(quiet)
	if n := d.AttemptsSince(since); n != 0 {
		t.Fatalf("the session reconnected by itself: %d login attempts in %s", n, quiet)
	}
	for _, a := range srv.Attempts() {
		if !a.Time.Before(since) {
			t.Fatalf("a connection attempt while nobody called Connect: %+v", a)
		}
	}
}

// storedDevices lists whatsmeow's stored devices.
func storedDevices(t *testing.T, e *Engine) []string {
	t.Helper()
	devs, err := e.Devices(context.Background())
	if err != nil {
		t.Fatalf("Devices: %v", err)
	}
	return devs
}

func hasDevice(t *testing.T, e *Engine, device string) bool {
	t.Helper()
	return slices.Contains(storedDevices(t, e), device)
}
