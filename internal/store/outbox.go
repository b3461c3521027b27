package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// The webhook outbox. Producers enqueue deliveries in the transaction of the
// state change they report (EnqueueTx); the dispatcher (internal/webhook)
// claims due deliveries, sends them and records each attempt. Order: of the
// pending deliveries to one target with the same chat key, only the oldest
// (lowest seq) may be claimed, so they go out one after the other and a
// retry holds back the ones behind it.
//
// The claim reads only the queues' heads: a delivery enqueued behind an
// older pending one of its target and chat is "blocked", and finishing a
// head (delivered, dropped, failed) unblocks the oldest pending one left
// (unblock). So every queue's oldest pending delivery is unblocked, and
// the claim is a range scan of the index of unblocked due rows
// (webhook_deliveries_heads), whatever the backlog behind them. A race can
// leave a second row of a queue unblocked (two PostgreSQL transactions
// enqueueing to an empty queue at once, a redelivery); the claim therefore
// still checks, for the rows it takes only, that no older pending row of
// their queue exists. A claim is a lease: the row's next attempt time
// becomes the lease's end, so the row of a worker that died is due again
// then, on any node.

// ErrDeliveryNotFound is a webhook delivery the partner or channel does not
// have.
var ErrDeliveryNotFound = fmt.Errorf("webhook delivery %w", model.ErrNotFound)

// ErrLeaseLost means a delivery's outcome came too late to be recorded: its
// claim's lease ran out and it was claimed again, or it is no longer
// pending. The attempt itself is still logged.
var ErrLeaseLost = errors.New("store: webhook delivery lease lost")

// DefaultLease is how long a claim holds when ClaimOptions gives no lease.
const DefaultLease = 2 * time.Minute

// deliveryColumns read a delivery; a blocked one has no next attempt time
// until it is unblocked.
const deliveryColumns = `id, event_id, partner_id, channel_id, type, method, chat_key, url, mode, headers, secret,
	backoff_ms, max_backoff_ms, max_age_s, payload, created_at, status, attempts,
	CASE WHEN blocked = 0 THEN next_attempt_at ELSE 0 END, expires_at, last_status, last_error, delivered_at`

func scanDelivery(row interface{ Scan(...any) error }) (model.WebhookDelivery, error) {
	var d model.WebhookDelivery
	var headers, payload string
	var created, next, expires, delivered int64
	err := row.Scan(&d.ID, &d.EventID, &d.PartnerID, &d.ChannelID, &d.Type, &d.Method, &d.ChatKey,
		&d.Target.URL, &d.Target.Mode, &headers, &d.Target.Secret, &d.Target.BackoffMS, &d.Target.MaxBackoffMS,
		&d.Target.MaxAgeSeconds, &payload, &created, &d.Status, &d.Attempts, &next, &expires,
		&d.LastStatus, &d.LastError, &delivered)
	if err != nil {
		return d, err
	}
	d.Payload, d.CreatedAt = json.RawMessage(payload), fromMS(created)
	if next > 0 {
		d.NextAttemptAt = fromMS(next)
	}
	if expires > 0 {
		d.ExpiresAt = fromMS(expires)
	}
	if delivered > 0 {
		d.DeliveredAt = fromMS(delivered)
	}
	if err := json.Unmarshal([]byte(headers), &d.Target.Headers); err != nil {
		return d, fmt.Errorf("store: delivery %s headers: %w", d.ID, err)
	}
	return d, nil
}

// targetKey identifies a delivery's webhook: deliveries are ordered per
// target key and chat key.
func targetKey(d model.WebhookDelivery) string {
	sum := sha256.Sum256([]byte(d.PartnerID + "\x00" + d.ChannelID + "\x00" + d.Target.Mode + "\x00" + d.Target.URL))
	return hex.EncodeToString(sum[:16])
}

