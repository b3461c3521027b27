package store_test

import (
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

func TestDashboardSessions(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "dash", 0, t0)
		ps := store.DashboardSession{TokenHash: "h-partner", Kind: store.SessionPartner, PartnerID: p.ID, CSRF: "c1",
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		op := store.DashboardSession{TokenHash: "h-operator", Kind: store.SessionOperator, CSRF: "c2",
			CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Hour)}
		noErr(t, "create partner session", st.CreateDashboardSession(bg(), ps))
		noErr(t, "create operator session", st.CreateDashboardSession(bg(), op))
		wantErr(t, "duplicate", st.CreateDashboardSession(bg(), ps), model.ErrConflict)
		wantErr(t, "bad kind", st.CreateDashboardSession(bg(), store.DashboardSession{TokenHash: "x", Kind: "root"}), model.ErrInvalid)

		got, err := st.DashboardSession(bg(), "h-partner", t0.Add(59*time.Minute))
		noErr(t, "read", err)
		if got != ps {
			t.Fatalf("session = %+v, want %+v", got, ps)
		}
		// Expiry is exclusive: at expires_at the session is gone.
		_, err = st.DashboardSession(bg(), "h-partner", t0.Add(time.Hour))
		wantErr(t, "expired", err, model.ErrNotFound)
		_, err = st.DashboardSession(bg(), "unknown", t0)
		wantErr(t, "unknown", err, model.ErrNotFound)

		// Purge removes only what expired.
		n, err := st.PurgeDashboard(bg(), t0.Add(90*time.Minute), t0)
		noErr(t, "purge", err)
		if n != 1 {
			t.Fatalf("purged %d rows, want 1", n)
		}
		if _, err := st.DashboardSession(bg(), "h-operator", t0.Add(90*time.Minute)); err != nil {
			t.Fatalf("operator session purged too early: %v", err)
		}
		noErr(t, "delete", st.DeleteDashboardSession(bg(), "h-operator"))
		noErr(t, "delete again", st.DeleteDashboardSession(bg(), "h-operator"))
		_, err = st.DashboardSession(bg(), "h-operator", t0)
		wantErr(t, "deleted", err, model.ErrNotFound)

		// A partner's sessions end together; the operator's are untouched.
		for _, h := range []string{"a", "b"} {
			noErr(t, "create", st.CreateDashboardSession(bg(), store.DashboardSession{TokenHash: h, Kind: store.SessionPartner,
				PartnerID: p.ID, CSRF: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		}
		noErr(t, "create op", st.CreateDashboardSession(bg(), op))
		n, err = st.DeletePartnerSessions(bg(), p.ID)
		noErr(t, "delete partner sessions", err)
		if n != 2 {
			t.Fatalf("deleted %d partner sessions, want 2", n)
		}
		if _, err := st.DashboardSession(bg(), "h-operator", t0); err != nil {
			t.Fatalf("operator session deleted with the partner's: %v", err)
		}
	})
}

func TestDashboardLoginFailures(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		n, oldest, err := st.LoginFailures(bg(), "ip:1.2.3.4", t0)
		noErr(t, "count empty", err)
		if n != 0 || !oldest.IsZero() {
			t.Fatalf("empty = %d, %v", n, oldest)
		}
		for i := range 3 {
			noErr(t, "record", st.RecordLoginFailure(bg(), t0.Add(time.Duration(i)*time.Minute), "ip:1.2.3.4", "account:a@b.test"))
		}
		noErr(t, "record other", st.RecordLoginFailure(bg(), t0, "ip:5.6.7.8"))
		n, oldest, err = st.LoginFailures(bg(), "ip:1.2.3.4", t0)
		noErr(t, "count", err)
		if n != 2 || !oldest.Equal(t0.Add(time.Minute)) {
			t.Fatalf("failures after t0 = %d, oldest %v; want 2, %v", n, oldest, t0.Add(time.Minute))
		}
		noErr(t, "clear", st.ClearLoginFailures(bg(), "account:a@b.test"))
		if n, _, _ := st.LoginFailures(bg(), "account:a@b.test", t0.Add(-time.Second)); n != 0 {
			t.Fatalf("cleared key still has %d failures", n)
		}
		if n, _, _ := st.LoginFailures(bg(), "ip:1.2.3.4", t0.Add(-time.Second)); n != 3 {
			t.Fatalf("clearing one key touched another: %d", n)
		}
		purged, err := st.PurgeDashboard(bg(), t0, t0.Add(90*time.Second))
		noErr(t, "purge", err)
		if purged != 3 { // two of ip:1.2.3.4 and the one of ip:5.6.7.8
			t.Fatalf("purged %d failures, want 3", purged)
		}
		if n, _, _ := st.LoginFailures(bg(), "ip:1.2.3.4", t0.Add(-time.Second)); n != 1 {
			t.Fatalf("after purge %d failures, want 1", n)
		}
	})
}
