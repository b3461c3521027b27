package service_test

// Helpers in this file and channels_test.go carry an "sv" prefix so they do
// not collide with other _test files of package service_test.

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// svT0 is where every fake clock starts: a whole millisecond, since the
// store keeps epoch milliseconds.
var svT0 = time.Date(2025, time.March, 10, 12, 0, 0, 0, time.UTC)

const svDay = 24 * time.Hour

// svFixture is a service over a fresh store with a fake clock.
type svFixture struct {
	ctx context.Context
	st  *store.Store
	svc *service.Service
	clk *clock.Fake
}

// svEach runs fn on every backend with a fresh service.
func svEach(t *testing.T, fn func(t *testing.T, f *svFixture)) {
	t.Helper()
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewFake(svT0)
		svc := service.New(st, slog.New(slog.DiscardHandler), service.Options{BcryptCost: 4, Now: clk.Now, APIURL: "http://wagate.test/"})
		fn(t, &svFixture{ctx: context.Background(), st: st, svc: svc, clk: clk})
	})
}

// partner creates a partner with an initial balance and registers a ledger
// audit (balance == sum of ledger) for the end of the test.
func (f *svFixture) partner(t *testing.T, name string, days int64) (model.Partner, string) {
	t.Helper()
	return f.partnerWith(t, service.CreatePartnerInput{Name: name, Email: name + "@example.com", Days: days})
}

func (f *svFixture) partnerWith(t *testing.T, in service.CreatePartnerInput) (model.Partner, string) {
	t.Helper()
	p, token, err := f.svc.CreatePartner(f.ctx, in, "test-operator")
	if err != nil {
		t.Fatalf("CreatePartner(%s): %v", in.Name, err)
	}
	t.Cleanup(func() { svAudit(t, f, p.ID) })
	return p, token
}

func svAudit(t *testing.T, f *svFixture, partnerID string) {
	t.Helper()
	bal, sum, err := f.svc.LedgerAudit(context.Background(), partnerID)
	if err != nil {
		t.Errorf("ledger audit: %v", err)
		return
	}
	if bal != sum {
		t.Errorf("partner %s: balance %d != ledger sum %d", partnerID, bal, sum)
	}
}

func (f *svFixture) balance(t *testing.T, partnerID string) int64 {
	t.Helper()
	p, err := f.svc.Partner(f.ctx, partnerID)
	if err != nil {
		t.Fatalf("Partner: %v", err)
	}
	return p.Balance
}

func (f *svFixture) ledger(t *testing.T, partnerID string) []model.LedgerEntry {
	t.Helper()
	rows, total, err := f.svc.Ledger(f.ctx, partnerID, service.Page{Count: 1000})
	if err != nil {
		t.Fatalf("Ledger: %v", err)
	}
	if total != len(rows) {
		t.Fatalf("ledger total %d, rows %d", total, len(rows))
	}
	return rows
}

// svWantInvalid checks err is a validation error about field.
func svWantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid about %s", err, field)
	}
	var fe *service.FieldError
	if !errors.As(err, &fe) || fe.Field != field {
		t.Errorf("err = %v (%T), want a FieldError for %q", err, err, field)
	}
	if !strings.HasPrefix(err.Error(), field+": ") {
		t.Errorf("message %q does not name %q", err, field)
	}
}

func svWantIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func svIntp(v int) *int { return &v }

// svSet is a patch field present with a value; svNull one present as null.
func svSet[T any](v T) model.Optional[T] { return model.Optional[T]{Set: true, Value: &v} }
func svNull[T any]() model.Optional[T]   { return model.Optional[T]{Set: true} }

