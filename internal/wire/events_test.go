package wire_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/api/openapi"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/wire"
)

const (
	channelID = "SHAZAM-3HDYQ"
	partnerID = "p1a2b3c4d5e6f7g8h9i0j1k2l3m4"
	customer  = "15551234567@s.whatsapp.net"
	colleague = "4915112345678@s.whatsapp.net"
	self      = "15550001111@s.whatsapp.net"
	groupID   = "120363012345678901@g.us"
)

// now is the fixed time of every fixture.
func now() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// fixtures are realistic messages of a channel: a text received, an image
// sent through the API, and a reply with a mention in a group, reacted to.
func fixtures() []model.Message {
	t := now()
	return []model.Message{
		{ChannelID: channelID, ID: "3EB0C767D26A8B2C9E51", ChatID: customer, Sender: customer, FromName: "Ana <Ana & Co>",
			Type: "text", Source: "mobile", Status: model.MessageDelivered, Body: "Hello, is my order ready?",
			Content: json.RawMessage(`{"body":"Hello, is my order ready?"}`), Time: t.Add(-time.Minute)},
		{ChannelID: channelID, ID: "3EB0A1B2C3D4E5F60718", ChatID: customer, Sender: self, FromMe: true,
			Type: "image", Source: "api", Status: model.MessageRead, Body: "Your order",
			Content: json.RawMessage(`{"id":"jpg-9f2c4e1ab37d48c6a0e5b2d17c3f8e90","link":"http://localhost:8080/media/jpg-9f2c4e1ab37d48c6a0e5b2d17c3f8e90","mime_type":"image/jpeg","file_size":48213,"sha256":"` + strings.Repeat("ab", 32) + `","caption":"Your order"}`),
			Time:    t},
		{ChannelID: channelID, ID: "3EB0FFEEDDCCBBAA9988", ChatID: groupID, Sender: colleague, FromName: "Jonas",
			Type: "text", Source: "mobile", Status: model.MessageDelivered, Body: "@15550001111 see above",
			Content: json.RawMessage(`{"body":"@15550001111 see above"}`),
			Context: json.RawMessage(`{"quoted_id":"3EB0A1B2C3D4E5F60718","quoted_author":"` + self + `","mentions":["` + self + `"]}`),
			Reactions: []model.MessageReaction{
				{Emoji: "👍", From: customer, Time: t.Unix() - 30}, {Emoji: "🎉", From: self, Time: t.Unix() - 20},
				{Emoji: "👍", From: self, Time: t.Unix() - 10},
			},
			Time: t.Add(30 * time.Second)},
	}
}

func group() store.Group {
	t := now()
	return store.Group{ChannelID: channelID, ID: groupID, Subject: "Order desk", SubjectAt: t.Add(-48 * time.Hour),
		Description: "Orders and deliveries", Owner: self, CreatedAt: t.Add(-72 * time.Hour), InviteCode: "AbCdEfGhIjKlMnOpQr12",
		Participants: []store.GroupParticipant{
			{UserID: self, Rank: store.RankCreator}, {UserID: colleague, Rank: store.RankAdmin}, {UserID: customer, Rank: store.RankMember},
		}}
}

func channel() model.Channel {
	t := now()
	linked := t.Add(-time.Hour)
	return model.Channel{ID: channelID, PartnerID: partnerID, ProjectID: model.DefaultProjectID, Name: "Shop",
		Token: "Abcdefghijklmnopqrstuvwxyz012345", Mode: model.ModeLive, CreatedAt: t.Add(-240 * time.Hour),
		TrialUntil: t.Add(-235 * time.Hour), ActiveTill: t.Add(30 * 24 * time.Hour), Device: "15550001111:3@s.whatsapp.net",
		WAPhone: "15550001111", WAName: "Shop", LinkedAt: &linked, Proxy: "socks5://user:secret@203.0.113.7:1080"}
}

// doc is wagate's OpenAPI document's schemas.
func doc(t *testing.T) openapi3.Schemas {
	t.Helper()
	d, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	return d.Components.Schemas
}

