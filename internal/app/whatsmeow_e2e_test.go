package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/engine/whatsmeow"
	"github.com/wagate/wagate/internal/fakewa"
	"github.com/wagate/wagate/internal/store/storetest"
)

// The real server on the whatsmeow engine against the fake WhatsApp server
// (internal/fakewa): the same failure modes as the sim engine's
// (failures_e2e_test.go), played by a WhatsApp the real whatsmeow client
// cannot tell from the real one, with end-to-end encrypted messages.

// waServer is a wagate server on the whatsmeow engine, pointed at fw.
type waServer struct {
	*liveServer
	srv  *app.Server
	fw   *fakewa.Server
	cfg  config.Config
	opts app.Options
}

func waConfig(t *testing.T, b storetest.Backend) config.Config {
	cfg := testConfig(t, b)
	cfg.Engine = config.EngineWhatsmeow
	cfg.WebhookAllowPrivate = true
	return cfg
}

func waOptions(fw *fakewa.Server) app.Options {
	o := failureOptions()
	// Pings every 100 to 150 ms (TestMain): a second is several of them.
	o.KeepAliveGrace = time.Second
	o.BcryptCost = 4
	o.OutdatedSpread = -1
	// A connection that shows no sign of life in 5 s is made anew (whatsmeow's
	// socket race #1085 can swallow the close of a connection dropped right
	// after its handshake).
	o.Whatsmeow = whatsmeow.Options{ClientHook: fw.Configure, HTTPClient: fw.HTTPClient(), VersionRefresh: -1,
		LoginTimeout: 5 * time.Second}
	return o
}

func startWA(t *testing.T, fw *fakewa.Server, cfg config.Config, o app.Options) *waServer {
	t.Helper()
	w := &waServer{fw: fw, cfg: cfg, opts: o}
	w.boot(t)
	return w
}

