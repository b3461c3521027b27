package sim_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
)

var ctx = context.Background()

// wait is how long a test waits for an event that must come.
const wait = 5 * time.Second

// recorder collects a session's events; tests read them in order.
type recorder struct {
	mu     sync.Mutex
	list   []engine.Event
	pos    int
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

// ingest records a data event as received and stored.
func (r *recorder) ingest(_ context.Context, ev engine.Event) error {
	r.fn(ev)
	return nil
}

func (r *recorder) fn(ev engine.Event) {
	r.mu.Lock()
	r.list = append(r.list, ev)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// all returns every event recorded so far.
func (r *recorder) all() []engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]engine.Event(nil), r.list...)
}

// next returns the next event not read yet, waiting for it.
func (r *recorder) next(t testing.TB) engine.Event {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		if r.pos < len(r.list) {
			ev := r.list[r.pos]
			r.pos++
			r.mu.Unlock()
			return ev
		}
		r.mu.Unlock()
		select {
		case <-r.notify:
		case <-deadline.C:
			t.Fatalf("no event within %s (had %d: %v)", wait, len(r.all()), r.all())
		}
	}
}

// none fails when an unread event arrives within d.
func (r *recorder) none(t testing.TB, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pos < len(r.list) {
		t.Fatalf("unexpected events: %#v", r.list[r.pos:])
	}
}

// next reads the next event and wants it to be a T.
func next[T engine.Event](t testing.TB, r *recorder) T {
	t.Helper()
	ev := r.next(t)
	v, ok := ev.(T)
	if !ok {
		var zero T
		t.Fatalf("event %#v, want a %T", ev, zero)
	}
	return v
}

// wantErr fails unless errors.Is(err, target) and the message has every fragment.
func wantErr(t testing.TB, err, target error, fragments ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not say %q", err, f)
		}
	}
}

// result holds a value and an error: val(f()).get(t) fails the test on the error.
type result[T any] struct {
	v   T
	err error
}

func val[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) get(t testing.TB) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// chanSession is an open session and its events.
type chanSession struct {
	id  string
	s   engine.Session
	ev  *recorder
	dev string
}

// open opens a session for channel id (device: "" or a stored one).
func open(t testing.TB, n *sim.Network, id, device string) *chanSession {
	t.Helper()
	r := newRecorder()
	s, err := n.Open(ctx, engine.SessionConfig{ChannelID: id, Device: device, Events: r.fn, Ingest: r.ingest})
	if err != nil {
		t.Fatalf("Open %s: %v", id, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &chanSession{id: id, s: s, ev: r, dev: device}
}

// link opens channel id and links it to phone by QR; the events up to
// Connected are read.
func link(t testing.TB, n *sim.Network, id, phone string) *chanSession {
	t.Helper()
	c := open(t, n, id, "")
	noErr(t, c.s.Connect(ctx))
	qr := next[engine.QR](t, c.ev)
	got := val(n.LinkQR(phone, qr.Code)).get(t)
	if got != id {
		t.Fatalf("LinkQR returned channel %q, want %q", got, id)
	}
	l := next[engine.Linked](t, c.ev)
	next[engine.Connected](t, c.ev)
	c.dev = l.Device
	return c
}

func addPhone(t testing.TB, n *sim.Network, number, name string) {
	t.Helper()
	val(n.AddPhone(number, name)).get(t)
}

// newNet returns a network closed at the end of the test.
func newNet(t testing.TB, o sim.Options) *sim.Network {
	n := sim.New(o)
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func wantEqual(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

// waitGoroutines waits until at most n goroutines run.
func waitGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func number(i int) string { return fmt.Sprintf("1555000%04d", i) }
