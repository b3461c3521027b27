package billing

import (
	"errors"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/model"
)

// t0 is a fixed instant; no test here reads the wall clock.
var t0 = time.Date(2025, time.March, 10, 12, 0, 0, 0, time.UTC)

func days(n float64) time.Duration { return time.Duration(n * float64(Day)) }

// trialChannel is a channel created at t0 with trial free days.
func trialChannel(trial int) model.Channel {
	return NewChannel(model.Channel{ID: "SHAZAM-3HDYQ", PartnerID: "p", Name: "n"}, trial, t0)
}

// chanAt builds a channel directly from its billing fields.
func chanAt(mode model.Mode, trialUntil, activeTill time.Time) model.Channel {
	return model.Channel{ID: "SHAZAM-3HDYQ", Mode: mode, CreatedAt: t0, TrialUntil: trialUntil, ActiveTill: activeTill}
}

func TestNewChannel(t *testing.T) {
	expired := t0.Add(-time.Hour)
	for _, tc := range []struct {
		name        string
		trial       int
		wantExpired bool
	}{
		{"no trial", 0, true},
		{"five days", 5, false},
		{"one day", 1, false},
		{"a year", 365, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := model.Channel{ID: "SHAZAM-3HDYQ", Name: "x", Mode: model.ModeLive, Stopped: true, ExpiredAt: &expired,
				CreatedAt: t0.Add(-Day), TrialUntil: t0.Add(-Day), ActiveTill: t0.Add(-Day)}
			ch := NewChannel(in, tc.trial, t0)
			want := t0.Add(time.Duration(tc.trial) * Day)
			if ch.Mode != model.ModeTrial {
				t.Errorf("mode = %q, want trial", ch.Mode)
			}
			if !ch.CreatedAt.Equal(t0) {
				t.Errorf("createdAt = %v, want %v", ch.CreatedAt, t0)
			}
			if !ch.TrialUntil.Equal(want) || !ch.ActiveTill.Equal(want) {
				t.Errorf("trialUntil %v activeTill %v, want both %v", ch.TrialUntil, ch.ActiveTill, want)
			}
			if ch.Stopped {
				t.Error("new channel is stopped")
			}
			if ch.ID != in.ID || ch.Name != in.Name {
				t.Error("descriptive fields changed")
			}
			if UnusedPaidDays(ch, t0) != 0 {
				t.Errorf("new channel has %d paid days", UnusedPaidDays(ch, t0))
			}
			if got := ch.Expired(t0); got != tc.wantExpired {
				t.Errorf("Expired(now) = %v, want %v", got, tc.wantExpired)
			}
			switch {
			case tc.wantExpired && (ch.ExpiredAt == nil || !ch.ExpiredAt.Equal(t0)):
				t.Errorf("expiredAt = %v, want %v (born expired)", ch.ExpiredAt, t0)
			case !tc.wantExpired && ch.ExpiredAt != nil:
				t.Errorf("expiredAt = %v, want nil", ch.ExpiredAt)
			}
		})
	}
}

func TestExtend(t *testing.T) {
	marked := t0
	for _, tc := range []struct {
		name string
		ch   model.Channel
		now  time.Time
		days int64
		want time.Time
	}{
		{"during trial adds to trial end", trialChannel(5), t0.Add(Day), 10, t0.Add(15 * Day)},
		{"at creation", trialChannel(5), t0, 1, t0.Add(6 * Day)},
		{"no trial", trialChannel(0), t0, 3, t0.Add(3 * Day)},
		{"after expiry counts from now", trialChannel(5), t0.Add(days(7.25)), 10, t0.Add(days(17.25))},
		{"exactly at expiry", trialChannel(5), t0.Add(5 * Day), 2, t0.Add(7 * Day)},
		{"paid time left adds to it", chanAt(model.ModeLive, t0, t0.Add(4*Day)), t0.Add(Day), 2, t0.Add(6 * Day)},
		{"max", trialChannel(0), t0, MaxExtendDays, t0.Add(MaxExtendDays * Day)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.ch
			in.ExpiredAt = &marked
			got, err := Extend(in, tc.days, tc.now)
			if err != nil {
				t.Fatalf("Extend: %v", err)
			}
			if !got.ActiveTill.Equal(tc.want) {
				t.Errorf("activeTill = %v, want %v", got.ActiveTill, tc.want)
			}
			if got.ExpiredAt != nil {
				t.Errorf("expiredAt = %v, want nil after extend", got.ExpiredAt)
			}
			if !got.TrialUntil.Equal(in.TrialUntil) || got.Mode != in.Mode {
				t.Error("extend changed trial end or mode")
			}
			if got.Expired(tc.now) {
				t.Error("extended channel is expired")
			}
		})
	}
}

