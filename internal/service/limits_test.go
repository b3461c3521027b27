package service_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

// limSetup sets the operator's limits and returns a trial channel.
func limSetup(t *testing.T, f *svFixture, messages, chats, checks, requests int) model.Channel {
	t.Helper()
	_, err := f.svc.UpdateOperatorSettings(f.ctx, service.OperatorSettingsPatch{
		LimitMessagesPerDay: svIntp(messages), LimitChatsPerMonth: svIntp(chats),
		LimitChecksPerDay: svIntp(checks), LimitRequestsPerMonth: svIntp(requests),
	})
	if err != nil {
		t.Fatalf("UpdateOperatorSettings: %v", err)
	}
	p, _ := f.partner(t, fmt.Sprintf("lim%d", time.Now().UnixNano()), 0)
	ch := f.channel(t, p.ID, "limited")
	if ch.Mode != model.ModeTrial {
		t.Fatalf("new channel mode %q, want trial", ch.Mode)
	}
	return ch
}

// limWant402 checks err is a limit error whose message names the limit.
func limWant402(t *testing.T, err error, mentions ...string) {
	t.Helper()
	if !errors.Is(err, model.ErrLimitExceeded) {
		t.Fatalf("err = %v, want ErrLimitExceeded", err)
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("message %q does not mention %q", err, m)
		}
	}
}

func limCounter(t *testing.T, f *svFixture, ch model.Channel, kind, period string) int {
	t.Helper()
	n, err := f.st.Counter(f.ctx, ch.ID, kind, period)
	if err != nil {
		t.Fatalf("Counter: %v", err)
	}
	return n
}

func TestLimitMessagesPerDay(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		ch := limSetup(t, f, 3, 5, 100, 1000)
		// Just before midnight UTC.
		f.clk.Set(time.Date(2025, 3, 10, 23, 59, 59, 0, time.UTC))
		for i := range 3 {
			if err := f.svc.UseLimit(f.ctx, ch, service.LimitMessages, 1); err != nil {
				t.Fatalf("message %d: %v", i+1, err)
			}
		}
		err := f.svc.UseLimit(f.ctx, ch, service.LimitMessages, 1)
		limWant402(t, err, "trial", "3 messages per day", "live")
		if n := limCounter(t, f, ch, service.LimitMessages, "2025-03-10"); n != 3 {
			t.Fatalf("counter %d after a refused use, want 3", n)
		}
		// Sandbox (dev) channels are limited too, by the same counter.
		dev := ch
		dev.Mode = model.ModeDev
		limWant402(t, f.svc.UseLimit(f.ctx, dev, service.LimitMessages, 1), "dev")
		// Other kinds and channels count apart.
		if err := f.svc.UseLimit(f.ctx, ch, service.LimitChecks, 1); err != nil {
			t.Fatalf("checks beside used-up messages: %v", err)
		}
		p2, _ := f.partner(t, fmt.Sprintf("lim2%d", time.Now().UnixNano()), 0)
		other := f.channel(t, p2.ID, "other")
		if err := f.svc.UseLimit(f.ctx, other, service.LimitMessages, 1); err != nil {
			t.Fatalf("another channel: %v", err)
		}
		// A new day (UTC) starts afresh.
		f.clk.Advance(time.Second)
		for i := range 3 {
			if err := f.svc.UseLimit(f.ctx, ch, service.LimitMessages, 1); err != nil {
				t.Fatalf("next day, message %d: %v", i+1, err)
			}
		}
		limWant402(t, f.svc.UseLimit(f.ctx, ch, service.LimitMessages, 1))
		if n := limCounter(t, f, ch, service.LimitMessages, "2025-03-11"); n != 3 {
			t.Fatalf("next day's counter %d", n)
		}
		// A raised limit lets more in at once.
		_, err = f.svc.UpdateOperatorSettings(f.ctx, service.OperatorSettingsPatch{LimitMessagesPerDay: svIntp(4)})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.UseLimit(f.ctx, ch, service.LimitMessages, 1); err != nil {
			t.Fatalf("after raising the limit: %v", err)
		}
	})
}

func TestLimitRequestsPerMonth(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		ch := limSetup(t, f, 150, 5, 100, 2)
		f.clk.Set(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
		for range 2 {
			if err := f.svc.UseLimit(f.ctx, ch, service.LimitRequests, 1); err != nil {
				t.Fatal(err)
			}
		}
		// The next day is the same month.
		f.clk.Advance(svDay)
		limWant402(t, f.svc.UseLimit(f.ctx, ch, service.LimitRequests, 1), "2 requests per month")
		// The last moment of the month too.
		f.clk.Set(time.Date(2025, 3, 31, 23, 59, 59, 999e6, time.UTC))
		limWant402(t, f.svc.UseLimit(f.ctx, ch, service.LimitRequests, 1))
		f.clk.Advance(time.Millisecond)
		if err := f.svc.UseLimit(f.ctx, ch, service.LimitRequests, 1); err != nil {
			t.Fatalf("a new month: %v", err)
		}
		if n := limCounter(t, f, ch, service.LimitRequests, "2025-04"); n != 1 {
			t.Fatalf("April's counter %d", n)
		}
		if n := limCounter(t, f, ch, service.LimitRequests, "2025-03"); n != 2 {
			t.Fatalf("March's counter %d", n)
		}
	})
}

