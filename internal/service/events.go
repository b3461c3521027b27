package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/webhook"
	"github.com/wagate/wagate/internal/wire"
)

// Webhook events: the service turns every state change it makes into
// deliveries for the webhooks that subscribe to it, written in the same
// transaction as the change where the store offers one (messages,
// statuses), and wakes the dispatcher.

// hooks are a channel's webhooks subscribed to typ.method ("" when none:
// the caller then builds no payload).
func (s *Service) hooks(ctx context.Context, ch model.Channel, typ, method string) []webhook.Hook {
	settings, err := s.ChannelSettings(ctx, ch)
	if errors.Is(err, model.ErrChannelNotFound) {
		return nil // deleted: no webhooks
	}
	if err != nil {
		s.log.WarnContext(ctx, "webhooks: cannot read the channel's settings", "channel_id", ch.ID, "error", err)
		return nil
	}
	var out []webhook.Hook
	for _, h := range webhook.ChannelHooks(settings) {
		if webhook.Subscribed(h.Events, typ, method) {
			out = append(out, h)
		}
	}
	return out
}

// wants reports whether any of a channel's webhooks subscribes to an event
// type (any method), so a change need not look up what it changed for
// nobody.
func (s *Service) wants(ctx context.Context, ch model.Channel, typ string) bool {
	settings, err := s.ChannelSettings(ctx, ch)
	if err != nil {
		return true // the hooks will say
	}
	for _, h := range webhook.ChannelHooks(settings) {
		for _, e := range h.Events {
			if strings.EqualFold(e.Type, typ) {
				return true
			}
		}
	}
	return false
}

// deliveries builds the deliveries of one channel event; build makes the
// payload only when some webhook wants it.
func (s *Service) deliveries(ctx context.Context, ch model.Channel, typ, method, chatKey string, build func() ([]byte, error)) []model.WebhookDelivery {
	hooks := s.hooks(ctx, ch, typ, method)
	if len(hooks) == 0 {
		return nil
	}
	payload, err := build()
	if err != nil {
		s.log.ErrorContext(ctx, "webhooks: cannot build the payload", "channel_id", ch.ID, "event", typ+"."+method, "error", err)
		return nil
	}
	return webhook.Deliveries(webhook.Event{PartnerID: ch.PartnerID, ChannelID: ch.ID, Type: typ, Method: method,
		ChatKey: chatKey, Payload: payload, At: s.now()}, hooks)
}

// enqueue stores deliveries outside another transaction (events whose state
// change the runtime already committed) and wakes the dispatcher.
func (s *Service) enqueue(ctx context.Context, ds []model.WebhookDelivery) {
	if len(ds) == 0 {
		return
	}
	if err := s.store.Enqueue(context.WithoutCancel(ctx), ds...); err != nil {
		s.log.ErrorContext(ctx, "webhooks: cannot enqueue", "error", err)
		return
	}
	s.wake()
}

// wake tells the dispatcher deliveries are waiting.
func (s *Service) wake() {
	if s.notify != nil {
		s.notify()
	}
}

// messageHooks are the deliveries of a new message (messages.post).
func (s *Service) messageHooks(ctx context.Context, ch model.Channel, m model.Message) []model.WebhookDelivery {
	if m.FromMe && m.Source == "api" && !s.passThrough(ctx, ch) {
		return nil // pass_through false: the API's own sends stay out of messages.post
	}
	return s.deliveries(ctx, ch, wire.TypeMessages, wire.MethodPost, m.ChatID, func() ([]byte, error) {
		return wire.MessagesEvent(ch.ID, wire.MethodPost, []model.Message{m})
	})
}

// statusHooks builds the statuses.post deliveries of messages whose status
// changed, one per chat so each keeps its chat's order.
func (s *Service) statusHooks(ctx context.Context, ch model.Channel) func([]model.Message) []model.WebhookDelivery {
	return func(changed []model.Message) []model.WebhookDelivery {
		var out []model.WebhookDelivery
		byChat := map[string][]model.Message{}
		var chats []string
		for _, m := range changed {
			if _, ok := byChat[m.ChatID]; !ok {
				chats = append(chats, m.ChatID)
			}
			byChat[m.ChatID] = append(byChat[m.ChatID], m)
		}
		for _, chat := range chats {
			msgs := byChat[chat]
			out = append(out, s.deliveries(ctx, ch, wire.TypeStatuses, wire.MethodPost, chat, func() ([]byte, error) {
				return wire.StatusesEvent(ch.ID, wire.MethodPost, msgs, s.now())
			})...)
		}
		return out
	}
}

