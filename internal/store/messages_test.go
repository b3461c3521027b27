package store_test

// Helpers in this file carry a "msg" prefix so they do not collide with
// other _test files of package store_test.

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

const (
	msgAlice = "15550000001@s.whatsapp.net"
	msgBob   = "15550000002@s.whatsapp.net"
	msgGroup = "120363000000000001@g.us"
)

var msgSeq atomic.Int64

// msgChannels stores a partner with n channels.
func msgChannels(t *testing.T, st *store.Store, n int) []model.Channel {
	t.Helper()
	p := newPartner(t, st, fmt.Sprintf("msg%d_%d", time.Now().UnixNano(), msgSeq.Add(1)), 0, t0)
	out := make([]model.Channel, n)
	for i := range out {
		out[i] = newChannel(t, st, p.ID, model.DefaultProjectID, t0, 5)
	}
	return out
}

// msgIn is an incoming message of chat at t0+min minutes.
func msgIn(channelID, id, chat string, min int) model.Message {
	return model.Message{
		ChannelID: channelID, ID: id, ChatID: chat, Sender: msgAlice, FromName: "Alice", Type: "text",
		Source: "mobile", Status: model.MessageDelivered, Body: "hi " + id,
		Content: json.RawMessage(`{"body":"hi ` + id + `"}`), Time: t0.Add(time.Duration(min) * time.Minute),
	}
}

// msgOut is an outgoing message of chat at t0+min minutes.
func msgOut(channelID, id, chat string, min int) model.Message {
	m := msgIn(channelID, id, chat, min)
	m.FromMe, m.Sender, m.FromName, m.Source, m.Status = true, "4912345678@s.whatsapp.net", "Me", "api", model.MessagePending
	return m
}

func msgInsert(t *testing.T, st *store.Store, m model.Message) {
	t.Helper()
	inserted, err := st.InsertMessage(bg(), m)
	noErr(t, "insert "+m.ID, err)
	if !inserted {
		t.Fatalf("insert %s: not inserted", m.ID)
	}
}

func msgChat(t *testing.T, st *store.Store, channelID, id string) model.Chat {
	t.Helper()
	c, err := st.Chat(bg(), channelID, id)
	noErr(t, "chat "+id, err)
	return c
}

func msgIDs(ms []model.Message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func msgSame(t *testing.T, what string, got, want model.Message) {
	t.Helper()
	if want.Content == nil {
		want.Content = json.RawMessage("{}")
	}
	if want.Context == nil {
		want.Context = json.RawMessage("{}")
	}
	if want.Reactions == nil {
		want.Reactions = []model.MessageReaction{}
	}
	if !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC {
		t.Fatalf("%s: time %v, want %v in UTC", what, got.Time, want.Time)
	}
	got.Time, want.Time = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// msgCount counts a table's rows of a channel with plain SQL.
func msgCount(t *testing.T, st *store.Store, table, channelID string) int {
	t.Helper()
	q := "SELECT COUNT(*) FROM " + table + " WHERE channel_id = ?"
	if st.Dialect() == store.Postgres {
		q = strings.Replace(q, "?", "$1", 1)
	}
	var n int
	noErr(t, "count "+table, st.DB().QueryRow(q, channelID).Scan(&n))
	return n
}

func TestMessageInsertAndRead(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0], chs[1]

		full := msgIn(a.ID, "3EB0FULL", msgGroup, 0)
		full.Sender, full.Type, full.Body = msgBob, "image", "a caption ✓"
		full.Content = json.RawMessage(`{"id":"jpeg-0123abcd","caption":"a caption ✓"}`)
		full.Context = json.RawMessage(`{"quoted_id":"3EB0OLD","mentions":["15550000001@s.whatsapp.net"]}`)
		full.Reactions = []model.MessageReaction{{Emoji: "👍", From: msgAlice, Time: 1700000000}}
		full.Starred, full.Edited = true, true
		full.Time = t0.Add(1234 * time.Millisecond).In(time.FixedZone("X", 3600))
		msgInsert(t, st, full)
		got, err := st.Message(bg(), a.ID, full.ID)
		noErr(t, "read full", err)
		msgSame(t, "full message", got, full)

		// Nil content, context and reactions are stored as empty objects.
		bare := model.Message{ChannelID: a.ID, ID: "BARE0001", ChatID: msgAlice, Type: "text", Status: model.MessageSent, Time: t0}
		msgInsert(t, st, bare)
		got, err = st.Message(bg(), a.ID, bare.ID)
		noErr(t, "read bare", err)
		msgSame(t, "bare message", got, bare)
		if string(got.Content) != "{}" || string(got.Context) != "{}" || got.Reactions == nil {
			t.Fatalf("defaults: content %s context %s reactions %#v", got.Content, got.Context, got.Reactions)
		}

		// The same ID again is left as it is, and the chat does not move.
		before := msgChat(t, st, a.ID, msgGroup)
		dup := full
		dup.Body, dup.Status, dup.Time = "changed", model.MessageRead, t0.Add(time.Hour)
		inserted, err := st.InsertMessage(bg(), dup)
		noErr(t, "insert again", err)
		if inserted {
			t.Fatal("a duplicate was inserted")
		}
		got, _ = st.Message(bg(), a.ID, full.ID)
		msgSame(t, "message after a duplicate", got, full)
		if after := msgChat(t, st, a.ID, msgGroup); after != before {
			t.Fatalf("a duplicate moved the chat:\n got  %+v\n want %+v", after, before)
		}

		// The same ID on another channel is another message.
		other := msgIn(b.ID, full.ID, msgAlice, 5)
		msgInsert(t, st, other)
		if got, _ := st.Message(bg(), b.ID, full.ID); got.ChatID != msgAlice || got.ChannelID != b.ID {
			t.Fatalf("b's message = %+v", got)
		}
		if got, _ := st.Message(bg(), a.ID, full.ID); got.ChatID != msgGroup {
			t.Fatalf("a's message changed by b's: %+v", got)
		}

		_, err = st.Message(bg(), a.ID, "NOPE")
		wantErr(t, "unknown message", err, store.ErrMessageNotFound)
		wantErr(t, "unknown message", err, model.ErrNotFound)
		_, err = st.Message(bg(), b.ID, bare.ID)
		wantErr(t, "another channel's message", err, store.ErrMessageNotFound)

		// A message must belong to a channel.
		if _, err := st.InsertMessage(bg(), msgIn("NOCHAN-00000", "X1", msgAlice, 0)); err == nil {
			t.Fatal("message of an unknown channel stored")
		}
	})
}