func TestSvEnsureAdminToken(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		auth := func(token string) bool {
			t.Helper()
			ok, err := f.svc.AuthenticateAdmin(f.ctx, token)
			if err != nil {
				t.Fatalf("AuthenticateAdmin: %v", err)
			}
			return ok
		}
		if auth("anything-at-all-123") {
			t.Fatal("a token is accepted before any was set")
		}
		gen, err := f.svc.EnsureAdminToken(f.ctx, "")
		if err != nil || gen == "" {
			t.Fatalf("first EnsureAdminToken = %q, %v; want a generated token", gen, err)
		}
		if !strings.HasPrefix(gen, "wga_") || len(gen) < 32 {
			t.Errorf("generated token %q", gen)
		}
		if !auth(gen) {
			t.Fatal("generated token rejected")
		}
		for _, bad := range []string{"", gen + "x", gen[:len(gen)-1], strings.ToUpper(gen), " " + gen} {
			if auth(bad) {
				t.Errorf("token %q accepted", bad)
			}
		}
		again, err := f.svc.EnsureAdminToken(f.ctx, "")
		if err != nil || again != "" {
			t.Fatalf("second EnsureAdminToken = %q, %v; want \"\"", again, err)
		}
		if !auth(gen) {
			t.Fatal("second start lost the generated token")
		}

		configured := "configured-admin-token-0123456789"
		if got, err := f.svc.EnsureAdminToken(f.ctx, configured); err != nil || got != "" {
			t.Fatalf("EnsureAdminToken(configured) = %q, %v", got, err)
		}
		if !auth(configured) || auth(gen) {
			t.Fatalf("configured token: accepted %v, old generated still accepted %v", auth(configured), auth(gen))
		}
		if got, err := f.svc.EnsureAdminToken(f.ctx, ""); err != nil || got != "" {
			t.Fatalf("start without configured token after one was set = %q, %v", got, err)
		}
		if !auth(configured) {
			t.Fatal("configured token lost")
		}

		for _, short := range []string{"x", "fifteen-chars-x"} {
			if _, err := f.svc.EnsureAdminToken(f.ctx, short); err == nil {
				t.Errorf("short configured token %q accepted", short)
			}
			if auth(short) || !auth(configured) {
				t.Errorf("rejected short token %q changed the stored token", short)
			}
		}
		if _, err := f.svc.EnsureAdminToken(f.ctx, "sixteen-chars-xx"); err != nil {
			t.Errorf("16-character token rejected: %v", err)
		}
	})
}

func TestSvRotateAdminToken(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		old, err := f.svc.EnsureAdminToken(f.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		next, err := f.svc.RotateAdminToken(f.ctx)
		if err != nil || next == "" || next == old {
			t.Fatalf("RotateAdminToken = %q, %v", next, err)
		}
		if ok, _ := f.svc.AuthenticateAdmin(f.ctx, old); ok {
			t.Error("old admin token still accepted")
		}
		if ok, _ := f.svc.AuthenticateAdmin(f.ctx, next); !ok {
			t.Error("rotated admin token rejected")
		}
		if got, _ := f.svc.EnsureAdminToken(f.ctx, ""); got != "" {
			t.Error("EnsureAdminToken generated a token after rotation")
		}
	})
}