func TestExtendRejects(t *testing.T) {
	for _, d := range []int64{0, -1, -100, MaxExtendDays + 1, 1 << 62} {
		ch := trialChannel(5)
		got, err := Extend(ch, d, t0)
		if !errors.Is(err, model.ErrInvalid) {
			t.Errorf("Extend(%d): err = %v, want ErrInvalid", d, err)
		}
		if got != ch {
			t.Errorf("Extend(%d) changed the channel: %+v", d, got)
		}
	}
}

func TestUnusedPaidDays(t *testing.T) {
	for _, tc := range []struct {
		name string
		ch   model.Channel
		now  time.Time
		want int64
	}{
		{"trial only at start", trialChannel(5), t0, 0},
		{"trial only half way", trialChannel(5), t0.Add(days(2.5)), 0},
		{"trial only expired", trialChannel(5), t0.Add(10 * Day), 0},
		{"paid days exact during trial", chanAt(model.ModeTrial, t0.Add(5*Day), t0.Add(15*Day)), t0.Add(Day), 10},
		{"paid days exact at trial end", chanAt(model.ModeTrial, t0.Add(5*Day), t0.Add(15*Day)), t0.Add(5 * Day), 10},
		{"paid days exact after trial", chanAt(model.ModeLive, t0, t0.Add(10*Day)), t0, 10},
		{"2 days 23 h left floors to 2", chanAt(model.ModeLive, t0, t0.Add(10*Day)), t0.Add(7*Day + time.Hour), 2},
		{"1 ms short of a day", chanAt(model.ModeLive, t0, t0.Add(Day)), t0.Add(time.Millisecond), 0},
		{"trial time never counted", chanAt(model.ModeTrial, t0.Add(5*Day), t0.Add(days(5.9))), t0, 0},
		{"fraction after trial", chanAt(model.ModeTrial, t0.Add(5*Day), t0.Add(days(8.5))), t0.Add(Day), 3},
		{"at active till", chanAt(model.ModeLive, t0, t0.Add(3*Day)), t0.Add(3 * Day), 0},
		{"long expired never negative", chanAt(model.ModeLive, t0, t0.Add(3*Day)), t0.Add(30 * Day), 0},
		{"active till before trial end never negative", chanAt(model.ModeTrial, t0.Add(5*Day), t0.Add(Day)), t0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := UnusedPaidDays(tc.ch, tc.now); got != tc.want {
				t.Errorf("UnusedPaidDays = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestReclaim(t *testing.T) {
	for _, tc := range []struct {
		name string
		ch   model.Channel
		now  time.Time
		want int64
	}{
		{"trial only", trialChannel(5), t0.Add(Day), 0},
		{"paid during trial", chanAt(model.ModeTrial, t0.Add(5*Day), t0.Add(15*Day)), t0.Add(Day), 10},
		{"fraction stays", chanAt(model.ModeLive, t0, t0.Add(10*Day)), t0.Add(7*Day + time.Hour), 2},
		{"expired", chanAt(model.ModeLive, t0, t0.Add(Day)), t0.Add(2 * Day), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n := Reclaim(tc.ch, tc.now)
			if n != tc.want {
				t.Fatalf("reclaimed %d, want %d", n, tc.want)
			}
			if d := tc.ch.ActiveTill.Sub(got.ActiveTill); d != time.Duration(n)*Day {
				t.Errorf("activeTill shortened by %v, want %d days", d, n)
			}
			if left := UnusedPaidDays(got, tc.now); left != 0 {
				t.Errorf("%d paid days left after reclaim", left)
			}
			if got.ActiveTill.Before(tc.ch.TrialUntil) && tc.ch.ActiveTill.After(tc.ch.TrialUntil) {
				t.Error("reclaim took free trial time")
			}
			if got.Stopped != tc.ch.Stopped || got.Mode != tc.ch.Mode {
				t.Error("reclaim changed other fields")
			}
		})
	}
}

func TestChangeMode(t *testing.T) {
	type want struct {
		mode       model.Mode
		trialUntil time.Time
		activeTill time.Time
		paid       int64
		expired    bool
	}
	withPaid := chanAt(model.ModeTrial, t0.Add(5*Day), t0.Add(15*Day)) // 5 trial + 10 paid
	live := chanAt(model.ModeLive, t0, t0.Add(10*Day))
	now := t0.Add(2 * Day)
	for _, tc := range []struct {
		name string
		ch   model.Channel
		to   model.Mode
		now  time.Time
		want want
	}{
		{"trial->live forfeits trial keeps paid", withPaid, model.ModeLive, now,
			want{model.ModeLive, now, now.Add(10 * Day), 10, false}},
		{"trial->live without paid days expires now", trialChannel(5), model.ModeLive, now,
			want{model.ModeLive, now, now, 0, true}},
		{"trial->live after trial ended changes nothing else", withPaid, model.ModeLive, t0.Add(6 * Day),
			want{model.ModeLive, t0.Add(5 * Day), t0.Add(15 * Day), 9, false}},
		{"trial->dev keeps trial", withPaid, model.ModeDev, now,
			want{model.ModeDev, t0.Add(5 * Day), t0.Add(15 * Day), 10, false}},
		{"dev->live forfeits trial", func() model.Channel { c := withPaid; c.Mode = model.ModeDev; return c }(), model.ModeLive, now,
			want{model.ModeLive, now, now.Add(10 * Day), 10, false}},
		{"live->trial grants no time", live, model.ModeTrial, now,
			want{model.ModeTrial, t0, t0.Add(10 * Day), 8, false}},
		{"live->dev grants no time", live, model.ModeDev, now,
			want{model.ModeDev, t0, t0.Add(10 * Day), 8, false}},
		{"trial->trial no-op", withPaid, model.ModeTrial, now,
			want{model.ModeTrial, t0.Add(5 * Day), t0.Add(15 * Day), 10, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChangeMode(tc.ch, tc.to, tc.now)
			if err != nil {
				t.Fatalf("ChangeMode: %v", err)
			}
			if got.Mode != tc.want.mode {
				t.Errorf("mode = %q, want %q", got.Mode, tc.want.mode)
			}
			if !got.TrialUntil.Equal(tc.want.trialUntil) {
				t.Errorf("trialUntil = %v, want %v", got.TrialUntil, tc.want.trialUntil)
			}
			if !got.ActiveTill.Equal(tc.want.activeTill) {
				t.Errorf("activeTill = %v, want %v", got.ActiveTill, tc.want.activeTill)
			}
			if p := UnusedPaidDays(got, tc.now); p != tc.want.paid {
				t.Errorf("paid days = %d, want %d", p, tc.want.paid)
			}
			if e := got.Expired(tc.now); e != tc.want.expired {
				t.Errorf("expired = %v, want %v", e, tc.want.expired)
			}
		})
	}
	t.Run("live->trial->live grants nothing", func(t *testing.T) {
		ch, _ := ChangeMode(trialChannel(5), model.ModeLive, now)
		ch, _ = ChangeMode(ch, model.ModeTrial, now.Add(time.Hour))
		if !ch.ActiveTill.Equal(now) || ch.Running(now.Add(time.Hour)) {
			t.Fatalf("back to trial gave time: activeTill %v", ch.ActiveTill)
		}
	})
	for _, bad := range []model.Mode{"", "Live", "prod", "sandbox"} {
		ch := withPaid
		got, err := ChangeMode(ch, bad, now)
		if !errors.Is(err, model.ErrInvalid) {
			t.Errorf("ChangeMode(%q): err = %v, want ErrInvalid", bad, err)
		}
		if got != ch {
			t.Errorf("ChangeMode(%q) changed the channel", bad)
		}
	}
}

func TestStart(t *testing.T) {
	ch := trialChannel(5)
	ch.Stopped = true
	got, err := Start(ch, t0.Add(Day))
	if err != nil || got.Stopped {
		t.Fatalf("Start during trial: stopped=%v err=%v", got.Stopped, err)
	}
	if got.ActiveTill != ch.ActiveTill {
		t.Error("start changed activeTill")
	}
	for _, now := range []time.Time{t0.Add(5 * Day), t0.Add(9 * Day)} {
		got, err := Start(ch, now)
		if !errors.Is(err, model.ErrExpired) {
			t.Errorf("Start at %v: err = %v, want ErrExpired", now, err)
		}
		if !got.Stopped {
			t.Error("failed start cleared stopped")
		}
	}
	// Never stopped but expired: still ErrExpired.
	if _, err := Start(trialChannel(0), t0); !errors.Is(err, model.ErrExpired) {
		t.Errorf("Start of a channel born without time: %v", err)
	}
}

func TestStop(t *testing.T) {
	ch := chanAt(model.ModeTrial, t0.Add(5*Day), t0.Add(15*Day))
	now := t0.Add(Day)
	got, n := Stop(ch, false, now)
	if !got.Stopped || n != 0 || got.ActiveTill != ch.ActiveTill {
		t.Errorf("Stop(saveDays=false): stopped %v refunded %d activeTill %v", got.Stopped, n, got.ActiveTill)
	}
	got, n = Stop(ch, true, now)
	if !got.Stopped || n != 10 || !got.ActiveTill.Equal(t0.Add(5*Day)) {
		t.Errorf("Stop(saveDays=true): stopped %v refunded %d activeTill %v", got.Stopped, n, got.ActiveTill)
	}
	// Trial only: nothing to save, trial time kept.
	got, n = Stop(trialChannel(5), true, now)
	if n != 0 || !got.ActiveTill.Equal(t0.Add(5*Day)) {
		t.Errorf("Stop trial-only: refunded %d activeTill %v", n, got.ActiveTill)
	}
	// Stopping twice does not refund twice.
	got, _ = Stop(ch, true, now)
	if _, n := Stop(got, true, now); n != 0 {
		t.Errorf("second stop refunded %d", n)
	}
}

// TestScenario walks one channel through a sequence of operations with a
// fake clock, checking activeTill and refunds at each step.
func TestScenario(t *testing.T) {
	clk := clock.NewFake(t0)
	var ch model.Channel
	type step struct {
		name       string
		advance    time.Duration
		do         func(t *testing.T, now time.Time) int64 // returns days refunded
		activeTill time.Time
		trialUntil time.Time
		paid       int64
		refund     int64
		running    bool
	}
	must := func(t *testing.T, c model.Channel, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		ch = c
	}
	steps := []step{
		{"create with 5 trial days", 0, func(t *testing.T, now time.Time) int64 {
			ch = NewChannel(model.Channel{ID: "SHAZAM-3HDYQ"}, 5, now)
			return 0
		}, t0.Add(5 * Day), t0.Add(5 * Day), 0, 0, true},
		{"extend 10 at day 1", Day, func(t *testing.T, now time.Time) int64 {
			c, err := Extend(ch, 10, now)
			must(t, c, err)
			return 0
		}, t0.Add(15 * Day), t0.Add(5 * Day), 10, 0, true},
		{"go live at day 2", Day, func(t *testing.T, now time.Time) int64 {
			c, err := ChangeMode(ch, model.ModeLive, now)
			must(t, c, err)
			return 0
		}, t0.Add(12 * Day), t0.Add(2 * Day), 10, 0, true},
		{"3.5 days later", days(3.5), func(t *testing.T, now time.Time) int64 { return 0 },
			t0.Add(12 * Day), t0.Add(2 * Day), 6, 0, true},
		{"delete refunds floor(6.5)", 0, func(t *testing.T, now time.Time) int64 {
			c, n := Reclaim(ch, now)
			ch = c
			return n
		}, t0.Add(6 * Day), t0.Add(2 * Day), 0, 6, true},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		now := clk.Now()
		refund := s.do(t, now)
		if refund != s.refund {
			t.Errorf("%s: refund %d, want %d", s.name, refund, s.refund)
		}
		if !ch.ActiveTill.Equal(s.activeTill) {
			t.Errorf("%s: activeTill %v, want %v", s.name, ch.ActiveTill, s.activeTill)
		}
		if !ch.TrialUntil.Equal(s.trialUntil) {
			t.Errorf("%s: trialUntil %v, want %v", s.name, ch.TrialUntil, s.trialUntil)
		}
		if p := UnusedPaidDays(ch, now); p != s.paid {
			t.Errorf("%s: paid days %d, want %d", s.name, p, s.paid)
		}
		if r := ch.Running(now); r != s.running {
			t.Errorf("%s: running %v, want %v", s.name, r, s.running)
		}
	}
	// The half day left after the refund runs out, then an extend revives it.
	clk.Advance(12 * time.Hour)
	if !ch.Expired(clk.Now()) {
		t.Fatalf("channel still active at %v (activeTill %v)", clk.Now(), ch.ActiveTill)
	}
	if _, err := Start(ch, clk.Now()); !errors.Is(err, model.ErrExpired) {
		t.Fatalf("start of expired channel: %v", err)
	}
	clk.Advance(Day)
	c, err := Extend(ch, 2, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(2 * Day); !c.ActiveTill.Equal(want) {
		t.Fatalf("extend after expiry: activeTill %v, want %v", c.ActiveTill, want)
	}
}
