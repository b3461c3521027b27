package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// ChannelSettings returns a channel's gate settings, defaults filled in
// (a copy at most cacheTTL old, and none older than this process's last
// write of them).
func (s *Service) ChannelSettings(ctx context.Context, ch model.Channel) (model.ChannelSettings, error) {
	out, err := s.cachedChannelSettings(ctx, ch.ID)
	if err != nil {
		return out, err
	}
	out.Proxy = ch.Proxy // the channel row owns the proxy
	return out, nil
}

// storedChannelSettings are ChannelSettings read from the database, for
// changes written back.
func (s *Service) storedChannelSettings(ctx context.Context, ch model.Channel) (model.ChannelSettings, error) {
	out, err := s.readChannelSettings(ctx, ch.ID)
	if err != nil {
		return out, err
	}
	out.Proxy = ch.Proxy
	return out, nil
}

// ChannelSettingsPatch changes some settings; absent (nil) fields stay.
type ChannelSettingsPatch struct {
	CallbackBackoffDelayMS    *int                    `json:"callback_backoff_delay_ms"`
	MaxCallbackBackoffDelayMS *int                    `json:"max_callback_backoff_delay_ms"`
	CallbackPersist           *bool                   `json:"callback_persist"`
	WebhookMaxAgeSeconds      *int                    `json:"webhook_max_age_seconds"`
	Media                     *model.MediaSettings    `json:"media"`
	Webhooks                  *[]model.ChannelWebhook `json:"webhooks"`
	Proxy                     *string                 `json:"proxy"`
	OfflineMode               *bool                   `json:"offline_mode"`
	FullHistory               *bool                   `json:"full_history"`
	OnCallPager               *string                 `json:"on_call_pager"`
	PassThrough               *bool                   `json:"pass_through"`
	SentStatus                *bool                   `json:"sent_status"`
	// MobileProxy is Whapi's beta-only setting, ignored in production
	// (Whapi's words): accepted and ignored.
	MobileProxy *string               `json:"mobile_proxy"`
	Calls       *CallSettingsPatch    `json:"calls"`
	History     *HistorySettingsPatch `json:"history"`
	RetentionPatch
}

// HistorySettingsPatch changes the history import bounds; nil fields stay.
type HistorySettingsPatch struct {
	Messages *int `json:"messages"`
	Days     *int `json:"days"`
}

// RetentionPatch changes retention settings (days; 0: no limit of its own);
// nil fields stay.
type RetentionPatch struct {
	RetainMessagesDays *int `json:"retain_messages_days"`
	RetainMediaDays    *int `json:"retain_media_days"`
	RetainWebhookDays  *int `json:"retain_webhook_records_days"`
}

// apply checks p and sets its fields in r.
func (p RetentionPatch) apply(r *model.Retention) error {
	for _, f := range []struct {
		name string
		in   *int
		out  *int
	}{
		{"retain_messages_days", p.RetainMessagesDays, &r.RetainMessagesDays},
		{"retain_media_days", p.RetainMediaDays, &r.RetainMediaDays},
		{"retain_webhook_records_days", p.RetainWebhookDays, &r.RetainWebhookDays},
	} {
		if f.in == nil {
			continue
		}
		if *f.in < 0 || *f.in > model.MaxRetentionDays {
			return invalid(f.name, "must be from 0 (no limit of its own) to %d days", model.MaxRetentionDays)
		}
		*f.out = *f.in
	}
	return nil
}

// CallSettingsPatch changes the call settings; nil fields stay.
type CallSettingsPatch struct {
	Reject        *bool   `json:"reject"`
	RejectMessage *string `json:"reject_message"`
}

// SettingsChange reports a settings update.
type SettingsChange struct {
	Before, After model.ChannelSettings
	Changes       []string // JSON names of the fields that changed
}

// UpdateChannelSettings validates and applies a patch. A proxy change
// reconnects the channel through the new proxy.
func (s *Service) UpdateChannelSettings(ctx context.Context, ch model.Channel, p ChannelSettingsPatch) (SettingsChange, error) {
	before, err := s.storedChannelSettings(ctx, ch)
	if err != nil {
		return SettingsChange{}, err
	}
	after, err := applySettingsPatch(before, p, s.allowPrivateHooks)
	if err != nil {
		return SettingsChange{}, err
	}
	if after.Proxy != before.Proxy {
		if err := s.checkProxyAddress(ctx, "proxy", after.Proxy); err != nil {
			return SettingsChange{}, err
		}
	}
	return s.storeSettings(ctx, ch, before, after)
}

