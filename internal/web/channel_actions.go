package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

// returnTo is where an action on a channel goes back to: the page it was
// sent from when that is the channels list (search), else the channel's.
func returnTo(r *http.Request, id string) string {
	if to := safeNext(r.PostFormValue("return")); to != "" {
		return to
	}
	return channelURL(id)
}

// restartChannel is "Reload".
func (h *Handler) restartChannel(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	_, err := h.svc.RestartChannel(r.Context(), v.Partner.ID, id)
	return h.back(w, r, v, returnTo(r, id), err, "Channel "+id+" is restarting; its WhatsApp login is kept.")
}

// extendChannel moves days from the balance to the channel.
func (h *Handler) extendChannel(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	days, err := formInt(r, "days")
	if err != nil {
		return h.back(w, r, v, returnTo(r, id), err, "")
	}
	res, err := h.svc.ExtendChannel(r.Context(), v.Partner.ID, id, days, strings.TrimSpace(r.PostFormValue("comment")), partnerActor)
	return h.back(w, r, v, returnTo(r, id), err, fmt.Sprintf("Channel %s extended by %s: active until %s. Balance: %s.",
		id, fmtDays(days), fmtDateTime(res.Channel.ActiveTill), fmtDays(res.Balance)))
}

// logoutChannel is "Unlink WA account", or "Hard Unlink" with force=1.
func (h *Handler) logoutChannel(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	force := r.PostFormValue("force") == "1"
	err := h.svc.LogoutChannel(r.Context(), v.Partner.ID, id, force)
	ok := "WhatsApp account unlinked from channel " + id + ". Link a phone again with “Link phone”."
	if force {
		ok = "Hard unlink done: channel " + id + " dropped its WhatsApp session. Remove the device from the phone's Linked devices too."
	}
	return h.back(w, r, v, returnTo(r, id), err, ok)
}

// changeProxy is "Change proxy": the given proxy, or the pool's next one.
func (h *Handler) changeProxy(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	ch, err := h.svc.ChangeProxy(r.Context(), v.Partner.ID, id, strings.TrimSpace(r.PostFormValue("proxy")))
	msg := "Channel " + id + " now connects through " + service.RedactProxy(ch.Proxy) + "."
	if err == nil && ch.Proxy == "" {
		msg = "Channel " + id + " now connects directly."
	}
	return h.back(w, r, v, returnTo(r, id), err, msg)
}

// changeMode switches trial / Sandbox (dev) / live.
func (h *Handler) changeMode(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	mode := model.Mode(r.PostFormValue("mode"))
	ch, err := h.svc.ChangeMode(r.Context(), v.Partner.ID, id, mode)
	return h.back(w, r, v, returnTo(r, id), err, fmt.Sprintf("Channel %s is now in %s mode, active until %s.",
		id, mode.BillingLabel(), fmtDateTime(ch.ActiveTill)))
}

// renameChannel changes the channel's name and customer phone.
func (h *Handler) renameChannel(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	name, phone := strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("phone"))
	_, err := h.svc.UpdateChannel(r.Context(), v.Partner.ID, id, service.ChannelPatch{Name: &name, Phone: &phone})
	return h.back(w, r, v, channelURL(id), err, "Channel "+id+" saved.")
}

// deleteChannel deletes the channel and shows the days refunded.
func (h *Handler) deleteChannel(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	days, err := h.svc.DeleteChannel(r.Context(), v.Partner.ID, id, partnerActor)
	if err != nil {
		return h.back(w, r, v, returnTo(r, id), err, "")
	}
	return h.back(w, r, v, "/ui/channels", nil, fmt.Sprintf("Channel %s deleted. %s returned to your balance.",
		id, capitalize(fmtDays(days))))
}

// formInt reads a whole number from a form field.
func formInt(r *http.Request, field string) (int64, error) {
	raw := strings.TrimSpace(r.PostFormValue(field))
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, &service.FieldError{Field: field, Message: "must be a whole number"}
	}
	return n, nil
}
