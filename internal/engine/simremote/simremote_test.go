package simremote

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/engine/simremote/internal/stubgen"
)

func TestGeneratedStubsAreCurrent(t *testing.T) {
	want, err := stubgen.Generate("..")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("stubs_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("stubs_gen.go is out of date: run go generate ./internal/engine/simremote")
	}
}

// recorder collects a session's events and stored data events.
type recorder struct {
	mu     sync.Mutex
	events []engine.Event
	stored []engine.Event
	fail   bool
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 100)} }

func (r *recorder) onEvent(ev engine.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	r.notify <- struct{}{}
}

func (r *recorder) ingest(_ context.Context, ev engine.Event) error {
	r.mu.Lock()
	defer func() { r.notify <- struct{}{} }()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("disk full")
	}
	r.stored = append(r.stored, ev)
	return nil
}

func waitFor[T engine.Event](t *testing.T, r *recorder, from func(*recorder) []engine.Event) T {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r.mu.Lock()
		for _, ev := range from(r) {
			if v, ok := ev.(T); ok {
				r.mu.Unlock()
				return v
			}
		}
		r.mu.Unlock()
		select {
		case <-r.notify:
		case <-deadline:
			var zero T
			t.Fatalf("no %T within 5s; events %v, stored %v", zero, r.events, r.stored)
		}
	}
}

func events(r *recorder) []engine.Event { return r.events }
func stored(r *recorder) []engine.Event { return r.stored }

// hostSwitch says where the network is hosted; tests move it.
type hostSwitch struct {
	mu    sync.Mutex
	url   string
	local *sim.Network
}

func (h *hostSwitch) get() (string, *sim.Network) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.url, h.local
}

func (h *hostSwitch) set(url string, local *sim.Network) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.url, h.local = url, local
}

