package webhook

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// Event is one gateway event before it is fanned out to the webhooks that
// subscribe to it.
type Event struct {
	PartnerID string
	// ChannelID is the channel the event is about; Deliveries keeps it only
	// for channel hooks (partner-level deliveries have none).
	ChannelID string
	Type      string
	Method    string
	// ChatKey orders the event among others to the same webhook (usually
	// the chat ID; "" for events about no chat).
	ChatKey string
	Payload json.RawMessage
	At      time.Time
}

// Hook is a webhook that may receive events.
type Hook struct {
	Target model.WebhookTarget
	Events []model.WebhookEvent
	// Partner marks the partner's own webhooks, whose deliveries belong to
	// no channel.
	Partner bool
}

// ChannelHooks are a channel's webhooks with the channel's retry settings.
func ChannelHooks(s model.ChannelSettings) []Hook {
	out := make([]Hook, 0, len(s.Webhooks))
	for _, w := range s.Webhooks {
		out = append(out, Hook{Events: w.Events, Target: model.WebhookTarget{
			URL: w.URL, Mode: w.Mode, Headers: w.Headers, Secret: w.Secret,
			BackoffMS: s.CallbackBackoffDelayMS, MaxBackoffMS: s.MaxCallbackBackoffDelayMS,
			MaxAgeSeconds: s.WebhookMaxAgeSeconds,
		}})
	}
	return out
}

// PartnerHooks are a partner's own webhooks, with the default retry
// delays and no maximum age.
func PartnerHooks(s model.PartnerSettings) []Hook {
	out := make([]Hook, 0, len(s.Webhooks))
	for _, w := range s.Webhooks {
		out = append(out, Hook{Partner: true, Events: w.Events,
			Target: model.WebhookTarget{URL: w.URL, Mode: w.Mode, Secret: w.Secret}})
	}
	return out
}

// Subscribed reports whether events select the event type and method
// (compared without regard to case).
func Subscribed(events []model.WebhookEvent, typ, method string) bool {
	for _, e := range events {
		if strings.EqualFold(e.Type, typ) && strings.EqualFold(e.Method, method) {
			return true
		}
	}
	return false
}

// Deliveries fans ev out: one delivery, with a fresh delivery ID and ev's
// shared event ID, for each hook subscribed to it. Enqueue them with
// store.EnqueueTx in the transaction of the change the event reports.
func Deliveries(ev Event, hooks []Hook) []model.WebhookDelivery {
	var out []model.WebhookDelivery
	eventID := ""
	for _, h := range hooks {
		if h.Target.URL == "" || !Subscribed(h.Events, ev.Type, ev.Method) {
			continue
		}
		if eventID == "" {
			eventID = model.NewWebhookEventID()
		}
		channelID := ev.ChannelID
		if h.Partner {
			channelID = ""
		}
		out = append(out, model.WebhookDelivery{
			ID: model.NewWebhookDeliveryID(), EventID: eventID, PartnerID: ev.PartnerID, ChannelID: channelID,
			Type: ev.Type, Method: ev.Method, ChatKey: ev.ChatKey, Payload: ev.Payload, Target: h.Target,
			CreatedAt: ev.At,
		})
	}
	return out
}
