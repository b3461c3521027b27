package model

// ChannelSettings are a channel's gate settings (GET/PATCH /settings), with
// the field names of Whapi's gate API.
type ChannelSettings struct {
	CallbackBackoffDelayMS    int              `json:"callback_backoff_delay_ms"`
	MaxCallbackBackoffDelayMS int              `json:"max_callback_backoff_delay_ms"`
	CallbackPersist           bool             `json:"callback_persist"`
	WebhookMaxAgeSeconds      int              `json:"webhook_max_age_seconds"`
	Media                     MediaSettings    `json:"media"`
	Webhooks                  []ChannelWebhook `json:"webhooks"`
	Proxy                     string           `json:"proxy"`
	OfflineMode               bool             `json:"offline_mode"`
	FullHistory               bool             `json:"full_history"`
	// OnCallPager is a user (a phone number) told by a text message of
	// every call the channel misses; "" for none.
	OnCallPager string `json:"on_call_pager"`
	// PassThrough: messages the channel sends through the API come back to
	// the webhooks as messages.post too (nil: wagate's default, true).
	PassThrough *bool `json:"pass_through,omitempty"`
	// SentStatus: a statuses.post event with status "sent" as soon as
	// WhatsApp took a message sent through the API.
	SentStatus bool         `json:"sent_status"`
	Calls      CallSettings `json:"calls"`
	// Retention of this channel's data (0: the operator's setting).
	Retention
	// History bounds what a history sync imports.
	History HistorySettings `json:"history"`
}

// HistorySettings bound the import of the history WhatsApp sends when a
// device links: the last Messages messages of each chat with activity in
// the last Days days. Either 0 turns the import off (the LID mappings and
// names a history sync carries are kept all the same).
type HistorySettings struct {
	Messages int `json:"messages"`
	Days     int `json:"days"`
}

// Default history import: the last 50 messages per chat of 30 days.
const (
	DefaultHistoryMessages = 50
	DefaultHistoryDays     = 30
)

// CallSettings say what wagate does with incoming calls: reject them (for
// the whole account), optionally answering the caller with a text.
type CallSettings struct {
	Reject        bool   `json:"reject"`
	RejectMessage string `json:"reject_message"`
}

// DeliversOwnMessages reports whether messages sent through the API are
// delivered to webhooks as messages.post (pass_through, default true).
func (s ChannelSettings) DeliversOwnMessages() bool { return s.PassThrough == nil || *s.PassThrough }

// EventTypeAliases are the older webhook event type names Whapi still
// accepts, with the current names they stand for.
var EventTypeAliases = map[string]string{"message": "messages", "ack": "statuses", "chat": "chats", "status": "channel"}

// MediaSettings say which media wagate downloads by itself.
type MediaSettings struct {
	AutoDownload []string `json:"auto_download"`
	InitAvatars  bool     `json:"init_avatars"`
}

// ChannelWebhook is one webhook target of a channel.
type ChannelWebhook struct {
	URL     string            `json:"url"`
	Events  []WebhookEvent    `json:"events"`
	Mode    string            `json:"mode"`
	Headers map[string]string `json:"headers,omitempty"`
	// Secret signs deliveries (HMAC-SHA256); answers show RedactedSecret.
	Secret string `json:"secret,omitempty"`
}

// RedactedSecret stands for a webhook secret in answers; sent back, it
// keeps the secret the webhook with the same URL had.
const RedactedSecret = "xxxxx"

// Redacted is the settings as answers show them: the proxy password and
// webhook secrets hidden.
func (s ChannelSettings) Redacted() ChannelSettings {
	hooks := make([]ChannelWebhook, len(s.Webhooks))
	for i, h := range s.Webhooks {
		if h.Secret != "" {
			h.Secret = RedactedSecret
		}
		hooks[i] = h
	}
	s.Webhooks = hooks
	return s
}

// DefaultChannelSettings are a new channel's settings, and what DELETE
// /settings resets to.
func DefaultChannelSettings() ChannelSettings {
	return ChannelSettings{
		CallbackBackoffDelayMS:    3000,
		MaxCallbackBackoffDelayMS: 900000,
		CallbackPersist:           true,
		Media:                     MediaSettings{AutoDownload: []string{}},
		Webhooks:                  []ChannelWebhook{},
		History:                   HistorySettings{Messages: DefaultHistoryMessages, Days: DefaultHistoryDays},
	}
}

// ChannelEventTypes are the webhook event types of a channel.
var ChannelEventTypes = []string{"messages", "statuses", "chats", "contacts", "groups", "presences", "calls", "channel", "users", "labels", "service"}

// WebhookMethods are the HTTP methods an event can be delivered with.
var WebhookMethods = []string{"post", "put", "patch", "delete"}
