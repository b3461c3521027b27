package whatsmeow

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/internal/engine"
	wstore "github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// testLog logs warnings and errors to stderr (not t.Log: whatsmeow's
// goroutines may log after a test ended).
func testLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// testVersion is a recent WhatsApp web version for tests (any valid one
// does offline).
const testVersion = "2.3000.1031080782"

// learnVersion as Options.WAVersion makes newEngine leave the version
// unpinned: the engine learns it (version.go).
const learnVersion = "learn"

// forEachBackend runs fn on a migrated wagate store per backend (SQLite and,
// with WAGATE_TEST_POSTGRES_URL, PostgreSQL) with an engine on it.
func forEachBackend(t *testing.T, fn func(t *testing.T, st *wstore.Store, e *Engine)) {
	t.Helper()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := storetest.Open(t, b)
			fn(t, st, newEngine(t, st, Options{}))
		})
	}
}

func newEngine(t testing.TB, st *wstore.Store, opts Options) *Engine {
	t.Helper()
	switch opts.WAVersion {
	case "":
		opts.WAVersion = testVersion
	case learnVersion:
		opts.WAVersion = ""
	}
	if opts.VersionRefresh == 0 {
		opts.VersionRefresh = -1 // never ask the real WhatsApp
	}
	// The tests' proxies listen on loopback (TestProxyDialGuard checks the
	// guard with an engine of its own).
	opts.ProxyAllowPrivate = true
	e, err := New(context.Background(), st.DB(), string(st.Dialect()), testLog(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// storeDevice saves a linked-looking device (keys from NewDevice, a fake
// account identity) as pairing would, and returns its JID string.
func storeDevice(t testing.TB, e *Engine, user string, n uint16) string {
	t.Helper()
	dev := e.container.NewDevice()
	jid := types.JID{User: user, Device: n, Server: types.DefaultUserServer}
	dev.ID = &jid
	dev.PushName = "Alice"
	dev.Platform = "android"
	dev.Account = &waAdv.ADVSignedDeviceIdentity{
		Details:             []byte{1, 2, 3},
		AccountSignature:    make([]byte, 64),
		AccountSignatureKey: make([]byte, 32),
		DeviceSignature:     make([]byte, 64),
	}
	if err := dev.Save(context.Background()); err != nil {
		t.Fatalf("save device: %v", err)
	}
	return jid.String()
}

func countDevices(t testing.TB, st *wstore.Store) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(`SELECT COUNT(*) FROM whatsmeow_device`).Scan(&n); err != nil {
		t.Fatalf("count devices: %v", err)
	}
	return n
}

// recorder collects a session's events.
type recorder struct {
	mu     sync.Mutex
	events []engine.Event
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) add(e engine.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// ingest records a data event as stored.
func (r *recorder) ingest(_ context.Context, e engine.Event) error {
	r.add(e)
	return nil
}

func (r *recorder) all() []engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]engine.Event(nil), r.events...)
}

// wait returns the first event from index from on that match accepts.
func (r *recorder) wait(t *testing.T, from int, d time.Duration, match func(engine.Event) bool) (engine.Event, int) {
	t.Helper()
	deadline := time.After(d)
	for {
		evs := r.all()
		for i := from; i < len(evs); i++ {
			if match(evs[i]) {
				return evs[i], i
			}
		}
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("no matching event within %s; got %#v", d, evs)
			return nil, 0
		}
	}
}

func isType[T engine.Event](e engine.Event) bool { _, ok := e.(T); return ok }

func TestNewUpgradesStoreAndIsIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *wstore.Store, e *Engine) {
		ctx := context.Background()
		var version int
		if err := st.DB().QueryRowContext(ctx, `SELECT version FROM whatsmeow_version`).Scan(&version); err != nil {
			t.Fatalf("version table: %v", err)
		}
		if version < 11 {
			t.Fatalf("whatsmeow schema version %d, want >= 11", version)
		}
		// Our tables are still there beside whatsmeow's.
		if _, err := st.DB().ExecContext(ctx, `SELECT COUNT(*) FROM channels`); err != nil {
			t.Fatalf("wagate tables: %v", err)
		}
		// Opening again is a no-op.
		e2 := newEngine(t, st, Options{})
		var rows int
		if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM whatsmeow_version`).Scan(&rows); err != nil || rows != 1 {
			t.Fatalf("version rows = %d, %v; want 1", rows, err)
		}
		if countDevices(t, st) != 0 {
			t.Fatal("devices appeared")
		}
		if e2.Name() != "whatsmeow" {
			t.Fatal(e2.Name())
		}
		// The DB is ours: closing engines must not close it.
		e.Close()
		e2.Close()
		if err := st.Ping(ctx); err != nil {
			t.Fatalf("db closed by engine: %v", err)
		}
	})
}

func TestNewRejectsBadInput(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	ctx := context.Background()
	if _, err := New(ctx, st.DB(), "mysql", nil, Options{}); err == nil {
		t.Fatal("mysql accepted")
	}
	if _, err := New(ctx, nil, "sqlite", nil, Options{}); err == nil {
		t.Fatal("nil db accepted")
	}
	if _, err := New(ctx, st.DB(), "sqlite", nil, Options{WAVersion: "2.x.1"}); err == nil {
		t.Fatal("bad version accepted")
	}
}

func TestGlobalsApplyVersionToClientPayload(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{WAVersion: "2.3000.1999999999", DeviceName: "wagate-test"})
	defer newEngine(t, st, Options{}) // back to the defaults for other tests
	if got := store.GetWAVersion().String(); got != "2.3000.1999999999" {
		t.Fatalf("version %s", got)
	}
	p := e.container.NewDevice().GetClientPayload() // registration payload (no ID)
	v := p.GetUserAgent().GetAppVersion()
	if v.GetPrimary() != 2 || v.GetSecondary() != 3000 || v.GetTertiary() != 1999999999 {
		t.Fatalf("client payload still announces %v", v)
	}
	if store.DeviceProps.GetOs() != "wagate-test" {
		t.Fatalf("device name %q", store.DeviceProps.GetOs())
	}
}

func TestOpenUnlinkedAndUnknownDevices(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *wstore.Store, e *Engine) {
		ctx := context.Background()
		s, err := e.Open(ctx, engine.SessionConfig{ChannelID: "AAAAAA-00001"})
		if err != nil {
			t.Fatalf("open new: %v", err)
		}
		if s.Linked() || s.Self() != (engine.Account{}) {
			t.Fatalf("new session linked=%v self=%+v", s.Linked(), s.Self())
		}
		if _, err := s.PairPhone(ctx, "15551234567"); !errors.Is(err, engine.ErrNotInLoginFlow) {
			t.Fatalf("PairPhone outside a flow: %v", err)
		}
		if _, err := s.PairPhone(ctx, "12ab"); !errors.Is(err, engine.ErrInvalidPhone) {
			t.Fatalf("PairPhone bad phone: %v", err)
		}
		if _, err := s.SendText(ctx, "15551234567", "hi"); !errors.Is(err, engine.ErrNotLinked) {
			t.Fatalf("SendText unlinked: %v", err)
		}
		if err := s.Logout(ctx); !errors.Is(err, engine.ErrNotLinked) {
			t.Fatalf("Logout unlinked: %v", err)
		}
		if err := s.Forget(ctx); err != nil {
			t.Fatalf("Forget unlinked: %v", err)
		}
		if _, err := s.Profile(ctx); !errors.Is(err, engine.ErrNotLinked) {
			t.Fatalf("Profile unlinked: %v", err)
		}

		_, err = e.Open(ctx, engine.SessionConfig{Device: "15550000000:3@s.whatsapp.net"})
		if !errors.Is(err, engine.ErrDeviceNotFound) {
			t.Fatalf("unknown device: %v", err)
		}
		for _, bad := range []string{"garbage", "15550000000@s.whatsapp.net", "abc:1@s.whatsapp.net", "1555:1@g.us", "1555.1:1@s.whatsapp.net", "@s.whatsapp.net", "1555:x@s.whatsapp.net"} {
			_, err := e.Open(ctx, engine.SessionConfig{Device: bad})
			if err == nil || !errors.Is(err, ErrMalformedDevice) {
				t.Errorf("malformed %q: %v", bad, err)
			}
		}
		if n := countDevices(t, st); n != 0 {
			t.Fatalf("%d device rows after opening", n)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Connect(ctx); !errors.Is(err, ErrClosed) {
			t.Fatalf("Connect after Close: %v", err)
		}
	})
}

func TestOpenStoredDevice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *wstore.Store, e *Engine) {
		ctx := context.Background()
		device := storeDevice(t, e, "15551234567", 7)
		if device != "15551234567:7@s.whatsapp.net" {
			t.Fatalf("device JID %q", device)
		}
		s, err := e.Open(ctx, engine.SessionConfig{ChannelID: "AAAAAA-00002", Device: device})
		if err != nil {
			t.Fatalf("open stored: %v", err)
		}
		if !s.Linked() {
			t.Fatal("stored device not linked")
		}
		if got := s.Self(); got != (engine.Account{Phone: "15551234567", Name: "Alice"}) {
			t.Fatalf("Self = %+v", got)
		}
		if got := s.(*Session).Device(); got != device {
			t.Fatalf("Device = %q", got)
		}
		// Offline actions fail cleanly.
		if _, err := s.SendText(ctx, "15557654321", "hi"); !errors.Is(err, engine.ErrNotConnected) {
			t.Fatalf("SendText offline: %v", err)
		}
		if err := s.MarkRead(ctx, "15557654321", "", []string{"ABC"}); !errors.Is(err, engine.ErrNotConnected) {
			t.Fatalf("MarkRead offline: %v", err)
		}
		if _, err := s.Profile(ctx); !errors.Is(err, engine.ErrNotConnected) {
			t.Fatalf("Profile offline: %v", err)
		}
		name := "Bob"
		if err := s.SetProfile(ctx, engine.ProfileUpdate{Name: &name}); !errors.Is(err, engine.ErrNotConnected) {
			t.Fatalf("SetProfile offline: %v", err)
		}
		if _, err := s.PairPhone(ctx, "15551234567"); !errors.Is(err, engine.ErrNotInLoginFlow) {
			t.Fatalf("PairPhone linked: %v", err)
		}
		// Logout needs WhatsApp: offline it fails and keeps the device.
		if err := s.Logout(ctx); !errors.Is(err, engine.ErrNotConnected) {
			t.Fatalf("Logout offline: %v", err)
		}
		if !s.Linked() || countDevices(t, st) != 1 {
			t.Fatal("failed Logout changed the session")
		}
		// Forget works offline and removes the device and its rows.
		if err := s.Forget(ctx); err != nil {
			t.Fatalf("Forget: %v", err)
		}
		if s.Linked() || s.Self() != (engine.Account{}) {
			t.Fatal("still linked after Forget")
		}
		if n := countDevices(t, st); n != 0 {
			t.Fatalf("%d device rows after Forget", n)
		}
		if _, err := e.Open(ctx, engine.SessionConfig{Device: device}); !errors.Is(err, engine.ErrDeviceNotFound) {
			t.Fatalf("reopen forgotten device: %v", err)
		}
		s.Close()
	})
}

func TestEngineCloseClosesSessions(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{})
	s, err := e.Open(context.Background(), engine.SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if err := s.Connect(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("session after engine Close: %v", err)
	}
	if _, err := e.Open(context.Background(), engine.SessionConfig{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Open after Close: %v", err)
	}
}

func TestProxyValidation(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{})
	ctx := context.Background()
	good := []string{"", "socks5://127.0.0.1:1080", "socks5://user:pa%40ss@proxy.example:1080", "http://proxy:3128", "https://u:p@proxy.example:443", "http://proxy"}
	bad := []string{"socks5h://127.0.0.1:1080", "garbage", "ftp://x:21", "http://", "socks5://:1080", "http://h:99999", "http://h:1/path", "://x", "socks4://h:1", "http://u:secret@h:1/?q"}
	s, err := e.Open(ctx, engine.SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range good {
		if err := s.SetProxy(p); err != nil {
			t.Errorf("SetProxy(%q): %v", p, err)
		}
		if _, err := e.Open(ctx, engine.SessionConfig{Proxy: p}); err != nil {
			t.Errorf("Open with proxy %q: %v", p, err)
		}
	}
	for _, p := range bad {
		err := s.SetProxy(p)
		if !errors.Is(err, engine.ErrBadProxy) {
			t.Errorf("SetProxy(%q) = %v, want ErrBadProxy", p, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error leaks credentials: %v", err)
		}
		if _, err := e.Open(ctx, engine.SessionConfig{Proxy: p}); !errors.Is(err, engine.ErrBadProxy) {
			t.Errorf("Open with proxy %q: %v", p, err)
		}
	}
}

// Two PostgreSQL schemas of one database, each with whatsmeow's tables (as
// per-schema test databases or tenants have): dbutil's table checks look at
// information_schema without a schema filter, so New must not be fooled by
// the other schema's whatsmeow_version.
func TestPostgresSchemasDoNotCollide(t *testing.T) {
	var pg []storetest.Backend
	for i := 0; i < 2; i++ {
		for _, b := range storetest.Backends(t) {
			if b.Name == "postgres" {
				pg = append(pg, b)
			}
		}
	}
	if len(pg) < 2 {
		t.Skip(storetest.EnvPostgres + " not set")
	}
	a, b := storetest.Open(t, pg[0]), storetest.Open(t, pg[1])
	ea := newEngine(t, a, Options{})
	eb := newEngine(t, b, Options{})
	storeDevice(t, eb, "15551234567", 1)
	if countDevices(t, a) != 0 || countDevices(t, b) != 1 {
		t.Fatal("schemas share whatsmeow tables")
	}
	_ = ea
}

// The runtime drops devices no channel owns (engine.Reconciler): Devices
// lists what whatsmeow's store keeps, RemoveDevice deletes one, but not one
// an open session uses, and not a malformed one.
func TestDevicesAndRemoveDevice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *wstore.Store, e *Engine) {
		ctx := context.Background()
		used := storeDevice(t, e, "15551234567", 2)
		orphan := storeDevice(t, e, "15557654321", 3)
		devs, err := e.Devices(ctx)
		if slices.Sort(devs); err != nil || !slices.Equal(devs, []string{used, orphan}) {
			t.Fatalf("Devices = %v, %v", devs, err)
		}
		s, err := e.Open(ctx, engine.SessionConfig{Device: used})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.RemoveDevice(ctx, used); err == nil {
			t.Fatal("RemoveDevice removed the device of an open session")
		}
		for _, bad := range []string{"", "garbage", "15551234567@s.whatsapp.net"} {
			if err := e.RemoveDevice(ctx, bad); !errors.Is(err, ErrMalformedDevice) {
				t.Errorf("RemoveDevice(%q) = %v", bad, err)
			}
		}
		if err := e.RemoveDevice(ctx, orphan); err != nil {
			t.Fatalf("RemoveDevice: %v", err)
		}
		if devs, _ := e.Devices(ctx); !slices.Equal(devs, []string{used}) || countDevices(t, st) != 1 {
			t.Fatalf("after RemoveDevice: %v", devs)
		}
		if _, err := e.Open(ctx, engine.SessionConfig{Device: orphan}); !errors.Is(err, engine.ErrDeviceNotFound) {
			t.Fatalf("Open a removed device: %v", err)
		}
		s.Close()
		if err := e.RemoveDevice(ctx, used); err != nil {
			t.Fatalf("RemoveDevice after the session closed: %v", err)
		}
		if devs, _ := e.Devices(ctx); len(devs) != 0 {
			t.Fatalf("Devices = %v", devs)
		}
	})
}