// validate checks body against the named schemas and returns it decoded.
func validate(t *testing.T, schemas openapi3.Schemas, body []byte, names ...string) map[string]any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	for _, name := range names {
		ref := schemas[name]
		if ref == nil || ref.Value == nil {
			t.Fatalf("the document has no schema %s", name)
		}
		if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
			t.Errorf("body does not match %s: %v\n%s", name, err, body)
		}
	}
	m, _ := v.(map[string]any)
	return m
}

// at walks a decoded body: keys of objects, indexes of arrays.
func at(t *testing.T, v any, path string) any {
	t.Helper()
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[p]; !ok {
				t.Fatalf("%s: no key %q", path, p)
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(x) {
				t.Fatalf("%s: no item %q", path, p)
			}
			v = x[i]
		default:
			t.Fatalf("%s: %q in a %T", path, p, v)
		}
	}
	return v
}

// want checks values of a decoded body by path (numbers as float64).
func want(t *testing.T, m map[string]any, pairs ...any) {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		path := pairs[i].(string)
		if got := at(t, m, path); !reflect.DeepEqual(got, pairs[i+1]) {
			t.Errorf("%s = %#v, want %#v", path, got, pairs[i+1])
		}
	}
}

func TestChannelEvents(t *testing.T) {
	schemas := doc(t)
	msgs := fixtures()
	ts := now()
	tests := []struct {
		name   string
		schema string
		build  func() ([]byte, error)
		check  func(t *testing.T, m map[string]any)
	}{
		{"messages post", "WebhookMessages", func() ([]byte, error) {
			return wire.MessagesEvent(channelID, wire.MethodPost, msgs)
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.type", "messages", "event.event", "post", "channel_id", channelID,
				"messages.0.id", "3EB0C767D26A8B2C9E51", "messages.0.from", "15551234567", "messages.0.from_name", "Ana <Ana & Co>",
				"messages.0.text.body", "Hello, is my order ready?", "messages.0.timestamp", float64(ts.Unix()-60),
				"messages.1.from_me", true, "messages.1.source", "api", "messages.1.image.caption", "Your order",
				"messages.2.chat_id", groupID, "messages.2.context.quoted_id", "3EB0A1B2C3D4E5F60718",
				"messages.2.reactions.0.emoji", "🎉", "messages.2.reactions.1.emoji", "👍",
				"messages.2.reactions.1.count", float64(2), "messages.2.reactions.1.t", float64(ts.Unix()-10))
		}},
		{"messages put", "WebhookMessages", func() ([]byte, error) {
			return wire.MessagesEvent(channelID, wire.MethodPut, msgs[:1])
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.event", "put", "messages.0.type", "text")
		}},
		{"statuses", "WebhookStatuses", func() ([]byte, error) {
			sent := msgs[1]
			played := msgs[1]
			played.ID, played.Type, played.Status = "3EB0000000000000VOICE", "voice", model.MessagePlayed
			return wire.StatusesEvent(channelID, wire.MethodPost, []model.Message{sent, played}, ts.Add(5*time.Second))
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.type", "statuses", "event.event", "post",
				"statuses.0.id", "3EB0A1B2C3D4E5F60718", "statuses.0.status", "read", "statuses.0.code", float64(4),
				"statuses.0.recipient_id", customer, "statuses.0.timestamp", strconv.FormatInt(ts.Unix()+5, 10),
				"statuses.1.status", "played", "statuses.1.code", float64(5))
		}},
		{"messages updates: an edit and a reaction", "WebhookMessagesUpdates", func() ([]byte, error) {
			edited := msgs[1]
			edited.Content = json.RawMessage(`{"body":"Your order is ready"}`)
			edited.Type, edited.Edited = "text", true
			before := msgs[1]
			before.Type, before.Content = "text", json.RawMessage(`{"body":"Your order"}`)
			reacted := msgs[0]
			reacted.Reactions = []model.MessageReaction{{Emoji: "❤️", From: self, Time: ts.Unix()}}
			return wire.MessagesUpdatesEvent(channelID, []wire.Change[model.Message]{
				{Before: before, After: edited}, {Before: msgs[0], After: reacted},
			})
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.type", "messages", "event.event", "patch",
				"messages_updates.0.id", "3EB0A1B2C3D4E5F60718",
				"messages_updates.0.before_update.text.body", "Your order",
				"messages_updates.0.after_update.text.body", "Your order is ready",
				"messages_updates.0.changes", []any{"edited", "text"},
				"messages_updates.1.changes", []any{"reactions"},
				"messages_updates.1.after_update.reactions.0.emoji", "❤️")
		}},
		{"messages removed", "WebhookMessagesRemoved", func() ([]byte, error) {
			return wire.MessagesRemovedEvent(channelID, []string{msgs[0].ID, msgs[2].ID})
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.event", "delete", "messages_removed", []any{msgs[0].ID, msgs[2].ID})
		}},
		{"chats", "WebhookChats", func() ([]byte, error) {
			chats := []model.Chat{
				{ChannelID: channelID, ID: customer, Type: "contact", Name: "Ana", LastMessageID: msgs[1].ID, LastTime: msgs[1].Time, Unread: 1},
				{ChannelID: channelID, ID: groupID, Type: "group", Name: "Order desk", LastTime: msgs[2].Time, MuteUntil: ts.Add(8 * time.Hour)},
			}
			return wire.ChatsEvent(channelID, chats, map[string]model.Message{customer: msgs[1]}, ts)
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.type", "chats", "event.event", "post",
				"chats.0.id", customer, "chats.0.unread", float64(1), "chats.0.last_message.id", msgs[1].ID,
				"chats.1.type", "group", "chats.1.mute", true, "chats.1.mute_until", float64(ts.Add(8*time.Hour).Unix()))
			if _, ok := at(t, m, "chats.1").(map[string]any)["last_message"]; ok {
				t.Errorf("the group chat has a last message; it has none in the map")
			}
		}},
		{"chats updates", "WebhookChatsUpdates", func() ([]byte, error) {
			before := model.Chat{ChannelID: channelID, ID: customer, Type: "contact", Name: "Ana", LastTime: msgs[1].Time, Unread: 2}
			after := before
			after.Unread, after.Pinned, after.Archived = 0, true, true
			return wire.ChatsUpdatesEvent(channelID, []wire.Change[model.Chat]{{Before: before, After: after}}, ts)
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.event", "patch", "chats_updates.0.before_update.unread", float64(2),
				"chats_updates.0.after_update.pin", true, "chats_updates.0.changes", []any{"archive", "pin", "unread"})
		}},
		{"chats removed", "WebhookChatsRemoved", func() ([]byte, error) {
			return wire.ChatsRemovedEvent(channelID, []string{customer})
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.type", "chats", "event.event", "delete", "chats_removed", []any{customer})
		}},
		{"contacts", "WebhookContacts", func() ([]byte, error) {
			return wire.ContactsEvent(channelID, []store.Contact{
				{ChannelID: channelID, ID: customer, PushName: "Ana"},
				{ChannelID: channelID, ID: colleague, Name: "Jonas (warehouse)", PushName: "Jonas"},
			})
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.type", "contacts", "event.event", "post", "contacts.0.id", "15551234567",
				"contacts.0.name", "Ana", "contacts.1.name", "Jonas (warehouse)", "contacts.1.pushname", "Jonas")
		}},
		{"contacts updates", "WebhookContactsUpdates", func() ([]byte, error) {
			before := store.Contact{ChannelID: channelID, ID: customer, PushName: "Ana"}
			after := before
			after.PushName = "Ana M."
			return wire.ContactsUpdatesEvent(channelID, []wire.Change[store.Contact]{{Before: before, After: after}})
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.event", "patch", "contacts_updates.0.after_update.pushname", "Ana M.",
				"contacts_updates.0.changes", []any{"name", "pushname"})
		}},
		{"groups", "WebhookGroups", func() ([]byte, error) {
			return wire.GroupsEvent(channelID, []store.Group{group()})
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.type", "groups", "event.event", "post", "groups.0.id", groupID, "groups.0.name", "Order desk",
				"groups.0.participants_count", float64(3), "groups.0.participants.0.id", "15550001111",
				"groups.0.participants.0.rank", "creator", "groups.0.created_by", "15550001111")
		}},
		{"groups participants", "WebhookGroupsParticipants", func() ([]byte, error) {
			return wire.GroupsParticipantsEvent(channelID, []engine.GroupChange{
				{Group: groupID, Actor: self, Action: "add", Participants: []string{"4420123456789@s.whatsapp.net"}, Time: ts},
				{Group: groupID, Actor: self, Action: "promote", Participants: []string{customer}, Time: ts},
				{Group: groupID, Action: "join", Participants: []string{"33612345678@s.whatsapp.net"}, Time: ts},
				{Group: groupID, Action: "leave", Participants: []string{colleague}, Time: ts},
			})
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.type", "groups", "event.event", "put",
				"groups_participants.0.group_id", groupID, "groups_participants.0.action", "add",
				"groups_participants.0.participants", []any{"4420123456789"},
				"groups_participants.1.action", "promote", "groups_participants.2.action", "add",
				"groups_participants.3.action", "remove", "groups_participants.3.participants", []any{"4915112345678"})
		}},
		{"groups updates", "WebhookGroupsUpdates", func() ([]byte, error) {
			before := group()
			after := group()
			after.Subject, after.SubjectAt, after.Announce = "Order desk (closed)", ts, true
			return wire.GroupsUpdatesEvent(channelID, []wire.Change[store.Group]{{Before: before, After: after}})
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.event", "patch", "groups_updates.0.after_update.name", "Order desk (closed)",
				"groups_updates.0.changes", []any{"announcements", "name", "name_at"})
		}},
		{"presences", "WebhookPresences", func() ([]byte, error) {
			return wire.PresencesEvent(channelID, []store.Presence{
				{ChannelID: channelID, EntryID: customer, UserID: customer, Status: "typing", UpdatedAt: ts},
				{ChannelID: channelID, EntryID: colleague, UserID: colleague, Status: "offline", LastSeen: ts.Add(-time.Hour), UpdatedAt: ts},
			})
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.type", "presences", "presences.0.contact_id", "15551234567", "presences.0.status", "typing",
				"presences.1.last_seen", float64(ts.Add(-time.Hour).Unix()))
		}},
		{"channel health", "WebhookChannelHealth", func() ([]byte, error) {
			st := runtime.Health{ChannelID: channelID, Status: runtime.StatusAuth, StartedAt: ts.Add(-90 * time.Second),
				Phone: "15550001111", Name: "Shop"}
			return wire.ChannelHealthEvent(channelID, st, wire.Server{Version: "v0.3.0", Engine: "sim"}, ts)
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.type", "channel", "event.event", "post", "health.channel_id", channelID,
				"health.status.code", float64(4), "health.status.text", "AUTH", "health.uptime", float64(90),
				"health.api_version", wire.APIVersion, "health.engine", "sim", "health.user.id", "15550001111")
		}},
		{"channel health: stopped, with an error", "WebhookChannelHealth", func() ([]byte, error) {
			st := runtime.Health{ChannelID: channelID, Status: runtime.StatusStop, Error: "stopped by the partner"}
			return wire.ChannelHealthEvent(channelID, st, wire.Server{Version: "dev", Engine: "whatsmeow"}, ts)
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "health.status.text", "STOP", "health.start_at", float64(0), "health.error", "stopped by the partner")
		}},
		{"channel QR", "WebhookChannelQR", func() ([]byte, error) {
			return wire.ChannelQREvent(channelID, "2@abcDEF123+/=,xyz,uvw", ts.Add(19500*time.Millisecond), ts, true)
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.type", "channel", "event.event", "patch", "qr.status", "OK",
				"qr.rowdata", "2@abcDEF123+/=,xyz,uvw", "qr.expire", float64(20))
			png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(at(t, m, "qr.base64").(string), "data:image/png;base64,"))
			if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n")) {
				t.Errorf("qr.base64 is not a PNG data URL (%v)", err)
			}
		}},
		{"channel QR without image", "WebhookChannelQR", func() ([]byte, error) {
			return wire.ChannelQREvent(channelID, "2@abc", ts.Add(-time.Second), ts, false)
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "qr.expire", float64(1))
			if _, ok := m["qr"].(map[string]any)["base64"]; ok {
				t.Error("base64 sent without being asked for")
			}
		}},
		{"users post", "WebhookUsers", func() ([]byte, error) {
			return wire.UsersEvent(channelID, wire.MethodPost, engine.Account{Phone: "15550001111", Name: "Shop"})
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.type", "users", "event.event", "post", "user.id", "15550001111", "user.name", "Shop", "user.pushname", "Shop")
		}},
		{"users delete", "WebhookUsers", func() ([]byte, error) {
			return wire.UsersEvent(channelID, wire.MethodDelete, engine.Account{Phone: "15550001111"})
		}, func(t *testing.T, m map[string]any) {
			want(t, m, "event.event", "delete", "user.id", "15550001111", "user.name", "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := tt.build()
			if err != nil {
				t.Fatal(err)
			}
			m := validate(t, schemas, body, tt.schema, "WebhookPayload")
			tt.check(t, m)
			if got := len(m); got != 3 {
				t.Errorf("the body has %d keys, want 3 (the event's, event, channel_id): %s", got, body)
			}
			kind, err := wire.KindOf(body)
			if err != nil || kind.String() != fmt.Sprint(at(t, m, "event.type"), ".", at(t, m, "event.event")) {
				t.Errorf("KindOf = %v, %v", kind, err)
			}
		})
	}
}

