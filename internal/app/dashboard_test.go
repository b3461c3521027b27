package app_test

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store/storetest"
)

// browser is a dashboard client through the real router: it keeps cookies,
// does not follow redirects, and comes from one address.
type browser struct {
	t       *testing.T
	h       http.Handler
	ip      string
	cookies map[string]*http.Cookie
	// last is the last page's body, where forms' CSRF tokens are read.
	last string
	// header is sent with every request (a reverse proxy's headers).
	header map[string]string
}

// answer is one answer of the dashboard.
type answer struct {
	status   int
	body     string
	location string
	header   http.Header
	cookies  []*http.Cookie
}

func (e *env) browser(ip string) *browser {
	return &browser{t: e.t, h: e.srv.Handler(), ip: ip, cookies: map[string]*http.Cookie{}}
}

func (b *browser) do(method, path string, form url.Values, header map[string]string) answer {
	b.t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	req.RemoteAddr = b.ip + ":40000"
	req.Header.Set("Accept", "text/html")
	for k, v := range b.header {
		req.Header.Set(k, v)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	res := rec.Result()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	p := answer{status: rec.Code, body: rec.Body.String(), location: res.Header.Get("Location"), header: res.Header, cookies: res.Cookies()}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		b.last = p.body
	}
	return p
}

// get loads a page that must answer want.
func (b *browser) get(want int, path string) answer {
	b.t.Helper()
	p := b.do("GET", path, nil, nil)
	if p.status != want {
		b.t.Fatalf("GET %s: %d, want %d\n%s", path, p.status, want, p.body)
	}
	return p
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token is the CSRF token of the last page's forms.
func (b *browser) token() string {
	b.t.Helper()
	m := csrfRE.FindStringSubmatch(b.last)
	if m == nil {
		b.t.Fatalf("no CSRF token on the last page:\n%s", b.last)
	}
	return m[1]
}

// post sends a form with the last page's CSRF token; it must answer want.
func (b *browser) post(want int, path string, fields ...string) answer {
	b.t.Helper()
	form := url.Values{"csrf": {b.token()}}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Add(fields[i], fields[i+1])
	}
	p := b.do("POST", path, form, nil)
	if p.status != want {
		b.t.Fatalf("POST %s: %d, want %d\n%s", path, p.status, want, p.body)
	}
	return p
}

// act posts a form that redirects (303) and loads where it leads; it
// returns that page, with its flash message.
func (b *browser) act(path string, fields ...string) answer {
	b.t.Helper()
	p := b.post(http.StatusSeeOther, path, fields...)
	return b.get(http.StatusOK, p.location)
}

// loginPartner logs in with email and password.
func (b *browser) loginPartner(email, password string) answer {
	b.t.Helper()
	b.get(200, "/ui/login")
	return b.post(http.StatusSeeOther, "/ui/login", "kind", "partner", "email", email, "password", password)
}

func (b *browser) loginOperator(token string) answer {
	b.t.Helper()
	b.get(200, "/ui/login")
	return b.post(http.StatusSeeOther, "/ui/login", "kind", "operator", "token", token)
}

func mustContain(t *testing.T, what, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Fatalf("%s does not show %q:\n%s", what, p, body)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(body, p) {
			t.Fatalf("%s shows %q:\n%s", what, p, body)
		}
	}
}

func dashEnv(t *testing.T) *env {
	return newEnv(t, openapitest.New(t), storetest.Backends(t)[0])
}

// balanceOf reads a partner's balance through the partner API.
func (e *env) balanceOf(ptok string) int64 {
	e.t.Helper()
	return num(e.ok(200, "GET", "/partner/partners", ptok, nil)["balance"])
}

