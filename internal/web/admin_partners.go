package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

type partnersData struct {
	Partners []model.Partner
	Pager    pager
	Form     partnerForm
	// DefaultTrialDays is the operator's trial days for new channels.
	DefaultTrialDays int
}

type partnerForm struct {
	Name, Email, Days, TrialDays string
}

// partnersPage lists the partners, with the form to create one.
func (h *Handler) partnersPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	return h.showPartners(w, r, v, http.StatusOK, partnerForm{Days: "0"}, nil)
}

func (h *Handler) showPartners(w http.ResponseWriter, r *http.Request, v *viewer, status int, f partnerForm, fl *flash) error {
	pg := pageOf(r, 50)
	ps, total, err := h.svc.Partners(r.Context(), pg.page())
	if err != nil {
		return err
	}
	op, err := h.svc.OperatorSettings(r.Context())
	if err != nil {
		return err
	}
	pg.Total = total
	h.render(w, r, status, "partners", page{Title: "Partners", Nav: "partners", V: v, Flash: fl,
		Data: partnersData{Partners: ps, Pager: pg, Form: f, DefaultTrialDays: op.TrialDays}})
	return nil
}

// createPartner creates a partner with a dashboard password, and shows its
// API token once.
func (h *Handler) createPartner(w http.ResponseWriter, r *http.Request, v *viewer) error {
	f := partnerForm{Name: strings.TrimSpace(r.PostFormValue("name")), Email: strings.TrimSpace(r.PostFormValue("email")),
		Days: strings.TrimSpace(r.PostFormValue("days")), TrialDays: strings.TrimSpace(r.PostFormValue("trial_days"))}
	in := service.CreatePartnerInput{Name: f.Name, Email: f.Email, Password: r.PostFormValue("password")}
	err := func() error {
		if f.Days != "" {
			d, err := strconv.ParseInt(f.Days, 10, 64)
			if err != nil {
				return &service.FieldError{Field: "days", Message: "must be a whole number"}
			}
			in.Days = d
		}
		if f.TrialDays != "" {
			t, err := strconv.Atoi(f.TrialDays)
			if err != nil {
				return &service.FieldError{Field: "trial_days", Message: "must be a whole number, or empty for the default"}
			}
			in.TrialDays = &t
		}
		if in.Password == "" {
			return &service.FieldError{Field: "password", Message: "is required: the partner logs in to the dashboard with it"}
		}
		return nil
	}()
	var p model.Partner
	var token string
	if err == nil {
		p, token, err = h.svc.CreatePartner(r.Context(), in, operatorActor)
	}
	if err != nil {
		status, msg := h.describe(r, err)
		if status == http.StatusInternalServerError {
			return err
		}
		return h.showPartners(w, r, v, status, f, &flash{Kind: "error", Msg: msg})
	}
	return h.showPartner(w, r, v, p.ID, token, &flash{Kind: "ok", Msg: "Partner " + p.Name + " created with " + fmtDays(p.Balance) + "."})
}

type partnerData struct {
	P                model.Partner
	Ledger           []model.LedgerEntry
	Pager            pager
	Token            string // a new API token, shown once
	DefaultTrialDays int
}

// partnerPage shows one partner: balance, ledger and the operator's forms.
func (h *Handler) partnerPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	return h.showPartner(w, r, v, r.PathValue("id"), "", nil)
}

func (h *Handler) showPartner(w http.ResponseWriter, r *http.Request, v *viewer, id, token string, fl *flash) error {
	p, err := h.svc.Partner(r.Context(), id)
	if err != nil {
		return err
	}
	pg := pageOf(r, 50)
	led, total, err := h.svc.Ledger(r.Context(), id, pg.page())
	if err != nil {
		return err
	}
	op, err := h.svc.OperatorSettings(r.Context())
	if err != nil {
		return err
	}
	pg.Total = total
	h.render(w, r, http.StatusOK, "partner", page{Title: "Partner " + p.Name, Nav: "partners", V: v, Flash: fl,
		Data: partnerData{P: p, Ledger: led, Pager: pg, Token: token, DefaultTrialDays: op.TrialDays}})
	return nil
}

func partnerURL(id string) string { return "/ui/admin/partners/" + url.PathEscape(id) }

// creditDays credits (or, negative, debits) the partner's balance.
func (h *Handler) creditDays(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	days, err := formInt(r, "days")
	if err != nil {
		return h.back(w, r, v, partnerURL(id), err, "")
	}
	bal, err := h.svc.CreditDays(r.Context(), id, days, strings.TrimSpace(r.PostFormValue("comment")), operatorActor)
	verb := "Credited"
	if days < 0 {
		verb = "Debited"
	}
	return h.back(w, r, v, partnerURL(id), err, fmt.Sprintf("%s %s. Balance: %s.", verb, fmtDays(max(days, -days)), fmtDays(bal)))
}

// setTrialDays sets the partner's free days per new channel; empty returns
// it to the operator's default.
func (h *Handler) setTrialDays(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	raw := strings.TrimSpace(r.PostFormValue("trial_days"))
	var patch service.PartnerPatch
	patch.TrialDays.Set = true
	msg := "Trial days set to the operator's default."
	if raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return h.back(w, r, v, partnerURL(id), &service.FieldError{Field: "trial_days", Message: "must be a whole number, or empty for the default"}, "")
		}
		patch.TrialDays.Value = &n
		msg = "Trial days set to " + strconv.Itoa(n) + "."
	}
	_, err := h.svc.UpdatePartner(r.Context(), id, patch)
	return h.back(w, r, v, partnerURL(id), err, msg)
}

// setPassword sets the partner's dashboard password; its open sessions end.
func (h *Handler) setPassword(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	err := h.svc.ResetPartnerPassword(r.Context(), id, r.PostFormValue("password"))
	return h.back(w, r, v, partnerURL(id), err, "Dashboard password set; the partner's open sessions were ended.")
}

// rotateToken gives the partner a new API token, shown once.
func (h *Handler) rotateToken(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	token, err := h.svc.RotatePartnerToken(r.Context(), id)
	if err != nil {
		return h.back(w, r, v, partnerURL(id), err, "")
	}
	return h.showPartner(w, r, v, id, token, &flash{Kind: "ok", Msg: "New API token issued; the old one no longer works."})
}
