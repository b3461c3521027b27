package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
)

// Cookie names. The session cookie holds a random token whose hash is the
// session's key in the database; the login cookie is the double-submit CSRF
// token of the login form (there is no session yet).
const (
	sessionCookie = "wagate_session"
	loginCookie   = "wagate_login"
	// deviceCookie marks a browser that logged in to an account before
	// (service login throttling: its attempts are counted apart).
	deviceCookie = "wagate_device"
	flashCookie  = "wagate_flash"
	csrfField    = "csrf"
	maxFormBytes = 64 << 10
)

// viewer is who is looking: a logged-in partner or operator.
type viewer struct {
	sess    service.DashboardSession
	token   string
	Partner *model.Partner // set for partners
	// Operator is true for the operator.
	Operator bool
	// CSRF is the token every form of the session carries.
	CSRF string
}

// key derives a per-session key for one purpose from the session's secret.
func (v *viewer) key(purpose string) []byte {
	m := hmac.New(sha256.New, []byte(v.sess.CSRF))
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// pageFunc handles a request of a logged-in viewer (nil on public pages).
type pageFunc func(w http.ResponseWriter, r *http.Request, v *viewer) error

// viewerOf returns the request's logged-in viewer, or nil.
func (h *Handler) viewerOf(r *http.Request) *viewer {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	sess, err := h.svc.DashboardSessionOf(r.Context(), c.Value)
	if err != nil {
		if !errors.Is(err, model.ErrNotFound) {
			h.log.ErrorContext(r.Context(), "reading dashboard session failed", "error", err)
		}
		return nil
	}
	v := &viewer{sess: sess, token: c.Value}
	v.CSRF = hex.EncodeToString(v.key("csrf"))
	switch sess.Kind {
	case store.SessionOperator:
		v.Operator = true
	case store.SessionPartner:
		p, err := h.svc.Partner(r.Context(), sess.PartnerID)
		if err != nil {
			if !errors.Is(err, model.ErrNotFound) {
				h.log.ErrorContext(r.Context(), "reading the session's partner failed", "error", err)
			}
			return nil
		}
		v.Partner = &p
	default:
		return nil
	}
	return v
}

// public serves a page anyone may see; its POSTs carry the login form's
// double-submit token.
func (h *Handler) public(fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := h.viewerOf(r)
		if r.Method == http.MethodPost {
			if !h.parseForm(w, r, v) {
				return
			}
			c, err := r.Cookie(loginCookie)
			if err != nil || !sameToken(c.Value, r.PostFormValue(csrfField)) {
				h.renderError(w, r, v, http.StatusForbidden, "The login form expired. Reload the page and try again.")
				return
			}
		}
		h.run(w, r, v, fn)
	})
}

// anyone serves a page for any logged-in viewer.
func (h *Handler) anyone(fn pageFunc) http.Handler {
	return h.require(func(*viewer) bool { return true }, fn)
}

// partner serves a partner's page.
func (h *Handler) partner(fn pageFunc) http.Handler {
	return h.require(func(v *viewer) bool { return v.Partner != nil }, fn)
}

// operator serves an operator's page.
func (h *Handler) operator(fn pageFunc) http.Handler {
	return h.require(func(v *viewer) bool { return v.Operator }, fn)
}

// require checks there is a session the page allows, and the CSRF token of
// every POST, before fn runs. Without a session, a GET goes to the login
// page (and back after it); a POST is refused with a page that says the
// session ended, and changes nothing.
func (h *Handler) require(allowed func(*viewer) bool, fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := h.viewerOf(r)
		if v == nil {
			if r.Method == http.MethodGet {
				next := r.URL.Path
				if r.URL.RawQuery != "" {
					next += "?" + r.URL.RawQuery
				}
				http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(next), http.StatusSeeOther)
				return
			}
			h.renderError(w, r, nil, http.StatusUnauthorized, "Your session has ended. Log in again; nothing was changed.")
			return
		}
		if !allowed(v) {
			msg := "This page is for partners. Log in with a partner's email and password."
			if v.Partner != nil {
				msg = "This page is for the operator."
			}
			h.renderError(w, r, v, http.StatusForbidden, msg)
			return
		}
		if r.Method == http.MethodPost {
			if !h.parseForm(w, r, v) {
				return
			}
			if !sameToken(v.CSRF, r.PostFormValue(csrfField)) {
				h.log.WarnContext(r.Context(), "dashboard form refused: bad CSRF token", "path", r.URL.Path)
				h.renderError(w, r, v, http.StatusForbidden, "This form expired or did not come from this dashboard. Go back, reload the page and try again; nothing was changed.")
				return
			}
		}
		h.run(w, r, v, fn)
	})
}

// parseForm reads a bounded form body and refuses cross-site posts (the
// browser's Sec-Fetch-Site and Origin headers), before any token check.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request, v *viewer) bool {
	if err := http.NewCrossOriginProtection().Check(r); err != nil {
		h.renderError(w, r, v, http.StatusForbidden, "This form was sent from another site and was refused; nothing was changed.")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, v, http.StatusBadRequest, "The form could not be read. Go back and try again.")
		return false
	}
	return true
}

// run calls fn and renders the error it returns.
func (h *Handler) run(w http.ResponseWriter, r *http.Request, v *viewer, fn pageFunc) {
	// What the viewer changes is audited as theirs.
	switch {
	case v != nil && v.Operator:
		r = r.WithContext(audit.WithActor(r.Context(), audit.Actor{Kind: audit.ActorOperator, ID: "dashboard"}))
	case v != nil && v.Partner != nil:
		r = r.WithContext(audit.WithActor(r.Context(), audit.Actor{Kind: audit.ActorPartner, ID: v.Partner.ID}))
	}
	if err := fn(w, r, v); err != nil {
		h.fail(w, r, v, err)
	}
}

// sameToken compares two tokens in constant time; empty never matches.
func sameToken(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// randomToken is 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// secureRequest reports whether cookies must be Secure.
func (h *Handler) secureRequest(r *http.Request) bool {
	return h.secure || httpx.IsHTTPS(r)
}

// cookie builds a dashboard cookie: HttpOnly, SameSite=Lax, under /ui/.
func (h *Handler) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/ui/", MaxAge: maxAge, HttpOnly: true,
		Secure: h.secureRequest(r), SameSite: http.SameSiteLaxMode}
}

// clientIP is the address the request came from: behind a trusted
// reverse proxy (WAGATE_TRUSTED_PROXIES), the one it forwarded for; other
// clients' X-Forwarded-For is never believed.
func clientIP(r *http.Request) string { return httpx.ClientIP(r) }

// safeNext keeps a post-login redirect inside the dashboard.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	return next
}
