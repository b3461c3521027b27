package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// Retention: the operator's settings and a channel's own (over them) say
// how long messages, media files and finished webhook deliveries are kept;
// PruneRetention deletes what is older, in batches, and nothing else.
func TestRetention(t *testing.T) {
	v := openapitest.New(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, v, b)
			ctx := context.Background()
			st := e.srv.Service().Store()
			pid, ptok := e.partner("keeper", 100)
			a := e.channel(ptok, "a")
			bb := e.channel(ptok, "b")
			aID, aTok := a["id"].(string), a["token"].(string)
			bID, bTok := bb["id"].(string), bb["token"].(string)

			// Defaults: nothing limited.
			s := e.ok(200, "GET", "/admin/settings", adminToken, nil)
			for _, f := range []string{"retain_messages_days", "retain_media_days", "retain_webhook_records_days"} {
				if num(s[f]) != 0 {
					t.Fatalf("operator %s = %v, want 0", f, s[f])
				}
			}
			// Bad input changes nothing.
			e.fail(400, "retain_messages_days", "PATCH", "/admin/settings", adminToken, map[string]any{"retain_messages_days": -1})
			e.fail(400, "retain_media_days", "PATCH", "/settings", aTok, map[string]any{"retain_media_days": 3651})
			e.fail(400, "retain_webhook_records_days", "PATCH", "/settings", aTok, map[string]any{"sent_status": true, "retain_webhook_records_days": -5})
			if got := e.ok(200, "GET", "/settings", aTok, nil); got["sent_status"] != false || num(got["retain_webhook_records_days"]) != 0 {
				t.Fatalf("settings changed by a refused patch: %v", got)
			}

			// The operator keeps 2 days of everything; channel b keeps its
			// messages 10 days.
			s = e.ok(200, "PATCH", "/admin/settings", adminToken, map[string]any{
				"retain_messages_days": 2, "retain_media_days": 2, "retain_webhook_records_days": 2})
			if num(s["retain_messages_days"]) != 2 || num(s["retain_webhook_records_days"]) != 2 {
				t.Fatalf("operator settings: %v", s)
			}
			got := e.ok(200, "PATCH", "/settings", bTok, map[string]any{"retain_messages_days": 10})["after_update"].(map[string]any)
			if num(got["retain_messages_days"]) != 10 || num(got["retain_media_days"]) != 0 {
				t.Fatalf("channel settings: %v", got)
			}

			now := e.clock.Now()
			ages := map[string]time.Duration{"m1": 30 * 24 * time.Hour, "m2": 5 * 24 * time.Hour, "m3": 36 * time.Hour, "m4": time.Hour}
			for _, ch := range []string{aID, bID} {
				for id, age := range ages {
					m := model.Message{ChannelID: ch, ID: id, ChatID: "15550001111@s.whatsapp.net", Type: "text", Status: model.MessagePending, Source: "mobile",
						Body: id, Time: now.Add(-age)}
					if _, err := st.InsertMessage(ctx, m); err != nil {
						t.Fatal(err)
					}
				}
				for i, age := range []time.Duration{3 * 24 * time.Hour, time.Hour} {
					f := model.MediaFile{ChannelID: ch, ID: fmt.Sprintf("media%d", i), MimeType: "text/plain", Size: 1, SHA256: "00",
						CreatedAt: now.Add(-age), ExpiresAt: now.Add(24 * time.Hour)}
					if err := st.InsertMedia(ctx, f); err != nil {
						t.Fatal(err)
					}
				}
				for i, age := range []time.Duration{3 * 24 * time.Hour, time.Hour, 3 * 24 * time.Hour} {
					d := model.WebhookDelivery{ID: fmt.Sprintf("whd_%s_%d", ch, i), PartnerID: pid, ChannelID: ch, Type: "messages", Method: "post",
						ChatKey: fmt.Sprint(i), Target: model.WebhookTarget{URL: "https://hooks.example.test/h"}, Payload: []byte(`{}`), CreatedAt: now.Add(-age)}
					if err := st.Enqueue(ctx, d); err != nil {
						t.Fatal(err)
					}
					if i == 2 { // still pending: kept whatever its age
						continue
					}
					if _, err := st.DB().ExecContext(ctx, rebindTest(st, `UPDATE webhook_deliveries SET status = 'delivered', finished_at = ? WHERE id = ?`),
						now.Add(-age).UnixMilli(), d.ID); err != nil {
						t.Fatal(err)
					}
				}
			}

			// One batch deletes at most its limit, of its channel only.
			if n, err := st.PruneMessages(ctx, aID, now.Add(-2*24*time.Hour), 1); err != nil || n != 1 {
				t.Fatalf("PruneMessages with limit 1: %d, %v", n, err)
			}
			if _, err := st.Message(ctx, aID, "m1"); !errors.Is(err, model.ErrNotFound) {
				t.Fatalf("the oldest message goes first: %v", err)
			}
			if _, err := st.Message(ctx, bID, "m1"); err != nil {
				t.Fatalf("another channel's message went: %v", err)
			}

			n, err := e.srv.Service().PruneRetention(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// a: m2 (5 days) goes; b keeps 10 days: m1 (30 days) goes.
			if n.Messages != 2 || n.Media != 2 || n.WebhookRecords != 2 {
				t.Fatalf("pruned %+v, want 2 messages, 2 media files, 2 webhook records", n)
			}
			kept := map[string][]string{aID: {"m3", "m4"}, bID: {"m2", "m3", "m4"}}
			gone := map[string][]string{aID: {"m1", "m2"}, bID: {"m1"}}
			for ch, ids := range kept {
				for _, id := range ids {
					if _, err := st.Message(ctx, ch, id); err != nil {
						t.Errorf("%s %s: %v", ch, id, err)
					}
				}
				for _, id := range gone[ch] {
					if _, err := st.Message(ctx, ch, id); !errors.Is(err, model.ErrNotFound) {
						t.Errorf("%s %s kept: %v", ch, id, err)
					}
				}
				if _, err := st.Media(ctx, ch, "media0"); !errors.Is(err, store.ErrMediaNotFound) {
					t.Errorf("%s: old media kept: %v", ch, err)
				}
				if _, err := st.Media(ctx, ch, "media1"); err != nil {
					t.Errorf("%s: new media: %v", ch, err)
				}
				var left int
				if err := st.DB().QueryRowContext(ctx, rebindTest(st, "SELECT COUNT(*) FROM webhook_deliveries WHERE channel_id = ?"), ch).Scan(&left); err != nil || left != 2 {
					t.Errorf("%s: %d webhook deliveries left (%v), want the recent and the pending one", ch, left, err)
				}
			}
			// The list shows what is kept.
			list := e.ok(200, "GET", "/messages/list", aTok, nil)
			if num(list["total"]) != 2 {
				t.Errorf("a's messages after pruning: %v", list["total"])
			}
			// A second pass finds nothing.
			if n, err := e.srv.Service().PruneRetention(ctx); err != nil || n != (service.RetentionPruned{}) {
				t.Errorf("second pass: %+v, %v", n, err)
			}
		})
	}
}

// rebindTest turns ? placeholders into PostgreSQL's $n when st is on it.
func rebindTest(st *store.Store, q string) string {
	if st.Dialect() != store.Postgres {
		return q
	}
	out, n := []byte{}, 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = append(out, fmt.Sprintf("$%d", n)...)
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}
