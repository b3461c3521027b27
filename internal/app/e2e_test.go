package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestServerEndToEnd starts the real server on a loopback port and follows
// the README's quick start over HTTP: operator creates a partner, the partner
// creates a channel, extends it and switches it to live; then the server shuts
// down gracefully and a restart keeps everything.
func TestServerEndToEnd(t *testing.T) {
	v := openapitest.New(t)
	b := storetest.Backends(t)[0]
	cfg := testConfig(t, b)
	cfg.AdminToken = "" // generated and printed once
	cfg.PublicURL = ""
	var out bytes.Buffer
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))

	srv, err := app.New(context.Background(), cfg, log, app.Options{Out: &out, BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	admin := regexp.MustCompile(`wga_[A-Za-z0-9]{40}`).FindString(out.String())
	if admin == "" {
		t.Fatalf("no admin token printed: %q", out.String())
	}
	base := "http://" + srv.Addr()
	client := &http.Client{Transport: v.Transport(t, http.DefaultTransport), Timeout: 10 * time.Second}
	call := func(method, path, token string, body any, want int) map[string]any {
		t.Helper()
		var rd io.Reader
		if body != nil {
			raw, _ := json.Marshal(body)
			rd = bytes.NewReader(raw)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
		}
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return m
	}

	call("GET", "/readyz", "", nil, 200)
	p := call("POST", "/admin/partners", admin, map[string]any{"name": "acme", "email": "ops@acme.test", "days": 30}, 201)
	ptok := p["token"].(string)
	ch := call("PUT", "/partner/channels", ptok, map[string]any{"name": "Customer 1"}, 200)
	id := ch["id"].(string)
	call("POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 30, "comment": "first month"}, 200)
	live := call("PATCH", "/partner/channels/"+id+"/mode", ptok, map[string]any{"mode": "live"}, 200)
	if live["channel"].(map[string]any)["mode"] != "live" {
		t.Fatalf("mode = %v", live)
	}
	me := call("GET", "/partner/partners", ptok, nil, 200)
	if me["balance"].(float64) != 0 {
		t.Fatalf("balance = %v", me["balance"])
	}

	// Secrets never reach the log.
	for _, secret := range []string{admin, ptok, ch["token"].(string)} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("a token appears in the log")
		}
	}
	if !strings.Contains(logs.String(), "path=/partner/channels") {
		t.Fatalf("requests are not logged: %s", logs.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := http.Get(base + "/livez"); err == nil {
		t.Fatalf("server still answers after shutdown")
	}

	// Restart on the same data: no new admin token, same partner and channel.
	out.Reset()
	srv2, err := app.New(context.Background(), cfg, log, app.Options{Out: &out, BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv2.Shutdown(context.Background()) })
	if out.Len() != 0 {
		t.Fatalf("admin token printed again on restart: %q", out.String())
	}
	if err := srv2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	base = "http://" + srv2.Addr()
	got := call("GET", "/partner/channels/"+id, ptok, nil, 200)
	if got["mode"] != "live" || got["status"] != "active" {
		t.Fatalf("after restart: %v", got)
	}
	call("GET", "/admin/partners", admin, nil, 200)
}

// TestCLI runs the one-shot commands the README shows.
func TestCLI(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		if k == "WAGATE_DATA_DIR" {
			return dir
		}
		return ""
	}
	run := func(want int, args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := app.Main(args, env, &stdout, &stderr); code != want {
			t.Fatalf("wagate %v: exit %d, want %d; stderr %s", args, code, want, stderr.String())
		}
		return stdout.String() + stderr.String()
	}
	out := run(0, "partner", "create", "--name", "acme", "--email", "ops@acme.test", "--days", "12", "--password", "long enough")
	var p struct {
		ID      string `json:"id"`
		Token   string `json:"token"`
		Balance int64  `json:"balance"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Balance != 12 || !strings.HasPrefix(p.Token, "wgp_") {
		t.Fatalf("partner create printed %q (%v)", out, err)
	}
	if out := run(0, "partner", "credit", p.ID, "8", "--comment", "invoice 1"); !strings.Contains(out, `"balance": 20`) {
		t.Fatalf("credit printed %q", out)
	}
	if out := run(0, "partner", "credit", p.ID, "-5", "--comment", "refund"); !strings.Contains(out, `"balance": 15`) {
		t.Fatalf("debit printed %q", out)
	}
	if out := run(1, "partner", "credit", p.ID, "-50", "--comment", "too much"); !strings.Contains(out, "insufficient days") {
		t.Fatalf("over-debit printed %q", out)
	}
	if out := run(1, "partner", "create", "--name", "bad name", "--email", "x@y.test"); !strings.Contains(out, "name:") {
		t.Fatalf("bad create printed %q", out)
	}
	if out := run(0, "partner", "list"); !strings.Contains(out, `"name": "acme"`) {
		t.Fatalf("list printed %q", out)
	}
	if out := run(0, "migrate"); !strings.Contains(out, "schema version") {
		t.Fatalf("migrate printed %q", out)
	}
	if out := run(0, "admin", "rotate-token"); !regexp.MustCompile(`^wga_[A-Za-z0-9]{40}\n$`).MatchString(out) {
		t.Fatalf("rotate-token printed %q", out)
	}
	if out := run(0, "version"); !strings.HasPrefix(out, "wagate ") {
		t.Fatalf("version printed %q", out)
	}
	run(2, "frobnicate")
	run(1, "serve", "--engine", "nope")
}

// TestRunShutsDownOnCancel runs the server as `wagate serve` does and checks
// that ending its context (what SIGINT/SIGTERM do) stops it cleanly.
func TestRunShutsDownOnCancel(t *testing.T) {
	cfg := testConfig(t, storetest.Backends(t)[0])
	// Run listens on cfg.Addr, so pick a free port first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{BcryptCost: 4}) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + cfg.Addr + "/readyz")
		if err == nil {
			id := resp.Header.Get("X-Request-ID")
			resp.Body.Close()
			if resp.StatusCode == 200 {
				if len(id) != 16 {
					t.Fatalf("X-Request-ID = %q", id)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if _, err := http.Get("http://" + cfg.Addr + "/livez"); err == nil {
		t.Fatal("server still answers after Run returned")
	}
}
