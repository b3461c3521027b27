package simapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/api/simapi"
	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/httpx"
)

const (
	alice = "15551230001"
	bob   = "15551230002"
	carol = "15551230003"
)

// env serves the sim routes through a plain ServeMux, every response
// checked against the OpenAPI document.
type env struct {
	t   *testing.T
	net *sim.Network
	clk *clock.Fake
	h   http.Handler
}

func newEnv(t *testing.T, v *openapitest.Validator) *env {
	clk := clock.NewFake(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	n := sim.New(sim.Options{Now: clk.Now, QRFirst: time.Hour, QRNext: time.Hour})
	t.Cleanup(func() { _ = n.Close() })
	mux := http.NewServeMux()
	log := slog.New(slog.DiscardHandler)
	simapi.Register(func(pattern string, limit int64, fn httpx.HandlerFunc) {
		mux.Handle(pattern, httpx.LimitBody(log, httpx.Limit(limit), httpx.Handle(log, fn)))
	}, n)
	return &env{t: t, net: n, clk: clk, h: v.Wrap(t, mux)}
}

// call sends body (nil: none; string or []byte: raw; else JSON) and wants
// status; it returns the JSON answer.
func (e *env) call(want int, method, path string, body any) map[string]any {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, httptest.NewRequest(method, path, rd))
	if rec.Code != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, rec.Code, want, rec.Body.Bytes())
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		e.t.Fatalf("%s %s: %v: %s", method, path, err, rec.Body.Bytes())
	}
	return out
}

// fail wants an error with status and every fragment in its message.
func (e *env) fail(want int, method, path string, body any, fragments ...string) {
	e.t.Helper()
	out := e.call(want, method, path, body)
	msg, _ := out["error"].(map[string]any)["message"].(string)
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			e.t.Errorf("%s %s: message %q does not say %q", method, path, msg, f)
		}
	}
}

// channel is a session of the network waiting to be linked.
type channel struct {
	s      engine.Session
	mu     sync.Mutex
	events []engine.Event
	qr     chan string
}

func (c *channel) fn(ev engine.Event) {
	c.mu.Lock()
	c.events = append(c.events, ev)
	c.mu.Unlock()
	if q, ok := ev.(engine.QR); ok {
		c.qr <- q.Code
	}
}

func (c *channel) waitFor(t *testing.T, match func(engine.Event) bool) engine.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, ev := range c.events {
			if match(ev) {
				c.mu.Unlock()
				return ev
			}
		}
		c.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no matching event in %v", c.events)
	return nil
}

// login opens a channel and starts its login flow; it returns the first QR.
func (e *env) login(id string) (*channel, string) {
	e.t.Helper()
	c := &channel{qr: make(chan string, 16)}
	s, err := e.net.Open(context.Background(), engine.SessionConfig{ChannelID: id, Events: c.fn,
		Ingest: func(_ context.Context, ev engine.Event) error { c.fn(ev); return nil }})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = s.Close() })
	c.s = s
	if err := s.Connect(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	select {
	case qr := <-c.qr:
		return c, qr
	case <-time.After(5 * time.Second):
		e.t.Fatal("no QR")
	}
	return nil, ""
}

