package whatsmeow

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/store/storetest"
)

// fakeProxy accepts TCP connections, records what each client sends first
// (a SOCKS5 greeting or an HTTP CONNECT line) and hangs up. No websocket is
// ever established, so whatsmeow's socket race cannot occur here.
type fakeProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	first [][]byte
	got   chan struct{}
}

func newFakeProxy(t *testing.T) *fakeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeProxy{ln: ln, got: make(chan struct{}, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			// The first write: a whole SOCKS5 greeting or HTTP request head.
			buf := make([]byte, 512)
			n, _ := c.Read(buf)
			line := buf[:n]
			if i := bytes.IndexByte(line, '\n'); i >= 0 {
				line = line[:i+1]
			}
			// Recorded before hanging up: the client's Connect returns
			// once it sees the hang-up, and the test then looks.
			p.mu.Lock()
			p.first = append(p.first, append([]byte(nil), line...))
			p.mu.Unlock()
			c.Close()
			p.got <- struct{}{}
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *fakeProxy) addr() string { return p.ln.Addr().String() }

func (p *fakeProxy) received() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.first...)
}

// connectThrough connects a new session with proxy and returns what the
// proxy saw first.
func connectThrough(t *testing.T, e *Engine, proxy string, setLater bool) []byte {
	t.Helper()
	fp := newFakeProxy(t)
	proxy = strings.ReplaceAll(proxy, "ADDR", fp.addr())
	cfg := engine.SessionConfig{}
	if !setLater {
		cfg.Proxy = proxy
	}
	s, err := e.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if setLater {
		if err := s.SetProxy(proxy); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = s.Connect(ctx)
	if err == nil {
		t.Fatalf("Connect through a proxy that hangs up succeeded")
	}
	// Named as the proxy's failure, without what answered there.
	if !errors.Is(err, engine.ErrProxyUnreachable) || strings.Contains(err.Error(), fp.addr()) || strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("Connect through a proxy that hangs up: %v", err)
	}
	select {
	case <-fp.got:
	case <-time.After(5 * time.Second):
		t.Fatalf("proxy %s saw no connection", proxy)
	}
	return fp.received()[0]
}

func TestProxyIsUsed(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{})

	for _, setLater := range []bool{false, true} {
		// SOCKS5: version 5 greeting; with credentials it offers
		// username/password (method 2).
		if got := connectThrough(t, e, "socks5://ADDR", setLater); len(got) < 3 || got[0] != 5 {
			t.Fatalf("socks5 proxy got %q", got)
		}
		if got := connectThrough(t, e, "socks5://user:pw@ADDR", setLater); len(got) < 3 || got[0] != 5 || !strings.Contains(string(got[2:2+got[1]]), "\x02") {
			t.Fatalf("socks5 with auth got %q", got)
		}
		// HTTP: a CONNECT to WhatsApp's websocket host.
		if got := string(connectThrough(t, e, "http://ADDR", setLater)); !strings.HasPrefix(got, "CONNECT web.whatsapp.com:443 HTTP/1.1") {
			t.Fatalf("http proxy got %q", got)
		}
	}

	// SetProxy after a connect applies on the next Connect (a new client).
	fp1, fp2 := newFakeProxy(t), newFakeProxy(t)
	s, _ := e.Open(context.Background(), engine.SessionConfig{Proxy: "http://" + fp1.addr()})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.Connect(ctx)
	if err := s.SetProxy("socks5://" + fp2.addr()); err != nil {
		t.Fatal(err)
	}
	_ = s.Connect(ctx)
	// The proxy records a connection on its own goroutine: give it a moment.
	deadline := time.Now().Add(5 * time.Second)
	for len(fp2.received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n1, n2 := len(fp1.received()), len(fp2.received()); n1 != 1 || n2 != 1 {
		t.Fatalf("first proxy saw %d, second %d connections; want 1 and 1", n1, n2)
	}
}