func TestSvCreatePartnerValidation(t *testing.T) {
	ok := service.CreatePartnerInput{Name: "acme", Email: "ops@acme.example", Password: "password1", TrialDays: svIntp(3), Days: 10}
	type invalidCase struct {
		name  string
		edit  func(*service.CreatePartnerInput)
		field string
	}
	cases := []invalidCase{
		{"empty name", func(in *service.CreatePartnerInput) { in.Name = "" }, "name"},
		{"name with space", func(in *service.CreatePartnerInput) { in.Name = "ac me" }, "name"},
		{"name with dot", func(in *service.CreatePartnerInput) { in.Name = "acme.com" }, "name"},
		{"name too long", func(in *service.CreatePartnerInput) { in.Name = strings.Repeat("a", 65) }, "name"},
		{"name not ascii", func(in *service.CreatePartnerInput) { in.Name = "acmé" }, "name"},
		{"empty email", func(in *service.CreatePartnerInput) { in.Email = "  " }, "email"},
		{"email without at", func(in *service.CreatePartnerInput) { in.Email = "acme.example" }, "email"},
		{"email with display name", func(in *service.CreatePartnerInput) { in.Email = "Acme <ops@acme.example>" }, "email"},
		{"two emails", func(in *service.CreatePartnerInput) { in.Email = "a@b.example, c@d.example" }, "email"},
		{"email too long", func(in *service.CreatePartnerInput) { in.Email = strings.Repeat("a", 250) + "@b.example" }, "email"},
		{"negative days", func(in *service.CreatePartnerInput) { in.Days = -1 }, "days"},
		{"too many days", func(in *service.CreatePartnerInput) { in.Days = service.MaxCreditDays + 1 }, "days"},
		{"negative trial days", func(in *service.CreatePartnerInput) { in.TrialDays = svIntp(-1) }, "trial_days"},
		{"trial days over 365", func(in *service.CreatePartnerInput) { in.TrialDays = svIntp(366) }, "trial_days"},
		{"short password", func(in *service.CreatePartnerInput) { in.Password = "1234567" }, "password"},
		{"password over 72 bytes", func(in *service.CreatePartnerInput) { in.Password = strings.Repeat("p", 73) }, "password"},
	}
	svEach(t, func(t *testing.T, f *svFixture) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				in := ok
				tc.edit(&in)
				p, token, err := f.svc.CreatePartner(f.ctx, in, "op")
				svWantInvalid(t, err, tc.field)
				if token != "" || p.ID != "" {
					t.Errorf("rejected partner returned id %q token %q", p.ID, token)
				}
				list, total, err := f.svc.Partners(f.ctx, service.Page{Count: 10})
				if err != nil || total != 0 || len(list) != 0 {
					t.Fatalf("partners after rejection: %d %v", total, err)
				}
			})
		}
		// The same input with every field valid is accepted.
		if _, _, err := f.svc.CreatePartner(f.ctx, ok, "op"); err != nil {
			t.Fatalf("valid input: %v", err)
		}
	})
}

func TestSvCreatePartner(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, token := f.partnerWith(t, service.CreatePartnerInput{Name: "Acme_1-x", Email: "  Ops@Acme.Example ", Days: 12})
		if p.Email != "ops@acme.example" {
			t.Errorf("email %q, want trimmed and lower case", p.Email)
		}
		if p.Balance != 12 || p.TrialDays != -1 || !p.CreatedAt.Equal(svT0) || len(p.ID) != 28 {
			t.Errorf("partner %+v", p)
		}
		if !strings.HasPrefix(token, "wgp_") || p.TokenHash == token || p.PasswordHash != "" {
			t.Errorf("token %q hash %q password hash %q", token, p.TokenHash, p.PasswordHash)
		}
		stored, err := f.svc.Partner(f.ctx, p.ID)
		if err != nil || stored.Balance != 12 || stored.Name != "Acme_1-x" || stored.Email != p.Email {
			t.Fatalf("stored partner %+v %v", stored, err)
		}
		rows := f.ledger(t, p.ID)
		if len(rows) != 1 || rows[0].Delta != 12 || rows[0].Reason != model.ReasonCredit || rows[0].Actor != "test-operator" ||
			rows[0].BalanceAfter != 12 || rows[0].ChannelID != "" {
			t.Errorf("initial ledger %+v", rows)
		}
		if _, err := f.svc.Project(f.ctx, p.ID, model.DefaultProjectID); err != nil {
			t.Errorf("default project: %v", err)
		}

		// No initial days: no ledger row.
		q, _ := f.partner(t, "zero", 0)
		if rows := f.ledger(t, q.ID); len(rows) != 0 {
			t.Errorf("ledger of a partner created without days: %+v", rows)
		}

		// Name and email are unique (email case-insensitively).
		_, _, err = f.svc.CreatePartner(f.ctx, service.CreatePartnerInput{Name: "Acme_1-x", Email: "other@acme.example"}, "op")
		svWantIs(t, err, model.ErrConflict)
		_, _, err = f.svc.CreatePartner(f.ctx, service.CreatePartnerInput{Name: "other", Email: "OPS@acme.example"}, "op")
		svWantIs(t, err, model.ErrConflict)
		if _, total, _ := f.svc.Partners(f.ctx, service.Page{Count: 10}); total != 2 {
			t.Errorf("%d partners, want 2", total)
		}
		if _, err := f.svc.Partner(f.ctx, "nobody"); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("unknown partner: %v", err)
		}
	})
}