func TestDashboardLoginSessionAndCSRF(t *testing.T) {
	e := dashEnv(t)
	_, ptok := e.partner("acme", 30)
	b := e.browser("192.0.2.10")

	// Browsers asking for / land on the dashboard; API clients still get JSON.
	if p := b.do("GET", "/", nil, nil); p.status != http.StatusSeeOther || p.location != "/ui/" {
		t.Fatalf("GET / from a browser: %d %q", p.status, p.location)
	}
	if code, body := e.do("GET", "/", "", nil); code != 200 || !strings.Contains(string(body), `"openapi"`) {
		t.Fatalf("GET / from an API client: %d %s", code, body)
	}
	// Pages need a session; the login page sends back after it.
	if p := b.get(http.StatusSeeOther, "/ui/channels?id=X"); p.location != "/ui/login?next="+url.QueryEscape("/ui/channels?id=X") {
		t.Fatalf("no session: location %q", p.location)
	}

	// The login form carries a double-submit token: without it, or with
	// another, nothing happens.
	b.get(200, "/ui/login")
	p := b.do("POST", "/ui/login", url.Values{"kind": {"partner"}, "email": {"acme@example.test"}, "password": {"correct horse"}}, nil)
	if p.status != http.StatusForbidden || b.cookies["wagate_session"] != nil {
		t.Fatalf("login without token: %d, cookies %v", p.status, b.cookies)
	}
	p = b.do("POST", "/ui/login", url.Values{"csrf": {"forged"}, "kind": {"partner"}, "email": {"acme@example.test"}, "password": {"correct horse"}}, nil)
	if p.status != http.StatusForbidden || b.cookies["wagate_session"] != nil {
		t.Fatalf("login with a forged token: %d", p.status)
	}
	b.get(200, "/ui/login")
	p = b.post(http.StatusUnauthorized, "/ui/login", "kind", "partner", "email", "acme@example.test", "password", "wrong password")
	mustContain(t, "bad login", p.body, "Wrong email or password.")

	p = b.loginPartner("ACME@example.test", "correct horse")
	if p.location != "/ui/dashboard" {
		t.Fatalf("login went to %q", p.location)
	}
	sc := b.cookies["wagate_session"]
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure || sc.Path != "/ui/" || sc.MaxAge != int((12*time.Hour).Seconds()) {
		t.Fatalf("session cookie = %+v", sc)
	}
	d := b.get(200, "/ui/dashboard")
	mustContain(t, "dashboard", d.body, "acme@example.test", `class="badge partner">Partner<`, "Balance: <strong>30 days</strong>", "Add channel")
	if csp := d.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || d.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("page headers: %v", d.header)
	}

	// Every form needs the session's CSRF token.
	count := func() int64 { return num(e.ok(200, "GET", "/partner/channels/list", ptok, nil)["total"]) }
	for name, form := range map[string]url.Values{
		"no token":    {"name": {"Shop"}},
		"wrong token": {"name": {"Shop"}, "csrf": {strings.Repeat("0", 64)}},
	} {
		if p := b.do("POST", "/ui/channels", form, nil); p.status != http.StatusForbidden {
			t.Fatalf("%s: %d", name, p.status)
		}
	}
	// A token of another session of the same partner does not fit.
	other := e.browser("192.0.2.11")
	other.loginPartner("acme@example.test", "correct horse")
	other.get(200, "/ui/dashboard")
	if p := b.do("POST", "/ui/channels", url.Values{"name": {"Shop"}, "csrf": {other.token()}}, nil); p.status != http.StatusForbidden {
		t.Fatalf("another session's token: %d", p.status)
	}
	// A cross-site post is refused even with the right token.
	b.get(200, "/ui/dashboard")
	if p := b.do("POST", "/ui/channels", url.Values{"name": {"Shop"}, "csrf": {b.token()}},
		map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}); p.status != http.StatusForbidden {
		t.Fatalf("cross-site post: %d", p.status)
	}
	if n := count(); n != 0 {
		t.Fatalf("refused forms created %v channels", n)
	}
	p = b.act("/ui/channels", "name", "Shop")
	mustContain(t, "new channel page", p.body, "created in trial mode", "Shop")
	if n := count(); n != 1 {
		t.Fatalf("channels after Add channel = %v", n)
	}

	// Logging out ends the session on the server: the old cookie is dead.
	old := *b.cookies["wagate_session"]
	p = b.post(http.StatusSeeOther, "/ui/logout")
	if p.location != "/ui/login?m=out" || b.cookies["wagate_session"] != nil {
		t.Fatalf("logout: %q, cookies %v", p.location, b.cookies)
	}
	b.cookies["wagate_session"] = &old
	b.get(http.StatusSeeOther, "/ui/dashboard")
	if p := b.do("POST", "/ui/channels", url.Values{"name": {"After logout"}, "csrf": {other.token()}}, nil); p.status != http.StatusUnauthorized {
		t.Fatalf("post with a logged-out cookie: %d", p.status)
	}
	other.get(200, "/ui/dashboard") // the other session lives on
	if n := count(); n != 1 {
		t.Fatalf("channels = %v", n)
	}
}

