package model

import (
	"crypto/rand"
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// Webhook delivery statuses.
const (
	// DeliveryPending waits for its first or next attempt.
	DeliveryPending = "pending"
	// DeliveryDelivered was answered with a 2xx status.
	DeliveryDelivered = "delivered"
	// DeliveryDropped outlived its target's maximum age before it could be
	// delivered; the drop is recorded in LastError.
	DeliveryDropped = "dropped"
	// DeliveryFailed can never be delivered as it is (the URL is malformed
	// or points where wagate may not go); it stays failed until redelivered.
	DeliveryFailed = "failed"
)

// Webhook delivery modes (Whapi's WebhookParameters.mode).
const (
	// WebhookModeBody POSTs every event to the URL; the event is in the body.
	WebhookModeBody = "body"
	// WebhookModePath POSTs to the URL with "/<type>/<method>" appended.
	WebhookModePath = "path"
	// WebhookModeMethod sends with the event's method (POST, PUT, PATCH,
	// DELETE) to the URL with "/<type>" appended.
	WebhookModeMethod = "method"
)

// WebhookTarget is where and how one delivery goes: a snapshot of the
// webhook's settings taken when the event was enqueued, so later settings
// changes do not alter deliveries already in the outbox.
type WebhookTarget struct {
	URL string
	// Mode is body, path or method; empty means body.
	Mode    string
	Headers map[string]string
	// Secret, when set, signs each request (HMAC-SHA256). Never shown.
	Secret string `json:"-"`
	// BackoffMS is the first retry delay; MaxBackoffMS caps the growing
	// delay. Zero means the defaults (3000 ms and 900000 ms).
	BackoffMS    int
	MaxBackoffMS int
	// MaxAgeSeconds drops an event not delivered this long after it was
	// created; zero keeps retrying without end.
	MaxAgeSeconds int
}

// Receiver names the server a target's requests go to ("https://host:port"
// in lower case): deliveries share a concurrency budget per receiver, so one
// slow or dead receiver cannot hold every worker. A URL that does not parse
// is its own receiver.
func (t WebhookTarget) Receiver() string {
	u, err := url.Parse(t.URL)
	if err != nil || u.Host == "" {
		return t.URL
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// WebhookDelivery is one event for one webhook target: the outbox row.
type WebhookDelivery struct {
	// ID is the stable delivery ID ("whd_..."), sent with every attempt so
	// receivers can drop duplicates.
	ID string
	// EventID ("whe_...") is shared by the deliveries of one event to its
	// several targets.
	EventID   string
	PartnerID string
	// ChannelID is "" for partner-level deliveries.
	ChannelID string
	// Type is the event type (messages, statuses, chats, contacts, groups,
	// presences, channel, users, days, ...) and Method its kind (post, put,
	// patch, delete).
	Type   string
	Method string
	// ChatKey orders deliveries: those to one target with the same ChatKey
	// go out strictly in the order they were enqueued. Events about no chat
	// use "" and are ordered among themselves.
	ChatKey string
	// Payload is the complete request body.
	Payload   json.RawMessage
	Target    WebhookTarget
	CreatedAt time.Time

	Status string
	// Attempts counts the attempts made or under way.
	Attempts int
	// NextAttemptAt is when the delivery is due (while one is under way:
	// when its claim ends). It is zero while the delivery waits behind an
	// older pending one of its target and chat.
	NextAttemptAt time.Time
	// ExpiresAt is when a pending delivery is dropped (zero: never); set
	// from Target.MaxAgeSeconds at enqueue and again on redelivery.
	ExpiresAt time.Time
	// LastStatus is the HTTP status of the last answer (0 for none).
	LastStatus int
	// LastError says why the last attempt failed, or why the delivery was
	// dropped or failed.
	LastError string
	// DeliveredAt is zero until a 2xx answer.
	DeliveredAt time.Time
}

// Event is the delivery's "<type>.<method>", as the event header shows it.
func (d WebhookDelivery) Event() string { return d.Type + "." + d.Method }

// WebhookAttempt is one HTTP attempt of a delivery.
type WebhookAttempt struct {
	DeliveryID string
	// N numbers the delivery's attempts from 1.
	N  int
	At time.Time
	// Status is the answer's HTTP status, 0 when there was no answer.
	Status int
	// Error is why the attempt failed; empty on success.
	Error    string
	Duration time.Duration
}

// WebhookLogEntry is a delivery with its attempts, newest attempt last.
type WebhookLogEntry struct {
	Delivery WebhookDelivery
	Attempts []WebhookAttempt
}

// NewWebhookDeliveryID returns a delivery ID: "whd_" and 26 random base32
// characters (130 bits).
func NewWebhookDeliveryID() string { return "whd_" + rand.Text() }

// NewWebhookEventID returns an event ID: "whe_" and 26 random base32
// characters (130 bits).
func NewWebhookEventID() string { return "whe_" + rand.Text() }
