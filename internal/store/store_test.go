package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// t0 is the tests' reference time, a whole millisecond in UTC (what the store
// keeps).
var t0 = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)

const day = 24 * time.Hour

func bg() context.Context { return context.Background() }

// newPartner creates a partner with a unique name, email and token.
func newPartner(t *testing.T, st *store.Store, name string, days int64, at time.Time) model.Partner {
	t.Helper()
	p := model.Partner{
		ID: ids.PartnerID(), Name: name, Email: strings.ToLower(name) + "@example.com",
		TokenHash: ids.Hash(ids.PartnerToken()), TrialDays: -1, CreatedAt: at,
	}
	if err := st.CreatePartner(bg(), p, days, "test"); err != nil {
		t.Fatalf("create partner %s: %v", name, err)
	}
	p.Balance = days
	return p
}

// channelFor builds a trial channel of a partner (not stored).
func channelFor(partnerID, projectID string, at time.Time, trialDays int) (model.Channel, string) {
	token := ids.ChannelToken()
	ch := model.Channel{
		ID: ids.ChannelID(), PartnerID: partnerID, ProjectID: projectID, Name: "ch", Phone: "4912345678",
		Token: token, Mode: model.ModeTrial, CreatedAt: at,
		TrialUntil: at.Add(time.Duration(trialDays) * day), ActiveTill: at.Add(time.Duration(trialDays) * day),
	}
	return ch, ids.Hash(token)
}

// newChannel stores a channel with no creation limit.
func newChannel(t *testing.T, st *store.Store, partnerID, projectID string, at time.Time, trialDays int) model.Channel {
	t.Helper()
	ch, hash := channelFor(partnerID, projectID, at, trialDays)
	if err := st.CreateChannel(bg(), ch, hash, store.CreateLimit{}, at); err != nil {
		t.Fatalf("create channel: %v", err)
	}
	return ch
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func ledgerTotal(t *testing.T, st *store.Store, partnerID string) int {
	t.Helper()
	_, total, err := st.Ledger(bg(), partnerID, 1, 0)
	noErr(t, "ledger", err)
	return total
}

func sameChannel(t *testing.T, what string, got, want model.Channel) {
	t.Helper()
	if got.ID != want.ID || got.PartnerID != want.PartnerID || got.ProjectID != want.ProjectID ||
		got.Name != want.Name || got.Phone != want.Phone || got.Token != want.Token || got.Mode != want.Mode ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.TrialUntil.Equal(want.TrialUntil) ||
		!got.ActiveTill.Equal(want.ActiveTill) || got.Stopped != want.Stopped ||
		(got.ExpiredAt == nil) != (want.ExpiredAt == nil) ||
		(got.ExpiredAt != nil && !got.ExpiredAt.Equal(*want.ExpiredAt)) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
	if got.CreatedAt.Location() != time.UTC || got.ActiveTill.Location() != time.UTC {
		t.Fatalf("%s: times are not UTC: %v", what, got.CreatedAt.Location())
	}
}

// --- opening and migrations ---

func TestOpenRejectsBadOptions(t *testing.T) {
	_, err := store.Open(bg(), store.Options{URL: "mysql://user:secret@host/db"})
	if err == nil {
		t.Fatal("mysql URL accepted")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error echoes credentials: %v", err)
	}
	if _, err := store.Open(bg(), store.Options{}); err == nil {
		t.Fatal("empty options accepted")
	}
}

func TestStoreBasics(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		want := store.SQLite
		if strings.HasSuffix(t.Name(), "/postgres") {
			want = store.Postgres
		}
		if st.Dialect() != want {
			t.Fatalf("dialect %q, want %q", st.Dialect(), want)
		}
		noErr(t, "ping", st.Ping(bg()))
		if st.DB() == nil {
			t.Fatal("DB() is nil")
		}
	})
}

func TestCloseThenPingFails(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st, err := store.Open(bg(), b.Options)
			noErr(t, "open", err)
			noErr(t, "close", st.Close())
			if err := st.Ping(bg()); err == nil {
				t.Fatal("ping after close succeeded")
			}
		})
	}
}

// TestMigrateFresh migrates an empty database (so it opens the backends
// itself instead of taking ForEachBackend's migrated store).
func TestMigrateFresh(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st, err := store.Open(bg(), b.Options)
			noErr(t, "open", err)
			defer st.Close()
			n, err := st.Migrate(bg())
			if err != nil || n != store.SchemaVersion() || n < 1 {
				t.Fatalf("first migrate: applied %d err %v, want %d", n, err, store.SchemaVersion())
			}
			n, err = st.Migrate(bg())
			if err != nil || n != 0 {
				t.Fatalf("second migrate: applied %d err %v", n, err)
			}
			v, err := st.Version(bg())
			if err != nil || v != store.SchemaVersion() {
				t.Fatalf("version %d err %v", v, err)
			}
			var rows, maxV int
			noErr(t, "count versions", st.DB().QueryRow("SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&rows, &maxV))
			if rows != store.SchemaVersion() || maxV != store.SchemaVersion() {
				t.Fatalf("schema_migrations has %d rows, max %d", rows, maxV)
			}
		})
	}
}

// TestMigrateConcurrentPostgres starts two stores on one fresh PostgreSQL
// schema at once: the advisory lock lets exactly one apply the migrations.
func TestMigrateConcurrentPostgres(t *testing.T) {
	var opts *store.Options
	for _, b := range storetest.Backends(t) {
		if b.Name == "postgres" {
			opts = &b.Options
		}
	}
	if opts == nil {
		t.Skip(storetest.EnvPostgres + " not set")
	}
	const n = 4
	stores := make([]*store.Store, n)
	for i := range stores {
		st, err := store.Open(bg(), *opts)
		noErr(t, "open", err)
		defer st.Close()
		stores[i] = st
	}
	applied := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = stores[i].Migrate(bg())
		}()
	}
	wg.Wait()
	sum := 0
	for i := range stores {
		noErr(t, fmt.Sprintf("migrate %d", i), errs[i])
		sum += applied[i]
	}
	if sum != store.SchemaVersion() {
		t.Fatalf("applied %v in total, want %d", applied, store.SchemaVersion())
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		future := store.SchemaVersion() + 1
		_, err := st.DB().Exec(fmt.Sprintf("INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, 'future.sql', 0)", future))
		noErr(t, "insert future version", err)
		n, err := st.Migrate(bg())
		wantErr(t, "migrate newer schema", err, store.ErrSchemaTooNew)
		if n != 0 {
			t.Fatalf("applied %d", n)
		}
		v, err := st.Version(bg())
		if err != nil || v != future {
			t.Fatalf("version %d err %v, want %d", v, err, future)
		}
	})
}

func TestSQLitePragmas(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		if st.Dialect() != store.SQLite {
			t.Skip("SQLite only")
		}
		// Hold several pool connections at once so each one is checked,
		// not only the first.
		const n = 4
		for i := range n {
			conn, err := st.DB().Conn(bg())
			noErr(t, "conn", err)
			defer conn.Close()
			var fk, busy int
			var journal string
			noErr(t, "foreign_keys", conn.QueryRowContext(bg(), "PRAGMA foreign_keys").Scan(&fk))
			noErr(t, "journal_mode", conn.QueryRowContext(bg(), "PRAGMA journal_mode").Scan(&journal))
			noErr(t, "busy_timeout", conn.QueryRowContext(bg(), "PRAGMA busy_timeout").Scan(&busy))
			if fk != 1 || strings.ToLower(journal) != "wal" || busy != 10000 {
				t.Fatalf("conn %d: foreign_keys=%d journal_mode=%s busy_timeout=%d", i, fk, journal, busy)
			}
		}
		if !strings.Contains(store.SQLiteDSN("/x/y.db"), "_txlock=immediate") {
			t.Fatalf("DSN without immediate transactions: %s", store.SQLiteDSN("/x/y.db"))
		}
	})
}

