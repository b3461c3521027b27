package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/store/storetest"
)

// WhatsApp's failure modes, played by the simulated network through the
// operator's sim API, against the real server: for each, the state GET
// /health shows, whether the WhatsApp link is kept, which webhooks go out,
// and how many connection attempts a window sees. (The whatsmeow engine
// goes through the same modes against the fake WhatsApp server in
// whatsmeow_e2e_test.go.)

// failureOptions are short retry schedules, so that a window of a second
// shows several attempts.
func failureOptions() app.Options {
	return app.Options{
		Reconnect:      runtime.Backoff{Min: 40 * time.Millisecond, Max: 320 * time.Millisecond},
		Outdated:       runtime.Backoff{Min: 200 * time.Millisecond, Max: 400 * time.Millisecond},
		Ban:            runtime.Backoff{Min: 5 * time.Second, Max: 10 * time.Second},
		KeepAliveGrace: 300 * time.Millisecond,
	}
}

// failureChannel is a linked channel with webhooks on itself and its
// partner.
type failureChannel struct {
	s             *liveServer
	id, tok, ptok string
	phone         string
	hooks, phooks *receiver
}

func newFailureChannel(t *testing.T, s *liveServer, name, phone string) *failureChannel {
	t.Helper()
	c := &failureChannel{s: s, phone: phone, hooks: newReceiver(t), phooks: newReceiver(t)}
	p := s.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": name, "email": name + "@example.test", "days": 30})
	c.ptok = p["token"].(string)
	s.call(200, "PATCH", "/partner/partners/"+name+"/settings", c.ptok, map[string]any{
		"webhooks": []any{map[string]any{"url": c.phooks.srv.URL + "/p", "events": subscribe("channel.post")}}})
	ch := s.call(200, "PUT", "/partner/channels", c.ptok, map[string]any{"name": name})
	c.id, c.tok = ch["id"].(string), ch["token"].(string)
	s.call(200, "PATCH", "/settings", c.tok, map[string]any{"webhooks": []any{map[string]any{"url": c.hooks.srv.URL + "/c",
		"events": subscribe("channel.post", "users.post", "users.delete", "messages.post", "messages.patch")}}})
	s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": phone, "name": name})
	s.linkQR(c.tok, phone)
	return c
}