func TestPartnerEvents(t *testing.T) {
	schemas := doc(t)
	ts := now()
	ch := channel()
	partner := model.Partner{ID: partnerID, Name: "acme", Email: "ops@acme.example", Balance: 5, TrialDays: -1, CreatedAt: ts.Add(-1000 * time.Hour)}
	auth, qr := runtime.StatusAuth, runtime.StatusQR

	t.Run("days", func(t *testing.T) {
		body, err := wire.PartnerDaysEvent(wire.PartnerDays{PartnerID: partnerID, Partner: apiutil.NewPartner(partner),
			Balance: 5, DaysLimit: 7, Time: ts})
		if err != nil {
			t.Fatal(err)
		}
		m := validate(t, schemas, body, "WebhookPartnerDays", "WebhookPartnerPayload")
		want(t, m, "event.type", "days", "event.event", "post", "partner_id", partnerID, "partner.name", "acme",
			"balance", float64(5), "days_limit", float64(7), "time", float64(ts.UnixMilli()))
		if _, ok := m["channel_id"]; ok {
			t.Error("a days event has a channel_id")
		}
	})

	for _, c := range []struct {
		change string
		status *runtime.Status
		reason string
	}{
		{wire.ChangeLinked, &auth, ""},
		{wire.ChangeLinkFailed, nil, "the phone refused the login"},
		{wire.ChangeQRExpired, &qr, ""},
		{wire.ChangeUnlinked, nil, "logged out from the phone"},
		{wire.ChangeStatus, &auth, ""},
		{wire.ChangeStopped, nil, ""},
		{wire.ChangeStarted, nil, ""},
		{wire.ChangeExpired, nil, ""},
		{wire.ChangeExtended, nil, ""},
	} {
		t.Run("channel "+c.change, func(t *testing.T) {
			body, err := wire.PartnerChannelEvent(wire.PartnerChannel{PartnerID: partnerID, ChannelID: channelID, Change: c.change,
				Channel: apiutil.NewChannel(ch, "https://gate.example.com/", ts), Status: c.status, Reason: c.reason, Time: ts})
			if err != nil {
				t.Fatal(err)
			}
			m := validate(t, schemas, body, "WebhookPartnerChannel", "WebhookPartnerPayload")
			want(t, m, "event.type", "channel", "event.event", "post", "partner_id", partnerID, "channel_id", channelID,
				"change", c.change, "channel.id", channelID, "channel.phone", "15550001111", "channel.linked", true,
				"channel.proxy.auth", "user:"+apiutil.RedactedPassword, "time", float64(ts.UnixMilli()))
			if c.status != nil {
				want(t, m, "status.code", float64(*c.status), "status.text", c.status.String())
			} else if _, ok := m["status"]; ok {
				t.Error("status given without one")
			}
			if c.reason != "" {
				want(t, m, "reason", c.reason)
			} else if _, ok := m["reason"]; ok {
				t.Error("reason given without one")
			}
		})
	}
}