// TestSQLiteImmediateTransactions shows that a transaction takes the write
// lock when it begins: a second BEGIN with no busy timeout fails at once.
func TestSQLiteImmediateTransactions(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		if st.Dialect() != store.SQLite {
			t.Skip("SQLite only")
		}
		tx, err := st.DB().BeginTx(bg(), nil)
		noErr(t, "begin", err)
		defer tx.Rollback()
		conn, err := st.DB().Conn(bg())
		noErr(t, "conn", err)
		defer conn.Close()
		_, err = conn.ExecContext(bg(), "PRAGMA busy_timeout = 0")
		noErr(t, "busy_timeout 0", err)
		defer conn.ExecContext(bg(), "PRAGMA busy_timeout = 10000") //nolint:errcheck
		tx2, err := conn.BeginTx(bg(), nil)
		if err == nil {
			tx2.Rollback()
			t.Fatal("second transaction began while the first held no write lock: not BEGIN IMMEDIATE")
		}
	})
}

func TestForeignKeysEnforced(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		err := st.CreateProject(bg(), model.Project{PartnerID: "nobody", ID: ids.ProjectID(), Name: "x", CreatedAt: t0})
		if err == nil {
			t.Fatal("project of an unknown partner was inserted: foreign keys are off")
		}
	})
}

// --- settings ---

func TestSettings(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		v, ok, err := st.Setting(bg(), "nope")
		if err != nil || ok || v != "" {
			t.Fatalf("missing setting: %q %v %v", v, ok, err)
		}
		noErr(t, "set", st.SetSetting(bg(), "k", "one"))
		noErr(t, "overwrite", st.SetSetting(bg(), "k", "two"))
		v, ok, err = st.Setting(bg(), "k")
		if err != nil || !ok || v != "two" {
			t.Fatalf("setting: %q %v %v", v, ok, err)
		}
		noErr(t, "set empty", st.SetSetting(bg(), "empty", ""))
		v, ok, err = st.Setting(bg(), "empty")
		if err != nil || !ok || v != "" {
			t.Fatalf("empty setting: %q %v %v", v, ok, err)
		}
	})
}

func TestAdminTokenHash(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		if h, ok, err := st.AdminTokenHash(bg()); err != nil || ok || h != "" {
			t.Fatalf("fresh: %q %v %v", h, ok, err)
		}
		stored, err := st.InitAdminTokenHash(bg(), "h1")
		if err != nil || !stored {
			t.Fatalf("first init: %v %v", stored, err)
		}
		stored, err = st.InitAdminTokenHash(bg(), "h2")
		if err != nil || stored {
			t.Fatalf("second init: %v %v", stored, err)
		}
		if h, ok, err := st.AdminTokenHash(bg()); err != nil || !ok || h != "h1" {
			t.Fatalf("after inits: %q %v %v", h, ok, err)
		}
		noErr(t, "set", st.SetAdminTokenHash(bg(), "h3"))
		if h, _, _ := st.AdminTokenHash(bg()); h != "h3" {
			t.Fatalf("after set: %q", h)
		}
	})
}

func TestInitAdminTokenHashConcurrent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		const n = 8
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			won []string
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h := fmt.Sprintf("hash-%d", i)
				ok, err := st.InitAdminTokenHash(bg(), h)
				if err != nil {
					t.Errorf("init %d: %v", i, err)
					return
				}
				if ok {
					mu.Lock()
					won = append(won, h)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(won) != 1 {
			t.Fatalf("%d inits stored a hash: %v", len(won), won)
		}
		if h, _, _ := st.AdminTokenHash(bg()); h != won[0] {
			t.Fatalf("stored %q, winner %q", h, won[0])
		}
	})
}

func TestOperatorSettings(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		got, err := st.OperatorSettings(bg())
		if err != nil || got != model.DefaultOperatorSettings() {
			t.Fatalf("defaults: %+v %v", got, err)
		}
		want := model.OperatorSettings{TrialDays: 0, ChannelCreateLimit: 0, ChannelCreateWindow: 7}
		noErr(t, "set", st.SetOperatorSettings(bg(), want))
		if got, err := st.OperatorSettings(bg()); err != nil || got != want {
			t.Fatalf("round trip: %+v %v, want %+v", got, err, want)
		}
		// A stored document missing fields keeps the defaults for them.
		noErr(t, "partial", st.SetSetting(bg(), "operator", `{"trial_days":9}`))
		want = model.DefaultOperatorSettings()
		want.TrialDays = 9
		if got, err := st.OperatorSettings(bg()); err != nil || got != want {
			t.Fatalf("partial: %+v %v, want %+v", got, err, want)
		}
		noErr(t, "corrupt", st.SetSetting(bg(), "operator", `{`))
		if _, err := st.OperatorSettings(bg()); err == nil {
			t.Fatal("corrupt settings decoded without error")
		}
	})
}

// --- partners ---

func TestCreatePartner(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := model.Partner{
			ID: ids.PartnerID(), Name: "acme", Email: "ops@acme.example", TokenHash: ids.Hash("tok"),
			PasswordHash: "$2a$bcrypt", TrialDays: 3, CreatedAt: t0,
		}
		noErr(t, "create", st.CreatePartner(bg(), p, 30, "admin"))
		got, err := st.Partner(bg(), p.ID)
		noErr(t, "get", err)
		p.Balance = 30
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("partner:\n got  %+v\n want %+v", got, p)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Fatalf("CreatedAt not UTC")
		}
		entries, total, err := st.Ledger(bg(), p.ID, 10, 0)
		noErr(t, "ledger", err)
		if total != 1 || len(entries) != 1 {
			t.Fatalf("ledger: %d rows, total %d", len(entries), total)
		}
		e := entries[0]
		if e.PartnerID != p.ID || e.ChannelID != "" || e.Delta != 30 || e.BalanceAfter != 30 ||
			e.Reason != model.ReasonCredit || e.Actor != "admin" || !e.CreatedAt.Equal(t0) || e.ID == 0 {
			t.Fatalf("initial ledger row: %+v", e)
		}
		bal, sum, err := st.LedgerAudit(bg(), p.ID)
		if err != nil || bal != 30 || sum != 30 {
			t.Fatalf("audit: %d %d %v", bal, sum, err)
		}
		proj, err := st.Project(bg(), p.ID, model.DefaultProjectID)
		noErr(t, "default project", err)
		if proj.PartnerID != p.ID || proj.ID != model.DefaultProjectID || proj.Name == "" || proj.Channels != 0 || !proj.CreatedAt.Equal(t0) {
			t.Fatalf("default project: %+v", proj)
		}

		// No initial days: balance 0, no ledger row, default project.
		q := newPartner(t, st, "zero", 0, t0)
		if got, _ := st.Partner(bg(), q.ID); got.Balance != 0 {
			t.Fatalf("zero partner balance %d", got.Balance)
		}
		if n := ledgerTotal(t, st, q.ID); n != 0 {
			t.Fatalf("zero partner has %d ledger rows", n)
		}
		if _, err := st.Project(bg(), q.ID, model.DefaultProjectID); err != nil {
			t.Fatalf("zero partner default project: %v", err)
		}

		// Duplicates.
		dupName := model.Partner{ID: ids.PartnerID(), Name: "acme", Email: "other@acme.example", TokenHash: ids.Hash("t2"), CreatedAt: t0}
		wantErr(t, "duplicate name", st.CreatePartner(bg(), dupName, 5, "admin"), model.ErrConflict)
		dupEmail := model.Partner{ID: ids.PartnerID(), Name: "acme2", Email: "ops@acme.example", TokenHash: ids.Hash("t3"), CreatedAt: t0}
		wantErr(t, "duplicate email", st.CreatePartner(bg(), dupEmail, 5, "admin"), model.ErrConflict)
		dupID := model.Partner{ID: p.ID, Name: "acme3", Email: "x@acme.example", TokenHash: ids.Hash("t4"), CreatedAt: t0}
		wantErr(t, "duplicate id", st.CreatePartner(bg(), dupID, 5, "admin"), model.ErrConflict)
		for _, id := range []string{dupName.ID, dupEmail.ID} {
			if _, err := st.Partner(bg(), id); !errors.Is(err, model.ErrNotFound) {
				t.Fatalf("failed create left a partner: %v", err)
			}
		}
		if _, total, _ := st.Partners(bg(), 100, 0); total != 2 {
			t.Fatalf("partners after conflicts: %d", total)
		}
		if n := ledgerTotal(t, st, p.ID); n != 1 {
			t.Fatalf("conflicts wrote ledger rows: %d", n)
		}
	})
}

