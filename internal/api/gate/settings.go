package gate

import (
	"net/http"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

type profile struct {
	Name  string `json:"name"`
	About string `json:"about"`
	Icon  string `json:"icon,omitempty"`
}

func (h *handler) profile(w http.ResponseWriter, r *http.Request) error {
	p, err := h.svc.Profile(r.Context(), channelOf(r))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, profile{Name: p.Name, About: p.About, Icon: p.Picture})
	return nil
}

type profileUpdate struct {
	Name  *string `json:"name"`
	About *string `json:"about"`
	Icon  *string `json:"icon"`
}

func (h *handler) updateProfile(w http.ResponseWriter, r *http.Request) error {
	var req profileUpdate
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	if req.Name == nil && req.About == nil && req.Icon == nil {
		return httpx.Errorf(http.StatusBadRequest, "nothing to change: send name, about and/or icon")
	}
	if req.Name != nil || req.About != nil {
		if err := h.svc.UpdateProfile(r.Context(), channelOf(r), engine.ProfileUpdate{Name: req.Name, About: req.About}); err != nil {
			return err
		}
	}
	if req.Icon != nil {
		if err := h.svc.SetProfileIcon(r.Context(), channelOf(r), *req.Icon); err != nil {
			return err
		}
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) getSettings(w http.ResponseWriter, r *http.Request) error {
	s, err := h.svc.ChannelSettings(r.Context(), channelOf(r))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, redacted(s))
	return nil
}

// redacted hides the proxy's password (the operator's, for a pool proxy);
// sending the redacted URL back in a PATCH keeps the password.
func redacted(s model.ChannelSettings) model.ChannelSettings {
	s = s.Redacted()
	s.Proxy = service.RedactProxy(s.Proxy)
	return s
}

type settingsUpdate struct {
	Before  any      `json:"before_update"`
	After   any      `json:"after_update"`
	Changes []string `json:"changes"`
}

func (h *handler) updateSettings(w http.ResponseWriter, r *http.Request) error {
	var req service.ChannelSettingsPatch
	if err := httpx.Decode(r, &req, false); err != nil { // no body: nothing changes
		return err
	}
	res, err := h.svc.UpdateChannelSettings(r.Context(), channelOf(r), req)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, settingsUpdate{Before: redacted(res.Before), After: redacted(res.After), Changes: res.Changes})
	return nil
}

func (h *handler) resetSettings(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.svc.ResetChannelSettings(r.Context(), channelOf(r)); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

type event struct {
	Type   string `json:"type"`
	Method string `json:"method"`
}

// eventMethods are the methods each webhook event type is delivered with.
var eventMethods = []struct {
	typ     string
	methods []string
}{
	{"messages", []string{"post", "put", "patch", "delete"}},
	{"statuses", []string{"post", "put"}},
	{"chats", []string{"post", "patch", "delete"}},
	{"contacts", []string{"post", "patch"}},
	{"groups", []string{"post", "put", "patch"}},
	{"presences", []string{"post"}},
	{"calls", []string{"post"}},
	{"channel", []string{"post", "patch"}},
	{"users", []string{"post", "delete"}},
	{"labels", []string{"post", "delete"}},
	{"service", []string{"post"}},
}

func (h *handler) events(w http.ResponseWriter, r *http.Request) error {
	out := []event{}
	for _, e := range eventMethods {
		for _, m := range e.methods {
			out = append(out, event{Type: e.typ, Method: m})
		}
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

type limits struct {
	Messages int      `json:"messages"`
	Chats    []string `json:"chats"`
	Checks   int      `json:"checks"`
	Requests int      `json:"requests"`
}

func (h *handler) limits(w http.ResponseWriter, r *http.Request) error {
	left, limited, err := h.svc.RemainingLimits(r.Context(), channelOf(r))
	if err != nil {
		return err
	}
	if !limited {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	httpx.JSON(w, http.StatusOK, limits{Messages: left.Messages, Chats: left.Chats, Checks: left.Checks, Requests: left.Requests})
	return nil
}

type webhookTestRequest struct {
	URL     string            `json:"url"`
	Type    string            `json:"type"`
	Mode    string            `json:"mode"`
	Headers map[string]string `json:"headers"`
	Secret  string            `json:"secret"`
}

type webhookTestResult struct {
	Success    bool   `json:"success"`
	Status     int    `json:"status,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// webhookTest sends one test callback and says how the receiver answered.
func (h *handler) webhookTest(w http.ResponseWriter, r *http.Request) error {
	var req webhookTestRequest
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	res, err := h.svc.TestWebhook(r.Context(), channelOf(r), service.WebhookTest{URL: req.URL, Type: req.Type, Mode: req.Mode, Headers: req.Headers, Secret: req.Secret})
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, webhookTestResult{Success: res.Delivered, Status: res.Attempt.Status, Error: res.Attempt.Error,
		DurationMS: res.Attempt.Duration.Milliseconds()})
	return nil
}