// updateHooks builds the messages.patch deliveries of an edit or reaction.
func (s *Service) updateHooks(ctx context.Context, ch model.Channel) func(before, after model.Message) []model.WebhookDelivery {
	return func(before, after model.Message) []model.WebhookDelivery {
		if after.Status == model.MessageDeleted && before.Status != model.MessageDeleted {
			return s.deliveries(ctx, ch, wire.TypeMessages, wire.MethodDelete, after.ChatID, func() ([]byte, error) {
				return wire.MessagesRemovedEvent(ch.ID, []string{after.ID})
			})
		}
		return s.deliveries(ctx, ch, wire.TypeMessages, wire.MethodPatch, after.ChatID, func() ([]byte, error) {
			return wire.MessagesUpdatesEvent(ch.ID, []wire.Change[model.Message]{{Before: before, After: after}})
		})
	}
}

// HandleRuntimeEvent turns a channel's lifecycle event (status, QR, linked,
// unlinked, link failed) into its channel webhooks (channel.post with the
// health, channel.patch with each QR, users.post and users.delete) and its
// partner's "channel" webhooks.
//
// The channel webhooks need only the channel's ID and partner, which never
// change, and the event carries both: the channel's row is read (through the
// cache) only when the event lacks its partner, or when a partner webhook
// wants the channel as it is now. A deleted channel has no settings, so no
// webhooks: its last events go nowhere.
func (s *Service) HandleRuntimeEvent(e runtime.Event) {
	s.recordHealth(e)
	ctx := context.Background()
	ch, row := model.Channel{ID: e.ChannelID, PartnerID: e.PartnerID}, false
	if ch.PartnerID == "" {
		var err error
		if ch, err = s.channelByID(ctx, e.ChannelID); err != nil {
			return // deleted meanwhile
		}
		row = true
	}
	var ds []model.WebhookDelivery
	switch e.Kind {
	case runtime.EventStatus:
		ds = s.deliveries(ctx, ch, wire.TypeChannel, wire.MethodPost, "", func() ([]byte, error) {
			return wire.ChannelHealthEvent(ch.ID, e.Health, s.WireServer(), e.Time)
		})
		if e.Health.Status == runtime.StatusAuth && s.rt != nil {
			go s.announcePresence(ch.ID) // presences.go
		}
	case runtime.EventQR:
		ds = s.deliveries(ctx, ch, wire.TypeChannel, wire.MethodPatch, "", func() ([]byte, error) {
			return wire.ChannelQREvent(ch.ID, e.Health.QR, e.Health.QRExpires, e.Time, false)
		})
	case runtime.EventLinked:
		ds = s.deliveries(ctx, ch, wire.TypeUsers, wire.MethodPost, "", func() ([]byte, error) {
			return wire.UsersEvent(ch.ID, wire.MethodPost, engine.Account{Phone: e.Health.Phone, Name: e.Health.Name})
		})
	case runtime.EventUnlinked:
		ds = s.deliveries(ctx, ch, wire.TypeUsers, wire.MethodDelete, "", func() ([]byte, error) {
			return wire.UsersEvent(ch.ID, wire.MethodDelete, engine.Account{Phone: e.Phone, Name: e.Name})
		})
	}
	if change, ok := wire.ChangeOf(e); ok {
		ds = append(ds, s.partnerChannelHooks(ctx, ch, row, change, e)...)
	}
	s.enqueue(ctx, ds)
}

// partnerChannelHooks are the deliveries of a channel's lifecycle change to
// its partner's "channel" webhooks. ch is the channel's row when row is set,
// else only its ID and partner: the row is then read when a webhook wants it.
func (s *Service) partnerChannelHooks(ctx context.Context, ch model.Channel, row bool, change string, e runtime.Event) []model.WebhookDelivery {
	o := s.partnerOutbox(ctx, ch.PartnerID)
	if !o.wants(wire.TypeChannel) {
		return nil
	}
	if !row {
		// The payload shows the channel as it is now.
		partnerID := ch.PartnerID
		var err error
		if ch, err = s.channelByID(ctx, ch.ID); err != nil || ch.PartnerID != partnerID {
			return nil // deleted meanwhile
		}
	}
	st := e.Health.Status
	return o.channel(ch, change, &st, e.Reason, e.Time)
}

// DeliveryStatuses are the statuses a delivery log can be filtered by.
var DeliveryStatuses = []string{model.DeliveryPending, model.DeliveryDelivered, model.DeliveryDropped, model.DeliveryFailed}

// WebhookLog lists the webhook deliveries of one of a partner's channels,
// newest first, each with its latest attempts; status ("" for all) filters.
func (s *Service) WebhookLog(ctx context.Context, partnerID, channelID, status string, p Page) ([]model.WebhookLogEntry, int, error) {
	if _, err := s.Channel(ctx, partnerID, channelID); err != nil {
		return nil, 0, err
	}
	if status != "" && !slices.Contains(DeliveryStatuses, status) {
		return nil, 0, invalid("status", "must be one of %s", strings.Join(DeliveryStatuses, ", "))
	}
	return s.store.DeliveryLog(ctx, partnerID, channelID, store.DeliveryQuery{Status: status, Count: p.Count, Offset: p.Offset})
}