func TestInsertMessageMovesChat(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a := msgChannels(t, st, 1)[0]

		// A first incoming message creates the chat, named after the sender.
		msgInsert(t, st, msgIn(a.ID, "M10", msgAlice, 10))
		c := msgChat(t, st, a.ID, msgAlice)
		want := model.Chat{ChannelID: a.ID, ID: msgAlice, Type: "contact", Name: "Alice", LastMessageID: "M10", LastTime: t0.Add(10 * time.Minute), Unread: 1}
		if c != want {
			t.Fatalf("new chat:\n got  %+v\n want %+v", c, want)
		}
		if c.LastTime.Location() != time.UTC {
			t.Fatalf("last time not UTC: %v", c.LastTime)
		}

		// An older message counts as unread but does not become the last.
		msgInsert(t, st, msgIn(a.ID, "M05", msgAlice, 5))
		c = msgChat(t, st, a.ID, msgAlice)
		if c.LastMessageID != "M10" || !c.LastTime.Equal(t0.Add(10*time.Minute)) || c.Unread != 2 {
			t.Fatalf("after an older message: %+v", c)
		}
		// A newer one moves it forward; a later push name does not rename.
		m := msgIn(a.ID, "M20", msgAlice, 20)
		m.FromName = "Alice Renamed"
		msgInsert(t, st, m)
		c = msgChat(t, st, a.ID, msgAlice)
		if c.LastMessageID != "M20" || !c.LastTime.Equal(t0.Add(20*time.Minute)) || c.Unread != 3 || c.Name != "Alice" {
			t.Fatalf("after a newer message: %+v", c)
		}
		// The same time moves it too (the later insert wins).
		msgInsert(t, st, msgIn(a.ID, "M20B", msgAlice, 20))
		if c = msgChat(t, st, a.ID, msgAlice); c.LastMessageID != "M20B" || c.Unread != 4 {
			t.Fatalf("after a message of the same time: %+v", c)
		}

		// An outgoing message resets unread.
		msgInsert(t, st, msgOut(a.ID, "O30", msgAlice, 30))
		c = msgChat(t, st, a.ID, msgAlice)
		if c.LastMessageID != "O30" || c.Unread != 0 || c.Name != "Alice" {
			t.Fatalf("after an outgoing message: %+v", c)
		}

		// Archived: an outgoing message keeps it archived, an incoming one
		// unarchives it.
		_, err := st.UpdateChat(bg(), a.ID, msgAlice, func(c *model.Chat) error { c.Archived = true; return nil })
		noErr(t, "archive", err)
		msgInsert(t, st, msgOut(a.ID, "O31", msgAlice, 31))
		if c = msgChat(t, st, a.ID, msgAlice); !c.Archived || c.Unread != 0 || c.LastMessageID != "O31" {
			t.Fatalf("outgoing message into an archived chat: %+v", c)
		}
		msgInsert(t, st, msgIn(a.ID, "M32", msgAlice, 32))
		if c = msgChat(t, st, a.ID, msgAlice); c.Archived || c.Unread != 1 || c.LastMessageID != "M32" {
			t.Fatalf("incoming message into an archived chat: %+v", c)
		}

		// A chat started by the channel has no name; a group is named by
		// nobody's push name.
		msgInsert(t, st, msgOut(a.ID, "O1", msgBob, 1))
		if c = msgChat(t, st, a.ID, msgBob); c.Name != "" || c.Type != "contact" || c.Unread != 0 || c.LastMessageID != "O1" {
			t.Fatalf("chat started by the channel: %+v", c)
		}
		msgInsert(t, st, msgIn(a.ID, "G1", msgGroup, 2))
		if c = msgChat(t, st, a.ID, msgGroup); c.Name != "" || c.Type != "group" || c.Unread != 1 {
			t.Fatalf("group chat: %+v", c)
		}
		if store.ChatType(msgGroup) != "group" || store.ChatType(msgAlice) != "contact" {
			t.Fatal("ChatType")
		}
	})
}

func TestMessagesQuery(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0], chs[1]
		// M00..M09 a minute apart, alternating chats; odd ones are outgoing.
		for i := range 10 {
			chat := msgAlice
			if i%2 == 1 {
				chat = msgBob
			}
			m := msgIn(a.ID, fmt.Sprintf("M%02d", i), chat, i)
			if i%3 == 0 {
				m = msgOut(a.ID, m.ID, chat, i)
			}
			msgInsert(t, st, m)
		}
		// Two in the same millisecond: ties go by the order they were stored.
		msgInsert(t, st, msgIn(a.ID, "T2", msgAlice, 20))
		msgInsert(t, st, msgIn(a.ID, "T1", msgAlice, 20))
		msgInsert(t, st, msgIn(b.ID, "B1", msgAlice, 3))

		yes, no := true, false
		at := func(min int) *time.Time { v := t0.Add(time.Duration(min) * time.Minute); return &v }
		for _, c := range []struct {
			name  string
			q     store.MessageQuery
			want  []string
			total int
		}{
			{"all, newest first", store.MessageQuery{Count: 100}, []string{"T1", "T2", "M09", "M08", "M07", "M06", "M05", "M04", "M03", "M02", "M01", "M00"}, 12},
			{"all, oldest first", store.MessageQuery{Count: 100, Ascending: true}, []string{"M00", "M01", "M02", "M03", "M04", "M05", "M06", "M07", "M08", "M09", "T2", "T1"}, 12},
			{"page", store.MessageQuery{Count: 3, Offset: 2}, []string{"M09", "M08", "M07"}, 12},
			{"page ascending", store.MessageQuery{Count: 2, Offset: 9, Ascending: true}, []string{"M09", "T2"}, 12},
			{"past the end", store.MessageQuery{Count: 5, Offset: 50}, []string{}, 12},
			{"chat", store.MessageQuery{Count: 100, ChatID: msgBob}, []string{"M09", "M07", "M05", "M03", "M01"}, 5},
			{"from me", store.MessageQuery{Count: 100, FromMe: &yes}, []string{"M09", "M06", "M03", "M00"}, 4},
			{"not from me, in a chat", store.MessageQuery{Count: 100, FromMe: &no, ChatID: msgAlice, Ascending: true}, []string{"M02", "M04", "M08", "T2", "T1"}, 5},
			{"inclusive bounds", store.MessageQuery{Count: 100, From: at(2), To: at(5), Ascending: true}, []string{"M02", "M03", "M04", "M05"}, 4},
			{"from only", store.MessageQuery{Count: 100, From: at(9)}, []string{"T1", "T2", "M09"}, 3},
			{"to only", store.MessageQuery{Count: 100, To: at(1)}, []string{"M01", "M00"}, 2},
			{"all filters", store.MessageQuery{Count: 1, Offset: 1, ChatID: msgBob, FromMe: &no, From: at(1), To: at(9)}, []string{"M05"}, 3},
			{"empty window", store.MessageQuery{Count: 100, From: at(5), To: at(4)}, []string{}, 0},
			{"unknown chat", store.MessageQuery{Count: 100, ChatID: "19999999999@s.whatsapp.net"}, []string{}, 0},
		} {
			got, total, err := st.Messages(bg(), a.ID, c.q)
			noErr(t, c.name, err)
			if got == nil {
				t.Errorf("%s: nil list", c.name)
			}
			if ids := msgIDs(got); !reflect.DeepEqual(ids, c.want) || total != c.total {
				t.Errorf("%s: %v (total %d), want %v (total %d)", c.name, ids, total, c.want, c.total)
			}
		}
		got, total, err := st.Messages(bg(), b.ID, store.MessageQuery{Count: 100})
		noErr(t, "b", err)
		if total != 1 || len(got) != 1 || got[0].ID != "B1" {
			t.Fatalf("b's messages: %v %d", msgIDs(got), total)
		}
		if got[0].Content == nil || got[0].Reactions == nil {
			t.Fatalf("listed message lacks defaults: %+v", got[0])
		}
		got, total, err = st.Messages(bg(), "NOCHAN-00000", store.MessageQuery{Count: 100})
		if err != nil || total != 0 || len(got) != 0 {
			t.Fatalf("unknown channel: %v %d %v", got, total, err)
		}
	})
}