func TestDashboardSessionExpiry(t *testing.T) {
	e := dashEnv(t)
	_, ptok := e.partner("exp", 30)
	b := e.browser("192.0.2.20")
	b.loginPartner("exp@example.test", "correct horse")
	b.get(200, "/ui/dashboard")
	csrf := b.token()

	e.clock.Advance(12*time.Hour - time.Minute)
	b.get(200, "/ui/ledger")
	e.clock.Advance(time.Minute)
	if p := b.get(http.StatusSeeOther, "/ui/ledger"); !strings.HasPrefix(p.location, "/ui/login?next=") {
		t.Fatalf("expired session went to %q", p.location)
	}
	p := b.do("POST", "/ui/channels", url.Values{"name": {"Late"}, "csrf": {csrf}}, nil)
	if p.status != http.StatusUnauthorized {
		t.Fatalf("post after expiry: %d", p.status)
	}
	mustContain(t, "expired post", p.body, "Your session has ended")
	if n := num(e.ok(200, "GET", "/partner/channels/list", ptok, nil)["total"]); n != 0 {
		t.Fatalf("a post after expiry created %v channels", n)
	}
	// Logging in again works, and the operator's session expires the same way.
	b.loginPartner("exp@example.test", "correct horse")
	b.get(200, "/ui/dashboard")
	op := e.browser("192.0.2.21")
	op.loginOperator(adminToken)
	op.get(200, "/ui/admin/partners")
	e.clock.Advance(12 * time.Hour)
	op.get(http.StatusSeeOther, "/ui/admin/partners")
}

func TestDashboardTenancy(t *testing.T) {
	e := dashEnv(t)
	_, tokA := e.partner("alpha", 10)
	_, tokB := e.partner("beta", 10)
	chB := e.channel(tokB, "Beta's channel")
	idB := chB["id"].(string)
	e.ok(200, "POST", "/partner/channels/"+idB+"/extend", tokB, map[string]any{"days": 3})

	a := e.browser("192.0.2.40")
	a.loginPartner("alpha@example.test", "correct horse")
	for _, path := range []string{"/ui/channels/" + idB, "/ui/channels/" + idB + "/status", "/ui/channels/" + idB + "/qr",
		"/ui/channels/" + idB + "/settings", "/ui/channels/" + idB + "/webhooks"} {
		p := a.get(http.StatusNotFound, path)
		mustContain(t, path, p.body, "There is no such channel in your account.")
		mustNotContain(t, path, p.body, "Beta&#39;s channel", chB["token"].(string))
	}
	if p := a.do("GET", "/ui/channels/"+idB+"/qr.json", nil, nil); p.status != http.StatusNotFound || strings.Contains(p.body, "qr\"") {
		t.Fatalf("qr.json of another partner's channel: %d %s", p.status, p.body)
	}
	p := a.get(http.StatusNotFound, "/ui/channels?id="+idB)
	mustContain(t, "search", p.body, "No channel with ID")
	mustNotContain(t, "search", p.body, chB["token"].(string))
	a.get(200, "/ui/dashboard")
	for _, action := range []string{"extend", "restart", "logout", "proxy", "mode", "delete", "rename", "sim/link", "sim/message"} {
		// Actions either answer the 404 page or go back with the message.
		form := url.Values{"csrf": {a.token()}, "days": {"1"}, "mode": {"live"}, "name": {"mine"}, "phone": {"15550009999"}, "body": {"x"}}
		p := a.do("POST", "/ui/channels/"+idB+"/"+action, form, nil)
		if p.status == http.StatusSeeOther {
			p = a.do("GET", p.location, nil, nil)
		} else if p.status != http.StatusNotFound {
			t.Fatalf("%s on another partner's channel: %d", action, p.status)
		}
		mustContain(t, action+" on another partner's channel", p.body, "There is no such channel in your account.")
	}
	got := e.ok(200, "GET", "/partner/channels/"+idB, tokB, nil)
	if got["name"] != "Beta's channel" || got["mode"] != "trial" {
		t.Fatalf("B's channel changed: %v", got)
	}
	if e.balanceOf(tokA) != 10 || e.balanceOf(tokB) != 7 {
		t.Fatalf("balances A %v B %v", e.balanceOf(tokA), e.balanceOf(tokB))
	}
	// The CSV holds only A's channels.
	e.channel(tokA, "Alpha's channel")
	csvPage := a.get(200, "/ui/channels/export")
	mustContain(t, "A's CSV", csvPage.body, "Alpha's channel")
	mustNotContain(t, "A's CSV", csvPage.body, idB)

	// Partners and the operator stay on their own pages.
	mustContain(t, "operator page as partner", a.get(http.StatusForbidden, "/ui/admin/partners").body, "This page is for the operator.")
	op := e.browser("192.0.2.41")
	op.loginOperator(adminToken)
	mustContain(t, "partner page as operator", op.get(http.StatusForbidden, "/ui/channels/"+idB).body, "This page is for partners.")
}

