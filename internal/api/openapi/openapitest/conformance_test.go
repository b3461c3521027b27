package openapitest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/config"
)

const adminToken = "admin-token-0123456789"

// apiClient sends requests to a running wagate through the validating
// transport and fails the test when a status is not the expected one.
type apiClient struct {
	t    *testing.T
	base string
	http *http.Client
	seen map[string]bool // "METHOD path-as-sent STATUS", for the log
	// lastList is the last answer when it was a JSON array.
	lastList []any
	last     []byte // the last answer's body
}

// call sends body (nil: none; string or []byte: raw; else JSON) with token
// (empty: none) and wants status. It returns the decoded JSON answer (nil
// when it is not a JSON object).
func (c *apiClient) call(want int, method, path, token string, body any) map[string]any {
	c.t.Helper()
	var got int
	out := c.callStatus(&got, method, path, token, body)
	if got != want {
		c.t.Errorf("%s %s: status %d, want %d: %s", method, path, got, want, c.last)
	}
	return out
}

// callStatus is call that reports the status in *status instead of
// wanting one.
func (c *apiClient) callStatus(status *int, method, path, token string, body any) map[string]any {
	c.t.Helper()
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
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	*status, c.last = resp.StatusCode, raw
	c.seen[method+" "+path+" "+resp.Status] = true
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	c.lastList = nil
	_ = json.Unmarshal(raw, &c.lastList)
	return out
}

