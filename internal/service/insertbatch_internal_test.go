package service

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// Messages inserted at once through the batcher are all stored, each caller
// learns its own outcome, and each writer's messages keep their order.
func TestInsertBatcher(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := model.Partner{ID: ids.PartnerID(), Name: "batch", Email: "batch@example.com", TokenHash: ids.Hash(ids.PartnerToken()), TrialDays: -1, CreatedAt: at}
	if err := st.CreatePartner(ctx, p, 10, "test"); err != nil {
		t.Fatal(err)
	}
	var chs []model.Channel
	for range 4 {
		tok := ids.ChannelToken()
		ch := model.Channel{ID: ids.ChannelID(), PartnerID: p.ID, ProjectID: model.DefaultProjectID, Name: "ch", Phone: "4912345678",
			Token: tok, Mode: model.ModeTrial, CreatedAt: at, TrialUntil: at.AddDate(0, 0, 5), ActiveTill: at.AddDate(0, 0, 5)}
		if err := st.CreateChannel(ctx, ch, ids.Hash(tok), store.CreateLimit{}, at); err != nil {
			t.Fatal(err)
		}
		chs = append(chs, ch)
	}
	var b insertBatcher
	const writers, each = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		ch := chs[w%len(chs)]
		wg.Go(func() {
			for k := range each {
				m := model.Message{ChannelID: ch.ID, ID: fmt.Sprintf("W%02d-%02d", w, k), ChatID: fmt.Sprintf("1555000%04d@s.whatsapp.net", w),
					Sender: "x", Type: "text", Status: model.MessageDelivered, Time: at}
				inserted, err := b.insert(ctx, st, store.NewMessage{Message: m})
				if err == nil && !inserted {
					err = fmt.Errorf("%s not inserted", m.ID)
				}
				if err == nil && k == 0 { // again: a duplicate
					if again, err2 := b.insert(ctx, st, store.NewMessage{Message: m}); err2 != nil || again {
						err = fmt.Errorf("%s again: inserted %v, %v", m.ID, again, err2)
					}
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if b.writing || len(b.queue) != 0 {
		t.Fatalf("batcher left writing=%v with %d queued", b.writing, len(b.queue))
	}
	for i, ch := range chs {
		ms, total, err := st.Messages(ctx, ch.ID, store.MessageQuery{Count: 1000, Ascending: true})
		if err != nil {
			t.Fatal(err)
		}
		if want := writers / len(chs) * each; total != want {
			t.Fatalf("channel %d: %d messages, want %d", i, total, want)
		}
		last := map[string]string{}
		for _, m := range ms { // same ts: seq order
			if prev, ok := last[m.ChatID]; ok && prev >= m.ID {
				t.Fatalf("channel %d: %s stored after %s", i, m.ID, prev)
			}
			last[m.ChatID] = m.ID
		}
	}
}