func TestSetMessageStatus(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0], chs[1]
		for _, id := range []string{"O1", "O2", "O3"} {
			msgInsert(t, st, msgOut(a.ID, id, msgAlice, 1))
		}
		msgInsert(t, st, msgOut(b.ID, "O1", msgAlice, 1))
		status := func(channelID, id string) string {
			t.Helper()
			m, err := st.Message(bg(), channelID, id)
			noErr(t, "read "+id, err)
			return m.Status
		}
		set := func(ids []string, s string, want ...string) {
			t.Helper()
			changed, err := st.SetMessageStatus(bg(), a.ID, ids, s)
			noErr(t, "set "+s, err)
			if len(want) == 0 {
				want = nil
			}
			var got []string
			for _, m := range changed {
				if m.Status != s || m.ChannelID != a.ID {
					t.Fatalf("changed message %+v, want status %s", m, s)
				}
				got = append(got, m.ID)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("set %s on %v changed %v, want %v", s, ids, got, want)
			}
		}
		set(nil, model.MessageRead)
		set([]string{"O1", "O2"}, model.MessageSent, "O1", "O2")
		set([]string{"O1", "NOPE", "O2", "O3"}, model.MessageDelivered, "O1", "O2", "O3")
		set([]string{"O1"}, model.MessageRead, "O1")
		// A late delivered receipt does not move read back, nor a pending.
		set([]string{"O1", "O2"}, model.MessageDelivered)
		set([]string{"O1", "O2", "O3"}, model.MessagePending)
		set([]string{"O1", "O1"}, model.MessagePlayed, "O1")
		set([]string{"O2"}, model.MessageDeleted, "O2")
		set([]string{"O2"}, model.MessageRead)
		set([]string{"O3"}, "bogus")
		for id, want := range map[string]string{"O1": model.MessagePlayed, "O2": model.MessageDeleted, "O3": model.MessageDelivered} {
			if got := status(a.ID, id); got != want {
				t.Errorf("%s: status %s, want %s", id, got, want)
			}
		}
		if got := status(b.ID, "O1"); got != model.MessagePending {
			t.Fatalf("another channel's message moved to %s", got)
		}
	})
}

func TestUpdateMessage(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0], chs[1]
		orig := msgOut(a.ID, "O1", msgAlice, 1)
		msgInsert(t, st, orig)

		want := orig
		want.Body, want.Content, want.Context = "edited", json.RawMessage(`{"body":"edited"}`), json.RawMessage(`{"quoted_id":"Q1"}`)
		want.Reactions = []model.MessageReaction{{Emoji: "❤️", From: msgBob, Time: 42}}
		want.Starred, want.Edited, want.Status = true, true, model.MessageRead
		got, err := st.UpdateMessage(bg(), a.ID, "O1", func(m *model.Message) error {
			msgSame(t, "message given to fn", *m, orig)
			m.Body, m.Content, m.Context, m.Reactions = want.Body, want.Content, want.Context, want.Reactions
			m.Starred, m.Edited, m.Status = true, true, model.MessageRead
			return nil
		})
		noErr(t, "update", err)
		msgSame(t, "returned", got, want)
		stored, _ := st.Message(bg(), a.ID, "O1")
		msgSame(t, "stored", stored, want)
		// The status rank moved with the status: delivered does not undo read.
		if changed, _ := st.SetMessageStatus(bg(), a.ID, []string{"O1"}, model.MessageDelivered); len(changed) != 0 {
			t.Fatalf("status went back after an update: %+v", changed)
		}

		// Reactions and content cleared come back as the empty defaults.
		_, err = st.UpdateMessage(bg(), a.ID, "O1", func(m *model.Message) error {
			m.Reactions, m.Content, m.Context = nil, nil, nil
			return nil
		})
		noErr(t, "clear", err)
		stored, _ = st.Message(bg(), a.ID, "O1")
		if string(stored.Content) != "{}" || string(stored.Context) != "{}" || len(stored.Reactions) != 0 || stored.Reactions == nil {
			t.Fatalf("cleared: %+v", stored)
		}
		want.Content, want.Context, want.Reactions = nil, nil, nil

		// fn failing changes nothing and its error comes back.
		boom := errors.New("boom")
		_, err = st.UpdateMessage(bg(), a.ID, "O1", func(m *model.Message) error {
			m.Body, m.Starred = "not saved", false
			return boom
		})
		wantErr(t, "fn error", err, boom)
		stored, _ = st.Message(bg(), a.ID, "O1")
		msgSame(t, "after a failed update", stored, want)

		// Not found: fn is not called.
		called := false
		_, err = st.UpdateMessage(bg(), a.ID, "NOPE", func(*model.Message) error { called = true; return nil })
		wantErr(t, "unknown message", err, store.ErrMessageNotFound)
		_, err = st.UpdateMessage(bg(), b.ID, "O1", func(*model.Message) error { called = true; return nil })
		wantErr(t, "another channel's message", err, store.ErrMessageNotFound)
		if called {
			t.Fatal("fn called for a missing message")
		}

		// Concurrent updates are serialized: no reaction is lost.
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.UpdateMessage(bg(), a.ID, "O1", func(m *model.Message) error {
					m.Reactions = append(m.Reactions, model.MessageReaction{Emoji: "👍", From: fmt.Sprint(i)})
					return nil
				})
				if err != nil {
					t.Errorf("concurrent update: %v", err)
				}
			}()
		}
		wg.Wait()
		if stored, _ = st.Message(bg(), a.ID, "O1"); len(stored.Reactions) != 20 {
			t.Fatalf("%d reactions after 20 concurrent updates", len(stored.Reactions))
		}
	})
}