func TestConnectOfflineReturns(t *testing.T) {
	// With no network (or no reachable web.whatsapp.com) Connect returns
	// an error within its context; it neither hangs nor panics.
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{})
	rec := newRecorder()
	s, _ := e.Open(context.Background(), engine.SessionConfig{Events: rec.add, Ingest: rec.ingest})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	err := s.Connect(ctx)
	if err == nil {
		t.Skip("web.whatsapp.com is reachable from here; this test is for offline machines")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Connect took %s", d)
	}
	if _, err := s.PairPhone(context.Background(), "15551234567"); err == nil {
		t.Fatal("PairPhone after a failed connect")
	}
	time.Sleep(100 * time.Millisecond)
	for _, ev := range rec.all() {
		if _, ok := ev.(engine.QR); ok {
			t.Fatalf("QR without a connection: %#v", rec.all())
		}
	}
}

const envDirectChild = "WAGATE_WHATSMEOW_DIRECT_CHILD"

// TestDirectIgnoresEnvProxy checks that a channel without a proxy does not
// follow HTTPS_PROXY, which whatsmeow's clients do by default. Go reads the
// proxy variables once per process, so a child process runs with
// HTTPS_PROXY pointing at a fake proxy: a direct session and then a plain
// whatsmeow client connect there; only the plain client may reach it.
func TestDirectIgnoresEnvProxy(t *testing.T) {
	if os.Getenv(envDirectChild) != "" {
		directChild(t)
		return
	}
	fp := newFakeProxy(t)
	proxy := "http://" + fp.addr()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDirectIgnoresEnvProxy$", "-test.count=1")
	cmd.Env = append(os.Environ(), envDirectChild+"=1",
		"HTTPS_PROXY="+proxy, "https_proxy="+proxy, "NO_PROXY=", "no_proxy=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	time.Sleep(100 * time.Millisecond)
	got := fp.received()
	if len(got) != 1 || !strings.HasPrefix(string(got[0]), "CONNECT web.whatsapp.com:443") {
		t.Fatalf("env proxy saw %d connections (%q); want only the plain client's", len(got), got)
	}
}

func directChild(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{})
	s, _ := e.Open(context.Background(), engine.SessionConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	_ = s.Connect(ctx) // direct: fails offline, must not use the env proxy
	cancel()
	s.Close()
	time.Sleep(200 * time.Millisecond)

	plain := wm.NewClient(e.container.NewDevice(), nil)
	ctx, cancel = context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := plain.ConnectContext(ctx); err == nil {
		t.Fatal("plain client connected through a proxy that hangs up")
	}
}

// TestProxyDialGuard: a proxy whose name resolves to a loopback address when
// the connection is made (it was public when set: DNS rebinding) is refused
// at dial time, named as such, and the listener there sees nothing.
func TestProxyDialGuard(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	e, err := New(context.Background(), st.DB(), string(st.Dialect()), testLog(), Options{WAVersion: testVersion, VersionRefresh: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	fp := newFakeProxy(t)
	_, port, _ := net.SplitHostPort(fp.addr())
	for _, p := range []string{"socks5://localhost:" + port, "http://localhost:" + port, "https://u:secret@localhost:" + port} {
		s, err := e.Open(context.Background(), engine.SessionConfig{Proxy: p})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = s.Connect(ctx)
		cancel()
		s.Close()
		if !errors.Is(err, engine.ErrProxyUnreachable) || !strings.Contains(err.Error(), "not public") {
			t.Fatalf("Connect through %s: %v, want the proxy refused as not public", p, err)
		}
		if strings.Contains(err.Error(), port) || strings.Contains(err.Error(), "secret") {
			t.Fatalf("the error names the proxy: %v", err)
		}
	}
	if got := fp.received(); len(got) != 0 || len(fp.got) != 0 {
		t.Fatalf("the loopback proxy saw %d connections: %q", len(got), got)
	}

	// The operator's pool may hold private proxies: those are dialed.
	e2, err := New(context.Background(), st.DB(), string(st.Dialect()), testLog(), Options{
		WAVersion: testVersion, VersionRefresh: -1, TrustedProxy: func(p string) bool { return strings.HasPrefix(p, "socks5://127.0.0.1:") }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e2.Close() })
	if got := connectThrough(t, e2, "socks5://ADDR", false); len(got) < 3 || got[0] != 5 {
		t.Fatalf("the pool's socks5 proxy got %q", got)
	}
}