// TestLimitBatch: several uses at once (numbers checked) count all or none.
func TestLimitBatch(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		ch := limSetup(t, f, 150, 5, 5, 1000)
		day := svT0.Format("2006-01-02")
		if err := f.svc.UseLimit(f.ctx, ch, service.LimitChecks, 3); err != nil {
			t.Fatal(err)
		}
		limWant402(t, f.svc.UseLimit(f.ctx, ch, service.LimitChecks, 3), "5 checks per day")
		if n := limCounter(t, f, ch, service.LimitChecks, day); n != 3 {
			t.Fatalf("a refused batch counted: counter %d, want 3", n)
		}
		limWant402(t, f.svc.UseLimit(f.ctx, ch, service.LimitChecks, 6))
		if err := f.svc.UseLimit(f.ctx, ch, service.LimitChecks, 2); err != nil {
			t.Fatalf("a batch that fits: %v", err)
		}
		if err := f.svc.UseLimit(f.ctx, ch, service.LimitChecks, 0); err != nil {
			t.Fatalf("nothing to count: %v", err)
		}
		if n := limCounter(t, f, ch, service.LimitChecks, day); n != 5 {
			t.Fatalf("counter %d, want 5", n)
		}
	})
}

// TestLimitsUnlimited: live channels, a 0 limit and unknown kinds count
// nothing and never refuse.
func TestLimitsUnlimited(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		ch := limSetup(t, f, 1, 1, 0, 1)
		day := svT0.Format("2006-01-02")
		live := ch
		live.Mode = model.ModeLive
		for range 5 {
			for _, kind := range []string{service.LimitMessages, service.LimitChecks, service.LimitRequests} {
				if err := f.svc.UseLimit(f.ctx, live, kind, 2); err != nil {
					t.Fatalf("live %s: %v", kind, err)
				}
			}
			if err := f.svc.UseChat(f.ctx, live, fmt.Sprintf("1555000000%d@s.whatsapp.net", time.Now().UnixNano()%10)); err != nil {
				t.Fatalf("live chat: %v", err)
			}
			if err := f.svc.UseLimit(f.ctx, ch, service.LimitChecks, 3); err != nil {
				t.Fatalf("checks with no limit: %v", err)
			}
			if err := f.svc.UseLimit(f.ctx, ch, "bogus", 1); err != nil {
				t.Fatalf("unknown kind: %v", err)
			}
		}
		for _, kind := range []string{service.LimitMessages, service.LimitChecks} {
			if n := limCounter(t, f, ch, kind, day); n != 0 {
				t.Errorf("%s counted %d for live or unlimited use", kind, n)
			}
		}
		if used, _ := f.st.UsedChats(f.ctx, ch.ID, svT0.Format("2006-01")); len(used) != 0 {
			t.Errorf("live chats recorded: %v", used)
		}
		left, limited, err := f.svc.RemainingLimits(f.ctx, live)
		if err != nil || limited || !reflect.DeepEqual(left, service.LimitsLeft{}) {
			t.Fatalf("live RemainingLimits = %+v %v %v", left, limited, err)
		}
		// The trial channel's own limits still hold.
		if err := f.svc.UseLimit(f.ctx, ch, service.LimitMessages, 1); err != nil {
			t.Fatal(err)
		}
		limWant402(t, f.svc.UseLimit(f.ctx, ch, service.LimitMessages, 1), "1 messages per day")
	})
}