func TestChats(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0], chs[1]
		c1, c2, c3 := "15550000011@s.whatsapp.net", "15550000012@s.whatsapp.net", "15550000013@s.whatsapp.net"
		msgInsert(t, st, msgIn(a.ID, "A1", c1, 1))
		msgInsert(t, st, msgIn(a.ID, "A3", c3, 3))
		msgInsert(t, st, msgIn(a.ID, "A2", c2, 2))
		msgInsert(t, st, msgIn(a.ID, "G1", msgGroup, 2)) // same time as c2: by ID
		msgInsert(t, st, msgIn(b.ID, "B1", c1, 9))

		ids := func(cs []model.Chat) []string {
			out := []string{}
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return out
		}
		list := func(count, offset int, want ...string) {
			t.Helper()
			got, total, err := st.Chats(bg(), a.ID, count, offset)
			noErr(t, "chats", err)
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(ids(got), want) || total != 4 {
				t.Fatalf("chats(%d, %d) = %v (total %d), want %v (total 4)", count, offset, ids(got), total, want)
			}
		}
		// msgGroup and c2 have the same time: by ID ("1203..." < "1555...").
		list(10, 0, c3, msgGroup, c2, c1)
		list(2, 1, msgGroup, c2)
		list(10, 4)

		// Pinned first (the latest pinned first), then the rest.
		for _, id := range []string{c1, c2} {
			_, err := st.UpdateChat(bg(), a.ID, id, func(c *model.Chat) error { c.Pinned = true; return nil })
			noErr(t, "pin", err)
		}
		list(10, 0, c2, c1, c3, msgGroup)

		// EnsureChat: creates a chat with no messages (listed last), keeps a
		// name when given none, replaces it otherwise, and touches nothing else.
		c4 := "15550000014@s.whatsapp.net"
		noErr(t, "ensure new", st.EnsureChat(bg(), a.ID, c4, "Dora"))
		got := msgChat(t, st, a.ID, c4)
		if want := (model.Chat{ChannelID: a.ID, ID: c4, Type: "contact", Name: "Dora"}); got != want {
			t.Fatalf("ensured chat:\n got  %+v\n want %+v", got, want)
		}
		if all, total, _ := st.Chats(bg(), a.ID, 10, 0); total != 5 || all[4].ID != c4 {
			t.Fatalf("chats with an empty one: %v %d", ids(all), total)
		}
		noErr(t, "ensure keep", st.EnsureChat(bg(), a.ID, c4, ""))
		if got = msgChat(t, st, a.ID, c4); got.Name != "Dora" {
			t.Fatalf("EnsureChat with no name renamed to %q", got.Name)
		}
		before := msgChat(t, st, a.ID, c3)
		noErr(t, "ensure rename", st.EnsureChat(bg(), a.ID, c3, "Carl"))
		got = msgChat(t, st, a.ID, c3)
		before.Name = "Carl"
		if got != before {
			t.Fatalf("EnsureChat changed more than the name:\n got  %+v\n want %+v", got, before)
		}
		noErr(t, "ensure group", st.EnsureChat(bg(), b.ID, msgGroup, ""))
		if got = msgChat(t, st, b.ID, msgGroup); got.Type != "group" || got.Name != "" {
			t.Fatalf("ensured group: %+v", got)
		}
		// The ensured chat then takes messages.
		msgInsert(t, st, msgIn(a.ID, "D1", c4, 50))
		if got = msgChat(t, st, a.ID, c4); got.LastMessageID != "D1" || got.Unread != 1 || got.Name != "Dora" {
			t.Fatalf("ensured chat after a message: %+v", got)
		}

		_, err := st.Chat(bg(), a.ID, "19999999999@s.whatsapp.net")
		wantErr(t, "unknown chat", err, store.ErrChatNotFound)
		wantErr(t, "unknown chat", err, model.ErrNotFound)
		_, err = st.Chat(bg(), b.ID, c3)
		wantErr(t, "another channel's chat", err, store.ErrChatNotFound)
		if bl, total, _ := st.Chats(bg(), b.ID, 10, 0); total != 2 || len(bl) != 2 {
			t.Fatalf("b's chats: %v %d", ids(bl), total)
		}
	})
}