// boot starts (or starts again) the server on the same data.
func (w *waServer) boot(t *testing.T) {
	t.Helper()
	srv, err := app.New(context.Background(), w.cfg, slog.New(slog.DiscardHandler), w.opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.srv = srv
	t.Cleanup(func() { w.stop() })
	v := openapitest.New(t)
	w.liveServer = &liveServer{t: t, base: "http://" + srv.Addr(),
		client: &http.Client{Transport: v.Transport(t, http.DefaultTransport), Timeout: 15 * time.Second}}
}

func (w *waServer) stop() {
	if w.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = w.srv.Shutdown(ctx)
	w.srv = nil
}

// waChannel is a channel linked to a fake WhatsApp account, with webhooks
// on itself and its partner.
type waChannel struct {
	*failureChannel
	srv  *fakewa.Server
	acct *fakewa.Account
	dev  *fakewa.Device
}

func (w *waServer) newChannel(t *testing.T, name, phone string) *waChannel {
	t.Helper()
	s := w.liveServer
	c := &waChannel{srv: w.fw, failureChannel: &failureChannel{s: s, phone: phone, hooks: newReceiver(t), phooks: newReceiver(t)}}
	p := s.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": name, "email": name + "@example.test", "days": 30})
	c.ptok = p["token"].(string)
	s.call(200, "PATCH", "/partner/partners/"+name+"/settings", c.ptok, map[string]any{
		"webhooks": []any{map[string]any{"url": c.phooks.srv.URL + "/p", "events": subscribe("channel.post")}}})
	ch := s.call(200, "PUT", "/partner/channels", c.ptok, map[string]any{"name": name})
	c.id, c.tok = ch["id"].(string), ch["token"].(string)
	s.call(200, "PATCH", "/settings", c.tok, map[string]any{"webhooks": []any{map[string]any{"url": c.hooks.srv.URL + "/c",
		"events": subscribe("channel.post", "users.post", "users.delete", "messages.post", "messages.patch")}}})
	c.acct = w.fw.Account(phone)
	c.link(t)
	return c
}

// link scans the channel's QR code with the account's phone.
func (c *waChannel) link(t *testing.T) {
	t.Helper()
	qr := c.s.call(200, "GET", "/users/login/rowdata", c.tok, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	d, err := c.acct.ScanQR(ctx, qr["rowdata"].(string))
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	c.dev = d
	c.state("online")
}

// attempts counts the device's connection attempts since t0, those the
// server refused before knowing the device included (the other channels
// of the test are idle then).
func (c *waChannel) attempts(t0 time.Time) int {
	n := 0
	for _, a := range c.srv.Attempts() {
		if !a.Time.Before(t0) && (a.Device.User == c.dev.JID().User || a.Result == "refused") {
			n++
		}
	}
	return n
}

func TestFailureModesWhatsmeow(t *testing.T) {
	fw := fakewa.New(t, fakewa.Options{})
	w := startWA(t, fw, waConfig(t, storetest.Backends(t)[0]), waOptions(fw))

	type tc struct {
		name   string
		play   func(c *waChannel)
		state  string
		status string
		code   float64
		// attempts bounds the connection attempts in the second after the
		// fault (min, max).
		attempts [2]int
		recover  func(c *waChannel)
	}
	cases := []tc{
		{name: "dropped", play: func(c *waChannel) { c.dev.Inject(fakewa.Drop()) },
			state: "reconnecting", status: "LAUNCH", attempts: [2]int{1, 1}},
		// whatsmeow reports stream errors but 503 (a plain disconnect for it)
		// and the ones it handles itself.
		{name: "stream error", play: func(c *waChannel) { c.dev.Inject(fakewa.StreamError("500")) },
			state: "reconnecting", status: "LAUNCH", code: 500, attempts: [2]int{1, 1}},
		{name: "stream error 503", play: func(c *waChannel) { c.dev.Inject(fakewa.StreamError("503")) },
			state: "reconnecting", status: "LAUNCH", attempts: [2]int{1, 1}},
		{name: "replaced", play: func(c *waChannel) { c.dev.Inject(fakewa.Replaced()) },
			state: "replaced", status: "ERROR", attempts: [2]int{0, 0},
			recover: func(c *waChannel) { c.s.call(200, "POST", "/partner/channels/"+c.id+"/restart", c.ptok, nil) }},
		{name: "ban with an end", play: func(c *waChannel) { c.dev.Inject(fakewa.TemporaryBan(101, time.Second)) },
			state: "banned", status: "ERROR", code: 101, attempts: [2]int{0, 1}},
		{name: "ban without an end", play: func(c *waChannel) { c.dev.Inject(fakewa.TemporaryBan(102, 0)) },
			state: "banned", status: "ERROR", code: 102, attempts: [2]int{0, 0},
			recover: func(c *waChannel) { c.s.call(200, "POST", "/partner/channels/"+c.id+"/restart", c.ptok, nil) }},
		// WhatsApp answers the websocket upgrade with 503: attempts 40, 80,
		// 160, 320 ms... apart (±20%).
		{name: "connections refused", play: func(c *waChannel) {
			c.srv.Refuse(true)
			c.dev.Inject(fakewa.Drop())
		}, state: "reconnecting", status: "LAUNCH", attempts: [2]int{3, 9},
			recover: func(c *waChannel) { c.srv.Refuse(false) }},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w.liveServer.t = t
			c := w.newChannel(t, fmt.Sprintf("wafail%d", i), fmt.Sprintf("1555300%04d", i))
			t0 := time.Now()
			tc.play(c)
			h := c.state(tc.state)
			st := h["state"].(map[string]any)
			c.sawState(t, tc.state)
			if h["status"].(map[string]any)["text"] != tc.status {
				t.Errorf("status %v, want %s", h["status"], tc.status)
			}
			if tc.code != 0 && st["code"] != tc.code {
				t.Errorf("state %v, want code %v", st, tc.code)
			}
			time.Sleep(time.Second)
			if n := c.attempts(t0); n < tc.attempts[0] || n > tc.attempts[1] {
				t.Errorf("%d connection attempts in the second after the fault, want %d to %d", n, tc.attempts[0], tc.attempts[1])
			}
			if !c.linked() || !c.dev.Linked() {
				t.Error("the link was cleared")
			}
			if u, p := c.unlinkedEvents(); u != 0 || p != 0 {
				t.Errorf("%d users.delete and %d partner unlinked webhooks for a transient failure", u, p)
			}
			if tc.recover != nil {
				tc.recover(c)
			}
			c.state("online")
		})
	}

	t.Run("keepalive lost", func(t *testing.T) {
		w.liveServer.t = t
		c := w.newChannel(t, "waping", "15553009001")
		t0 := time.Now()
		c.dev.MutePings(true)
		c.state("keepalive_lost")
		c.dev.MutePings(false)
		c.state("online")
		if n := c.attempts(t0); n != 0 {
			t.Errorf("%d connection attempts for pings that came back", n)
		}
		// Silent for longer than the grace (1 s): a new connection.
		c.dev.MutePings(true)
		c.state("keepalive_lost")
		c.state("reconnecting")
		c.dev.MutePings(false)
		c.state("online")
		if !c.linked() {
			t.Error("the link was cleared")
		}
	})

	t.Run("client outdated", func(t *testing.T) {
		w.liveServer.t = t
		c := w.newChannel(t, "waold", "15553009002")
		cur := store.GetWAVersion()
		next := store.WAVersionContainer{cur[0], cur[1], cur[2] + 1}
		c.dev.RequireVersion(next)
		t0 := time.Now()
		c.dev.Inject(fakewa.Drop())
		h := c.state("client_outdated")
		if st := h["state"].(map[string]any); st["code"] != float64(405) || !strings.Contains(st["reason"].(string), cur.String()) {
			t.Errorf("state %v", st)
		}
		time.Sleep(time.Second)
		// 200, 400, 400 ms (±20%), the drop's reconnect included.
		if n := c.attempts(t0); n < 2 || n > 7 {
			t.Errorf("%d connection attempts in a second of refusals, want 2 to 7", n)
		}
		if !c.linked() {
			t.Error("the link was cleared")
		}
		if u, p := c.unlinkedEvents(); u != 0 || p != 0 {
			t.Errorf("%d users.delete and %d partner unlinked webhooks", u, p)
		}
		// WhatsApp's page announces the newer version; the operator asks.
		fw.SetLatestVersion(next[2])
		v := c.s.call(200, "POST", "/admin/engine/client-version", adminToken, nil)
		if v["version"] != next.String() || v["source"] != "whatsapp" {
			t.Errorf("client version %v, want %s from whatsapp", v, next)
		}
		c.state("online")
		e := c.s.call(200, "GET", "/admin/engine", adminToken, nil)
		if cv := e["client_version"].(map[string]any); cv["version"] != next.String() {
			t.Errorf("engine %v", e)
		}
	})

	t.Run("logged out", func(t *testing.T) {
		w.liveServer.t = t
		c := w.newChannel(t, "waout", "15553009004")
		c.dev.Inject(fakewa.LoggedOut())
		c.hooks.wait(t, "users.delete", nil)
		c.sawState(t, "logged_out")
		c.state("login")
		if c.linked() {
			t.Error("a logged-out channel still shows linked")
		}
		if u, p := c.unlinkedEvents(); u != 1 || p != 1 {
			t.Errorf("%d users.delete and %d partner unlinked webhooks, want 1 and 1", u, p)
		}
	})

	t.Run("463", func(t *testing.T) {
		w.liveServer.t = t
		c := w.newChannel(t, "wa463", "15553009005")
		c.dev.RejectSends(463)
		w.call(403, "POST", "/messages/text", c.tok, map[string]any{"to": "15553009999", "body": "cold"})
		conn := w.call(200, "GET", "/partner/channels/"+c.id, c.ptok, nil)["connection"].(map[string]any)
		if rr := conn["counters"].(map[string]any)["reachoutRefused"].(map[string]any); rr["count"] != float64(1) {
			t.Errorf("reach-out counter %v", rr)
		}
		c.dev.RejectSends(0)
		w.call(200, "POST", "/messages/text", c.tok, map[string]any{"to": "15553009999", "body": "later"})
	})
	w.liveServer.t = t
}