// prepareDelivery checks a delivery and fills what it may leave empty: IDs,
// the body mode, the first attempt time.
func prepareDelivery(d model.WebhookDelivery) (model.WebhookDelivery, error) {
	switch {
	case d.PartnerID == "":
		return d, fmt.Errorf("%w: webhook delivery without a partner", model.ErrInvalid)
	case d.Type == "" || d.Method == "":
		return d, fmt.Errorf("%w: webhook delivery without an event type and method", model.ErrInvalid)
	case d.Target.URL == "":
		return d, fmt.Errorf("%w: webhook delivery without a URL", model.ErrInvalid)
	case d.CreatedAt.IsZero():
		return d, fmt.Errorf("%w: webhook delivery without a creation time", model.ErrInvalid)
	case !json.Valid(d.Payload):
		return d, fmt.Errorf("%w: webhook delivery payload is not JSON", model.ErrInvalid)
	}
	switch d.Target.Mode {
	case "":
		d.Target.Mode = model.WebhookModeBody
	case model.WebhookModeBody, model.WebhookModePath, model.WebhookModeMethod:
	default:
		return d, fmt.Errorf("%w: webhook mode %q", model.ErrInvalid, d.Target.Mode)
	}
	if d.ID == "" {
		d.ID = model.NewWebhookDeliveryID()
	}
	if d.EventID == "" {
		d.EventID = model.NewWebhookEventID()
	}
	if d.NextAttemptAt.IsZero() {
		d.NextAttemptAt = d.CreatedAt
	}
	d.ExpiresAt = time.Time{}
	if d.Target.MaxAgeSeconds > 0 {
		d.ExpiresAt = d.CreatedAt.Add(time.Duration(d.Target.MaxAgeSeconds) * time.Second)
	}
	return d, nil
}

// Enqueue stores deliveries in a transaction of their own. An empty ID or
// EventID is drawn; the status starts pending. Inside a transaction use
// EnqueueTx with that transaction instead: calling Enqueue there waits for
// the transaction itself on SQLite.
func (s *Store) Enqueue(ctx context.Context, ds ...model.WebhookDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.EnqueueTx(ctx, tx, ds...) })
}

