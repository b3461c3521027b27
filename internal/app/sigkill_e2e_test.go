package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/whatsmeow"
	"github.com/wagate/wagate/internal/fakewa"
	"github.com/wagate/wagate/internal/fakewa/racechild"
	"github.com/wagate/wagate/internal/store/storetest"
)

// envWAChild makes this test binary a wagate server on the whatsmeow
// engine (runWAChild), pointed at a fake WhatsApp server in the parent:
// a process the test can kill with SIGKILL.
const envWAChild = "WAGATE_TEST_CHILD_SERVER"

// childSpec is what the child server runs with.
type childSpec struct {
	DataDir     string          `json:"data_dir"`
	DatabaseURL string          `json:"database_url"`
	Endpoint    fakewa.Endpoint `json:"endpoint"`
	// IngestDelay holds every incoming message this long after it is
	// stored, before whatsmeow may acknowledge it.
	IngestDelay time.Duration `json:"ingest_delay"`
	// Engine is "sim" for the simulated network (no fake WhatsApp server);
	// empty: whatsmeow.
	Engine string `json:"engine,omitempty"`
	// NodeID, ClusterTTL and ExpiryInterval tune the node (cluster tests);
	// zero: the defaults below.
	NodeID         string        `json:"node_id,omitempty"`
	ClusterTTL     time.Duration `json:"cluster_ttl,omitempty"`
	ExpiryInterval time.Duration `json:"expiry_interval,omitempty"`
}

// runWAChild serves until stdin closes; it prints "ADDR <host:port>".
func runWAChild() int {
	var spec childSpec
	if err := json.Unmarshal([]byte(os.Getenv(envWAChild)), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "child server spec:", err)
		return 2
	}
	if spec.NodeID == "" {
		spec.NodeID = "sigkill-node"
	}
	if spec.ClusterTTL == 0 {
		spec.ClusterTTL = 3 * time.Second
	}
	if spec.ExpiryInterval == 0 {
		spec.ExpiryInterval = time.Second
	}
	cfg := config.Config{
		Addr: "127.0.0.1:0", DataDir: spec.DataDir, DatabaseURL: spec.DatabaseURL, AdminToken: adminToken,
		PublicURL: "https://wa.example.test", Engine: config.EngineWhatsmeow, LogLevel: slog.LevelError, LogFormat: "text",
		ExpiryInterval: spec.ExpiryInterval, ShutdownTimeout: 10 * time.Second, WebhookAllowPrivate: true,
		// On PostgreSQL a restart is the same cluster node: it takes the
		// killed run's place once that one's heartbeat expired.
		NodeID: spec.NodeID,
	}
	o := app.Options{BcryptCost: 4, ClusterTTL: spec.ClusterTTL,
		WrapIngest: func(next app.IngestFunc) app.IngestFunc {
			return func(ctx context.Context, channelID string, ev engine.Event) error {
				err := next(ctx, channelID, ev)
				if _, ok := ev.(engine.Message); ok && err == nil {
					time.Sleep(spec.IngestDelay)
				}
				return err
			}
		}}
	if spec.Engine == config.EngineSim {
		cfg.Engine = config.EngineSim
		cfg.MediaAllowPrivate, cfg.ProxyAllowPrivate = true, true
	} else {
		remote, err := fakewa.Attach(spec.Endpoint)
		if err != nil {
			fmt.Fprintln(os.Stderr, "attach:", err)
			return 2
		}
		o.Whatsmeow = whatsmeow.Options{ClientHook: remote.Configure, HTTPClient: remote.HTTPClient(), VersionRefresh: -1}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	srv, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "new:", err)
		return 1
	}
	if err := srv.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		return 1
	}
	fmt.Printf("ADDR %s\n", srv.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return 0
}

// waChild is a wagate server in a child process.
type waChild struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	addr   string
	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{}
}

func startWAChild(t *testing.T, spec childSpec) *waChild {
	t.Helper()
	raw, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envWAChild+"="+string(raw))
	c := &waChild{cmd: cmd, done: make(chan struct{})}
	var err error
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		b, _ := io.ReadAll(stderr)
		c.mu.Lock()
		c.stderr.Write(b)
		c.mu.Unlock()
		close(c.done)
	}()
	lines := bufio.NewScanner(stdout)
	addr := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if a, ok := strings.CutPrefix(lines.Text(), "ADDR "); ok {
				addr <- a
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			<-c.done
			t.Fatalf("child server did not start:\n%s", c.output())
		}
		c.addr = a
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("child server did not start within 60 s")
	}
	t.Cleanup(func() { c.kill() })
	return c
}