// TestCreatePartnerConcurrentDuplicates creates partners with one name at
// once: exactly one is stored, the others are ErrConflict.
func TestCreatePartnerConcurrentDuplicates(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		const n = 8
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			created []string
			clashes int
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := model.Partner{ID: ids.PartnerID(), Name: "same", Email: fmt.Sprintf("e%d@example.com", i),
					TokenHash: ids.Hash(ids.PartnerToken()), TrialDays: -1, CreatedAt: t0}
				err := st.CreatePartner(bg(), p, 3, "admin")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created = append(created, p.ID)
				case errors.Is(err, model.ErrConflict):
					clashes++
				default:
					t.Errorf("create %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		if len(created) != 1 || clashes != n-1 {
			t.Fatalf("created %d, conflicts %d", len(created), clashes)
		}
		if _, total, _ := st.Partners(bg(), 100, 0); total != 1 {
			t.Fatalf("%d partners stored", total)
		}
		if b, s, err := st.LedgerAudit(bg(), created[0]); err != nil || b != 3 || s != 3 {
			t.Fatalf("winner audit: %d %d %v", b, s, err)
		}
	})
}

func TestPartnerLookups(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "lookup", 2, t0)
		if got, err := st.PartnerByTokenHash(bg(), p.TokenHash); err != nil || got.ID != p.ID {
			t.Fatalf("by token: %+v %v", got, err)
		}
		if got, err := st.PartnerByEmail(bg(), p.Email); err != nil || got.ID != p.ID || got.Balance != 2 {
			t.Fatalf("by email: %+v %v", got, err)
		}
		_, err := st.Partner(bg(), "missing")
		wantErr(t, "Partner", err, model.ErrNotFound)
		wantErr(t, "Partner", err, model.ErrPartnerNotFound)
		_, err = st.PartnerByTokenHash(bg(), ids.Hash("missing"))
		wantErr(t, "PartnerByTokenHash", err, model.ErrNotFound)
		_, err = st.PartnerByEmail(bg(), "missing@example.com")
		wantErr(t, "PartnerByEmail", err, model.ErrNotFound)
		_, _, err = st.LedgerAudit(bg(), "missing")
		wantErr(t, "LedgerAudit", err, model.ErrNotFound)
		_, err = st.PartnerSettings(bg(), "missing")
		wantErr(t, "PartnerSettings", err, model.ErrNotFound)
	})
}

func TestPartnersPaging(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		var want []string
		for i := range 7 {
			// Created out of order; listed oldest first.
			at := t0.Add(time.Duration(6-i) * time.Minute)
			p := newPartner(t, st, fmt.Sprintf("p%d", i), 0, at)
			want = append([]string{p.ID}, want...)
		}
		var got []string
		for off := 0; ; off += 3 {
			page, total, err := st.Partners(bg(), 3, off)
			noErr(t, "page", err)
			if total != 7 {
				t.Fatalf("total %d", total)
			}
			if len(page) == 0 {
				break
			}
			if len(page) > 3 {
				t.Fatalf("page of %d", len(page))
			}
			for _, p := range page {
				got = append(got, p.ID)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("order:\n got  %v\n want %v", got, want)
		}
		page, total, err := st.Partners(bg(), 10, 100)
		if err != nil || len(page) != 0 || total != 7 {
			t.Fatalf("past the end: %d %d %v", len(page), total, err)
		}
	})
}

func TestPartnerUpdates(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "upd", 0, t0)
		noErr(t, "token", st.SetPartnerTokenHash(bg(), p.ID, "newhash"))
		noErr(t, "password", st.SetPartnerPasswordHash(bg(), p.ID, "pw"))
		noErr(t, "trial", st.SetPartnerTrialDays(bg(), p.ID, 11))
		got, err := st.Partner(bg(), p.ID)
		if err != nil || got.TokenHash != "newhash" || got.PasswordHash != "pw" || got.TrialDays != 11 {
			t.Fatalf("after updates: %+v %v", got, err)
		}
		if _, err := st.PartnerByTokenHash(bg(), p.TokenHash); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("old token still finds the partner: %v", err)
		}
		// Setting the same value again still finds the row.
		noErr(t, "trial again", st.SetPartnerTrialDays(bg(), p.ID, 11))
		wantErr(t, "token unknown", st.SetPartnerTokenHash(bg(), "missing", "h"), model.ErrNotFound)
		wantErr(t, "password unknown", st.SetPartnerPasswordHash(bg(), "missing", "h"), model.ErrNotFound)
		wantErr(t, "trial unknown", st.SetPartnerTrialDays(bg(), "missing", 1), model.ErrNotFound)
		wantErr(t, "settings unknown", st.SetPartnerSettings(bg(), "missing", model.PartnerSettings{}), model.ErrNotFound)

		// Partner settings: empty by default, round trip.
		s, err := st.PartnerSettings(bg(), p.ID)
		if err != nil || len(s.Webhooks) != 0 || s.DaysLimit != nil {
			t.Fatalf("default settings: %+v %v", s, err)
		}
		limit := int64(5)
		want := model.PartnerSettings{
			Webhooks: []model.PartnerWebhook{{URL: "https://hook.example/x", Mode: "body",
				Events: []model.WebhookEvent{{Type: "days", Method: "post"}}}},
			DaysLimit: &limit,
		}
		noErr(t, "set settings", st.SetPartnerSettings(bg(), p.ID, want))
		s, err = st.PartnerSettings(bg(), p.ID)
		if err != nil || !reflect.DeepEqual(s, want) {
			t.Fatalf("settings round trip: %+v %v", s, err)
		}
	})
}

// --- balance and ledger ---

