// Package web is wagate's dashboard under /ui: server-rendered pages for
// operators (partners, balances, ledgers, the proxy pool) and partners
// (channels, linking, billing, webhooks). Templates and static files are
// embedded and parsed at start-up; every action calls the same service code
// as the JSON APIs. Forms work without JavaScript; small scripts (static
// files, allowed by the page's Content-Security-Policy) add comfort.
package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/service"
)

// Prefix is where the dashboard is mounted.
const Prefix = "/ui/"

// SimNetwork is what the dashboard's "simulate a phone" panel needs of the
// simulated WhatsApp network (*sim.Network).
type SimNetwork interface {
	AddPhone(number, name string) (sim.Phone, error)
	LinkQR(number, qr string) (string, error)
	SendFromPhone(number, to, body string) (sim.PhoneMessage, error)
}

// Options configure the dashboard.
type Options struct {
	Service *service.Service
	Log     *slog.Logger
	// Sim is the simulated network when the sim engine runs, nil otherwise;
	// with it, channel pages offer the "simulate a phone" panel.
	Sim SimNetwork
	// SessionTTL is how long a login lasts (12 hours when zero).
	SessionTTL time.Duration
	// SecureCookies marks cookies Secure even on plain-HTTP requests (set it
	// behind a TLS-terminating proxy). TLS requests always get Secure ones.
	SecureCookies bool
	// LoginLimit bounds failed logins (service.DefaultLoginLimit when zero).
	LoginLimit service.LoginLimit
	// Version is shown in the footer.
	Version string
	// API is the OpenAPI document the /docs page renders (no page without).
	API *openapi3.T
}

// DefaultSessionTTL is the session lifetime when Options.SessionTTL is zero.
const DefaultSessionTTL = 12 * time.Hour

// Handler serves the dashboard.
type Handler struct {
	svc     *service.Service
	log     *slog.Logger
	sim     SimNetwork
	ttl     time.Duration
	secure  bool
	limit   service.LoginLimit
	version string
	views   *views
	assets  *assets
	mux     *http.ServeMux
	docs    *docsData
}