// Redeliver sends one of a channel's deliveries again (a failed, dropped or
// delivered one goes back to pending, behind nothing it was ordered after).
func (s *Service) Redeliver(ctx context.Context, partnerID, channelID, deliveryID string) (model.WebhookLogEntry, error) {
	if _, err := s.Channel(ctx, partnerID, channelID); err != nil {
		return model.WebhookLogEntry{}, err
	}
	if _, err := s.store.Redeliver(ctx, partnerID, channelID, deliveryID, s.now()); err != nil {
		return model.WebhookLogEntry{}, err
	}
	s.wake()
	s.log.InfoContext(ctx, "webhook delivery redelivered", "channel_id", channelID, "delivery_id", deliveryID)
	return s.store.Delivery(ctx, partnerID, channelID, deliveryID, 20)
}

// WebhookTest is a test callback to send.
type WebhookTest struct {
	URL     string
	Type    string // an event type; messages by default
	Mode    string
	Headers map[string]string
	Secret  string
}

// WebhookTestResult is how the receiver answered.
type WebhookTestResult struct {
	Delivered bool
	Attempt   model.WebhookAttempt
}

// TestWebhook sends one test event of the given type to a URL, signed when
// a secret is given, and says how the receiver answered. Nothing is queued
// or retried.
func (s *Service) TestWebhook(ctx context.Context, ch model.Channel, t WebhookTest) (WebhookTestResult, error) {
	if err := checkWebhookURL("url", t.URL, s.allowPrivateHooks); err != nil {
		return WebhookTestResult{}, err
	}
	mode, err := checkWebhookMode("mode", t.Mode)
	if err != nil {
		return WebhookTestResult{}, err
	}
	if t.Type == "" {
		t.Type = wire.TypeMessages
	}
	if !slices.Contains(model.ChannelEventTypes, t.Type) {
		return WebhookTestResult{}, invalid("type", "must be one of %s", strings.Join(model.ChannelEventTypes, ", "))
	}
	if len(t.Headers) > 20 {
		return WebhookTestResult{}, invalid("headers", "at most 20 headers")
	}
	if t.Secret, err = keepSecret("secret", t.URL, t.Secret, func(string) string { return "" }); err != nil {
		return WebhookTestResult{}, err
	}
	if s.sendTest == nil {
		return WebhookTestResult{}, fmt.Errorf("webhooks are not delivered in this process: %w", model.ErrUnavailable)
	}
	payload, method, err := s.testPayload(ch, t.Type)
	if err != nil {
		return WebhookTestResult{}, err
	}
	d := model.WebhookDelivery{ID: model.NewWebhookDeliveryID(), EventID: model.NewWebhookEventID(), PartnerID: ch.PartnerID,
		ChannelID: ch.ID, Type: t.Type, Method: method, Payload: payload, CreatedAt: s.now(),
		Target: model.WebhookTarget{URL: t.URL, Mode: mode, Headers: t.Headers, Secret: t.Secret}}
	a, err := s.sendTest(ctx, d)
	return WebhookTestResult{Delivered: err == nil, Attempt: a}, nil
}

// testPayload is a sample body of an event type: a test text message for
// messages, the channel's health for channel, the linked user for users,
// and an empty event of the type otherwise.
func (s *Service) testPayload(ch model.Channel, typ string) ([]byte, string, error) {
	now := s.now()
	switch typ {
	case wire.TypeMessages:
		self := s.selfJID(ch)
		if self == "" {
			self = "10000000000@" + UserServer
		}
		m := model.Message{ChannelID: ch.ID, ID: "TEST" + strings.ToUpper(model.NewWebhookEventID()[4:16]), ChatID: self, Sender: self,
			FromMe: true, Type: "text", Source: "api", Status: model.MessageSent, Body: "wagate webhook test",
			Content: mustJSON(kindObject{"body": "wagate webhook test"}), Time: now}
		b, err := wire.MessagesEvent(ch.ID, wire.MethodPost, []model.Message{m})
		return b, wire.MethodPost, err
	case wire.TypeChannel:
		b, err := wire.ChannelHealthEvent(ch.ID, s.Health(ch), s.WireServer(), now)
		return b, wire.MethodPost, err
	}
	b, err := json.Marshal(map[string]any{"event": map[string]string{"type": typ, "event": wire.MethodPost}, "channel_id": ch.ID, "test": true})
	return b, wire.MethodPost, err
}

// partnerOutbox builds the deliveries of one partner's events to its
// partner webhooks; it is nil when the partner has none.
type partnerOutbox struct {
	s         *Service
	ctx       context.Context
	partnerID string
	settings  model.PartnerSettings
	hooks     []webhook.Hook
}