// callList is call for an answer that is a JSON array.
func (c *apiClient) callList(want int, method, path, token string, body ...any) []any {
	c.t.Helper()
	var b any
	if len(body) > 0 {
		b = body[0]
	}
	req := c.call(want, method, path, token, b)
	_ = req
	return c.lastList
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// TestServerConformsToDocument drives the real server through every
// documented operation and most documented error statuses; the validating
// transport checks each answer against the document.
func TestServerConformsToDocument(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	cfg := config.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), AdminToken: adminToken, Engine: config.EngineSim,
		LogLevel: slog.LevelError, LogFormat: "text", ExpiryInterval: time.Hour, ShutdownTimeout: 5 * time.Second,
		ProxyAllowPrivate: true, // the proxies below are private addresses
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Pool proxies are not dialled: any address "answers".
	probe := func(context.Context, string) error { return nil }
	srv, err := app.New(ctx, cfg, log, app.Options{Now: clk.Now, BcryptCost: 4, ProbeProxy: probe})
	if err != nil {
		t.Fatal(err)
	}
	v := openapitest.New(t)

	// Before Start the server is not ready: seen through Wrap and a recorder.
	wrapped := v.Wrap(t, srv.Handler())
	rec := httptest.NewRecorder()
	wrapped.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz before start: %d", rec.Code)
	}

	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Error(err)
		}
	}()
	c := &apiClient{t: t, base: "http://" + srv.Addr(), http: &http.Client{Transport: v.Transport(t, nil)}, seen: map[string]bool{}}
	big := append([]byte(`{"name":"`), bytes.Repeat([]byte("x"), 1<<20+10)...)

	// Health and discovery.
	c.call(200, "GET", "/livez", "", nil)
	c.call(200, "HEAD", "/livez", "", nil)
	c.call(200, "GET", "/readyz", "", nil)
	c.call(200, "GET", "/openapi.json", "", nil)
	c.call(200, "GET", "/", "", nil)

	// Operator: authentication.
	c.call(401, "GET", "/admin/settings", "", nil)
	c.call(401, "GET", "/admin/settings", "wrong-token", nil)
	c.call(200, "GET", "/admin/settings?token="+adminToken, "", nil)

	// Operator: partners.
	c.call(400, "POST", "/admin/partners", adminToken, `{"name":`)
	c.call(400, "POST", "/admin/partners", adminToken, nil)
	c.call(400, "POST", "/admin/partners", adminToken, map[string]any{"name": "a b", "email": "a@example.com"})
	c.call(413, "POST", "/admin/partners", adminToken, big)
	acme := c.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "acme", "email": "Ops@Example.com", "days": 100})
	acmeID, acmeToken := str(acme, "id"), str(acme, "token")
	c.call(409, "POST", "/admin/partners", adminToken, map[string]any{"name": "acme", "email": "other@example.com"})
	beta := c.call(201, "POST", "/admin/partners", adminToken,
		map[string]any{"name": "beta", "email": "beta@example.com", "trial_days": 0, "password": "correct horse"})
	betaID, betaToken := str(beta, "id"), str(beta, "token")

	c.call(200, "GET", "/admin/partners", adminToken, nil)
	c.call(200, "GET", "/admin/partners?count=1&offset=1", adminToken, nil)
	c.call(400, "GET", "/admin/partners?count=501", adminToken, nil)
	c.call(200, "GET", "/admin/partners/"+acmeID, adminToken, nil)
	c.call(404, "GET", "/admin/partners/nope", adminToken, nil)

	c.call(200, "PATCH", "/admin/partners/"+acmeID, adminToken, map[string]any{"trial_days": 3})
	c.call(200, "PATCH", "/admin/partners/"+betaID, adminToken, map[string]any{"password": "another password"})
	c.call(400, "PATCH", "/admin/partners/"+acmeID, adminToken, map[string]any{"trial_days": 366})
	c.call(400, "PATCH", "/admin/partners/"+acmeID, adminToken, `{"trial_days":"x"}`)
	c.call(404, "PATCH", "/admin/partners/nope", adminToken, map[string]any{})
	c.call(413, "PATCH", "/admin/partners/"+acmeID, adminToken, big)

	c.call(200, "POST", "/admin/partners/"+acmeID+"/days", adminToken, map[string]any{"days": 10, "comment": "top-up"})
	c.call(200, "POST", "/admin/partners/"+acmeID+"/days", adminToken, map[string]any{"days": -5})
	c.call(402, "POST", "/admin/partners/"+acmeID+"/days", adminToken, map[string]any{"days": -1000})
	c.call(400, "POST", "/admin/partners/"+acmeID+"/days", adminToken, map[string]any{"days": 0})
	c.call(404, "POST", "/admin/partners/nope/days", adminToken, map[string]any{"days": 1})
	c.call(413, "POST", "/admin/partners/"+acmeID+"/days", adminToken, big)

	c.call(200, "POST", "/admin/partners/"+betaID+"/token", adminToken, nil)
	c.call(401, "GET", "/partner/partners", betaToken, nil) // the old token is dead
	betaToken = str(c.call(200, "POST", "/admin/partners/"+betaID+"/token", adminToken, nil), "token")
	c.call(404, "POST", "/admin/partners/nope/token", adminToken, nil)

	c.call(200, "GET", "/admin/settings", adminToken, nil)
	c.call(200, "PATCH", "/admin/settings", adminToken, map[string]any{"trial_days": 4})
	c.call(400, "PATCH", "/admin/settings", adminToken, map[string]any{"channel_create_window_minutes": 0})
	c.call(413, "PATCH", "/admin/settings", adminToken, big)

	// Partner: authentication and account.
	c.call(401, "GET", "/partner/partners", "", nil)
	c.call(401, "GET", "/partner/partners", "wgp_nope", nil)
	c.call(200, "GET", "/partner/partners?token="+acmeToken, "", nil)
	c.call(200, "GET", "/partner/partners/acme/settings", acmeToken, nil)
	c.call(403, "GET", "/partner/partners/beta/settings", acmeToken, nil)
	c.call(200, "PATCH", "/partner/partners/acme/settings", acmeToken,
		map[string]any{"webhooks": []any{map[string]any{"url": "https://hooks.example/acme"},
			map[string]any{"url": "http://hooks.example/c", "mode": "path", "events": []any{map[string]any{"type": "channel"}}}},
			"days_limit": 7})
	c.call(200, "GET", "/partner/partners/acme/settings", acmeToken, nil)
	c.call(400, "PATCH", "/partner/partners/acme/settings", acmeToken, map[string]any{"webhooks": []any{map[string]any{"url": "ftp://x"}}})
	c.call(403, "PATCH", "/partner/partners/beta/settings", acmeToken, map[string]any{})
	c.call(413, "PATCH", "/partner/partners/acme/settings", acmeToken, big)

	// Partner: projects.
	proj := c.call(200, "PUT", "/partner/projects", acmeToken, map[string]any{"name": "Shop"})
	projID := str(proj, "id")
	c.call(400, "PUT", "/partner/projects", acmeToken, map[string]any{"name": " "})
	c.call(413, "PUT", "/partner/projects", acmeToken, big)
	c.call(200, "GET", "/partner/projects", acmeToken, nil)
	c.call(400, "GET", "/partner/projects?offset=x", acmeToken, nil)
	c.call(200, "GET", "/partner/projects/"+projID, acmeToken, nil)
	c.call(200, "GET", "/partner/projects/default", acmeToken, nil)
	c.call(404, "GET", "/partner/projects/nope", acmeToken, nil)
	c.call(200, "PATCH", "/partner/projects/"+projID, acmeToken, map[string]any{"name": "Shop 2"})
	c.call(400, "PATCH", "/partner/projects/"+projID, acmeToken, map[string]any{"name": ""})
	c.call(404, "PATCH", "/partner/projects/aaaaaaaaaaaaaaaaaaaa", acmeToken, map[string]any{"name": "x"})
	c.call(413, "PATCH", "/partner/projects/"+projID, acmeToken, big)
	c.call(409, "DELETE", "/partner/projects/default", acmeToken, nil)
	c.call(404, "DELETE", "/partner/projects/nope", acmeToken, nil)

	// Partner: channels.
	ch := c.call(200, "PUT", "/partner/channels", acmeToken, map[string]any{"name": "=sum(A1)", "projectId": projID, "phone": "4915112345678"})
	chID := str(ch, "id")
	ch2 := c.call(200, "PUT", "/partner/channels", acmeToken, map[string]any{"name": "second"})
	ch2ID := str(ch2, "id")
	c.call(400, "PUT", "/partner/channels", acmeToken, map[string]any{"projectId": projID})
	c.call(400, "PUT", "/partner/channels", acmeToken, map[string]any{"name": "x", "projectId": "aaaaaaaaaaaaaaaaaaaa"})
	c.call(400, "PUT", "/partner/channels", acmeToken, `[]`)
	c.call(413, "PUT", "/partner/channels", acmeToken, big)
	c.call(409, "DELETE", "/partner/projects/"+projID, acmeToken, nil) // not empty

	c.call(200, "GET", "/partner/channels/list", acmeToken, nil)
	c.call(200, "GET", "/partner/channels/list?count=1&offset=1", acmeToken, nil)
	c.call(400, "GET", "/partner/channels/list?count=0", acmeToken, nil)
	c.call(200, "GET", "/partner/channels/list/"+projID, acmeToken, nil)
	c.call(200, "GET", "/partner/channels/list/default", acmeToken, nil)
	c.call(400, "GET", "/partner/channels/list/default?offset=-1", acmeToken, nil)
	c.call(404, "GET", "/partner/channels/list/nope", acmeToken, nil)
	c.call(200, "GET", "/partner/channels/export", acmeToken, nil)

	c.call(200, "GET", "/partner/channels/"+chID, acmeToken, nil)
	c.call(404, "GET", "/partner/channels/"+chID, betaToken, nil) // another partner's
	c.call(404, "GET", "/partner/channels/nope", acmeToken, nil)

	c.call(200, "PATCH", "/partner/channels/"+chID, acmeToken, map[string]any{"name": "Shop line", "phone": "", "projectId": "default"})
	c.call(400, "PATCH", "/partner/channels/"+chID, acmeToken, map[string]any{"phone": "+49 151"})
	c.call(400, "PATCH", "/partner/channels/"+chID, acmeToken, nil)
	c.call(404, "PATCH", "/partner/channels/AAAAAA-AAAAA", acmeToken, map[string]any{})
	c.call(413, "PATCH", "/partner/channels/"+chID, acmeToken, big)

	c.call(200, "POST", "/partner/channels/"+chID+"/extend", acmeToken, map[string]any{"days": 10, "comment": "month", "amount": 9.5, "currency": "USD"})
	c.call(402, "POST", "/partner/channels/"+chID+"/extend", acmeToken, map[string]any{"days": 3000})
	c.call(400, "POST", "/partner/channels/"+chID+"/extend", acmeToken, map[string]any{"days": 0})
	c.call(400, "POST", "/partner/channels/"+chID+"/extend", acmeToken, map[string]any{"days": 1.5})
	c.call(404, "POST", "/partner/channels/AAAAAA-AAAAA/extend", acmeToken, map[string]any{"days": 1})
	c.call(413, "POST", "/partner/channels/"+chID+"/extend", acmeToken, big)

	c.call(200, "PATCH", "/partner/channels/"+chID+"/mode", acmeToken, map[string]any{"mode": "dev"})
	c.call(200, "PATCH", "/partner/channels/"+chID+"/mode", acmeToken, map[string]any{"mode": "live"})
	c.call(400, "PATCH", "/partner/channels/"+chID+"/mode", acmeToken, map[string]any{})
	c.call(400, "PATCH", "/partner/channels/"+chID+"/mode", acmeToken, map[string]any{"mode": "sandbox"})
	if got := c.call(200, "PATCH", "/partner/channels/"+chID+"/mode", acmeToken, map[string]any{"mode": "dev_archive"}); str(got["channel"].(map[string]any), "status") != "archived" {
		t.Errorf("dev_archive: %v", got)
	}
	c.call(409, "GET", "/users/profile", str(ch, "token"), nil) // archived: not running
	c.call(200, "PATCH", "/partner/channels/"+chID+"/mode", acmeToken, map[string]any{"mode": "live"})
	c.call(404, "PATCH", "/partner/channels/AAAAAA-AAAAA/mode", acmeToken, map[string]any{"mode": "live"})
	c.call(413, "PATCH", "/partner/channels/"+chID+"/mode", acmeToken, big)

	c.call(200, "POST", "/partner/channels/"+chID+"/stop", acmeToken, nil)
	c.call(200, "POST", "/partner/channels/"+chID+"/start", acmeToken, nil)
	c.call(200, "POST", "/partner/channels/"+chID+"/restart", acmeToken, nil)
	c.call(400, "POST", "/partner/channels/"+chID+"/stop", acmeToken, `{"saveDays":"yes"}`)
	c.call(404, "POST", "/partner/channels/AAAAAA-AAAAA/stop", acmeToken, nil)
	c.call(413, "POST", "/partner/channels/"+chID+"/stop", acmeToken, big)
	// Live since the switch, with exactly 10 paid days: saveDays returns all
	// of them and leaves no time, so the channel cannot restart.
	stopped := c.call(200, "POST", "/partner/channels/"+chID+"/stop", acmeToken, map[string]any{"saveDays": true})
	if stopped["daysRefunded"] != float64(10) {
		t.Errorf("stop with saveDays refunded %v days, want 10", stopped["daysRefunded"])
	}
	c.call(402, "POST", "/partner/channels/"+chID+"/restart", acmeToken, nil)
	c.call(404, "POST", "/partner/channels/AAAAAA-AAAAA/start", acmeToken, nil)
	c.call(404, "POST", "/partner/channels/AAAAAA-AAAAA/restart", acmeToken, nil)

	// Time passes: the trial channel expires and can no longer start.
	clk.Advance(5 * 24 * time.Hour)
	c.call(200, "GET", "/partner/channels/"+ch2ID, acmeToken, nil)
	c.call(402, "POST", "/partner/channels/"+ch2ID+"/start", acmeToken, nil)
	c.call(402, "POST", "/partner/channels/"+ch2ID+"/restart", acmeToken, nil)
	c.call(200, "GET", "/partner/channels/export", acmeToken, nil)

	// A channel born without free days (beta has trial_days 0).
	ch3 := c.call(200, "PUT", "/partner/channels", betaToken, map[string]any{"name": "no trial"})
	c.call(402, "POST", "/partner/channels/"+str(ch3, "id")+"/start", betaToken, nil)

	// The creation rate limit.
	c.call(200, "PATCH", "/admin/settings", adminToken, map[string]any{"channel_create_limit": 1, "channel_create_window_minutes": 60})
	c.call(200, "PUT", "/partner/channels", acmeToken, map[string]any{"name": "last one"})
	c.call(429, "PUT", "/partner/channels", acmeToken, map[string]any{"name": "one too many"})
	c.call(200, "PATCH", "/admin/settings", adminToken, map[string]any{"channel_create_limit": 0})
	c.call(200, "PATCH", "/admin/settings", adminToken, map[string]any{"limit_messages_per_day": 200, "limit_requests_per_month": nil})
	c.call(400, "PATCH", "/admin/settings", adminToken, map[string]any{"limit_checks_per_day": -1})

	c.call(200, "GET", "/partner/channels/"+ch2ID+"/webhooks/log?count=5", acmeToken, nil)
	c.call(400, "GET", "/partner/channels/"+ch2ID+"/webhooks/log?status=lost", acmeToken, nil)
	c.call(404, "POST", "/partner/channels/"+ch2ID+"/webhooks/log/whd_NOPE/redeliver", acmeToken, nil)
	c.call(400, "POST", "/settings/webhook_test", str(ch2, "token"), map[string]any{"url": "ftp://x"})
	c.call(200, "POST", "/settings/webhook_test", str(ch2, "token"), map[string]any{"url": "https://hooks.example.test/x"})
	c.call(413, "POST", "/settings/webhook_test", str(ch2, "token"), big)
	testGate(t, c, big, acmeToken, str(ch2, "token"))
	testMessagesChatsMedia(t, c, acmeToken, str(ch2, "token"))
	testGroupsContactsPresences(t, c, acmeToken, str(ch2, "token"))
	testExtras(t, c, acmeToken, str(ch2, "token"))
	testStoriesNewslettersCommunities(t, c, acmeToken, str(ch2, "token"))
	testCallsPollsReceivedMedia(t, c, acmeToken)     // calls_conformance_test.go
	testBusiness(t, c, acmeToken, str(ch2, "token")) // business_conformance_test.go
	testAppStateLabels(t, c, acmeToken)              // appstate_conformance_test.go

	c.call(200, "DELETE", "/partner/channels/"+chID, acmeToken, nil)
	c.call(200, "DELETE", "/partner/channels/"+ch2ID, acmeToken, nil)
	c.call(404, "DELETE", "/partner/channels/"+chID, acmeToken, nil)
	c.call(200, "DELETE", "/partner/projects/"+projID, acmeToken, nil)

	c.call(200, "GET", "/partner/ledger", acmeToken, nil)
	c.call(200, "GET", "/partner/ledger?count=2&offset=1", acmeToken, nil)
	c.call(400, "GET", "/partner/ledger?count=abc", acmeToken, nil)
	c.call(200, "GET", "/admin/partners/"+acmeID+"/ledger", adminToken, nil)
	c.call(400, "GET", "/admin/partners/"+acmeID+"/ledger?offset=-3", adminToken, nil)
	c.call(404, "GET", "/admin/partners/nope/ledger", adminToken, nil)
	c.call(200, "GET", "/admin/audit?actor=partner&count=5", adminToken, nil)
	c.call(400, "GET", "/admin/audit?count=0", adminToken, nil)
	c.call(401, "GET", "/admin/audit", acmeToken, nil)
	c.call(200, "GET", "/metrics", adminToken, nil)
	c.call(401, "GET", "/metrics", acmeToken, nil)

	// The same handler through Wrap and a recorder.
	for _, path := range []string{"/livez", "/", "/openapi.json"} {
		rec := httptest.NewRecorder()
		wrapped.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	}

	if un := v.Uncovered(); len(un) > 0 {
		t.Errorf("operations no response reached:\n%s", strings.Join(un, "\n"))
	}
	if testing.Verbose() {
		seen := make([]string, 0, len(c.seen))
		for k := range c.seen {
			seen = append(seen, k)
		}
		sort.Strings(seen)
		t.Logf("%d distinct requests; coverage: %v", len(seen), v.Covered())
	}
}

