package store_test

import (
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// LID pairs are kept per channel, one LID per number and one number per
// LID; chats and contacts show the LID; a chat kept under a LID merges
// into the number's chat: messages, unread counts, the last message, the
// contact.
func TestLIDPairsAndChatMerge(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a, b := twoChannels(t, st)
		const pn, lid = "15550000001@s.whatsapp.net", "123456789012345@lid"
		msg := func(id, chat string, at int) model.Message {
			return model.Message{ChannelID: a.ID, ID: id, ChatID: chat, Sender: chat, FromName: "Ann", Type: "text", Source: "mobile",
				Status: model.MessageDelivered, Body: id, Time: t0.Add(time.Duration(at) * time.Second)}
		}
		// The conversation starts by number, goes on by LID (number unknown).
		for _, m := range []model.Message{msg("M1", pn, 1), msg("M2", lid, 2), msg("M3", lid, 3)} {
			if _, err := st.InsertMessage(bg(), m); err != nil {
				t.Fatal(err)
			}
		}
		noErr(t, "contact", st.SaveContacts(bg(), []store.Contact{{ChannelID: a.ID, ID: lid, PushName: "Ann", UpdatedAt: t0}}))
		// Ann is in one group by LID only, in another by LID and number.
		noErr(t, "group 1", st.SaveGroup(bg(), group(a.ID, "120363000000000011@g.us", "One", store.GroupParticipant{UserID: lid, Rank: store.RankAdmin})))
		noErr(t, "group 2", st.SaveGroup(bg(), group(a.ID, "120363000000000012@g.us", "Two",
			store.GroupParticipant{UserID: lid, Rank: store.RankMember}, store.GroupParticipant{UserID: pn, Rank: store.RankMember})))
		if _, total, _ := st.Chats(bg(), a.ID, 10, 0); total != 2 {
			t.Fatalf("%d chats before the pair is known, want 2", total)
		}

		fresh, err := st.PutLIDs(bg(), a.ID, []store.LIDPair{{LID: lid, PN: pn}}, t0)
		noErr(t, "put", err)
		if len(fresh) != 1 {
			t.Fatalf("fresh = %v", fresh)
		}
		if fresh, err := st.PutLIDs(bg(), a.ID, []store.LIDPair{{LID: lid, PN: pn}}, t0); err != nil || len(fresh) != 0 {
			t.Fatalf("the same pair again: fresh %v, %v", fresh, err)
		}
		merged, err := st.MergeChat(bg(), a.ID, lid, pn)
		noErr(t, "merge", err)
		if !merged {
			t.Fatal("nothing merged")
		}
		chats, total, err := st.Chats(bg(), a.ID, 10, 0)
		noErr(t, "chats", err)
		if total != 1 || chats[0].ID != pn || chats[0].LID != lid || chats[0].Unread != 3 || chats[0].LastMessageID != "M3" {
			t.Fatalf("chats after the merge = %+v", chats)
		}
		msgs, _, err := st.Messages(bg(), a.ID, store.MessageQuery{ChatID: pn, Count: 10})
		noErr(t, "messages", err)
		if len(msgs) != 3 {
			t.Fatalf("%d messages in the merged chat", len(msgs))
		}
		for _, m := range msgs {
			if m.ChatID != pn || m.Sender != pn {
				t.Fatalf("message %s kept chat %s sender %s", m.ID, m.ChatID, m.Sender)
			}
		}
		c, err := st.Contact(bg(), a.ID, pn)
		noErr(t, "contact", err)
		if c.PushName != "Ann" || c.LID != lid {
			t.Fatalf("contact = %+v", c)
		}
		for _, id := range []string{"120363000000000011@g.us", "120363000000000012@g.us"} {
			g, err := st.Group(bg(), a.ID, id)
			noErr(t, "group", err)
			if len(g.Participants) != 1 || g.Participants[0].UserID != pn {
				t.Fatalf("group %s members after the merge = %+v", id, g.Participants)
			}
		}
		if merged, err := st.MergeChat(bg(), a.ID, lid, pn); err != nil || merged {
			t.Fatalf("merging again: %v %v", merged, err)
		}

		// Lookups both ways, per channel.
		if got, err := st.PNOfLID(bg(), a.ID, lid); err != nil || got != pn {
			t.Fatalf("PNOfLID = %q %v", got, err)
		}
		if got, err := st.PNOfLID(bg(), b.ID, lid); err != nil || got != "" {
			t.Fatalf("another channel's PNOfLID = %q %v", got, err)
		}
		if got, err := st.LIDsOf(bg(), a.ID, []string{pn, "15550000009@s.whatsapp.net"}); err != nil || len(got) != 1 || got[pn] != lid {
			t.Fatalf("LIDsOf = %v %v", got, err)
		}
		// A new LID for the number replaces the old pair.
		const lid2 = "223456789012345@lid"
		if _, err := st.PutLIDs(bg(), a.ID, []store.LIDPair{{LID: lid2, PN: pn}}, t0); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.PNOfLID(bg(), a.ID, lid); got != "" {
			t.Fatalf("the old LID still maps to %q", got)
		}
		if got, _ := st.LIDsOf(bg(), a.ID, []string{pn}); got[pn] != lid2 {
			t.Fatalf("LIDsOf after the change = %v", got)
		}
	})
}

// History chunks wait in a queue: once per ID, oldest due first,
// postponed with attempts counted, deleted, per channel.
func TestHistoryQueue(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a, b := twoChannels(t, st)
		noErr(t, "queue", st.QueueHistory(bg(), a.ID, "H1", []byte{1, 2, 3}, t0))
		noErr(t, "queue again", st.QueueHistory(bg(), a.ID, "H1", []byte{9}, t0.Add(time.Second)))
		noErr(t, "queue b", st.QueueHistory(bg(), b.ID, "H2", []byte{4}, t0.Add(time.Second)))
		it, ok, err := st.NextHistory(bg(), t0)
		noErr(t, "next", err)
		if !ok || it.ChannelID != a.ID || it.ID != "H1" || string(it.Ref) != "\x01\x02\x03" || it.Attempts != 0 {
			t.Fatalf("next = %+v %v", it, ok)
		}
		noErr(t, "postpone", st.PostponeHistory(bg(), a.ID, "H1", t0.Add(time.Minute), true))
		if it, _, _ := st.NextHistory(bg(), t0); it.ID != "H2" {
			t.Fatalf("next after postponing = %+v", it)
		}
		if it, _, _ := st.NextHistory(bg(), t0.Add(time.Minute)); it.ID != "H1" || it.Attempts != 1 {
			t.Fatalf("next when due again = %+v", it)
		}
		if n, err := st.HistoryQueued(bg(), a.ID); err != nil || n != 1 {
			t.Fatalf("queued = %d %v", n, err)
		}
		noErr(t, "delete", st.DeleteHistory(bg(), a.ID, "H1"))
		noErr(t, "delete b", st.DeleteHistory(bg(), b.ID, "H2"))
		if _, ok, err := st.NextHistory(bg(), t0.Add(time.Hour)); err != nil || ok {
			t.Fatalf("queue not empty: %v %v", ok, err)
		}
	})
}
