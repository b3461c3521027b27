package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestTrustedProxies: behind a proxy in WAGATE_TRUSTED_PROXIES, the
// client's X-Forwarded-For address is the one login limits count and the
// audit log shows, and X-Forwarded-Proto: https makes dashboard cookies
// Secure; the same headers from any other peer change nothing.
func TestTrustedProxies(t *testing.T) {
	e := newEnvWith(t, openapitest.New(t), storetest.Backends(t)[0], func(c *config.Config, o *app.Options) {
		c.TrustedProxies = "192.0.2.0/24"
		o.LoginLimit = service.LoginLimit{PerIP: 3, PerAccount: 3, SlowAfter: 1000, Delay: time.Millisecond,
			MaxDelay: time.Millisecond, Window: 15 * time.Minute}
	})
	e.partner("tp", 5)
	viaProxy := func(client, proto string) *browser {
		b := e.browser("192.0.2.10")
		b.header = map[string]string{"X-Forwarded-For": client, "X-Forwarded-Proto": proto}
		return b
	}
	sessionCookie := func(b *browser) *http.Cookie {
		t.Helper()
		c := b.cookies["wagate_session"]
		if c == nil {
			t.Fatal("no session cookie")
		}
		return c
	}

	// Secure cookies: believed from the proxy only.
	op := viaProxy("203.0.113.50", "https")
	op.loginOperator(adminToken)
	if !sessionCookie(op).Secure {
		t.Error("a login through the trusted proxy over HTTPS got a cookie without Secure")
	}
	spoof := e.browser("198.51.100.77")
	spoof.header = map[string]string{"X-Forwarded-For": "203.0.113.99", "X-Forwarded-Proto": "https"}
	spoof.loginOperator(adminToken)
	if sessionCookie(spoof).Secure {
		t.Error("an untrusted peer's X-Forwarded-Proto made the cookie Secure")
	}

	// The audit log shows the forwarded client, and the untrusted peer as
	// itself.
	op.get(200, "/ui/admin/partners")
	op.post(http.StatusOK, "/ui/admin/partners", "name", "viaproxy", "email", "ops@viaproxy.test", "password", "long enough pw")
	spoof.get(200, "/ui/admin/partners")
	spoof.post(http.StatusOK, "/ui/admin/partners", "name", "spoofed", "email", "ops@spoofed.test", "password", "long enough pw")
	req := httptest.NewRequest("POST", "/admin/partners", strings.NewReader(`{"name":"apiproxy","email":"a@apiproxy.test"}`))
	req.RemoteAddr = "192.0.2.11:5555"
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.60")
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /admin/partners via the proxy: %d %s", rec.Code, rec.Body)
	}
	_, raw := e.do("GET", "/admin/audit?action=partner.create", adminToken, nil)
	var log struct {
		Entries []struct {
			After json.RawMessage `json:"after"`
			Actor struct{ IP string }
		} `json:"entries"`
	}
	if err := json.Unmarshal(raw, &log); err != nil {
		t.Fatal(err)
	}
	ips := map[string]string{}
	for _, en := range log.Entries {
		var a struct{ Name string }
		_ = json.Unmarshal(en.After, &a)
		ips[a.Name] = en.Actor.IP
	}
	for name, want := range map[string]string{"viaproxy": "203.0.113.50", "spoofed": "198.51.100.77", "apiproxy": "203.0.113.60"} {
		if ips[name] != want {
			t.Errorf("%s created from %q, want %s (all: %v)", name, ips[name], want, ips)
		}
	}

	// Login limits count forwarded clients apart: one client's guesses
	// through the proxy do not lock the next client of the same proxy out.
	guess := func(b *browser, want int, password string) {
		t.Helper()
		b.get(200, "/ui/login")
		b.post(want, "/ui/login", "kind", "partner", "email", "tp@example.test", "password", password)
	}
	a := viaProxy("203.0.113.70", "https")
	for range 3 {
		guess(a, http.StatusUnauthorized, "guess guess")
	}
	guess(a, http.StatusTooManyRequests, "correct horse")
	guess(viaProxy("203.0.113.71", "https"), http.StatusSeeOther, "correct horse")
	// An untrusted peer cannot escape its limit by making up addresses.
	att := e.browser("198.51.100.88")
	for i := range 3 {
		att.header = map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", 100+i)}
		guess(att, http.StatusUnauthorized, "guess guess")
	}
	att.header = map[string]string{"X-Forwarded-For": "203.0.113.200"}
	guess(att, http.StatusTooManyRequests, "correct horse")
}
