package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/model"
)

const channelColumns = "id, partner_id, project_id, name, phone, token, mode, created_at, trial_until, active_till, stopped, expired_at, " +
	"wa_device, wa_phone, wa_name, linked_at, proxy"

func scanChannel(row interface{ Scan(...any) error }) (model.Channel, error) {
	var (
		c                          model.Channel
		mode                       string
		created, trial, activeTill int64
		expired, linked            sql.NullInt64
	)
	err := row.Scan(&c.ID, &c.PartnerID, &c.ProjectID, &c.Name, &c.Phone, &c.Token, &mode,
		&created, &trial, &activeTill, &c.Stopped, &expired, &c.Device, &c.WAPhone, &c.WAName, &linked, &c.Proxy)
	if err != nil {
		return c, err
	}
	c.Mode = model.Mode(mode)
	c.CreatedAt = fromMS(created)
	c.TrialUntil = fromMS(trial)
	c.ActiveTill = fromMS(activeTill)
	if expired.Valid {
		t := fromMS(expired.Int64)
		c.ExpiredAt = &t
	}
	if linked.Valid {
		t := fromMS(linked.Int64)
		c.LinkedAt = &t
	}
	return c, nil
}

func nullMS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: ms(*t), Valid: true}
}

// CreateLimit bounds how many channels a partner may create in a window.
type CreateLimit struct {
	Max    int // 0: no limit
	Window time.Duration
}

// CreateChannel inserts a new channel for its partner. In the same
// transaction it enforces the creation rate limit (ErrRateLimited), checks the
// project (ErrNotFound) and records the creation, and the context's
// idempotency key (WithIdemKey). A clashing channel ID or token is
// ErrConflict, so the caller can draw new ones.
func (s *Store) CreateChannel(ctx context.Context, ch model.Channel, tokenHash string, limit CreateLimit, now time.Time) error {
	defer s.channelChanged(ch.ID)
	var idem *IdemKey
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if idem, err = s.reserveIdem(ctx, tx); err != nil {
			return err
		}
		// Lock the partner so concurrent creations count each other.
		var id string
		err = tx.QueryRowContext(ctx, s.q("SELECT id FROM partners WHERE id = ?"+s.forUpdate()), ch.PartnerID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return model.ErrPartnerNotFound
		}
		if err != nil {
			return fmt.Errorf("store: lock partner: %w", err)
		}
		if limit.Max > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM channel_creations WHERE partner_id = ? AND created_at > ?"),
				ch.PartnerID, ms(now.Add(-limit.Window))).Scan(&n); err != nil {
				return fmt.Errorf("store: count creations: %w", err)
			}
			if n >= limit.Max {
				// The oldest creations leave the window first; the next slot opens
				// when the (n-Max+1)-th oldest one does.
				var oldest int64
				if err := tx.QueryRowContext(ctx, s.q(`SELECT created_at FROM channel_creations WHERE partner_id = ? AND created_at > ?
					ORDER BY created_at LIMIT 1 OFFSET ?`), ch.PartnerID, ms(now.Add(-limit.Window)), n-limit.Max).Scan(&oldest); err != nil {
					return fmt.Errorf("store: find oldest creation: %w", err)
				}
				return &model.RateLimitError{
					RetryAfter: fromMS(oldest).Add(limit.Window).Sub(now),
					Message:    fmt.Sprintf("%d channels were created in the last %s, the limit is %d", n, limit.Window, limit.Max),
				}
			}
		}
		// Share-lock the project so a concurrent DeleteProject waits for us
		// (or we see it gone) instead of failing our insert on the foreign key.
		var exists int
		err = tx.QueryRowContext(ctx, s.q("SELECT 1 FROM projects WHERE partner_id = ? AND id = ?"+s.forShare()), ch.PartnerID, ch.ProjectID).Scan(&exists)
		if errors.Is(err, sql.ErrNoRows) {
			return model.ErrProjectNotFound
		}
		if err != nil {
			return fmt.Errorf("store: check project: %w", err)
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO channels (id, partner_id, project_id, name, phone, token, token_hash, mode,
			created_at, trial_until, active_till, stopped, expired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			ch.ID, ch.PartnerID, ch.ProjectID, ch.Name, ch.Phone, ch.Token, tokenHash, string(ch.Mode),
			ms(ch.CreatedAt), ms(ch.TrialUntil), ms(ch.ActiveTill), ch.Stopped, nullMS(ch.ExpiredAt))
		if isUniqueViolation(err) {
			return fmt.Errorf("channel id or token taken: %w", model.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: insert channel: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO channel_creations (partner_id, channel_id, created_at) VALUES (?, ?, ?)"),
			ch.PartnerID, ch.ID, ms(now)); err != nil {
			return fmt.Errorf("store: record creation: %w", err)
		}
		return nil
	})
	committed(idem, err)
	return err
}