// EnqueueTx stores deliveries in the caller's transaction (one begun with
// Store.Tx), so they are committed, or not, together with the state change
// they report.
func (s *Store) EnqueueTx(ctx context.Context, tx *sql.Tx, ds ...model.WebhookDelivery) error {
	for _, d := range ds {
		d, err := prepareDelivery(d)
		if err != nil {
			return err
		}
		headers := []byte("{}")
		if len(d.Target.Headers) > 0 {
			if headers, err = json.Marshal(d.Target.Headers); err != nil {
				return err
			}
		}
		var expires int64
		if !d.ExpiresAt.IsZero() {
			expires = ms(d.ExpiresAt)
		}
		// Behind an older pending delivery of the same target and chat, the
		// new one waits blocked. On PostgreSQL the share lock on that row
		// orders this against the row's finishing: either the finish sees
		// the new row and unblocks it, or this sees the row finished.
		key, blocked := targetKey(d), 0
		var prev int64
		err = tx.QueryRowContext(ctx, s.q(`SELECT seq FROM webhook_deliveries WHERE target_key = ? AND chat_key = ?
			AND status = 'pending' ORDER BY seq DESC LIMIT 1`+s.forShare()), key, d.ChatKey).Scan(&prev)
		switch {
		case err == nil:
			blocked = 1
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("store: enqueue webhook delivery: %w", err)
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO webhook_deliveries (id, event_id, partner_id, channel_id, type, method,
			chat_key, target_key, receiver, url, mode, headers, secret, backoff_ms, max_backoff_ms, max_age_s, payload,
			created_at, status, next_attempt_at, expires_at, blocked)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`),
			d.ID, d.EventID, d.PartnerID, d.ChannelID, d.Type, d.Method, d.ChatKey, key, d.Target.Receiver(),
			d.Target.URL, d.Target.Mode, string(headers), d.Target.Secret, d.Target.BackoffMS, d.Target.MaxBackoffMS,
			d.Target.MaxAgeSeconds, string(d.Payload), ms(d.CreatedAt), ms(d.NextAttemptAt), expires, blocked)
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: webhook delivery %s exists", model.ErrConflict, d.ID)
		}
		if err != nil {
			return fmt.Errorf("store: enqueue webhook delivery: %w", err)
		}
	}
	return nil
}

// ClaimOptions shape a claim.
type ClaimOptions struct {
	// Lease is how long the claim holds; then the delivery is due again
	// for any worker. It must outlast an attempt. Zero means DefaultLease.
	Lease time.Duration
	// ReceiverLimit caps the deliveries in flight to one receiver
	// (model.WebhookTarget.Receiver), counting Busy; zero means no cap.
	ReceiverLimit int
	// Busy counts the deliveries the claimer has in flight per receiver.
	Busy map[string]int
	// Node is the cluster node claiming ("" on a single node): a dead
	// node's claims go back to the queue without waiting for the lease
	// (ReleaseClaims).
	Node string
}

// ClaimDue claims up to limit due pending deliveries for now + lease and
// returns them with Attempts counting the attempt they are claimed for. Of
// one target's pending deliveries with the same chat key only the oldest is
// ever claimable, so a claimed or retrying delivery holds back those behind
// it. Expired deliveries are left to DropExpired; rows another worker is
// claiming at the same moment are skipped (PostgreSQL: SKIP LOCKED).
//
// The claim reads the unblocked due rows in due order (an index range:
// the rows waiting behind a head are not read), picks them within the
// receivers' caps, and locks and takes those still claimable: pending,
// unblocked, due, no older pending row in their queue, not locked by
// another claim. Only the rows it takes are locked and checked.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, limit int, o ClaimOptions) ([]model.WebhookDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	lease := o.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	// Read a window larger than limit: candidates past a receiver's cap are
	// passed over for the next receiver's.
	window := limit
	args := []any{ms(now), ms(now)}
	var skip string
	if o.ReceiverLimit > 0 {
		window = min(max(limit*4, 16), 1000)
		var full []string
		for r, n := range o.Busy {
			if n >= o.ReceiverLimit {
				full = append(full, r)
				args = append(args, r)
			}
		}
		if len(full) > 0 {
			skip = " AND receiver NOT IN (" + placeholders(len(full)) + ")"
		}
	}
	args = append(args, window)
	until := ms(now.Add(lease))
	var out []model.WebhookDelivery
	err := s.inTxLazy(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		type candidate struct {
			seq      int64
			receiver string
		}
		var cands []candidate
		rows, err := tx.QueryContext(ctx, s.q(`SELECT seq, receiver FROM webhook_deliveries
			WHERE status = 'pending' AND blocked = 0 AND next_attempt_at <= ? AND (expires_at = 0 OR expires_at > ?)`+skip+`
			ORDER BY next_attempt_at, seq LIMIT ?`), args...)
		if err != nil {
			return fmt.Errorf("store: claim webhook deliveries: %w", err)
		}
		for rows.Next() {
			var c candidate
			if err := rows.Scan(&c.seq, &c.receiver); err != nil {
				rows.Close()
				return fmt.Errorf("store: claim webhook deliveries: %w", err)
			}
			cands = append(cands, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: claim webhook deliveries: %w", err)
		}
		// Take in rounds: a candidate that is no longer claimable (locked
		// by another node's claim, or behind an older pending row of its
		// queue) leaves its place to the next in the window.
		perReceiver := map[string]int{}
		for len(cands) > 0 && len(out) < limit {
			var seqs []any
			picked := map[int64]string{}
			rest := cands[:0]
			for _, c := range cands {
				switch {
				case len(seqs) == limit-len(out):
					rest = append(rest, c)
				case o.ReceiverLimit > 0 && o.Busy[c.receiver]+perReceiver[c.receiver] >= o.ReceiverLimit:
				default:
					perReceiver[c.receiver]++
					picked[c.seq] = c.receiver
					seqs = append(seqs, c.seq)
				}
			}
			cands = rest
			if len(seqs) == 0 {
				break
			}
			got, err := s.take(ctx, tx, now, until, o.Node, seqs)
			if err != nil {
				return err
			}
			for _, d := range got {
				delete(picked, d.seq)
				out = append(out, d.WebhookDelivery)
			}
			for _, r := range picked {
				perReceiver[r]--
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b model.WebhookDelivery) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// taken is a claimed delivery and its seq.
type taken struct {
	model.WebhookDelivery
	seq int64
}

// take claims those of the rows seqs that are still claimable, until
// until, and returns them.
func (s *Store) take(ctx context.Context, tx *sql.Tx, now time.Time, until int64, node string, seqs []any) ([]taken, error) {
	args := append([]any{until, until, node}, seqs...)
	args = append(args, ms(now), ms(now))
	rows, err := tx.QueryContext(ctx, s.q(`UPDATE webhook_deliveries SET attempts = attempts + 1, claimed_until = ?,
		next_attempt_at = ?, claimed_by = ? WHERE seq IN (SELECT d.seq FROM webhook_deliveries d WHERE d.seq IN (`+placeholders(len(seqs))+`)
			AND d.status = 'pending' AND d.blocked = 0 AND d.next_attempt_at <= ? AND (d.expires_at = 0 OR d.expires_at > ?)
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.status = 'pending'
				AND e.target_key = d.target_key AND e.chat_key = d.chat_key AND e.seq < d.seq)`+s.skipLocked("d")+`)
		RETURNING seq, `+deliveryColumns), args...)
	if err != nil {
		return nil, fmt.Errorf("store: claim webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []taken
	for rows.Next() {
		var t taken
		var err error
		t.WebhookDelivery, err = scanDelivery(seqScanner{rows, &t.seq})
		if err != nil {
			return nil, fmt.Errorf("store: claim webhook deliveries: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: claim webhook deliveries: %w", err)
	}
	return out, nil
}

// seqScanner scans a seq column ahead of a delivery's columns.
type seqScanner struct {
	row interface{ Scan(...any) error }
	seq *int64
}

func (r seqScanner) Scan(dest ...any) error { return r.row.Scan(append([]any{r.seq}, dest...)...) }

// skipLocked is the suffix that locks the selected rows of table alias and
// passes over rows other transactions hold. SQLite needs none: BEGIN
// IMMEDIATE holds the database's write lock.
func (s *Store) skipLocked(alias string) string {
	if s.dialect == Postgres {
		return " FOR UPDATE OF " + alias + " SKIP LOCKED"
	}
	return ""
}

// placeholders returns n comma-separated '?'.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Outcome kinds: what an attempt's result does to its delivery.
const (
	// OutcomeDelivered: the receiver has it; the next one of its target
	// and chat may go.
	OutcomeDelivered = iota + 1
	// OutcomeRetry: due again at NextAt; those behind it keep waiting.
	OutcomeRetry
	// OutcomeDropped: given up on (its maximum age), Reason says why.
	OutcomeDropped
	// OutcomeFailed: cannot succeed as it is; failed until redelivered.
	OutcomeFailed
)

// Outcome is the result of one attempt of a claimed delivery, to record
// with Settle.
type Outcome struct {
	ID      string
	Attempt model.WebhookAttempt
	Kind    int
	// NextAt is when a retry is due.
	NextAt time.Time
	// Reason goes to the delivery log of a dropped or failed delivery.
	Reason string
	// Queue is the delivery's QueueKey: Settle records outcomes in queue
	// order. Empty: ordered by ID.
	Queue string
}

// Complete records a successful attempt: the delivery is delivered, and
// the next one of its target and chat may go. A late success still counts
// after the lease was lost: the receiver has it.
func (s *Store) Complete(ctx context.Context, id string, a model.WebhookAttempt) error {
	return s.settleOne(ctx, Outcome{ID: id, Attempt: a, Kind: OutcomeDelivered})
}

// Retry records a failed attempt and makes the delivery due again at
// nextAt; those behind it keep waiting. It returns ErrLeaseLost when the
// delivery was claimed again meanwhile (the attempt is logged all the same).
func (s *Store) Retry(ctx context.Context, id string, a model.WebhookAttempt, nextAt time.Time) error {
	return s.settleOne(ctx, Outcome{ID: id, Attempt: a, Kind: OutcomeRetry, NextAt: nextAt})
}

// Drop records a failed attempt after which the delivery is given up on
// because the next one would come after its maximum age; reason says so in
// the delivery log.
func (s *Store) Drop(ctx context.Context, id string, a model.WebhookAttempt, reason string) error {
	return s.settleOne(ctx, Outcome{ID: id, Attempt: a, Kind: OutcomeDropped, Reason: reason})
}

// Fail records an attempt that can never succeed as it is (a malformed URL,
// an address wagate may not reach): the delivery is failed until
// redelivered.
func (s *Store) Fail(ctx context.Context, id string, a model.WebhookAttempt, reason string) error {
	return s.settleOne(ctx, Outcome{ID: id, Attempt: a, Kind: OutcomeFailed, Reason: reason})
}

func (s *Store) settleOne(ctx context.Context, o Outcome) error {
	return s.Settle(ctx, []Outcome{o})[0]
}

// Settle records the outcomes of several attempts, as Complete, Retry,
// Drop and Fail do one by one, and returns each one's error: nil,
// ErrLeaseLost, or why it was not recorded. They go in one transaction
// (one commit for the batch: on SQLite one writer at a time, on PostgreSQL
// a commit per outcome was most of a delivery's cost), so they are all
// recorded or none is; the caller may then record them one at a time.
// Finishing a delivery locks its row and the next of its queue, and a
// producer enqueueing share-locks a queue's last pending row: outcomes are
// recorded in queue order (Outcome.Queue), so two batches never wait on
// each other in a cycle, and a producer (which locks the queues of one
// event, most often one) waits on a batch without the batch waiting on it.
// Should a cycle still form (a producer enqueueing to several queues in
// another order), PostgreSQL aborts one side; when it is the batch, it
// fails as a whole and the caller records its outcomes one at a time.
func (s *Store) Settle(ctx context.Context, outs []Outcome) []error {
	errs := make([]error, len(outs))
	order := make([]int, len(outs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := strings.Compare(outs[a].Queue, outs[b].Queue); c != 0 {
			return c
		}
		return strings.Compare(outs[a].ID, outs[b].ID)
	})
	err := s.inTxLazy(ctx, func(tx *sql.Tx) error {
		for _, i := range order {
			o := outs[i]
			if err := checkOutcome(o); err != nil {
				return err
			}
			var err error
			if errs[i], err = s.settleTx(ctx, tx, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
	}
	return errs
}

// QueueKey is the queue a delivery goes out in order within (its webhook
// and chat): Outcome.Queue.
func QueueKey(d model.WebhookDelivery) string {
	if d.Target.Mode == "" {
		d.Target.Mode = model.WebhookModeBody // as prepareDelivery stores it
	}
	return targetKey(d) + "\x00" + d.ChatKey
}

func checkOutcome(o Outcome) error {
	switch o.Kind {
	case OutcomeDelivered, OutcomeRetry, OutcomeDropped, OutcomeFailed:
		return nil
	}
	return fmt.Errorf("%w: webhook outcome kind %d", model.ErrInvalid, o.Kind)
}

// settleTx records one outcome in tx; it returns ErrLeaseLost when the
// delivery was no longer the attempt's (the attempt is logged all the same).
func (s *Store) settleTx(ctx context.Context, tx *sql.Tx, o Outcome) (lost error, err error) {
	a, id := o.Attempt, o.ID
	var update string
	var args []any
	switch o.Kind {
	case OutcomeRetry:
		res, err := tx.ExecContext(ctx, s.q(`UPDATE webhook_deliveries SET next_attempt_at = ?, claimed_until = 0,
			last_status = ?, last_error = ? WHERE id = ? AND status = 'pending' AND attempts = ?`),
			ms(o.NextAt), a.Status, a.Error, id, a.N)
		if err != nil {
			return nil, fmt.Errorf("store: retry webhook delivery: %w", err)
		}
		if noRows(res) {
			lost = ErrLeaseLost
		}
		return lost, s.insertAttempt(ctx, tx, id, a)
	case OutcomeDelivered:
		end := ms(a.At.Add(a.Duration))
		update = `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = ?, finished_at = ?,
		claimed_until = 0, last_status = ?, last_error = '' WHERE id = ? AND status = 'pending'
		RETURNING target_key, chat_key`
		args = []any{end, end, a.Status, id}
	default:
		status := model.DeliveryDropped
		if o.Kind == OutcomeFailed {
			status = model.DeliveryFailed
		}
		update = `UPDATE webhook_deliveries SET status = ?, finished_at = ?, claimed_until = 0,
		last_status = ?, last_error = ? WHERE id = ? AND status = 'pending' AND attempts = ?
		RETURNING target_key, chat_key`
		args = []any{status, ms(a.At.Add(a.Duration)), a.Status, o.Reason, id, a.N}
	}
	var target, chat string
	err = tx.QueryRowContext(ctx, s.q(update), args...).Scan(&target, &chat)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		lost = ErrLeaseLost
	case err != nil:
		return nil, fmt.Errorf("store: settle webhook delivery: %w", err)
	default:
		if err := s.unblock(ctx, tx, target, chat); err != nil {
			return nil, err
		}
	}
	return lost, s.insertAttempt(ctx, tx, id, a)
}

// unblock makes the oldest pending delivery of a target and chat the
// queue's head if it waits blocked. Its next attempt time is its own (for a
// new one, its creation time), so the claim, which takes the longest due
// first, keeps to the events' age across chats.
func (s *Store) unblock(ctx context.Context, tx *sql.Tx, target, chat string) error {
	_, err := tx.ExecContext(ctx, s.q(`UPDATE webhook_deliveries SET blocked = 0
		WHERE seq = (SELECT MIN(seq) FROM webhook_deliveries WHERE target_key = ? AND chat_key = ? AND status = 'pending')
		AND blocked = 1`), target, chat)
	if err != nil {
		return fmt.Errorf("store: unblock webhook delivery: %w", err)
	}
	return nil
}

// noRows reports a statement that changed no row.
func noRows(res sql.Result) bool {
	n, err := res.RowsAffected()
	return err == nil && n == 0
}

func (s *Store) insertAttempt(ctx context.Context, tx *sql.Tx, id string, a model.WebhookAttempt) error {
	if a.N <= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO webhook_attempts (delivery_id, n, at, status, error, duration_ms)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id, n) DO NOTHING`),
		id, a.N, ms(a.At), a.Status, a.Error, a.Duration.Milliseconds())
	if err != nil {
		return fmt.Errorf("store: log webhook attempt: %w", err)
	}
	return nil
}

