package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/store/storetest"
	"github.com/wagate/wagate/internal/webhook"
)

// hookCall is one request a test receiver got.
type hookCall struct {
	Method, Path, Event, Delivery, Signature string
	Body                                     map[string]any
	Raw                                      []byte
}

// receiver records webhook requests on loopback.
type receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []hookCall
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		r.mu.Lock()
		r.calls = append(r.calls, hookCall{Method: req.Method, Path: req.URL.Path, Event: req.Header.Get("X-Wagate-Event"),
			Delivery: req.Header.Get("X-Wagate-Delivery"), Signature: req.Header.Get("X-Wagate-Signature"), Body: body, Raw: raw})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// wait returns the first call for event whose body matches, waiting for it.
func (r *receiver) wait(t *testing.T, event string, match func(hookCall) bool) hookCall {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		for _, c := range r.calls {
			if c.Event == event && (match == nil || match(c)) {
				r.mu.Unlock()
				return c
			}
		}
		n := len(r.calls)
		r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s webhook arrived (%d others)", event, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWebhooksEndToEnd runs the real server with its dispatcher and checks
// that a channel's webhooks and its partner's get the linking events, the
// messages and their statuses, signed.
func TestWebhooksEndToEnd(t *testing.T) {
	v := openapitest.New(t)
	cfg := testConfig(t, storetest.Backends(t)[0])
	cfg.WebhookAllowPrivate = true
	srv := startServer(t, cfg, app.Options{BcryptCost: 4})
	s := &liveServer{t: t, base: "http://" + srv.Addr(),
		client: &http.Client{Transport: v.Transport(t, http.DefaultTransport), Timeout: 10 * time.Second}}
	chHooks, partnerHooks := newReceiver(t), newReceiver(t)
	const secret = "test-secret-0123456789"

	ptok := s.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "hooked", "email": "h@example.test", "days": 10})["token"].(string)
	s.call(200, "PATCH", "/partner/partners/hooked/settings", ptok, map[string]any{"days_limit": 5,
		"webhooks": []any{map[string]any{"url": partnerHooks.srv.URL + "/partner", "events": []any{
			map[string]any{"type": "channel", "method": "post"}, map[string]any{"type": "days", "method": "post"}}}}})
	ch := s.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "Hooked"})
	tok := ch["token"].(string)
	events := []any{}
	for _, e := range []string{"messages.post", "messages.patch", "messages.delete", "statuses.post", "channel.post", "channel.patch", "users.post", "users.delete"} {
		typ, method, _ := strings.Cut(e, ".")
		events = append(events, map[string]any{"type": typ, "method": method})
	}
	s.call(200, "PATCH", "/settings", tok, map[string]any{"webhooks": []any{map[string]any{
		"url": chHooks.srv.URL + "/hooks", "events": events, "secret": secret}}})

	// Linking: users.post and channel.post AUTH; the partner hears the
	// channel was linked.
	const phone, other = "15553330001", "15553330002"
	s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": phone, "name": "Kim"})
	s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": other, "name": "Lou"})
	s.linkQR(tok, phone)
	user := chHooks.wait(t, "users.post", nil)
	if !strings.Contains(string(user.Raw), phone) {
		t.Fatalf("users.post = %s", user.Raw)
	}
	chHooks.wait(t, "channel.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"AUTH"`) })
	partnerHooks.wait(t, "channel.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"linked"`) })
	if p := partnerHooks.wait(t, "channel.post", nil); strings.Contains(string(p.Raw), tok) {
		t.Fatal("a partner webhook carries the channel's token")
	}

	// A message in, a message out and its statuses.
	s.call(201, "POST", "/admin/sim/phones/"+other+"/messages", adminToken, map[string]any{"to": phone, "body": "hello channel"})
	got := chHooks.wait(t, "messages.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), "hello channel") })
	if got.Path != "/hooks" || got.Delivery == "" {
		t.Fatalf("messages.post request: path %q delivery %q", got.Path, got.Delivery)
	}
	if err := webhook.Verify(secret, got.Signature, got.Raw, time.Now(), time.Minute); err != nil {
		t.Fatalf("signature: %v (%q)", err, got.Signature)
	}
	sent := s.call(200, "POST", "/messages/text", tok, map[string]any{"to": other, "body": "hello Lou"})
	id := sent["message"].(map[string]any)["id"].(string)
	chHooks.wait(t, "messages.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), id) })
	s.call(200, "POST", "/admin/sim/phones/"+other+"/read", adminToken, map[string]any{"ids": []string{id}})
	chHooks.wait(t, "statuses.post", func(c hookCall) bool {
		return strings.Contains(string(c.Raw), id) && strings.Contains(string(c.Raw), `"read"`)
	})

	// The log shows the delivery and its attempt; a redelivery sends it
	// again with the same delivery ID.
	log := s.call(200, "GET", "/partner/channels/"+ch["id"].(string)+"/webhooks/log?status=delivered&count=500", ptok, nil)
	var logged map[string]any
	for _, d := range log["deliveries"].([]any) {
		if d.(map[string]any)["id"] == got.Delivery {
			logged = d.(map[string]any)
		}
	}
	if logged == nil || len(logged["attempt_log"].([]any)) != 1 || num(logged["attempt_log"].([]any)[0].(map[string]any)["status"]) != 204 {
		t.Fatalf("log entry of %s = %v", got.Delivery, logged)
	}
	s.call(200, "POST", "/partner/channels/"+ch["id"].(string)+"/webhooks/log/"+got.Delivery+"/redeliver", ptok, nil)
	e2 := 0
	deadline := time.Now().Add(10 * time.Second)
	for e2 < 2 && time.Now().Before(deadline) {
		e2 = 0
		chHooks.mu.Lock()
		for _, c := range chHooks.calls {
			if c.Delivery == got.Delivery {
				e2++
			}
		}
		chHooks.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	if e2 != 2 {
		t.Fatalf("delivery %s arrived %d times after a redelivery, want 2", got.Delivery, e2)
	}

	// A test callback reaches the receiver, signed, in path mode.
	tr := s.call(200, "POST", "/settings/webhook_test", tok, map[string]any{"url": chHooks.srv.URL + "/test", "type": "channel",
		"mode": "path", "secret": secret})
	if tr["success"] != true || num(tr["status"]) != 204 {
		t.Fatalf("webhook test = %v", tr)
	}
	test := chHooks.wait(t, "channel.post", func(c hookCall) bool { return c.Path == "/test/channel/post" })
	if err := webhook.Verify(secret, test.Signature, test.Raw, time.Now(), time.Minute); err != nil {
		t.Fatalf("test signature: %v", err)
	}

	// A reaction from the phone (messages.patch), a delete for everyone
	// (messages.delete).
	s.call(200, "POST", "/admin/sim/phones/"+other+"/react", adminToken, map[string]any{"id": id, "emoji": "👍"})
	chHooks.wait(t, "messages.patch", func(c hookCall) bool { return strings.Contains(string(c.Raw), "👍") })
	s.call(200, "DELETE", "/messages/"+id, tok, nil)
	chHooks.wait(t, "messages.delete", func(c hookCall) bool { return strings.Contains(string(c.Raw), id) })

	// Extending moves the balance from 10 to 4, past days_limit 5: the
	// partner gets "extended" and "days"; a second extension below the
	// limit sends no second "days".
	s.call(200, "POST", "/partner/channels/"+ch["id"].(string)+"/extend", ptok, map[string]any{"days": 6, "comment": "order"})
	partnerHooks.wait(t, "channel.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"extended"`) })
	days := partnerHooks.wait(t, "days.post", nil)
	if !strings.Contains(string(days.Raw), `"balance":4`) {
		t.Fatalf("days.post = %s", days.Raw)
	}
	s.call(200, "POST", "/partner/channels/"+ch["id"].(string)+"/extend", ptok, map[string]any{"days": 1, "comment": "order"})
	time.Sleep(300 * time.Millisecond)
	partnerHooks.mu.Lock()
	nDays := 0
	for _, c := range partnerHooks.calls {
		if c.Event == "days.post" {
			nDays++
		}
	}
	partnerHooks.mu.Unlock()
	if nDays != 1 {
		t.Fatalf("%d days events, want 1 (only when the balance crosses the limit)", nDays)
	}

	// Logout: users.delete, then the new login flow's QR (channel.patch);
	// the partner hears it.
	s.call(200, "POST", "/users/logout", tok, nil)
	chHooks.wait(t, "users.delete", nil)
	qr := chHooks.wait(t, "channel.patch", nil)
	if qr.Body["qr"] == nil || qr.Body["channel_id"] != ch["id"] {
		t.Fatalf("channel.patch = %s", qr.Raw)
	}
	partnerHooks.wait(t, "channel.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"unlinked"`) })
}

// testWebhookLog reads a channel's delivery log and redelivers from it (no
// dispatcher runs in TestAPI: deliveries stay pending).
func testWebhookLog(t *testing.T, e *env) {
	_, ptok := e.partner("logged", 5)
	ch := e.channel(ptok, "Logged")
	id, tok := ch["id"].(string), ch["token"].(string)
	e.linkByQR(tok, "15553340001", "Max")
	e.ok(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": "15553340002", "name": "Ned"})
	e.ok(200, "PATCH", "/settings", tok, map[string]any{"webhooks": []any{map[string]any{"url": "https://hooks.example.test/log"}}})
	e.ok(201, "POST", "/admin/sim/phones/15553340002/messages", adminToken, map[string]any{"to": "15553340001", "body": "log me"})
	var log map[string]any
	e.eventually("a delivery in the log", func() bool {
		log = e.ok(200, "GET", "/partner/channels/"+id+"/webhooks/log", ptok, nil)
		return num(log["total"]) == 1
	})
	d := log["deliveries"].([]any)[0].(map[string]any)
	if d["event"] != "messages.post" || d["status"] != "pending" || d["url"] != "https://hooks.example.test/log" {
		t.Fatalf("delivery = %v", d)
	}
	if l := e.ok(200, "GET", "/partner/channels/"+id+"/webhooks/log?status=delivered", ptok, nil); num(l["total"]) != 0 {
		t.Fatalf("delivered = %v", l)
	}
	e.fail(400, "status", "GET", "/partner/channels/"+id+"/webhooks/log?status=lost", ptok, nil)
	re := e.ok(200, "POST", "/partner/channels/"+id+"/webhooks/log/"+d["id"].(string)+"/redeliver", ptok, nil)
	if re["delivery"].(map[string]any)["id"] != d["id"] {
		t.Fatalf("redeliver = %v", re)
	}
	e.fail(404, "", "POST", "/partner/channels/"+id+"/webhooks/log/whd_NOPE/redeliver", ptok, nil)

	// Test callbacks: the URL rules of settings; an unreachable receiver is
	// an answer (success false), not an error.
	e.fail(400, "url", "POST", "/settings/webhook_test", tok, map[string]any{"url": "http://127.0.0.1:9/x"})
	e.fail(400, "type", "POST", "/settings/webhook_test", tok, map[string]any{"url": "https://hooks.example.test/x", "type": "nope"})
	e.fail(400, "mode", "POST", "/settings/webhook_test", tok, map[string]any{"url": "https://hooks.example.test/x", "mode": "nope"})
	e.fail(400, "secret", "POST", "/settings/webhook_test", tok, map[string]any{"url": "https://hooks.example.test/x", "secret": "short"})
	if r := e.ok(200, "POST", "/settings/webhook_test", tok, map[string]any{"url": "https://hooks.example.test/x"}); r["success"] != false || r["error"] == "" {
		t.Fatalf("test to an unreachable receiver = %v", r)
	}
	_, other := e.partner("nosy", 1)
	e.fail(404, "channel", "GET", "/partner/channels/"+id+"/webhooks/log", other, nil)
	e.fail(404, "", "POST", "/partner/channels/"+id+"/webhooks/log/"+d["id"].(string)+"/redeliver", other, nil)
}