func TestDashboardChannelActions(t *testing.T) {
	e := dashEnv(t)
	_, ptok := e.partner("shop", 40)
	b := e.browser("192.0.2.50")
	b.loginPartner("shop@example.test", "correct horse")
	b.get(200, "/ui/dashboard")
	p := b.post(http.StatusSeeOther, "/ui/channels", "name", "Flower shop", "phone", "4915112345678")
	id := strings.TrimPrefix(p.location, "/ui/channels/")
	ch := e.ok(200, "GET", "/partner/channels/"+id, ptok, nil)
	if ch["name"] != "Flower shop" {
		t.Fatalf("created channel = %v", ch)
	}
	page := b.get(200, p.location)
	mustContain(t, "channel page", page.body, id, ch["token"].(string), "Reload", "Unlink WA account", "Hard Unlink", "Change proxy", "Extend", "Delete channel")

	// Bad input changes nothing and says why.
	for _, tc := range []struct{ days, msg string }{
		{"abc", "Days must be a whole number."},
		{"0", "Days must be a whole number from 1 to"},
		{"41", "Not enough days on the balance"},
	} {
		p := b.act("/ui/channels/"+id+"/extend", "days", tc.days)
		mustContain(t, "extend "+tc.days, p.body, `class="flash error"`, tc.msg)
	}
	if bal := e.balanceOf(ptok); bal != 40 {
		t.Fatalf("balance after refused extends = %v", bal)
	}
	p = b.act("/ui/channels/"+id+"/extend", "days", "10", "comment", "invoice 1")
	mustContain(t, "extend", p.body, "extended by 10 days", "Balance: 30 days", "Balance: <strong>30 days</strong>")
	p = b.act("/ui/channels/"+id+"/mode", "mode", "gold")
	mustContain(t, "bad mode", p.body, "Mode must be one of trial, dev, dev_archive, live.")
	p = b.act("/ui/channels/"+id+"/mode", "mode", "live")
	mustContain(t, "live", p.body, "now in Live mode")
	if got := e.ok(200, "GET", "/partner/channels/"+id, ptok, nil); got["mode"] != "live" {
		t.Fatalf("mode through the API = %v", got["mode"])
	}
	p = b.act("/ui/channels/" + id + "/logout")
	mustContain(t, "unlink unlinked", p.body, "Channel already logged out.")
	p = b.act("/ui/channels/"+id+"/proxy", "proxy", "ftp://nope")
	mustContain(t, "bad proxy", p.body, "Proxy must be a proxy URL like socks5://")
	p = b.act("/ui/channels/" + id + "/proxy")
	mustContain(t, "empty pool", p.body, "The operator&#39;s proxy pool has no proxy")

	// Search by ID (any case), then the CSV.
	p = b.get(200, "/ui/channels?id="+strings.ToLower(id))
	mustContain(t, "search", p.body, `id="found"`, ch["token"].(string), "Live")
	rows, err := csv.NewReader(strings.NewReader(b.get(200, "/ui/channels/export").body)).ReadAll()
	if err != nil || len(rows) != 2 || !slices.Equal(rows[0], service.ExportColumns) || rows[1][1] != id || rows[1][7] != "Live" {
		t.Fatalf("CSV = %v, %v", rows, err)
	}

	// Delete shows the refund: 10 paid days less the part of a day used.
	p = b.act("/ui/channels/"+id+"/delete", "return", "/ui/channels?id="+id)
	if !strings.Contains(p.body, "deleted. 10 days returned") && !strings.Contains(p.body, "deleted. 9 days returned") {
		t.Fatalf("delete flash:\n%s", p.body)
	}
	if bal := e.balanceOf(ptok); bal < 39 {
		t.Fatalf("balance after delete = %v", bal)
	}
	b.get(http.StatusNotFound, "/ui/channels/"+id)
}

