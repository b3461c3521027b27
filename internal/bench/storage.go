package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// The storage reference (issue 17): the rate at which the bench's database
// accepts the rows a send and a delivery write, from a bare Go loop on the
// same driver, schema, indexes and connection settings (a fresh store of
// its own, migrated), batching as much as the database allows:
//
//   - a send: its message row (with its seq) and its chat's upsert, and the
//     messages.post delivery a webhook adds; batches of StorageBatch sends
//     as multi-row statements in one transaction;
//   - a delivery: the claim (an update of the row), the outcome (another)
//     and the attempt's log row; batches of StorageBatch likewise.
//
// On SQLite one writer (it has one at a time); on PostgreSQL as many
// writers as the bench has clients, each on channels of its own.

// StorageBatch is the rows per transaction of the storage reference.
const StorageBatch = 64

// StorageReport is the storage reference.
type StorageReport struct {
	Writers int `json:"writers"`
	Batch   int `json:"batch"`
	// SendsPerSecond: message + chat upsert + one delivery row a send.
	SendsPerSecond float64 `json:"sends_per_second"`
	// DeliveriesPerSecond: claim + settle updates + an attempt row a
	// delivery.
	DeliveriesPerSecond float64 `json:"deliveries_per_second"`
}

// storageRef measures the reference once and keeps it for the sections
// that compare with it.
func (e *env) storageRef(ctx context.Context) (*StorageReport, error) {
	if e.storage != nil {
		return e.storage, nil
	}
	d := min(max(e.o.Duration/20, time.Second), 3*time.Second)
	e.prog.stepf("storage reference: bare inserts of a send's rows, then a delivery's, %s each", d.Round(time.Millisecond))
	rep, err := measureStorage(ctx, e.o, filepath.Join(e.dir, "storage-ref"), d)
	if err != nil {
		return nil, fmt.Errorf("storage reference: %w", err)
	}
	e.storage = rep
	return rep, nil
}

func measureStorage(ctx context.Context, o Options, dir string, d time.Duration) (*StorageReport, error) {
	so := store.Options{SQLitePath: filepath.Join(dir, "ref.db")}
	if o.DatabaseURL != "" {
		u, drop, err := postgresSchema(ctx, o.DatabaseURL)
		if err != nil {
			return nil, err
		}
		defer drop()
		so = store.Options{URL: u}
	}
	st, err := store.Open(ctx, so)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	writers := 1
	if st.Dialect() == store.Postgres {
		writers = o.Clients
	}
	now := time.Now()
	p := model.Partner{ID: ids.PartnerID(), Name: "storage_ref", Email: "ref@example.test", TokenHash: ids.Hash(ids.PartnerToken()),
		TrialDays: -1, CreatedAt: now}
	if err := st.CreatePartner(ctx, p, 0, "bench"); err != nil {
		return nil, err
	}
	chans := make([]string, writers)
	for i := range chans {
		tok := ids.ChannelToken()
		ch := model.Channel{ID: ids.ChannelID(), PartnerID: p.ID, ProjectID: model.DefaultProjectID, Name: "ref", Token: tok,
			Mode: model.ModeLive, CreatedAt: now, TrialUntil: now, ActiveTill: now.Add(24 * time.Hour)}
		if err := st.CreateChannel(ctx, ch, ids.Hash(tok), store.CreateLimit{}, now); err != nil {
			return nil, err
		}
		chans[i] = ch.ID
	}
	r := &storageRun{db: st.DB(), pg: st.Dialect() == store.Postgres, partner: p.ID}
	rep := &StorageReport{Writers: writers, Batch: StorageBatch}
	rep.SendsPerSecond, err = r.drive(ctx, chans, d, r.sends)
	if err != nil {
		return rep, err
	}
	rep.DeliveriesPerSecond, err = r.drive(ctx, chans, d, r.deliveries)
	return rep, err
}

// storageRun is one reference run's database.
type storageRun struct {
	db      *sql.DB
	pg      bool
	partner string
	next    atomic.Int64
}

// batchFn writes batch n of a writer's channel and returns the rows done.
type batchFn func(ctx context.Context, channel string, n int) (int, error)

// drive runs one writer per channel writing batches back to back for d
// and returns the rate.
func (r *storageRun) drive(ctx context.Context, chans []string, d time.Duration, fn batchFn) (float64, error) {
	var (
		wg    sync.WaitGroup
		done  atomic.Int64
		mu    sync.Mutex
		first error
	)
	start := time.Now()
	end := start.Add(d)
	for _, ch := range chans {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil && time.Now().Before(end); n++ {
				k, err := fn(ctx, ch, n)
				if errors.Is(err, errNoMore) {
					return
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				done.Add(int64(k))
			}
		})
	}
	wg.Wait()
	if first != nil {
		return 0, first
	}
	return float64(done.Load()) / time.Since(start).Seconds(), ctx.Err()
}

