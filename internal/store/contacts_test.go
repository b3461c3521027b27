package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

func TestContacts(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a, b := twoChannels(t, st)
		u1, u2, u3 := "15550000001@s.whatsapp.net", "15550000002@s.whatsapp.net", "15550000003@s.whatsapp.net"
		noErr(t, "save", st.SaveContacts(bg(), []store.Contact{
			{ChannelID: a.ID, ID: u2, PushName: "Bob", Status: store.ContactValid, CheckedAt: t0, UpdatedAt: t0},
			{ChannelID: a.ID, ID: u1, Name: "Alice", UpdatedAt: t0},
			{ChannelID: a.ID, ID: u3, Status: store.ContactInvalid, CheckedAt: t0, UpdatedAt: t0},
			{ChannelID: b.ID, ID: u1, PushName: "Alice B", UpdatedAt: t0},
		}))
		c, err := st.Contact(bg(), a.ID, u2)
		noErr(t, "read", err)
		want := store.Contact{ChannelID: a.ID, ID: u2, PushName: "Bob", Status: store.ContactValid, CheckedAt: t0, UpdatedAt: t0}
		if c != want {
			t.Fatalf("contact = %+v, want %+v", c, want)
		}
		// Invalid numbers are kept (the check's cache) but not listed.
		if c, err := st.Contact(bg(), a.ID, u3); err != nil || c.Status != store.ContactInvalid {
			t.Fatalf("invalid contact = %+v %v", c, err)
		}
		list, total, err := st.Contacts(bg(), a.ID, 10, 0)
		noErr(t, "list", err)
		if total != 2 || len(list) != 2 || list[0].ID != u1 || list[0].Name != "Alice" || list[1].ID != u2 {
			t.Fatalf("contacts = %d %+v", total, list)
		}
		if page, total, _ := st.Contacts(bg(), a.ID, 1, 1); total != 2 || len(page) != 1 || page[0].ID != u2 {
			t.Fatalf("page = %d %+v", total, page)
		}
		if bl, total, _ := st.Contacts(bg(), b.ID, 10, 0); total != 1 || bl[0].PushName != "Alice B" || bl[0].Name != "" {
			t.Fatalf("b's contacts = %d %+v", total, bl)
		}
		_, err = st.Contact(bg(), b.ID, u2)
		wantErr(t, "another channel's contact", err, store.ErrContactNotFound)

		// Empty fields keep what is stored; a user seen in a group is on
		// WhatsApp after all; a new check replaces the old.
		t1 := t0.Add(time.Hour)
		noErr(t, "update", st.SaveContacts(bg(), []store.Contact{
			{ChannelID: a.ID, ID: u2, Name: "Robert", UpdatedAt: t1},
			{ChannelID: a.ID, ID: u3, PushName: "Carol", UpdatedAt: t1},
			{ChannelID: a.ID, ID: u1, Status: store.ContactValid, CheckedAt: t1, UpdatedAt: t1},
		}))
		if c, _ := st.Contact(bg(), a.ID, u2); c.Name != "Robert" || c.PushName != "Bob" || c.Status != store.ContactValid || !c.CheckedAt.Equal(t0) || !c.UpdatedAt.Equal(t1) {
			t.Fatalf("u2 after update = %+v", c)
		}
		if c, _ := st.Contact(bg(), a.ID, u3); c.Status != store.ContactUnchecked || !c.CheckedAt.IsZero() || c.PushName != "Carol" {
			t.Fatalf("u3 after being seen = %+v", c)
		}
		if c, _ := st.Contact(bg(), a.ID, u1); c.Status != store.ContactValid || !c.CheckedAt.Equal(t1) || c.Name != "Alice" {
			t.Fatalf("u1 after a check = %+v", c)
		}
		if _, total, _ := st.Contacts(bg(), a.ID, 10, 0); total != 3 {
			t.Fatalf("contacts after update = %d", total)
		}
		noErr(t, "nothing", st.SaveContacts(bg(), nil))
		if err := st.SaveContacts(bg(), []store.Contact{{ChannelID: a.ID}}); err == nil {
			t.Fatal("a contact without an ID was saved")
		}
	})
}