func TestRemoteSessionLifecycle(t *testing.T) {
	ctx := context.Background()
	net := sim.New(sim.Options{})
	defer net.Close()
	host := NewHost(net, nil)
	srv := httptest.NewServer(host)
	defer srv.Close()
	sw := &hostSwitch{url: srv.URL}
	eng := New(Options{Host: sw.get, Watch: 20 * time.Millisecond})
	defer eng.Close()

	if _, err := net.AddPhone("15550001111", "Ann"); err != nil {
		t.Fatal(err)
	}
	if _, err := net.AddPhone("15550002222", "Bob"); err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	sess, err := eng.Open(ctx, engine.SessionConfig{ChannelID: "CH-1", Events: r.onEvent, Ingest: r.ingest})
	if err != nil {
		t.Fatal(err)
	}
	if sess.Linked() {
		t.Fatal("a new session is linked")
	}
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	qr := waitFor[engine.QR](t, r, events)
	if _, err := net.LinkQR("15550001111", qr.Code); err != nil {
		t.Fatal(err)
	}
	linked := waitFor[engine.Linked](t, r, events)
	waitFor[engine.Connected](t, r, events)
	if !sess.Linked() || sess.Self().Phone != "15550001111" || linked.Device == "" {
		t.Fatalf("after linking: linked %v self %+v", sess.Linked(), sess.Self())
	}

	// Calls go to the host; results and sentinel errors come back.
	sent, err := sess.SendText(ctx, "15550002222@s.whatsapp.net", "hello")
	if err != nil || sent.ID == "" {
		t.Fatalf("SendText: %+v %v", sent, err)
	}
	if in, _ := net.Inbox("15550002222"); len(in) != 1 || in[0].Body != "hello" {
		t.Fatalf("Bob's inbox: %+v", in)
	}
	_, err = sess.SendText(ctx, "15559999999@s.whatsapp.net", "nobody")
	if !errors.Is(err, engine.ErrNotOnWhatsApp) || !errors.Is(err, sim.ErrNotOnWhatsApp) {
		t.Fatalf("to an unknown number: %v", err)
	}
	g, err := sess.(engine.Actor).CreateGroup(ctx, "Team", []string{"15550002222@s.whatsapp.net"})
	if err != nil || len(g.Participants) != 2 {
		t.Fatalf("CreateGroup: %+v %v", g, err)
	}

	// The capabilities travel too: a story, a newsletter, a community.
	if st, err := sess.(engine.Storyteller).PostStory(ctx, engine.StoryPost{Content: engine.Content{Kind: engine.KindText, Text: "day"},
		Style: engine.StoryStyle{Background: "#FF000000"}}); err != nil || st.Chat != engine.StatusBroadcast {
		t.Fatalf("PostStory: %+v %v", st, err)
	}
	nl, err := sess.(engine.Newsletterer).CreateNewsletter(ctx, engine.NewsletterCreate{Name: "Daily"})
	if err != nil || nl.Role != engine.NewsletterOwner {
		t.Fatalf("CreateNewsletter: %+v %v", nl, err)
	}
	if _, err := sess.(engine.Newsletterer).Newsletter(ctx, "120363000000000000@newsletter"); !errors.Is(err, engine.ErrNewsletterNotFound) {
		t.Fatalf("unknown newsletter: %v", err)
	}
	if c, err := sess.(engine.Communitarian).CreateCommunity(ctx, "Club", ""); err != nil || !c.IsParent {
		t.Fatalf("CreateCommunity: %+v %v", c, err)
	}
	if subs, err := sess.(engine.Communitarian).SubGroups(ctx, g.JID); !errors.Is(err, engine.ErrNotCommunity) {
		t.Fatalf("SubGroups of a plain group: %+v %v", subs, err)
	}

	// Data events reach Ingest; a failed store is delivered again.
	if _, err := net.SendFromPhone("15550002222", "15550001111", "hi there"); err != nil {
		t.Fatal(err)
	}
	m := waitFor[engine.Message](t, r, stored)
	if m.Text != "hi there" {
		t.Fatalf("stored %+v", m)
	}

	// The host moves into this process: the session is told it was
	// disconnected, and connects again there.
	sw.set("", net)
	waitFor[engine.Disconnected](t, r, events)
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor[engine.Connected](t, r, events)
	if _, err := sess.SendText(ctx, "15550002222@s.whatsapp.net", "local now"); err != nil {
		t.Fatal(err)
	}

	// Logout unlinks.
	if err := sess.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if sess.Linked() {
		t.Fatal("linked after Logout")
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestHostGoneDisconnects(t *testing.T) {
	ctx := context.Background()
	net := sim.New(sim.Options{})
	defer net.Close()
	host := NewHost(net, nil)
	srv := httptest.NewServer(host)
	sw := &hostSwitch{url: srv.URL}
	eng := New(Options{Host: sw.get, Watch: 20 * time.Millisecond})
	defer eng.Close()
	if _, err := net.AddPhone("15550001111", "Ann"); err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	sess, err := eng.Open(ctx, engine.SessionConfig{ChannelID: "CH-1", Events: r.onEvent, Ingest: r.ingest})
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	qr := waitFor[engine.QR](t, r, events)
	if _, err := net.LinkQR("15550001111", qr.Code); err != nil {
		t.Fatal(err)
	}
	waitFor[engine.Connected](t, r, events)
	host.Close()
	srv.Close()
	d := waitFor[engine.Disconnected](t, r, events)
	if d.Reason == "" {
		t.Error("no reason")
	}
	// No host: calls fail clearly, and the session comes back with one.
	sw.set("", nil)
	time.Sleep(50 * time.Millisecond)
	if err := sess.Connect(ctx); !errors.Is(err, ErrHostUnreachable) {
		t.Fatalf("Connect without a host: %v", err)
	}
	srv2 := httptest.NewServer(NewHost(net, nil))
	defer srv2.Close()
	sw.set(srv2.URL, nil)
	time.Sleep(50 * time.Millisecond)
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor[engine.Connected](t, r, events)
	if !sess.Linked() {
		t.Error("the session lost its link across hosts")
	}
}

// A node found dead loses its sessions on the host at once, while other
// nodes' sessions stay; its own engine sees the connection end.
func TestHostDropNode(t *testing.T) {
	ctx := context.Background()
	net := sim.New(sim.Options{})
	defer net.Close()
	host := NewHost(net, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host.ServeNode(w, r, r.Header.Get("X-Node"))
	}))
	defer srv.Close()
	open := func(node, channel string) (*recorder, engine.Session) {
		sw := &hostSwitch{url: srv.URL}
		eng := New(Options{Host: sw.get, Watch: time.Hour, Sign: func(r *http.Request) { r.Header.Set("X-Node", node) }})
		t.Cleanup(func() { _ = eng.Close() })
		r := newRecorder()
		sess, err := eng.Open(ctx, engine.SessionConfig{ChannelID: channel, Events: r.onEvent, Ingest: r.ingest})
		if err != nil {
			t.Fatal(err)
		}
		return r, sess
	}
	openOn := func(channel string) int {
		for _, s := range net.Sessions() {
			if s.ChannelID == channel {
				return s.Open
			}
		}
		return 0
	}
	_, _ = open("n1", "CH-1")
	_, _ = open("n1", "CH-2")
	_, _ = open("n2", "CH-3")
	if openOn("CH-1") != 1 || openOn("CH-2") != 1 || openOn("CH-3") != 1 {
		t.Fatalf("sessions before: %+v", net.Sessions())
	}
	if n := host.DropNode("n9"); n != 0 {
		t.Fatalf("an unknown node dropped %d sessions", n)
	}
	if n := host.DropNode("n1"); n != 2 {
		t.Fatalf("DropNode(n1) closed %d sessions, want 2", n)
	}
	if openOn("CH-1") != 0 || openOn("CH-2") != 0 || openOn("CH-3") != 1 {
		t.Fatalf("sessions after n1 was dropped: %+v", net.Sessions())
	}
	if n := host.DropNode(""); n != 0 {
		t.Fatalf("DropNode of no node closed %d", n)
	}
}