// q rebinds ? placeholders for PostgreSQL.
func (r *storageRun) q(query string) string {
	if !r.pg {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// tx runs fn in a transaction.
func (r *storageRun) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func rows(n int, one string) string {
	return strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
}

// refPayload is about the size of a messages.post delivery's body.
var refPayload = `{"messages":[{"id":"` + strings.Repeat("0", 32) + `","from_me":true,"type":"text","chat_id":"15551000000@s.whatsapp.net",` +
	`"timestamp":1700000000,"source":"api","status":"pending","text":{"body":"bench message 1-1"}}],"event":{"type":"messages","event":"post"},` +
	`"channel_id":"` + strings.Repeat("0", 20) + `"}`

// sends writes batch n of a channel's sends: StorageBatch messages, their
// chats (each batch's sends go to distinct chats, as many as a batch) and
// a delivery each.
func (r *storageRun) sends(ctx context.Context, channel string, n int) (int, error) {
	ts := time.Now().UnixMilli()
	margs := make([]any, 0, StorageBatch*12)
	cargs := make([]any, 0, StorageBatch*6)
	dargs := make([]any, 0, StorageBatch*10)
	for i := range StorageBatch {
		seq := n*StorageBatch + i + 1
		id := randHex(16)
		chat := fmt.Sprintf("1555100%04d@s.whatsapp.net", i)
		body := "bench message " + strconv.Itoa(n) + "-" + strconv.Itoa(i)
		margs = append(margs, channel, id, chat, true, "text", "api", "pending", 1, body, `{"body":"`+body+`"}`, ts, seq)
		cargs = append(cargs, channel, chat, "contact", id, ts, 0)
		dargs = append(dargs, model.NewWebhookDeliveryID(), model.NewWebhookEventID(), r.partner, channel, chat, channel+chat, refPayload, ts, ts, 0)
	}
	return StorageBatch, r.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, r.q(`INSERT INTO messages (channel_id, id, chat_id, from_me, type, source, status, status_rank,
			body, content, ts, seq) VALUES `+rows(StorageBatch, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")+` ON CONFLICT (channel_id, id) DO NOTHING`), margs...); err != nil {
			return fmt.Errorf("insert messages: %w", err)
		}
		if _, err := tx.ExecContext(ctx, r.q(`INSERT INTO chats (channel_id, id, type, last_message_id, last_ts, unread)
			VALUES `+rows(StorageBatch, "(?, ?, ?, ?, ?, ?)")+` ON CONFLICT (channel_id, id) DO UPDATE SET
			last_message_id = excluded.last_message_id, last_ts = excluded.last_ts, unread = 0`), cargs...); err != nil {
			return fmt.Errorf("upsert chats: %w", err)
		}
		if _, err := tx.ExecContext(ctx, r.q(`INSERT INTO webhook_deliveries (id, event_id, partner_id, channel_id, type, method,
			chat_key, target_key, receiver, url, mode, payload, created_at, status, next_attempt_at, blocked)
			VALUES `+rows(StorageBatch, "(?, ?, ?, ?, 'messages', 'post', ?, ?, 'http://127.0.0.1:1', 'http://127.0.0.1:1/hooks', 'body', ?, ?, 'pending', ?, ?)")), dargs...); err != nil {
			return fmt.Errorf("insert deliveries: %w", err)
		}
		return nil
	})
}

// errNoMore ends a writer that found no pending delivery left.
var errNoMore = errors.New("no pending delivery left")

// deliveries settles batch n of a channel's deliveries: claims the oldest
// StorageBatch pending ones (an update each), marks them delivered
// (another) and logs an attempt for each. The pending rows are those the
// send reference wrote; a writer that used them all stops.
func (r *storageRun) deliveries(ctx context.Context, channel string, _ int) (int, error) {
	now := time.Now().UnixMilli()
	got := 0
	err := r.tx(ctx, func(tx *sql.Tx) error {
		lock := ""
		if r.pg {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		qrows, err := tx.QueryContext(ctx, r.q(`UPDATE webhook_deliveries SET attempts = attempts + 1, claimed_until = ?, next_attempt_at = ?
			WHERE seq IN (SELECT seq FROM webhook_deliveries WHERE channel_id = ? AND status = 'pending' ORDER BY seq LIMIT ?`+lock+`)
			RETURNING id`), now+60_000, now+60_000, channel, StorageBatch)
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		var idl []any
		for qrows.Next() {
			var id string
			if err := qrows.Scan(&id); err != nil {
				qrows.Close()
				return err
			}
			idl = append(idl, id)
		}
		qrows.Close()
		if err := qrows.Err(); err != nil {
			return err
		}
		if len(idl) == 0 {
			return errNoMore
		}
		got = len(idl)
		args := append([]any{now, now}, idl...)
		if _, err := tx.ExecContext(ctx, r.q(`UPDATE webhook_deliveries SET status = 'delivered', delivered_at = ?, finished_at = ?,
			claimed_until = 0, last_status = 204 WHERE id IN (`+rows(len(idl), "?")+`)`), args...); err != nil {
			return fmt.Errorf("settle: %w", err)
		}
		aargs := make([]any, 0, len(idl)*3)
		for _, id := range idl {
			aargs = append(aargs, id, now, 1)
		}
		if _, err := tx.ExecContext(ctx, r.q(`INSERT INTO webhook_attempts (delivery_id, n, at, status, duration_ms)
			VALUES `+rows(len(idl), "(?, 1, ?, 204, ?)")), aargs...); err != nil {
			return fmt.Errorf("log attempts: %w", err)
		}
		return nil
	})
	return got, err
}
