package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/store/storetest"
)

// browserRig is a real server on the sim engine with a headless Chromium
// tab on it, for the browser tests of the newer pages. Its clock is the
// real one plus an offset the test may move forward.
type browserRig struct {
	u      *ui
	api    *liveServer
	srv    *app.Server
	offset atomic.Int64 // nanoseconds added to the real clock
}

func (rg *browserRig) advance(d time.Duration) { rg.offset.Add(int64(d)) }

func newBrowserRig(t *testing.T) *browserRig {
	t.Helper()
	chrome := chromium(t)
	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rg := &browserRig{}
	cfg := testConfig(t, storetest.Backends(t)[0])
	cfg.WebhookAllowPrivate = true
	cfg.PublicURL = ""
	srv := startServer(t, cfg, app.Options{BcryptCost: 4,
		Now: func() time.Time { return time.Now().Add(time.Duration(rg.offset.Load())) },
		Sim: sim.Options{QRFirst: 4 * time.Second, QRNext: 3 * time.Second, QRCount: 100}})
	rg.srv = srv
	base := "http://" + srv.Addr()
	rg.api = &liveServer{t: t, base: base, client: &http.Client{Timeout: 10 * time.Second}}

	ctx := browserTab(t, chrome)
	rg.u = &ui{t: t, ctx: ctx, base: base, dir: dir}
	return rg
}

// loginPartner logs the tab in as a partner.
func (rg *browserRig) loginPartner(email, password string) {
	u := rg.u
	u.open("/ui/login")
	u.fill("#login-email", email)
	u.fill("#login-password", password)
	u.click("#login-partner-submit")
	u.waitText("h1", "Dashboard")
}

// TestLinkPageBrowser: the partner shares a linking page from the channel
// page; its customer opens the link in a browser (no login), a simulated
// phone scans the QR code it shows, the page says linked, and the link
// refuses from then on; a link kept after linking refuses once it expires.
func TestLinkPageBrowser(t *testing.T) {
	rg := newBrowserRig(t)
	u, api := rg.u, rg.api
	p := api.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "shop", "email": "ops@shop.test",
		"password": "correct horse", "days": 30})
	ptok := p["token"].(string)
	ch := api.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "Flower shop"})
	id, chTok := ch["id"].(string), ch["token"].(string)

	rg.loginPartner("ops@shop.test", "correct horse")
	u.open("/ui/channels/" + id)
	u.click("#btn-share-link")
	u.waitText("h2", "Share a linking page")
	u.fill("#link-hours", "2")
	u.fill("#link-name", "Acme Flowers")
	u.fill("#link-color", "#aa3300")
	u.submit("#btn-create-link", "Linking page created")
	link := js[string](u, `document.querySelector("#link-table input.link-url").value`)
	if !strings.HasPrefix(link, u.base+"/ui/link/") {
		t.Fatalf("link = %q, want one on %s", link, u.base)
	}
	u.shot("link-share")

	// The customer opens the link in a fresh browser context: no session.
	u.do("log out", chromedp.Navigate(u.base+"/ui/login"))
	u.click("#logout")
	u.waitText("#notice", "You are logged out.")
	u.do("open the link", chromedp.Navigate(link), chromedp.WaitReady(chromedp.CSS("body")))
	u.waitText("#link-title", "Acme Flowers")
	u.do("QR image", chromedp.WaitVisible(chromedp.CSS("#qr-image")))
	if html := js[string](u, `document.documentElement.outerHTML`); strings.Contains(html, chTok) || strings.Contains(html, ptok) || strings.Contains(html, id) {
		t.Fatal("the linking page shows a token or the channel ID")
	}
	if c := js[string](u, `getComputedStyle(document.querySelector(".link-brand")).borderBottomColor`); c != "rgb(170, 51, 0)" {
		t.Fatalf("brand colour = %q", c)
	}
	u.shot("link-page")

	// A phone scans the code the page shows; the page says linked.
	const carol = "15551230077"
	api.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": carol, "name": "Carol"})
	qr := api.call(200, "GET", "/users/login/rowdata", chTok, nil)
	api.call(200, "POST", "/admin/sim/phones/"+carol+"/link", adminToken, map[string]any{"qr": qr["rowdata"]})
	u.waitText("#qr-linked-account", "+"+carol)
	u.shot("link-page-linked")

	// Then the link refuses: the page is 404 at once, its poll (which
	// another open tab may still run) once the short grace has passed.
	u.do("reload", chromedp.Navigate(link), chromedp.WaitReady(chromedp.CSS("body")))
	u.waitText("#link-gone", "This link does not work")
	if s := js[int](u, `fetch(location.pathname + "/state.json").then(r => r.status)`); s != 200 {
		t.Fatalf("state poll just after linking: %d", s)
	}
	rg.advance(3 * time.Minute)
	if s := js[int](u, `fetch(location.pathname + "/state.json").then(r => r.status)`); s != 404 {
		t.Fatalf("state poll minutes after linking: %d", s)
	}
	if strings.Contains(js[string](u, `document.body.textContent`), "Acme") {
		t.Fatal("the refused link still shows the branding")
	}

	// A link kept after linking works until it expires.
	kept := api.call(201, "POST", "/partner/channels/"+id+"/link-page", ptok, map[string]any{"ttl": 60, "keepAfterLink": true})
	u.do("open the kept link", chromedp.Navigate(kept["url"].(string)), chromedp.WaitReady(chromedp.CSS("body")))
	u.waitText("#qr-linked-account", "+"+carol)
	rg.advance(61 * time.Second)
	u.do("reload the kept link", chromedp.Navigate(kept["url"].(string)), chromedp.WaitReady(chromedp.CSS("body")))
	u.waitText("#link-gone", "This link does not work")
}