// DropExpired drops up to limit pending deliveries whose maximum age has
// passed and that no worker holds, records why, and returns them. Each goes
// in a transaction of its own, which touches one target and chat only: on
// PostgreSQL, locks taken across several chats could deadlock with a
// producer enqueueing to those chats.
func (s *Store) DropExpired(ctx context.Context, now time.Time, limit int) ([]model.WebhookDelivery, error) {
	var out []model.WebhookDelivery
	for len(out) < limit {
		var d model.WebhookDelivery
		found := false
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			seqs, err := s.seqs(ctx, tx, `SELECT d.seq FROM webhook_deliveries d WHERE d.status = 'pending' AND d.expires_at > 0
				AND d.expires_at <= ? AND d.claimed_until <= ? ORDER BY d.expires_at LIMIT 1`+s.skipLocked("d"),
				ms(now), ms(now))
			if err != nil || len(seqs) == 0 {
				return err
			}
			d, err = scanDelivery(tx.QueryRowContext(ctx, s.q(`UPDATE webhook_deliveries SET status = 'dropped', finished_at = ?,
				claimed_until = 0, last_error = 'not delivered within the webhook max age of ' || max_age_s || ' s' ||
					CASE WHEN last_error <> '' THEN '; last attempt: ' || last_error ELSE '' END
				WHERE seq = ? RETURNING `+deliveryColumns), ms(now), seqs[0]))
			if err != nil {
				return fmt.Errorf("store: drop expired webhook delivery: %w", err)
			}
			found = true
			return s.unblock(ctx, tx, targetKey(d), d.ChatKey)
		})
		if err != nil {
			return out, err
		}
		if !found {
			break
		}
		out = append(out, d)
	}
	return out, nil
}

