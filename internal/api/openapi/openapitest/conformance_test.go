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
}

// call sends body (nil: none; string or []byte: raw; else JSON) with token
// (empty: none) and wants status. It returns the decoded JSON answer (nil
// when it is not a JSON object).
func (c *apiClient) call(want int, method, path, token string, body any) map[string]any {
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
	if resp.StatusCode != want {
		c.t.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	c.seen[method+" "+path+" "+resp.Status] = true
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
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
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := app.New(ctx, cfg, log, app.Options{Now: clk.Now, BcryptCost: 4})
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
	c.call(400, "PATCH", "/partner/channels/"+chID+"/mode", acmeToken, map[string]any{"mode": "dev_archive"})
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