// Channel returns one of a partner's channels. Another partner's channel is
// ErrNotFound, exactly like a channel that does not exist.
func (s *Store) Channel(ctx context.Context, partnerID, channelID string) (model.Channel, error) {
	c, err := scanChannel(s.db.QueryRowContext(ctx,
		s.q("SELECT "+channelColumns+" FROM channels WHERE id = ? AND partner_id = ?"), channelID, partnerID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, model.ErrChannelNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: read channel: %w", err)
	}
	return c, nil
}

// ChannelByTokenHash finds the channel whose API token hashes to hash.
func (s *Store) ChannelByTokenHash(ctx context.Context, hash string) (model.Channel, error) {
	c, err := scanChannel(s.db.QueryRowContext(ctx,
		s.q("SELECT "+channelColumns+" FROM channels WHERE token_hash = ?"), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return c, model.ErrChannelNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: read channel: %w", err)
	}
	return c, nil
}

// Channels lists a partner's channels (of one project when projectID is not
// empty), oldest first, with the total count.
func (s *Store) Channels(ctx context.Context, partnerID, projectID string, limit, offset int) ([]model.Channel, int, error) {
	where, args := "partner_id = ?", []any{partnerID}
	if projectID != "" {
		where, args = "partner_id = ? AND project_id = ?", []any{partnerID, projectID}
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM channels WHERE "+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count channels: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+channelColumns+" FROM channels WHERE "+where+" ORDER BY created_at, id LIMIT ? OFFSET ?"),
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list channels: %w", err)
	}
	out, err := collectChannels(rows)
	return out, total, err
}

// EachChannel calls fn for every channel of a partner, oldest first, streaming
// rows so that an export of many channels holds one at a time.
func (s *Store) EachChannel(ctx context.Context, partnerID string, fn func(model.Channel) error) error {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+channelColumns+" FROM channels WHERE partner_id = ? ORDER BY created_at, id"), partnerID)
	if err != nil {
		return fmt.Errorf("store: list channels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return fmt.Errorf("store: scan channel: %w", err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

func collectChannels(rows *sql.Rows) ([]model.Channel, error) {
	defer rows.Close()
	out := []model.Channel{}
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan channel: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ChannelChange is what a MutateChannel callback decides: the channel's new
// state (or its deletion) and the balance change that goes with it.
type ChannelChange struct {
	Channel model.Channel // written back unless Delete
	Delete  bool
	// Delta days to the partner's balance (negative debits it); 0 writes no
	// ledger row.
	Delta   int64
	Reason  model.LedgerReason
	Comment string
	Actor   string
	// Hooks, when set, builds webhook deliveries of the change from the
	// channel as written and the balance before and after; they are
	// enqueued in the same transaction.
	Hooks func(ch model.Channel, before, after int64) []model.WebhookDelivery
}

// MutateChannel reads one of a partner's channels under a write lock, lets fn
// decide the change, then applies the balance change, its ledger row and the
// channel change in the same transaction. If fn fails or the balance is short
// (ErrInsufficientDays), nothing changes. The context's idempotency key
// (WithIdemKey) is recorded in the same transaction. It returns the channel
// as written and the partner's balance after the change.
func (s *Store) MutateChannel(ctx context.Context, partnerID, channelID string, now time.Time,
	fn func(model.Channel) (ChannelChange, error)) (model.Channel, int64, error) {
	defer s.channelChanged(channelID)
	var (
		out     model.Channel
		balance int64
		idem    *IdemKey
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if idem, err = s.reserveIdem(ctx, tx); err != nil {
			return err
		}
		cur, err := scanChannel(tx.QueryRowContext(ctx,
			s.q("SELECT "+channelColumns+" FROM channels WHERE id = ? AND partner_id = ?"+s.forUpdate()), channelID, partnerID))
		if errors.Is(err, sql.ErrNoRows) {
			return model.ErrChannelNotFound
		}
		if err != nil {
			return fmt.Errorf("store: read channel: %w", err)
		}
		change, err := fn(cur)
		if err != nil {
			return err
		}
		var before int64
		if change.Hooks != nil {
			if err := tx.QueryRowContext(ctx, s.q("SELECT balance FROM partners WHERE id = ?"), partnerID).Scan(&before); err != nil {
				return fmt.Errorf("store: read balance: %w", err)
			}
		}
		if change.Delta != 0 {
			balance, err = s.adjustBalance(ctx, tx, balanceChange{
				PartnerID: partnerID, ChannelID: channelID, Delta: change.Delta, Reason: change.Reason,
				Comment: change.Comment, Actor: change.Actor, Now: now,
			})
			if err != nil {
				return err
			}
		} else if err := tx.QueryRowContext(ctx, s.q("SELECT balance FROM partners WHERE id = ?"), partnerID).Scan(&balance); err != nil {
			return fmt.Errorf("store: read balance: %w", err)
		}
		if change.Delete {
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM channels WHERE id = ? AND partner_id = ?"), channelID, partnerID); err != nil {
				return fmt.Errorf("store: delete channel: %w", err)
			}
			out = cur
			return nil
		}
		c := change.Channel
		if c.ProjectID != cur.ProjectID {
			var exists int
			err = tx.QueryRowContext(ctx, s.q("SELECT 1 FROM projects WHERE partner_id = ? AND id = ?"+s.forShare()), partnerID, c.ProjectID).Scan(&exists)
			if errors.Is(err, sql.ErrNoRows) {
				return model.ErrProjectNotFound
			}
			if err != nil {
				return fmt.Errorf("store: check project: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE channels SET project_id = ?, name = ?, phone = ?, mode = ?, trial_until = ?,
			active_till = ?, stopped = ?, expired_at = ? WHERE id = ? AND partner_id = ?`),
			c.ProjectID, c.Name, c.Phone, string(c.Mode), ms(c.TrialUntil), ms(c.ActiveTill), c.Stopped, nullMS(c.ExpiredAt),
			channelID, partnerID); err != nil {
			return fmt.Errorf("store: update channel: %w", err)
		}
		out = c
		if change.Hooks != nil {
			return s.EnqueueTx(ctx, tx, change.Hooks(c, before, balance)...)
		}
		return nil
	})
	committed(idem, err)
	return out, balance, err
}

// MarkExpired marks every channel whose active time ended at or before now and
// that was not yet marked, and returns them, so each expiry is acted upon once.
// hooks, when given, builds webhook deliveries of each expiry, enqueued in
// the same transaction.
func (s *Store) MarkExpired(ctx context.Context, now time.Time, limit int, hooks ...func(ch model.Channel) []model.WebhookDelivery) ([]model.Channel, error) {
	hooks = given(hooks)
	var out []model.Channel
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q("SELECT "+channelColumns+` FROM channels
			WHERE active_till <= ? AND expired_at IS NULL ORDER BY active_till LIMIT ?`+s.forUpdate()), ms(now), limit)
		if err != nil {
			return fmt.Errorf("store: find expired: %w", err)
		}
		out, err = collectChannels(rows)
		if err != nil {
			return err
		}
		for i := range out {
			t := now
			out[i].ExpiredAt = &t
			if _, err := tx.ExecContext(ctx, s.q("UPDATE channels SET expired_at = ? WHERE id = ?"), ms(now), out[i].ID); err != nil {
				return fmt.Errorf("store: mark expired: %w", err)
			}
			// The system's change, in the audit log with it.
			if err := s.insertAudit(ctx, tx, audit.Entry{At: now, Actor: audit.Actor{Kind: audit.ActorSystem}, PartnerID: out[i].PartnerID,
				ChannelID: out[i].ID, Action: "channel.expire", After: audit.JSON(map[string]any{"activeTill": out[i].ActiveTill.UnixMilli()})}); err != nil {
				return err
			}
			for _, h := range hooks {
				if err := s.EnqueueTx(ctx, tx, h(out[i])...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	for _, ch := range out {
		s.channelChanged(ch.ID)
	}
	return out, err
}