func TestLimitChatsPerMonth(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		ch := limSetup(t, f, 150, 2, 100, 1000)
		a, b, c := "15550000001@s.whatsapp.net", "15550000002@s.whatsapp.net", "120363000000000001@g.us"
		f.clk.Set(time.Date(2025, 2, 28, 23, 0, 0, 0, time.UTC))
		for _, chat := range []string{a, b, a, b} {
			if err := f.svc.UseChat(f.ctx, ch, chat); err != nil {
				t.Fatalf("chat %s: %v", chat, err)
			}
		}
		limWant402(t, f.svc.UseChat(f.ctx, ch, c), "trial", "2 chats per month")
		if err := f.svc.UseChat(f.ctx, ch, a); err != nil {
			t.Fatalf("a known chat at the limit: %v", err)
		}
		dev := ch
		dev.Mode = model.ModeDev
		limWant402(t, f.svc.UseChat(f.ctx, dev, c), "dev")

		left, limited, err := f.svc.RemainingLimits(f.ctx, ch)
		if err != nil || !limited {
			t.Fatalf("RemainingLimits: %v %v", limited, err)
		}
		if !reflect.DeepEqual(left.Chats, []string{a, b}) || left.ChatsMax != 2 {
			t.Fatalf("chats used %v of %d", left.Chats, left.ChatsMax)
		}

		// March starts afresh.
		f.clk.Advance(time.Hour)
		if err := f.svc.UseChat(f.ctx, ch, c); err != nil {
			t.Fatalf("a new month: %v", err)
		}
		left, _, _ = f.svc.RemainingLimits(f.ctx, ch)
		if !reflect.DeepEqual(left.Chats, []string{c}) {
			t.Fatalf("March's chats %v", left.Chats)
		}

		// No limit: any number of chats, none recorded.
		if _, err := f.svc.UpdateOperatorSettings(f.ctx, service.OperatorSettingsPatch{LimitChatsPerMonth: svIntp(0)}); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if err := f.svc.UseChat(f.ctx, ch, fmt.Sprintf("155500001%02d@s.whatsapp.net", i)); err != nil {
				t.Fatalf("unlimited chats: %v", err)
			}
		}
		left, _, _ = f.svc.RemainingLimits(f.ctx, ch)
		if len(left.Chats) != 1 || left.ChatsMax != -1 {
			t.Fatalf("with no chat limit: %v of %d, want [c] of -1", left.Chats, left.ChatsMax)
		}
	})
}

func TestRemainingLimits(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		ch := limSetup(t, f, 10, 3, 0, 100)
		left, limited, err := f.svc.RemainingLimits(f.ctx, ch)
		if err != nil || !limited {
			t.Fatalf("RemainingLimits: %v %v", limited, err)
		}
		want := service.LimitsLeft{Messages: 10, Chats: []string{}, ChatsMax: 3, Checks: -1, Requests: 100}
		if !reflect.DeepEqual(left, want) {
			t.Fatalf("fresh: %+v, want %+v", left, want)
		}
		for range 4 {
			if err := f.svc.UseLimit(f.ctx, ch, service.LimitMessages, 1); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.svc.UseLimit(f.ctx, ch, service.LimitRequests, 1); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.UseChat(f.ctx, ch, "15550000001@s.whatsapp.net"); err != nil {
			t.Fatal(err)
		}
		left, _, _ = f.svc.RemainingLimits(f.ctx, ch)
		want = service.LimitsLeft{Messages: 6, Chats: []string{"15550000001@s.whatsapp.net"}, ChatsMax: 3, Checks: -1, Requests: 99}
		if !reflect.DeepEqual(left, want) {
			t.Fatalf("after use: %+v, want %+v", left, want)
		}
		// A limit lowered under what was used shows 0, not less.
		if _, err := f.svc.UpdateOperatorSettings(f.ctx, service.OperatorSettingsPatch{LimitMessagesPerDay: svIntp(2)}); err != nil {
			t.Fatal(err)
		}
		if left, _, _ = f.svc.RemainingLimits(f.ctx, ch); left.Messages != 0 {
			t.Fatalf("messages left %d under a lowered limit", left.Messages)
		}
		// The next day: messages back, requests (monthly) not.
		f.clk.Advance(svDay)
		if left, _, _ = f.svc.RemainingLimits(f.ctx, ch); left.Messages != 2 || left.Requests != 99 || len(left.Chats) != 1 {
			t.Fatalf("next day: %+v", left)
		}
	})
}

// TestLimitConcurrent: concurrent uses never pass the limit.
func TestLimitConcurrent(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		ch := limSetup(t, f, 20, 20, 100, 1000)
		var msgOK, chatOK atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if err := f.svc.UseLimit(f.ctx, ch, service.LimitMessages, 1); err == nil {
					msgOK.Add(1)
				} else if !errors.Is(err, model.ErrLimitExceeded) {
					t.Errorf("UseLimit: %v", err)
				}
				if err := f.svc.UseChat(f.ctx, ch, fmt.Sprintf("155500%05d@s.whatsapp.net", i)); err == nil {
					chatOK.Add(1)
				} else if !errors.Is(err, model.ErrLimitExceeded) {
					t.Errorf("UseChat: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if msgOK.Load() != 20 || chatOK.Load() != 20 {
			t.Fatalf("%d messages and %d chats passed, want 20 each", msgOK.Load(), chatOK.Load())
		}
		left, _, err := f.svc.RemainingLimits(f.ctx, ch)
		if err != nil || left.Messages != 0 || len(left.Chats) != 20 {
			t.Fatalf("left: %+v %v", left, err)
		}
	})
}
