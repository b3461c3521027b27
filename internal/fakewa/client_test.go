package fakewa_test

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"
	_ "modernc.org/sqlite"

	"github.com/wagate/wagate/internal/fakewa"
	"github.com/wagate/wagate/internal/store"
)

// Test helpers: bare whatsmeow clients on a SQLite store of their own.
// Tests here never call t.Log (see main_test.go: under -race its lines
// would read as failures).

const wait = 20 * time.Second

// options are the server options of the tests: logs to stderr with
// FAKEWA_DEBUG set.
func options(o fakewa.Options) fakewa.Options {
	if os.Getenv("FAKEWA_DEBUG") != "" {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return o
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// openStore opens a whatsmeow store on a new SQLite file (the DSN wagate
// uses).
func openStore(t *testing.T) *sqlstore.Container {
	t.Helper()
	db, err := sql.Open("sqlite", store.SQLiteDSN(filepath.Join(t.TempDir(), "wa.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := sqlstore.NewWithDB(db, "sqlite", nil)
	if err := c.Upgrade(context.Background()); err != nil {
		t.Fatalf("upgrade store: %v", err)
	}
	return c
}

// client is a whatsmeow client on a store, pointed at a fake server, with
// its events recorded.
type client struct {
	t     *testing.T
	cli   *wm.Client
	store *sqlstore.Container
	rec   *recorder
}

// newClient builds a client on the store's first device; setup runs before
// the event handler is added (nil for none).
func newClient(t *testing.T, srv *fakewa.Server, st *sqlstore.Container, setup func(*wm.Client)) *client {
	t.Helper()
	dev, err := st.GetFirstDevice(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var log waLog.Logger
	if os.Getenv("FAKEWA_DEBUG") != "" {
		log = waLog.Stdout("Client", "DEBUG", false)
	}
	cli := wm.NewClient(dev, log)
	srv.Configure(cli)
	c := &client{t: t, cli: cli, store: st, rec: &recorder{}}
	if setup != nil {
		setup(cli)
	}
	cli.AddEventHandler(c.rec.add)
	t.Cleanup(cli.Disconnect)
	return c
}

func (c *client) connect() {
	c.t.Helper()
	if err := c.cli.Connect(); err != nil {
		c.t.Fatalf("Connect: %v", err)
	}
}

// waitEvent waits for an event of type T recorded after index from (see
// recorder.wait) and returns it with the index after it.
func waitEvent[T any](c *client, from int) (T, int) {
	c.t.Helper()
	ev, i := c.rec.wait(c.t, from, func(ev any) bool { _, ok := ev.(T); return ok })
	return ev.(T), i
}

// pairClient pairs a new client with the account by QR code and waits
// until it logged in as its new device.
func pairClient(t *testing.T, srv *fakewa.Server, phone string, setup func(*wm.Client)) (*client, *fakewa.Device) {
	t.Helper()
	c := newClient(t, srv, openStore(t), setup)
	c.connect()
	qr, _ := waitEvent[*events.QR](c, 0)
	d, err := srv.Account(phone).ScanQR(ctxT(t), qr.Codes[0])
	if err != nil {
		t.Fatalf("ScanQR: %v", err)
	}
	waitEvent[*events.Connected](c, 0)
	return c, d
}

// rebuild makes a new client on the same store, as a restarted process
// would.
func (c *client) rebuild(srv *fakewa.Server, setup func(*wm.Client)) *client {
	c.t.Helper()
	c.cli.Disconnect()
	return newClient(c.t, srv, c.store, setup)
}

// recorder collects a client's events.
type recorder struct {
	mu     sync.Mutex
	events []any
	wake   chan struct{}
}

func (r *recorder) add(ev any) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	if r.wake != nil {
		close(r.wake)
		r.wake = nil
	}
	r.mu.Unlock()
}

func (r *recorder) all() []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]any(nil), r.events...)
}

// wait waits for an event at index from or later that match accepts and
// returns it with the index after it.
func (r *recorder) wait(t *testing.T, from int, match func(any) bool) (any, int) {
	t.Helper()
	deadline := time.After(wait)
	for {
		r.mu.Lock()
		for i := from; i < len(r.events); i++ {
			if match(r.events[i]) {
				ev := r.events[i]
				r.mu.Unlock()
				return ev, i + 1
			}
		}
		if r.wake == nil {
			r.wake = make(chan struct{})
		}
		wake := r.wake
		r.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			var names []string
			for _, ev := range r.all() {
				names = append(names, reflect.TypeOf(ev).String())
			}
			t.Fatalf("no matching event within %s; events: %v", wait, names)
		}
	}
}

// count is how many events from index from on match.
func (r *recorder) count(from int, match func(any) bool) int {
	n := 0
	for _, ev := range r.all()[from:] {
		if match(ev) {
			n++
		}
	}
	return n
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