func TestAdjustBalance(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "bal", 10, t0)
		bal, err := st.AdjustBalance(bg(), p.ID, 5, model.ReasonCredit, "top up", "admin", t0.Add(time.Minute))
		if err != nil || bal != 15 {
			t.Fatalf("credit: %d %v", bal, err)
		}
		bal, err = st.AdjustBalance(bg(), p.ID, -15, model.ReasonDebit, "all", "admin", t0.Add(2*time.Minute))
		if err != nil || bal != 0 {
			t.Fatalf("debit to zero: %d %v", bal, err)
		}
		bal, err = st.AdjustBalance(bg(), p.ID, 7, model.ReasonCredit, "", "admin", t0.Add(3*time.Minute))
		if err != nil || bal != 7 {
			t.Fatalf("credit: %d %v", bal, err)
		}
		rows := ledgerTotal(t, st, p.ID)
		_, err = st.AdjustBalance(bg(), p.ID, -8, model.ReasonDebit, "too much", "admin", t0.Add(4*time.Minute))
		wantErr(t, "debit beyond balance", err, model.ErrInsufficientDays)
		got, _ := st.Partner(bg(), p.ID)
		if got.Balance != 7 {
			t.Fatalf("balance changed by a refused debit: %d", got.Balance)
		}
		if n := ledgerTotal(t, st, p.ID); n != rows {
			t.Fatalf("refused debit wrote a ledger row: %d -> %d", rows, n)
		}
		_, err = st.AdjustBalance(bg(), "missing", 1, model.ReasonCredit, "", "admin", t0)
		wantErr(t, "credit unknown partner", err, model.ErrNotFound)
		_, err = st.AdjustBalance(bg(), "missing", -1, model.ReasonDebit, "", "admin", t0)
		wantErr(t, "debit unknown partner", err, model.ErrNotFound)
		b, sum, err := st.LedgerAudit(bg(), p.ID)
		if err != nil || b != 7 || sum != 7 {
			t.Fatalf("audit: %d %d %v", b, sum, err)
		}
	})
}

func TestLedgerOrderAndPaging(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "led", 1, t0)
		other := newPartner(t, st, "other", 100, t0)
		deltas := []int64{1, 2, -3, 4, 5, -6, 7, 8, -9}
		running := int64(1)
		for i, d := range deltas {
			reason := model.ReasonCredit
			if d < 0 {
				reason = model.ReasonDebit
			}
			running += d
			bal, err := st.AdjustBalance(bg(), p.ID, d, reason, fmt.Sprintf("c%d", i), "actor", t0.Add(time.Duration(i+1)*time.Second))
			if err != nil || bal != running {
				t.Fatalf("adjust %d: %d %v, want %d", i, bal, err, running)
			}
		}
		all, total, err := st.Ledger(bg(), p.ID, 100, 0)
		noErr(t, "ledger", err)
		if total != len(deltas)+1 || len(all) != total {
			t.Fatalf("ledger: %d rows, total %d", len(all), total)
		}
		// Newest first: the last adjustment is first.
		for i := 1; i < len(all); i++ {
			if all[i].ID >= all[i-1].ID {
				t.Fatalf("ledger not newest first: ids %d then %d", all[i-1].ID, all[i].ID)
			}
		}
		if all[0].Delta != -9 || all[0].Comment != "c8" || all[0].BalanceAfter != running || all[0].Reason != model.ReasonDebit ||
			!all[0].CreatedAt.Equal(t0.Add(9*time.Second)) {
			t.Fatalf("newest row: %+v", all[0])
		}
		if last := all[len(all)-1]; last.Delta != 1 || last.Comment != "initial balance" {
			t.Fatalf("oldest row: %+v", last)
		}
		// balance_after is a running sum in id order.
		var sum int64
		for i := len(all) - 1; i >= 0; i-- {
			sum += all[i].Delta
			if all[i].BalanceAfter != sum || all[i].PartnerID != p.ID {
				t.Fatalf("row %+v: running sum %d", all[i], sum)
			}
		}
		// Pages put together are the whole list.
		var paged []model.LedgerEntry
		for off := 0; off < total; off += 4 {
			page, tot, err := st.Ledger(bg(), p.ID, 4, off)
			noErr(t, "page", err)
			if tot != total {
				t.Fatalf("page total %d", tot)
			}
			paged = append(paged, page...)
		}
		if !reflect.DeepEqual(paged, all) {
			t.Fatalf("paged ledger differs")
		}
		if rows, tot, err := st.Ledger(bg(), "missing", 10, 0); err != nil || len(rows) != 0 || tot != 0 {
			t.Fatalf("unknown partner ledger: %d %d %v", len(rows), tot, err)
		}
		b, s, err := st.LedgerAudit(bg(), p.ID)
		if err != nil || b != running || s != running {
			t.Fatalf("audit: %d %d %v", b, s, err)
		}
		b, s, err = st.LedgerAudit(bg(), other.ID)
		if err != nil || b != 100 || s != 100 {
			t.Fatalf("other audit: %d %d %v", b, s, err)
		}
		zero := newPartner(t, st, "nothing", 0, t0)
		b, s, err = st.LedgerAudit(bg(), zero.ID)
		if err != nil || b != 0 || s != 0 {
			t.Fatalf("empty audit: %d %d %v", b, s, err)
		}
	})
}

// TestLedgerAuditDetectsBypass shows the audit compares two independent
// numbers: a balance changed outside the ledger no longer matches.
func TestLedgerAuditDetectsBypass(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "bypass", 4, t0)
		_, err := st.DB().Exec(fmt.Sprintf("UPDATE partners SET balance = balance + 1 WHERE id = '%s'", p.ID))
		noErr(t, "bypass", err)
		b, s, err := st.LedgerAudit(bg(), p.ID)
		if err != nil || b != 5 || s != 4 {
			t.Fatalf("audit: %d %d %v", b, s, err)
		}
	})
}

func TestBalanceCannotGoNegativeConcurrently(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "race", 10, t0)
		const n = 24
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			ok, poor int
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.AdjustBalance(bg(), p.ID, -1, model.ReasonDebit, "", fmt.Sprint(i), t0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, model.ErrInsufficientDays):
					poor++
				default:
					t.Errorf("debit: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok != 10 || poor != n-10 {
			t.Fatalf("%d debits succeeded, %d refused; want 10 and %d", ok, poor, n-10)
		}
		b, s, err := st.LedgerAudit(bg(), p.ID)
		if err != nil || b != 0 || s != 0 {
			t.Fatalf("audit: %d %d %v", b, s, err)
		}
	})
}

// --- projects ---

