package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/store/storetest"
)

// liveServer is a wagate server on a loopback port, driven only over HTTP.
type liveServer struct {
	t      *testing.T
	base   string
	client *http.Client
	srv    *app.Server // set by startHooked
}

// call sends a JSON request and fails the test unless the status is want.
func (s *liveServer) call(want int, method, path, token string, body any) map[string]any {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

// health polls GET /health until its status text is want and returns it.
func (s *liveServer) health(token, want string) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h := s.call(200, "GET", "/health?wakeup=false", token, nil)
		if h["status"].(map[string]any)["text"] == want {
			return h
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("health stayed %v, want %s", h["status"], want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// authAs waits for AUTH and checks the linked account's number.
func (s *liveServer) authAs(token, phone string) {
	s.t.Helper()
	h := s.health(token, "AUTH")
	if u, _ := h["user"].(map[string]any); u == nil || u["id"] != phone {
		s.t.Fatalf("AUTH as %v, want %s", h["user"], phone)
	}
}

// linkQR reads the channel's QR and has the sim phone scan it.
func (s *liveServer) linkQR(token, phone string) {
	s.t.Helper()
	// A code may rotate out between reading and scanning it (tests use
	// codes of a few hundred ms; a busy machine is slower): read the new
	// one and scan again, as a person would.
	for try := 0; ; try++ {
		qr := s.call(200, "GET", "/users/login", token, nil)
		if !strings.HasPrefix(qr["base64"].(string), "data:image/png;base64,") || qr["rowdata"] == "" {
			s.t.Fatalf("login = %v", qr)
		}
		code, body := s.try("POST", "/admin/sim/phones/"+phone+"/link", adminToken, map[string]any{"qr": qr["rowdata"]})
		if code == 200 {
			break
		}
		if code != 410 || try == 5 {
			s.t.Fatalf("link: %d %s", code, body)
		}
	}
	s.authAs(token, phone)
}

// try sends a JSON request and returns the status and body.
func (s *liveServer) try(method, path, token string, body any) (int, string) {
	s.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.base+path, bytes.NewReader(raw))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// linkCode asks for a pairing code for the phone's number and types it on
// the phone.
func (s *liveServer) linkCode(token, phone string) {
	s.t.Helper()
	c := s.call(200, "GET", "/users/login/"+phone, token, nil)
	code, _ := c["code"].(string)
	if len(strings.ReplaceAll(code, "-", "")) != 8 {
		s.t.Fatalf("pairing code = %v", c)
	}
	s.call(200, "POST", "/admin/sim/phones/"+phone+"/link", adminToken, map[string]any{"code": code})
	s.authAs(token, phone)
}

// devices lists the channel IDs linked to a sim phone.
func (s *liveServer) devices(phone string) []string {
	s.t.Helper()
	p := s.call(200, "GET", "/admin/sim/phones/"+phone, adminToken, nil)
	var ids []string
	for _, d := range p["devices"].([]any) {
		ids = append(ids, d.(map[string]any)["channel_id"].(string))
	}
	return ids
}

// TestRuntimeEndToEnd starts the real server on the sim engine and, through
// HTTP only, takes two channels through their whole life: linking by QR and
// by pairing code, messages between the two phones, restart, logout, hard
// unlink, unlink from the phone, re-linking, proxy changes, a server restart,
// expiry and extension back to AUTH without a new link.
func TestRuntimeEndToEnd(t *testing.T) {
	v := openapitest.New(t)
	b := storetest.Backends(t)[0]
	cfg := testConfig(t, b)
	cfg.ExpiryInterval = 20 * time.Millisecond
	clk := clock.NewFake(start)
	opts := app.Options{Now: clk.Now, BcryptCost: 4}
	boot := func() *app.Server {
		srv, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return srv
	}
	stop := func(srv *app.Server) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}
	srv := boot()
	defer func() { stop(srv) }()
	s := &liveServer{t: t, base: "http://" + srv.Addr(),
		client: &http.Client{Transport: v.Transport(t, http.DefaultTransport), Timeout: 10 * time.Second}}

	// The operator creates a partner; the partner two channels.
	ptok := s.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "shop", "email": "ops@shop.test", "days": 30})["token"].(string)
	chA := s.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "Shop A"})
	chB := s.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "Shop B"})
	idA, tokA := chA["id"].(string), chA["token"].(string)
	idB, tokB := chB["id"].(string), chB["token"].(string)
	const alice, bob = "15551110001", "15551110002"
	s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": alice, "name": "Alice"})
	s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": bob, "name": "Bob"})

	// A new channel waits for a QR scan; A links by QR, B by pairing code.
	s.health(tokA, "QR")
	s.linkQR(tokA, alice)
	s.linkCode(tokB, bob)
	got := s.call(200, "GET", "/partner/channels/"+idA, ptok, nil)
	if got["phone"] != alice || got["linked"] != true {
		t.Fatalf("partner view of A = %v", got)
	}
	s.call(409, "GET", "/users/login", tokA, nil) // already linked
	if d := s.devices(alice); !slices.Equal(d, []string{idA}) {
		t.Fatalf("Alice's devices = %v, want [%s]", d, idA)
	}

	// The two phones talk; Bob reads, Alice's message turns read.
	sent := s.call(201, "POST", "/admin/sim/phones/"+alice+"/messages", adminToken, map[string]any{"to": bob, "body": "hello Bob"})
	msgID := sent["message"].(map[string]any)["id"].(string)
	inbox := s.call(200, "GET", "/admin/sim/phones/"+bob+"/messages", adminToken, nil)
	if !strings.Contains(fmtJSON(inbox), "hello Bob") {
		t.Fatalf("Bob's inbox = %v", inbox)
	}
	s.call(200, "POST", "/admin/sim/phones/"+bob+"/read", adminToken, map[string]any{"ids": []string{msgID}})
	out := s.call(200, "GET", "/admin/sim/phones/"+alice+"/messages?box=sent", adminToken, nil)
	if m := out["messages"].([]any); len(m) != 1 || m[0].(map[string]any)["status"] != "read" {
		t.Fatalf("Alice's sent box = %v", out)
	}

	// Restart keeps the login.
	s.call(200, "POST", "/partner/channels/"+idA+"/restart", ptok, nil)
	s.authAs(tokA, alice)

	// Logout from the API: the phone forgets the device, a second logout is
	// 409, and the channel links again by QR.
	s.call(200, "POST", "/users/logout", tokA, nil)
	s.health(tokA, "QR")
	s.call(409, "POST", "/users/logout", tokA, nil)
	if d := s.devices(alice); len(d) != 0 {
		t.Fatalf("Alice still lists %v after logout", d)
	}
	s.linkQR(tokA, alice)

	// Hard unlink of B: the local session is dropped without telling
	// WhatsApp (the phone still lists the device); B links again by code.
	s.call(200, "POST", "/partner/channels/"+idB+"/logout?force=true", ptok, nil)
	s.health(tokB, "QR")
	if d := s.devices(bob); !slices.Contains(d, idB) {
		t.Fatalf("hard unlink told the phone: Bob's devices = %v", d)
	}
	s.linkCode(tokB, bob)

	// Unlinked from the phone: the channel notices and waits for a QR.
	s.call(200, "POST", "/admin/sim/phones/"+alice+"/unlink", adminToken, nil)
	s.health(tokA, "QR")
	s.authAs(tokB, bob) // the other channel is untouched
	s.linkQR(tokA, alice)

	// Proxies: the pool gives A another healthy proxy each time; B's own
	// settings set one directly. Both reconnect and stay linked.
	up1, up2 := httptest.NewServer(http.NotFoundHandler()), httptest.NewServer(http.NotFoundHandler())
	defer up1.Close()
	defer up2.Close()
	hostport := func(u string) string { return strings.TrimPrefix(u, "http://") }
	s.call(200, "PUT", "/admin/proxies", adminToken, map[string]any{"proxies": []string{"socks5://" + hostport(up1.URL), "http://" + hostport(up2.URL)}})
	var prev string
	for range 3 {
		px := s.call(200, "POST", "/partner/channels/"+idA+"/proxy", ptok, nil)["channel"].(map[string]any)["proxy"].(map[string]any)
		addr := px["host"].(string) + ":" + fmtNum(px["port"])
		if addr == prev || (addr != hostport(up1.URL) && addr != hostport(up2.URL)) {
			t.Fatalf("proxy change gave %s (previous %s)", addr, prev)
		}
		prev = addr
		s.authAs(tokA, alice)
	}
	upd := s.call(200, "PATCH", "/settings", tokB, map[string]any{"proxy": "socks5://" + hostport(up2.URL)})
	if !strings.Contains(fmtJSON(upd["after_update"]), hostport(up2.URL)) {
		t.Fatalf("PATCH /settings proxy = %v", upd)
	}
	s.authAs(tokB, bob)
	if px := s.call(200, "GET", "/partner/channels/"+idB, ptok, nil)["proxy"]; px == nil || px.(map[string]any)["host"] == "" {
		t.Fatalf("B's proxy = %v", px)
	}

	// Channels talk through the gate API; what they store survives a restart.
	sentA := s.call(200, "POST", "/messages/text", tokA, map[string]any{"to": bob, "body": "from channel A"})
	textID := sentA["message"].(map[string]any)["id"].(string)
	deadlineB := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", s.base+"/messages/"+textID, nil)
		req.Header.Set("Authorization", "Bearer "+tokB)
		resp, err := s.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadlineB) {
			t.Fatal("channel B never stored channel A's message")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A server restart brings both channels back linked, without a scan.
	stop(srv)
	srv = boot()
	s.base = "http://" + srv.Addr()
	s.authAs(tokA, alice)
	s.authAs(tokB, bob)
	for _, tok := range []string{tokA, tokB} {
		if l := s.call(200, "GET", "/messages/list", tok, nil); !strings.Contains(fmtJSON(l), "from channel A") {
			t.Fatalf("messages lost in the restart: %v", l)
		}
	}
	if c := s.call(200, "GET", "/chats", tokB, nil); num(c["total"]) != 1 {
		t.Fatalf("B's chats after the restart = %v", c)
	}
	// The sim phones are kept in the database: they come back with their
	// names (their message lists start empty).
	if p := s.call(200, "GET", "/admin/sim/phones/"+alice, adminToken, nil); p["name"] != "Alice" {
		t.Fatalf("Alice's phone after the restart = %v", p)
	}

	// B gets paid days; A stays on its trial and runs out: the expiry loop
	// stops it (gate calls 402) while B keeps running. Extending A brings it
	// back to AUTH with the same account and no new link.
	s.call(200, "POST", "/partner/channels/"+idB+"/extend", ptok, map[string]any{"days": 20, "comment": "paid"})
	till := int64(num(s.call(200, "GET", "/partner/channels/"+idA, ptok, nil)["activeTill"]))
	clk.Set(time.UnixMilli(till).Add(time.Minute))
	s.health(tokA, "STOP")
	s.call(402, "GET", "/users/profile", tokA, nil)
	if got := s.call(200, "GET", "/partner/channels/"+idA, ptok, nil); got["status"] != "expired" {
		t.Fatalf("A after its end = %v", got["status"])
	}
	s.authAs(tokB, bob)
	s.call(200, "POST", "/partner/channels/"+idA+"/extend", ptok, map[string]any{"days": 2, "comment": "renewal"})
	s.authAs(tokA, alice)
	if prof := s.call(200, "GET", "/users/profile", tokA, nil); prof["name"] != "Alice" {
		t.Fatalf("profile after renewal = %v", prof)
	}
}