// testGate drives the gate API (channel token), the simulated network, the
// proxy pool and the partner API's logout and proxy routes, with a new
// channel of the partner with token ptok; expiredToken is a channel out of
// days.
func testGate(t *testing.T, c *apiClient, big []byte, ptok, expiredToken string) {
	t.Helper()
	waitHealth := func(tok, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			h := c.call(200, "GET", "/health?wakeup=false", tok, nil)
			if st, _ := h["status"].(map[string]any); st["text"] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("health stayed %v, want %s", h["status"], want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	const alice, bob, nobody = "15550001111", "15550002222", "15559999999"
	ch := c.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "gate"})
	id, tok := str(ch, "id"), str(ch, "token")

	// Health, authentication, and a channel out of days.
	c.call(200, "GET", "/health", tok, nil)
	c.call(200, "GET", "/health?token="+tok, "", nil)
	c.call(400, "GET", "/health?wakeup=maybe", tok, nil)
	c.call(401, "GET", "/health", "", nil)
	c.call(401, "GET", "/health", ptok, nil) // a partner token is not a channel token
	c.call(401, "GET", "/settings", "", nil)
	c.call(401, "GET", "/settings/events", "nope", nil)
	c.call(401, "GET", "/limits", "", nil)
	c.call(402, "GET", "/users/login", expiredToken, nil)
	c.call(402, "GET", "/users/profile", expiredToken, nil)
	c.call(200, "GET", "/health", expiredToken, nil)

	// Login by QR code.
	c.call(409, "GET", "/users/profile", tok, nil) // not logged in
	c.call(200, "GET", "/users/login/rowdata?wakeup=false", tok, nil)
	qr := c.call(200, "GET", "/users/login", tok, nil)
	c.call(200, "GET", "/users/login?wakeup=false&size=128&color_dark=%23112233", tok, nil)
	c.call(400, "GET", "/users/login?size=10", tok, nil)
	c.call(200, "GET", "/users/login/rowdata", tok, nil)
	c.call(200, "GET", "/users/login/image?width=256&color_light=fafafa", tok, nil)
	c.call(400, "GET", "/users/login/image?color_dark=zz", tok, nil)
	c.call(409, "POST", "/users/logout", tok, nil)
	c.call(409, "POST", "/partner/channels/"+id+"/logout", ptok, nil)
	c.call(400, "POST", "/partner/channels/"+id+"/logout?force=maybe", ptok, nil)
	c.call(404, "POST", "/partner/channels/AAAAAA-AAAAA/logout", ptok, nil)

	// The simulated network: phones, linking.
	c.call(401, "GET", "/admin/sim/phones", ptok, nil)
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": alice, "name": "Alice"})
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": bob, "name": "Bob"})
	c.call(409, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": alice, "name": "Again"})
	c.call(400, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": "+1 555", "name": "X"})
	c.call(413, "POST", "/admin/sim/phones", adminToken, big)
	c.call(200, "GET", "/admin/sim/phones", adminToken, nil)
	c.call(404, "GET", "/admin/sim/phones/"+nobody, adminToken, nil)
	c.call(400, "POST", "/admin/sim/phones/"+alice+"/link", adminToken, map[string]any{"qr": "2@not,a,real,code"})
	c.call(400, "POST", "/admin/sim/phones/"+alice+"/link", adminToken, map[string]any{})
	c.call(404, "POST", "/admin/sim/phones/"+nobody+"/link", adminToken, map[string]any{"qr": str(qr, "rowdata")})
	c.call(413, "POST", "/admin/sim/phones/"+alice+"/link", adminToken, big)
	c.call(200, "POST", "/admin/sim/phones/"+alice+"/link", adminToken, map[string]any{"qr": str(qr, "rowdata")})
	c.call(410, "POST", "/admin/sim/phones/"+bob+"/link", adminToken, map[string]any{"qr": str(qr, "rowdata")}) // used
	waitHealth(tok, "AUTH")
	c.call(200, "GET", "/admin/sim/phones/"+alice, adminToken, nil)
	c.call(200, "GET", "/partner/channels/"+id, ptok, nil)

	// The engine, and WhatsApp's failure modes played by the sim.
	c.call(200, "GET", "/admin/engine", adminToken, nil)
	c.call(200, "GET", "/admin/cluster", adminToken, nil)
	c.call(401, "GET", "/admin/cluster", ptok, nil)
	c.call(401, "GET", "/admin/engine", ptok, nil)
	c.call(501, "POST", "/admin/engine/client-version", adminToken, nil)
	c.call(200, "POST", "/admin/sim/channels/"+id+"/faults", adminToken, map[string]any{"kind": "stream_error", "code": 503})
	waitHealth(tok, "AUTH")
	c.call(400, "POST", "/admin/sim/channels/"+id+"/faults", adminToken, map[string]any{"kind": "meltdown"})
	c.call(400, "POST", "/admin/sim/channels/"+id+"/faults", adminToken, map[string]any{"kind": "ban", "seconds": -1})
	c.call(400, "POST", "/admin/sim/channels/"+id+"/faults", adminToken, `{"kind":1}`)
	c.call(409, "POST", "/admin/sim/channels/NOTRUN-00000/faults", adminToken, map[string]any{"kind": "disconnect"})
	c.call(404, "POST", "/admin/sim/channels/bad%20id/faults", adminToken, map[string]any{"kind": "disconnect"})
	c.call(413, "POST", "/admin/sim/channels/"+id+"/faults", adminToken, big)
	c.call(200, "GET", "/admin/sim/channels/"+id, adminToken, nil)
	c.call(404, "GET", "/admin/sim/channels/bad%20id", adminToken, nil)
	c.call(200, "GET", "/admin/sim/sessions", adminToken, nil)
	c.call(409, "GET", "/users/login", tok, nil)
	c.call(409, "GET", "/users/login/rowdata", tok, nil)
	c.call(409, "GET", "/users/login/image", tok, nil)
	c.call(409, "GET", "/users/login/"+bob, tok, nil)
	c.call(400, "GET", "/users/login/12ab", tok, nil)

	// Profile.
	c.call(200, "GET", "/users/profile", tok, nil)
	c.call(200, "PATCH", "/users/profile", tok, map[string]any{"about": "Open 9-5", "name": "Alice's shop"})
	c.call(400, "PATCH", "/users/profile", tok, map[string]any{"name": "Al"})
	c.call(400, "PATCH", "/users/profile", tok, map[string]any{})
	c.call(400, "PATCH", "/users/profile", tok, map[string]any{"icon": ""})
	c.call(200, "PATCH", "/users/profile", tok, map[string]any{"icon": dataURI("image/png", onePixelPNG(t))})
	c.call(415, "PATCH", "/users/profile", tok, map[string]any{"icon": dataURI("image/gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))})
	c.call(400, "PATCH", "/users/profile", tok, nil)
	c.call(413, "PATCH", "/users/profile", tok, big)

	// Messages between two phones.
	sent := c.call(201, "POST", "/admin/sim/phones/"+bob+"/messages", adminToken, map[string]any{"to": alice, "body": "hi Alice"})
	msg, _ := sent["message"].(map[string]any)
	c.call(400, "POST", "/admin/sim/phones/"+bob+"/messages", adminToken, map[string]any{"to": alice, "body": " "})
	c.call(404, "POST", "/admin/sim/phones/"+bob+"/messages", adminToken, map[string]any{"to": nobody, "body": "x"})
	c.call(200, "GET", "/admin/sim/phones/"+alice+"/messages", adminToken, nil)
	c.call(200, "GET", "/admin/sim/phones/"+bob+"/messages?box=sent", adminToken, nil)
	c.call(400, "GET", "/admin/sim/phones/"+bob+"/messages?box=spam", adminToken, nil)
	c.call(404, "GET", "/admin/sim/phones/"+nobody+"/messages", adminToken, nil)
	c.call(200, "POST", "/admin/sim/phones/"+alice+"/read", adminToken, map[string]any{"ids": []any{str(msg, "id")}})
	c.call(400, "POST", "/admin/sim/phones/"+alice+"/read", adminToken, map[string]any{"ids": []any{}})
	c.call(404, "POST", "/admin/sim/phones/"+alice+"/read", adminToken, map[string]any{"ids": []any{"nope"}})
	g := c.call(201, "POST", "/admin/sim/phones/"+bob+"/groups", adminToken, map[string]any{"subject": "Team", "participants": []string{alice}})
	c.call(200, "GET", "/admin/sim/phones/"+bob+"/groups", adminToken, nil)
	c.call(200, "POST", "/admin/sim/phones/"+bob+"/groups/"+str(g, "id")+"/participants", adminToken, map[string]any{"promote": []string{alice}})
	c.call(200, "POST", "/admin/sim/phones/"+bob+"/react", adminToken, map[string]any{"id": str(msg, "id"), "emoji": "👍"})
	c.call(200, "POST", "/admin/sim/phones/"+bob+"/presence", adminToken, map[string]any{"to": alice, "state": "typing"})
	c.call(413, "POST", "/admin/sim/phones/"+alice+"/read", adminToken, big)

	// Settings, events and limits.
	c.call(200, "GET", "/settings", tok, nil)
	c.call(409, "DELETE", "/settings", tok, nil)
	c.call(200, "PATCH", "/settings", tok, map[string]any{
		"webhooks": []any{map[string]any{"url": "https://hooks.example/wa", "headers": map[string]any{"X-Key": "k"},
			"events": []any{map[string]any{"type": "messages"}, map[string]any{"type": "statuses", "method": "put"}}}},
		"media": map[string]any{"auto_download": []any{"image", "image", "voice"}}, "callback_backoff_delay_ms": 5000,
		"webhook_max_age_seconds": 3600, "proxy": "socks5://user:pw@127.0.0.1:1080",
	})
	c.call(200, "PATCH", "/settings", tok, map[string]any{})
	c.call(400, "PATCH", "/settings", tok, map[string]any{"proxy": "socks5h://h:1"})
	c.call(400, "PATCH", "/settings", tok, `{"offline_mode":"yes"}`)
	c.call(200, "PATCH", "/settings", tok, nil) // no body: nothing changes
	c.call(413, "PATCH", "/settings", tok, big)
	c.call(200, "GET", "/settings", tok, nil)
	c.call(200, "GET", "/partner/channels/"+id, ptok, nil) // with its proxy
	waitHealth(tok, "AUTH")
	c.call(200, "DELETE", "/settings", tok, nil)
	waitHealth(tok, "AUTH")
	c.call(200, "GET", "/settings/events", tok, nil)
	c.call(200, "GET", "/limits", tok, nil)

	// The proxy pool, and moving the channel between proxies.
	c.call(200, "GET", "/admin/proxies", adminToken, nil)
	c.call(401, "GET", "/admin/proxies", ptok, nil)
	c.call(400, "PUT", "/admin/proxies", adminToken, map[string]any{})
	c.call(400, "PUT", "/admin/proxies", adminToken, map[string]any{"proxies": []any{"socks5://127.0.0.1:1081", "socks5h://x:1"}})
	c.call(400, "PUT", "/admin/proxies", adminToken, map[string]any{"proxies": "socks5://127.0.0.1:1081"})
	c.call(413, "PUT", "/admin/proxies", adminToken, big)
	c.call(200, "PUT", "/admin/proxies", adminToken,
		map[string]any{"proxies": []any{"socks5://user:secret@127.0.0.1:1081", "http://127.0.0.1:1082", "http://127.0.0.1:1082"}})
	c.call(200, "POST", "/partner/channels/"+id+"/proxy", ptok, nil)
	waitHealth(tok, "AUTH")
	c.call(200, "POST", "/partner/channels/"+id+"/proxy", ptok, map[string]any{})
	waitHealth(tok, "AUTH")
	c.call(200, "GET", "/admin/proxies", adminToken, nil)
	c.call(200, "POST", "/partner/channels/"+id+"/proxy", ptok, map[string]any{"proxy": "https://10.0.0.1:3128"})
	waitHealth(tok, "AUTH")
	c.call(400, "POST", "/partner/channels/"+id+"/proxy", ptok, map[string]any{"proxy": "nope"})
	c.call(400, "POST", "/partner/channels/"+id+"/proxy", ptok, `{"proxy":1}`)
	c.call(404, "POST", "/partner/channels/AAAAAA-AAAAA/proxy", ptok, nil)
	c.call(413, "POST", "/partner/channels/"+id+"/proxy", ptok, big)
	c.call(200, "PUT", "/admin/proxies", adminToken, map[string]any{"proxies": []any{}})
	c.call(503, "POST", "/partner/channels/"+id+"/proxy", ptok, nil)

	// Logout through the gate, pairing code, hard unlink through the
	// partner API, and unlinking from the phone.
	c.call(200, "POST", "/users/logout", tok, nil)
	c.call(409, "POST", "/users/logout", tok, nil)
	pc := c.call(200, "GET", "/users/login/"+bob, tok, nil)
	c.call(200, "POST", "/admin/sim/phones/"+bob+"/link", adminToken, map[string]any{"code": str(pc, "code")})
	waitHealth(tok, "AUTH")
	c.call(200, "POST", "/partner/channels/"+id+"/logout?force=true", ptok, nil)
	qr = c.call(200, "GET", "/users/login", tok, nil)
	c.call(200, "POST", "/admin/sim/phones/"+bob+"/link", adminToken, map[string]any{"qr": str(qr, "rowdata")})
	waitHealth(tok, "AUTH")
	c.call(200, "POST", "/partner/channels/"+id+"/logout", ptok, nil)
	c.call(200, "POST", "/admin/sim/phones/"+bob+"/unlink", adminToken, nil)
	c.call(404, "POST", "/admin/sim/phones/"+nobody+"/unlink", adminToken, nil)

	// Stopped by the partner: 409 on the routes that need the channel
	// running; live: no limits.
	c.call(200, "POST", "/partner/channels/"+id+"/stop", ptok, nil)
	c.call(409, "GET", "/users/login", tok, nil)
	c.call(409, "POST", "/users/logout", tok, nil)
	c.call(409, "GET", "/users/profile", tok, nil)
	c.call(200, "GET", "/settings", tok, nil)
	c.call(200, "POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 2})
	c.call(200, "PATCH", "/partner/channels/"+id+"/mode", ptok, map[string]any{"mode": "live"})
	c.call(204, "GET", "/limits", tok, nil)
	c.call(200, "DELETE", "/partner/channels/"+id, ptok, nil)
	c.call(401, "GET", "/health", tok, nil)
}
