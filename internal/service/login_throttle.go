package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
)

// Dashboard login throttling, built so that guessing is slow and that an
// attacker who knows an account's email cannot lock its owner out:
//
//   - Failures from one address count together (PerIP, 20 in 15 minutes):
//     past it, that address is refused (429) whatever account it tries.
//   - Failures for one account from one address count together
//     (PerAccount, 5): past it, that account is refused from that address
//     only. An attacker blocks itself, never the account.
//   - Failures for one account from all the clients it does not trust
//     count together too (SlowAfter, 10): past it, every attempt of such a
//     client waits before its password is checked (Delay more per failure,
//     MaxDelay at most): guessing from many addresses slows down; nobody
//     is refused.
//   - A browser that logged in to the account before carries a device
//     cookie (180 days). Its attempts count only against itself
//     (PerAccount failures) and never wait, so the account's owner logs in
//     from a known browser whatever others do.
//
// Failures are kept Window (15 minutes); a good login clears those of its
// address (or device) for that account.

// LoginLimit tunes the throttle; zero fields take DefaultLoginLimit's.
type LoginLimit struct {
	PerIP      int
	PerAccount int
	SlowAfter  int
	Delay      time.Duration
	MaxDelay   time.Duration
	Window     time.Duration
}

// DefaultLoginLimit is the throttle's default.
var DefaultLoginLimit = LoginLimit{PerIP: 20, PerAccount: 5, SlowAfter: 10, Delay: time.Second, MaxDelay: 10 * time.Second,
	Window: 15 * time.Minute}

// DeviceTTL is how long a device stays trusted after its last login.
const DeviceTTL = 180 * 24 * time.Hour

func (l LoginLimit) withDefaults() LoginLimit {
	d := DefaultLoginLimit
	if l.PerIP > 0 {
		d.PerIP = l.PerIP
	}
	if l.PerAccount > 0 {
		d.PerAccount = l.PerAccount
	}
	if l.SlowAfter > 0 {
		d.SlowAfter = l.SlowAfter
	}
	if l.Delay > 0 {
		d.Delay = l.Delay
	}
	if l.MaxDelay > 0 {
		d.MaxDelay = l.MaxDelay
	}
	if l.Window > 0 {
		d.Window = l.Window
	}
	return d
}

// throttled is what the throttle decided for one attempt.
type throttled struct {
	trusted     bool
	failureKeys []string // where a failure counts
	clearKey    string   // what a good login clears
}

// throttle refuses an attempt over a limit (*model.RateLimitError), or
// makes it wait, and says where its failure would count.
func (s *Service) throttle(ctx context.Context, in DashboardLogin, account string, limit LoginLimit, now time.Time) (throttled, error) {
	var t throttled
	if in.Device != "" && len(in.Device) <= 128 {
		owner, err := s.store.LoginDevice(ctx, ids.Hash(in.Device), now)
		if err != nil {
			return t, err
		}
		t.trusted = owner == account
	}
	type counter struct {
		key string
		max int
	}
	var counters []counter
	if t.trusted {
		t.clearKey = "device:" + ids.Hash(in.Device)
		counters = []counter{{t.clearKey, limit.PerAccount}}
		t.failureKeys = []string{t.clearKey}
	} else {
		t.clearKey = "pair:" + account + "|" + in.IP
		counters = []counter{{"ip:" + in.IP, limit.PerIP}, {t.clearKey, limit.PerAccount}}
		t.failureKeys = []string{"ip:" + in.IP, t.clearKey, "account:" + account}
	}
	for _, c := range counters {
		n, oldest, err := s.store.LoginFailures(ctx, c.key, now.Add(-limit.Window))
		if err != nil {
			return t, err
		}
		if n >= c.max {
			wait := max(oldest.Add(limit.Window).Sub(now), time.Second)
			return t, &model.RateLimitError{RetryAfter: wait,
				Message: fmt.Sprintf("too many failed logins; try again in %s", roundUp(wait))}
		}
	}
	if t.trusted {
		return t, nil
	}
	n, _, err := s.store.LoginFailures(ctx, "account:"+account, now.Add(-limit.Window))
	if err != nil {
		return t, err
	}
	if over := n - limit.SlowAfter; over >= 0 {
		wait := min(time.Duration(over+1)*limit.Delay, limit.MaxDelay)
		s.log.InfoContext(ctx, "dashboard login slowed down", "kind", in.Kind, "remote", in.IP, "wait", wait)
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return t, ctx.Err()
		}
	}
	return t, nil
}

// trustDevice returns the device cookie of a good login: the client's own
// when the account already trusts it (renewed), a new one otherwise.
func (s *Service) trustDevice(ctx context.Context, device string, trusted bool, account string, now time.Time) (string, error) {
	if !trusted {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		device = base64.RawURLEncoding.EncodeToString(b)
	}
	if err := s.store.SaveLoginDevice(ctx, ids.Hash(device), account, now, now.Add(DeviceTTL)); err != nil {
		return "", err
	}
	return device, nil
}