// ResetChannelSettings puts a channel's settings back to the defaults (a
// direct connection included). Settings already at the defaults are
// ErrConflict.
func (s *Service) ResetChannelSettings(ctx context.Context, ch model.Channel) (SettingsChange, error) {
	before, err := s.storedChannelSettings(ctx, ch)
	if err != nil {
		return SettingsChange{}, err
	}
	after := model.DefaultChannelSettings()
	if len(settingsChanges(before, after)) == 0 {
		return SettingsChange{}, fmt.Errorf("settings already reset: %w", model.ErrConflict)
	}
	return s.storeSettings(ctx, ch, before, after)
}

func (s *Service) storeSettings(ctx context.Context, ch model.Channel, before, after model.ChannelSettings) (_ SettingsChange, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "channel.settings_update", PartnerID: ch.PartnerID, ChannelID: ch.ID})
	b, af := audit.Diff(channelSettingsAudit(before), channelSettingsAudit(after))
	audit.Describe(ctx, b, af)
	defer done(&err)
	doc := after
	doc.Proxy = "" // stored in the channel row
	raw, err := json.Marshal(doc)
	if err != nil {
		return SettingsChange{}, err
	}
	if err := s.store.SetChannelSettings(ctx, ch.ID, string(raw), after.Proxy); err != nil {
		return SettingsChange{}, err
	}
	if after.Proxy != before.Proxy {
		ch.Proxy = after.Proxy
		if s.rt != nil && s.runsHere(ch.ID) { // elsewhere, its node applies the announced change
			if err := s.rt.SetProxy(ctx, ch); err != nil {
				if errors.Is(err, engine.ErrBadProxy) {
					// Refused: the session kept its proxy, and so does the row.
					s.restoreProxy(ctx, ch.ID, before.Proxy)
				}
				return SettingsChange{}, s.runtimeError(ch, err)
			}
		}
		s.log.InfoContext(ctx, "channel proxy changed", "channel_id", ch.ID, "proxy", RedactProxy(after.Proxy))
	}
	if after.OfflineMode != before.OfflineMode && s.rt != nil && s.runsHere(ch.ID) {
		go s.announcePresence(ch.ID) // presences.go
	}
	return SettingsChange{Before: before, After: after, Changes: settingsChanges(before, after)}, nil
}

var mediaTypes = []string{"image", "audio", "voice", "video", "document", "sticker"}

func applySettingsPatch(cur model.ChannelSettings, p ChannelSettingsPatch, allowPrivate bool) (model.ChannelSettings, error) {
	next := cur
	if v := p.CallbackBackoffDelayMS; v != nil {
		if *v < 3000 || *v > 15000 {
			return cur, invalid("callback_backoff_delay_ms", "must be from 3000 to 15000")
		}
		next.CallbackBackoffDelayMS = *v
	}
	if v := p.MaxCallbackBackoffDelayMS; v != nil {
		if *v < 600000 || *v > 3600000 {
			return cur, invalid("max_callback_backoff_delay_ms", "must be from 600000 to 3600000")
		}
		next.MaxCallbackBackoffDelayMS = *v
	}
	if v := p.WebhookMaxAgeSeconds; v != nil {
		if *v < 0 || *v > 7*24*3600 {
			return cur, invalid("webhook_max_age_seconds", "must be from 0 (keep retrying) to 604800")
		}
		next.WebhookMaxAgeSeconds = *v
	}
	if v := p.CallbackPersist; v != nil {
		next.CallbackPersist = *v
	}
	if v := p.OfflineMode; v != nil {
		next.OfflineMode = *v
	}
	if v := p.FullHistory; v != nil {
		next.FullHistory = *v
	}
	if v := p.OnCallPager; v != nil {
		pager := strings.TrimSpace(*v)
		if pager != "" {
			jid, err := UserID("on_call_pager", pager)
			if err != nil {
				return cur, err
			}
			pager = PhoneOf(jid)
		}
		next.OnCallPager = pager
	}
	if v := p.PassThrough; v != nil {
		b := *v
		next.PassThrough = &b
	}
	if v := p.SentStatus; v != nil {
		next.SentStatus = *v
	}
	if err := p.RetentionPatch.apply(&next.Retention); err != nil {
		return cur, err
	}
	if v := p.Media; v != nil {
		m := model.MediaSettings{AutoDownload: []string{}, InitAvatars: v.InitAvatars}
		for i, t := range v.AutoDownload {
			if !slices.Contains(mediaTypes, t) {
				return cur, invalid(fmt.Sprintf("media.auto_download[%d]", i), "must be one of %s", strings.Join(mediaTypes, ", "))
			}
			if !slices.Contains(m.AutoDownload, t) {
				m.AutoDownload = append(m.AutoDownload, t)
			}
		}
		next.Media = m
	}
	if v := p.Calls; v != nil {
		calls, err := applyCallSettings(next.Calls, *v)
		if err != nil {
			return cur, err
		}
		next.Calls = calls
	}
	if v := p.History; v != nil {
		h, err := applyHistorySettings(next.History, *v)
		if err != nil {
			return cur, err
		}
		next.History = h
	}
	if v := p.Webhooks; v != nil {
		hooks, err := checkChannelWebhooks(*v, cur.Webhooks, allowPrivate)
		if err != nil {
			return cur, err
		}
		next.Webhooks = hooks
	}
	if v := p.Proxy; v != nil && *v != RedactProxy(cur.Proxy) { // the redacted form keeps the proxy
		proxy, err := checkProxy("proxy", *v)
		if err != nil {
			return cur, err
		}
		next.Proxy = proxy
	}
	return next, nil
}

