// Package admin is the operator API under /admin: partners, their balances
// and ledgers, and the operator's settings. Every route needs the admin token.
package admin

import (
	"log/slog"
	"net/http"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

const actor = "operator"

type handler struct {
	svc *service.Service
	log *slog.Logger
}

// NewHandler returns the operator API. Its routes start with /admin. Extra
// routes (the sim engine's, later) can be added to the returned mux through
// Register before it serves.
func NewHandler(svc *service.Service, log *slog.Logger) *Handler {
	h := &handler{svc: svc, log: log}
	mux := http.NewServeMux()
	a := &Handler{mux: mux, log: log, svc: svc}
	// Calls that create a partner or move days honor Idempotency-Key.
	scope := func(*http.Request) string { return "operator" }
	idempotent := func(pattern string, fn httpx.HandlerFunc) {
		a.mux.Handle(pattern, httpx.LimitBody(log, httpx.Limit(httpx.SmallBody),
			apiutil.Idempotent(svc, log, scope, httpx.Handle(log, fn))))
	}
	idempotent("POST /admin/partners", h.createPartner)
	a.Route("GET /admin/partners", h.listPartners)
	a.Route("GET /admin/partners/{id}", h.getPartner)
	a.Route("PATCH /admin/partners/{id}", h.updatePartner)
	idempotent("POST /admin/partners/{id}/days", h.creditDays)
	a.Route("GET /admin/partners/{id}/ledger", h.ledger)
	a.Route("POST /admin/partners/{id}/token", h.rotateToken)
	a.Route("GET /admin/settings", h.getSettings)
	a.Route("PATCH /admin/settings", h.updateSettings)
	a.Route("GET /admin/proxies", h.listProxies)
	a.RouteLimit("PUT /admin/proxies", httpx.MaxBodyBytes, h.replaceProxies)
	a.Route("GET /admin/engine", h.engine)
	a.Route("POST /admin/engine/client-version", h.refreshClientVersion)
	a.Route("GET /admin/cluster", h.cluster)
	a.Route("GET /admin/audit", h.auditLog) // audit.go
	return a
}

func sameOptional(a, b model.Optional[int]) bool {
	if a.Value == nil || b.Value == nil {
		return a.Value == nil && b.Value == nil
	}
	return *a.Value == *b.Value
}

// Handler is the operator API's router.
type Handler struct {
	mux *http.ServeMux
	log *slog.Logger
	svc *service.Service
}

// Route adds an operator route whose body, if any, is a few fields
// (httpx.SmallBody at most).
func (a *Handler) Route(pattern string, fn httpx.HandlerFunc) {
	a.RouteLimit(pattern, httpx.SmallBody, fn)
}

// RouteLimit adds an operator route whose body may be up to limit bytes.
func (a *Handler) RouteLimit(pattern string, limit int64, fn httpx.HandlerFunc) {
	a.mux.Handle(pattern, httpx.LimitBody(a.log, httpx.Limit(limit), httpx.Handle(a.log, fn)))
}

// ServeHTTP checks the admin token, then routes.
func (a *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := httpx.BearerToken(r)
	if token == "" {
		httpx.WriteError(w, r, a.log, httpx.Errorf(http.StatusUnauthorized, "missing admin token: send Authorization: Bearer <token>"))
		return
	}
	ok, err := a.svc.AuthenticateAdmin(r.Context(), token)
	if err != nil {
		httpx.WriteError(w, r, a.log, err)
		return
	}
	if !ok {
		httpx.WriteError(w, r, a.log, httpx.Errorf(http.StatusUnauthorized, "invalid admin token"))
		return
	}
	r = r.WithContext(audit.WithActor(r.Context(), audit.Actor{Kind: audit.ActorOperator, ID: "admin-token"}))
	httpx.JSONMux(a.mux, a.log, "admin API").ServeHTTP(w, r)
}

// createPartnerRequest takes each field under the name the partner object
// shows it by as well: trialDays for trial_days, balance for days.
type createPartnerRequest struct {
	Name           string `json:"name"`
	Email          string `json:"email"`
	Password       string `json:"password"`
	TrialDays      *int   `json:"trial_days"`
	TrialDaysAlias *int   `json:"trialDays"`
	Days           *int64 `json:"days"`
	Balance        *int64 `json:"balance"`
}

// either returns the one of two names of a field that was given; both
// with different values is a 400.
func either[T comparable](name string, a *T, aliasName string, b *T) (*T, error) {
	switch {
	case a == nil:
		return b, nil
	case b == nil || *a == *b:
		return a, nil
	}
	return nil, httpx.Errorf(http.StatusBadRequest, "%s and %s are the same field with two different values; give one", name, aliasName)
}

type partnerWithToken struct {
	apiutil.Partner
	Token string `json:"token"`
}

func (h *handler) createPartner(w http.ResponseWriter, r *http.Request) error {
	var req createPartnerRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	trialDays, err := either("trial_days", req.TrialDays, "trialDays", req.TrialDaysAlias)
	if err != nil {
		return err
	}
	days, err := either("days", req.Days, "balance", req.Balance)
	if err != nil {
		return err
	}
	in := service.CreatePartnerInput{Name: req.Name, Email: req.Email, Password: req.Password, TrialDays: trialDays}
	if days != nil {
		in.Days = *days
	}
	p, token, err := h.svc.CreatePartner(r.Context(), in, actor)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusCreated, partnerWithToken{Partner: apiutil.NewPartner(p), Token: token})
	return nil
}

