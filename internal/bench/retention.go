package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
)

// The retention section (issue 17): old messages seeded into the live
// channels (bulk inserts through the server's own database handle), then
// POST /messages/text measured without pruning and while the background
// pruning (service.PruneRetention, after the operator set
// retain_messages_days) deletes them.

// RetentionSeedMax bounds the old messages seeded.
const RetentionSeedMax = 300_000

// GoalPruneP99 is issue 17's bound: send p99 while pruning within 1.5x of
// not pruning.
const GoalPruneP99 = 1.5

// RetentionReport is the retention section.
type RetentionReport struct {
	// Seeded old messages, and how long seeding took.
	Seeded      int     `json:"seeded"`
	SeedSeconds float64 `json:"seed_seconds"`
	// Idle is the send with no pruning; Pruning the same while pruning ran.
	Idle    Load `json:"idle"`
	Pruning Load `json:"pruning"`
	// Pruned is how many messages the pruning deleted, PruneSeconds how
	// long it ran, Busy whether it ran for the whole window.
	Pruned       int     `json:"pruned"`
	PruneSeconds float64 `json:"prune_seconds"`
	Busy         bool    `json:"busy_whole_window"`
	// P99Ratio is Pruning.P99ms / Idle.P99ms.
	P99Ratio float64 `json:"p99_ratio"`
}

func (e *env) benchRetention(ctx context.Context) (*RetentionReport, error) {
	if err := e.setupLive(ctx); err != nil {
		return nil, err
	}
	share := e.o.share(SectionRetention)
	window := max(share/3, time.Second)
	rep := &RetentionReport{}
	st := e.srv.Service().Store()
	e.prog.stepf("retention: seeding up to %d old messages over %d channels (%s at most)", RetentionSeedMax, len(e.liveIDs), (share / 3).Round(time.Millisecond))
	t0 := time.Now()
	n, err := seedOld(ctx, st, e.liveIDs, RetentionSeedMax, max(share/3, time.Second))
	rep.Seeded, rep.SeedSeconds = n, time.Since(t0).Seconds()
	if err != nil {
		return rep, fmt.Errorf("seed: %w", err)
	}
	if st.Dialect() == store.Postgres {
		// Months-old rows have been analyzed by autovacuum long before they
		// are pruned; rows seeded a moment ago have not, and without
		// statistics the planner reads a channel's whole range per batch.
		if _, err := st.DB().ExecContext(ctx, "ANALYZE messages"); err != nil {
			return rep, fmt.Errorf("analyze: %w", err)
		}
	}
	op := func(ctx context.Context, worker, n int) error {
		_, err := e.sendText(ctx, worker, n)
		return err
	}
	e.prog.stepf("retention: send without pruning, %d clients, %s", e.o.Clients, window.Round(time.Millisecond))
	Drive(ctx, e.o.Clients, window/4, 0, op, nil)
	rep.Idle = Drive(ctx, e.o.Clients, window, 0, op, func(n int) { e.prog.tickf("%d messages", n) })

	if err := e.api.call(ctx, "PATCH", "/admin/settings", e.admin, map[string]any{"retain_messages_days": 1}, nil); err != nil {
		return rep, err
	}
	e.prog.stepf("retention: send while pruning %d old messages, %s", rep.Seeded, window.Round(time.Millisecond))
	type result struct {
		n   service.RetentionPruned
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	go func() {
		n, err := e.srv.Service().PruneRetention(pctx)
		done <- result{n, err, time.Now()}
	}()
	rep.Pruning = Drive(ctx, e.o.Clients, window, 0, op, func(n int) { e.prog.tickf("%d messages", n) })
	sendEnd := time.Now()
	var r result
	select {
	case r = <-done:
	default:
		cancel()
		r = <-done
		if errors.Is(r.err, context.Canceled) {
			r.err = nil
		}
	}
	// Put the setting back for the sections after this one.
	if err := e.api.call(ctx, "PATCH", "/admin/settings", e.admin, map[string]any{"retain_messages_days": 0}, nil); err != nil {
		return rep, err
	}
	rep.Pruned, rep.PruneSeconds, rep.Busy = r.n.Messages, r.at.Sub(start).Seconds(), !r.at.Before(sendEnd)
	rep.P99Ratio = ratio(rep.Pruning.P99ms, rep.Idle.P99ms)
	if r.err != nil {
		return rep, fmt.Errorf("prune: %w", r.err)
	}
	if !rep.Busy {
		e.notes = append(e.notes, fmt.Sprintf("retention: pruning finished %.1f s into the %.1f s send window (%d messages seeded): the window's tail ran without it",
			rep.PruneSeconds, window.Seconds(), rep.Seeded))
	}
	return rep, nil
}

// seedOld inserts up to max messages 30 days old, spread over channels,
// in transactions of 500 rows, for at most d; it returns how many.
func seedOld(ctx context.Context, st *store.Store, channels []string, max int, d time.Duration) (int, error) {
	db, pg := st.DB(), st.Dialect() == store.Postgres
	const batch = 500
	ts := time.Now().Add(-30 * 24 * time.Hour).UnixMilli()
	end := time.Now().Add(d)
	q := `INSERT INTO messages (channel_id, id, chat_id, from_me, type, source, status, status_rank, body, content, ts, seq) VALUES ` +
		rows(batch, "(?, ?, ?, ?, 'text', 'mobile', 'delivered', 2, ?, ?, ?, ?)")
	if pg {
		q = (&storageRun{pg: true}).q(q)
	}
	seeded := 0
	for seeded < max && time.Now().Before(end) {
		if err := ctx.Err(); err != nil {
			return seeded, err
		}
		args := make([]any, 0, batch*8)
		for i := range batch {
			n := seeded + i
			body := "old message " + strconv.Itoa(n)
			// seq below the live messages' (they start at 1): negative.
			args = append(args, channels[n%len(channels)], "old"+randHex(12), "1555100"+fmt.Sprintf("%04d", n%Recipients)+"@s.whatsapp.net",
				n%2 == 0, body, `{"body":"`+body+`"}`, ts+int64(n), -int64(n+1))
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return seeded, err
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			_ = tx.Rollback()
			return seeded, err
		}
		if err := tx.Commit(); err != nil {
			return seeded, err
		}
		seeded += batch
	}
	return seeded, nil
}