func TestUpdateChat(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0], chs[1]
		msgInsert(t, st, msgIn(a.ID, "A1", msgAlice, 1))
		orig := msgChat(t, st, a.ID, msgAlice)

		mute := t0.Add(8 * time.Hour).Add(5 * time.Millisecond)
		want := orig
		want.Name, want.Unread, want.Archived, want.Pinned, want.MuteUntil = "Ally", 0, true, true, mute
		got, err := st.UpdateChat(bg(), a.ID, msgAlice, func(c *model.Chat) error {
			if *c != orig {
				t.Errorf("chat given to fn = %+v, want %+v", *c, orig)
			}
			c.Name, c.Unread, c.Archived, c.Pinned, c.MuteUntil = "Ally", 0, true, true, mute.In(time.FixedZone("Y", -7200))
			// Not writable: ignored.
			c.LastMessageID, c.Type = "FORGED", "group"
			return nil
		})
		noErr(t, "update", err)
		if got.Name != "Ally" || !got.MuteUntil.Equal(mute) {
			t.Fatalf("returned %+v", got)
		}
		stored := msgChat(t, st, a.ID, msgAlice)
		if stored != want {
			t.Fatalf("stored:\n got  %+v\n want %+v", stored, want)
		}
		if stored.MuteUntil.Location() != time.UTC {
			t.Fatalf("mute until not UTC: %v", stored.MuteUntil)
		}

		// Unmuted again: zero.
		_, err = st.UpdateChat(bg(), a.ID, msgAlice, func(c *model.Chat) error { c.MuteUntil = time.Time{}; c.Unread = 7; return nil })
		noErr(t, "unmute", err)
		if stored = msgChat(t, st, a.ID, msgAlice); !stored.MuteUntil.IsZero() || stored.Unread != 7 {
			t.Fatalf("unmuted: %+v", stored)
		}

		boom := errors.New("boom")
		_, err = st.UpdateChat(bg(), a.ID, msgAlice, func(c *model.Chat) error { c.Name, c.Pinned = "lost", false; return boom })
		wantErr(t, "fn error", err, boom)
		if after := msgChat(t, st, a.ID, msgAlice); after != stored {
			t.Fatalf("failed update changed the chat: %+v", after)
		}
		called := false
		_, err = st.UpdateChat(bg(), b.ID, msgAlice, func(*model.Chat) error { called = true; return nil })
		wantErr(t, "another channel's chat", err, store.ErrChatNotFound)
		if called {
			t.Fatal("fn called for a missing chat")
		}

		// Concurrent updates are serialized.
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := st.UpdateChat(bg(), a.ID, msgAlice, func(c *model.Chat) error { c.Unread++; return nil }); err != nil {
					t.Errorf("concurrent update: %v", err)
				}
			}()
		}
		wg.Wait()
		if got := msgChat(t, st, a.ID, msgAlice); got.Unread != 27 {
			t.Fatalf("unread %d after 20 concurrent increments from 7", got.Unread)
		}
	})
}

func TestDeleteChat(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0], chs[1]
		msgInsert(t, st, msgIn(a.ID, "A1", msgAlice, 1))
		msgInsert(t, st, msgOut(a.ID, "A2", msgAlice, 2))
		msgInsert(t, st, msgIn(a.ID, "B1", msgBob, 3))
		msgInsert(t, st, msgIn(b.ID, "A1", msgAlice, 1))

		noErr(t, "delete", st.DeleteChat(bg(), a.ID, msgAlice))
		_, err := st.Chat(bg(), a.ID, msgAlice)
		wantErr(t, "deleted chat", err, store.ErrChatNotFound)
		for _, id := range []string{"A1", "A2"} {
			_, err := st.Message(bg(), a.ID, id)
			wantErr(t, "message of a deleted chat", err, store.ErrMessageNotFound)
		}
		if _, total, _ := st.Messages(bg(), a.ID, store.MessageQuery{Count: 10}); total != 1 {
			t.Fatalf("%d messages left, want Bob's only", total)
		}
		msgChat(t, st, a.ID, msgBob)
		if _, err := st.Message(bg(), b.ID, "A1"); err != nil {
			t.Fatalf("another channel's message went with the chat: %v", err)
		}
		msgChat(t, st, b.ID, msgAlice)
		wantErr(t, "delete again", st.DeleteChat(bg(), a.ID, msgAlice), store.ErrChatNotFound)
		wantErr(t, "delete unknown", st.DeleteChat(bg(), a.ID, msgGroup), model.ErrNotFound)

		// A message after the deletion starts the chat afresh.
		msgInsert(t, st, msgIn(a.ID, "A9", msgAlice, 9))
		if c := msgChat(t, st, a.ID, msgAlice); c.Unread != 1 || c.LastMessageID != "A9" {
			t.Fatalf("chat after deletion: %+v", c)
		}
	})
}