// TestDocsBrowser renders /docs in Chromium: the menu jumps to an
// operation, and the page fits a phone's screen.
func TestDocsBrowser(t *testing.T) {
	rg := newBrowserRig(t)
	u := rg.u
	u.open("/docs")
	u.waitText("h1", "API reference")
	u.click(`#docs-nav a[href="#createLinkPage"]`)
	if got := js[string](u, `location.hash`); got != "#createLinkPage" {
		t.Fatalf("hash = %q", got)
	}
	u.waitText("#createLinkPage h3", "POST /partner/channels/{ChannelID}/link-page")
	u.do("top", chromedp.Navigate(u.base+"/docs"), chromedp.WaitReady(chromedp.CSS("body")))
	shotViewport(u, "docs")
	u.do("phone viewport", chromedp.EmulateViewport(390, 844))
	if w := js[int](u, `document.documentElement.scrollWidth`); w > 390 {
		t.Fatalf("on a 390px screen /docs is %dpx wide: %s", w, js[string](u, `Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > 392).slice(0, 5).map(e => e.tagName + "." + e.className + "#" + e.id + " " + Math.round(e.getBoundingClientRect().right)).join("; ")`))
	}
	u.do("desktop viewport", chromedp.EmulateViewport(1280, 900))
}

// shotViewport writes a screenshot of what the window shows (a long page
// is too large for a full one).
func shotViewport(u *ui, name string) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		u.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(u.dir, name+".png"), png, 0o644); err != nil {
		u.t.Fatal(err)
	}
}

// TestNewPagesBrowser renders the charts, projects, filtered channel list,
// operator overview and cluster pages in Chromium (and takes their
// screenshots with WAGATE_SCREENSHOTS).
func TestNewPagesBrowser(t *testing.T) {
	rg := newBrowserRig(t)
	u, api := rg.u, rg.api
	p := api.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "acme", "email": "ops@acme.test",
		"password": "correct horse", "days": 60})
	ptok, pid := p["token"].(string), p["id"].(string)
	api.call(200, "POST", "/admin/partners/"+pid+"/days", adminToken, map[string]any{"days": 30, "comment": "invoice 1"})
	api.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "globex", "email": "ops@globex.test", "days": 45})
	ch := api.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "Flower shop"})
	id, chTok := ch["id"].(string), ch["token"].(string)
	api.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "Bakery"})
	api.call(200, "POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 20})
	const dan = "15551230099"
	api.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": dan, "name": "Dan"})
	qr := api.call(200, "GET", "/users/login/rowdata", chTok, nil)
	api.call(200, "POST", "/admin/sim/phones/"+dan+"/link", adminToken, map[string]any{"qr": qr["rowdata"]})
	api.authAs(chTok, dan)
	hooks := &hookReceiver{}
	receiver := httptest.NewServer(hooks)
	defer receiver.Close()
	api.call(200, "PATCH", "/settings", chTok, map[string]any{"webhooks": []any{map[string]any{"url": receiver.URL + "/hook",
		"events": []any{map[string]any{"type": "messages", "method": "post"}}}}})
	const eve = "15551230098"
	api.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": eve, "name": "Eve"})
	for _, body := range []string{"Your order is ready", "Thanks!", "See you"} {
		api.call(200, "POST", "/messages/text", chTok, map[string]any{"to": eve, "body": body})
	}
	api.call(201, "POST", "/admin/sim/phones/"+eve+"/messages", adminToken, map[string]any{"to": dan, "body": "On my way"})

	eventually(t, "the webhook got the messages", func() bool { return hooks.count() >= 4 })
	rg.loginPartner("ops@acme.test", "correct horse")
	u.do("balance chart", chromedp.WaitVisible(chromedp.CSS("#chart-balance svg")))
	if n := js[int](u, `document.querySelectorAll("#chart-balance circle.mark").length`); n != 3 {
		t.Fatalf("balance chart has %d points, want 3", n)
	}
	u.shot("dashboard-charts")
	u.open("/ui/channels/" + id + "/activity")
	u.waitText("#chart-messages figcaption", "Messages per day")
	eventually(t, "the messages chart counts 3 sent", func() bool {
		u.open("/ui/channels/" + id + "/activity")
		return js[string](u, `(document.querySelector('#chart-messages rect[data-series="sent"]')||{}).dataset?.value || ""`) == "3"
	})
	u.shot("channel-activity")
	u.open("/ui/projects")
	u.fill("#project-name", "Retail")
	u.submit("#btn-add-project", "Project Retail created.")
	u.shot("projects")
	u.open("/ui/channels?status=active&sort=name")
	u.waitText("#channel-total", "(2)")
	u.shot("channels-filter")

	u.click("#logout")
	u.waitText("#notice", "You are logged out.")
	u.fill("#login-token", adminToken)
	u.click("#login-operator-submit")
	u.click("#nav-overview")
	u.waitText("h1", "Overview")
	if got := js[string](u, `document.querySelector('#chart-sold rect[data-series="acme"]').dataset.value`); got != "90" {
		t.Fatalf("days sold to acme this month = %s, want 90", got)
	}
	u.shot("operator-overview")
	u.click("#nav-cluster")
	u.waitText("#cluster-mode", "single node")
	u.do("cluster table", chromedp.WaitVisible(chromedp.CSS("#node-table")), chromedp.WaitReady(chromedp.CSS("footer")))
	u.shot("operator-cluster")
}
