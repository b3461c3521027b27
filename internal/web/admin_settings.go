package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

// opSetting is one operator setting's form field.
type opSetting struct {
	Name, Label, Help string
	Value             int
}

func opSettings(s model.OperatorSettings) []opSetting {
	return []opSetting{
		{"trial_days", "Trial days", "free days of a new channel (partners may have their own)", s.TrialDays},
		{"channel_create_limit", "Channel creation limit", "channels one partner may create per window; 0 turns the limit off", s.ChannelCreateLimit},
		{"channel_create_window_minutes", "Creation window (minutes)", "the window of the creation limit", s.ChannelCreateWindow},
		{"limit_messages_per_day", "Messages per day", "trial and Sandbox channels", s.LimitMessagesPerDay},
		{"limit_chats_per_month", "New chats per month", "trial and Sandbox channels", s.LimitChatsPerMonth},
		{"limit_checks_per_day", "Number checks per day", "trial and Sandbox channels", s.LimitChecksPerDay},
		{"limit_requests_per_month", "API requests per month", "trial and Sandbox channels", s.LimitRequestsPerMonth},
		{"retain_messages_days", "Keep messages (days)", "older messages of every channel are deleted; 0 keeps them (a channel may set its own)", s.RetainMessagesDays},
		{"retain_media_days", "Keep media (days)", "older stored media files are deleted; 0 keeps them until they expire", s.RetainMediaDays},
		{"retain_webhook_records_days", "Keep webhook records (days)", "finished webhook deliveries older than that are deleted; 0: the server's default (7 days)", s.RetainWebhookDays},
	}
}

// settingsOpPage shows the operator's settings.
func (h *Handler) settingsOpPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	s, err := h.svc.OperatorSettings(r.Context())
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "opsettings", page{Title: "Settings", Nav: "settings", V: v,
		Data: opSettingsData{Fields: opSettings(s), Engine: h.svc.EngineInfo()}})
	return nil
}

type opSettingsData struct {
	Fields []opSetting
	Engine service.EngineInfo
}

// refreshClientVersion asks WhatsApp for its current web client version.
func (h *Handler) refreshClientVersion(w http.ResponseWriter, r *http.Request, v *viewer) error {
	cv, err := h.svc.RefreshClientVersion(r.Context())
	return h.back(w, r, v, "/ui/admin/settings", err, "WhatsApp's current web version is "+cv.Latest+"; channels announce "+cv.Version+".")
}

// updateOpSettings applies the settings form; a bad value changes nothing.
func (h *Handler) updateOpSettings(w http.ResponseWriter, r *http.Request, v *viewer) error {
	vals := map[string]*int{}
	for _, f := range opSettings(model.OperatorSettings{}) {
		raw := strings.TrimSpace(r.PostFormValue(f.Name))
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			return h.back(w, r, v, "/ui/admin/settings", &service.FieldError{Field: f.Name, Message: "must be a whole number"}, "")
		}
		vals[f.Name] = &n
	}
	_, err := h.svc.UpdateOperatorSettings(r.Context(), service.OperatorSettingsPatch{
		TrialDays: vals["trial_days"], ChannelCreateLimit: vals["channel_create_limit"],
		ChannelCreateWindow: vals["channel_create_window_minutes"], LimitMessagesPerDay: vals["limit_messages_per_day"],
		LimitChatsPerMonth: vals["limit_chats_per_month"], LimitChecksPerDay: vals["limit_checks_per_day"],
		LimitRequestsPerMonth: vals["limit_requests_per_month"],
		RetentionPatch: service.RetentionPatch{RetainMessagesDays: vals["retain_messages_days"],
			RetainMediaDays: vals["retain_media_days"], RetainWebhookDays: vals["retain_webhook_records_days"]},
	})
	return h.back(w, r, v, "/ui/admin/settings", err, "Settings saved.")
}