func TestMediaRecords(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0], chs[1]
		file := func(channelID, id string, createdMin, expiresMin int) model.MediaFile {
			return model.MediaFile{ChannelID: channelID, ID: id, MimeType: "image/png", FileName: "p " + id + ".png", Size: 1234567890123,
				SHA256: strings.Repeat("ab", 32), CreatedAt: t0.Add(time.Duration(createdMin) * time.Minute),
				ExpiresAt: t0.Add(time.Duration(expiresMin) * time.Minute)}
		}
		f1, f2, f3 := file(a.ID, "png-01", 1, 100), file(a.ID, "png-02", 2, 50), file(a.ID, "png-03", 3, 300)
		fb := file(b.ID, "png-01", 1, 10)
		for _, f := range []model.MediaFile{f1, f2, f3, fb} {
			noErr(t, "insert "+f.ID, st.InsertMedia(bg(), f))
		}
		got, err := st.Media(bg(), a.ID, "png-01")
		noErr(t, "read", err)
		if got != f1 || got.CreatedAt.Location() != time.UTC {
			t.Fatalf("media:\n got  %+v\n want %+v", got, f1)
		}
		// Inserting the same ID again keeps the first record.
		dup := f1
		dup.MimeType, dup.Size = "image/jpeg", 1
		noErr(t, "insert again", st.InsertMedia(bg(), dup))
		if got, _ = st.Media(bg(), a.ID, "png-01"); got != f1 {
			t.Fatalf("duplicate replaced the record: %+v", got)
		}
		if got, _ = st.Media(bg(), b.ID, "png-01"); got != fb {
			t.Fatalf("b's media: %+v", got)
		}
		_, err = st.Media(bg(), b.ID, "png-02")
		wantErr(t, "another channel's media", err, store.ErrMediaNotFound)
		wantErr(t, "another channel's media", err, model.ErrNotFound)

		fids := func(fs []model.MediaFile) []string {
			out := []string{}
			for _, f := range fs {
				out = append(out, f.ID)
			}
			return out
		}
		list, total, err := st.MediaList(bg(), a.ID, 10, 0)
		noErr(t, "list", err)
		if !reflect.DeepEqual(fids(list), []string{"png-03", "png-02", "png-01"}) || total != 3 || list[0] != f3 {
			t.Fatalf("media list: %v %d", fids(list), total)
		}
		if list, total, _ = st.MediaList(bg(), a.ID, 1, 1); !reflect.DeepEqual(fids(list), []string{"png-02"}) || total != 3 {
			t.Fatalf("media page: %v %d", fids(list), total)
		}
		if list, total, _ = st.MediaList(bg(), "NOCHAN-00000", 10, 0); list == nil || len(list) != 0 || total != 0 {
			t.Fatalf("unknown channel's media: %v %d", list, total)
		}

		// Expired at now, inclusive, of every channel, soonest first, bounded.
		exp, err := st.ExpiredMedia(bg(), t0.Add(9*time.Minute), 10)
		if err != nil || len(exp) != 0 {
			t.Fatalf("nothing expired yet: %v %v", fids(exp), err)
		}
		exp, err = st.ExpiredMedia(bg(), t0.Add(100*time.Minute), 10)
		noErr(t, "expired", err)
		if len(exp) != 3 || exp[0] != fb || exp[1] != f2 || exp[2] != f1 {
			t.Fatalf("expired at +100m: %+v", exp)
		}
		if exp, _ = st.ExpiredMedia(bg(), t0.Add(time.Hour), 1); len(exp) != 1 || exp[0] != fb {
			t.Fatalf("expired, limit 1: %+v", exp)
		}

		noErr(t, "delete", st.DeleteMedia(bg(), a.ID, "png-02"))
		_, err = st.Media(bg(), a.ID, "png-02")
		wantErr(t, "deleted media", err, store.ErrMediaNotFound)
		wantErr(t, "delete again", st.DeleteMedia(bg(), a.ID, "png-02"), store.ErrMediaNotFound)
		wantErr(t, "delete another channel's", st.DeleteMedia(bg(), b.ID, "png-03"), store.ErrMediaNotFound)
		if _, err := st.Media(bg(), a.ID, "png-03"); err != nil {
			t.Fatalf("a's media went with b's delete: %v", err)
		}
		if err := st.InsertMedia(bg(), file("NOCHAN-00000", "png-09", 0, 0)); err == nil {
			t.Fatal("media of an unknown channel stored")
		}
	})
}

func TestUseCounter(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0], chs[1]
		use := func(channelID, kind, period string, limit, wantCount int, wantOK bool) {
			t.Helper()
			n, ok, err := st.UseCounter(bg(), channelID, kind, period, limit)
			noErr(t, "use", err)
			if n != wantCount || ok != wantOK {
				t.Fatalf("UseCounter(%s, %s, limit %d) = %d %v, want %d %v", kind, period, limit, n, ok, wantCount, wantOK)
			}
		}
		counter := func(channelID, kind, period string, want int) {
			t.Helper()
			n, err := st.Counter(bg(), channelID, kind, period)
			noErr(t, "counter", err)
			if n != want {
				t.Fatalf("Counter(%s, %s) = %d, want %d", kind, period, n, want)
			}
		}
		counter(a.ID, "messages", "2031-03-04", 0)
		use(a.ID, "messages", "2031-03-04", 3, 1, true)
		use(a.ID, "messages", "2031-03-04", 3, 2, true)
		use(a.ID, "messages", "2031-03-04", 3, 3, true)
		use(a.ID, "messages", "2031-03-04", 3, 3, false)
		use(a.ID, "messages", "2031-03-04", 3, 3, false)
		counter(a.ID, "messages", "2031-03-04", 3)
		// A raised limit lets it go on; a lowered one stops it.
		use(a.ID, "messages", "2031-03-04", 4, 4, true)
		use(a.ID, "messages", "2031-03-04", 2, 4, false)
		// Counters are per period, kind and channel.
		use(a.ID, "messages", "2031-03-05", 3, 1, true)
		use(a.ID, "checks", "2031-03-04", 3, 1, true)
		use(b.ID, "messages", "2031-03-04", 3, 1, true)
		counter(a.ID, "messages", "2031-03-04", 4)
		counter(b.ID, "messages", "2031-03-04", 1)
		counter(a.ID, "requests", "2031-03", 0)
		// A limit of 1 allows one.
		use(a.ID, "one", "p", 1, 1, true)
		use(a.ID, "one", "p", 1, 1, false)
		// A limit of 0 is no limit.
		for i := 1; i <= 5; i++ {
			use(a.ID, "free", "p", 0, i, true)
		}

		// Several uses at once: all or none.
		useN := func(n, limit, wantCount int, wantOK bool) {
			t.Helper()
			got, ok, err := st.UseCounterN(bg(), a.ID, "batch", "p", n, limit)
			noErr(t, "use n", err)
			if got != wantCount || ok != wantOK {
				t.Fatalf("UseCounterN(%d, limit %d) = %d %v, want %d %v", n, limit, got, ok, wantCount, wantOK)
			}
		}
		useN(6, 5, 0, false) // more than the limit on a fresh counter
		counter(a.ID, "batch", "p", 0)
		useN(3, 5, 3, true)
		useN(3, 5, 3, false)
		useN(2, 5, 5, true)
		useN(1, 5, 5, false)
		useN(10, 0, 15, true)
		useN(0, 5, 15, true) // nothing to count
	})
}

// TestUseCounterConcurrent: concurrent callers never pass the limit.
func TestUseCounterConcurrent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a := msgChannels(t, st, 1)[0]
		const callers, limit = 50, 20
		var ok atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				n, passed, err := st.UseCounter(bg(), a.ID, "messages", "2031-03-04", limit)
				if err != nil {
					t.Errorf("use: %v", err)
					return
				}
				if n > limit {
					t.Errorf("count %d over the limit", n)
				}
				if passed {
					ok.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		n, err := st.Counter(bg(), a.ID, "messages", "2031-03-04")
		noErr(t, "counter", err)
		if ok.Load() != limit || n != limit {
			t.Fatalf("%d callers passed, counter %d; want %d", ok.Load(), n, limit)
		}

		// Three at a time: six pass (18), the rest would pass 20.
		ok.Store(0)
		start = make(chan struct{})
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, passed, err := st.UseCounterN(bg(), a.ID, "checks", "2031-03-04", 3, limit)
				if err != nil {
					t.Errorf("use 3: %v", err)
				}
				if passed {
					ok.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n, _ := st.Counter(bg(), a.ID, "checks", "2031-03-04"); ok.Load() != 6 || n != 18 {
			t.Fatalf("by threes: %d callers passed, counter %d; want 6 and 18", ok.Load(), n)
		}
	})
}

