package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/model"
)

const partnerColumns = "id, name, email, token_hash, password_hash, balance, trial_days, created_at"

func scanPartner(row interface{ Scan(...any) error }) (model.Partner, error) {
	var (
		p       model.Partner
		created int64
	)
	err := row.Scan(&p.ID, &p.Name, &p.Email, &p.TokenHash, &p.PasswordHash, &p.Balance, &p.TrialDays, &created)
	if err != nil {
		return p, err
	}
	p.CreatedAt = fromMS(created)
	return p, nil
}

// CreatePartner inserts a partner with its default project and, when
// initialDays > 0, credits those days through the ledger, all in one
// transaction with the context's idempotency key (WithIdemKey). A taken
// name or email is ErrConflict.
func (s *Store) CreatePartner(ctx context.Context, p model.Partner, initialDays int64, actor string) error {
	var idem *IdemKey
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if idem, err = s.reserveIdem(ctx, tx); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO partners (id, name, email, token_hash, password_hash, balance, trial_days, created_at)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?)`),
			p.ID, p.Name, p.Email, p.TokenHash, p.PasswordHash, p.TrialDays, ms(p.CreatedAt))
		if isUniqueViolation(err) {
			return fmt.Errorf("a partner with this name or email already exists: %w", model.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: insert partner: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO projects (partner_id, id, name, created_at) VALUES (?, ?, ?, ?)`),
			p.ID, model.DefaultProjectID, "Default project", ms(p.CreatedAt)); err != nil {
			return fmt.Errorf("store: insert default project: %w", err)
		}
		if initialDays > 0 {
			_, err := s.adjustBalance(ctx, tx, balanceChange{
				PartnerID: p.ID, Delta: initialDays, Reason: model.ReasonCredit,
				Comment: "initial balance", Actor: actor, Now: p.CreatedAt,
			})
			return err
		}
		return nil
	})
	committed(idem, err)
	return err
}

// Partner returns one partner by ID.
func (s *Store) Partner(ctx context.Context, id string) (model.Partner, error) {
	return s.partnerWhere(ctx, "id = ?", id)
}

// PartnerByTokenHash finds the partner whose API token hashes to hash.
func (s *Store) PartnerByTokenHash(ctx context.Context, hash string) (model.Partner, error) {
	return s.partnerWhere(ctx, "token_hash = ?", hash)
}

// PartnerByEmail finds a partner by login email.
func (s *Store) PartnerByEmail(ctx context.Context, email string) (model.Partner, error) {
	return s.partnerWhere(ctx, "email = ?", email)
}

func (s *Store) partnerWhere(ctx context.Context, where string, arg any) (model.Partner, error) {
	p, err := scanPartner(s.db.QueryRowContext(ctx, s.q("SELECT "+partnerColumns+" FROM partners WHERE "+where), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return p, model.ErrPartnerNotFound
	}
	if err != nil {
		return p, fmt.Errorf("store: read partner: %w", err)
	}
	return p, nil
}

// Partners lists partners, oldest first, with the total count.
func (s *Store) Partners(ctx context.Context, limit, offset int) ([]model.Partner, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM partners").Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count partners: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+partnerColumns+" FROM partners ORDER BY created_at, id LIMIT ? OFFSET ?"), limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list partners: %w", err)
	}
	defer rows.Close()
	var out []model.Partner
	for rows.Next() {
		p, err := scanPartner(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: scan partner: %w", err)
		}
		out = append(out, p)
	}
	return out, total, rows.Err()
}

// SetPartnerTokenHash replaces a partner's API token (rotation).
func (s *Store) SetPartnerTokenHash(ctx context.Context, partnerID, hash string) error {
	return s.updatePartner(ctx, "token_hash = ?", hash, partnerID)
}

// SetPartnerPasswordHash replaces a partner's dashboard password.
func (s *Store) SetPartnerPasswordHash(ctx context.Context, partnerID, hash string) error {
	return s.updatePartner(ctx, "password_hash = ?", hash, partnerID)
}

// SetPartnerTrialDays sets the free trial days of the partner's new channels
// (-1: the operator default).
func (s *Store) SetPartnerTrialDays(ctx context.Context, partnerID string, days int) error {
	return s.updatePartner(ctx, "trial_days = ?", days, partnerID)
}

func (s *Store) updatePartner(ctx context.Context, set string, value any, partnerID string) error {
	res, err := s.exec(ctx, ("UPDATE partners SET " + set + " WHERE id = ?"), value, partnerID)
	if err != nil {
		return fmt.Errorf("store: update partner: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return model.ErrPartnerNotFound
	}
	return nil
}

// PartnerSettings returns the partner's own settings.
func (s *Store) PartnerSettings(ctx context.Context, partnerID string) (model.PartnerSettings, error) {
	var raw string
	var out model.PartnerSettings
	err := s.db.QueryRowContext(ctx, s.q("SELECT settings FROM partners WHERE id = ?"), partnerID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return out, model.ErrPartnerNotFound
	}
	if err != nil {
		return out, fmt.Errorf("store: read partner settings: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return out, fmt.Errorf("store: decode partner settings: %w", err)
	}
	return out, nil
}

// SetPartnerSettings replaces the partner's own settings.
func (s *Store) SetPartnerSettings(ctx context.Context, partnerID string, v model.PartnerSettings) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode partner settings: %w", err)
	}
	defer s.changed(Change{PartnerID: partnerID})
	return s.updatePartner(ctx, "settings = ?", string(raw), partnerID)
}