func TestSimAPI(t *testing.T) {
	v := openapitest.New(t)
	e := newEnv(t, v)
	big := append([]byte(`{"phone":"`), bytes.Repeat([]byte("1"), httpx.MaxBodyBytes+10)...)
	phones := "/admin/sim/phones"

	// Phones.
	if got := e.call(200, "GET", phones, nil); len(got["phones"].([]any)) != 0 {
		t.Errorf("phones at start: %v", got)
	}
	p := e.call(201, "POST", phones, map[string]any{"phone": alice, "name": "Alice"})
	want := map[string]any{"phone": alice, "name": "Alice", "about": "", "jid": alice + "@s.whatsapp.net", "devices": []any{}}
	if !equalJSON(p, want) {
		t.Errorf("created %v, want %v", p, want)
	}
	e.call(201, "POST", phones, map[string]any{"phone": bob, "name": "Bob"})
	e.fail(409, "POST", phones, map[string]any{"phone": alice, "name": "Again"}, "phone", "already exists")
	e.fail(400, "POST", phones, `{"phone":`, "malformed JSON")
	e.fail(400, "POST", phones, nil, "body is required")
	e.fail(400, "POST", phones, map[string]any{"name": "X"}, "phone: required")
	e.fail(400, "POST", phones, map[string]any{"phone": "+15551230003", "name": "X"}, "phone: must be 7 to 15 digits")
	e.fail(400, "POST", phones, map[string]any{"phone": "123", "name": "X"}, "phone")
	e.fail(400, "POST", phones, map[string]any{"phone": 15551230003, "name": "X"}, "phone: must be a string")
	e.fail(400, "POST", phones, map[string]any{"phone": carol}, "name: required")
	e.fail(400, "POST", phones, map[string]any{"phone": carol, "name": " "}, "name: required")
	e.fail(400, "POST", phones, map[string]any{"phone": carol, "name": strings.Repeat("x", 26)}, "name: must be at most 25")
	e.fail(400, "POST", phones, map[string]any{"phone": carol, "name": "a\nb"}, "name: must not contain control")
	e.fail(413, "POST", phones, big)
	if got := e.call(200, "GET", phones, nil)["phones"].([]any); len(got) != 2 ||
		got[0].(map[string]any)["phone"] != alice || got[1].(map[string]any)["phone"] != bob {
		t.Errorf("phones: %v", got)
	}
	e.call(200, "GET", phones+"/"+alice, nil)
	e.fail(404, "GET", phones+"/"+carol, nil, "no sim phone with number "+carol)
	e.fail(404, "GET", phones+"/abc", nil, `"abc"`)

	// Link by QR.
	c1, qr := e.login("SHAZAM-3HDYQ")
	link := phones + "/" + alice + "/link"
	e.fail(400, "POST", link, map[string]any{}, "qr or code")
	e.fail(400, "POST", link, map[string]any{"qr": qr, "code": "ABCD1234"}, "only one")
	e.fail(400, "POST", link, map[string]any{"qr": 5}, "qr: must be a string")
	e.fail(400, "POST", link, map[string]any{"qr": "2@nope,a,b,c"}, "qr: unknown QR code", "GET /users/login")
	e.fail(404, "POST", phones+"/"+carol+"/link", map[string]any{"qr": qr}, "no sim phone")
	e.fail(404, "POST", phones+"/x/link", map[string]any{"qr": qr}, "no sim phone")
	e.fail(413, "POST", link, big)
	if err := e.net.RotateQR("SHAZAM-3HDYQ"); err != nil {
		t.Fatal(err)
	}
	qr2 := <-c1.qr
	e.fail(410, "POST", link, map[string]any{"qr": qr}, "qr: QR code expired", "rotated out")
	e.clk.Advance(2 * time.Hour) // past the code's expiry on the clock
	e.fail(410, "POST", link, map[string]any{"qr": qr2}, "qr: QR code expired", "valid until")
	e.clk.Advance(-2 * time.Hour)
	got := e.call(200, "POST", link, map[string]any{"qr": qr2})
	if !equalJSON(got, map[string]any{"success": true, "channel_id": "SHAZAM-3HDYQ"}) {
		t.Errorf("link: %v", got)
	}
	linked := c1.waitFor(t, func(ev engine.Event) bool { _, ok := ev.(engine.Linked); return ok }).(engine.Linked)
	if linked.Account.Phone != alice {
		t.Errorf("linked %+v", linked)
	}
	e.fail(410, "POST", link, map[string]any{"qr": qr2}, "already used")
	devs := e.call(200, "GET", phones+"/"+alice, nil)["devices"].([]any)
	if len(devs) != 1 || devs[0].(map[string]any)["channel_id"] != "SHAZAM-3HDYQ" || devs[0].(map[string]any)["connected"] != true {
		t.Errorf("devices: %v", devs)
	}

	// Link by pairing code.
	c2, _ := e.login("BOBCHN-00001")
	code, err := c2.s.PairPhone(context.Background(), bob)
	if err != nil {
		t.Fatal(err)
	}
	e.fail(400, "POST", link, map[string]any{"code": code}, "code: pairing code was requested for another phone number")
	e.fail(400, "POST", phones+"/"+bob+"/link", map[string]any{"code": "ZZZZ9999"}, "code: wrong pairing code")
	e.call(200, "POST", phones+"/"+bob+"/link", map[string]any{"code": strings.ToLower(code[:4] + "-" + code[4:])})
	e.fail(410, "POST", phones+"/"+bob+"/link", map[string]any{"code": code}, "code: pairing code expired", "already used")

	// Messages from a phone to a linked channel and back.
	msgs := phones + "/" + bob + "/messages"
	m := e.call(201, "POST", msgs, map[string]any{"to": alice, "body": "hello from bob"})["message"].(map[string]any)
	if m["from"] != bob || m["to"] != alice || m["status"] != "delivered" || m["body"] != "hello from bob" {
		t.Errorf("sent %v", m)
	}
	if m["time"] != float64(e.clk.Now().UnixMilli()) {
		t.Errorf("time %v", m["time"])
	}
	c1.waitFor(t, func(ev engine.Event) bool { x, ok := ev.(engine.Message); return ok && x.ID == m["id"] })
	e.fail(400, "POST", msgs, map[string]any{"body": "x"}, "to: required")
	e.fail(400, "POST", msgs, map[string]any{"to": "+" + alice, "body": "x"}, "to: must be 7 to 15 digits")
	e.fail(400, "POST", msgs, map[string]any{"to": alice}, "body: required")
	e.fail(400, "POST", msgs, map[string]any{"to": alice, "body": " \n "}, "body: required")
	e.fail(400, "POST", msgs, map[string]any{"to": alice, "body": strings.Repeat("é", 4097)}, "body: must be at most 4096")
	e.fail(400, "POST", msgs, map[string]any{"to": bob, "body": "me"}, "to: cannot send a message to the own number")
	e.fail(404, "POST", msgs, map[string]any{"to": carol, "body": "x"}, "to: number is not on WhatsApp: "+carol)
	e.fail(404, "POST", phones+"/"+carol+"/messages", map[string]any{"to": alice, "body": "x"}, "no sim phone")
	e.fail(400, "POST", msgs, `[1]`, "JSON object")
	e.call(201, "POST", msgs, map[string]any{"to": alice, "body": strings.Repeat("é", 4096)})

	sent, err := c1.s.SendText(context.Background(), bob, "hi bob")
	if err != nil {
		t.Fatal(err)
	}
	inbox := e.call(200, "GET", msgs, nil)["messages"].([]any)
	if len(inbox) != 1 || inbox[0].(map[string]any)["id"] != sent.ID || inbox[0].(map[string]any)["status"] != "delivered" {
		t.Fatalf("bob's inbox: %v", inbox)
	}
	if out := e.call(200, "GET", msgs+"?box=sent", nil)["messages"].([]any); len(out) != 2 {
		t.Errorf("bob's sent box: %v", out)
	}
	if in := e.call(200, "GET", phones+"/"+alice+"/messages?box=inbox", nil)["messages"].([]any); len(in) != 2 {
		t.Errorf("alice's inbox: %v", in)
	}
	e.fail(400, "GET", msgs+"?box=spam", nil, "box: must be inbox or sent")
	e.fail(404, "GET", phones+"/"+carol+"/messages", nil, "no sim phone")

	// Read receipts.
	read := phones + "/" + bob + "/read"
	e.fail(400, "POST", read, map[string]any{}, "ids: required")
	e.fail(400, "POST", read, map[string]any{"ids": []string{}}, "ids: required")
	e.fail(400, "POST", read, map[string]any{"ids": []string{sent.ID, ""}}, "ids[1]: must not be empty")
	e.fail(400, "POST", read, map[string]any{"ids": "x"}, "ids: must be an array")
	e.fail(400, "POST", read, map[string]any{"ids": slices.Repeat([]string{"x"}, 1001)}, "ids: at most 1000")
	e.fail(404, "POST", read, map[string]any{"ids": []string{sent.ID, "NOPE"}}, "ids: message not found: NOPE")
	e.fail(404, "POST", phones+"/"+carol+"/read", map[string]any{"ids": []string{"x"}}, "no sim phone")
	e.fail(413, "POST", read, big)
	if st := e.call(200, "GET", msgs, nil)["messages"].([]any)[0].(map[string]any)["status"]; st != "delivered" {
		t.Errorf("a failed read changed the status to %v", st)
	}
	if got := e.call(200, "POST", read, map[string]any{"ids": []string{sent.ID}}); !equalJSON(got, map[string]any{"success": true}) {
		t.Errorf("read: %v", got)
	}
	c1.waitFor(t, func(ev engine.Event) bool {
		r, ok := ev.(engine.Receipt)
		return ok && r.Type == engine.ReceiptRead && slices.Equal(r.IDs, []string{sent.ID})
	})
	if st := e.call(200, "GET", msgs, nil)["messages"].([]any)[0].(map[string]any)["status"]; st != "read" {
		t.Errorf("status after read: %v", st)
	}

	testActions(t, e, c1, big)
	testCallsVotesMedia(t, e, c1) // calls_test.go
	testAppStatePhone(t, e, c1)   // appstate_test.go

	// WhatsApp's failure modes: a stream error drops the connection.
	faults := "/admin/sim/channels/SHAZAM-3HDYQ"
	if got := e.call(200, "POST", faults+"/faults", map[string]any{"kind": "stream_error", "code": 503}); got["connected"] != true {
		t.Errorf("fault: %v", got)
	}
	c1.waitFor(t, func(ev engine.Event) bool { se, ok := ev.(engine.StreamError); return ok && se.Code == "503" })
	c1.waitFor(t, func(ev engine.Event) bool { _, ok := ev.(engine.Disconnected); return ok })
	e.fail(400, "POST", faults+"/faults", map[string]any{"kind": "meltdown"}, "kind")
	e.fail(409, "POST", "/admin/sim/channels/NOSESS-00000/faults", map[string]any{"kind": "disconnect"}, "no session")
	if st := e.call(200, "GET", faults, nil); st["connects"] != float64(1) {
		t.Errorf("sim channel: %v", st)
	}
	// One open session for the channel, disconnected and linked.
	ss := e.call(200, "GET", "/admin/sim/sessions", nil)
	list := ss["sessions"].([]any)
	found := false
	for _, x := range list {
		m := x.(map[string]any)
		if strings.HasSuffix(faults, "/"+m["channel_id"].(string)) {
			found = true
			if m["open"] != float64(1) || m["connected"] != false || m["device"] == "" {
				t.Errorf("session of the faulted channel: %v", m)
			}
		}
	}
	if !found || ss["count"] != float64(len(list)) {
		t.Errorf("sessions: %v", ss)
	}
	if err := c1.s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	c1.waitFor(t, func(ev engine.Event) bool { _, ok := ev.(engine.Connected); return ok })

	// A business's catalog as a phone sees it (empty: nobody added products).
	if got := e.call(200, "GET", phones+"/"+alice+"/catalog/"+bob, nil); !equalJSON(got, map[string]any{"products": []any{}}) {
		t.Errorf("catalog: %v", got)
	}
	e.fail(400, "GET", phones+"/"+alice+"/catalog/abc", nil, "business")
	e.fail(404, "GET", phones+"/"+alice+"/catalog/15559999999", nil, "not on WhatsApp")

	// Unlink.
	got = e.call(200, "POST", phones+"/"+alice+"/unlink", nil)
	if !equalJSON(got, map[string]any{"success": true, "unlinked": float64(1)}) {
		t.Errorf("unlink: %v", got)
	}
	out := c1.waitFor(t, func(ev engine.Event) bool { _, ok := ev.(engine.LoggedOut); return ok }).(engine.LoggedOut)
	if out.Reason != "unlinked from phone" {
		t.Errorf("logged out: %+v", out)
	}
	got = e.call(200, "POST", phones+"/"+alice+"/unlink", nil)
	if got["unlinked"] != float64(0) {
		t.Errorf("unlink again: %v", got)
	}
	e.fail(404, "POST", phones+"/"+carol+"/unlink", nil, "no sim phone")

	// Every sim operation was reached.
	for _, op := range v.Uncovered() {
		if strings.Contains(op, "/admin/sim/") {
			t.Errorf("no test reached %s", op)
		}
	}
	// Media bodies may pass the 1 MiB of other requests.
	e.call(201, "POST", msgs, map[string]any{"to": alice, "type": "document", "mime_type": "application/pdf",
		"media": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("%"), 2<<20))})
}