// TestSchemasRefuse makes sure the schemas constrain bodies: a body under
// the wrong event, or missing its channel, does not validate.
func TestSchemasRefuse(t *testing.T) {
	schemas := doc(t)
	body, err := wire.MessagesEvent(channelID, wire.MethodPost, fixtures()[:1])
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(map[string]any){
		"wrong type":      func(m map[string]any) { m["event"] = map[string]any{"type": "statuses", "event": "post"} },
		"wrong method":    func(m map[string]any) { m["event"] = map[string]any{"type": "messages", "event": "delete"} },
		"no channel":      func(m map[string]any) { delete(m, "channel_id") },
		"bad channel":     func(m map[string]any) { m["channel_id"] = "nope" },
		"no messages":     func(m map[string]any) { m["messages"] = []any{} },
		"not a message":   func(m map[string]any) { m["messages"] = []any{map[string]any{"id": "x"}} },
		"no event method": func(m map[string]any) { m["event"] = map[string]any{"type": "messages"} },
	} {
		m := map[string]any{}
		for k, x := range v {
			m[k] = x
		}
		mutate(m)
		for _, s := range []string{"WebhookMessages", "WebhookPayload"} {
			if err := schemas[s].Value.VisitJSON(m); err == nil {
				t.Errorf("%s: %s accepts %v", name, s, m)
			}
		}
	}
}