func TestSvAuthenticatePartner(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, token := f.partner(t, "acme", 0)
		other, otherToken := f.partner(t, "other", 0)
		got, err := f.svc.AuthenticatePartner(f.ctx, token)
		if err != nil || got.ID != p.ID {
			t.Fatalf("right token: %+v %v", got, err)
		}
		if got, _ := f.svc.AuthenticatePartner(f.ctx, otherToken); got.ID != other.ID {
			t.Fatalf("other token authenticated %q", got.ID)
		}
		for _, bad := range []string{"", "wrong", token + "x", token[:len(token)-1], p.TokenHash, strings.ToUpper(token)} {
			got, err := f.svc.AuthenticatePartner(f.ctx, bad)
			if !errors.Is(err, model.ErrNotFound) || got.ID != "" {
				t.Errorf("token %q: %+v %v", bad, got.ID, err)
			}
		}
		next, err := f.svc.RotatePartnerToken(f.ctx, p.ID)
		if err != nil || next == "" || next == token {
			t.Fatalf("RotatePartnerToken = %q, %v", next, err)
		}
		if _, err := f.svc.AuthenticatePartner(f.ctx, token); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("old token after rotation: %v", err)
		}
		if got, err := f.svc.AuthenticatePartner(f.ctx, next); err != nil || got.ID != p.ID {
			t.Errorf("rotated token: %v", err)
		}
		if got, err := f.svc.AuthenticatePartner(f.ctx, otherToken); err != nil || got.ID != other.ID {
			t.Errorf("rotation touched another partner: %v", err)
		}
		if _, err := f.svc.RotatePartnerToken(f.ctx, "nobody"); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("rotate unknown partner: %v", err)
		}
	})
}

func TestSvAuthenticatePartnerPassword(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partnerWith(t, service.CreatePartnerInput{Name: "acme", Email: "ops@acme.example", Password: "correct horse"})
		nopw, _ := f.partner(t, "nopw", 0)
		if p.PasswordHash == "" || strings.Contains(p.PasswordHash, "correct") {
			t.Fatalf("password hash %q", p.PasswordHash)
		}
		for _, email := range []string{"ops@acme.example", " OPS@Acme.example "} {
			got, err := f.svc.AuthenticatePartnerPassword(f.ctx, email, "correct horse")
			if err != nil || got.ID != p.ID {
				t.Errorf("login %q: %+v %v", email, got.ID, err)
			}
		}
		for _, tc := range []struct{ email, password string }{
			{"ops@acme.example", "wrong horse"},
			{"ops@acme.example", ""},
			{"ops@acme.example", "correct horse "},
			{"nobody@acme.example", "correct horse"},
			{"", ""},
			{nopw.Email, ""},
			{nopw.Email, "anything-at-all"},
		} {
			got, err := f.svc.AuthenticatePartnerPassword(f.ctx, tc.email, tc.password)
			if !errors.Is(err, model.ErrNotFound) || got.ID != "" {
				t.Errorf("login %q/%q: %q %v, want ErrNotFound", tc.email, tc.password, got.ID, err)
			}
		}

		// Setting a password enables the login; a short one is rejected.
		svWantInvalid(t, f.svc.SetPartnerPassword(f.ctx, nopw.ID, "short"), "password")
		if err := f.svc.SetPartnerPassword(f.ctx, nopw.ID, "now-a-password"); err != nil {
			t.Fatal(err)
		}
		if got, err := f.svc.AuthenticatePartnerPassword(f.ctx, nopw.Email, "now-a-password"); err != nil || got.ID != nopw.ID {
			t.Errorf("login after SetPartnerPassword: %v", err)
		}
		if err := f.svc.SetPartnerPassword(f.ctx, "nobody", "now-a-password"); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("SetPartnerPassword unknown partner: %v", err)
		}
	})
}