// kill ends the child with SIGKILL (no shutdown at all) and checks what it
// printed: no data race but whatsmeow's known socket race.
func (c *waChild) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
	<-c.done
}

// terminate shuts the child down cleanly (it serves until its stdin
// closes) and waits for it, up to 30 s.
func (c *waChild) terminate() error {
	_ = c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.done
		return fmt.Errorf("the child did not stop within 30 s")
	}
	return c.cmd.Wait()
}

func (c *waChild) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

func (c *waChild) checkRaces(t *testing.T) {
	t.Helper()
	if _, unknown := racechild.Classify(c.output()); len(unknown) > 0 {
		t.Errorf("data race in the child server outside whatsmeow's known socket race:\n%s", unknown[0])
	}
}

// A server killed (SIGKILL) after it stored an incoming message but before
// whatsmeow acknowledged it to WhatsApp gets the message again after the
// restart, and stores and reports it once.
func TestKilledBetweenDeliveryAndAck(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { testKilledBetweenDeliveryAndAck(t, b) })
	}
}

func testKilledBetweenDeliveryAndAck(t *testing.T, b storetest.Backend) {
	fw := fakewa.New(t, fakewa.Options{})
	spec := childSpec{DataDir: t.TempDir(), DatabaseURL: b.Options.URL, Endpoint: fw.Endpoint(), IngestDelay: time.Hour}
	child := startWAChild(t, spec)
	s := &liveServer{t: t, base: "http://" + child.addr, client: &http.Client{Timeout: 15 * time.Second}}
	hooks := newReceiver(t)

	p := s.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "killed", "email": "k@example.test", "days": 30})
	ptok := p["token"].(string)
	ch := s.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "killed"})
	id, tok := ch["id"].(string), ch["token"].(string)
	s.call(200, "PATCH", "/settings", tok, map[string]any{"webhooks": []any{map[string]any{"url": hooks.srv.URL + "/c",
		"events": subscribe("messages.post")}}})
	acct := fw.Account("15554440001")
	qr := s.call(200, "GET", "/users/login/rowdata", tok, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dev, err := acct.ScanQR(ctx, qr["rowdata"].(string))
	if err != nil {
		t.Fatal(err)
	}
	s.health(tok, "AUTH")

	peer, err := fw.AddPeer(fakewa.PeerOptions{Phone: "15554440002", PushName: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := peer.SendText(acct, "do not lose me")
	if err != nil {
		t.Fatal(err)
	}
	// Stored (committed) and held before the acknowledgement: kill it.
	stored := func() int {
		list := s.call(200, "GET", "/messages/list?count=100", tok, nil)
		n := 0
		for _, m := range list["messages"].([]any) {
			if m.(map[string]any)["id"] == sent.ID {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for stored() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the message was never stored:\n%s", child.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	child.kill()
	child.checkRaces(t)
	if d, ok := dev.Delivery(sent.ID); !ok || d.Acked {
		t.Fatalf("before the restart: delivery %+v (found %v), want delivered and not acknowledged", d, ok)
	}

	// Restarted on the same data: WhatsApp delivers it again; stored once.
	spec.IngestDelay = 0
	child = startWAChild(t, spec)
	s.base = "http://" + child.addr
	s.health(tok, "AUTH")
	if _, err := dev.WaitAcked(ctx, sent.ID); err != nil {
		t.Fatalf("the message was not acknowledged after the restart: %v\n%s", err, child.output())
	}
	d, _ := dev.Delivery(sent.ID)
	if d.Deliveries < 2 {
		t.Errorf("delivered %d times, want at least 2", d.Deliveries)
	}
	if n := stored(); n != 1 {
		t.Errorf("stored %d times, want 1", n)
	}
	// Its messages.post went out once (one delivery ID, however many
	// attempts the kill caused).
	hooks.wait(t, "messages.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), sent.ID) })
	time.Sleep(300 * time.Millisecond)
	ids := map[string]bool{}
	hooks.mu.Lock()
	for _, c := range hooks.calls {
		if strings.Contains(string(c.Raw), sent.ID) {
			ids[c.Delivery] = true
		}
	}
	hooks.mu.Unlock()
	if len(ids) != 1 {
		t.Errorf("%d distinct messages.post deliveries for the message, want 1", len(ids))
	}
	_ = id
	child.kill()
	child.checkRaces(t)
}
