package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/store"
)

// Webhook bodies.
//
// Every channel event is one JSON object in Whapi's envelope: the event's
// key (messages, statuses, chats_updates, health, qr, user, ...) holding
// what happened, "event": {"type", "event"} naming the event type and
// method, and "channel_id". Partner events carry "partner_id" instead (and
// "channel_id" when they are about a channel). The builders are pure: they
// check their input, render it with the shapes of the gate API (or, for
// partner events, what the caller rendered with the partner API's shapes)
// and return the body, ready to be stored in the outbox and sent as is.
// Lists must not be empty: an event about nothing is a caller's bug.

// Channel webhook event types (settings webhooks[].events[].type) and the
// partner's.
const (
	TypeMessages  = "messages"
	TypeStatuses  = "statuses"
	TypeChats     = "chats"
	TypeContacts  = "contacts"
	TypeGroups    = "groups"
	TypePresences = "presences"
	// TypeChannel is a channel's status and QR code (channel webhooks), and
	// the lifecycle of a partner's channels (partner webhooks).
	TypeChannel = "channel"
	TypeUsers   = "users"
	// TypeDays is the partner event sent when its balance falls to its
	// days_limit.
	TypeDays = "days"
)

// Event methods: the "event" of EventKind, the HTTP method in mode method.
const (
	MethodPost   = "post"
	MethodPut    = "put"
	MethodPatch  = "patch"
	MethodDelete = "delete"
)

// EventKind is the "event" object of every webhook body.
type EventKind struct {
	Type  string `json:"type"`
	Event string `json:"event"`
}

// String is "type.event" (e.g. "messages.post"), the X-Wagate-Event header.
func (k EventKind) String() string { return k.Type + "." + k.Event }

