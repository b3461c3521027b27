package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func fmtNum(v any) string { return fmt.Sprint(num(v)) }

// waitHealth polls GET /health until its status text is want.
func (e *env) waitHealth(token, want string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h := e.ok(200, "GET", "/health?wakeup=false", token, nil)
		if h["status"].(map[string]any)["text"] == want {
			return h
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("health stayed %v, want %s", h["status"], want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// linkByQR links a channel to a new sim phone through the QR code and waits
// for AUTH.
func (e *env) linkByQR(chToken, phone, name string) {
	e.t.Helper()
	e.ok(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": phone, "name": name})
	qr := e.ok(200, "GET", "/users/login", chToken, nil)
	e.ok(200, "POST", "/admin/sim/phones/"+phone+"/link", adminToken, map[string]any{"qr": qr["rowdata"]})
	h := e.waitHealth(chToken, "AUTH")
	if h["user"].(map[string]any)["id"] != phone {
		e.t.Fatalf("linked health = %v, want user %s", h, phone)
	}
}

func testGateLogin(t *testing.T, e *env) {
	_, ptok := e.partner("gate", 20)
	ch := e.channel(ptok, "Gate")
	tok := ch["token"].(string)
	id := ch["id"].(string)

	h := e.ok(200, "GET", "/health", tok, nil)
	if h["channel_id"] != id || h["engine"] != "sim" {
		t.Fatalf("health = %v", h)
	}
	qr := e.ok(200, "GET", "/users/login", tok, nil)
	if qr["status"] != "OK" || !strings.HasPrefix(qr["base64"].(string), "data:image/png;base64,") ||
		qr["rowdata"] == "" || num(qr["expire"]) < 1 {
		t.Fatalf("login = %v", qr)
	}
	if rd := e.ok(200, "GET", "/users/login/rowdata", tok, nil); rd["rowdata"] != qr["rowdata"] || rd["base64"] != nil {
		t.Fatalf("rowdata = %v, want the same code without the image", rd)
	}
	code, img := e.do("GET", "/users/login/image?size=300&color_dark=112233", tok, nil)
	if code != 200 || !bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("login image: %d, %q...", code, img[:min(len(img), 16)])
	}
	e.fail(400, "size", "GET", "/users/login/image?size=5", tok, nil)
	e.fail(400, "color_dark", "GET", "/users/login?color_dark=zz", tok, nil)
	e.fail(401, "invalid channel token", "GET", "/health", "nope", nil)
	e.fail(401, "missing channel token", "GET", "/users/login", "", nil)
	e.fail(401, "invalid channel token", "GET", "/health", ptok, nil)

	// An unknown QR does not link, and says why.
	e.ok(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": "15550001111", "name": "Alice"})
	e.fail(400, "QR", "POST", "/admin/sim/phones/15550001111/link", adminToken, map[string]any{"qr": "2@not,a,real,code"})
	e.fail(404, "phone", "POST", "/admin/sim/phones/15550009999/link", adminToken, map[string]any{"qr": qr["rowdata"]})
	e.ok(200, "POST", "/admin/sim/phones/15550001111/link", adminToken, map[string]any{"qr": qr["rowdata"]})
	h = e.waitHealth(tok, "AUTH")
	if u := h["user"].(map[string]any); u["id"] != "15550001111" || u["name"] != "Alice" || num(h["uptime"]) < 0 || num(h["start_at"]) <= 0 {
		t.Fatalf("linked health = %v", h)
	}
	if got := e.ok(200, "GET", "/partner/channels/"+id, ptok, nil); got["phone"] != "15550001111" || got["linked"] != true {
		t.Fatalf("partner view of the linked channel = %v", got)
	}
	e.fail(409, "already authenticated", "GET", "/users/login", tok, nil)
	e.fail(409, "already authenticated", "GET", "/users/login/15550001111", tok, nil)

	// Profile.
	p := e.ok(200, "GET", "/users/profile", tok, nil)
	if p["name"] != "Alice" {
		t.Fatalf("profile = %v", p)
	}
	e.ok(200, "PATCH", "/users/profile", tok, map[string]any{"about": "Open 9-5", "name": "Alice's shop"})
	if p := e.ok(200, "GET", "/users/profile", tok, nil); p["about"] != "Open 9-5" || p["name"] != "Alice's shop" {
		t.Fatalf("profile after PATCH = %v", p)
	}
	e.fail(400, "name", "PATCH", "/users/profile", tok, map[string]any{"name": "Al"})
	e.fail(400, "icon", "PATCH", "/users/profile", tok, map[string]any{"icon": "https://x.test/a.png"})

	// Logout through the gate API: back to a login flow; a second logout is 409.
	e.ok(200, "POST", "/users/logout", tok, nil)
	e.fail(409, "already logged out", "POST", "/users/logout", tok, nil)
	e.fail(409, "not logged in", "GET", "/users/profile", tok, nil)
	if got := e.ok(200, "GET", "/partner/channels/"+id, ptok, nil); got["linked"] != false {
		t.Fatalf("channel still linked after logout: %v", got)
	}

	// Pairing code: a second phone links by code; a wrong code is refused.
	e.ok(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": "15550002222", "name": "Bob"})
	e.fail(400, "PhoneNumber", "GET", "/users/login/12ab", tok, nil)
	pc := e.ok(200, "GET", "/users/login/15550002222", tok, nil)
	if len(strings.ReplaceAll(pc["code"].(string), "-", "")) != 8 {
		t.Fatalf("pairing code = %v", pc)
	}
	e.fail(400, "code", "POST", "/admin/sim/phones/15550002222/link", adminToken, map[string]any{"code": "ZZZZZZZZ"})
	e.fail(400, "", "POST", "/admin/sim/phones/15550001111/link", adminToken, map[string]any{"code": pc["code"]})
	e.ok(200, "POST", "/admin/sim/phones/15550002222/link", adminToken, map[string]any{"code": pc["code"]})
	if h := e.waitHealth(tok, "AUTH"); h["user"].(map[string]any)["id"] != "15550002222" {
		t.Fatalf("health after pairing = %v", h)
	}

	// Hard unlink through the partner API, then re-link by QR.
	un := e.ok(200, "POST", "/partner/channels/"+id+"/logout?force=true", ptok, nil)
	if un["channel"].(map[string]any)["linked"] != false {
		t.Fatalf("hard unlink = %v", un)
	}
	e.fail(409, "already logged out", "POST", "/partner/channels/"+id+"/logout", ptok, nil)
	qr = e.ok(200, "GET", "/users/login", tok, nil)
	e.ok(200, "POST", "/admin/sim/phones/15550002222/link", adminToken, map[string]any{"qr": qr["rowdata"]})
	e.waitHealth(tok, "AUTH")
	// Unlinked from the phone: the channel is logged out.
	e.ok(200, "POST", "/admin/sim/phones/15550002222/unlink", adminToken, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := e.ok(200, "GET", "/partner/channels/"+id, ptok, nil)
		if got["linked"] == false {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("channel still linked after the phone unlinked it: %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testGateSettings(t *testing.T, e *env) {
	_, ptok := e.partner("settings", 5)
	ch := e.channel(ptok, "Settings")
	tok, id := ch["token"].(string), ch["id"].(string)
	e.linkByQR(tok, "15550003333", "Carol")

	s := e.ok(200, "GET", "/settings", tok, nil)
	if num(s["callback_backoff_delay_ms"]) != 3000 || s["proxy"] != "" || len(s["webhooks"].([]any)) != 0 {
		t.Fatalf("default settings = %v", s)
	}
	e.fail(409, "already reset", "DELETE", "/settings", tok, nil)
	up := e.ok(200, "PATCH", "/settings", tok, map[string]any{
		"webhooks": []any{map[string]any{"url": "https://hooks.example.test/wa", "events": []any{
			map[string]any{"type": "messages", "method": "post"}, map[string]any{"type": "channel"}}, "headers": map[string]any{"X-Key": "k"}}},
		"callback_backoff_delay_ms": 5000,
		"proxy":                     "socks5://user:pw@127.0.0.1:1080",
	})
	changes := up["changes"].([]any)
	if len(changes) != 3 || up["before_update"].(map[string]any)["proxy"] != "" ||
		up["after_update"].(map[string]any)["proxy"] != "socks5://user:xxxxx@127.0.0.1:1080" {
		t.Fatalf("PATCH settings = %v (the proxy password must be hidden)", up)
	}
	// Sending back the redacted proxy keeps it (and its password); no body
	// changes nothing.
	same := e.ok(200, "PATCH", "/settings", tok, map[string]any{"proxy": "socks5://user:xxxxx@127.0.0.1:1080"})
	if len(same["changes"].([]any)) != 0 {
		t.Fatalf("PATCH with the redacted proxy changed %v", same["changes"])
	}
	// Webhook secrets are stored, never shown; sent back redacted they stay.
	const secret = "s3cret-s3cret-s3cret"
	withSecret := e.ok(200, "PATCH", "/settings", tok, map[string]any{"webhooks": []any{map[string]any{"url": "https://hooks.example.test/signed", "secret": secret}}})
	if strings.Contains(fmtJSON(withSecret), secret) || !strings.Contains(fmtJSON(withSecret["after_update"]), `"secret":"xxxxx"`) {
		t.Fatalf("PATCH with a secret answered %v", withSecret)
	}
	e.ok(200, "PATCH", "/settings", tok, map[string]any{"webhooks": []any{map[string]any{"url": "https://hooks.example.test/signed", "secret": "xxxxx"}}})
	if st, _ := e.srv.Service().AuthenticateChannel(t.Context(), tok); true {
		cs, _ := e.srv.Service().ChannelSettings(t.Context(), st)
		if len(cs.Webhooks) != 1 || cs.Webhooks[0].Secret != secret {
			t.Fatalf("stored webhooks = %+v, want the secret kept", cs.Webhooks)
		}
	}
	e.fail(400, "webhooks[0].secret", "PATCH", "/settings", tok, map[string]any{"webhooks": []any{map[string]any{"url": "https://hooks.example.test/other", "secret": "xxxxx"}}})
	e.fail(400, "webhooks[0].secret", "PATCH", "/settings", tok, map[string]any{"webhooks": []any{map[string]any{"url": "https://hooks.example.test/x", "secret": "short"}}})
	if code, raw := e.do("PATCH", "/settings", tok, nil); code != 200 || !strings.Contains(string(raw), `"changes":[]`) {
		t.Fatalf("PATCH without a body: %d %s", code, raw)
	}
	if st, _ := e.srv.Service().AuthenticateChannel(t.Context(), tok); st.Proxy != "socks5://user:pw@127.0.0.1:1080" {
		t.Fatalf("stored proxy = %q, want the password kept", st.Proxy)
	}
	hook := up["after_update"].(map[string]any)["webhooks"].([]any)[0].(map[string]any)
	if hook["mode"] != "body" || hook["events"].([]any)[1].(map[string]any)["method"] != "post" {
		t.Fatalf("webhook defaults not filled: %v", hook)
	}
	// The proxy applies: the channel reconnects through it, keeping its login.
	e.waitHealth(tok, "AUTH")
	if got := e.ok(200, "GET", "/partner/channels/"+id, ptok, nil); got["proxy"].(map[string]any)["host"] != "127.0.0.1" ||
		got["proxy"].(map[string]any)["auth"] != "user:xxxxx" {
		t.Fatalf("channel proxy = %v", got["proxy"])
	}
	for _, bad := range []struct {
		body  any
		field string
	}{
		{map[string]any{"proxy": "socks5h://h:1"}, "proxy"},
		{map[string]any{"proxy": "ftp://h:1"}, "proxy"},
		{map[string]any{"proxy": "socks5://h:0"}, "proxy"},
		{map[string]any{"proxy": "http://h:65536"}, "proxy"},
		{map[string]any{"callback_backoff_delay_ms": 10}, "callback_backoff_delay_ms"},
		{map[string]any{"max_callback_backoff_delay_ms": 10}, "max_callback_backoff_delay_ms"},
		{map[string]any{"webhooks": []any{map[string]any{"url": "nope"}}}, "webhooks[0].url"},
		{map[string]any{"webhooks": []any{map[string]any{"url": "http://192.168.1.10/hook"}}}, "webhooks[0].url"},
		{map[string]any{"webhooks": []any{map[string]any{"url": "https://x.test", "events": []any{map[string]any{"type": "nope"}}}}}, "webhooks[0].events[0].type"},
		{map[string]any{"webhooks": []any{map[string]any{"url": "https://x.test", "headers": map[string]any{"Host": "x"}}}}, "headers"},
		{map[string]any{"media": map[string]any{"auto_download": []any{"pdf"}}}, "media.auto_download[0]"},
		{`{"offline_mode": "yes"}`, "offline_mode"},
	} {
		e.fail(400, bad.field, "PATCH", "/settings", tok, bad.body)
	}
	if s := e.ok(200, "GET", "/settings", tok, nil); num(s["callback_backoff_delay_ms"]) != 5000 {
		t.Fatalf("rejected PATCH changed settings: %v", s)
	}
	e.ok(200, "DELETE", "/settings", tok, nil)
	if s := e.ok(200, "GET", "/settings", tok, nil); s["proxy"] != "" || len(s["webhooks"].([]any)) != 0 {
		t.Fatalf("settings after reset = %v", s)
	}
	e.waitHealth(tok, "AUTH")

	code, raw := e.do("GET", "/settings/events", tok, nil)
	if code != 200 || !strings.Contains(string(raw), `{"type":"messages","method":"post"}`) {
		t.Fatalf("events: %d %s", code, raw)
	}

	lim := e.ok(200, "GET", "/limits", tok, nil)
	if num(lim["messages"]) != 150 || num(lim["requests"]) >= 1000 || num(lim["requests"]) < 900 {
		t.Fatalf("trial limits = %v", lim)
	}
	e.ok(200, "POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 2, "comment": ""})
	e.ok(200, "PATCH", "/partner/channels/"+id+"/mode", ptok, map[string]any{"mode": "live"})
	if code, _ := e.do("GET", "/limits", tok, nil); code != http.StatusNoContent {
		t.Fatalf("live limits: %d, want 204", code)
	}
	// The mode change keeps the connection: the channel is still linked and online.
	e.waitHealth(tok, "AUTH")
}

func testProxies(t *testing.T, e *env) {
	// Two "proxies" that accept connections (the probe dials them) and one that does not.
	up1, up2 := httptest.NewServer(http.NotFoundHandler()), httptest.NewServer(http.NotFoundHandler())
	defer up1.Close()
	defer up2.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := "socks5://" + strings.TrimPrefix(dead.URL, "http://")
	dead.Close()
	p1 := "socks5://user:secret@" + strings.TrimPrefix(up1.URL, "http://")
	p2 := "http://" + strings.TrimPrefix(up2.URL, "http://")

	if got := e.ok(200, "GET", "/admin/proxies", adminToken, nil); num(got["total"]) != 0 {
		t.Fatalf("initial pool = %v", got)
	}
	e.fail(400, "proxies[1]", "PUT", "/admin/proxies", adminToken, map[string]any{"proxies": []any{p1, "socks5h://x:1"}})
	e.fail(400, "proxies", "PUT", "/admin/proxies", adminToken, map[string]any{})
	pool := e.ok(200, "PUT", "/admin/proxies", adminToken, map[string]any{"proxies": []any{deadURL, p1, p2, p1}})
	if num(pool["total"]) != 3 || strings.Contains(fmtJSON(pool), "secret") {
		t.Fatalf("pool = %v (passwords must be hidden)", pool)
	}

	_, ptok := e.partner("proxied", 5)
	ch := e.channel(ptok, "Proxied")
	id, tok := ch["id"].(string), ch["token"].(string)
	e.linkByQR(tok, "15550004444", "Dan")

	// From the pool: never the current proxy, never a dead one.
	seen := map[string]bool{}
	current := ""
	for range 4 {
		got := e.ok(200, "POST", "/partner/channels/"+id+"/proxy", ptok, nil)
		px := got["channel"].(map[string]any)["proxy"].(map[string]any)
		addr := px["host"].(string) + ":" + fmtNum(px["port"])
		if addr == current {
			t.Fatalf("proxy change kept the same proxy %s", addr)
		}
		if strings.Contains(deadURL, addr) {
			t.Fatalf("proxy change chose the dead proxy")
		}
		current = addr
		seen[addr] = true
		e.waitHealth(tok, "AUTH")
	}
	if len(seen) != 2 {
		t.Fatalf("rotation used %v, want both live proxies", seen)
	}
	if pool := e.ok(200, "GET", "/admin/proxies", adminToken, nil); !strings.Contains(fmtJSON(pool), `"healthy":false`) {
		t.Fatalf("the dead proxy is not marked unhealthy: %v", pool)
	}
	// A given proxy.
	got := e.ok(200, "POST", "/partner/channels/"+id+"/proxy", ptok, map[string]any{"proxy": "socks5://10.0.0.1:1080"})
	if got["channel"].(map[string]any)["proxy"].(map[string]any)["host"] != "10.0.0.1" {
		t.Fatalf("explicit proxy = %v", got)
	}
	e.fail(400, "proxy", "POST", "/partner/channels/"+id+"/proxy", ptok, map[string]any{"proxy": "nope"})
	// An empty pool: 503 that says so.
	e.ok(200, "PUT", "/admin/proxies", adminToken, map[string]any{"proxies": []any{}})
	e.fail(503, "no proxy other than", "POST", "/partner/channels/"+id+"/proxy", ptok, nil)
}

// testExpiry lets a linked channel run out of days: it stops (STOP, gate
// calls 402) and an extend brings it back to AUTH without a new link.
func testExpiry(t *testing.T, e *env) {
	_, ptok := e.partner("expiring", 3)
	ch := e.channel(ptok, "Expiring")
	id, tok := ch["id"].(string), ch["token"].(string)
	e.linkByQR(tok, "15550005555", "Eve")
	e.clock.Advance(5*day + time.Minute)
	if _, err := e.srv.Service().ExpireDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.waitHealth(tok, "STOP")
	e.fail(402, "no active days", "GET", "/users/profile", tok, nil)
	e.ok(200, "POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 1, "comment": ""})
	h := e.waitHealth(tok, "AUTH")
	if h["user"].(map[string]any)["id"] != "15550005555" {
		t.Fatalf("resumed with another account: %v", h)
	}
	// Stopped by the partner: 409 on gate calls, STOP on /health.
	e.ok(200, "POST", "/partner/channels/"+id+"/stop", ptok, nil)
	e.waitHealth(tok, "STOP")
	e.fail(409, "stopped", "GET", "/users/profile", tok, nil)
	e.ok(200, "POST", "/partner/channels/"+id+"/start", ptok, nil)
	e.waitHealth(tok, "AUTH")
	// Restart keeps the login.
	e.ok(200, "POST", "/partner/channels/"+id+"/restart", ptok, nil)
	e.waitHealth(tok, "AUTH")
	// Deleting the channel logs the phone out.
	e.ok(200, "DELETE", "/partner/channels/"+id, ptok, nil)
	e.fail(401, "invalid channel token", "GET", "/health", tok, nil)
}

// testSimPhones drives the simulated network's operator endpoints: phones,
// messages between two linked accounts, read receipts and bad input.
func testSimPhones(t *testing.T, e *env) {
	_, ptok := e.partner("simmer", 5)
	ch := e.channel(ptok, "Sim")
	id, tok := ch["id"].(string), ch["token"].(string)
	e.linkByQR(tok, "15550006666", "Frank")
	e.ok(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": "15550007777", "name": "Grace"})

	list := e.ok(200, "GET", "/admin/sim/phones", adminToken, nil)
	if !strings.Contains(fmtJSON(list), `"15550006666"`) || !strings.Contains(fmtJSON(list), `"Grace"`) {
		t.Fatalf("phones = %v", list)
	}
	frank := e.ok(200, "GET", "/admin/sim/phones/15550006666", adminToken, nil)
	devs := frank["devices"].([]any)
	if frank["name"] != "Frank" || len(devs) != 1 || devs[0].(map[string]any)["channel_id"] != id {
		t.Fatalf("Frank = %v, want one device for %s", frank, id)
	}
	e.fail(404, "", "GET", "/admin/sim/phones/15559999999", adminToken, nil)
	e.fail(409, "", "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": "15550007777", "name": "Again"})

	sent := e.ok(201, "POST", "/admin/sim/phones/15550007777/messages", adminToken, map[string]any{"to": "15550006666", "body": "hi Frank"})
	msgID := sent["message"].(map[string]any)["id"].(string)
	inbox := e.ok(200, "GET", "/admin/sim/phones/15550006666/messages", adminToken, nil)
	if !strings.Contains(fmtJSON(inbox), "hi Frank") {
		t.Fatalf("Frank's inbox = %v", inbox)
	}
	e.ok(200, "POST", "/admin/sim/phones/15550006666/read", adminToken, map[string]any{"ids": []string{msgID}})
	out := e.ok(200, "GET", "/admin/sim/phones/15550007777/messages?box=sent", adminToken, nil)
	if m := out["messages"].([]any); len(m) != 1 || m[0].(map[string]any)["status"] != "read" {
		t.Fatalf("Grace's sent box = %v", out)
	}
	e.fail(400, "body", "POST", "/admin/sim/phones/15550007777/messages", adminToken, map[string]any{"to": "15550006666", "body": "  "})
	e.fail(400, "box", "GET", "/admin/sim/phones/15550007777/messages?box=spam", adminToken, nil)
	e.fail(400, "ids", "POST", "/admin/sim/phones/15550006666/read", adminToken, map[string]any{"ids": []string{}})
	e.fail(401, "", "GET", "/admin/sim/phones", ptok, nil)

	// The engine, and a failure mode played on the channel.
	eng := e.ok(200, "GET", "/admin/engine", adminToken, nil)
	if eng["name"] != "sim" || eng["client_version"] != nil {
		t.Fatalf("engine = %v", eng)
	}
	e.fail(501, "", "POST", "/admin/engine/client-version", adminToken, nil)
	// PostgreSQL runs as a cluster of one node holding every shard; SQLite
	// is a single node.
	cl := e.ok(200, "GET", "/admin/cluster", adminToken, nil)
	switch cl["mode"] {
	case "cluster":
		counts := cl["counts"].(map[string]any)
		nodes := cl["nodes"].([]any)
		if num(counts["shards"]) != 64 || num(counts["unassigned"]) != 0 || len(nodes) != 1 || cl["leader"] != cl["node"] ||
			num(nodes[0].(map[string]any)["shards"]) != 64 || nodes[0].(map[string]any)["alive"] != true {
			t.Fatalf("cluster of one = %v", cl)
		}
	case "single":
		if len(cl["nodes"].([]any)) != 0 || len(cl["shards"].([]any)) != 0 {
			t.Fatalf("single node = %v", cl)
		}
	default:
		t.Fatalf("cluster mode = %v", cl["mode"])
	}
	e.fail(401, "", "GET", "/admin/cluster", ptok, nil)
	e.ok(200, "POST", "/admin/sim/channels/"+id+"/faults", adminToken, map[string]any{"kind": "reachout_limited"})
	e.fail(400, "kind", "POST", "/admin/sim/channels/"+id+"/faults", adminToken, map[string]any{"kind": "nope"})
	st := e.ok(200, "GET", "/admin/sim/channels/"+id, adminToken, nil)
	if f := st["faults"].([]any); len(f) != 1 || f[0] != "reachout_limited" {
		t.Fatalf("sim channel = %v", st)
	}
	e.ok(200, "POST", "/admin/sim/channels/"+id+"/faults", adminToken, map[string]any{"kind": "clear"})
	ss := e.ok(200, "GET", "/admin/sim/sessions", adminToken, nil)
	for _, x := range ss["sessions"].([]any) {
		if m := x.(map[string]any); m["open"] != float64(1) {
			t.Errorf("a channel has %v sessions open: %v", m["open"], m)
		}
	}
}
