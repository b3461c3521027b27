package store_test

import (
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// A recipient's view of a message only moves up, is kept per channel, goes
// with the channel; stories are listed by author; chats have their type.
func TestMessageViews(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0].ID, chs[1].ID
		const story = "status@broadcast"
		at := t0.Add(time.Minute)
		// Receipts of messages not stored here: the views alone change.
		put := func(ids []string, viewer, status string, at time.Time) error {
			_, errs := st.SetMessageStatuses(bg(), []store.StatusChange{{ChannelID: a, IDs: ids, Status: status,
				View: &store.StatusView{Chat: story, Viewer: viewer, Time: at}}})
			return errs[0]
		}
		noErr(t, "read", put([]string{"S1", "S2"}, msgAlice, model.MessageRead, at))
		noErr(t, "late delivered", put([]string{"S1"}, msgAlice, model.MessageDelivered, at.Add(time.Minute)))
		noErr(t, "bob", put([]string{"S1"}, msgBob, model.MessageDelivered, at.Add(2*time.Minute)))
		noErr(t, "played", put([]string{"S2"}, msgAlice, model.MessagePlayed, at.Add(3*time.Minute)))
		views, err := st.MessageViews(bg(), a, "S1")
		noErr(t, "views", err)
		want := []store.MessageView{
			{MessageID: "S1", Chat: story, Viewer: msgAlice, Status: model.MessageRead, Time: at},
			{MessageID: "S1", Chat: story, Viewer: msgBob, Status: model.MessageDelivered, Time: at.Add(2 * time.Minute)},
		}
		if len(views) != 2 || views[0] != want[0] || views[1] != want[1] {
			t.Fatalf("views of S1\n got %+v\nwant %+v", views, want)
		}
		if v, _ := st.MessageViews(bg(), a, "S2"); len(v) != 1 || v[0].Status != model.MessagePlayed {
			t.Fatalf("views of S2 %+v", v)
		}
		if v, err := st.MessageViews(bg(), b, "S1"); err != nil || len(v) != 0 {
			t.Fatalf("another channel sees %+v, %v", v, err)
		}

		// Stories by author, and the types of chats.
		m1, m2 := msgIn(a, "ST1", story, 1), msgIn(a, "ST2", story, 2)
		m2.Sender = msgBob
		msgInsert(t, st, m1)
		msgInsert(t, st, m2)
		list, total, err := st.Messages(bg(), a, store.MessageQuery{ChatID: story, Sender: msgBob, Count: 10})
		if err != nil || total != 1 || len(list) != 1 || list[0].ID != "ST2" {
			t.Fatalf("stories of bob %v %d %v", list, total, err)
		}
		if c := msgChat(t, st, a, story); c.Type != "broadcast" || c.Name != "" {
			t.Fatalf("status chat %+v", c)
		}
		for id, typ := range map[string]string{"120363000000000001@newsletter": "newsletter", msgGroup: "group", msgAlice: "contact"} {
			if got := store.ChatType(id); got != typ {
				t.Errorf("ChatType(%s) = %s, want %s", id, got, typ)
			}
		}
	})
}