// TestExactBodies pins the bytes of small bodies: key order (the event's
// key, event, channel_id) and no HTML escaping surprises beyond
// encoding/json's.
func TestExactBodies(t *testing.T) {
	body, err := wire.MessagesRemovedEvent(channelID, []string{"3EB0C767D26A8B2C9E51"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"messages_removed":["3EB0C767D26A8B2C9E51"],"event":{"type":"messages","event":"delete"},"channel_id":"SHAZAM-3HDYQ"}`; string(body) != want {
		t.Errorf("body = %s\nwant   %s", body, want)
	}
	m := fixtures()[1]
	body, err = wire.StatusesEvent(channelID, wire.MethodPut, []model.Message{m}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"statuses":[{"id":"3EB0A1B2C3D4E5F60718","code":4,"status":"read","recipient_id":"15551234567@s.whatsapp.net","timestamp":"%d"}],"event":{"type":"statuses","event":"put"},"channel_id":"SHAZAM-3HDYQ"}`, m.Time.Unix())
	if string(body) != want {
		t.Errorf("body = %s\nwant   %s", body, want)
	}
	body, err = wire.UsersEvent(channelID, wire.MethodPost, engine.Account{Phone: "15550001111", Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"user":{"id":"15550001111","name":"Shop","pushname":"Shop"},"event":{"type":"users","event":"post"},"channel_id":"SHAZAM-3HDYQ"}`; string(body) != want {
		t.Errorf("body = %s\nwant   %s", body, want)
	}
}

func TestBuildersRefuse(t *testing.T) {
	ts := now()
	msgs := fixtures()
	other := msgs[0]
	other.ID = "OTHER"
	unknown := msgs[0]
	unknown.Status = "seen"
	ch := apiutil.NewChannel(channel(), "https://gate.example.com/", ts)
	for name, build := range map[string]func() ([]byte, error){
		"no channel ID":   func() ([]byte, error) { return wire.MessagesEvent("", wire.MethodPost, msgs) },
		"messages patch":  func() ([]byte, error) { return wire.MessagesEvent(channelID, wire.MethodPatch, msgs) },
		"no messages":     func() ([]byte, error) { return wire.MessagesEvent(channelID, wire.MethodPost, nil) },
		"statuses delete": func() ([]byte, error) { return wire.StatusesEvent(channelID, wire.MethodDelete, msgs, ts) },
		"unknown status": func() ([]byte, error) {
			return wire.StatusesEvent(channelID, wire.MethodPost, []model.Message{unknown}, ts)
		},
		"update of two messages": func() ([]byte, error) {
			return wire.MessagesUpdatesEvent(channelID, []wire.Change[model.Message]{{Before: msgs[0], After: other}})
		},
		"no removed IDs":      func() ([]byte, error) { return wire.MessagesRemovedEvent(channelID, nil) },
		"an empty removed ID": func() ([]byte, error) { return wire.ChatsRemovedEvent(channelID, []string{""}) },
		"no chats":            func() ([]byte, error) { return wire.ChatsEvent(channelID, nil, nil, ts) },
		"no groups":           func() ([]byte, error) { return wire.GroupsEvent(channelID, nil) },
		"a subject change as put": func() ([]byte, error) {
			return wire.GroupsParticipantsEvent(channelID, []engine.GroupChange{{Group: groupID, Action: "subject"}})
		},
		"no presences": func() ([]byte, error) { return wire.PresencesEvent(channelID, nil) },
		"no contacts":  func() ([]byte, error) { return wire.ContactsEvent(channelID, nil) },
		"no QR code":   func() ([]byte, error) { return wire.ChannelQREvent(channelID, "", ts, ts, false) },
		"users patch": func() ([]byte, error) {
			return wire.UsersEvent(channelID, wire.MethodPatch, engine.Account{Phone: "1555"})
		},
		"user without a number": func() ([]byte, error) { return wire.UsersEvent(channelID, wire.MethodPost, engine.Account{}) },
		"days without partner":  func() ([]byte, error) { return wire.PartnerDaysEvent(wire.PartnerDays{PartnerID: partnerID, Time: ts}) },
		"days without time": func() ([]byte, error) {
			return wire.PartnerDaysEvent(wire.PartnerDays{PartnerID: partnerID, Partner: struct{}{}})
		},
		"unknown change": func() ([]byte, error) {
			return wire.PartnerChannelEvent(wire.PartnerChannel{PartnerID: partnerID, ChannelID: channelID, Change: "renamed", Channel: ch, Time: ts})
		},
		"status change without status": func() ([]byte, error) {
			return wire.PartnerChannelEvent(wire.PartnerChannel{PartnerID: partnerID, ChannelID: channelID, Change: wire.ChangeStatus, Channel: ch, Time: ts})
		},
		"channel event without channel": func() ([]byte, error) {
			return wire.PartnerChannelEvent(wire.PartnerChannel{PartnerID: partnerID, ChannelID: channelID, Change: wire.ChangeStopped, Time: ts})
		},
	} {
		if body, err := build(); err == nil {
			t.Errorf("%s: built %s", name, body)
		}
	}
	if _, err := wire.KindOf([]byte(`{"messages":[]}`)); err == nil {
		t.Error("KindOf found an event in a body without one")
	}
}

func TestChangeOf(t *testing.T) {
	for _, c := range []struct {
		e    runtime.Event
		want string
		ok   bool
	}{
		{runtime.Event{Kind: runtime.EventStatus}, wire.ChangeStatus, true},
		{runtime.Event{Kind: runtime.EventLinked}, wire.ChangeLinked, true},
		{runtime.Event{Kind: runtime.EventLinkFailed, Reason: "refused"}, wire.ChangeLinkFailed, true},
		{runtime.Event{Kind: runtime.EventLinkFailed, Health: runtime.Health{LoginTimedOut: true}}, wire.ChangeQRExpired, true},
		{runtime.Event{Kind: runtime.EventUnlinked}, wire.ChangeUnlinked, true},
		{runtime.Event{Kind: runtime.EventQR}, "", false},
	} {
		if got, ok := wire.ChangeOf(c.e); got != c.want || ok != c.ok {
			t.Errorf("ChangeOf(%s) = %q, %v; want %q, %v", c.e.Kind, got, ok, c.want, c.ok)
		}
	}
}

// Users show as their number; a user known only by LID keeps the LID
// whole (its digits are no phone number); other JIDs show their user part.
func TestPhone(t *testing.T) {
	for in, want := range map[string]string{
		"15551234567@s.whatsapp.net": "15551234567",
		"123456789012345@lid":        "123456789012345@lid",
		"120363000000000001@g.us":    "120363000000000001",
		"":                           "",
	} {
		if got := wire.Phone(in); got != want {
			t.Errorf("Phone(%q) = %q, want %q", in, got, want)
		}
	}
}