func TestUseChat(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0], chs[1]
		use := func(channelID, period, chat string, limit int, want bool) {
			t.Helper()
			ok, err := st.UseChat(bg(), channelID, period, chat, limit)
			noErr(t, "use chat", err)
			if ok != want {
				t.Fatalf("UseChat(%s, %s, limit %d) = %v, want %v", period, chat, limit, ok, want)
			}
		}
		used := func(channelID, period string, want ...string) {
			t.Helper()
			got, err := st.UsedChats(bg(), channelID, period)
			noErr(t, "used chats", err)
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("UsedChats(%s) = %#v, want %#v", period, got, want)
			}
		}
		used(a.ID, "2031-03")
		use(a.ID, "2031-03", msgBob, 2, true)
		use(a.ID, "2031-03", msgAlice, 2, true)
		use(a.ID, "2031-03", msgGroup, 2, false)
		use(a.ID, "2031-03", msgAlice, 2, true) // known: always ok
		use(a.ID, "2031-03", msgBob, 1, true)   // even under a lowered limit
		use(a.ID, "2031-03", msgGroup, 3, true) // a raised limit lets one more in
		used(a.ID, "2031-03", msgGroup, msgAlice, msgBob)
		// Per period and channel.
		use(a.ID, "2031-04", msgGroup, 1, true)
		use(a.ID, "2031-04", msgAlice, 1, false)
		used(a.ID, "2031-04", msgGroup)
		used(b.ID, "2031-03")
		use(b.ID, "2031-03", msgAlice, 1, true)
		used(b.ID, "2031-03", msgAlice)
		// A limit of 0 lets no new chat in.
		use(b.ID, "2031-05", msgAlice, 0, false)
		used(b.ID, "2031-05")
	})
}

// TestUseChatConcurrent: concurrent callers with distinct chats never pass
// the limit, and callers of the same chat all pass and record it once.
func TestUseChatConcurrent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a := msgChannels(t, st, 1)[0]
		const callers, limit = 50, 20
		run := func(period string, chat func(i int) string) int {
			var ok atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					passed, err := st.UseChat(bg(), a.ID, period, chat(i), limit)
					if err != nil {
						t.Errorf("use chat: %v", err)
						return
					}
					if passed {
						ok.Add(1)
					}
				}()
			}
			close(start)
			wg.Wait()
			return int(ok.Load())
		}
		for round := range 3 {
			period := fmt.Sprintf("2030-%02d", round+1)
			if n := run(period, func(i int) string { return fmt.Sprintf("155500%05d@s.whatsapp.net", i) }); n != limit {
				t.Errorf("distinct chats, round %d: %d passed, want %d", round, n, limit)
			}
			if got, _ := st.UsedChats(bg(), a.ID, period); len(got) != limit {
				t.Errorf("distinct chats, round %d: %d recorded, want %d", round, len(got), limit)
			}
		}
		if n := run("2031-04", func(int) string { return msgAlice }); n != callers {
			t.Errorf("same chat: %d passed, want all %d", n, callers)
		}
		if got, _ := st.UsedChats(bg(), a.ID, "2031-04"); !reflect.DeepEqual(got, []string{msgAlice}) {
			t.Errorf("same chat recorded as %v", got)
		}
	})
}

// TestDeleteChannelRemovesItsData: a channel's messages, chats, media and
// usage go with it (ON DELETE CASCADE); another channel's stay.
func TestDeleteChannelRemovesItsData(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0], chs[1]
		for _, ch := range chs {
			msgInsert(t, st, msgIn(ch.ID, "M1", msgAlice, 1))
			msgInsert(t, st, msgOut(ch.ID, "M2", msgGroup, 2))
			noErr(t, "ensure chat", st.EnsureChat(bg(), ch.ID, msgBob, "Bob"))
			noErr(t, "media", st.InsertMedia(bg(), model.MediaFile{ChannelID: ch.ID, ID: "png-01", MimeType: "image/png", Size: 1,
				SHA256: "00", CreatedAt: t0, ExpiresAt: t0}))
			_, _, err := st.UseCounter(bg(), ch.ID, "messages", "2031-03-04", 10)
			noErr(t, "counter", err)
			_, err = st.UseChat(bg(), ch.ID, "2031-03", msgAlice, 10)
			noErr(t, "use chat", err)
		}
		tables := []string{"messages", "chats", "media", "usage_counters", "usage_chats"}
		for _, table := range tables {
			if n := msgCount(t, st, table, a.ID); n == 0 {
				t.Fatalf("%s: nothing stored for a", table)
			}
		}
		_, _, err := st.MutateChannel(bg(), a.PartnerID, a.ID, t0, func(model.Channel) (store.ChannelChange, error) {
			return store.ChannelChange{Delete: true}, nil
		})
		noErr(t, "delete channel", err)
		for _, table := range tables {
			if n := msgCount(t, st, table, a.ID); n != 0 {
				t.Errorf("%s: %d rows of the deleted channel left", table, n)
			}
			if n := msgCount(t, st, table, b.ID); n == 0 {
				t.Errorf("%s: the other channel's rows went too", table)
			}
		}
		if exp, _ := st.ExpiredMedia(bg(), t0, 10); len(exp) != 1 || exp[0].ChannelID != b.ID {
			t.Errorf("expired media after the deletion: %+v", exp)
		}
		if n, _ := st.Counter(bg(), a.ID, "messages", "2031-03-04"); n != 0 {
			t.Errorf("deleted channel's counter = %d", n)
		}
		if _, err := st.InsertMessage(bg(), msgIn(a.ID, "M3", msgAlice, 3)); err == nil {
			t.Error("message stored for a deleted channel")
		}
	})
}