// New parses the templates, fingerprints the static files and builds the
// routes. A template that does not parse is an error here, never at request
// time.
func New(o Options) (*Handler, error) {
	if o.Service == nil || o.Log == nil {
		return nil, errors.New("web: Service and Log are required")
	}
	h := &Handler{svc: o.Service, log: o.Log, sim: o.Sim, ttl: o.SessionTTL, secure: o.SecureCookies,
		limit: o.LoginLimit, version: o.Version, mux: http.NewServeMux()}
	if h.ttl <= 0 {
		h.ttl = DefaultSessionTTL
	}
	var err error
	if h.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if h.views, err = parseViews(h.assets); err != nil {
		return nil, err
	}
	if o.API != nil {
		h.docs = buildDocs(o.API)
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	m := h.mux
	m.HandleFunc("GET /ui/static/{sum}/{name}", h.assets.serve)
	m.HandleFunc("GET /docs", h.docsPage)
	m.Handle("GET /ui/{$}", h.public(h.home))
	m.Handle("GET /ui/login", h.public(h.loginPage))
	m.Handle("POST /ui/login", h.public(h.login))
	m.Handle("POST /ui/logout", h.anyone(h.logout))

	// The hosted linking page (no login; the signed link is the credential).
	m.HandleFunc("GET /ui/link/{token}", h.linkPage)
	m.HandleFunc("GET /ui/link/{token}/state.json", h.linkState)
	m.HandleFunc("POST /ui/link/{token}/pair", h.linkPair)

	// Partner pages.
	m.Handle("GET /ui/dashboard", h.partner(h.dashboard))
	m.Handle("POST /ui/channels", h.partner(h.createChannel))
	m.Handle("GET /ui/channels", h.partner(h.channelsPage))
	m.Handle("GET /ui/channels/export", h.partner(h.exportChannels))
	m.Handle("GET /ui/channels/{id}", h.partner(h.channelPage))
	m.Handle("GET /ui/channels/{id}/status", h.partner(h.statusPage))
	m.Handle("POST /ui/channels/{id}/restart", h.partner(h.restartChannel))
	m.Handle("POST /ui/channels/{id}/extend", h.partner(h.extendChannel))
	m.Handle("POST /ui/channels/{id}/logout", h.partner(h.logoutChannel))
	m.Handle("POST /ui/channels/{id}/proxy", h.partner(h.changeProxy))
	m.Handle("POST /ui/channels/{id}/mode", h.partner(h.changeMode))
	m.Handle("POST /ui/channels/{id}/rename", h.partner(h.renameChannel))
	m.Handle("POST /ui/channels/{id}/delete", h.partner(h.deleteChannel))
	m.Handle("GET /ui/channels/{id}/qr", h.partner(h.qrPage))
	m.Handle("GET /ui/channels/{id}/qr.json", h.partner(h.qrState))
	m.Handle("POST /ui/channels/{id}/pair", h.partner(h.pairCode))
	m.Handle("GET /ui/channels/{id}/link-page", h.partner(h.linkSharePage))
	m.Handle("POST /ui/channels/{id}/link-page", h.partner(h.createLinkPage))
	m.Handle("POST /ui/channels/{id}/link-page/{lp}/revoke", h.partner(h.revokeLinkPage))
	m.Handle("GET /ui/channels/{id}/settings", h.partner(h.settingsPage))
	m.Handle("POST /ui/channels/{id}/settings/webhooks", h.partner(h.addWebhook))
	m.Handle("POST /ui/channels/{id}/settings/webhooks/remove", h.partner(h.removeWebhook))
	m.Handle("GET /ui/channels/{id}/webhooks", h.partner(h.webhookLog))
	m.Handle("POST /ui/channels/{id}/webhooks/{delivery}/redeliver", h.partner(h.redeliver))
	m.Handle("POST /ui/channels/{id}/sim/link", h.partner(h.simLink))
	m.Handle("POST /ui/channels/{id}/sim/message", h.partner(h.simMessage))
	m.Handle("GET /ui/ledger", h.partner(h.ledgerPage))
	m.Handle("GET /ui/account", h.partner(h.accountPage))
	m.Handle("POST /ui/account/days-limit", h.partner(h.setDaysLimit))
	m.Handle("POST /ui/account/webhooks", h.partner(h.addPartnerWebhook))
	m.Handle("POST /ui/account/webhooks/remove", h.partner(h.removePartnerWebhook))

	// Operator pages.
	m.Handle("GET /ui/admin/partners", h.operator(h.partnersPage))
	m.Handle("POST /ui/admin/partners", h.operator(h.createPartner))
	m.Handle("GET /ui/admin/partners/{id}", h.operator(h.partnerPage))
	m.Handle("POST /ui/admin/partners/{id}/days", h.operator(h.creditDays))
	m.Handle("POST /ui/admin/partners/{id}/trial-days", h.operator(h.setTrialDays))
	m.Handle("POST /ui/admin/partners/{id}/password", h.operator(h.setPassword))
	m.Handle("POST /ui/admin/partners/{id}/token", h.operator(h.rotateToken))
	m.Handle("GET /ui/admin/proxies", h.operator(h.proxiesPage))
	m.Handle("POST /ui/admin/proxies", h.operator(h.addProxies))
	m.Handle("POST /ui/admin/proxies/remove", h.operator(h.removeProxy))
	m.Handle("GET /ui/admin/cluster", h.operator(h.clusterPage))
	m.Handle("GET /ui/admin/settings", h.operator(h.settingsOpPage))
	m.Handle("GET /ui/admin/audit", h.operator(h.auditPage)) // admin_audit.go
	m.Handle("POST /ui/admin/settings", h.operator(h.updateOpSettings))
	m.Handle("POST /ui/admin/engine/client-version", h.operator(h.refreshClientVersion))
}

// ServeHTTP serves the dashboard. Requests no route serves get the
// dashboard's own 404 and 405 pages; a panic in a handler is logged and
// answered with an error page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.ErrorContext(r.Context(), "panic in dashboard handler", "method", r.Method, "path", r.URL.Path, "panic", v)
			h.renderError(w, r, nil, http.StatusInternalServerError, "Something went wrong on our side. Please try again.")
		}
	}()
	setPageHeaders(w)
	if _, pattern := h.mux.Handler(r); pattern == "" {
		if allow := h.allowed(r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			h.renderError(w, r, h.viewerOf(r), http.StatusMethodNotAllowed, "This page does not answer "+r.Method+" requests.")
			return
		}
		h.renderError(w, r, h.viewerOf(r), http.StatusNotFound, "There is no such page.")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// allowed lists the methods a route serves at the request's path (none:
// there is no such page).
func (h *Handler) allowed(r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "" {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	return out
}

// setPageHeaders sets the security headers of every dashboard answer.
func setPageHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
}
