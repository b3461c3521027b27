package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

var cacheT0 = time.Date(2025, time.March, 10, 12, 0, 0, 0, time.UTC)

type cacheFixture struct {
	ctx     context.Context
	st      *store.Store
	svc     *Service
	clk     *clock.Fake
	partner model.Partner
}

func cacheEach(t *testing.T, fn func(t *testing.T, f *cacheFixture)) {
	t.Helper()
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewFake(cacheT0)
		svc := New(st, slog.New(slog.DiscardHandler), Options{BcryptCost: 4, Now: clk.Now, AllowPrivateWebhooks: true,
			ChannelView: func(ch model.Channel) any { return map[string]string{"id": ch.ID, "name": ch.Name} }})
		f := &cacheFixture{ctx: context.Background(), st: st, svc: svc, clk: clk}
		f.partner = f.newPartner(t, "acme")
		fn(t, f)
	})
}

func (f *cacheFixture) newPartner(t *testing.T, name string) model.Partner {
	t.Helper()
	p, _, err := f.svc.CreatePartner(f.ctx, CreatePartnerInput{Name: name, Email: name + "@example.com", Days: 100}, "test")
	if err != nil {
		t.Fatalf("CreatePartner: %v", err)
	}
	return p
}

func (f *cacheFixture) newChannel(t *testing.T, partnerID, name string) model.Channel {
	t.Helper()
	ch, err := f.svc.CreateChannel(f.ctx, partnerID, CreateChannelInput{Name: name})
	if err != nil {
		t.Fatalf("CreateChannel: %v", err)
	}
	return ch
}

// auth is the gate API's lookup: the channel of a token.
func (f *cacheFixture) auth(t *testing.T, token string) model.Channel {
	t.Helper()
	ch, err := f.svc.AuthenticateChannel(f.ctx, token)
	if err != nil {
		t.Fatalf("AuthenticateChannel: %v", err)
	}
	return ch
}

// sqlExec writes behind the service's back, as another node sharing the
// database would.
func (f *cacheFixture) sqlExec(t *testing.T, query string, args ...any) {
	t.Helper()
	if f.st.Dialect() == store.Postgres {
		for i := 1; i <= len(args); i++ {
			query = replaceFirst(query, "?", fmt.Sprintf("$%d", i))
		}
	}
	if _, err := f.st.DB().ExecContext(f.ctx, query, args...); err != nil {
		t.Fatalf("exec %s: %v", query, err)
	}
}

func replaceFirst(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	return s
}