// TestMessagesConcurrentSameMillisecond: messages stored at once in the same
// millisecond page in one total order: every page walk sees each message
// once, and newest-first is oldest-first reversed.
func TestMessagesConcurrentSameMillisecond(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a := msgChannels(t, st, 1)[0]
		const n = 40
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := st.InsertMessage(bg(), msgIn(a.ID, fmt.Sprintf("C%02d", i), msgAlice, 0)); err != nil {
					t.Errorf("insert: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		walk := func(asc bool) []string {
			var out []string
			for off := 0; off < n; off += 7 {
				page, total, err := st.Messages(bg(), a.ID, store.MessageQuery{Count: 7, Offset: off, Ascending: asc})
				noErr(t, "page", err)
				if total != n {
					t.Fatalf("total %d, want %d", total, n)
				}
				out = append(out, msgIDs(page)...)
			}
			return out
		}
		asc, desc := walk(true), walk(false)
		seen := map[string]bool{}
		for _, id := range asc {
			seen[id] = true
		}
		if len(asc) != n || len(seen) != n {
			t.Fatalf("paging saw %d messages, %d distinct; want %d", len(asc), len(seen), n)
		}
		for i := range asc {
			if asc[i] != desc[n-1-i] {
				t.Fatalf("newest first is not oldest first reversed:\n asc  %v\n desc %v", asc, desc)
			}
		}
		if c := msgChat(t, st, a.ID, msgAlice); c.Unread != n {
			t.Fatalf("unread %d after %d concurrent incoming messages", c.Unread, n)
		}
	})
}

// A chat started by the channel takes the contact's push name from the
// first message the contact sends; a name it has is kept.
func TestChatTakesNameFromFirstIncoming(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ch := msgChannels(t, st, 1)[0]
		msgInsert(t, st, msgOut(ch.ID, "OUT00001", msgAlice, 1))
		if c := msgChat(t, st, ch.ID, msgAlice); c.Name != "" {
			t.Fatalf("chat started by the channel named %q", c.Name)
		}
		msgInsert(t, st, msgIn(ch.ID, "IN000001", msgAlice, 2))
		if c := msgChat(t, st, ch.ID, msgAlice); c.Name != "Alice" {
			t.Fatalf("chat name = %q, want Alice", c.Name)
		}
		later := msgIn(ch.ID, "IN000002", msgAlice, 3)
		later.FromName = "Alice B."
		msgInsert(t, st, later)
		if c := msgChat(t, st, ch.ID, msgAlice); c.Name != "Alice" {
			t.Fatalf("chat renamed to %q by a later push name", c.Name)
		}
	})
}

// SetMessageStatuses makes a group of changes, in order, each as
// SetMessageStatus would, with its hooks and its recipient's view.
func TestSetMessageStatuses(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		chs := msgChannels(t, st, 2)
		a, b := chs[0], chs[1]
		msgInsert(t, st, msgOut(a.ID, "O1", msgAlice, 1))
		msgInsert(t, st, msgOut(a.ID, "O2", msgAlice, 1))
		msgInsert(t, st, msgOut(b.ID, "O1", msgAlice, 1))
		var hooked []string
		hook := func(changed []model.Message) []model.WebhookDelivery {
			for _, m := range changed {
				hooked = append(hooked, m.ChannelID+"/"+m.ID+"/"+m.Status)
				if m.Body != "hi "+m.ID || m.ChatID != msgAlice || !m.FromMe {
					t.Errorf("hook got %+v, want the whole stored message", m)
				}
			}
			return nil
		}
		hooks := []func([]model.Message) []model.WebhookDelivery{hook}
		at := t0.Add(time.Hour)
		view := &store.StatusView{Chat: msgAlice, Viewer: msgAlice, Time: at}
		changed, errs := st.SetMessageStatuses(bg(), []store.StatusChange{
			{ChannelID: a.ID, IDs: []string{"O1", "O2"}, Status: model.MessageDelivered, View: view, Hooks: hooks},
			{ChannelID: b.ID, IDs: []string{"O1", "NOPE"}, Status: model.MessageRead, View: view, Hooks: hooks},
			// In order: read after delivered moves O1 on; delivered after
			// read does not move it back.
			{ChannelID: a.ID, IDs: []string{"O1"}, Status: model.MessageRead, Hooks: hooks},
			{ChannelID: a.ID, IDs: []string{"O1"}, Status: model.MessageDelivered, Hooks: hooks},
		})
		for i, err := range errs {
			noErr(t, fmt.Sprint("change ", i), err)
		}
		for i, want := range []int{2, 1, 1, 0} {
			if len(changed[i]) != want {
				t.Fatalf("change %d changed %d messages, want %d", i, len(changed[i]), want)
			}
		}
		want := []string{a.ID + "/O1/delivered", a.ID + "/O2/delivered", b.ID + "/O1/read", a.ID + "/O1/read"}
		if !reflect.DeepEqual(hooked, want) {
			t.Fatalf("hooks saw %v, want %v", hooked, want)
		}
		for _, c := range []struct{ ch, id, want string }{{a.ID, "O1", model.MessageRead}, {a.ID, "O2", model.MessageDelivered}, {b.ID, "O1", model.MessageRead}} {
			m, err := st.Message(bg(), c.ch, c.id)
			noErr(t, "read", err)
			if m.Status != c.want {
				t.Fatalf("%s/%s: %s, want %s", c.ch, c.id, m.Status, c.want)
			}
		}
		// The views went with their changes, also for a message not (yet)
		// stored; a change alone in its group records its view too.
		for _, c := range []struct{ ch, id, want string }{{a.ID, "O1", model.MessageDelivered}, {a.ID, "O2", model.MessageDelivered}, {b.ID, "O1", model.MessageRead}, {b.ID, "NOPE", model.MessageRead}} {
			if v, err := st.MessageViews(bg(), c.ch, c.id); err != nil || len(v) != 1 || v[0].Status != c.want || v[0].Viewer != msgAlice || !v[0].Time.Equal(at) {
				t.Fatalf("views of %s/%s: %+v, %v; want one %s", c.ch, c.id, v, err, c.want)
			}
		}
		changed, errs = st.SetMessageStatuses(bg(), []store.StatusChange{{ChannelID: a.ID, IDs: []string{"O2"}, Status: model.MessageRead,
			View: &store.StatusView{Chat: msgAlice, Viewer: msgBob, Time: at}}})
		noErr(t, "alone", errs[0])
		if v, _ := st.MessageViews(bg(), a.ID, "O2"); len(changed[0]) != 1 || len(v) != 2 || v[1].Viewer != msgBob || v[1].Status != model.MessageRead {
			t.Fatalf("change alone: changed %v, views %+v", changed[0], v)
		}
	})
}