func TestSvUpdatePartner(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 0)
		for _, tc := range []struct {
			patch service.PartnerPatch
			field string
		}{
			{service.PartnerPatch{TrialDays: svSet(366)}, "trial_days"},
			{service.PartnerPatch{TrialDays: svSet(-1)}, "trial_days"},
			{service.PartnerPatch{Password: svStrp("short")}, "password"},
			{service.PartnerPatch{TrialDays: svSet(3), Password: svStrp("short")}, "password"},
			{service.PartnerPatch{TrialDays: svSet(400), Password: svStrp("long enough pw")}, "trial_days"},
		} {
			_, err := f.svc.UpdatePartner(f.ctx, p.ID, tc.patch)
			svWantInvalid(t, err, tc.field)
		}
		if got, _ := f.svc.Partner(f.ctx, p.ID); got.TrialDays != -1 || got.PasswordHash != "" {
			t.Fatalf("rejected patches changed the partner: %+v", got)
		}
		got, err := f.svc.UpdatePartner(f.ctx, p.ID, service.PartnerPatch{TrialDays: svSet(9), Password: svStrp("long enough pw")})
		if err != nil || got.TrialDays != 9 || got.PasswordHash == "" {
			t.Fatalf("UpdatePartner: %+v %v", got, err)
		}
		if _, err := f.svc.AuthenticatePartnerPassword(f.ctx, p.Email, "long enough pw"); err != nil {
			t.Errorf("login with the new password: %v", err)
		}
		// Absent fields stay; null trial days is the operator default.
		if got, err := f.svc.UpdatePartner(f.ctx, p.ID, service.PartnerPatch{}); err != nil || got.TrialDays != 9 {
			t.Errorf("empty patch: %+v %v", got, err)
		}
		if got, err := f.svc.UpdatePartner(f.ctx, p.ID, service.PartnerPatch{TrialDays: svNull[int]()}); err != nil || got.TrialDays != -1 {
			t.Errorf("null trial days: %+v %v", got, err)
		}
		if got, _ := f.svc.Partner(f.ctx, p.ID); got.TrialDays != -1 || got.PasswordHash == "" {
			t.Errorf("stored %+v", got)
		}
		if _, err := f.svc.UpdatePartner(f.ctx, "nobody", service.PartnerPatch{TrialDays: svSet(1)}); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("unknown partner: %v", err)
		}
	})
}

func TestSvCreditDays(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 0)
		for _, d := range []int64{0, service.MaxCreditDays + 1, -service.MaxCreditDays - 1} {
			_, err := f.svc.CreditDays(f.ctx, p.ID, d, "", "op")
			svWantInvalid(t, err, "days")
		}
		_, err := f.svc.CreditDays(f.ctx, p.ID, 1, strings.Repeat("c", 501), "op")
		svWantInvalid(t, err, "comment")
		_, err = f.svc.CreditDays(f.ctx, p.ID, 1, "bad\x00comment", "op")
		svWantInvalid(t, err, "comment")
		if rows := f.ledger(t, p.ID); len(rows) != 0 {
			t.Fatalf("rejected credits wrote ledger rows: %+v", rows)
		}

		bal, err := f.svc.CreditDays(f.ctx, p.ID, 10, "bought 10", "alice")
		if err != nil || bal != 10 {
			t.Fatalf("credit: %d %v", bal, err)
		}
		f.clk.Advance(time.Hour)
		bal, err = f.svc.CreditDays(f.ctx, p.ID, -3, "refund to customer", "bob")
		if err != nil || bal != 7 {
			t.Fatalf("debit: %d %v", bal, err)
		}
		_, err = f.svc.CreditDays(f.ctx, p.ID, -8, "too much", "bob")
		svWantIs(t, err, model.ErrInsufficientDays)
		if b := f.balance(t, p.ID); b != 7 {
			t.Fatalf("balance after refused debit %d, want 7", b)
		}
		bal, err = f.svc.CreditDays(f.ctx, p.ID, -7, "", "bob")
		if err != nil || bal != 0 {
			t.Fatalf("debit to zero: %d %v", bal, err)
		}
		rows := f.ledger(t, p.ID)
		want := []struct {
			delta, after int64
			reason       model.LedgerReason
			comment      string
			actor        string
			at           time.Time
		}{
			{-7, 0, model.ReasonDebit, "", "bob", svT0.Add(time.Hour)},
			{-3, 7, model.ReasonDebit, "refund to customer", "bob", svT0.Add(time.Hour)},
			{10, 10, model.ReasonCredit, "bought 10", "alice", svT0},
		}
		if len(rows) != len(want) {
			t.Fatalf("ledger %+v, want %d rows", rows, len(want))
		}
		for i, w := range want {
			r := rows[i]
			if r.Delta != w.delta || r.BalanceAfter != w.after || r.Reason != w.reason || r.Comment != w.comment ||
				r.Actor != w.actor || !r.CreatedAt.Equal(w.at) || r.PartnerID != p.ID || r.ChannelID != "" {
				t.Errorf("ledger row %d = %+v, want %+v", i, r, w)
			}
		}
		if rows[0].ID <= rows[1].ID {
			t.Errorf("ledger not newest first: ids %d, %d", rows[0].ID, rows[1].ID)
		}
		// Paging.
		page, total, err := f.svc.Ledger(f.ctx, p.ID, service.Page{Count: 1, Offset: 1})
		if err != nil || total != 3 || len(page) != 1 || page[0].ID != rows[1].ID {
			t.Errorf("ledger page: %+v total %d %v", page, total, err)
		}

		_, err = f.svc.CreditDays(f.ctx, "nobody", 5, "", "op")
		svWantIs(t, err, model.ErrNotFound)
		_, _, err = f.svc.Ledger(f.ctx, "nobody", service.Page{Count: 10})
		svWantIs(t, err, model.ErrNotFound)
	})
}

