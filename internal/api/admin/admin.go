// Package admin is the operator API under /admin: partners, their balances
// and ledgers, and the operator's settings. Every route needs the admin token.
package admin

import (
	"log/slog"
	"net/http"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/httpx"
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
	a.Route("POST /admin/partners", h.createPartner)
	a.Route("GET /admin/partners", h.listPartners)
	a.Route("GET /admin/partners/{id}", h.getPartner)
	a.Route("PATCH /admin/partners/{id}", h.updatePartner)
	a.Route("POST /admin/partners/{id}/days", h.creditDays)
	a.Route("GET /admin/partners/{id}/ledger", h.ledger)
	a.Route("POST /admin/partners/{id}/token", h.rotateToken)
	a.Route("GET /admin/settings", h.getSettings)
	a.Route("PATCH /admin/settings", h.updateSettings)
	a.Route("GET /admin/proxies", h.listProxies)
	a.Route("PUT /admin/proxies", h.replaceProxies)
	a.Route("GET /admin/engine", h.engine)
	a.Route("POST /admin/engine/client-version", h.refreshClientVersion)
	return a
}

// Handler is the operator API's router.
type Handler struct {
	mux *http.ServeMux
	log *slog.Logger
	svc *service.Service
}

// Route adds an operator route.
func (a *Handler) Route(pattern string, fn httpx.HandlerFunc) {
	a.mux.Handle(pattern, httpx.Handle(a.log, fn))
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
	httpx.JSONMux(a.mux, a.log, "admin API").ServeHTTP(w, r)
}

type createPartnerRequest struct {
	Name      string `json:"name"`
	Email     string `json:"email"`
	Password  string `json:"password"`
	TrialDays *int   `json:"trial_days"`
	Days      int64  `json:"days"`
}

type partnerWithToken struct {
	apiutil.Partner
	Token string `json:"token"`
}

func (h *handler) createPartner(w http.ResponseWriter, r *http.Request) error {
	var req createPartnerRequest
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	p, token, err := h.svc.CreatePartner(r.Context(), service.CreatePartnerInput{
		Name: req.Name, Email: req.Email, Password: req.Password, TrialDays: req.TrialDays, Days: req.Days,
	}, actor)
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

func (h *handler) updatePartner(w http.ResponseWriter, r *http.Request) error {
	var req service.PartnerPatch
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	p, err := h.svc.UpdatePartner(r.Context(), r.PathValue("id"), req)
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
	if err := httpx.Decode(r, &req, true); err != nil {
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
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	s, err := h.svc.UpdateOperatorSettings(r.Context(), req)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, s)
	return nil
}