func TestPresences(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a, b := twoChannels(t, st)
		u1, grp := "15550000001@s.whatsapp.net", "120363000000000001@g.us"
		_, err := st.Presence(bg(), a.ID, u1)
		wantErr(t, "unknown", err, store.ErrPresenceNotFound)

		// A subscription shows as pending until something is seen.
		noErr(t, "pending", st.SetPresence(bg(), store.Presence{ChannelID: a.ID, EntryID: u1, UserID: u1, Status: store.PresencePending, UpdatedAt: t0}))
		if p, _ := st.Presence(bg(), a.ID, u1); p.Status != store.PresencePending || !p.LastSeen.IsZero() {
			t.Fatalf("pending = %+v", p)
		}
		t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
		noErr(t, "online", st.SetPresence(bg(), store.Presence{ChannelID: a.ID, EntryID: u1, UserID: u1, Status: store.PresenceOnline, LastSeen: t1, UpdatedAt: t1}))
		// Neither an older update nor a new subscription replaces it.
		noErr(t, "older", st.SetPresence(bg(), store.Presence{ChannelID: a.ID, EntryID: u1, UserID: u1, Status: store.PresenceOffline, UpdatedAt: t0}))
		noErr(t, "pending again", st.SetPresence(bg(), store.Presence{ChannelID: a.ID, EntryID: u1, UserID: u1, Status: store.PresencePending, UpdatedAt: t2}))
		want := store.Presence{ChannelID: a.ID, EntryID: u1, UserID: u1, Status: store.PresenceOnline, LastSeen: t1, UpdatedAt: t1}
		if p, _ := st.Presence(bg(), a.ID, u1); p != want {
			t.Fatalf("presence = %+v, want %+v", p, want)
		}
		// Typing keeps the last seen time when none is given.
		noErr(t, "typing", st.SetPresence(bg(), store.Presence{ChannelID: a.ID, EntryID: u1, UserID: u1, Status: store.PresenceTyping, UpdatedAt: t2}))
		if p, _ := st.Presence(bg(), a.ID, u1); p.Status != store.PresenceTyping || !p.LastSeen.Equal(t1) || !p.UpdatedAt.Equal(t2) {
			t.Fatalf("typing = %+v", p)
		}
		// A group entry says who types.
		noErr(t, "group", st.SetPresence(bg(), store.Presence{ChannelID: a.ID, EntryID: grp, UserID: u1, Status: store.PresenceRecording, UpdatedAt: t2}))
		if p, _ := st.Presence(bg(), a.ID, grp); p.UserID != u1 || p.Status != store.PresenceRecording {
			t.Fatalf("group presence = %+v", p)
		}
		_, err = st.Presence(bg(), b.ID, u1)
		wantErr(t, "another channel's", err, store.ErrPresenceNotFound)
		if err := st.SetPresence(bg(), store.Presence{ChannelID: a.ID}); err == nil {
			t.Fatal("a presence without an entry was saved")
		}
	})
}

// Unlinking forgets the account's groups, contacts and presences (the next
// account may be another one), keeps the channel's messages, and leaves
// other channels alone.
func TestClearChannelLinkForgetsTheAccount(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a, b := twoChannels(t, st)
		u1 := "15550000001@s.whatsapp.net"
		for _, ch := range []string{a.ID, b.ID} {
			noErr(t, "group", st.SaveGroup(bg(), group(ch, "120363000000000001@g.us", "Team", member(1, store.RankCreator))))
			noErr(t, "contact", st.SaveContacts(bg(), []store.Contact{{ChannelID: ch, ID: u1, PushName: "Alice", UpdatedAt: t0}}))
			noErr(t, "presence", st.SetPresence(bg(), store.Presence{ChannelID: ch, EntryID: u1, UserID: u1, Status: "online", UpdatedAt: t0}))
		}
		_, err := st.InsertMessage(bg(), model.Message{ChannelID: a.ID, ID: "KEEP0001", ChatID: u1, Sender: u1, Type: "text", Status: "delivered", Time: t0})
		noErr(t, "message", err)

		noErr(t, "clear", st.ClearChannelLink(bg(), a.ID))
		if _, err := st.Group(bg(), a.ID, "120363000000000001@g.us"); err == nil {
			t.Error("a's group survived the unlink")
		}
		if _, err := st.Contact(bg(), a.ID, u1); err == nil {
			t.Error("a's contact survived the unlink")
		}
		if _, err := st.Presence(bg(), a.ID, u1); err == nil {
			t.Error("a's presence survived the unlink")
		}
		if _, err := st.Message(bg(), a.ID, "KEEP0001"); err != nil {
			t.Errorf("a's message is gone: %v", err)
		}
		if _, err := st.Group(bg(), b.ID, "120363000000000001@g.us"); err != nil {
			t.Errorf("b's group is gone: %v", err)
		}
		if _, err := st.Contact(bg(), b.ID, u1); err != nil {
			t.Errorf("b's contact is gone: %v", err)
		}
		if err := st.ClearChannelLink(bg(), "NOSUCH-00000"); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("unknown channel: %v", err)
		}
	})
}