func TestSvUpdateOperatorSettings(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		got, err := f.svc.OperatorSettings(f.ctx)
		if err != nil || got != model.DefaultOperatorSettings() {
			t.Fatalf("defaults %+v %v", got, err)
		}
		got, err = f.svc.UpdateOperatorSettings(f.ctx, service.OperatorSettingsPatch{TrialDays: svIntp(7)})
		if err != nil || got.TrialDays != 7 || got.ChannelCreateLimit != 20 || got.ChannelCreateWindow != 30 {
			t.Fatalf("patch trial days: %+v %v", got, err)
		}
		want := model.DefaultOperatorSettings()
		want.TrialDays, want.ChannelCreateLimit, want.ChannelCreateWindow = 7, 20, 30
		for _, tc := range []struct {
			name  string
			patch service.OperatorSettingsPatch
			field string
		}{
			{"trial -1", service.OperatorSettingsPatch{TrialDays: svIntp(-1)}, "trial_days"},
			{"trial 366", service.OperatorSettingsPatch{TrialDays: svIntp(366)}, "trial_days"},
			{"limit -1", service.OperatorSettingsPatch{ChannelCreateLimit: svIntp(-1)}, "channel_create_limit"},
			{"window 0", service.OperatorSettingsPatch{ChannelCreateWindow: svIntp(0)}, "channel_create_window_minutes"},
			{"messages per day -1", service.OperatorSettingsPatch{LimitMessagesPerDay: svIntp(-1)}, "limit_messages_per_day"},
			{"window over a week", service.OperatorSettingsPatch{ChannelCreateWindow: svIntp(10081)}, "channel_create_window_minutes"},
			{"valid then invalid", service.OperatorSettingsPatch{TrialDays: svIntp(1), ChannelCreateLimit: svIntp(2), ChannelCreateWindow: svIntp(0)}, "channel_create_window_minutes"},
		} {
			_, err := f.svc.UpdateOperatorSettings(f.ctx, tc.patch)
			svWantInvalid(t, err, tc.field)
			if stored, _ := f.svc.OperatorSettings(f.ctx); stored != want {
				t.Errorf("%s: stored %+v after rejection, want %+v", tc.name, stored, want)
			}
		}
		got, err = f.svc.UpdateOperatorSettings(f.ctx, service.OperatorSettingsPatch{
			TrialDays: svIntp(0), ChannelCreateLimit: svIntp(0), ChannelCreateWindow: svIntp(10080)})
		want.TrialDays, want.ChannelCreateLimit, want.ChannelCreateWindow = 0, 0, 10080
		if err != nil || got != want {
			t.Fatalf("patch all: %+v %v", got, err)
		}
		if stored, _ := f.svc.OperatorSettings(f.ctx); stored != want {
			t.Errorf("stored %+v, want %+v", stored, want)
		}
		// An empty patch changes nothing.
		if got, err := f.svc.UpdateOperatorSettings(f.ctx, service.OperatorSettingsPatch{}); err != nil || got != want {
			t.Errorf("empty patch: %+v %v", got, err)
		}
	})
}