// state waits until GET /health shows state name and returns the health.
func (c *failureChannel) state(name string) map[string]any {
	c.s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h := c.s.call(200, "GET", "/health?wakeup=false", c.tok, nil)
		st := h["state"].(map[string]any)
		if st["name"] == name {
			return h
		}
		if time.Now().After(deadline) {
			c.s.t.Fatalf("state stayed %v, want %s", st, name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *failureChannel) fault(kind string, args map[string]any) {
	c.s.t.Helper()
	body := map[string]any{"kind": kind}
	for k, v := range args {
		body[k] = v
	}
	c.s.call(200, "POST", "/admin/sim/channels/"+c.id+"/faults", adminToken, body)
}

func (c *failureChannel) connects() int {
	c.s.t.Helper()
	return int(c.s.call(200, "GET", "/admin/sim/channels/"+c.id, adminToken, nil)["connects"].(float64))
}

// linked says whether the partner API shows the channel linked.
func (c *failureChannel) linked() bool {
	c.s.t.Helper()
	return c.s.call(200, "GET", "/partner/channels/"+c.id, c.ptok, nil)["linked"] == true
}

// unlinkedEvents counts users.delete webhooks and partner "unlinked" ones.
func (c *failureChannel) unlinkedEvents() (users, partner int) {
	for _, e := range c.hooks.events() {
		if e == "users.delete" {
			users++
		}
	}
	c.phooks.mu.Lock()
	defer c.phooks.mu.Unlock()
	for _, call := range c.phooks.calls {
		if call.Body["change"] == "unlinked" {
			partner++
		}
	}
	return users, partner
}

// sawState waits for a channel.post webhook whose health shows state name.
func (c *failureChannel) sawState(t *testing.T, name string) {
	t.Helper()
	c.hooks.wait(t, "channel.post", func(h hookCall) bool {
		health, _ := h.Body["health"].(map[string]any)
		st, _ := health["state"].(map[string]any)
		return st["name"] == name
	})
}

func TestFailureModesSim(t *testing.T) {
	s := startHooked(t, testConfig(t, storetest.Backends(t)[0]), failureOptions())
	cases := []struct {
		name, fault string
		args        map[string]any
		state       string
		status      string
		code        float64
		// attempts bounds the connection attempts in the second after the
		// fault (min, max).
		attempts [2]int
		// recover: the fault to clear it ("" none), whether a restart is
		// needed, then online again.
		clear, restart bool
	}{
		{name: "disconnect", fault: "disconnect", state: "reconnecting", status: "LAUNCH", attempts: [2]int{1, 1}},
		{name: "stream error", fault: "stream_error", args: map[string]any{"code": 503}, state: "reconnecting", status: "LAUNCH", code: 503, attempts: [2]int{1, 1}},
		{name: "keepalive lost", fault: "keepalive_lost", state: "keepalive_lost", status: "LAUNCH", attempts: [2]int{1, 1}},
		{name: "replaced", fault: "replaced", state: "replaced", status: "ERROR", attempts: [2]int{0, 0}, restart: true},
		{name: "ban with an end", fault: "ban", args: map[string]any{"seconds": 1, "code": 101}, state: "banned", status: "ERROR", code: 101, attempts: [2]int{0, 1}},
		{name: "ban without an end", fault: "ban", args: map[string]any{"code": 102}, state: "banned", status: "ERROR", code: 102, attempts: [2]int{0, 0}, clear: true, restart: true},
		// 200, 400, 400... ms (±20%): 2 to 6 attempts in a second.
		{name: "client outdated", fault: "client_outdated", state: "client_outdated", status: "ERROR", code: 405, attempts: [2]int{2, 6}, clear: true},
		// 40, 80, 160, 320, 320... ms: 4 to 9.
		{name: "connections refused", fault: "refuse_connections", state: "reconnecting", status: "LAUNCH", attempts: [2]int{3, 9}, clear: true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			c := newFailureChannel(t, s, fmt.Sprintf("fail%d", i), fmt.Sprintf("1555200%04d", i))
			before := c.connects()
			c.fault(tc.fault, tc.args)
			h := c.state(tc.state)
			st := h["state"].(map[string]any)
			c.sawState(t, tc.state)
			if h["status"].(map[string]any)["text"] != tc.status {
				t.Errorf("status %v, want %s", h["status"], tc.status)
			}
			if tc.code != 0 && st["code"] != tc.code {
				t.Errorf("state %v, want code %v", st, tc.code)
			}
			if st["reason"] == "" || st["reason"] == nil {
				t.Errorf("state %v says no reason", st)
			}
			time.Sleep(time.Second)
			if n := c.connects() - before; n < tc.attempts[0] || n > tc.attempts[1] {
				t.Errorf("%d connection attempts in the second after the fault, want %d to %d", n, tc.attempts[0], tc.attempts[1])
			}
			if !c.linked() {
				t.Error("the link was cleared")
			}
			if u, p := c.unlinkedEvents(); u != 0 || p != 0 {
				t.Errorf("%d users.delete and %d partner unlinked webhooks for a transient failure", u, p)
			}
			if tc.clear {
				c.fault("clear", nil)
			}
			if tc.restart {
				s.call(200, "POST", "/partner/channels/"+c.id+"/restart", c.ptok, nil)
			}
			c.state("online")
		})
	}
	s.t = t

	t.Run("logged out", func(t *testing.T) {
		s.t = t
		c := newFailureChannel(t, s, "failout", "15552009999")
		c.fault("logout", nil)
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
	s.t = t
}

// Messages WhatsApp delivers twice, or not readable at first: each is
// stored and reported once (the undecryptable one as a placeholder, then
// completed).
func TestDeliveryFaultsSim(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { testDeliveryFaultsSim(t, b) })
	}
}

func testDeliveryFaultsSim(t *testing.T, b storetest.Backend) {
	s := startHooked(t, testConfig(t, b), failureOptions())
	c := newFailureChannel(t, s, "deliv", "15552100001")
	const bob = "15552100002"
	s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": bob, "name": "Bob"})
	send := func(body string) string {
		t.Helper()
		m := s.call(201, "POST", "/admin/sim/phones/"+bob+"/messages", adminToken, map[string]any{"to": c.phone, "body": body})
		return m["message"].(map[string]any)["id"].(string)
	}
	posts := func(id string) int {
		c.hooks.mu.Lock()
		defer c.hooks.mu.Unlock()
		n := 0
		for _, call := range c.hooks.calls {
			if call.Event == "messages.post" && strings.Contains(string(call.Raw), id) {
				n++
			}
		}
		return n
	}

	c.fault("drop_before_ack", nil)
	dropped := send("dropped before the ack")
	c.fault("duplicate", nil)
	twice := send("sent twice")
	c.fault("undecryptable", map[string]any{"from": bob, "seconds": 1})
	secret := send("secret")
	c.hooks.wait(t, "messages.patch", func(h hookCall) bool { return strings.Contains(string(h.Raw), "secret") })
	c.state("online")

	list := s.call(200, "GET", "/messages/list?count=100", c.tok, nil)
	byID := map[string]map[string]any{}
	for _, m := range list["messages"].([]any) {
		m := m.(map[string]any)
		if _, ok := byID[m["id"].(string)]; ok {
			t.Errorf("message %s listed twice", m["id"])
		}
		byID[m["id"].(string)] = m
	}
	for _, id := range []string{dropped, twice, secret} {
		if byID[id] == nil {
			t.Errorf("message %s not stored", id)
		}
		if n := posts(id); n != 1 {
			t.Errorf("message %s: %d messages.post webhooks, want 1", id, n)
		}
	}
	if m := byID[secret]; m["type"] != "text" || m["subtype"] != nil {
		t.Errorf("the undecryptable message once decrypted: %v", m)
	}
	c.hooks.wait(t, "messages.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), `"subtype":"ciphertext"`) })
	conn := s.call(200, "GET", "/partner/channels/"+c.id, c.ptok, nil)["connection"].(map[string]any)
	if n := conn["counters"].(map[string]any)["undecryptable"].(map[string]any)["count"]; n != float64(1) {
		t.Errorf("undecryptable counter %v", conn["counters"])
	}
	if st := s.call(200, "GET", "/admin/sim/channels/"+c.id, adminToken, nil); st["redelivered"].(float64) < 2 {
		t.Errorf("sim stats %v", st)
	}

	// A retry receipt after a restart of the channel (nothing in memory):
	// answered from the database.
	sent := s.call(200, "POST", "/messages/text", c.tok, map[string]any{"to": bob, "body": "please retry"})
	id := sent["message"].(map[string]any)["id"].(string)
	connects := func() int {
		return int(s.call(200, "GET", "/admin/sim/channels/"+c.id, adminToken, nil)["connects"].(float64))
	}
	before := connects()
	s.call(200, "POST", "/partner/channels/"+c.id+"/restart", c.ptok, nil)
	// The restart is applied after the answer: wait for its connection.
	for deadline := time.Now().Add(10 * time.Second); connects() == before; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the restart made no new connection")
		}
	}
	c.state("online")
	r := s.call(200, "POST", "/admin/sim/channels/"+c.id+"/faults", adminToken, map[string]any{"kind": "retry_receipt", "id": id})
	if r["answered"] != true {
		t.Errorf("retry receipt for %s: %v", id, r)
	}

	// 463: refused sends to new contacts answer 403 and are counted.
	s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": "15552100999", "name": "Cold"})
	c.fault("reachout_limited", nil)
	s.call(403, "POST", "/messages/text", c.tok, map[string]any{"to": "15552100999", "body": "cold"})
	s.call(200, "POST", "/messages/text", c.tok, map[string]any{"to": bob, "body": "warm"})
	conn = s.call(200, "GET", "/partner/channels/"+c.id, c.ptok, nil)["connection"].(map[string]any)
	if rr := conn["counters"].(map[string]any)["reachoutRefused"].(map[string]any); rr["count"] != float64(1) || !strings.Contains(rr["last"].(string), "15552100999") {
		t.Errorf("reach-out counter %v", rr)
	}
}