func TestProjects(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "proj", 0, t0)
		q := newPartner(t, st, "proj2", 0, t0)
		a := model.Project{ID: ids.ProjectID(), PartnerID: p.ID, Name: "Alpha", CreatedAt: t0.Add(time.Minute)}
		b := model.Project{ID: ids.ProjectID(), PartnerID: p.ID, Name: "Beta", CreatedAt: t0.Add(2 * time.Minute)}
		noErr(t, "create a", st.CreateProject(bg(), a))
		noErr(t, "create b", st.CreateProject(bg(), b))
		wantErr(t, "duplicate", st.CreateProject(bg(), model.Project{ID: a.ID, PartnerID: p.ID, Name: "again", CreatedAt: t0}), model.ErrConflict)
		wantErr(t, "duplicate default", st.CreateProject(bg(), model.Project{ID: model.DefaultProjectID, PartnerID: p.ID, Name: "d", CreatedAt: t0}), model.ErrConflict)
		// The same project ID under another partner is a different project.
		noErr(t, "same id other partner", st.CreateProject(bg(), model.Project{ID: a.ID, PartnerID: q.ID, Name: "Q's", CreatedAt: t0}))

		newChannel(t, st, p.ID, a.ID, t0, 1)
		newChannel(t, st, p.ID, a.ID, t0, 1)
		newChannel(t, st, p.ID, model.DefaultProjectID, t0, 1)
		newChannel(t, st, q.ID, a.ID, t0, 1) // q's project with the same id must not count for p

		got, err := st.Project(bg(), p.ID, a.ID)
		noErr(t, "get a", err)
		if got.Project != a || got.Channels != 2 {
			t.Fatalf("project a: %+v", got)
		}
		if got, _ := st.Project(bg(), q.ID, a.ID); got.Channels != 1 || got.Name != "Q's" {
			t.Fatalf("q's project: %+v", got)
		}
		_, err = st.Project(bg(), p.ID, "missing")
		wantErr(t, "missing project", err, model.ErrNotFound)
		_, err = st.Project(bg(), "missing", a.ID)
		wantErr(t, "project of missing partner", err, model.ErrProjectNotFound)

		list, total, err := st.Projects(bg(), p.ID, 10, 0)
		noErr(t, "list", err)
		if total != 3 || len(list) != 3 || list[0].ID != model.DefaultProjectID || list[1].ID != a.ID || list[2].ID != b.ID {
			t.Fatalf("projects: total %d %+v", total, list)
		}
		if list[0].Channels != 1 || list[1].Channels != 2 || list[2].Channels != 0 {
			t.Fatalf("channel counts: %+v", list)
		}
		page, total, err := st.Projects(bg(), p.ID, 1, 1)
		if err != nil || total != 3 || len(page) != 1 || page[0].ID != a.ID {
			t.Fatalf("page: %+v %d %v", page, total, err)
		}
		empty, total, err := st.Projects(bg(), "missing", 10, 0)
		if err != nil || total != 0 || empty == nil || len(empty) != 0 {
			t.Fatalf("projects of unknown partner: %#v %d %v", empty, total, err)
		}

		noErr(t, "rename", st.RenameProject(bg(), p.ID, b.ID, "Gamma"))
		if got, _ := st.Project(bg(), p.ID, b.ID); got.Name != "Gamma" {
			t.Fatalf("renamed: %+v", got)
		}
		wantErr(t, "rename missing", st.RenameProject(bg(), p.ID, "missing", "x"), model.ErrProjectNotFound)
		wantErr(t, "rename other partner's", st.RenameProject(bg(), "missing", b.ID, "x"), model.ErrProjectNotFound)

		wantErr(t, "delete default", st.DeleteProject(bg(), p.ID, model.DefaultProjectID), model.ErrConflict)
		wantErr(t, "delete non-empty", st.DeleteProject(bg(), p.ID, a.ID), model.ErrConflict)
		wantErr(t, "delete missing", st.DeleteProject(bg(), p.ID, "missing"), model.ErrNotFound)
		noErr(t, "delete empty", st.DeleteProject(bg(), p.ID, b.ID))
		_, err = st.Project(bg(), p.ID, b.ID)
		wantErr(t, "deleted project", err, model.ErrNotFound)
		wantErr(t, "delete twice", st.DeleteProject(bg(), p.ID, b.ID), model.ErrProjectNotFound)
		if _, err := st.Project(bg(), p.ID, a.ID); err != nil {
			t.Fatalf("refused delete removed the project: %v", err)
		}
		if _, total, _ := st.Projects(bg(), p.ID, 10, 0); total != 2 {
			t.Fatalf("projects after delete: %d", total)
		}
		// Once its channels are gone the project can be deleted.
		var chs []model.Channel
		noErr(t, "each", st.EachChannel(bg(), p.ID, func(c model.Channel) error {
			if c.ProjectID == a.ID {
				chs = append(chs, c)
			}
			return nil
		}))
		for _, c := range chs {
			_, _, err := st.MutateChannel(bg(), p.ID, c.ID, t0, func(model.Channel) (store.ChannelChange, error) {
				return store.ChannelChange{Delete: true}, nil
			})
			noErr(t, "delete channel", err)
		}
		noErr(t, "delete emptied", st.DeleteProject(bg(), p.ID, a.ID))
		if _, err := st.Project(bg(), q.ID, a.ID); err != nil {
			t.Fatalf("deleting p's project removed q's: %v", err)
		}
	})
}

// --- channels ---

func TestCreateChannelAndGet(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "chan", 0, t0)
		q := newPartner(t, st, "chan2", 0, t0)
		ch, hash := channelFor(p.ID, model.DefaultProjectID, t0, 5)
		ch.Stopped = true
		noErr(t, "create", st.CreateChannel(bg(), ch, hash, store.CreateLimit{}, t0))
		got, err := st.Channel(bg(), p.ID, ch.ID)
		noErr(t, "get", err)
		sameChannel(t, "get", got, ch)
		got, err = st.ChannelByTokenHash(bg(), hash)
		noErr(t, "by token", err)
		sameChannel(t, "by token", got, ch)

		// ExpiredAt round trip.
		exp := t0.Add(-time.Hour)
		ch2, hash2 := channelFor(p.ID, model.DefaultProjectID, t0, 0)
		ch2.ExpiredAt = &exp
		noErr(t, "create expired", st.CreateChannel(bg(), ch2, hash2, store.CreateLimit{}, t0))
		got, _ = st.Channel(bg(), p.ID, ch2.ID)
		sameChannel(t, "expired", got, ch2)

		// Tenancy.
		_, err = st.Channel(bg(), q.ID, ch.ID)
		wantErr(t, "another partner's channel", err, model.ErrNotFound)
		wantErr(t, "another partner's channel", err, model.ErrChannelNotFound)
		_, err = st.Channel(bg(), p.ID, "NOPENO-00000")
		wantErr(t, "missing channel", err, model.ErrNotFound)
		_, err = st.ChannelByTokenHash(bg(), ids.Hash("nope"))
		wantErr(t, "missing token", err, model.ErrChannelNotFound)

		// Conflicts: same ID, same token.
		dup, dupHash := channelFor(p.ID, model.DefaultProjectID, t0, 1)
		dup.ID = ch.ID
		wantErr(t, "duplicate id", st.CreateChannel(bg(), dup, dupHash, store.CreateLimit{}, t0), model.ErrConflict)
		dup2, _ := channelFor(q.ID, model.DefaultProjectID, t0, 1)
		dup2.ID = ch.ID // another partner cannot take the ID either
		wantErr(t, "duplicate id other partner", st.CreateChannel(bg(), dup2, ids.Hash("x"), store.CreateLimit{}, t0), model.ErrConflict)
		dup3, _ := channelFor(p.ID, model.DefaultProjectID, t0, 1)
		wantErr(t, "duplicate token", st.CreateChannel(bg(), dup3, hash, store.CreateLimit{}, t0), model.ErrConflict)
		if got, _ := st.Channel(bg(), p.ID, ch.ID); got.Name != ch.Name || got.Token != ch.Token {
			t.Fatalf("conflict changed the channel: %+v", got)
		}
		if _, total, _ := st.Channels(bg(), p.ID, "", 100, 0); total != 2 {
			t.Fatalf("channels after conflicts: %d", total)
		}

		// Unknown project and partner.
		bad, badHash := channelFor(p.ID, "missing", t0, 1)
		wantErr(t, "unknown project", st.CreateChannel(bg(), bad, badHash, store.CreateLimit{}, t0), model.ErrProjectNotFound)
		orphan, orphanHash := channelFor("missing", model.DefaultProjectID, t0, 1)
		wantErr(t, "unknown partner", st.CreateChannel(bg(), orphan, orphanHash, store.CreateLimit{}, t0), model.ErrNotFound)
		if _, err := st.Channel(bg(), p.ID, bad.ID); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("failed create stored a channel: %v", err)
		}
	})
}