// seqs runs a query returning one int64 column.
func (s *Store) seqs(ctx context.Context, q querier, query string, args ...any) ([]any, error) {
	rows, err := q.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: select webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []any
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: select webhook deliveries: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Redeliver makes a delivered, dropped or failed delivery of a partner's
// channel (channelID "" for the partner's own webhooks) pending again, due
// at now, with its maximum age counted from now. A pending delivery is left
// as it is. It returns the delivery.
//
// The delivery takes its old place in its queue: it goes before the pending
// ones enqueued after it (those not in flight wait blocked behind it), and
// after those before it and one in flight, which unblock it when they
// finish.
func (s *Store) Redeliver(ctx context.Context, partnerID, channelID, id string, now time.Time) (model.WebhookDelivery, error) {
	var out model.WebhookDelivery
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var seq int64
		var target, chat string
		err := tx.QueryRowContext(ctx, s.q(`UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, claimed_until = 0,
			expires_at = CASE WHEN max_age_s > 0 THEN CAST(? AS BIGINT) + CAST(max_age_s AS BIGINT) * 1000 ELSE 0 END,
			last_status = 0, last_error = '', delivered_at = 0, finished_at = 0, blocked = 0
			WHERE partner_id = ? AND channel_id = ? AND id = ? AND status <> 'pending'
			RETURNING seq, target_key, chat_key`),
			ms(now), ms(now), partnerID, channelID, id).Scan(&seq, &target, &chat)
		switch {
		case errors.Is(err, sql.ErrNoRows): // pending already, or not found
		case err != nil:
			return fmt.Errorf("store: redeliver webhook delivery: %w", err)
		default:
			if err := s.requeue(ctx, tx, now, seq, target, chat); err != nil {
				return err
			}
		}
		out, err = scanDelivery(tx.QueryRowContext(ctx, s.q(`SELECT `+deliveryColumns+` FROM webhook_deliveries
			WHERE partner_id = ? AND channel_id = ? AND id = ?`), partnerID, channelID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrDeliveryNotFound
		}
		if err != nil {
			return fmt.Errorf("store: read webhook delivery: %w", err)
		}
		return nil
	})
	return out, err
}