// TestPairingCodeExpired: a code whose login flow ended is 410.
func TestPairingCodeExpired(t *testing.T) {
	v := openapitest.New(t)
	e := newEnv(t, v)
	e.call(201, "POST", "/admin/sim/phones", map[string]any{"phone": alice, "name": "Alice"})
	c, _ := e.login("SHAZAM-3HDYQ")
	code, err := c.s.PairPhone(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	c.s.Disconnect()
	e.fail(410, "POST", "/admin/sim/phones/"+alice+"/link", map[string]any{"code": code}, "code: pairing code expired", "cancelled")
}

// TestAdoptPhoneAfterRestart: a phone that reappeared for a stored device
// can be created again with its name.
func TestAdoptPhoneAfterRestart(t *testing.T) {
	v := openapitest.New(t)
	e := newEnv(t, v)
	s, err := e.net.Open(context.Background(), engine.SessionConfig{ChannelID: "SHAZAM-3HDYQ", Device: "sim:" + alice + ":0a1b2c3d4e5f"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := e.call(200, "GET", "/admin/sim/phones/"+alice, nil); got["name"] != alice || len(got["devices"].([]any)) != 1 {
		t.Errorf("re-registered phone: %v", got)
	}
	got := e.call(201, "POST", "/admin/sim/phones", map[string]any{"phone": alice, "name": "Alice"})
	if got["name"] != "Alice" || len(got["devices"].([]any)) != 1 {
		t.Errorf("adopted phone: %v", got)
	}
	e.fail(409, "POST", "/admin/sim/phones", map[string]any{"phone": alice, "name": "Alice"}, "already exists")
}

func equalJSON(got map[string]any, want map[string]any) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	return bytes.Equal(a, b)
}
