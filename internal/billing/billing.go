// Package billing holds the rules of days and modes (design.md section 3) as
// pure functions of a channel and the time. The store applies their results
// atomically with the ledger; nothing here touches a database.
package billing

import (
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// Day is one billed day.
const Day = 24 * time.Hour

// MaxExtendDays bounds one extend call (ten years), so a typo cannot move a
// whole balance and time arithmetic cannot overflow.
const MaxExtendDays = 3650

// NewChannel sets the billing fields of a channel created at now with
// trialDays free days: mode trial, trial end and active-till both at
// now + trialDays. No balance is used.
func NewChannel(ch model.Channel, trialDays int, now time.Time) model.Channel {
	ch.Mode = model.ModeTrial
	ch.CreatedAt = now
	ch.TrialUntil = now.Add(time.Duration(trialDays) * Day)
	ch.ActiveTill = ch.TrialUntil
	ch.Stopped = false
	ch.ExpiredAt = nil
	if trialDays <= 0 {
		// A channel born without active time has already "expired": mark it
		// so the expiry sweep does not report it as a new event.
		t := now
		ch.ExpiredAt = &t
	}
	return ch
}

// Extend moves days of paid time onto a channel: activeTill becomes
// max(now, activeTill) + days. An expired channel comes back to life.
func Extend(ch model.Channel, days int64, now time.Time) (model.Channel, error) {
	if days <= 0 || days > MaxExtendDays {
		return ch, fmt.Errorf("days: must be a whole number from 1 to %d: %w", MaxExtendDays, model.ErrInvalid)
	}
	base := ch.ActiveTill
	if now.After(base) {
		base = now
	}
	ch.ActiveTill = addDays(base, days)
	ch.ExpiredAt = nil
	return ch, nil
}

// addDays adds whole 24-hour days without time.Duration's ~292-year limit.
func addDays(t time.Time, days int64) time.Time {
	return time.UnixMilli(t.UnixMilli() + days*Day.Milliseconds()).UTC()
}

// paidStart is where paid time begins: free trial time is used first.
func paidStart(ch model.Channel, now time.Time) time.Time {
	if ch.TrialUntil.After(now) {
		return ch.TrialUntil
	}
	return now
}

// UnusedPaidDays is the number of whole paid days left on a channel at now:
// floor((activeTill - max(now, trialUntil)) / 24h), never negative, never
// counting free trial time.
func UnusedPaidDays(ch model.Channel, now time.Time) int64 {
	// In milliseconds, not time.Duration: a Duration saturates at ~292
	// years, and a channel extended many times may hold more than that.
	left := ch.ActiveTill.UnixMilli() - paidStart(ch, now).UnixMilli()
	if left <= 0 {
		return 0
	}
	return left / Day.Milliseconds()
}

// Reclaim takes the unused whole paid days off a channel (for delete, or stop
// with saveDays) and returns the channel with its active time shortened by
// them and the number of days to return to the balance.
func Reclaim(ch model.Channel, now time.Time) (model.Channel, int64) {
	days := UnusedPaidDays(ch, now)
	ch.ActiveTill = addDays(ch.ActiveTill, -days)
	return ch, days
}

// ChangeMode switches a channel's mode. Going live forfeits the unused free
// trial time (live channels run on paid days only), so a channel without paid
// days stops until it is extended. Other switches change only the mode: they
// never grant new free time.
func ChangeMode(ch model.Channel, to model.Mode, now time.Time) (model.Channel, error) {
	if !to.Valid() {
		return ch, fmt.Errorf("mode: must be one of trial, dev, dev_archive, live (got %q): %w", to, model.ErrInvalid)
	}
	if to == model.ModeLive && ch.TrialUntil.After(now) {
		free := ch.TrialUntil.Sub(now)
		ch.ActiveTill = ch.ActiveTill.Add(-free)
		if ch.ActiveTill.Before(now) { // cannot happen while activeTill >= trialUntil; kept as a guard
			ch.ActiveTill = now
		}
		ch.TrialUntil = now
	}
	ch.Mode = to
	return ch, nil
}

// Start clears a manual stop. A channel without active time cannot start:
// it needs days first (ErrExpired).
func Start(ch model.Channel, now time.Time) (model.Channel, error) {
	if ch.Expired(now) {
		return ch, fmt.Errorf("channel has no active days left; extend it first: %w", model.ErrExpired)
	}
	ch.Stopped = false
	return ch, nil
}

// Stop marks a channel stopped. With saveDays its unused whole paid days are
// reclaimed; otherwise its time keeps running out.
func Stop(ch model.Channel, saveDays bool, now time.Time) (model.Channel, int64) {
	ch.Stopped = true
	if !saveDays {
		return ch, 0
	}
	return Reclaim(ch, now)
}
