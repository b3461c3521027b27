package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

type accountData struct {
	S          model.PartnerSettings // redacted
	EventTypes []string
}

// accountPage is "Account": the partner's own webhooks (its channels'
// lifecycle and the low-balance alert) and its days_limit.
func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	s, err := h.svc.PartnerSettings(r.Context(), v.Partner.ID)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "account", page{Title: "Account", Nav: "account", V: v,
		Data: accountData{S: s.Redacted(), EventTypes: service.PartnerEventTypes}})
	return nil
}

// setDaysLimit sets (or, when empty, removes) the balance below which the
// partner's "days" webhook fires.
func (h *Handler) setDaysLimit(w http.ResponseWriter, r *http.Request, v *viewer) error {
	var p service.PartnerSettingsPatch
	p.DaysLimit.Set = true
	raw := strings.TrimSpace(r.PostFormValue("days_limit"))
	ok := "Low-balance alert removed."
	if raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return h.back(w, r, v, "/ui/account", &service.FieldError{Field: "days_limit", Message: "must be a whole number of days"}, "")
		}
		p.DaysLimit.Value = &n
		ok = fmt.Sprintf("You will be told when your balance falls to %d days.", n)
	}
	_, err := h.svc.UpdatePartnerSettings(r.Context(), v.Partner.ID, p)
	return h.back(w, r, v, "/ui/account", err, ok)
}

// addPartnerWebhook adds one webhook to the partner's settings.
func (h *Handler) addPartnerWebhook(w http.ResponseWriter, r *http.Request, v *viewer) error {
	s, err := h.svc.PartnerSettings(r.Context(), v.Partner.ID)
	if err != nil {
		return err
	}
	events, err := formEvents(r, service.PartnerEventTypes)
	if err != nil {
		return h.back(w, r, v, "/ui/account", err, "")
	}
	hook := model.PartnerWebhook{URL: strings.TrimSpace(r.PostFormValue("url")), Mode: r.PostFormValue("mode"),
		Secret: strings.TrimSpace(r.PostFormValue("secret")), Events: events}
	hooks := append(slices.Clone(s.Webhooks), hook)
	_, err = h.svc.UpdatePartnerSettings(r.Context(), v.Partner.ID, service.PartnerSettingsPatch{Webhooks: &hooks})
	return h.back(w, r, v, "/ui/account", err, "Webhook "+hook.URL+" added.")
}

// removePartnerWebhook removes one webhook, named by its position and URL.
func (h *Handler) removePartnerWebhook(w http.ResponseWriter, r *http.Request, v *viewer) error {
	s, err := h.svc.PartnerSettings(r.Context(), v.Partner.ID)
	if err != nil {
		return err
	}
	hooks, err := withoutPostedWebhook(r, s.Webhooks, func(h model.PartnerWebhook) string { return h.URL })
	if err != nil {
		return h.back(w, r, v, "/ui/account", err, "")
	}
	_, err = h.svc.UpdatePartnerSettings(r.Context(), v.Partner.ID, service.PartnerSettingsPatch{Webhooks: &hooks})
	return h.back(w, r, v, "/ui/account", err, "Webhook "+r.PostFormValue("url")+" removed.")
}
