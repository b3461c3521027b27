package store

import (
	"context"
	"fmt"
	"time"
)

// Figures the dashboard draws as charts. Days are UTC days, counted as
// whole days since the Unix epoch (ms / 86,400,000) so that the same SQL
// groups them on SQLite and PostgreSQL.

const dayMillis = 24 * 60 * 60 * 1000

// DayOf is the UTC day number of t (days since 1970-01-01).
func DayOf(t time.Time) int64 { return t.UnixMilli() / dayMillis }

// DayCount is one day's count of one kind.
type DayCount struct {
	Day   int64 // DayOf
	Kind  string
	Count int
}

// MessagesPerDay counts a channel's stored messages per day since since,
// as kinds "sent" (from the channel) and "received".
func (s *Store) MessagesPerDay(ctx context.Context, channelID string, since time.Time) ([]DayCount, error) {
	return s.dayCounts(ctx, `SELECT ts / `+fmt.Sprint(dayMillis)+` AS d, CASE WHEN from_me THEN 'sent' ELSE 'received' END AS k, COUNT(*)
		FROM messages WHERE channel_id = ? AND ts >= ? GROUP BY d, k`, channelID, ms(since))
}

// DeliveriesPerDay counts a channel's webhook deliveries per day since
// since, by status (pending, delivered, failed, dropped).
func (s *Store) DeliveriesPerDay(ctx context.Context, partnerID, channelID string, since time.Time) ([]DayCount, error) {
	return s.dayCounts(ctx, `SELECT created_at / `+fmt.Sprint(dayMillis)+` AS d, status, COUNT(*)
		FROM webhook_deliveries WHERE partner_id = ? AND channel_id = ? AND created_at >= ? GROUP BY d, status`, partnerID, channelID, ms(since))
}

func (s *Store) dayCounts(ctx context.Context, query string, args ...any) ([]DayCount, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: day counts: %w", err)
	}
	defer rows.Close()
	var out []DayCount
	for rows.Next() {
		var c DayCount
		if err := rows.Scan(&c.Day, &c.Kind, &c.Count); err != nil {
			return nil, fmt.Errorf("store: day counts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// BalancePoint is a partner's balance after one ledger row.
type BalancePoint struct {
	At      time.Time
	Balance int64
}

// BalanceHistory returns a partner's balance after each of its last limit
// ledger rows, oldest first.
func (s *Store) BalanceHistory(ctx context.Context, partnerID string, limit int) ([]BalancePoint, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT created_at, balance_after FROM ledger WHERE partner_id = ? ORDER BY id DESC LIMIT ?`),
		partnerID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: balance history: %w", err)
	}
	defer rows.Close()
	var out []BalancePoint
	for rows.Next() {
		var at int64
		var p BalancePoint
		if err := rows.Scan(&at, &p.Balance); err != nil {
			return nil, fmt.Errorf("store: balance history: %w", err)
		}
		p.At = fromMS(at)
		out = append(out, p)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, rows.Err()
}

// ChannelStatusCount is how many channels have one billing status.
type ChannelStatusCount struct {
	Status string // active, stopped, expired, archived
	Count  int
}

// ChannelsByStatus counts every partner's channels by billing status at now.
func (s *Store) ChannelsByStatus(ctx context.Context, now time.Time) ([]ChannelStatusCount, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT CASE WHEN mode = 'dev_archive' THEN 'archived' WHEN stopped THEN 'stopped'
			WHEN active_till <= ? THEN 'expired' ELSE 'active' END AS st, COUNT(*)
		FROM channels GROUP BY st ORDER BY st`), ms(now))
	if err != nil {
		return nil, fmt.Errorf("store: channels by status: %w", err)
	}
	defer rows.Close()
	var out []ChannelStatusCount
	for rows.Next() {
		var c ChannelStatusCount
		if err := rows.Scan(&c.Status, &c.Count); err != nil {
			return nil, fmt.Errorf("store: channels by status: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DaysSold is the days the operator credited to one partner in one month.
type DaysSold struct {
	PartnerID, Partner string
	Month              string // 2026-11
	Days               int64
}

// DaysSoldPerMonth sums the operator's credits (ledger reason credit) per
// partner and UTC month since since.
func (s *Store) DaysSoldPerMonth(ctx context.Context, since time.Time) ([]DaysSold, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT l.partner_id, p.name, l.created_at, l.delta FROM ledger l
		JOIN partners p ON p.id = l.partner_id WHERE l.reason = 'credit' AND l.created_at >= ? ORDER BY l.id`), ms(since))
	if err != nil {
		return nil, fmt.Errorf("store: days sold: %w", err)
	}
	defer rows.Close()
	idx := map[[2]string]int{}
	var out []DaysSold
	for rows.Next() {
		var pid, name string
		var at, delta int64
		if err := rows.Scan(&pid, &name, &at, &delta); err != nil {
			return nil, fmt.Errorf("store: days sold: %w", err)
		}
		month := fromMS(at).Format("2006-01")
		k := [2]string{pid, month}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, DaysSold{PartnerID: pid, Partner: name, Month: month})
		}
		out[i].Days += delta
	}
	return out, rows.Err()
}