func TestCreateChannelRateLimit(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "rl", 0, t0)
		q := newPartner(t, st, "rl2", 0, t0)
		limit := store.CreateLimit{Max: 3, Window: 30 * time.Minute}
		create := func(partnerID string, at time.Time) (model.Channel, error) {
			ch, hash := channelFor(partnerID, model.DefaultProjectID, at, 1)
			return ch, st.CreateChannel(bg(), ch, hash, limit, at)
		}
		first, err := create(p.ID, t0)
		noErr(t, "1st", err)
		_, err = create(p.ID, t0.Add(5*time.Minute))
		noErr(t, "2nd", err)
		// Deleted channels still count.
		_, _, err = st.MutateChannel(bg(), p.ID, first.ID, t0, func(model.Channel) (store.ChannelChange, error) {
			return store.ChannelChange{Delete: true}, nil
		})
		noErr(t, "delete 1st", err)
		_, err = create(p.ID, t0.Add(10*time.Minute))
		noErr(t, "3rd", err)
		fourth, err := create(p.ID, t0.Add(20*time.Minute))
		wantErr(t, "4th in window", err, model.ErrRateLimited)
		if _, err := st.Channel(bg(), p.ID, fourth.ID); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("rate-limited channel was stored: %v", err)
		}
		// Another partner has its own limit.
		_, err = create(q.ID, t0.Add(20*time.Minute))
		noErr(t, "other partner", err)
		// A retry does not count: still limited a bit later.
		_, err = create(p.ID, t0.Add(29*time.Minute))
		wantErr(t, "retry in window", err, model.ErrRateLimited)
		// Outside the window of the first creation one slot is free again.
		_, err = create(p.ID, t0.Add(31*time.Minute))
		noErr(t, "after the first left the window", err)
		_, err = create(p.ID, t0.Add(32*time.Minute))
		wantErr(t, "window full again", err, model.ErrRateLimited)
		// Long after, everything passes; no limit passes always.
		_, err = create(p.ID, t0.Add(2*time.Hour))
		noErr(t, "much later", err)
		for i := range 5 {
			ch, hash := channelFor(p.ID, model.DefaultProjectID, t0.Add(2*time.Hour), 1)
			noErr(t, fmt.Sprintf("unlimited %d", i), st.CreateChannel(bg(), ch, hash, store.CreateLimit{}, t0.Add(2*time.Hour)))
		}
	})
}

func TestCreateChannelRateLimitConcurrent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "rlc", 0, t0)
		limit := store.CreateLimit{Max: 5, Window: time.Hour}
		const n = 16
		var (
			wg              sync.WaitGroup
			mu              sync.Mutex
			created, denied int
		)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ch, hash := channelFor(p.ID, model.DefaultProjectID, t0, 1)
				err := st.CreateChannel(bg(), ch, hash, limit, t0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created++
				case errors.Is(err, model.ErrRateLimited):
					denied++
				default:
					t.Errorf("create: %v", err)
				}
			}()
		}
		wg.Wait()
		if created != 5 || denied != n-5 {
			t.Fatalf("created %d, denied %d; want 5 and %d", created, denied, n-5)
		}
	})
}

func TestChannelsListing(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "list", 0, t0)
		q := newPartner(t, st, "list2", 0, t0)
		proj := model.Project{ID: ids.ProjectID(), PartnerID: p.ID, Name: "P", CreatedAt: t0}
		noErr(t, "project", st.CreateProject(bg(), proj))
		var all, inProj []string
		for i := range 9 {
			// Created out of order; listed oldest first.
			at := t0.Add(time.Duration(8-i) * time.Minute)
			project := model.DefaultProjectID
			if i%3 == 0 {
				project = proj.ID
			}
			ch := newChannel(t, st, p.ID, project, at, 2)
			all = append([]string{ch.ID}, all...)
			if project == proj.ID {
				inProj = append([]string{ch.ID}, inProj...)
			}
		}
		newChannel(t, st, q.ID, model.DefaultProjectID, t0, 2)

		collect := func(projectID string, pageSize int) ([]string, int) {
			var out []string
			total := -1
			for off := 0; ; off += pageSize {
				page, tot, err := st.Channels(bg(), p.ID, projectID, pageSize, off)
				noErr(t, "channels", err)
				if total >= 0 && tot != total {
					t.Fatalf("total changed between pages")
				}
				total = tot
				if page == nil {
					t.Fatalf("nil page")
				}
				if len(page) == 0 {
					return out, total
				}
				for _, c := range page {
					if c.PartnerID != p.ID || (projectID != "" && c.ProjectID != projectID) {
						t.Fatalf("foreign channel listed: %+v", c)
					}
					out = append(out, c.ID)
				}
			}
		}
		if got, total := collect("", 4); total != 9 || !reflect.DeepEqual(got, all) {
			t.Fatalf("all channels: total %d\n got  %v\n want %v", total, got, all)
		}
		if got, total := collect(proj.ID, 2); total != 3 || !reflect.DeepEqual(got, inProj) {
			t.Fatalf("project channels: total %d\n got  %v\n want %v", total, got, inProj)
		}
		if got, total := collect("missing", 2); total != 0 || len(got) != 0 {
			t.Fatalf("unknown project: %d %v", total, got)
		}

		var each []string
		noErr(t, "each", st.EachChannel(bg(), p.ID, func(c model.Channel) error {
			each = append(each, c.ID)
			return nil
		}))
		if !reflect.DeepEqual(each, all) {
			t.Fatalf("EachChannel order:\n got  %v\n want %v", each, all)
		}
		stop := errors.New("stop")
		calls := 0
		err := st.EachChannel(bg(), p.ID, func(model.Channel) error {
			calls++
			if calls == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != 3 {
			t.Fatalf("EachChannel with error: %v after %d calls", err, calls)
		}
		noErr(t, "each unknown", st.EachChannel(bg(), "missing", func(model.Channel) error {
			t.Fatal("called for an unknown partner")
			return nil
		}))
	})
}