func TestDashboardOperator(t *testing.T) {
	e := dashEnv(t)
	op := e.browser("192.0.2.60")
	p := op.loginOperator(adminToken)
	if p.location != "/ui/admin/partners" {
		t.Fatalf("operator login went to %q", p.location)
	}
	op.get(200, "/ui/admin/partners")

	// A bad email keeps what was typed and creates nothing.
	p = op.post(http.StatusBadRequest, "/ui/admin/partners", "name", "newco", "email", "not an email", "password", "long enough pw", "days", "12")
	mustContain(t, "bad partner", p.body, "Email must be a plain address", `value="newco"`, `value="12"`)
	if n := num(e.ok(200, "GET", "/admin/partners", adminToken, nil)["total"]); n != 0 {
		t.Fatalf("partners after a refused create = %v", n)
	}
	p = op.post(http.StatusOK, "/ui/admin/partners", "name", "newco", "email", "ops@newco.test", "password", "long enough pw", "days", "12", "trial_days", "3")
	mustContain(t, "created partner", p.body, "Partner newco created with 12 days.", `id="partner-token"`)
	tok := regexp.MustCompile(`value="(wgp_[A-Za-z0-9]+)"`).FindStringSubmatch(p.body)
	if tok == nil {
		t.Fatalf("no API token shown:\n%s", p.body)
	}
	me := e.ok(200, "GET", "/partner/partners", tok[1], nil)
	pid := me["id"].(string)
	if num(me["balance"]) != 12 {
		t.Fatalf("new partner through its token = %v", me)
	}
	p = op.act("/ui/admin/partners/"+pid+"/days", "days", "-20", "comment", "too much")
	mustContain(t, "over-debit", p.body, "Not enough days on the balance")
	p = op.act("/ui/admin/partners/"+pid+"/days", "days", "8", "comment", "invoice 7")
	mustContain(t, "credit", p.body, "Credited 8 days. Balance: 20 days.", "invoice 7")
	p = op.act("/ui/admin/partners/"+pid+"/trial-days", "trial_days", "400")
	mustContain(t, "bad trial days", p.body, "Trial days must be from 0 to 365")
	p = op.act("/ui/admin/partners/"+pid+"/trial-days", "trial_days", "")
	mustContain(t, "default trial days", p.body, "default (5)")

	// The partner logs in with the password the operator chose; a new
	// password ends the partner's sessions.
	pb := e.browser("192.0.2.61")
	pb.loginPartner("ops@newco.test", "long enough pw")
	pb.get(200, "/ui/dashboard")
	op.get(200, "/ui/admin/partners/"+pid)
	op.act("/ui/admin/partners/"+pid+"/password", "password", "another password")
	pb.get(http.StatusSeeOther, "/ui/dashboard")
	pb.loginPartner("ops@newco.test", "another password")

	// The proxy pool: a bad line changes nothing; add, then remove.
	op.get(200, "/ui/admin/proxies")
	p = op.post(http.StatusBadRequest, "/ui/admin/proxies", "proxies", "socks5://u:secret@10.0.0.1:1080\nnot a proxy")
	mustContain(t, "bad proxy", p.body, "A proxy you entered must be a proxy URL")
	p = op.act("/ui/admin/proxies", "proxies", "socks5://u:secret@10.0.0.1:1080\nhttp://10.0.0.2:3128")
	mustContain(t, "pool", p.body, "The pool has 2 proxies.", "socks5://u:xxxxx@10.0.0.1:1080")
	mustNotContain(t, "pool", p.body, "secret")
	id := regexp.MustCompile(`name="id" value="([0-9a-f]+)"`).FindStringSubmatch(p.body)[1]
	p = op.act("/ui/admin/proxies/remove", "id", id)
	mustContain(t, "removed", p.body, "Removed ")
	if px := e.ok(200, "GET", "/admin/proxies", adminToken, nil)["proxies"].([]any); len(px) != 1 {
		t.Fatalf("pool through the API = %v", px)
	}

	// Operator settings.
	op.get(200, "/ui/admin/settings")
	p = op.act("/ui/admin/settings", "trial_days", "7", "channel_create_limit", "20", "channel_create_window_minutes", "30",
		"limit_messages_per_day", "150", "limit_chats_per_month", "5", "limit_checks_per_day", "100", "limit_requests_per_month", "1000")
	mustContain(t, "settings", p.body, "Settings saved.", `value="7"`)
	if s := e.ok(200, "GET", "/admin/settings", adminToken, nil); num(s["trial_days"]) != 7 {
		t.Fatalf("settings through the API = %v", s)
	}
}

