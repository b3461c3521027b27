package app_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store/storetest"
)

// EnvScreenshots names the directory the browser test writes its
// screenshots to (docs/screenshots to refresh the README's); a temporary
// directory when unset, so test runs leave the tree clean.
const EnvScreenshots = "WAGATE_SCREENSHOTS"

// chromium finds Debian's chromium (or another Chrome). Without one the
// browser test is skipped locally, and fails in CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium found; CI must install it (apt-get install -y chromium)")
	}
	t.Skip("no chromium found; install it (apt-get install -y chromium) to run the browser test")
	return ""
}

// ui drives one headless browser tab.
type ui struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string // screenshots
}

func (u *ui) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		u.t.Fatalf("%s: %v", what, err)
	}
}

// open loads a dashboard path and waits for its body.
func (u *ui) open(path string) {
	u.t.Helper()
	u.do("open "+path, chromedp.Navigate(u.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

func (u *ui) click(sel string) {
	u.t.Helper()
	u.do("click "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// fill sets a form field's value (inputs and selects).
func (u *ui) fill(sel, value string) {
	u.t.Helper()
	u.do("fill "+sel, chromedp.WaitReady(chromedp.CSS(sel)), chromedp.SetValue(chromedp.CSS(sel), value))
}

// js evaluates an expression in the page (promises awaited).
func js[T any](u *ui, expr string) T {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		u.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// textOf is an element's text ("" when there is none), read without
// waiting.
func (u *ui) textOf(sel string) string {
	ctx, cancel := context.WithTimeout(u.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`(function(){var e=document.querySelector(`+strconv.Quote(sel)+`);return e?e.textContent:"";})()`))
	if err != nil {
		return "" // the page is navigating
	}
	return strings.Join(strings.Fields(s), " ")
}

// waitText waits until an element's text contains want, across page loads.
func (u *ui) waitText(sel, want string) string {
	u.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := u.textOf(sel)
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			loc, _ := chromedp.Run(u.ctx, chromedp.Location())
			u.t.Fatalf("%s at %s says %q, want %q", sel, loc, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// submit clicks a form's button and waits for the flash message after the
// redirect; it returns the message.
func (u *ui) submit(button, want string) string {
	u.t.Helper()
	u.click(button)
	return u.waitText("#flash", want)
}

func (u *ui) value(sel string) string {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		u.t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

func (u *ui) path() string {
	u.t.Helper()
	loc := js[string](u, `location.pathname + location.search`)
	return loc
}

// shot writes a screenshot of the whole page.
func (u *ui) shot(name string) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		u.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(u.dir, name+".png"), png, 0o644); err != nil {
		u.t.Fatal(err)
	}
}

// hookReceiver is a webhook receiver that records the event types it got.
type hookReceiver struct {
	mu     sync.Mutex
	bodies []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, string(raw))
	h.mu.Unlock()
}

func (h *hookReceiver) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

func (h *hookReceiver) got(part string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.ContainsFunc(h.bodies, func(b string) bool { return strings.Contains(b, part) })
}

// TestDashboardBrowser drives the real dashboard in headless Chromium
// against a real server on the sim engine: the operator creates a partner
// and fills the proxy pool; the partner adds a channel, finds it by ID,
// links it by QR with a simulated phone while the QR page refreshes, presses
// every control and checks each result on screen and through the API,
// extends it, switches it to live, exports the CSV, deletes it and sees the
// refund, and logs out.
func TestDashboardBrowser(t *testing.T) {
	chrome := chromium(t)
	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig(t, storetest.Backends(t)[0])
	cfg.WebhookAllowPrivate = true
	cfg.PublicURL = ""
	srv := startServer(t, cfg, app.Options{BcryptCost: 4,
		Sim: sim.Options{QRFirst: 4 * time.Second, QRNext: 3 * time.Second, QRCount: 100}})
	base := "http://" + srv.Addr()
	api := &liveServer{t: t, base: base, client: &http.Client{Timeout: 10 * time.Second}}
	hooks := &hookReceiver{}
	receiver := httptest.NewServer(hooks)
	defer receiver.Close()
	up1, up2 := httptest.NewServer(http.NotFoundHandler()), httptest.NewServer(http.NotFoundHandler())
	defer up1.Close()
	defer up2.Close()

	ctx := browserTab(t, chrome)
	u := &ui{t: t, ctx: ctx, base: base, dir: dir}

	// The operator logs in with the admin token: a browser asking for /
	// lands on the login page.
	u.open("/")
	u.waitText("h1", "Log in to wagate")
	u.shot("login")
	u.fill("#login-token", adminToken)
	u.click("#login-operator-submit")
	u.waitText("h1", "Partners")
	u.fill("#partner-name", "acme")
	u.fill("#partner-email", "ops@acme.test")
	u.fill("#partner-password", "correct horse")
	u.fill("#partner-days", "30")
	u.submit("#btn-create-partner", "Partner acme created with 30 days.")
	ptok := u.value("#partner-token")
	if me := api.call(200, "GET", "/partner/partners", ptok, nil); num(me["balance"]) != 30 {
		t.Fatalf("the new partner through its token: %v", me)
	}
	u.fill("#credit-days", "5")
	u.fill("#credit-comment", "welcome bonus")
	u.submit("#btn-credit", "Credited 5 days. Balance: 35 days.")
	u.waitText("table.ledger", "welcome bonus")
	u.shot("operator-partner")
	u.open("/ui/admin/partners")
	u.waitText("#partner-table", "ops@acme.test")
	u.shot("operator-partners")
	u.open("/ui/admin/proxies")
	u.fill("#proxies-input", "socks5://user:secret@"+strings.TrimPrefix(up1.URL, "http://")+"\nhttp://"+strings.TrimPrefix(up2.URL, "http://"))
	u.submit("#btn-add-proxies", "The pool has 2 proxies.")
	if strings.Contains(u.textOf("#proxy-table"), "secret") {
		t.Fatal("the proxy page shows a password")
	}
	u.shot("operator-proxies")
	u.click("#logout")
	u.waitText("#notice", "You are logged out.")

	// The partner logs in: the header shows the email, the Partner label
	// and the balance.
	u.fill("#login-email", "ops@acme.test")
	u.fill("#login-password", "correct horse")
	u.click("#login-partner-submit")
	u.waitText("h1", "Dashboard")
	if got := u.textOf("header"); !strings.Contains(got, "ops@acme.test Partner Balance: 35 days") {
		t.Fatalf("header = %q", got)
	}
	u.fill("#add-name", "Flower shop")
	u.submit("#btn-add-channel", "created in trial mode")
	id := u.textOf("#channel-id")
	ch := api.call(200, "GET", "/partner/channels/"+id, ptok, nil)
	if ch["name"] != "Flower shop" || ch["mode"] != "trial" {
		t.Fatalf("the new channel through the API: %v", ch)
	}
	chTok := ch["token"].(string)
	u.open("/ui/dashboard")
	u.waitText("#channel-table", id)
	u.shot("dashboard")

	// Partner -> Channels: search by ID loads the channel's details above
	// the list, with its token and a copy button.
	u.click("#nav-channels")
	u.waitText("h1", "Channels")
	u.fill("#search-id", strings.ToLower(id))
	u.click("#btn-search")
	u.waitText("#found", "Active until")
	if got := u.value("#token-" + id); got != chTok {
		t.Fatalf("token on the search result = %q, want %q", got, chTok)
	}
	if got := u.textOf("#found #mode"); !strings.Contains(got, "Trial") {
		t.Fatalf("mode on the search result = %q", got)
	}
	u.click("#found [data-copy]")
	u.waitText("#found [data-copy]", "Copied")
	u.shot("channels")
	// On a phone's screen the page reflows: nothing is wider than the screen.
	u.do("phone viewport", chromedp.EmulateViewport(390, 844))
	if w := js[int](u, `document.documentElement.scrollWidth`); w > 390 {
		t.Fatalf("on a 390px screen the channels page is %dpx wide", w)
	}
	u.shot("channels-phone")
	u.do("desktop viewport", chromedp.EmulateViewport(1280, 900))

	// The QR page shows the code and follows it as it rotates.
	u.click("#found #btn-qr")
	u.waitText("h2", "Scan with WhatsApp")
	u.do("QR image", chromedp.WaitVisible(chromedp.CSS("#qr-image")))
	code := js[string](u, `document.getElementById("qr-box").dataset.code`)
	if code == "" || !strings.HasPrefix(js[string](u, `document.getElementById("qr-image").src`), "data:image/png;base64,") {
		t.Fatal("no QR code on the QR page")
	}
	u.shot("qr")
	deadline := time.Now().Add(15 * time.Second)
	for js[string](u, `document.getElementById("qr-box").dataset.code`) == code {
		if time.Now().After(deadline) {
			t.Fatal("the QR page did not follow the rotating code")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A phone scans the current code (outside the browser): the page
	// switches to "linked" by itself.
	const alice = "15551230001"
	api.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": alice, "name": "Alice"})
	qr := api.call(200, "GET", "/users/login/rowdata", chTok, nil)
	api.call(200, "POST", "/admin/sim/phones/"+alice+"/link", adminToken, map[string]any{"qr": qr["rowdata"]})
	u.waitText("#qr-linked-account", "+"+alice)
	u.shot("qr-linked")
	api.authAs(chTok, alice)

	// The channel's buttons, each checked on screen and through the API.
	u.open("/ui/channels/" + id)
	u.waitText("#wa-account", "+"+alice)
	u.shot("channel")
	u.click("#btn-status")
	u.waitText("#status-text", "AUTH")
	u.waitText("#status-account", "+"+alice+" · Alice")
	u.shot("status")

	u.click("a[href$='/settings']")
	u.fill("#webhook-url", receiver.URL+"/hook")
	u.submit("#btn-add-webhook", "Webhook "+receiver.URL+"/hook added.")
	u.waitText("#webhook-table", receiver.URL+"/hook")
	settings := api.call(200, "GET", "/settings", chTok, nil)
	if hs, _ := settings["webhooks"].([]any); len(hs) != 1 || hs[0].(map[string]any)["url"] != receiver.URL+"/hook" {
		t.Fatalf("webhooks through the API: %v", settings["webhooks"])
	}
	u.shot("settings")

	// The sim panel sends a message in; it reaches the webhook and the log.
	u.open("/ui/channels/" + id)
	u.fill("#sim-body", "Do you deliver on Sundays?")
	u.submit("#btn-sim-message", "sent “Do you deliver on Sundays?”")
	eventually(t, "the webhook got the message", func() bool { return hooks.got("Do you deliver on Sundays?") })
	u.open("/ui/channels/" + id + "/webhooks")
	u.waitText("#delivery-table", "messages.post")
	u.waitText("#delivery-table", "delivered")
	u.shot("webhooks")
	before := hooks.count()
	u.submit("#delivery-table button[type=submit]", "queued again.")
	eventually(t, "the redelivery reached the webhook", func() bool { return hooks.count() > before })

	u.open("/ui/channels/" + id)
	u.submit("#btn-reload", "is restarting; its WhatsApp login is kept.")
	api.authAs(chTok, alice)

	msg := u.submit("#btn-proxy", "now connects through")
	if !strings.Contains(msg, strings.TrimPrefix(up1.URL, "http://")) && !strings.Contains(msg, strings.TrimPrefix(up2.URL, "http://")) {
		t.Fatalf("change proxy said %q", msg)
	}
	if px, _ := api.call(200, "GET", "/partner/channels/"+id, ptok, nil)["proxy"].(map[string]any); px == nil || px["host"] == "" {
		t.Fatalf("proxy through the API: %v", px)
	}
	api.authAs(chTok, alice)

	u.fill("#form-extend input[name=days]", "10")
	u.fill("#form-extend input[name=comment]", "invoice 1001")
	u.submit("#btn-extend", "extended by 10 days")
	u.waitText("#balance", "25 days")
	if bal := api.call(200, "GET", "/partner/partners", ptok, nil)["balance"]; num(bal) != 25 {
		t.Fatalf("balance through the API after extend = %v", bal)
	}
	u.fill("#form-extend input[name=days]", "1000")
	u.submit("#btn-extend", "Not enough days on the balance")
	u.fill("#mode-select", "live")
	u.submit("#btn-mode", "now in Live mode")
	u.waitText("#mode", "Live")
	if got := api.call(200, "GET", "/partner/channels/"+id, ptok, nil); got["mode"] != "live" {
		t.Fatalf("mode through the API = %v", got["mode"])
	}

	u.submit("#btn-unlink", "WhatsApp account unlinked")
	api.health(chTok, "QR")
	if got := api.call(200, "GET", "/partner/channels/"+id, ptok, nil); got["linked"] == true {
		t.Fatalf("still linked after Unlink: %v", got)
	}
	// Link again from the channel page's sim panel, then hard unlink.
	u.submit("#btn-sim-link", "scanned the QR code")
	api.authAs(chTok, simNumberOf(t, u))
	u.open("/ui/channels/" + id)
	u.submit("#btn-hard-unlink", "Hard unlink done")
	api.health(chTok, "QR")

	// The pairing code links too, and the QR page notices.
	u.open("/ui/channels/" + id + "/qr")
	u.fill("#pair-phone", alice)
	u.click("#btn-pair")
	pair := u.waitText("#pair-code", "-")
	if len(strings.ReplaceAll(pair, "-", "")) != 8 {
		t.Fatalf("pairing code = %q", pair)
	}
	api.call(200, "POST", "/admin/sim/phones/"+alice+"/link", adminToken, map[string]any{"code": pair})
	u.waitText("#qr-linked-account", "+"+alice)
	api.authAs(chTok, alice)

	// The CSV, fetched with the browser's session.
	u.open("/ui/channels")
	if href := js[string](u, `document.getElementById("btn-export").getAttribute("href")`); href != "/ui/channels/export" {
		t.Fatalf("export button goes to %q", href)
	}
	raw := js[string](u, `fetch("/ui/channels/export").then(r => r.text())`)
	rows, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil || len(rows) != 2 || !slices.Equal(rows[0], service.ExportColumns) {
		t.Fatalf("CSV = %q (%v)", raw, err)
	}
	if rows[1][0] != "Flower shop" || rows[1][1] != id || rows[1][5] != "live" || rows[1][7] != "Live" {
		t.Fatalf("CSV row = %q", rows[1])
	}

	u.open("/ui/ledger")
	u.waitText("table.ledger", "invoice 1001")
	u.shot("ledger")

	// Account: the low-balance alert and a partner webhook.
	u.click("#nav-account")
	u.fill("#days-limit", "5")
	u.submit("#btn-days-limit", "falls to 5 days")
	u.fill("#partner-webhook-url", "https://hooks.example.test/partner")
	u.submit("#btn-add-partner-webhook", "added.")
	u.waitText("#partner-webhook-table", "https://hooks.example.test/partner")
	if s := fmtJSON(api.call(200, "GET", "/partner/partners/acme/settings", ptok, nil)); !strings.Contains(s, `"days_limit":5`) || !strings.Contains(s, "hooks.example.test/partner") {
		t.Fatalf("partner settings after the Account page: %s", s)
	}
	u.shot("account")

	// Delete: the refund is shown and lands on the balance.
	u.open("/ui/channels?id=" + id)
	msg = u.submit("#found #btn-delete", "deleted.")
	var refunded int
	for _, f := range strings.Fields(msg) {
		if n, err := strconv.Atoi(f); err == nil {
			refunded = n
			break
		}
	}
	if refunded < 9 || !strings.Contains(msg, "returned to your balance") {
		t.Fatalf("delete said %q", msg)
	}
	bal := num(api.call(200, "GET", "/partner/partners", ptok, nil)["balance"])
	if bal != int64(25+refunded) {
		t.Fatalf("balance after delete = %d, want %d", bal, 25+refunded)
	}
	u.waitText("#balance", strconv.FormatInt(bal, 10)+" days")
	api.call(404, "GET", "/partner/channels/"+id, ptok, nil)

	// The audit log holds every change this test made on the dashboard,
	// each under the actor that made it.
	checkAuditOfBrowserTest(t, api, id)

	// Log out: the dashboard needs a login again.
	u.click("#logout")
	u.waitText("#notice", "You are logged out.")
	u.open("/ui/dashboard")
	u.waitText("#notice", "Log in to continue.")
	if p := u.path(); !strings.HasPrefix(p, "/ui/login?next=") {
		t.Fatalf("after logout /ui/dashboard shows %s", p)
	}
}

// simNumberOf reads the number the channel page's sim panel suggested.
func simNumberOf(t *testing.T, u *ui) string {
	t.Helper()
	var n string
	raw := js[string](u, `JSON.stringify(Array.from(document.querySelectorAll("#flash")).map(e => e.textContent))`)
	var msgs []string
	_ = json.Unmarshal([]byte(raw), &msgs)
	for _, m := range msgs {
		for _, f := range strings.Fields(m) {
			if strings.HasPrefix(f, "+") && len(f) > 8 {
				n = strings.TrimPrefix(f, "+")
				break
			}
		}
	}
	if n == "" {
		t.Fatalf("no phone number in %q", raw)
	}
	return n
}

// eventually waits for a condition.
func eventually(t *testing.T, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkAuditOfBrowserTest reads the audit log after TestDashboardBrowser's
// actions and checks that each change is there, made by the operator or the
// partner as it was (and the links and unlinks as the system's), about
// the channel where it was one.
func checkAuditOfBrowserTest(t *testing.T, api *liveServer, channelID string) {
	t.Helper()
	entries := api.call(200, "GET", "/admin/audit?count=500", adminToken, nil)["entries"].([]any)
	got := map[string]int{} // "actor action" -> count
	for _, e := range entries {
		m := e.(map[string]any)
		if ch, _ := m["channel_id"].(string); ch != "" && ch != channelID {
			continue
		}
		actor, _ := m["actor"].(map[string]any)
		got[fmt.Sprint(actor["kind"], " ", m["action"])]++
	}
	want := map[string]int{
		"operator partner.create":         1, // Create partner
		"operator partner.days":           1, // Credit
		"operator proxies.replace":        1, // the proxy pool
		"partner channel.create":          1, // Add channel
		"partner channel.settings_update": 1, // a webhook added
		"partner channel.restart":         1, // Reload
		"partner channel.proxy":           1, // Change proxy
		"partner channel.extend":          1, // Extend (the refused one changes nothing)
		"partner channel.mode":            1, // Mode live
		"partner channel.logout":          2, // Unlink, Hard unlink
		"partner partner.settings_update": 1, // days_limit, the partner's webhook
		"partner channel.delete":          1, // Delete
		"system channel.link":             3, // the phone scanned the QR code, then again, then a pairing code
		"system channel.unlink":           2, // Unlink and Hard unlink took the phone off
	}
	for k, n := range want {
		if got[k] < n {
			t.Errorf("audit log: %d entries %q, want at least %d (all: %v)", got[k], k, n, got)
		}
	}
}

// browserTab starts headless Chromium (the binary at chrome) with one tab,
// closed when the test ends, that accepts confirmation dialogs as a user
// would.
func browserTab(t *testing.T, chrome string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return ctx
}