func TestMutateChannel(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "mut", 10, t0)
		q := newPartner(t, st, "mut2", 10, t0)
		proj := model.Project{ID: ids.ProjectID(), PartnerID: p.ID, Name: "P", CreatedAt: t0}
		noErr(t, "project", st.CreateProject(bg(), proj))
		ch := newChannel(t, st, p.ID, model.DefaultProjectID, t0, 2)
		now := t0.Add(time.Hour)

		// A change with a debit: channel, balance and ledger together.
		out, bal, err := st.MutateChannel(bg(), p.ID, ch.ID, now, func(cur model.Channel) (store.ChannelChange, error) {
			sameChannel(t, "fn sees", cur, ch)
			cur.ActiveTill = cur.ActiveTill.Add(3 * day)
			cur.Name = "renamed"
			cur.ProjectID = proj.ID
			cur.Mode = model.ModeLive
			return store.ChannelChange{Channel: cur, Delta: -3, Reason: model.ReasonExtend, Comment: "ext", Actor: "me"}, nil
		})
		noErr(t, "extend", err)
		want := ch
		want.ActiveTill = ch.ActiveTill.Add(3 * day)
		want.Name, want.ProjectID, want.Mode = "renamed", proj.ID, model.ModeLive
		sameChannel(t, "returned", out, want)
		if bal != 7 {
			t.Fatalf("balance %d", bal)
		}
		got, _ := st.Channel(bg(), p.ID, ch.ID)
		sameChannel(t, "stored", got, want)
		entries, _, _ := st.Ledger(bg(), p.ID, 1, 0)
		if e := entries[0]; e.ChannelID != ch.ID || e.Delta != -3 || e.BalanceAfter != 7 || e.Reason != model.ReasonExtend ||
			e.Comment != "ext" || e.Actor != "me" || !e.CreatedAt.Equal(now) {
			t.Fatalf("ledger row: %+v", e)
		}
		if info, _ := st.Project(bg(), p.ID, proj.ID); info.Channels != 1 {
			t.Fatalf("moved channel not counted: %+v", info)
		}

		// Delta 0: no ledger row, the current balance is returned; ExpiredAt and Stopped round trip.
		rows := ledgerTotal(t, st, p.ID)
		exp := now
		_, bal, err = st.MutateChannel(bg(), p.ID, ch.ID, now, func(cur model.Channel) (store.ChannelChange, error) {
			cur.Stopped = true
			cur.ExpiredAt = &exp
			cur.Phone = ""
			return store.ChannelChange{Channel: cur}, nil
		})
		if err != nil || bal != 7 {
			t.Fatalf("no-delta change: %d %v", bal, err)
		}
		if n := ledgerTotal(t, st, p.ID); n != rows {
			t.Fatalf("delta 0 wrote a ledger row")
		}
		want.Stopped, want.ExpiredAt, want.Phone = true, &exp, ""
		got, _ = st.Channel(bg(), p.ID, ch.ID)
		sameChannel(t, "after no-delta change", got, want)
		_, _, err = st.MutateChannel(bg(), p.ID, ch.ID, now, func(cur model.Channel) (store.ChannelChange, error) {
			cur.Stopped = false
			cur.ExpiredAt = nil
			return store.ChannelChange{Channel: cur}, nil
		})
		noErr(t, "clear", err)
		want.Stopped, want.ExpiredAt = false, nil
		got, _ = st.Channel(bg(), p.ID, ch.ID)
		sameChannel(t, "after clearing", got, want)

		// Unchanged-state checker for the failures below.
		unchanged := func(what string) {
			t.Helper()
			got, err := st.Channel(bg(), p.ID, ch.ID)
			noErr(t, what, err)
			sameChannel(t, what+": channel", got, want)
			b, s, _ := st.LedgerAudit(bg(), p.ID)
			if b != 7 || s != 7 {
				t.Fatalf("%s: balance %d ledger %d", what, b, s)
			}
			if n := ledgerTotal(t, st, p.ID); n != rows {
				t.Fatalf("%s: ledger rows %d -> %d", what, rows, n)
			}
		}

		// fn error: nothing changes, the error comes back as is.
		boom := errors.New("boom")
		_, _, err = st.MutateChannel(bg(), p.ID, ch.ID, now, func(cur model.Channel) (store.ChannelChange, error) {
			cur.Name = "nope"
			return store.ChannelChange{Channel: cur, Delta: -1, Reason: model.ReasonExtend}, boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("fn error: %v", err)
		}
		unchanged("fn error")

		// Debit beyond the balance.
		_, _, err = st.MutateChannel(bg(), p.ID, ch.ID, now, func(cur model.Channel) (store.ChannelChange, error) {
			cur.ActiveTill = cur.ActiveTill.Add(8 * day)
			return store.ChannelChange{Channel: cur, Delta: -8, Reason: model.ReasonExtend}, nil
		})
		wantErr(t, "short debit", err, model.ErrInsufficientDays)
		unchanged("short debit")

		// A credit followed by a failing project move rolls the credit back too.
		_, _, err = st.MutateChannel(bg(), p.ID, ch.ID, now, func(cur model.Channel) (store.ChannelChange, error) {
			cur.ProjectID = "missing"
			return store.ChannelChange{Channel: cur, Delta: 2, Reason: model.ReasonRefundStop}, nil
		})
		wantErr(t, "move to unknown project", err, model.ErrProjectNotFound)
		unchanged("move to unknown project")

		// Another partner's channel: not found, fn never called.
		_, _, err = st.MutateChannel(bg(), q.ID, ch.ID, now, func(model.Channel) (store.ChannelChange, error) {
			t.Fatal("fn called for another partner's channel")
			return store.ChannelChange{}, nil
		})
		wantErr(t, "other partner", err, model.ErrChannelNotFound)
		// A channel cannot be moved into another partner's project.
		qProj := model.Project{ID: ids.ProjectID(), PartnerID: q.ID, Name: "Q", CreatedAt: t0}
		noErr(t, "q project", st.CreateProject(bg(), qProj))
		_, _, err = st.MutateChannel(bg(), p.ID, ch.ID, now, func(cur model.Channel) (store.ChannelChange, error) {
			cur.ProjectID = qProj.ID
			return store.ChannelChange{Channel: cur}, nil
		})
		wantErr(t, "move to other partner's project", err, model.ErrProjectNotFound)
		unchanged("move to other partner's project")
		if b, s, _ := st.LedgerAudit(bg(), q.ID); b != 10 || s != 10 {
			t.Fatalf("other partner's balance changed: %d %d", b, s)
		}

		// Delete with a refund.
		out, bal, err = st.MutateChannel(bg(), p.ID, ch.ID, now, func(cur model.Channel) (store.ChannelChange, error) {
			return store.ChannelChange{Delete: true, Delta: 2, Reason: model.ReasonRefundDelete, Actor: "me"}, nil
		})
		noErr(t, "delete", err)
		if out.ID != ch.ID || bal != 9 {
			t.Fatalf("delete returned %+v balance %d", out, bal)
		}
		_, err = st.Channel(bg(), p.ID, ch.ID)
		wantErr(t, "deleted channel", err, model.ErrNotFound)
		_, err = st.ChannelByTokenHash(bg(), ids.Hash(ch.Token))
		wantErr(t, "deleted channel by token", err, model.ErrNotFound)
		entries, _, _ = st.Ledger(bg(), p.ID, 1, 0)
		if e := entries[0]; e.Delta != 2 || e.Reason != model.ReasonRefundDelete || e.ChannelID != ch.ID || e.BalanceAfter != 9 {
			t.Fatalf("refund row: %+v", e)
		}
		_, _, err = st.MutateChannel(bg(), p.ID, ch.ID, now, func(model.Channel) (store.ChannelChange, error) {
			t.Fatal("fn called for a deleted channel")
			return store.ChannelChange{}, nil
		})
		wantErr(t, "mutate deleted", err, model.ErrNotFound)

		// A delete refused for lack of days keeps the channel.
		c2 := newChannel(t, st, p.ID, model.DefaultProjectID, t0, 1)
		_, _, err = st.MutateChannel(bg(), p.ID, c2.ID, now, func(model.Channel) (store.ChannelChange, error) {
			return store.ChannelChange{Delete: true, Delta: -100, Reason: model.ReasonDebit}, nil
		})
		wantErr(t, "delete with short debit", err, model.ErrInsufficientDays)
		if _, err := st.Channel(bg(), p.ID, c2.ID); err != nil {
			t.Fatalf("refused delete removed the channel: %v", err)
		}
	})
}