// Messages through real end-to-end encryption that WhatsApp delivers twice,
// drops before their acknowledgement or that cannot be decrypted at first:
// each is stored and reported once. A retry receipt for a message sent
// before a server restart is answered from the database.
func TestDeliveryFaultsWhatsmeow(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { testDeliveryFaultsWhatsmeow(t, b) })
	}
}

func testDeliveryFaultsWhatsmeow(t *testing.T, b storetest.Backend) {
	fw := fakewa.New(t, fakewa.Options{})
	w := startWA(t, fw, waConfig(t, b), waOptions(fw))
	c := w.newChannel(t, "wadeliv", "15553100001")
	peer, err := fw.AddPeer(fakewa.PeerOptions{Phone: "15553100002", PushName: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	send := func(text string, o fakewa.SendOptions) string {
		t.Helper()
		sent, err := peer.SendWith(c.acct, &waE2E.Message{Conversation: proto.String(text)}, o)
		if err != nil {
			t.Fatal(err)
		}
		return sent.ID
	}
	posts := func(id string) int {
		c.hooks.mu.Lock()
		defer c.hooks.mu.Unlock()
		ids := map[string]bool{}
		for _, call := range c.hooks.calls {
			if call.Event == "messages.post" && strings.Contains(string(call.Raw), id) {
				ids[call.Delivery] = true
			}
		}
		return len(ids)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	plain := send("hello", fakewa.SendOptions{})
	twice := send("twice", fakewa.SendOptions{Twice: true})
	dropped := send("dropped", fakewa.SendOptions{DropAfterDelivery: true})
	c.state("online") // back after the drop
	secret := send("secret", fakewa.SendOptions{Undecryptable: true})
	for _, id := range []string{plain, twice, dropped, secret} {
		if _, err := c.dev.WaitAcked(ctx, id); err != nil {
			t.Fatalf("%s not acknowledged: %v", id, err)
		}
	}
	c.hooks.wait(t, "messages.patch", func(h hookCall) bool { return strings.Contains(string(h.Raw), "secret") })
	list := w.call(200, "GET", "/messages/list?count=100", c.tok, nil)
	byID := map[string]map[string]any{}
	for _, m := range list["messages"].([]any) {
		m := m.(map[string]any)
		if _, ok := byID[m["id"].(string)]; ok {
			t.Errorf("message %s listed twice", m["id"])
		}
		byID[m["id"].(string)] = m
	}
	for id, text := range map[string]string{plain: "hello", twice: "twice", dropped: "dropped", secret: "secret"} {
		m := byID[id]
		if m == nil || m["text"].(map[string]any)["body"] != text {
			t.Errorf("message %s: %v, want text %q", id, m, text)
		}
		c.hooks.wait(t, "messages.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), id) })
		if n := posts(id); n != 1 {
			t.Errorf("message %s: %d messages.post deliveries, want 1", id, n)
		}
	}
	if d, _ := c.dev.Delivery(dropped); d.Deliveries < 2 {
		t.Errorf("the dropped message was delivered %d times", d.Deliveries)
	}

	// A message the channel sent, asked for again after a server restart.
	out := w.call(200, "POST", "/messages/text", c.tok, map[string]any{"to": "15553100002", "body": "did you get it?"})
	id := out["message"].(map[string]any)["id"].(string)
	if _, err := peer.Wait(ctx, func(r fakewa.Received) bool { return r.ID == id && r.Err == nil }); err != nil {
		t.Fatalf("the peer did not get %s: %v", id, err)
	}
	w.stop()
	w.boot(t)
	c.s = w.liveServer
	c.state("online")
	if err := peer.RequestRetry(id, fakewa.RetryOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := peer.Wait(ctx, func(r fakewa.Received) bool { return r.ID == id && r.Retry > 0 })
	if err != nil || r.Err != nil || r.Message.GetConversation() != "did you get it?" {
		t.Fatalf("the resend after the restart: %+v, %v", r, err)
	}
}