// requeue puts the redelivered row seq, pending and unblocked, in its
// place in its queue. The queue's other unblocked rows are locked (on
// PostgreSQL), so none finishes before this commits: each one's finishing
// then sees the row. Behind one that is older or in flight, the row waits
// blocked; newer ones not in flight wait blocked behind it.
func (s *Store) requeue(ctx context.Context, tx *sql.Tx, now time.Time, seq int64, target, chat string) error {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT seq, claimed_until FROM webhook_deliveries WHERE target_key = ? AND chat_key = ?
		AND status = 'pending' AND blocked = 0 AND seq <> ? ORDER BY seq`+s.forUpdate()), target, chat, seq)
	if err != nil {
		return fmt.Errorf("store: redeliver webhook delivery: %w", err)
	}
	wait := false
	var behind []any
	for rows.Next() {
		var other, claimed int64
		if err := rows.Scan(&other, &claimed); err != nil {
			rows.Close()
			return fmt.Errorf("store: redeliver webhook delivery: %w", err)
		}
		switch {
		case other < seq || claimed > ms(now):
			wait = true
		default:
			behind = append(behind, other)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: redeliver webhook delivery: %w", err)
	}
	if wait {
		behind = append(behind, seq)
	}
	if len(behind) == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, s.q(`UPDATE webhook_deliveries SET blocked = 1 WHERE seq IN (`+placeholders(len(behind))+`)`), behind...)
	if err != nil {
		return fmt.Errorf("store: redeliver webhook delivery: %w", err)
	}
	return nil
}

// DeliveryQuery pages a delivery log.
type DeliveryQuery struct {
	// Status keeps deliveries with this status; "" keeps all.
	Status string
	Count  int
	Offset int
	// Attempts is how many of each delivery's latest attempts to return;
	// zero means 20.
	Attempts int
}

// DeliveryLog lists a partner's channel's deliveries (channelID "" for the
// partner's own webhooks), newest first, with their latest attempts, and
// how many match in all.
func (s *Store) DeliveryLog(ctx context.Context, partnerID, channelID string, q DeliveryQuery) ([]model.WebhookLogEntry, int, error) {
	cond, args := "partner_id = ? AND channel_id = ?", []any{partnerID, channelID}
	if q.Status != "" {
		cond, args = cond+" AND status = ?", append(args, q.Status)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM webhook_deliveries WHERE "+cond), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count webhook deliveries: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+deliveryColumns+" FROM webhook_deliveries WHERE "+cond+
		" ORDER BY seq DESC LIMIT ? OFFSET ?"), append(args, q.Count, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list webhook deliveries: %w", err)
	}
	out := []model.WebhookLogEntry{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("store: list webhook deliveries: %w", err)
		}
		out = append(out, model.WebhookLogEntry{Delivery: d, Attempts: []model.WebhookAttempt{}})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: list webhook deliveries: %w", err)
	}
	if err := s.attachAttempts(ctx, out, q.Attempts); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// Delivery returns one delivery of a partner's channel (channelID "" for
// the partner's own webhooks) with its latest attempts (zero: 20).
func (s *Store) Delivery(ctx context.Context, partnerID, channelID, id string, attempts int) (model.WebhookLogEntry, error) {
	d, err := scanDelivery(s.db.QueryRowContext(ctx, s.q(`SELECT `+deliveryColumns+` FROM webhook_deliveries
		WHERE partner_id = ? AND channel_id = ? AND id = ?`), partnerID, channelID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return model.WebhookLogEntry{}, ErrDeliveryNotFound
	}
	if err != nil {
		return model.WebhookLogEntry{}, fmt.Errorf("store: read webhook delivery: %w", err)
	}
	out := []model.WebhookLogEntry{{Delivery: d, Attempts: []model.WebhookAttempt{}}}
	if err := s.attachAttempts(ctx, out, attempts); err != nil {
		return model.WebhookLogEntry{}, err
	}
	return out[0], nil
}

// attachAttempts fills the entries' attempts: the latest perDelivery of
// each, oldest first.
func (s *Store) attachAttempts(ctx context.Context, es []model.WebhookLogEntry, perDelivery int) error {
	if len(es) == 0 {
		return nil
	}
	if perDelivery <= 0 {
		perDelivery = 20
	}
	byID := make(map[string]*model.WebhookLogEntry, len(es))
	args := make([]any, 0, len(es)+1)
	args = append(args, perDelivery)
	for i := range es {
		byID[es[i].Delivery.ID] = &es[i]
		args = append(args, es[i].Delivery.ID)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT a.delivery_id, a.n, a.at, a.status, a.error, a.duration_ms
		FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
		WHERE a.n > d.attempts - ? AND a.delivery_id IN (`+placeholders(len(es))+`) ORDER BY a.delivery_id, a.n`), args...)
	if err != nil {
		return fmt.Errorf("store: list webhook attempts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a model.WebhookAttempt
		var at, dur int64
		if err := rows.Scan(&a.DeliveryID, &a.N, &at, &a.Status, &a.Error, &dur); err != nil {
			return fmt.Errorf("store: list webhook attempts: %w", err)
		}
		a.At, a.Duration = fromMS(at), time.Duration(dur)*time.Millisecond
		if e := byID[a.DeliveryID]; e != nil {
			e.Attempts = append(e.Attempts, a)
		}
	}
	return rows.Err()
}