// balanceChange is one ledger row to write.
type balanceChange struct {
	PartnerID string
	ChannelID string
	Delta     int64
	Reason    model.LedgerReason
	Comment   string
	Actor     string
	Now       time.Time
}

// adjustBalance changes a balance and appends its ledger row in tx. The
// conditional UPDATE is atomic on both databases (on PostgreSQL it locks the
// partner row until commit), so concurrent changes serialise and a debit that
// would make the balance negative changes nothing and is ErrInsufficientDays.
func (s *Store) adjustBalance(ctx context.Context, tx *sql.Tx, c balanceChange) (int64, error) {
	var balance int64
	err := tx.QueryRowContext(ctx, s.q(`UPDATE partners SET balance = balance + ? WHERE id = ? AND balance + ? >= 0 RETURNING balance`),
		c.Delta, c.PartnerID, c.Delta).Scan(&balance)
	if errors.Is(err, sql.ErrNoRows) {
		var have int64
		if err := tx.QueryRowContext(ctx, s.q("SELECT balance FROM partners WHERE id = ?"), c.PartnerID).Scan(&have); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return 0, model.ErrPartnerNotFound
			}
			return 0, fmt.Errorf("store: read balance: %w", err)
		}
		return have, fmt.Errorf("balance is %d days, %d needed: %w", have, -c.Delta, model.ErrInsufficientDays)
	}
	if err != nil {
		return 0, fmt.Errorf("store: update balance: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO ledger (partner_id, channel_id, delta, balance_after, reason, comment, actor, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		c.PartnerID, c.ChannelID, c.Delta, balance, string(c.Reason), c.Comment, c.Actor, ms(c.Now)); err != nil {
		return 0, fmt.Errorf("store: insert ledger: %w", err)
	}
	return balance, nil
}

// AdjustBalance credits (delta > 0) or debits (delta < 0) a partner's balance
// with its ledger row (and the context's idempotency key, WithIdemKey),
// atomically, and returns the new balance.
// hooks, when given, builds webhook deliveries of the change from the
// balance before and after it, enqueued in the same transaction.
func (s *Store) AdjustBalance(ctx context.Context, partnerID string, delta int64, reason model.LedgerReason, comment, actor string, now time.Time,
	hooks ...func(before, after int64) []model.WebhookDelivery) (int64, error) {
	hooks = given(hooks)
	var (
		balance int64
		idem    *IdemKey
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if idem, err = s.reserveIdem(ctx, tx); err != nil {
			return err
		}
		balance, err = s.adjustBalance(ctx, tx, balanceChange{
			PartnerID: partnerID, Delta: delta, Reason: reason, Comment: comment, Actor: actor, Now: now,
		})
		if err != nil {
			return err
		}
		for _, h := range hooks {
			if err := s.EnqueueTx(ctx, tx, h(balance-delta, balance)...); err != nil {
				return err
			}
		}
		return nil
	})
	committed(idem, err)
	return balance, err
}

// Ledger lists a partner's ledger, newest first, with the total count.
func (s *Store) Ledger(ctx context.Context, partnerID string, limit, offset int) ([]model.LedgerEntry, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM ledger WHERE partner_id = ?"), partnerID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count ledger: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, partner_id, channel_id, delta, balance_after, reason, comment, actor, created_at
		FROM ledger WHERE partner_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`), partnerID, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list ledger: %w", err)
	}
	defer rows.Close()
	var out []model.LedgerEntry
	for rows.Next() {
		var (
			e       model.LedgerEntry
			reason  string
			created int64
		)
		if err := rows.Scan(&e.ID, &e.PartnerID, &e.ChannelID, &e.Delta, &e.BalanceAfter, &reason, &e.Comment, &e.Actor, &created); err != nil {
			return nil, 0, fmt.Errorf("store: scan ledger: %w", err)
		}
		e.Reason = model.LedgerReason(reason)
		e.CreatedAt = fromMS(created)
		out = append(out, e)
	}
	return out, total, rows.Err()
}

// LedgerAudit returns a partner's balance and the sum of its ledger, read in
// one transaction; they are equal unless something bypassed the ledger.
func (s *Store) LedgerAudit(ctx context.Context, partnerID string) (balance, ledgerSum int64, err error) {
	err = s.db.QueryRowContext(ctx, s.q(`SELECT p.balance, COALESCE((SELECT SUM(l.delta) FROM ledger l WHERE l.partner_id = p.id), 0)
		FROM partners p WHERE p.id = ?`), partnerID).Scan(&balance, &ledgerSum)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, model.ErrPartnerNotFound
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: ledger audit: %w", err)
	}
	return balance, ledgerSum, nil
}