// Every write this process makes to a channel row shows at once through the
// cached token lookup (which the gate API authenticates with) and the cached
// lookup by ID (engine events), without waiting for the TTL.
func TestCacheChannelWritesInvalidate(t *testing.T) {
	cacheEach(t, func(t *testing.T, f *cacheFixture) {
		ch := f.newChannel(t, f.partner.ID, "one")
		if got := f.auth(t, ch.Token); got.ID != ch.ID {
			t.Fatalf("auth: channel %s, want %s", got.ID, ch.ID)
		}
		check := func(step string, want func(model.Channel) bool) {
			t.Helper()
			byToken := f.auth(t, ch.Token)
			byID, err := f.svc.channelByID(f.ctx, ch.ID)
			if err != nil {
				t.Fatalf("%s: channelByID: %v", step, err)
			}
			if !want(byToken) || !want(byID) {
				t.Fatalf("%s: stale copy: by token %+v, by ID %+v", step, byToken, byID)
			}
		}
		check("warm", func(c model.Channel) bool { return c.Name == "one" })

		if _, err := f.svc.UpdateChannel(f.ctx, f.partner.ID, ch.ID, ChannelPatch{Name: ptr("two")}); err != nil {
			t.Fatal(err)
		}
		check("update", func(c model.Channel) bool { return c.Name == "two" })

		if _, _, err := f.svc.StopChannel(f.ctx, f.partner.ID, ch.ID, false, "test"); err != nil {
			t.Fatal(err)
		}
		check("stop", func(c model.Channel) bool { return c.Stopped })
		if err := f.svc.CheckRunning(f.auth(t, ch.Token)); !errors.Is(err, model.ErrStopped) {
			t.Fatalf("stopped channel: CheckRunning = %v, want ErrStopped", err)
		}

		if _, err := f.svc.StartChannel(f.ctx, f.partner.ID, ch.ID); err != nil {
			t.Fatal(err)
		}
		check("start", func(c model.Channel) bool { return !c.Stopped })

		before := f.auth(t, ch.Token).ActiveTill
		if _, err := f.svc.ExtendChannel(f.ctx, f.partner.ID, ch.ID, 5, "", "test"); err != nil {
			t.Fatal(err)
		}
		check("extend", func(c model.Channel) bool { return c.ActiveTill.After(before) })

		if _, err := f.svc.ChangeMode(f.ctx, f.partner.ID, ch.ID, model.ModeLive); err != nil {
			t.Fatal(err)
		}
		check("mode", func(c model.Channel) bool { return c.Mode == model.ModeLive })

		if err := f.st.SetChannelLink(f.ctx, ch.ID, "dev1", "15550001111", "Ann", f.clk.Now()); err != nil {
			t.Fatal(err)
		}
		check("link", func(c model.Channel) bool { return c.WAPhone == "15550001111" && c.Linked() })
		if err := f.st.ClearChannelLink(f.ctx, ch.ID); err != nil {
			t.Fatal(err)
		}
		check("unlink", func(c model.Channel) bool { return !c.Linked() })

		if err := f.st.SetChannelProxy(f.ctx, ch.ID, "socks5://10.0.0.1:1080"); err != nil {
			t.Fatal(err)
		}
		check("proxy", func(c model.Channel) bool { return c.Proxy == "socks5://10.0.0.1:1080" })

		// Out of days: the expiry is marked and the gate answers 402.
		f.clk.Advance(400 * 24 * time.Hour)
		if _, err := f.svc.ExpireDue(f.ctx); err != nil {
			t.Fatal(err)
		}
		check("expire", func(c model.Channel) bool { return c.ExpiredAt != nil })
		if err := f.svc.CheckRunning(f.auth(t, ch.Token)); !errors.Is(err, model.ErrExpired) {
			t.Fatalf("expired channel: CheckRunning = %v, want ErrExpired", err)
		}

		// A deleted channel's token stops working at once.
		if _, err := f.svc.DeleteChannel(f.ctx, f.partner.ID, ch.ID, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AuthenticateChannel(f.ctx, ch.Token); !errors.Is(err, model.ErrChannelNotFound) {
			t.Fatalf("deleted channel's token: %v, want ErrChannelNotFound", err)
		}
		if _, err := f.svc.channelByID(f.ctx, ch.ID); !errors.Is(err, model.ErrChannelNotFound) {
			t.Fatalf("deleted channel by ID: %v, want ErrChannelNotFound", err)
		}
	})
}

// Writes of other processes (here: SQL behind the service's back) show
// within the TTL, and not before it: the copy is served until then.
func TestCacheTTL(t *testing.T) {
	cacheEach(t, func(t *testing.T, f *cacheFixture) {
		ch := f.newChannel(t, f.partner.ID, "one")
		f.auth(t, ch.Token)
		if _, err := f.svc.ChannelSettings(f.ctx, ch); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.partnerSettings(f.ctx, f.partner.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.OperatorSettings(f.ctx); err != nil {
			t.Fatal(err)
		}

		f.sqlExec(t, "UPDATE channels SET stopped = ?, settings = ? WHERE id = ?", true, `{"offline_mode":true}`, ch.ID)
		f.sqlExec(t, "UPDATE partners SET settings = ? WHERE id = ?", `{"days_limit":7}`, f.partner.ID)
		f.sqlExec(t, `INSERT INTO settings (key, value) VALUES ('operator', '{"trial_days":9}')
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`)

		read := func() (model.Channel, model.ChannelSettings, model.PartnerSettings, model.OperatorSettings) {
			t.Helper()
			c := f.auth(t, ch.Token)
			cs, err := f.svc.ChannelSettings(f.ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			ps, err := f.svc.partnerSettings(f.ctx, f.partner.ID)
			if err != nil {
				t.Fatal(err)
			}
			op, err := f.svc.OperatorSettings(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			return c, cs, ps, op
		}
		f.clk.Advance(cacheTTL - time.Millisecond)
		c, cs, ps, op := read()
		if c.Stopped || cs.OfflineMode || ps.DaysLimit != nil || op.TrialDays == 9 {
			t.Fatalf("within the TTL: want the copies, got stopped=%v offline=%v daysLimit=%v trialDays=%d",
				c.Stopped, cs.OfflineMode, ps.DaysLimit, op.TrialDays)
		}
		f.clk.Advance(time.Millisecond)
		c, cs, ps, op = read()
		if !c.Stopped || !cs.OfflineMode || ps.DaysLimit == nil || *ps.DaysLimit != 7 || op.TrialDays != 9 {
			t.Fatalf("after the TTL: want the database's, got stopped=%v offline=%v daysLimit=%v trialDays=%d",
				c.Stopped, cs.OfflineMode, ps.DaysLimit, op.TrialDays)
		}
	})
}

// Settings writes of this process show at once: channel settings (patch,
// reset), partner settings, operator settings.
func TestCacheSettingsWritesInvalidate(t *testing.T) {
	cacheEach(t, func(t *testing.T, f *cacheFixture) {
		ch := f.newChannel(t, f.partner.ID, "one")
		if got := f.svc.hooks(f.ctx, ch, "messages", "post"); len(got) != 0 {
			t.Fatalf("hooks before: %d", len(got))
		}
		hooks := []model.ChannelWebhook{{URL: "http://127.0.0.1:9/hook"}}
		if _, err := f.svc.UpdateChannelSettings(f.ctx, ch, ChannelSettingsPatch{Webhooks: &hooks}); err != nil {
			t.Fatal(err)
		}
		if got := f.svc.hooks(f.ctx, ch, "messages", "post"); len(got) != 1 {
			t.Fatalf("hooks after a patch: %d, want 1", len(got))
		}
		if _, err := f.svc.ResetChannelSettings(f.ctx, ch); err != nil {
			t.Fatal(err)
		}
		if got := f.svc.hooks(f.ctx, ch, "messages", "post"); len(got) != 0 {
			t.Fatalf("hooks after a reset: %d, want 0", len(got))
		}

		if o := f.svc.partnerOutbox(f.ctx, f.partner.ID); o != nil {
			t.Fatal("partner outbox before: want none")
		}
		phooks := []model.PartnerWebhook{{URL: "http://127.0.0.1:9/p", Events: []model.WebhookEvent{{Type: "channel"}}}}
		if _, err := f.svc.UpdatePartnerSettings(f.ctx, f.partner.ID, PartnerSettingsPatch{Webhooks: &phooks}); err != nil {
			t.Fatal(err)
		}
		if o := f.svc.partnerOutbox(f.ctx, f.partner.ID); o == nil {
			t.Fatal("partner outbox after a settings change: want one")
		}

		if _, err := f.svc.OperatorSettings(f.ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.UpdateOperatorSettings(f.ctx, OperatorSettingsPatch{TrialDays: ptr(11)}); err != nil {
			t.Fatal(err)
		}
		if op, _ := f.svc.OperatorSettings(f.ctx); op.TrialDays != 11 {
			t.Fatalf("operator trial days %d, want 11", op.TrialDays)
		}
	})
}

// Copies never cross channels or partners, and what a caller does to its
// copy does not reach the cache.
func TestCacheTenancyAndCopies(t *testing.T) {
	cacheEach(t, func(t *testing.T, f *cacheFixture) {
		other := f.newPartner(t, "other")
		a := f.newChannel(t, f.partner.ID, "a")
		b := f.newChannel(t, other.ID, "b")
		ha := []model.ChannelWebhook{{URL: "http://127.0.0.1:9/a", Headers: map[string]string{"X-A": "1"}}}
		if _, err := f.svc.UpdateChannelSettings(f.ctx, a, ChannelSettingsPatch{Webhooks: &ha}); err != nil {
			t.Fatal(err)
		}
		for range 2 { // cold, then warm
			if got := f.auth(t, a.Token); got.ID != a.ID || got.PartnerID != f.partner.ID {
				t.Fatalf("token a: %s/%s", got.PartnerID, got.ID)
			}
			if got := f.auth(t, b.Token); got.ID != b.ID || got.PartnerID != other.ID {
				t.Fatalf("token b: %s/%s", got.PartnerID, got.ID)
			}
			sa, _ := f.svc.ChannelSettings(f.ctx, a)
			sb, _ := f.svc.ChannelSettings(f.ctx, b)
			if len(sa.Webhooks) != 1 || len(sb.Webhooks) != 0 {
				t.Fatalf("settings: a has %d webhooks, b %d", len(sa.Webhooks), len(sb.Webhooks))
			}
		}
		if _, err := f.svc.AuthenticateChannel(f.ctx, a.Token+"x"); !errors.Is(err, model.ErrChannelNotFound) {
			t.Fatalf("wrong token: %v", err)
		}

		sa, _ := f.svc.ChannelSettings(f.ctx, a)
		sa.Webhooks[0].URL = "http://evil/"
		sa.Webhooks[0].Headers["X-A"] = "2"
		sa.Media.AutoDownload = append(sa.Media.AutoDownload, "image")
		got, _ := f.svc.ChannelSettings(f.ctx, a)
		if got.Webhooks[0].URL != "http://127.0.0.1:9/a" || got.Webhooks[0].Headers["X-A"] != "1" || len(got.Media.AutoDownload) != 0 {
			t.Fatalf("a caller's change reached the cache: %+v", got)
		}
	})
}

// HandleRuntimeEvent reads no channel row for channel webhooks, and a
// deleted channel's last events go nowhere.
func TestCacheRuntimeEventOfDeletedChannel(t *testing.T) {
	cacheEach(t, func(t *testing.T, f *cacheFixture) {
		ch := f.newChannel(t, f.partner.ID, "one")
		hooks := []model.ChannelWebhook{{URL: "http://127.0.0.1:9/hook", Events: []model.WebhookEvent{{Type: "channel"}}}}
		if _, err := f.svc.UpdateChannelSettings(f.ctx, ch, ChannelSettingsPatch{Webhooks: &hooks}); err != nil {
			t.Fatal(err)
		}
		phooks := []model.PartnerWebhook{{URL: "http://127.0.0.1:9/p", Events: []model.WebhookEvent{{Type: "channel"}}}}
		if _, err := f.svc.UpdatePartnerSettings(f.ctx, f.partner.ID, PartnerSettingsPatch{Webhooks: &phooks}); err != nil {
			t.Fatal(err)
		}
		count := func() int {
			t.Helper()
			var n int
			if err := f.st.DB().QueryRowContext(f.ctx, "SELECT COUNT(*) FROM webhook_deliveries").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		ev := runtime.Event{ChannelID: ch.ID, PartnerID: f.partner.ID, Kind: runtime.EventStatus,
			Health: runtime.Health{ChannelID: ch.ID, Status: runtime.StatusAuth}, Time: f.clk.Now()}
		f.svc.HandleRuntimeEvent(ev)
		if n := count(); n != 2 {
			t.Fatalf("deliveries of a status event: %d, want 2 (channel and partner webhook)", n)
		}
		if _, err := f.svc.DeleteChannel(f.ctx, f.partner.ID, ch.ID, "test"); err != nil {
			t.Fatal(err)
		}
		n := count()
		f.svc.HandleRuntimeEvent(ev)
		if got := count(); got != n {
			t.Fatalf("a deleted channel's event enqueued %d deliveries", got-n)
		}
	})
}

// Reads and writes race (go test -race); once the writes end, every read
// shows the last write: no read that began before a write keeps an old copy.
func TestCacheConcurrency(t *testing.T) {
	cacheEach(t, func(t *testing.T, f *cacheFixture) {
		ch := f.newChannel(t, f.partner.ID, "one")
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					c, err := f.svc.AuthenticateChannel(f.ctx, ch.Token)
					if err != nil {
						t.Error(err)
						return
					}
					_, _ = f.svc.ChannelSettings(f.ctx, c)
					_, _ = f.svc.channelByID(f.ctx, ch.ID)
					_, _ = f.svc.partnerSettings(f.ctx, f.partner.ID)
					_, _ = f.svc.OperatorSettings(f.ctx)
				}
			}()
		}
		for i := range 20 {
			name := fmt.Sprintf("n%d", i)
			if _, err := f.svc.UpdateChannel(f.ctx, f.partner.ID, ch.ID, ChannelPatch{Name: &name}); err != nil {
				t.Fatal(err)
			}
			v := i%2 == 0
			if _, err := f.svc.UpdateChannelSettings(f.ctx, ch, ChannelSettingsPatch{OfflineMode: &v}); err != nil {
				t.Fatal(err)
			}
		}
		close(stop)
		wg.Wait()
		if got := f.auth(t, ch.Token); got.Name != "n19" {
			t.Fatalf("name after the writes: %q, want n19", got.Name)
		}
		if s, _ := f.svc.ChannelSettings(f.ctx, ch); s.OfflineMode {
			t.Fatal("offline_mode after the writes: true, want false")
		}
	})
}

// A read from the database that a write overtakes keeps nothing.
func TestCacheReadOvertakenByWrite(t *testing.T) {
	clk := clock.NewFake(cacheT0)
	c := newReadCache(clk.Now)
	n := 0
	fetch := func() (string, error) {
		n++
		if n == 1 {
			c.invalidate(store.Change{PartnerID: "p"}) // the write commits while we read
		}
		return fmt.Sprint(n), nil
	}
	var t1 cacheTable[string]
	if v, _ := load(c, &t1, "k", fetch, nil); v != "1" {
		t.Fatalf("first read %q", v)
	}
	if v, _ := load(c, &t1, "k", fetch, nil); v != "2" {
		t.Fatalf("second read %q, want a new read (2)", v)
	}
	if v, _ := load(c, &t1, "k", fetch, nil); v != "2" {
		t.Fatalf("third read %q, want the copy (2)", v)
	}
}

// A table never holds more than max copies.
func TestCacheBound(t *testing.T) {
	var tb cacheTable[int]
	exp := cacheT0.Add(time.Hour)
	for i := range 1000 {
		tb.put(fmt.Sprint(i), i, exp, 100)
		if len(tb.m) > 100 {
			t.Fatalf("%d copies, want at most 100", len(tb.m))
		}
	}
	if v, ok := tb.get("999", cacheT0); !ok || v != 999 {
		t.Fatalf("latest copy lost: %v %v", v, ok)
	}
}

func ptr[T any](v T) *T { return &v }
