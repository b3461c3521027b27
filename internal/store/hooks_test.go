package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// hookRecorder builds one delivery per call of a hook, named after what the
// hook saw, and counts the calls.
type hookRecorder struct {
	ch    model.Channel
	calls []string
	n     int
}

func (r *hookRecorder) delivery(what string) []model.WebhookDelivery {
	r.n++
	r.calls = append(r.calls, what)
	return []model.WebhookDelivery{{ID: fmt.Sprintf("whd_%s_%d", r.ch.ID, r.n), PartnerID: r.ch.PartnerID, ChannelID: r.ch.ID,
		Type: "chats", Method: "post", ChatKey: what, Payload: json.RawMessage(`{}`), CreatedAt: t0,
		Target: model.WebhookTarget{URL: "https://hooks.example/x", Mode: "body"}}}
}

// queued is how many deliveries of the channel the outbox holds.
func queued(t *testing.T, st *store.Store, ch model.Channel) int {
	t.Helper()
	_, total, err := st.DeliveryLog(bg(), ch.PartnerID, ch.ID, store.DeliveryQuery{Count: 100})
	noErr(t, "log", err)
	return total
}

// TestChangeHooks: every store change that reports itself to webhooks calls
// its hook with what changed, inside its transaction; no change, no call;
// a failed change enqueues nothing.
func TestChangeHooks(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ch, _ := twoChannels(t, st)
		r := &hookRecorder{ch: ch}
		want := 0
		check := func(what string, calls int) {
			t.Helper()
			want += calls
			if got := queued(t, st, ch); got != want {
				t.Fatalf("%s: %d deliveries queued, want %d (calls %v)", what, got, want, r.calls)
			}
		}
		u1, u2 := "15550000001@s.whatsapp.net", "15550000002@s.whatsapp.net"

		// Chats: created by a first message (not a second), or by EnsureChat.
		chatHook := func(created *model.Chat) []model.WebhookDelivery {
			if created == nil {
				return r.delivery("message")
			}
			if created.ID != u1 || created.LastMessageID != "M1" || created.Unread != 1 {
				t.Errorf("created chat = %+v", *created)
			}
			return append(r.delivery("chat"), r.delivery("message")...)
		}
		m := model.Message{ChannelID: ch.ID, ID: "M1", ChatID: u1, Sender: u1, Type: "text", Status: "delivered", Time: t0}
		_, err := st.InsertMessage(bg(), m, chatHook)
		noErr(t, "insert", err)
		check("first message", 2)
		m.ID = "M2"
		_, err = st.InsertMessage(bg(), m, chatHook)
		noErr(t, "insert", err)
		check("second message", 1)
		inserted, err := st.InsertMessage(bg(), m, chatHook)
		noErr(t, "insert", err)
		if inserted {
			t.Fatal("a duplicate was inserted")
		}
		check("duplicate message", 0)
		ensure := func(c model.Chat) []model.WebhookDelivery { return r.delivery("ensured " + c.ID) }
		noErr(t, "ensure", st.EnsureChat(bg(), ch.ID, "120363000000000001@g.us", "Team", ensure))
		check("new group chat", 1)
		noErr(t, "ensure", st.EnsureChat(bg(), ch.ID, "120363000000000001@g.us", "Team 2", ensure))
		check("known chat", 0)

		// UpdateChat: the hook sees before and after; a failing fn enqueues
		// nothing.
		upd := func(before, after model.Chat) []model.WebhookDelivery {
			if before.Archived || !after.Archived {
				t.Errorf("chat change %+v -> %+v", before, after)
			}
			return r.delivery("archived")
		}
		_, err = st.UpdateChat(bg(), ch.ID, u1, func(c *model.Chat) error { c.Archived = true; return nil }, upd)
		noErr(t, "archive", err)
		check("archive", 1)
		boom := errors.New("boom")
		_, err = st.UpdateChat(bg(), ch.ID, u1, func(c *model.Chat) error { return boom }, upd)
		wantErr(t, "failed update", err, boom)
		check("failed update", 0)
		noErr(t, "delete chat", st.DeleteChat(bg(), ch.ID, u1, r.delivery("deleted")...))
		check("deleted chat", 1)
		wantErr(t, "delete again", st.DeleteChat(bg(), ch.ID, u1, r.delivery("deleted again")...), store.ErrChatNotFound)
		check("delete of nothing", 0)

		// Contacts: new ones, renamed ones, unchanged ones.
		var added, renamed int
		contactHook := func(a []store.Contact, rn []store.ContactChange) []model.WebhookDelivery {
			added, renamed = len(a), len(rn)
			return r.delivery("contacts")
		}
		noErr(t, "contacts", st.SaveContacts(bg(), []store.Contact{{ChannelID: ch.ID, ID: u1, UpdatedAt: t0}, {ChannelID: ch.ID, ID: u2, PushName: "Bo", UpdatedAt: t0}}, contactHook))
		check("new contacts", 1)
		if added != 2 || renamed != 0 {
			t.Fatalf("added %d renamed %d", added, renamed)
		}
		noErr(t, "contacts", st.SaveContacts(bg(), []store.Contact{{ChannelID: ch.ID, ID: u2, PushName: "Bob", UpdatedAt: t0}, {ChannelID: ch.ID, ID: u1, UpdatedAt: t0}}, contactHook))
		check("renamed contact", 1)
		if added != 0 || renamed != 1 {
			t.Fatalf("added %d renamed %d", added, renamed)
		}
		noErr(t, "contacts", st.SaveContacts(bg(), []store.Contact{{ChannelID: ch.ID, ID: u2, PushName: "Bob", UpdatedAt: t0}}, contactHook))
		check("same contact", 0)

		// Presences: recorded, or ignored when older than the stored one.
		p := store.Presence{ChannelID: ch.ID, EntryID: u1, UserID: u1, Status: store.PresenceOnline, UpdatedAt: t0.Add(time.Hour)}
		noErr(t, "presence", st.SetPresence(bg(), p, r.delivery("online")...))
		check("presence", 1)
		p.UpdatedAt, p.Status = t0, store.PresenceOffline
		noErr(t, "old presence", st.SetPresence(bg(), p, r.delivery("stale")...))
		check("stale presence", 0)

		// Groups: saved new (before nil), saved again, updated, deleted.
		gid := "120363000000000002@g.us"
		var sawNew bool
		saved := func(before *store.Group, after store.Group) []model.WebhookDelivery {
			sawNew = before == nil
			return r.delivery("saved")
		}
		g := group(ch.ID, gid, "Crew", store.GroupParticipant{UserID: u1, Rank: store.RankCreator})
		noErr(t, "save group", st.SaveGroup(bg(), g, saved))
		if !sawNew {
			t.Fatal("a new group had a before")
		}
		g.Subject = "Crew 2"
		noErr(t, "save group", st.SaveGroup(bg(), g, saved))
		if sawNew {
			t.Fatal("a known group had no before")
		}
		check("saved groups", 2)
		_, err = st.UpdateGroup(bg(), ch.ID, gid, func(g *store.Group) error { g.SetParticipant(u2, store.RankMember); return nil },
			func(before, after store.Group) []model.WebhookDelivery {
				if len(before.Participants) != 1 || len(after.Participants) != 2 {
					t.Errorf("participants %v -> %v", before.Participants, after.Participants)
				}
				return r.delivery("joined")
			})
		noErr(t, "update group", err)
		check("updated group", 1)
		noErr(t, "delete group", st.DeleteGroup(bg(), ch.ID, gid, r.delivery("left")...))
		check("deleted group", 1)
		wantErr(t, "delete again", st.DeleteGroup(bg(), ch.ID, gid, r.delivery("left again")...), store.ErrGroupNotFound)
		check("delete of nothing", 0)

		// Balance: the hook sees the balance before and after; a refused
		// debit enqueues nothing.
		var seen [2]int64
		bal := func(before, after int64) []model.WebhookDelivery {
			seen = [2]int64{before, after}
			return r.delivery("balance")
		}
		_, err = st.AdjustBalance(bg(), ch.PartnerID, 7, model.ReasonCredit, "c", "test", t0, bal)
		noErr(t, "credit", err)
		if seen != [2]int64{0, 7} {
			t.Fatalf("balance hook saw %v", seen)
		}
		check("credit", 1)
		_, err = st.AdjustBalance(bg(), ch.PartnerID, -8, model.ReasonDebit, "d", "test", t0, bal)
		wantErr(t, "debit", err, model.ErrInsufficientDays)
		check("refused debit", 0)

		// Expiry: one call per channel expired, once.
		exp := func(c model.Channel) []model.WebhookDelivery {
			if c.ID != ch.ID {
				return nil
			}
			return r.delivery("expired")
		}
		later := t0.Add(365 * 24 * time.Hour)
		_, err = st.MarkExpired(bg(), later, 100, exp)
		noErr(t, "expire", err)
		check("expired", 1)
		_, err = st.MarkExpired(bg(), later, 100, exp)
		noErr(t, "expire again", err)
		check("expired again", 0)
	})
}

// TestEnsureChatCreatedOnce: callers creating the same chat at once see it
// created once, so chats.post is sent once.
func TestEnsureChatCreatedOnce(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ch, _ := twoChannels(t, st)
		var mu sync.Mutex
		created := 0
		hook := func(c model.Chat) []model.WebhookDelivery {
			mu.Lock()
			created++
			mu.Unlock()
			return nil
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Go(func() {
				errs <- st.EnsureChat(bg(), ch.ID, "120363000000000009@g.us", fmt.Sprintf("Name %d", i), hook)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			noErr(t, "ensure", err)
		}
		if created != 1 {
			t.Fatalf("the chat was created %d times", created)
		}
		c, err := st.Chat(bg(), ch.ID, "120363000000000009@g.us")
		noErr(t, "read", err)
		if c.Name == "" {
			t.Fatal("the chat has no name")
		}
	})
}
