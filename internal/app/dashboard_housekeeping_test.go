package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestDashboardWrongMethod: a dashboard path asked with a method it does
// not serve answers 405 with Allow (an unknown path stays 404).
func TestDashboardWrongMethod(t *testing.T) {
	e := dashEnv(t)
	b := e.browser("203.0.113.50")
	for _, c := range []struct{ method, path, allow string }{
		{"GET", "/ui/logout", "POST"},
		{"POST", "/ui/channels/export", "GET, HEAD"},
		{"DELETE", "/ui/login", "GET, HEAD, POST"},
	} {
		p := b.do(c.method, c.path, nil, nil)
		if p.status != http.StatusMethodNotAllowed || p.header.Get("Allow") != c.allow {
			t.Fatalf("%s %s: %d Allow %q, want 405 Allow %q", c.method, c.path, p.status, p.header.Get("Allow"), c.allow)
		}
		mustContain(t, c.method+" "+c.path, p.body, "does not answer "+c.method+" requests")
	}
	if p := b.do("GET", "/ui/no-such-page", nil, nil); p.status != http.StatusNotFound {
		t.Fatalf("unknown page: %d", p.status)
	}
}

// TestAPIURLFromBoundAddress: without WAGATE_PUBLIC_URL, a server on an
// ephemeral port reports the port it got, never ":0".
func TestAPIURLFromBoundAddress(t *testing.T) {
	cfg := testConfig(t, storetest.Backends(t)[0])
	cfg.PublicURL = ""
	srv := startServer(t, cfg, app.Options{BcryptCost: 4})
	want := "http://" + srv.Addr() + "/"
	if got := srv.Service().APIURL(); got != want || strings.Contains(got, ":0/") {
		t.Fatalf("APIURL = %q, want %q", got, want)
	}
	api := &liveServer{t: t, base: "http://" + srv.Addr(), client: &http.Client{Timeout: 10 * time.Second}}
	p := api.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "bound", "email": "b@bound.test", "days": 3})
	ptok, _ := p["token"].(string)
	ch := api.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "x"})
	if ch["apiUrl"] != want {
		t.Fatalf("channel apiUrl = %v, want %q", ch["apiUrl"], want)
	}
}
