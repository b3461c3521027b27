package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// IdemKey is the Idempotency-Key of a request, as the store records it:
// who sent it (Scope: a partner or the operator), the key's hash and what
// the request asked (Fingerprint).
type IdemKey struct {
	Scope       string
	KeyHash     string
	Fingerprint string
	Now         time.Time
	Expires     time.Time

	reserved atomic.Bool // recorded with a committed change
	taken    atomic.Bool // another request had it
}

// Reserved reports whether the key was recorded in the transaction of a
// committed change.
func (k *IdemKey) Reserved() bool { return k.reserved.Load() }

// Taken reports whether a change failed because another request had
// recorded the key first.
func (k *IdemKey) Taken() bool { return k.taken.Load() }

// IdemRecord is a stored key: Status is 0 while its first request runs.
type IdemRecord struct {
	Fingerprint string
	Status      int
	Response    string
	CreatedAt   time.Time
}

type idemCtxKey struct{}

// WithIdemKey returns a context whose next money-moving or creating write
// (MutateChannel, CreateChannel, AdjustBalance, CreatePartner) records k
// in its own transaction, so the change and its key commit together. When
// another request recorded the key first, that write changes nothing and
// fails with model.ErrIdempotencyKeyTaken.
func WithIdemKey(ctx context.Context, k *IdemKey) context.Context {
	return context.WithValue(ctx, idemCtxKey{}, k)
}

// reserveIdem records the context's key, if any, in tx.
func (s *Store) reserveIdem(ctx context.Context, tx *sql.Tx) (*IdemKey, error) {
	k, _ := ctx.Value(idemCtxKey{}).(*IdemKey)
	if k == nil || k.reserved.Load() {
		return nil, nil
	}
	ok, err := s.putIdem(ctx, tx, k, 0, "")
	if err != nil {
		return nil, err
	}
	if !ok {
		k.taken.Store(true)
		return nil, model.ErrIdempotencyKeyTaken
	}
	return k, nil
}

// putIdem inserts a key unless a live one is there (an expired one is
// replaced); it reports whether it wrote. On PostgreSQL a concurrent
// writer of the same key waits for the first to commit or roll back.
func (s *Store) putIdem(ctx context.Context, q querier, k *IdemKey, status int, response string) (bool, error) {
	res, err := q.ExecContext(ctx, s.q(`INSERT INTO idempotency_keys (scope, key_hash, fingerprint, status, response, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (scope, key_hash) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
			response = excluded.response, created_at = excluded.created_at, expires_at = excluded.expires_at
		WHERE idempotency_keys.expires_at <= ?`),
		k.Scope, k.KeyHash, k.Fingerprint, status, response, ms(k.Now), ms(k.Expires), ms(k.Now))
	if err != nil {
		return false, fmt.Errorf("store: record idempotency key: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// committed marks a reserved key once its transaction committed.
func committed(k *IdemKey, err error) {
	if k != nil && err == nil {
		k.reserved.Store(true)
	}
}

// IdemLookup returns the live record of a key.
func (s *Store) IdemLookup(ctx context.Context, scope, keyHash string, now time.Time) (IdemRecord, bool, error) {
	var (
		r       IdemRecord
		created int64
	)
	err := s.db.QueryRowContext(ctx, s.q(`SELECT fingerprint, status, response, created_at FROM idempotency_keys
		WHERE scope = ? AND key_hash = ? AND expires_at > ?`), scope, keyHash, ms(now)).Scan(&r.Fingerprint, &r.Status, &r.Response, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("store: read idempotency key: %w", err)
	}
	r.CreatedAt = fromMS(created)
	return r, true, nil
}

// IdemFinish stores the answer of a request whose key was reserved.
func (s *Store) IdemFinish(ctx context.Context, k *IdemKey, status int, response string) error {
	_, err := s.exec(ctx, `UPDATE idempotency_keys SET status = ?, response = ? WHERE scope = ? AND key_hash = ? AND status = 0`,
		status, response, k.Scope, k.KeyHash)
	if err != nil {
		return fmt.Errorf("store: record idempotent answer: %w", err)
	}
	return nil
}

// IdemSave stores the answer of a request that changed nothing (refused),
// unless the key is already recorded; it reports whether it wrote.
func (s *Store) IdemSave(ctx context.Context, k *IdemKey, status int, response string) (bool, error) {
	defer s.lockWrites()()
	return s.putIdem(ctx, s.db, k, status, response)
}

// PruneIdem deletes the expired keys and reports how many.
func (s *Store) PruneIdem(ctx context.Context, now time.Time) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= ?`, ms(now))
	if err != nil {
		return 0, fmt.Errorf("store: prune idempotency keys: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
