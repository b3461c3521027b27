package store_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// InsertMessages stores a group as InsertMessage calls in order would: a
// duplicate is not inserted, a chat is created once, seq grows in order, each
// message's deliveries are enqueued with it, and a message whose hooks fail
// is the only one not stored.
func TestInsertMessagesMixedGroup(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0], chs[1]
		msgInsert(t, st, msgIn(a.ID, "D1", msgAlice, 1))
		var saw []string
		hook := func(ch model.Channel, id string) []func(*model.Chat) []model.WebhookDelivery {
			return []func(*model.Chat) []model.WebhookDelivery{func(created *model.Chat) []model.WebhookDelivery {
				what := ch.ID + "/" + id
				if created != nil {
					what += " created " + created.ID
				}
				saw = append(saw, what)
				return []model.WebhookDelivery{{ID: "whd_" + ch.ID + "_" + id, PartnerID: ch.PartnerID, ChannelID: ch.ID,
					Type: "messages", Method: "post", ChatKey: "c", Payload: json.RawMessage(`{}`), CreatedAt: t0,
					Target: model.WebhookTarget{URL: "https://hooks.example/x", Mode: "body"}}}
			}}
		}
		// A delivery with the ID of one already queued fails the enqueue.
		_, err := st.InsertMessage(bg(), msgIn(b.ID, "X0", msgBob, 1), hook(b, "X1")...)
		noErr(t, "insert X0", err)
		group := []store.NewMessage{
			{Message: msgIn(a.ID, "N1", msgBob, 1), Hooks: hook(a, "N1")},
			{Message: msgIn(a.ID, "D1", msgAlice, 1), Hooks: hook(a, "D1")},
			{Message: msgIn(b.ID, "X1", msgAlice, 1), Hooks: hook(b, "X1")},
			{Message: msgOut(a.ID, "N2", msgBob, 1), Hooks: hook(a, "N2")},
			{Message: msgIn(b.ID, "N3", msgAlice, 1), Hooks: hook(b, "N3")},
			{Message: msgIn(a.ID, "N1", msgBob, 1), Hooks: hook(a, "N1 again")},
		}
		inserted, errs := st.InsertMessages(bg(), group)
		if want := []bool{true, false, false, true, true, false}; !reflect.DeepEqual(inserted, want) {
			t.Fatalf("inserted %v, want %v (errors %v)", inserted, want, errs)
		}
		for i, err := range errs {
			if i == 2 {
				if !errors.Is(err, model.ErrConflict) {
					t.Fatalf("message X1: %v, want a conflict", err)
				}
				continue
			}
			noErr(t, group[i].Message.ID, err)
		}
		if _, err := st.Message(bg(), b.ID, "X1"); !errors.Is(err, store.ErrMessageNotFound) {
			t.Fatalf("X1 whose hooks failed: %v, want not found", err)
		}
		// Each stored message's hooks, in order, and the chat created once.
		// (On SQLite the group was tried as one first; its hooks ran then too.)
		want := []string{a.ID + "/N1 created " + msgBob, a.ID + "/N2", b.ID + "/N3 created " + msgAlice}
		var got []string
		for _, s := range saw {
			if !strings.HasPrefix(s, b.ID+"/X1") {
				got = append(got, s)
			}
		}
		if len(got) < 3 || !reflect.DeepEqual(got[len(got)-3:], want) {
			t.Fatalf("hooks saw %v, want %v last", saw, want)
		}
		for _, c := range []struct {
			ch   model.Channel
			want []string
		}{{a, []string{"whd_" + a.ID + "_N1", "whd_" + a.ID + "_N2"}}, {b, []string{"whd_" + b.ID + "_X1", "whd_" + b.ID + "_N3"}}} {
			log, _, err := st.DeliveryLog(bg(), c.ch.PartnerID, c.ch.ID, store.DeliveryQuery{Count: 100})
			noErr(t, "log", err)
			var ids []string
			for _, e := range log {
				ids = append([]string{e.Delivery.ID}, ids...) // oldest first
			}
			if !reflect.DeepEqual(ids, c.want) {
				t.Fatalf("channel %s queued %v, want %v", c.ch.ID, ids, c.want)
			}
		}
		// seq: stored order within the same millisecond.
		ms, _, err := st.Messages(bg(), a.ID, store.MessageQuery{Count: 10, Ascending: true})
		noErr(t, "messages", err)
		var order []string
		for _, m := range ms {
			order = append(order, m.ID)
		}
		if want := []string{"D1", "N1", "N2"}; !reflect.DeepEqual(order, want) {
			t.Fatalf("channel a's messages %v, want %v", order, want)
		}
		// The chat: last message N2, unread reset by the outgoing one.
		if c := msgChat(t, st, a.ID, msgBob); c.LastMessageID != "N2" || c.Unread != 0 {
			t.Fatalf("chat %+v, want last N2 and 0 unread", c)
		}
		if c := msgChat(t, st, b.ID, msgAlice); c.LastMessageID != "N3" || c.Unread != 1 {
			t.Fatalf("chat %+v, want last N3 and 1 unread", c)
		}
	})
}

// A group without failures is stored whole, each message once.
func TestInsertMessagesGroup(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a := msgChannels(t, st, 1)[0]
		var group []store.NewMessage
		for _, id := range []string{"A", "B", "C", "D"} {
			group = append(group, store.NewMessage{Message: msgIn(a.ID, id, msgAlice, 1)})
		}
		inserted, errs := st.InsertMessages(bg(), group)
		for i := range group {
			noErr(t, group[i].Message.ID, errs[i])
			if !inserted[i] {
				t.Fatalf("%s not inserted", group[i].Message.ID)
			}
		}
		if c := msgChat(t, st, a.ID, msgAlice); c.LastMessageID != "D" || c.Unread != 4 {
			t.Fatalf("chat %+v, want last D and 4 unread", c)
		}
	})
}
