package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// ChannelByID returns a channel by ID alone, for the runtime, which acts for
// the system and not for a partner.
func (s *Store) ChannelByID(ctx context.Context, channelID string) (model.Channel, error) {
	c, err := scanChannel(s.db.QueryRowContext(ctx, s.q("SELECT "+channelColumns+" FROM channels WHERE id = ?"), channelID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, model.ErrChannelNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: read channel: %w", err)
	}
	return c, nil
}

// RunnableChannels lists every channel that should be connected at now (not
// stopped, days left), for starting the runtime at boot.
func (s *Store) RunnableChannels(ctx context.Context, now time.Time) ([]model.Channel, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+channelColumns+" FROM channels WHERE stopped = ? AND active_till > ? ORDER BY id"), false, ms(now))
	if err != nil {
		return nil, fmt.Errorf("store: list runnable channels: %w", err)
	}
	return collectChannels(rows)
}

// SetChannelLink records the WhatsApp device and account linked to a channel.
// A U+0000 in the account's name (PostgreSQL text cannot hold it) is kept
// as U+FFFD, as the service keeps it in every text from WhatsApp.
func (s *Store) SetChannelLink(ctx context.Context, channelID, device, phone, name string, at time.Time) error {
	name = strings.ReplaceAll(name, "\x00", "\uFFFD")
	if f, ok := FenceFrom(ctx); ok {
		return s.fencedUpdate(ctx, f, channelID, "wa_device = ?, wa_phone = ?, wa_name = ?, linked_at = ?", device, phone, name, ms(at))
	}
	return s.updateChannel(ctx, channelID, "wa_device = ?, wa_phone = ?, wa_name = ?, linked_at = ?", device, phone, name, ms(at))
}

// fencedUpdate is updateChannel applied only while f holds: ErrFenced when
// the shard moved, model.ErrChannelNotFound when the channel is gone.
func (s *Store) fencedUpdate(ctx context.Context, f Fence, channelID, set string, args ...any) error {
	defer s.channelChanged(channelID)
	cond, cargs := fenceCond(f)
	args = append(append(args, channelID), cargs...)
	res, err := s.exec(ctx, "UPDATE channels SET "+set+" WHERE id = ? AND "+cond, args...)
	if err != nil {
		return fmt.Errorf("store: update channel: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.fenceOrMissing(ctx, s.db, channelID)
	}
	return nil
}

// fenceOrMissing tells why a fenced write changed no row.
func (s *Store) fenceOrMissing(ctx context.Context, q querier, channelID string) error {
	var one int
	err := q.QueryRowContext(ctx, s.q("SELECT 1 FROM channels WHERE id = ?"), channelID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return model.ErrChannelNotFound
	}
	return ErrFenced
}

// ClearChannelLink forgets the device linked to a channel (logout, unlink),
// and with it what belongs to that WhatsApp account: its groups, contacts
// and presences (the next account may be another one). Messages and chats
// stay: they are the channel's history.
func (s *Store) ClearChannelLink(ctx context.Context, channelID string) error {
	defer s.channelChanged(channelID)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		query, args := "UPDATE channels SET wa_device = '', wa_phone = '', wa_name = '', linked_at = NULL WHERE id = ?", []any{channelID}
		f, fenced := FenceFrom(ctx)
		if fenced {
			cond, cargs := fenceCond(f)
			query, args = query+" AND "+cond, append(args, cargs...)
		}
		res, err := tx.ExecContext(ctx, s.q(query), args...)
		if err != nil {
			return fmt.Errorf("store: clear channel link: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if fenced {
				return s.fenceOrMissing(ctx, tx, channelID)
			}
			return model.ErrChannelNotFound
		}
		for _, table := range []string{"wa_group_participants", "wa_groups", "contacts", "presences"} {
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM "+table+" WHERE channel_id = ?"), channelID); err != nil {
				return fmt.Errorf("store: clear %s: %w", table, err)
			}
		}
		return nil
	})
}

