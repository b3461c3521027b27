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

type settingsData struct {
	C          chanView
	S          model.ChannelSettings // redacted
	Raw        string                // the settings as GET /settings shows them
	EventTypes []string
}

// settingsPage is "Settings": the channel's settings, with its webhooks to
// add and remove.
func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.channelOf(r, v)
	if err != nil {
		return err
	}
	s, err := h.svc.ChannelSettings(r.Context(), ch)
	if err != nil {
		return err
	}
	red := s.Redacted()
	red.Proxy = service.RedactProxy(red.Proxy)
	d := settingsData{C: h.chanView(ch, h.svc.Now()), S: red, Raw: prettyJSON(red), EventTypes: model.ChannelEventTypes}
	h.render(w, r, http.StatusOK, "settings", page{Title: "Settings of " + ch.Name, Nav: "channels", V: v, Data: d})
	return nil
}

// addWebhook adds one webhook to the channel's settings.
func (h *Handler) addWebhook(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.channelOf(r, v)
	if err != nil {
		return err
	}
	to := channelURL(ch.ID) + "/settings"
	s, err := h.svc.ChannelSettings(r.Context(), ch)
	if err != nil {
		return err
	}
	events, err := formEvents(r, model.ChannelEventTypes)
	if err != nil {
		return h.back(w, r, v, to, err, "")
	}
	hook := model.ChannelWebhook{URL: strings.TrimSpace(r.PostFormValue("url")), Mode: r.PostFormValue("mode"),
		Secret: strings.TrimSpace(r.PostFormValue("secret")), Events: events}
	hooks := append(slices.Clone(s.Webhooks), hook)
	_, err = h.svc.UpdateChannelSettings(r.Context(), ch, service.ChannelSettingsPatch{Webhooks: &hooks})
	return h.back(w, r, v, to, err, "Webhook "+hook.URL+" added.")
}

// removeWebhook removes one webhook, named by its position and URL (both
// must match, so a stale page cannot remove another webhook).
func (h *Handler) removeWebhook(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.channelOf(r, v)
	if err != nil {
		return err
	}
	to := channelURL(ch.ID) + "/settings"
	s, err := h.svc.ChannelSettings(r.Context(), ch)
	if err != nil {
		return err
	}
	hooks, err := withoutPostedWebhook(r, s.Webhooks, func(h model.ChannelWebhook) string { return h.URL })
	if err != nil {
		return h.back(w, r, v, to, err, "")
	}
	_, err = h.svc.UpdateChannelSettings(r.Context(), ch, service.ChannelSettingsPatch{Webhooks: &hooks})
	return h.back(w, r, v, to, err, "Webhook "+r.PostFormValue("url")+" removed.")
}

// formEvents are the webhook events a form checked: types among allowed,
// method post.
func formEvents(r *http.Request, allowed []string) ([]model.WebhookEvent, error) {
	var out []model.WebhookEvent
	for _, t := range r.PostForm["events"] {
		if !slices.Contains(allowed, t) {
			return nil, &service.FieldError{Field: "events", Message: "must be among " + strings.Join(allowed, ", ")}
		}
		out = append(out, model.WebhookEvent{Type: t, Method: "post"})
	}
	return out, nil
}

// withoutPostedWebhook is hooks without the one a remove form names by
// position and URL; both must match, so a stale page cannot remove another
// webhook.
func withoutPostedWebhook[T any](r *http.Request, hooks []T, urlOf func(T) string) ([]T, error) {
	i, err := strconv.Atoi(r.PostFormValue("index"))
	if err != nil || i < 0 || i >= len(hooks) || urlOf(hooks[i]) != r.PostFormValue("url") {
		return nil, fmt.Errorf("this webhook changed since the page was loaded; look again: %w", model.ErrConflict)
	}
	return slices.Delete(slices.Clone(hooks), i, i+1), nil
}