func TestMarkExpired(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "exp", 0, t0)
		q := newPartner(t, st, "exp2", 0, t0)
		a := newChannel(t, st, p.ID, model.DefaultProjectID, t0, 1) // ends t0+1d
		b := newChannel(t, st, p.ID, model.DefaultProjectID, t0, 2) // ends t0+2d
		c := newChannel(t, st, q.ID, model.DefaultProjectID, t0, 1) // ends t0+1d, other partner
		d := newChannel(t, st, p.ID, model.DefaultProjectID, t0, 3) // ends t0+3d

		idSet := func(chs []model.Channel) map[string]bool {
			m := map[string]bool{}
			for _, ch := range chs {
				m[ch.ID] = true
			}
			return m
		}
		got, err := st.MarkExpired(bg(), t0.Add(day-time.Millisecond), 100)
		if err != nil || len(got) != 0 {
			t.Fatalf("before any expiry: %v %v", got, err)
		}
		at := t0.Add(day) // active_till <= now expires: exactly at the end
		got, err = st.MarkExpired(bg(), at, 100)
		noErr(t, "mark", err)
		if m := idSet(got); len(got) != 2 || !m[a.ID] || !m[c.ID] {
			t.Fatalf("expired at +1d: %v", got)
		}
		for _, ch := range got {
			if ch.ExpiredAt == nil || !ch.ExpiredAt.Equal(at) {
				t.Fatalf("returned without ExpiredAt: %+v", ch)
			}
			stored, _ := st.Channel(bg(), ch.PartnerID, ch.ID)
			if stored.ExpiredAt == nil || !stored.ExpiredAt.Equal(at) {
				t.Fatalf("stored without ExpiredAt: %+v", stored)
			}
		}
		// Once only.
		got, err = st.MarkExpired(bg(), at.Add(time.Hour), 100)
		if err != nil || len(got) != 0 {
			t.Fatalf("second sweep: %v %v", got, err)
		}
		// Limit: the one that ended first comes first.
		got, err = st.MarkExpired(bg(), t0.Add(10*day), 1)
		if err != nil || len(got) != 1 || got[0].ID != b.ID {
			t.Fatalf("limited sweep: %v %v", got, err)
		}
		got, err = st.MarkExpired(bg(), t0.Add(10*day), 10)
		if err != nil || len(got) != 1 || got[0].ID != d.ID {
			t.Fatalf("rest: %v %v", got, err)
		}

		// Extended (ExpiredAt cleared): expires again when the new time ends.
		_, _, err = st.MutateChannel(bg(), p.ID, a.ID, t0.Add(10*day), func(cur model.Channel) (store.ChannelChange, error) {
			cur.ActiveTill = t0.Add(12 * day)
			cur.ExpiredAt = nil
			return store.ChannelChange{Channel: cur}, nil
		})
		noErr(t, "extend", err)
		got, err = st.MarkExpired(bg(), t0.Add(11*day), 10)
		if err != nil || len(got) != 0 {
			t.Fatalf("extended channel expired early: %v %v", got, err)
		}
		got, err = st.MarkExpired(bg(), t0.Add(12*day), 10)
		if err != nil || len(got) != 1 || got[0].ID != a.ID || !got[0].ExpiredAt.Equal(t0.Add(12*day)) {
			t.Fatalf("re-expiry: %v %v", got, err)
		}
		got, err = st.MarkExpired(bg(), t0.Add(20*day), 10)
		if err != nil || len(got) != 0 {
			t.Fatalf("re-expiry twice: %v %v", got, err)
		}
	})
}

// TestMarkExpiredConcurrent runs sweeps at once: every expiry is returned by
// exactly one of them.
func TestMarkExpiredConcurrent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "sweep", 0, t0)
		const n = 30
		for i := range n {
			newChannel(t, st, p.ID, model.DefaultProjectID, t0.Add(time.Duration(i)*time.Second), 1)
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			seen = map[string]int{}
		)
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 4 {
					got, err := st.MarkExpired(bg(), t0.Add(2*day), 4)
					if err != nil {
						t.Errorf("sweep: %v", err)
						return
					}
					mu.Lock()
					for _, ch := range got {
						seen[ch.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for _, ch := range mustAll(t, st, p.ID) {
			if seen[ch.ID] > 1 {
				t.Fatalf("%s returned %d times", ch.ID, seen[ch.ID])
			}
		}
		// Whatever the sweeps above left, one more sweep finishes, and none is reported twice.
		rest, err := st.MarkExpired(bg(), t0.Add(2*day), 100)
		noErr(t, "final sweep", err)
		for _, ch := range rest {
			seen[ch.ID]++
		}
		if len(seen) != n {
			t.Fatalf("%d channels reported, want %d", len(seen), n)
		}
		for id, k := range seen {
			if k != 1 {
				t.Fatalf("%s reported %d times", id, k)
			}
		}
	})
}

func mustAll(t *testing.T, st *store.Store, partnerID string) []model.Channel {
	t.Helper()
	var out []model.Channel
	noErr(t, "each", st.EachChannel(bg(), partnerID, func(c model.Channel) error {
		out = append(out, c)
		return nil
	}))
	return out
}

// TestProjectDeletedDuringChannelWrite deletes a project (the statements of
// DeleteProject, held open in a transaction) while CreateChannel, or a
// MutateChannel moving a channel into it, waits on the project row. The
// writer must report the missing project as ErrProjectNotFound, as it does
// when the project is missing from the start. PostgreSQL only: SQLite runs
// writers one at a time.
func TestProjectDeletedDuringChannelWrite(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		if st.Dialect() != store.Postgres {
			t.Skip("PostgreSQL only")
		}
		p := newPartner(t, st, "fkrace", 0, t0)
		moving := newChannel(t, st, p.ID, model.DefaultProjectID, t0, 1)
		writes := map[string]func(projectID string) error{
			"CreateChannel": func(projectID string) error {
				ch, hash := channelFor(p.ID, projectID, t0, 1)
				return st.CreateChannel(bg(), ch, hash, store.CreateLimit{}, t0)
			},
			"MutateChannel move": func(projectID string) error {
				_, _, err := st.MutateChannel(bg(), p.ID, moving.ID, t0, func(cur model.Channel) (store.ChannelChange, error) {
					cur.ProjectID = projectID
					return store.ChannelChange{Channel: cur}, nil
				})
				return err
			},
		}
		for name, write := range writes {
			proj := model.Project{ID: ids.ProjectID(), PartnerID: p.ID, Name: name, CreatedAt: t0}
			noErr(t, "project", st.CreateProject(bg(), proj))
			tx, err := st.DB().BeginTx(bg(), nil)
			noErr(t, "begin", err)
			var pid int
			noErr(t, "pid", tx.QueryRow("SELECT pg_backend_pid()").Scan(&pid))
			_, err = tx.Exec("SELECT 1 FROM projects WHERE partner_id = $1 AND id = $2 FOR UPDATE", p.ID, proj.ID)
			noErr(t, "lock project", err)
			var n int
			noErr(t, "count", tx.QueryRow("SELECT COUNT(*) FROM channels WHERE partner_id = $1 AND project_id = $2", p.ID, proj.ID).Scan(&n))
			done := make(chan error, 1)
			go func() { done <- write(proj.ID) }()
			// Wait until the writer is blocked by this transaction.
			deadline := time.Now().Add(10 * time.Second)
			for {
				var waiting int
				noErr(t, "blocked", st.DB().QueryRow("SELECT COUNT(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", pid).Scan(&waiting))
				if waiting > 0 {
					break
				}
				if time.Now().After(deadline) {
					tx.Rollback()
					t.Fatalf("%s: never blocked on the project row", name)
				}
				time.Sleep(10 * time.Millisecond)
			}
			_, err = tx.Exec("DELETE FROM projects WHERE partner_id = $1 AND id = $2", p.ID, proj.ID)
			noErr(t, "delete project", err)
			noErr(t, "commit", tx.Commit())
			if err := <-done; !errors.Is(err, model.ErrProjectNotFound) {
				t.Errorf("%s into a project deleted meanwhile: err = %v, want ErrProjectNotFound", name, err)
			}
		}
	})
}