// partnerOutbox is the outbox of a partner's events, nil when it has no
// webhooks.
func (s *Service) partnerOutbox(ctx context.Context, partnerID string) *partnerOutbox {
	settings, err := s.partnerSettings(ctx, partnerID)
	if err != nil || len(settings.Webhooks) == 0 {
		return nil
	}
	return &partnerOutbox{s: s, ctx: ctx, partnerID: partnerID, settings: settings, hooks: webhook.PartnerHooks(settings)}
}

// wants reports whether one of the partner's webhooks subscribes to typ
// (post, the only method of partner events).
func (o *partnerOutbox) wants(typ string) bool {
	if o == nil {
		return false
	}
	for _, h := range o.hooks {
		if webhook.Subscribed(h.Events, typ, wire.MethodPost) {
			return true
		}
	}
	return false
}

// channel is a lifecycle change of one of the partner's channels at time
// at (ordered per channel); status and reason, when known, say where the
// channel's connection stands and why.
func (o *partnerOutbox) channel(ch model.Channel, change string, status *runtime.Status, reason string, at time.Time) []model.WebhookDelivery {
	if o == nil || o.s.channelView == nil {
		return nil
	}
	now := o.s.now()
	payload, err := wire.PartnerChannelEvent(wire.PartnerChannel{PartnerID: o.partnerID, ChannelID: ch.ID,
		Change: change, Channel: o.s.channelView(ch), Status: status, Reason: reason, Time: at})
	if err != nil {
		o.s.log.ErrorContext(o.ctx, "webhooks: cannot build the partner payload", "channel_id", ch.ID, "change", change, "error", err)
		return nil
	}
	return webhook.Deliveries(webhook.Event{PartnerID: o.partnerID, ChannelID: ch.ID, Type: wire.TypeChannel,
		Method: wire.MethodPost, ChatKey: ch.ID, Payload: payload, At: now}, o.hooks)
}

// days is the "days" event when a balance change takes the balance across
// the partner's days_limit, from above it to at or below it (not every
// change below it).
func (o *partnerOutbox) days(before, after int64) []model.WebhookDelivery {
	if o == nil || o.s.partnerView == nil {
		return nil
	}
	limit := o.settings.EffectiveDaysLimit()
	if after > limit || before <= limit {
		return nil
	}
	p, err := o.s.store.Partner(o.ctx, o.partnerID)
	if err != nil {
		o.s.log.ErrorContext(o.ctx, "webhooks: cannot read the partner", "partner_id", o.partnerID, "error", err)
		return nil
	}
	p.Balance = after
	now := o.s.now()
	payload, err := wire.PartnerDaysEvent(wire.PartnerDays{PartnerID: o.partnerID, Partner: o.s.partnerView(p),
		Balance: after, DaysLimit: limit, Time: now})
	if err != nil {
		o.s.log.ErrorContext(o.ctx, "webhooks: cannot build the days payload", "partner_id", o.partnerID, "error", err)
		return nil
	}
	return webhook.Deliveries(webhook.Event{PartnerID: o.partnerID, Type: wire.TypeDays,
		Method: wire.MethodPost, Payload: payload, At: now}, o.hooks)
}

// channelChangeHooks are the partner deliveries of a channel change made in
// MutateChannel: the lifecycle change, and "days" when the balance crossed
// the limit. It is nil when the partner has no webhooks.
func (s *Service) channelChangeHooks(ctx context.Context, partnerID, change string) func(ch model.Channel, before, after int64) []model.WebhookDelivery {
	o := s.partnerOutbox(ctx, partnerID)
	if o == nil {
		return nil
	}
	return func(ch model.Channel, before, after int64) []model.WebhookDelivery {
		return append(o.channel(ch, change, nil, "", s.now()), o.days(before, after)...)
	}
}

// balanceHooks are the partner deliveries of an operator's credit or debit:
// "days" when it takes the balance across the limit.
func (s *Service) balanceHooks(ctx context.Context, partnerID string) []func(before, after int64) []model.WebhookDelivery {
	o := s.partnerOutbox(ctx, partnerID)
	if o == nil {
		return nil
	}
	return []func(before, after int64) []model.WebhookDelivery{o.days}
}

// expiryHooks are the partner deliveries of channels running out of days,
// each to its own partner's webhooks.
func (s *Service) expiryHooks(ctx context.Context) func(ch model.Channel) []model.WebhookDelivery {
	outboxes := map[string]*partnerOutbox{}
	return func(ch model.Channel) []model.WebhookDelivery {
		o, ok := outboxes[ch.PartnerID]
		if !ok {
			o = s.partnerOutbox(ctx, ch.PartnerID)
			outboxes[ch.PartnerID] = o
		}
		return o.channel(ch, wire.ChangeExpired, nil, "", s.now())
	}
}