// checkChannelWebhooks validates webhooks and fills their defaults (mode
// body; events messages by POST; an event's method post), on a copy.
func checkChannelWebhooks(in, stored []model.ChannelWebhook, allowPrivate bool) ([]model.ChannelWebhook, error) {
	if len(in) > 10 {
		return nil, invalid("webhooks", "at most 10 webhooks")
	}
	out := make([]model.ChannelWebhook, len(in))
	for i, h := range in {
		field := fmt.Sprintf("webhooks[%d]", i)
		if err := checkWebhookURL(field+".url", h.URL, allowPrivate); err != nil {
			return nil, err
		}
		secret, err := keepSecret(field+".secret", h.URL, h.Secret, func(url string) string {
			for _, o := range stored {
				if o.URL == url {
					return o.Secret
				}
			}
			return ""
		})
		if err != nil {
			return nil, err
		}
		h.Secret = secret
		mode, err := checkWebhookMode(field+".mode", h.Mode)
		if err != nil {
			return nil, err
		}
		events := []model.WebhookEvent{{Type: "messages", Method: "post"}}
		if len(h.Events) > 0 {
			events = make([]model.WebhookEvent, 0, len(h.Events))
		}
		for j, e := range h.Events {
			ef := fmt.Sprintf("%s.events[%d]", field, j)
			if cur, ok := model.EventTypeAliases[e.Type]; ok { // Whapi's older names
				e.Type = cur
			}
			if !slices.Contains(model.ChannelEventTypes, e.Type) {
				return nil, invalid(ef+".type", "must be one of %s", strings.Join(model.ChannelEventTypes, ", "))
			}
			if e.Method == "" {
				e.Method = "post"
			}
			if !slices.Contains(model.WebhookMethods, e.Method) {
				return nil, invalid(ef+".method", "must be one of %s", strings.Join(model.WebhookMethods, ", "))
			}
			events = append(events, e)
		}
		if len(h.Headers) > 20 {
			return nil, invalid(field+".headers", "at most 20 headers")
		}
		headers := map[string]string{}
		for k, v := range h.Headers {
			if !validHeaderName(k) {
				return nil, invalid(field+".headers", "%q is not a valid header name", k)
			}
			switch http.CanonicalHeaderKey(k) {
			case "Host", "Content-Length", "Content-Type", "Transfer-Encoding", "Connection":
				return nil, invalid(field+".headers", "%s is set by wagate and cannot be overridden", http.CanonicalHeaderKey(k))
			}
			if strings.ContainsAny(v, "\r\n\x00") || len(v) > 4096 {
				return nil, invalid(field+".headers", "the value of %s must be one line of at most 4096 bytes", k)
			}
			headers[k] = v
		}
		if len(headers) == 0 {
			headers = nil
		}
		out[i] = model.ChannelWebhook{URL: h.URL, Events: events, Mode: mode, Headers: headers, Secret: h.Secret}
	}
	return out, nil
}

func validHeaderName(k string) bool {
	if k == "" || len(k) > 100 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
}

// settingsChanges lists the JSON names of the fields that differ.
func settingsChanges(a, b model.ChannelSettings) []string {
	return fieldChanges(reflect.ValueOf(a), reflect.ValueOf(b))
}

// fieldChanges lists the JSON names of the fields that differ, those of
// embedded structs as JSON flattens them.
func fieldChanges(va, vb reflect.Value) []string {
	out := []string{}
	t := va.Type()
	for i := range t.NumField() {
		if f := t.Field(i); f.Anonymous && f.Tag.Get("json") == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, fieldChanges(va.Field(i), vb.Field(i))...)
			continue
		}
		ja, _ := json.Marshal(va.Field(i).Interface())
		jb, _ := json.Marshal(vb.Field(i).Interface())
		if string(ja) != string(jb) {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			out = append(out, name)
		}
	}
	return out
}