// TestDashboardPasswordChangeEndsSessions: a new password set through the
// operator API logs out whoever was logged in with the old one.
func TestDashboardPasswordChangeEndsSessions(t *testing.T) {
	e := dashEnv(t)
	id, _ := e.partner("pwd", 5)
	b := e.browser("192.0.2.30")
	b.loginPartner("pwd@example.test", "correct horse")
	b.get(200, "/ui/dashboard")
	e.ok(200, "PATCH", "/admin/partners/"+id, adminToken, map[string]any{"password": "a new password 2"})
	if p := b.get(http.StatusSeeOther, "/ui/dashboard"); !strings.HasPrefix(p.location, "/ui/login") {
		t.Fatalf("the old session went to %q after a password change", p.location)
	}
	b.get(200, "/ui/login")
	b.post(http.StatusUnauthorized, "/ui/login", "kind", "partner", "email", "pwd@example.test", "password", "correct horse")
	b.loginPartner("pwd@example.test", "a new password 2")
	b.get(200, "/ui/dashboard")
}

// TestDashboardAccount: the partner sets its low-balance alert and its own
// webhooks on the Account page, through the same service as the partner
// API; bad input changes nothing.
func TestDashboardAccount(t *testing.T) {
	e := dashEnv(t)
	_, ptok := e.partner("acct", 10)
	settings := func() string { return fmtJSON(e.ok(200, "GET", "/partner/partners/acct/settings", ptok, nil)) }
	b := e.browser("192.0.2.60")
	b.loginPartner("acct@example.test", "correct horse")
	p := b.get(200, "/ui/account")
	mustContain(t, "account page", p.body, "Low-balance alert", "No webhooks")

	p = b.act("/ui/account/days-limit", "days_limit", "3")
	mustContain(t, "days limit", p.body, `class="flash ok"`, "falls to 3 days")
	if s := settings(); !strings.Contains(s, `"days_limit":3`) {
		t.Fatalf("settings after the form = %s", s)
	}
	p = b.act("/ui/account/days-limit", "days_limit", "many")
	mustContain(t, "bad days limit", p.body, `class="flash error"`, "whole number")
	p = b.act("/ui/account/webhooks", "url", "http://127.0.0.1:9/x", "events", "channel")
	mustContain(t, "private URL", p.body, `class="flash error"`)
	p = b.act("/ui/account/webhooks", "url", "https://hooks.example.test/p", "events", "tea")
	mustContain(t, "bad event", p.body, `class="flash error"`)
	if s := settings(); !strings.Contains(s, `"days_limit":3`) || strings.Contains(s, "hooks.example.test") {
		t.Fatalf("bad input changed the settings: %s", s)
	}

	p = b.act("/ui/account/webhooks", "url", "https://hooks.example.test/p", "events", "channel", "events", "days",
		"mode", "path", "secret", "a-secret-of-24-characters")
	mustContain(t, "webhook added", p.body, `class="flash ok"`, "https://hooks.example.test/p", "set")
	mustNotContain(t, "account page", p.body, "a-secret-of-24-characters")
	if s := settings(); !strings.Contains(s, `"url":"https://hooks.example.test/p"`) || !strings.Contains(s, `"mode":"path"`) || !strings.Contains(s, `"type":"days"`) {
		t.Fatalf("settings after adding a webhook = %s", s)
	}
	b.post(http.StatusSeeOther, "/ui/account/webhooks/remove", "index", "0", "url", "https://other.example.test/")
	if s := settings(); !strings.Contains(s, "hooks.example.test") {
		t.Fatalf("a stale remove removed the webhook: %s", s)
	}
	b.get(200, "/ui/account")
	p = b.act("/ui/account/webhooks/remove", "index", "0", "url", "https://hooks.example.test/p")
	mustContain(t, "webhook removed", p.body, `class="flash ok"`, "No webhooks")
	p = b.act("/ui/account/days-limit", "days_limit", "")
	mustContain(t, "alert removed", p.body, "removed")
	if s := settings(); !strings.Contains(s, `"days_limit":7`) || strings.Contains(s, "hooks.example.test") { // back to the default
		t.Fatalf("settings after removing all = %s", s)
	}
}
