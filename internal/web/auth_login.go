package web

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
)

// home sends each viewer to their start page.
func (h *Handler) home(w http.ResponseWriter, r *http.Request, v *viewer) error {
	http.Redirect(w, r, startPage(v), http.StatusSeeOther)
	return nil
}

func startPage(v *viewer) string {
	switch {
	case v == nil:
		return "/ui/login"
	case v.Operator:
		return "/ui/admin/partners"
	}
	return "/ui/dashboard"
}

type loginData struct {
	Token  string // the login form's CSRF token
	Next   string
	Kind   string // the form shown first: partner or operator
	Email  string
	Notice string
}

// loginPage shows the partner and operator login forms.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if v != nil {
		http.Redirect(w, r, startPage(v), http.StatusSeeOther)
		return nil
	}
	d := loginData{Next: safeNext(r.URL.Query().Get("next")), Kind: store.SessionPartner}
	if r.URL.Query().Get("as") == store.SessionOperator {
		d.Kind = store.SessionOperator
	}
	switch r.URL.Query().Get("m") {
	case "out":
		d.Notice = "You are logged out."
	}
	if d.Next != "" {
		d.Notice = "Log in to continue."
	}
	h.showLogin(w, r, http.StatusOK, d, nil)
	return nil
}

// showLogin renders the login page with a fresh double-submit token.
func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, status int, d loginData, fl *flash) {
	d.Token = randomToken()
	http.SetCookie(w, h.cookie(r, loginCookie, d.Token, 3600))
	h.render(w, r, status, "login", page{Title: "Log in", Data: d, Flash: fl})
}

// login checks credentials (rate-limited) and opens a session.
func (h *Handler) login(w http.ResponseWriter, r *http.Request, _ *viewer) error {
	kind := r.PostFormValue("kind")
	d := loginData{Next: safeNext(r.PostFormValue("next")), Kind: kind, Email: r.PostFormValue("email")}
	in := service.DashboardLogin{Kind: kind, IP: clientIP(r), TTL: h.ttl, Limit: h.limit}
	if c, err := r.Cookie(deviceCookie); err == nil {
		in.Device = c.Value
	}
	switch kind {
	case store.SessionPartner:
		in.Email, in.Password = r.PostFormValue("email"), r.PostFormValue("password")
	case store.SessionOperator:
		if name := r.PostFormValue("operator"); name != "" { // a named operator
			in.Operator, in.Password, in.Code = name, r.PostFormValue("password"), r.PostFormValue("code")
		} else {
			in.Token = r.PostFormValue("token")
		}
	default:
		h.showLogin(w, r, http.StatusBadRequest, loginData{Kind: store.SessionPartner}, &flash{Kind: "error", Msg: "Choose how to log in."})
		return nil
	}
	sess, err := h.svc.LoginDashboard(r.Context(), in)
	var rl *model.RateLimitError
	switch {
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds()))))
		h.showLogin(w, r, http.StatusTooManyRequests, d, &flash{Kind: "error", Msg: capitalize(rl.Message) + "."})
		return nil
	case errors.Is(err, service.ErrBadAdminToken):
		h.showLogin(w, r, http.StatusUnauthorized, d, &flash{Kind: "error", Msg: "Wrong operator token."})
		return nil
	case errors.Is(err, service.ErrBadOperatorLogin):
		h.showLogin(w, r, http.StatusUnauthorized, d, &flash{Kind: "error", Msg: "Wrong operator name, password or code."})
		return nil
	case errors.Is(err, service.ErrBadLogin):
		h.showLogin(w, r, http.StatusUnauthorized, d, &flash{Kind: "error", Msg: "Wrong email or password."})
		return nil
	case err != nil:
		return err
	}
	http.SetCookie(w, h.cookie(r, loginCookie, "", -1))
	http.SetCookie(w, h.cookie(r, sessionCookie, sess.Token, int(h.ttl.Seconds())))
	if sess.Device != "" { // this browser is now trusted by the account (login throttling)
		http.SetCookie(w, h.cookie(r, deviceCookie, sess.Device, int(service.DeviceTTL.Seconds())))
	}
	to := d.Next
	if to == "" {
		to = "/ui/dashboard"
		if kind == store.SessionOperator {
			to = "/ui/admin/partners"
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// logout ends the session.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if err := h.svc.LogoutDashboard(r.Context(), v.token); err != nil {
		return err
	}
	http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/ui/login?m=out", http.StatusSeeOther)
	return nil
}