// OutboxStats describe the pending part of the outbox.
type OutboxStats struct {
	// Pending deliveries wait to be delivered; InFlight of them are claimed
	// by a worker; Due of them could be sent now, order permitting.
	Pending, InFlight, Due int
	// Oldest is the creation time of the oldest pending delivery (zero
	// when none is).
	Oldest time.Time
}

// Pending counts the pending deliveries as of now.
func (s *Store) Pending(ctx context.Context, now time.Time) (OutboxStats, error) {
	var st OutboxStats
	var oldest int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN claimed_until > ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN blocked = 0 AND next_attempt_at <= ? THEN 1 ELSE 0 END), 0),
		COALESCE(MIN(created_at), 0)
		FROM webhook_deliveries WHERE status = 'pending'`), ms(now), ms(now)).Scan(&st.Pending, &st.InFlight, &st.Due, &oldest)
	if err != nil {
		return st, fmt.Errorf("store: count webhook deliveries: %w", err)
	}
	if oldest > 0 {
		st.Oldest = fromMS(oldest)
	}
	return st, nil
}

// PurgeDeliveries deletes up to limit finished (delivered, dropped, failed)
// deliveries that finished before before, with their attempts, and up to
// limit attempts older than before of pending ones. It returns how many
// deliveries went.
func (s *Store) PurgeDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		seqs, err := s.seqs(ctx, tx, `SELECT d.seq FROM webhook_deliveries d WHERE d.status <> 'pending'
			AND d.finished_at < ? LIMIT ?`+s.skipLocked("d"), ms(before), limit)
		if err != nil {
			return err
		}
		if len(seqs) > 0 {
			// Attempts go explicitly: PostgreSQL cascades, but a SQLite
			// connection opened without foreign keys would not.
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM webhook_attempts WHERE delivery_id IN
				(SELECT id FROM webhook_deliveries WHERE seq IN (`+placeholders(len(seqs))+`))`), seqs...); err != nil {
				return fmt.Errorf("store: purge webhook attempts: %w", err)
			}
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM webhook_deliveries WHERE seq IN (`+placeholders(len(seqs))+`)`), seqs...); err != nil {
				return fmt.Errorf("store: purge webhook deliveries: %w", err)
			}
		}
		n = len(seqs)
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM webhook_attempts WHERE (delivery_id, n) IN
			(SELECT delivery_id, n FROM webhook_attempts WHERE at < ? LIMIT ?)`), ms(before), limit)
		if err != nil {
			return fmt.Errorf("store: purge webhook attempts: %w", err)
		}
		return nil
	})
	return n, err
}

// given drops the nil hooks a caller passed (a producer with nobody to tell
// passes nil), so a change does no work for them.
func given[F any](hooks []F) []F {
	out := hooks[:0:0]
	for _, h := range hooks {
		if !reflect.ValueOf(h).IsNil() {
			out = append(out, h)
		}
	}
	return out
}