// On a rejected patch the returned settings are what is stored.
func TestSvUpdateOperatorSettingsReturnOnError(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		got, err := f.svc.UpdateOperatorSettings(f.ctx, service.OperatorSettingsPatch{TrialDays: svIntp(9), ChannelCreateWindow: svIntp(0)})
		svWantInvalid(t, err, "channel_create_window_minutes")
		if got.TrialDays != model.DefaultOperatorSettings().TrialDays {
			t.Fatalf("service.go UpdateOperatorSettings returns the half-applied patch (trial_days %d) with its error; nothing is stored", got.TrialDays)
		}
	})
}

func TestSvUpdatePartnerSettings(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 0)
		empty, err := f.svc.PartnerSettings(f.ctx, p.ID)
		if err != nil || len(empty.Webhooks) != 0 || empty.DaysLimit != nil {
			t.Fatalf("initial settings %+v %v", empty, err)
		}
		hooks := []model.PartnerWebhook{
			{URL: "https://hooks.example/wagate"},
			{URL: "http://hooks2.example:8080/x?y=1", Mode: "path", Events: []model.WebhookEvent{{Type: "channel"}, {Type: "days", Method: "post"}}},
		}
		got, err := f.svc.UpdatePartnerSettings(f.ctx, p.ID, service.PartnerSettingsPatch{Webhooks: &hooks, DaysLimit: svSet[int64](5)})
		if err != nil {
			t.Fatalf("UpdatePartnerSettings: %v", err)
		}
		check := func(s model.PartnerSettings) {
			t.Helper()
			if len(s.Webhooks) != 2 || s.DaysLimit == nil || *s.DaysLimit != 5 {
				t.Fatalf("settings %+v", s)
			}
			h0, h1 := s.Webhooks[0], s.Webhooks[1]
			if h0.Mode != "body" || len(h0.Events) != 1 || h0.Events[0] != (model.WebhookEvent{Type: "days", Method: "post"}) {
				t.Errorf("defaults not filled: %+v", h0)
			}
			if h1.Mode != "path" || len(h1.Events) != 2 || h1.Events[0] != (model.WebhookEvent{Type: "channel", Method: "post"}) {
				t.Errorf("second hook %+v", h1)
			}
		}
		check(got)
		stored, err := f.svc.PartnerSettings(f.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(stored)

		one := func(h model.PartnerWebhook) *[]model.PartnerWebhook { return &[]model.PartnerWebhook{h} }
		for _, tc := range []struct {
			name  string
			patch service.PartnerSettingsPatch
			field string
		}{
			{"ftp url", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "ftp://hooks.example/x"})}, "webhooks[0].url"},
			{"relative url", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "hooks.example/x"})}, "webhooks[0].url"},
			{"empty url", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{})}, "webhooks[0].url"},
			{"no host", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "https:///x"})}, "webhooks[0].url"},
			{"javascript", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "javascript:alert(1)"})}, "webhooks[0].url"},
			{"credentials", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "https://user:pw@hooks.example/x"})}, "webhooks[0].url"},
			{"loopback", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "http://127.0.0.1:8080/x"})}, "webhooks[0].url"},
			{"private", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "https://10.1.2.3/x"})}, "webhooks[0].url"},
			{"localhost", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "http://localhost/x"})}, "webhooks[0].url"},
			{"link-local", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "http://[fe80::1]/x"})}, "webhooks[0].url"},
			{"user only", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "https://user@hooks.example/x"})}, "webhooks[0].url"},
			{"too long", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "https://h.example/" + strings.Repeat("a", 2048)})}, "webhooks[0].url"},
			{"bad mode", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "https://h.example/", Mode: "query"})}, "webhooks[0].mode"},
			{"unknown event", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "https://h.example/",
				Events: []model.WebhookEvent{{Type: "days"}, {Type: "messages"}}})}, "webhooks[0].events[1].type"},
			{"bad method", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "https://h.example/",
				Events: []model.WebhookEvent{{Type: "days", Method: "get"}}})}, "webhooks[0].events[0].method"},
			{"second hook bad", service.PartnerSettingsPatch{Webhooks: &[]model.PartnerWebhook{{URL: "https://ok.example/"}, {URL: "nope"}}}, "webhooks[1].url"},
			{"eleven hooks", service.PartnerSettingsPatch{Webhooks: func() *[]model.PartnerWebhook {
				hs := make([]model.PartnerWebhook, 11)
				for i := range hs {
					hs[i].URL = "https://h.example/"
				}
				return &hs
			}()}, "webhooks"},
			{"negative days limit", service.PartnerSettingsPatch{DaysLimit: svSet[int64](-1)}, "days_limit"},
			{"huge days limit", service.PartnerSettingsPatch{DaysLimit: svSet[int64](service.MaxCreditDays + 1)}, "days_limit"},
			{"good hooks, bad limit", service.PartnerSettingsPatch{Webhooks: one(model.PartnerWebhook{URL: "https://new.example/"}), DaysLimit: svSet[int64](-5)}, "days_limit"},
		} {
			_, err := f.svc.UpdatePartnerSettings(f.ctx, p.ID, tc.patch)
			svWantInvalid(t, err, tc.field)
			after, err := f.svc.PartnerSettings(f.ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(after)
			if t.Failed() {
				t.Fatalf("%s: rejected patch changed stored settings", tc.name)
			}
		}

		// Only the days limit: webhooks stay. An empty list clears them.
		got, err = f.svc.UpdatePartnerSettings(f.ctx, p.ID, service.PartnerSettingsPatch{DaysLimit: svSet[int64](0)})
		if err != nil || len(got.Webhooks) != 2 || *got.DaysLimit != 0 {
			t.Fatalf("days limit only: %+v %v", got, err)
		}
		got, err = f.svc.UpdatePartnerSettings(f.ctx, p.ID, service.PartnerSettingsPatch{Webhooks: &[]model.PartnerWebhook{}})
		if err != nil || got.Webhooks == nil || len(got.Webhooks) != 0 {
			t.Fatalf("clear webhooks: %+v %v", got, err)
		}
		if s, _ := f.svc.PartnerSettings(f.ctx, p.ID); len(s.Webhooks) != 0 || s.DaysLimit == nil || *s.DaysLimit != 0 {
			t.Errorf("stored after clear: %+v", s)
		}

		// A null days limit removes it.
		got, err = f.svc.UpdatePartnerSettings(f.ctx, p.ID, service.PartnerSettingsPatch{DaysLimit: svNull[int64]()})
		if err != nil || got.DaysLimit != nil {
			t.Errorf("null days limit: %+v %v", got, err)
		}
		if s, _ := f.svc.PartnerSettings(f.ctx, p.ID); s.DaysLimit != nil {
			t.Errorf("stored days limit %v after null", *s.DaysLimit)
		}

		// Another partner's settings are untouched.
		q, _ := f.partner(t, "other", 0)
		if s, _ := f.svc.PartnerSettings(f.ctx, q.ID); len(s.Webhooks) != 0 || s.DaysLimit != nil {
			t.Errorf("other partner settings %+v", s)
		}
		_, err = f.svc.UpdatePartnerSettings(f.ctx, "nobody", service.PartnerSettingsPatch{DaysLimit: svSet[int64](1)})
		svWantIs(t, err, model.ErrNotFound)
	})
}

// Defaults are filled into the caller's slice too: the patch is modified.
func TestSvUpdatePartnerSettingsLeavesPatchAlone(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 0)
		hooks := []model.PartnerWebhook{{URL: "https://h.example/"}}
		if _, err := f.svc.UpdatePartnerSettings(f.ctx, p.ID, service.PartnerSettingsPatch{Webhooks: &hooks}); err != nil {
			t.Fatal(err)
		}
		if hooks[0].Mode != "" || hooks[0].Events != nil {
			t.Fatalf("partners.go UpdatePartnerSettings writes defaults into the caller's webhook slice (%+v)", hooks[0])
		}
	})
}
