package service

import (
	"context"
	"time"

	"github.com/wagate/wagate/internal/store"
)

// Figures for the dashboard's charts.

// ChartDays is how many days the per-day charts cover.
const ChartDays = 30

// DaySeries is one count per day for some kinds, over consecutive days.
type DaySeries struct {
	Days   []time.Time      // midnight UTC of each day, oldest first
	Counts map[string][]int // kind -> one count per day
}

func daySeries(now time.Time, days int, counts []store.DayCount, kinds ...string) DaySeries {
	first := store.DayOf(now) - int64(days) + 1
	d := DaySeries{Counts: map[string][]int{}}
	for i := range days {
		d.Days = append(d.Days, time.UnixMilli((first+int64(i))*24*60*60*1000).UTC())
	}
	for _, k := range kinds {
		d.Counts[k] = make([]int, days)
	}
	for _, c := range counts {
		i := c.Day - first
		if i < 0 || i >= int64(days) {
			continue
		}
		if d.Counts[c.Kind] == nil {
			d.Counts[c.Kind] = make([]int, days)
		}
		d.Counts[c.Kind][i] += c.Count
	}
	return d
}

// ChannelActivity is a channel's messages sent and received per day and
// its webhook deliveries per day by outcome, over the last ChartDays days.
func (s *Service) ChannelActivity(ctx context.Context, partnerID, channelID string) (msgs, hooks DaySeries, err error) {
	ch, err := s.Channel(ctx, partnerID, channelID)
	if err != nil {
		return msgs, hooks, err
	}
	now := s.now()
	since := time.UnixMilli((store.DayOf(now) - ChartDays + 1) * 24 * 60 * 60 * 1000)
	m, err := s.store.MessagesPerDay(ctx, ch.ID, since)
	if err != nil {
		return msgs, hooks, err
	}
	h, err := s.store.DeliveriesPerDay(ctx, partnerID, ch.ID, since)
	if err != nil {
		return msgs, hooks, err
	}
	return daySeries(now, ChartDays, m, "sent", "received"),
		daySeries(now, ChartDays, h, "delivered", "failed", "dropped", "pending"), nil
}

// BalanceHistory is the partner's balance after each of its last 200
// ledger rows, oldest first.
func (s *Service) BalanceHistory(ctx context.Context, partnerID string) ([]store.BalancePoint, error) {
	return s.store.BalanceHistory(ctx, partnerID, 200)
}

// ChannelsByStatus counts all channels by billing status (operator).
func (s *Service) ChannelsByStatus(ctx context.Context) ([]store.ChannelStatusCount, error) {
	return s.store.ChannelsByStatus(ctx, s.now())
}

// DaysSoldPerMonth sums the days the operator credited per partner and
// month over the last twelve months (operator).
func (s *Service) DaysSoldPerMonth(ctx context.Context) ([]store.DaysSold, error) {
	now := s.now()
	since := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -11, 0)
	return s.store.DaysSoldPerMonth(ctx, since)
}