// KindOf reads the event kind of a webhook body.
func KindOf(body []byte) (EventKind, error) {
	var v struct {
		Event *EventKind `json:"event"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return EventKind{}, fmt.Errorf("wire: webhook body: %w", err)
	}
	if v.Event == nil || v.Event.Type == "" || v.Event.Event == "" {
		return EventKind{}, errors.New("wire: webhook body: no event")
	}
	return *v.Event, nil
}

// MessageStatus is a change of a message's status (Whapi's Status, in
// "statuses"): code is the status's rank (failed 0, pending 1, sent 2,
// delivered 3, read 4, played 5, deleted 6), timestamp the Unix seconds as
// a string, as Whapi sends it.
type MessageStatus struct {
	ID          string `json:"id"`
	Code        int    `json:"code"`
	Status      string `json:"status"`
	RecipientID string `json:"recipient_id"`
	Timestamp   string `json:"timestamp"`
}

// Change is an object before and after a change: the input of the
// *UpdatesEvent builders.
type Change[T any] struct {
	Before, After T
}

// Update is Whapi's MessageUpdate, ChatUpdate, ContactUpdate and
// GroupUpdate: an object before and after a change, and the names of its
// fields that changed (top-level keys of the object, sorted). ID is the
// message's, for messages only.
type Update[T any] struct {
	ID      string   `json:"id,omitempty"`
	Before  T        `json:"before_update"`
	After   T        `json:"after_update"`
	Changes []string `json:"changes"`
}

// ParticipantEvent is a change of a group's participants (Whapi's
// ParticipantEvent): action add, remove, promote or demote, participants
// as phone numbers.
type ParticipantEvent struct {
	GroupID      string   `json:"group_id"`
	Participants []string `json:"participants"`
	Action       string   `json:"action"`
}

// NewParticipantEvent converts an engine's participant change; join and
// leave are add and remove. Other group changes (subject, description,
// settings, create) are not participant events: they are an error.
func NewParticipantEvent(c engine.GroupChange) (ParticipantEvent, error) {
	action := c.Action
	switch action {
	case "add", "remove", "promote", "demote":
	case "join":
		action = "add"
	case "leave":
		action = "remove"
	default:
		return ParticipantEvent{}, fmt.Errorf("wire: group change %q is not about participants", c.Action)
	}
	if c.Group == "" {
		return ParticipantEvent{}, errors.New("wire: participant event: no group")
	}
	return ParticipantEvent{GroupID: c.Group, Participants: phones(c.Participants), Action: action}, nil
}

// QR is a login QR code as Whapi's "channel" patch event carries it (and
// GET /users/login shows it): status OK, the text the code encodes, its
// seconds left and, when asked for, the image as a PNG data URL.
type QR struct {
	Status  string `json:"status"`
	Base64  string `json:"base64,omitempty"`
	Rowdata string `json:"rowdata"`
	Expire  int64  `json:"expire"`
}

// QRImageSize is the side in pixels of the QR images in webhooks (the
// default of GET /users/login).
const QRImageSize = 512

// NewQR converts a login QR code valid until expires, at time now; image
// adds its PNG.
func NewQR(code string, expires, now time.Time, image bool) (QR, error) {
	if code == "" {
		return QR{}, errors.New("wire: QR: no code")
	}
	out := QR{Status: "OK", Rowdata: code, Expire: max(int64(math.Ceil(expires.Sub(now).Seconds())), 1)}
	if image {
		png, err := qrcode.Encode(code, qrcode.Medium, QRImageSize)
		if err != nil {
			return QR{}, fmt.Errorf("wire: QR image: %w", err)
		}
		out.Base64 = "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	}
	return out, nil
}

// Lifecycle changes of a partner's channels (the "change" of
// PartnerChannelEvent).
const (
	ChangeLinked     = "linked"      // a phone linked the channel (logged in)
	ChangeLinkFailed = "link_failed" // a login attempt failed
	ChangeQRExpired  = "qr_expired"  // a login flow ended with no code scanned
	ChangeUnlinked   = "unlinked"    // logged out, by the API, the phone or WhatsApp
	ChangeStatus     = "status"      // the connection status changed
	ChangeStopped    = "stopped"     // the partner stopped the channel
	ChangeStarted    = "started"     // the partner started it again
	ChangeExpired    = "expired"     // it ran out of days
	ChangeExtended   = "extended"    // days were added to it
)

// knownChange reports whether c is one of the Change* constants.
func knownChange(c string) bool {
	switch c {
	case ChangeLinked, ChangeLinkFailed, ChangeQRExpired, ChangeUnlinked, ChangeStatus,
		ChangeStopped, ChangeStarted, ChangeExpired, ChangeExtended:
		return true
	}
	return false
}

// ChangeOf is the partner lifecycle change a runtime event reports, false
// for events partners do not get (a new QR code). A login flow that ended
// unscanned is qr_expired; another failure link_failed.
func ChangeOf(e runtime.Event) (string, bool) {
	switch e.Kind {
	case runtime.EventStatus:
		return ChangeStatus, true
	case runtime.EventLinked:
		return ChangeLinked, true
	case runtime.EventLinkFailed:
		if e.Health.LoginTimedOut {
			return ChangeQRExpired, true
		}
		return ChangeLinkFailed, true
	case runtime.EventUnlinked:
		return ChangeUnlinked, true
	}
	return "", false
}

// PartnerChannel is what PartnerChannelEvent reports.
type PartnerChannel struct {
	PartnerID string
	ChannelID string
	// Change is one of the Change* constants.
	Change string
	// Channel is the channel after the change as the partner API shows it:
	// apiutil.NewChannel(ch, apiURL, now). (wire cannot import apiutil,
	// which imports the service.)
	Channel any
	// Status is the connection status after the change; required for
	// ChangeStatus, optional otherwise.
	Status *runtime.Status
	// Reason says why, when known (a failure, a logout).
	Reason string
	Time   time.Time
}

// PartnerDays is what PartnerDaysEvent reports.
type PartnerDays struct {
	PartnerID string
	// Partner is the partner as the partner API shows it:
	// apiutil.NewPartner(p).
	Partner   any
	Balance   int64
	DaysLimit int64
	Time      time.Time
}

// MessagesEvent is "messages" post (new messages, sent or received) or put
// (messages that arrived while the channel was offline, history).
func MessagesEvent(channelID, method string, msgs []model.Message) ([]byte, error) {
	kind, err := kindOf(TypeMessages, method, MethodPost, MethodPut)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, errors.New("wire: messages event: no messages")
	}
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		out[i] = NewMessage(m)
	}
	return channelBody(channelID, kind, field{"messages", out})
}

// StatusesEvent is "statuses" post (put: for messages that changed while
// the channel was offline): the new status of each message, at time at
// (each message's own time when at is zero).
func StatusesEvent(channelID, method string, msgs []model.Message, at time.Time) ([]byte, error) {
	kind, err := kindOf(TypeStatuses, method, MethodPost, MethodPut)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, errors.New("wire: statuses event: no messages")
	}
	out := make([]MessageStatus, len(msgs))
	for i, m := range msgs {
		code, ok := statusCode(m.Status)
		if !ok {
			return nil, fmt.Errorf("wire: statuses event: message %s: unknown status %q", m.ID, m.Status)
		}
		t := at
		if t.IsZero() {
			t = m.Time
		}
		out[i] = MessageStatus{ID: m.ID, Code: code, Status: m.Status, RecipientID: m.ChatID,
			Timestamp: strconv.FormatInt(t.Unix(), 10)}
	}
	return channelBody(channelID, kind, field{"statuses", out})
}

// MessagesUpdatesEvent is "messages" patch: messages edited or reacted to,
// before and after.
func MessagesUpdatesEvent(channelID string, updates []Change[model.Message]) ([]byte, error) {
	if len(updates) == 0 {
		return nil, errors.New("wire: messages updates event: no updates")
	}
	out := make([]Update[Message], len(updates))
	for i, u := range updates {
		if u.Before.ID != u.After.ID {
			return nil, fmt.Errorf("wire: messages updates event: message %s changed into %s", u.Before.ID, u.After.ID)
		}
		up, err := newUpdate(NewMessage(u.Before), NewMessage(u.After))
		if err != nil {
			return nil, err
		}
		up.ID = u.After.ID
		out[i] = up
	}
	return channelBody(channelID, EventKind{TypeMessages, MethodPatch}, field{"messages_updates", out})
}

// MessagesRemovedEvent is "messages" delete: the IDs of messages deleted.
func MessagesRemovedEvent(channelID string, ids []string) ([]byte, error) {
	if err := checkIDs("messages removed", ids); err != nil {
		return nil, err
	}
	return channelBody(channelID, EventKind{TypeMessages, MethodDelete}, field{"messages_removed", ids})
}

// ChatsEvent is "chats" post: new chats at time now, each with its last
// message when last (by chat ID, as service.ChatLastMessages returns) has it.
func ChatsEvent(channelID string, chats []model.Chat, last map[string]model.Message, now time.Time) ([]byte, error) {
	if len(chats) == 0 {
		return nil, errors.New("wire: chats event: no chats")
	}
	out := make([]Chat, len(chats))
	for i, c := range chats {
		var lm *model.Message
		if m, ok := last[c.ID]; ok {
			lm = &m
		}
		out[i] = NewChat(c, lm, now)
	}
	return channelBody(channelID, EventKind{TypeChats, MethodPost}, field{"chats", out})
}

// ChatsUpdatesEvent is "chats" patch: chats pinned, muted, archived, read,
// renamed..., before and after, at time now.
func ChatsUpdatesEvent(channelID string, updates []Change[model.Chat], now time.Time) ([]byte, error) {
	if len(updates) == 0 {
		return nil, errors.New("wire: chats updates event: no updates")
	}
	out := make([]Update[Chat], len(updates))
	for i, u := range updates {
		if u.Before.ID != u.After.ID {
			return nil, fmt.Errorf("wire: chats updates event: chat %s changed into %s", u.Before.ID, u.After.ID)
		}
		up, err := newUpdate(NewChat(u.Before, nil, now), NewChat(u.After, nil, now))
		if err != nil {
			return nil, err
		}
		out[i] = up
	}
	return channelBody(channelID, EventKind{TypeChats, MethodPatch}, field{"chats_updates", out})
}

// ChatsRemovedEvent is "chats" delete: the IDs of chats deleted.
func ChatsRemovedEvent(channelID string, ids []string) ([]byte, error) {
	if err := checkIDs("chats removed", ids); err != nil {
		return nil, err
	}
	return channelBody(channelID, EventKind{TypeChats, MethodDelete}, field{"chats_removed", ids})
}

// ContactsEvent is "contacts" post: users the channel learned of.
func ContactsEvent(channelID string, contacts []store.Contact) ([]byte, error) {
	if len(contacts) == 0 {
		return nil, errors.New("wire: contacts event: no contacts")
	}
	out := make([]Contact, len(contacts))
	for i, c := range contacts {
		out[i] = NewContact(c)
	}
	return channelBody(channelID, EventKind{TypeContacts, MethodPost}, field{"contacts", out})
}

// ContactsUpdatesEvent is "contacts" patch: contacts renamed, before and
// after.
func ContactsUpdatesEvent(channelID string, updates []Change[store.Contact]) ([]byte, error) {
	if len(updates) == 0 {
		return nil, errors.New("wire: contacts updates event: no updates")
	}
	out := make([]Update[Contact], len(updates))
	for i, u := range updates {
		if u.Before.ID != u.After.ID {
			return nil, fmt.Errorf("wire: contacts updates event: contact %s changed into %s", u.Before.ID, u.After.ID)
		}
		up, err := newUpdate(NewContact(u.Before), NewContact(u.After))
		if err != nil {
			return nil, err
		}
		out[i] = up
	}
	return channelBody(channelID, EventKind{TypeContacts, MethodPatch}, field{"contacts_updates", out})
}

// GroupsEvent is "groups" post: groups the account created or joined (or
// was added to).
func GroupsEvent(channelID string, groups []store.Group) ([]byte, error) {
	if len(groups) == 0 {
		return nil, errors.New("wire: groups event: no groups")
	}
	out := make([]Group, len(groups))
	for i, g := range groups {
		out[i] = NewGroup(g)
	}
	return channelBody(channelID, EventKind{TypeGroups, MethodPost}, field{"groups", out})
}

// GroupsParticipantsEvent is "groups" put: participants added, removed,
// promoted or demoted (NewParticipantEvent).
func GroupsParticipantsEvent(channelID string, changes []engine.GroupChange) ([]byte, error) {
	if len(changes) == 0 {
		return nil, errors.New("wire: groups participants event: no changes")
	}
	out := make([]ParticipantEvent, len(changes))
	for i, c := range changes {
		p, err := NewParticipantEvent(c)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return channelBody(channelID, EventKind{TypeGroups, MethodPut}, field{"groups_participants", out})
}

// GroupsUpdatesEvent is "groups" patch: a group's name, description,
// settings or participants changed, before and after.
func GroupsUpdatesEvent(channelID string, updates []Change[store.Group]) ([]byte, error) {
	if len(updates) == 0 {
		return nil, errors.New("wire: groups updates event: no updates")
	}
	out := make([]Update[Group], len(updates))
	for i, u := range updates {
		if u.Before.ID != u.After.ID {
			return nil, fmt.Errorf("wire: groups updates event: group %s changed into %s", u.Before.ID, u.After.ID)
		}
		up, err := newUpdate(NewGroup(u.Before), NewGroup(u.After))
		if err != nil {
			return nil, err
		}
		out[i] = up
	}
	return channelBody(channelID, EventKind{TypeGroups, MethodPatch}, field{"groups_updates", out})
}

// PresencesEvent is "presences" post: users online, offline, typing or
// recording.
func PresencesEvent(channelID string, presences []store.Presence) ([]byte, error) {
	if len(presences) == 0 {
		return nil, errors.New("wire: presences event: no presences")
	}
	out := make([]Presence, len(presences))
	for i, p := range presences {
		out[i] = NewPresence(p)
	}
	return channelBody(channelID, EventKind{TypePresences, MethodPost}, field{"presences", out})
}

// ChannelHealthEvent is "channel" post, sent on every status change: the
// channel's health as GET /health shows it at time now.
func ChannelHealthEvent(channelID string, st runtime.Health, srv Server, now time.Time) ([]byte, error) {
	return channelBody(channelID, EventKind{TypeChannel, MethodPost}, field{"health", NewHealth(channelID, st, srv, now)})
}

// ChannelQREvent is "channel" patch, sent with each new login QR code (code
// valid until expires, at time now); image adds the code as a PNG data URL.
func ChannelQREvent(channelID, code string, expires, now time.Time, image bool) ([]byte, error) {
	qr, err := NewQR(code, expires, now, image)
	if err != nil {
		return nil, err
	}
	return channelBody(channelID, EventKind{TypeChannel, MethodPatch}, field{"qr", qr})
}

// UsersEvent is "users" post when a phone linked the channel (the login
// succeeded), delete when the account was unlinked: the account.
func UsersEvent(channelID, method string, user engine.Account) ([]byte, error) {
	kind, err := kindOf(TypeUsers, method, MethodPost, MethodDelete)
	if err != nil {
		return nil, err
	}
	if user.Phone == "" {
		return nil, errors.New("wire: users event: no phone number")
	}
	return channelBody(channelID, kind, field{"user", NewUser(user.Phone, user.Name)})
}

// PartnerDaysEvent is the partner's "days" post: its balance fell to its
// days_limit.
func PartnerDaysEvent(d PartnerDays) ([]byte, error) {
	switch {
	case d.PartnerID == "":
		return nil, errors.New("wire: days event: no partner ID")
	case d.Partner == nil:
		return nil, errors.New("wire: days event: no partner")
	case d.Time.IsZero():
		return nil, errors.New("wire: days event: no time")
	}
	return encode(field{"partner", d.Partner}, field{"balance", d.Balance}, field{"days_limit", d.DaysLimit},
		field{"time", d.Time.UnixMilli()}, field{"event", EventKind{TypeDays, MethodPost}}, field{"partner_id", d.PartnerID})
}

// PartnerChannelEvent is the partner's "channel" post: a lifecycle change
// of one of its channels.
func PartnerChannelEvent(c PartnerChannel) ([]byte, error) {
	switch {
	case c.PartnerID == "":
		return nil, errors.New("wire: partner channel event: no partner ID")
	case c.ChannelID == "":
		return nil, errors.New("wire: partner channel event: no channel ID")
	case !knownChange(c.Change):
		return nil, fmt.Errorf("wire: partner channel event: unknown change %q", c.Change)
	case c.Channel == nil:
		return nil, errors.New("wire: partner channel event: no channel")
	case c.Change == ChangeStatus && c.Status == nil:
		return nil, errors.New("wire: partner channel event: a status change without its status")
	case c.Time.IsZero():
		return nil, errors.New("wire: partner channel event: no time")
	}
	fields := []field{{"channel", c.Channel}, {"change", c.Change}}
	if c.Status != nil {
		fields = append(fields, field{"status", NewChannelStatus(*c.Status)})
	}
	if c.Reason != "" {
		fields = append(fields, field{"reason", c.Reason})
	}
	fields = append(fields, field{"time", c.Time.UnixMilli()}, field{"event", EventKind{TypeChannel, MethodPost}},
		field{"partner_id", c.PartnerID}, field{"channel_id", c.ChannelID})
	return encode(fields...)
}

// kindOf checks an event's method against those its type is sent with.
func kindOf(typ, method string, allowed ...string) (EventKind, error) {
	if !slices.Contains(allowed, method) {
		return EventKind{}, fmt.Errorf("wire: %s events are sent with %v, not %q", typ, allowed, method)
	}
	return EventKind{Type: typ, Event: method}, nil
}

// statusCode is a message status's code: its rank (model.MessageStatusRank).
func statusCode(status string) (int, bool) {
	switch status {
	case model.MessageFailed, model.MessagePending, model.MessageSent, model.MessageDelivered,
		model.MessageRead, model.MessagePlayed, model.MessageDeleted:
		return model.MessageStatusRank(status), true
	}
	return 0, false
}

func checkIDs(what string, ids []string) error {
	if len(ids) == 0 {
		return fmt.Errorf("wire: %s event: no IDs", what)
	}
	if slices.Contains(ids, "") {
		return fmt.Errorf("wire: %s event: an empty ID", what)
	}
	return nil
}

// newUpdate pairs an object before and after a change with the keys of its
// JSON that differ.
func newUpdate[T any](before, after T) (Update[T], error) {
	var b, a map[string]json.RawMessage
	for _, x := range []struct {
		v   any
		dst *map[string]json.RawMessage
	}{{before, &b}, {after, &a}} {
		raw, err := json.Marshal(x.v)
		if err != nil {
			return Update[T]{}, fmt.Errorf("wire: update: %w", err)
		}
		if err := json.Unmarshal(raw, x.dst); err != nil {
			return Update[T]{}, fmt.Errorf("wire: update: %w", err)
		}
	}
	changed := []string{}
	for k, v := range b {
		if w, ok := a[k]; !ok || !bytes.Equal(v, w) {
			changed = append(changed, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	return Update[T]{Before: before, After: after, Changes: changed}, nil
}

// field is one key of a body.
type field struct {
	key   string
	value any
}

// channelBody is a channel event's body: its fields, then event and
// channel_id.
func channelBody(channelID string, kind EventKind, fields ...field) ([]byte, error) {
	if channelID == "" {
		return nil, fmt.Errorf("wire: %s event: no channel ID", kind)
	}
	return encode(append(fields, field{"event", kind}, field{"channel_id", channelID})...)
}

// encode writes fields as one JSON object, in order.
func encode(fields ...field) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, fmt.Errorf("wire: %s: %w", f.key, err)
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
