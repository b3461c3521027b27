package service

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// A large history chunk imports its chats and messages once (a second
// import of the same chunk adds nothing and leaves unread counts alone),
// keeps mappings and names, and takes the phone's unread, archive and pin
// for new chats. It logs how long 200 chats of 50 messages take.
func TestImportHistoryLargeChunk(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { importLargeChunk(t, storetest.Open(t, b)) })
	}
}

func importLargeChunk(t *testing.T, st *store.Store) {
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := model.Partner{ID: ids.PartnerID(), Name: "hist", Email: "hist@example.com", TokenHash: ids.Hash(ids.PartnerToken()), TrialDays: -1, CreatedAt: at}
	if err := st.CreatePartner(ctx, p, 10, "test"); err != nil {
		t.Fatal(err)
	}
	tok := ids.ChannelToken()
	ch := model.Channel{ID: ids.ChannelID(), PartnerID: p.ID, ProjectID: model.DefaultProjectID, Name: "ch", Phone: "4912345678",
		Token: tok, Mode: model.ModeTrial, CreatedAt: at, TrialUntil: at.AddDate(0, 0, 5), ActiveTill: at.AddDate(0, 0, 5)}
	if err := st.CreateChannel(ctx, ch, ids.Hash(tok), store.CreateLimit{}, at); err != nil {
		t.Fatal(err)
	}
	s := New(st, slog.New(slog.DiscardHandler), Options{Now: func() time.Time { return at }})
	const chats, per = 200, 50
	var h engine.History
	for c := range chats {
		pn := fmt.Sprintf("1555%07d@s.whatsapp.net", c)
		hc := engine.HistoryChat{ID: pn, Name: fmt.Sprintf("Chat %d", c), Unread: 2, Archived: c == 0, Pinned: c == 1, LastTime: at}
		for k := range per {
			hc.Messages = append(hc.Messages, engine.Message{ID: fmt.Sprintf("H%03d-%02d", c, k), Chat: pn, Sender: pn, FromMe: k%3 == 0,
				Text: "past", Time: at.Add(time.Duration(k-per) * time.Minute), Content: engine.Content{Kind: engine.KindText, Text: "past"}})
		}
		h.Chats = append(h.Chats, hc)
		h.Mappings = append(h.Mappings, engine.LIDPair{LID: fmt.Sprintf("9%014d@lid", c), PN: pn})
		h.PushNames = append(h.PushNames, engine.PushName{User: pn, Name: fmt.Sprintf("Name %d", c)})
	}
	start := time.Now()
	if err := s.importHistory(ctx, ch, h); err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d chats of %d messages in %s", chats, per, time.Since(start).Round(time.Millisecond))
	check := func() {
		t.Helper()
		list, total, err := st.Chats(ctx, ch.ID, 1000, 0)
		if err != nil || total != chats {
			t.Fatalf("chats: %d, %v", total, err)
		}
		for _, c := range list {
			if c.Unread != 2 || c.LID == "" || c.Name == "" {
				t.Fatalf("chat = %+v", c)
			}
		}
		if _, n, err := st.Messages(ctx, ch.ID, store.MessageQuery{Count: 1}); err != nil || n != chats*per {
			t.Fatalf("messages: %d, %v", n, err)
		}
		c0, _ := st.Chat(ctx, ch.ID, "15550000000@s.whatsapp.net")
		c1, _ := st.Chat(ctx, ch.ID, "15550000001@s.whatsapp.net")
		if !c0.Archived || !c1.Pinned || c0.Pinned {
			t.Fatalf("flags: %+v %+v", c0, c1)
		}
		ct, err := st.Contact(ctx, ch.ID, "15550000007@s.whatsapp.net")
		if err != nil || ct.PushName != "Name 7" || ct.LID != "900000000000007@lid" {
			t.Fatalf("contact = %+v %v", ct, err)
		}
	}
	check()
	if err := s.importHistory(ctx, ch, h); err != nil { // the same chunk again
		t.Fatal(err)
	}
	check()
}
