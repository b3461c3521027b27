package web

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

type webhookLogData struct {
	C        chanView
	Entries  []model.WebhookLogEntry
	Status   string
	Statuses []string
	Pager    pager
}

// webhookLog is the channel's webhook delivery log, newest first, with a
// status filter and each delivery's attempts.
func (h *Handler) webhookLog(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.channelOf(r, v)
	if err != nil {
		return err
	}
	status := r.URL.Query().Get("status")
	if !slices.Contains(service.DeliveryStatuses, status) {
		status = ""
	}
	pg := pageOf(r, 25)
	entries, total, err := h.svc.WebhookLog(r.Context(), v.Partner.ID, ch.ID, status, pg.page())
	if err != nil {
		return err
	}
	pg.Total = total
	d := webhookLogData{C: h.chanView(ch, h.svc.Now()), Entries: entries, Status: status, Statuses: service.DeliveryStatuses, Pager: pg}
	h.render(w, r, http.StatusOK, "webhooks", page{Title: "Webhook log of " + ch.Name, Nav: "channels", V: v, Data: d})
	return nil
}

// redeliver sends one delivery again.
func (h *Handler) redeliver(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id, did := r.PathValue("id"), r.PathValue("delivery")
	_, err := h.svc.Redeliver(r.Context(), v.Partner.ID, id, did)
	return h.back(w, r, v, channelURL(url.PathEscape(id))+"/webhooks", err, "Delivery "+did+" queued again.")
}