type partnerList struct {
	Partners []apiutil.Partner `json:"partners"`
	Count    int               `json:"count"`
	Offset   int               `json:"offset"`
	Total    int               `json:"total"`
}

func (h *handler) listPartners(w http.ResponseWriter, r *http.Request) error {
	page, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	ps, total, err := h.svc.Partners(r.Context(), page)
	if err != nil {
		return err
	}
	out := partnerList{Partners: make([]apiutil.Partner, 0, len(ps)), Count: len(ps), Offset: page.Offset, Total: total}
	for _, p := range ps {
		out.Partners = append(out.Partners, apiutil.NewPartner(p))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) getPartner(w http.ResponseWriter, r *http.Request) error {
	p, err := h.svc.Partner(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, apiutil.NewPartner(p))
	return nil
}

// partnerPatch is service.PartnerPatch with trialDays, the name the
// partner object shows, for trial_days.
type partnerPatch struct {
	service.PartnerPatch
	TrialDaysAlias model.Optional[int] `json:"trialDays"`
}

func (h *handler) updatePartner(w http.ResponseWriter, r *http.Request) error {
	var req partnerPatch
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	patch := req.PartnerPatch
	if a := req.TrialDaysAlias; a.Set {
		if t := patch.TrialDays; t.Set && !sameOptional(t, a) {
			return httpx.Errorf(http.StatusBadRequest, "trial_days and trialDays are the same field with two different values; give one")
		}
		patch.TrialDays = a
	}
	p, err := h.svc.UpdatePartner(r.Context(), r.PathValue("id"), patch)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, apiutil.NewPartner(p))
	return nil
}

type creditRequest struct {
	Days    int64  `json:"days"`
	Comment string `json:"comment"`
}

type balanceResult struct {
	Balance int64 `json:"balance"`
}

func (h *handler) creditDays(w http.ResponseWriter, r *http.Request) error {
	var req creditRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	bal, err := h.svc.CreditDays(r.Context(), r.PathValue("id"), req.Days, req.Comment, actor)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, balanceResult{Balance: bal})
	return nil
}

func (h *handler) ledger(w http.ResponseWriter, r *http.Request) error {
	page, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	entries, total, err := h.svc.Ledger(r.Context(), r.PathValue("id"), page)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, apiutil.LedgerPage{Entries: apiutil.NewLedger(entries), Count: len(entries), Offset: page.Offset, Total: total})
	return nil
}

type tokenResult struct {
	Token string `json:"token"`
}

func (h *handler) rotateToken(w http.ResponseWriter, r *http.Request) error {
	token, err := h.svc.RotatePartnerToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, tokenResult{Token: token})
	return nil
}

func (h *handler) getSettings(w http.ResponseWriter, r *http.Request) error {
	s, err := h.svc.OperatorSettings(r.Context())
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, s)
	return nil
}

func (h *handler) updateSettings(w http.ResponseWriter, r *http.Request) error {
	var req service.OperatorSettingsPatch
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	s, err := h.svc.UpdateOperatorSettings(r.Context(), req)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, s)
	return nil
}