func (s *Store) updateChannel(ctx context.Context, channelID, set string, args ...any) error {
	defer s.channelChanged(channelID)
	res, err := s.exec(ctx, ("UPDATE channels SET " + set + " WHERE id = ?"), append(args, channelID)...)
	if err != nil {
		return fmt.Errorf("store: update channel: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return model.ErrChannelNotFound
	}
	return nil
}

// ChannelSettings returns a channel's raw gate settings document (JSON).
func (s *Store) ChannelSettings(ctx context.Context, channelID string) (string, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, s.q("SELECT settings FROM channels WHERE id = ?"), channelID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return "", model.ErrChannelNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: read channel settings: %w", err)
	}
	return raw, nil
}

// SetChannelSettings stores a channel's gate settings document and its proxy
// together (the proxy is one of the settings).
func (s *Store) SetChannelSettings(ctx context.Context, channelID, raw, proxy string) error {
	return s.updateChannel(ctx, channelID, "settings = ?, proxy = ?", raw, proxy)
}

// SetChannelProxy sets a channel's proxy URL ("" for direct).
func (s *Store) SetChannelProxy(ctx context.Context, channelID, proxy string) error {
	return s.updateChannel(ctx, channelID, "proxy = ?", proxy)
}

// Proxy is one proxy of the operator's pool.
type Proxy struct {
	URL            string
	Healthy        bool
	LastError      string
	LastAssignedAt time.Time // zero: never assigned
	CreatedAt      time.Time
}

// Proxies lists the pool, least recently assigned first.
func (s *Store) Proxies(ctx context.Context) ([]Proxy, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT url, healthy, last_error, last_assigned_at, created_at FROM proxies ORDER BY last_assigned_at, created_at, url")
	if err != nil {
		return nil, fmt.Errorf("store: list proxies: %w", err)
	}
	defer rows.Close()
	out := []Proxy{}
	for rows.Next() {
		var (
			p                 Proxy
			assigned, created int64
		)
		if err := rows.Scan(&p.URL, &p.Healthy, &p.LastError, &assigned, &created); err != nil {
			return nil, fmt.Errorf("store: scan proxy: %w", err)
		}
		if assigned > 0 {
			p.LastAssignedAt = fromMS(assigned)
		}
		p.CreatedAt = fromMS(created)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ReplaceProxies replaces the whole pool; URLs that stay keep their history.
func (s *Store) ReplaceProxies(ctx context.Context, urls []string, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		keep := map[string]bool{}
		for _, u := range urls {
			keep[u] = true
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO proxies (url, healthy, created_at) VALUES (?, ?, ?) ON CONFLICT (url) DO NOTHING"),
				u, true, ms(now)); err != nil {
				return fmt.Errorf("store: insert proxy: %w", err)
			}
		}
		rows, err := tx.QueryContext(ctx, "SELECT url FROM proxies")
		if err != nil {
			return fmt.Errorf("store: list proxies: %w", err)
		}
		var drop []string
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return fmt.Errorf("store: scan proxy: %w", err)
			}
			if !keep[u] {
				drop = append(drop, u)
			}
		}
		rows.Close()
		for _, u := range drop {
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM proxies WHERE url = ?"), u); err != nil {
				return fmt.Errorf("store: delete proxy: %w", err)
			}
		}
		return nil
	})
}

// MarkProxy records a proxy's health after a check and, when assignedAt is
// set, that it was just given to a channel.
func (s *Store) MarkProxy(ctx context.Context, url string, healthy bool, lastError string, assignedAt *time.Time) error {
	var err error
	if assignedAt != nil {
		_, err = s.exec(ctx, ("UPDATE proxies SET healthy = ?, last_error = ?, last_assigned_at = ? WHERE url = ?"),
			healthy, lastError, ms(*assignedAt), url)
	} else {
		_, err = s.exec(ctx, ("UPDATE proxies SET healthy = ?, last_error = ? WHERE url = ?"), healthy, lastError, url)
	}
	if err != nil {
		return fmt.Errorf("store: mark proxy: %w", err)
	}
	return nil
}
