package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestAuditInTheChangesTransaction: an entry pending in the context is
// written with the change's first write, once; a change that changes
// nothing or fails writes none; and an entry that cannot be written fails
// the change, which is rolled back.
func TestAuditInTheChangesTransaction(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "audited", 0, t0)
		actor := audit.Actor{Kind: audit.ActorOperator, ID: "admin-token", IP: "203.0.113.7"}
		ctx, pend := audit.Record(audit.WithActor(bg(), actor), audit.Entry{At: t0, PartnerID: p.ID, Action: "partner.update"})
		audit.Describe(ctx, map[string]any{"trialDays": -1}, map[string]any{"trialDays": 3})
		noErr(t, "set trial days", st.SetPartnerTrialDays(ctx, p.ID, 3))
		if !pend.Written() {
			t.Fatal("the pending entry was not written with the change")
		}
		noErr(t, "second write", st.SetPartnerTrialDays(ctx, p.ID, 4)) // same context: no second entry
		got, more, err := st.AuditLog(bg(), store.AuditQuery{})
		noErr(t, "audit log", err)
		if len(got) != 1 || more {
			t.Fatalf("%d entries (more %v), want 1: %+v", len(got), more, got)
		}
		e := got[0]
		if e.Actor != actor || e.PartnerID != p.ID || e.Action != "partner.update" || !e.At.Equal(t0) || e.ID == 0 {
			t.Errorf("entry = %+v", e)
		}
		var before, after map[string]int
		_ = json.Unmarshal(e.Before, &before)
		_ = json.Unmarshal(e.After, &after)
		if before["trialDays"] != -1 || after["trialDays"] != 3 {
			t.Errorf("before %s after %s", e.Before, e.After)
		}

		// A change of nothing (an unknown partner) writes no entry.
		ctx2, pend2 := audit.Record(bg(), audit.Entry{At: t0, PartnerID: "nobody", Action: "partner.update"})
		wantErr(t, "unknown partner", st.SetPartnerTrialDays(ctx2, "nobody", 1), model.ErrPartnerNotFound)
		if pend2.Written() {
			t.Error("an entry was written for a change of nothing")
		}

		// The log cannot be written: the change fails and is rolled back.
		rename := func(from, to string) {
			t.Helper()
			if _, err := st.DB().ExecContext(bg(), "ALTER TABLE "+from+" RENAME TO "+to); err != nil {
				t.Fatal(err)
			}
		}
		rename("audit_log", "audit_log_away")
		ctx3, pend3 := audit.Record(bg(), audit.Entry{At: t0, PartnerID: p.ID, Action: "partner.update"})
		if err := st.SetPartnerTrialDays(ctx3, p.ID, 9); err == nil {
			t.Error("the change succeeded without its audit entry")
		}
		ctx4, _ := audit.Record(bg(), audit.Entry{At: t0, PartnerID: p.ID, Action: "partner.days"})
		if _, err := st.AdjustBalance(ctx4, p.ID, 5, model.ReasonCredit, "x", "test", t0); err == nil {
			t.Error("a balance change succeeded without its audit entry")
		}
		rename("audit_log_away", "audit_log")
		if pend3.Written() {
			t.Error("entry marked written")
		}
		cur, err := st.Partner(bg(), p.ID)
		noErr(t, "partner", err)
		if cur.TrialDays != 4 || cur.Balance != 0 {
			t.Errorf("trial days %d, balance %d after failed changes; want 4, 0", cur.TrialDays, cur.Balance)
		}

		// The system's expiry is audited in its own transaction.
		ch := newChannel(t, st, p.ID, model.DefaultProjectID, t0, 1)
		expired, err := st.MarkExpired(bg(), t0.Add(48*time.Hour), 10)
		noErr(t, "expire", err)
		if len(expired) != 1 {
			t.Fatalf("expired %d channels", len(expired))
		}
		got, _, err = st.AuditLog(bg(), store.AuditQuery{Action: "channel.expire"})
		noErr(t, "audit log", err)
		if len(got) != 1 || got[0].ChannelID != ch.ID || got[0].Actor.Kind != audit.ActorSystem || got[0].PartnerID != p.ID {
			t.Fatalf("expiry entries %+v", got)
		}
	})
}

// TestAuditLogFilters: every filter, and paging back with Before.
func TestAuditLogFilters(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		add := func(min int, kind, id, partner, channel, action string) {
			t.Helper()
			noErr(t, "append", st.AppendAudit(bg(), audit.Entry{At: t0.Add(time.Duration(min) * time.Minute),
				Actor: audit.Actor{Kind: kind, ID: id, IP: "198.51.100.1"}, PartnerID: partner, ChannelID: channel, Action: action}))
		}
		add(0, audit.ActorOperator, "cli", "P1", "", "partner.create")
		add(1, audit.ActorOperator, "admin-token", "P1", "", "partner.days")
		add(2, audit.ActorPartner, "P1", "P1", "C1", "channel.create")
		add(3, audit.ActorPartner, "P1", "P1", "C1", "channel.stop")
		add(4, audit.ActorChannel, "C1", "P1", "C1", "channel.settings_update")
		add(5, audit.ActorPartner, "P2", "P2", "C2", "channel.create")
		add(6, audit.ActorSystem, "", "P2", "C2", "channel.expire")
		actions := func(q store.AuditQuery) []string {
			t.Helper()
			es, _, err := st.AuditLog(bg(), q)
			noErr(t, "audit log", err)
			out := []string{}
			for _, e := range es {
				out = append(out, e.Action)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			q    store.AuditQuery
			want []string
		}{
			{"all, newest first", store.AuditQuery{}, []string{"channel.expire", "channel.create", "channel.settings_update", "channel.stop", "channel.create", "partner.days", "partner.create"}},
			{"actor kind", store.AuditQuery{ActorKind: audit.ActorOperator}, []string{"partner.days", "partner.create"}},
			{"actor id", store.AuditQuery{ActorID: "P1"}, []string{"channel.stop", "channel.create"}},
			{"partner", store.AuditQuery{PartnerID: "P2"}, []string{"channel.expire", "channel.create"}},
			{"channel", store.AuditQuery{ChannelID: "C1"}, []string{"channel.settings_update", "channel.stop", "channel.create"}},
			{"action", store.AuditQuery{Action: "channel.create"}, []string{"channel.create", "channel.create"}},
			{"action prefix", store.AuditQuery{Action: "partner."}, []string{"partner.days", "partner.create"}},
			{"action star", store.AuditQuery{Action: "channel.s*"}, []string{"channel.settings_update", "channel.stop"}},
			{"time range", store.AuditQuery{From: t0.Add(2 * time.Minute), To: t0.Add(4 * time.Minute)}, []string{"channel.stop", "channel.create"}},
			{"combined", store.AuditQuery{PartnerID: "P1", ActorKind: audit.ActorPartner, Action: "channel."}, []string{"channel.stop", "channel.create"}},
			{"no match", store.AuditQuery{PartnerID: "P3"}, []string{}},
		} {
			if got := actions(tc.q); !equal(got, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
		// Pages of 3, back to the first entry.
		var seen []string
		var before int64
		for pages := 0; ; pages++ {
			es, more, err := st.AuditLog(bg(), store.AuditQuery{Limit: 3, Before: before})
			noErr(t, "page", err)
			for _, e := range es {
				seen = append(seen, e.Action)
			}
			if !more {
				if pages != 2 {
					t.Errorf("%d pages, want 3", pages+1)
				}
				break
			}
			before = es[len(es)-1].ID
		}
		if len(seen) != 7 || seen[6] != "partner.create" {
			t.Errorf("paged through %v", seen)
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
