package store_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// obxHeads returns the IDs of the unblocked pending deliveries.
func obxHeads(t *testing.T, st *store.Store) []string {
	t.Helper()
	rows, err := st.DB().QueryContext(bg(), `SELECT id FROM webhook_deliveries WHERE status = 'pending' AND blocked = 0 ORDER BY id`)
	noErr(t, "heads", err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		noErr(t, "scan", rows.Scan(&id))
		out = append(out, id)
	}
	noErr(t, "heads", rows.Err())
	return out
}

func obxWantHeads(t *testing.T, st *store.Store, what string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := obxHeads(t, st); !slices.Equal(got, want) {
		t.Fatalf("%s: unblocked %v, want %v", what, got, want)
	}
}

func obxDeliver(t *testing.T, st *store.Store, now time.Time, ds ...model.WebhookDelivery) {
	t.Helper()
	outs := make([]store.Outcome, len(ds))
	for i, d := range ds {
		outs[i] = store.Outcome{ID: d.ID, Attempt: obxAttempt(d, now, 200, ""), Kind: store.OutcomeDelivered}
	}
	for i, err := range st.Settle(bg(), outs) {
		noErr(t, "settle "+ds[i].ID, err)
	}
}

// A large backlog over many chats and two webhooks drains with every
// queue in order: a claim never takes a delivery while an older one of its
// queue is pending, and each finishing head unblocks exactly the next.
func TestOutboxClaimOrderLargeBacklog(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		const chats, per = 40, 25
		rng := rand.New(rand.NewPCG(1, 2))
		var all []model.WebhookDelivery
		for n := range per {
			for c := range chats {
				for _, url := range []string{obxHookA, obxHookB} {
					all = append(all, obxDelivery(url, fmt.Sprintf("c%02d", c), n))
				}
			}
		}
		// Enqueued in batches of mixed chats, as producers do.
		for len(all) > 0 {
			n := min(len(all), 1+rng.IntN(50))
			noErr(t, "enqueue", st.Enqueue(bg(), all[:n]...))
			all = all[n:]
		}
		if heads := obxHeads(t, st); len(heads) != 2*chats {
			t.Fatalf("%d unblocked after enqueue, want one per queue (%d)", len(heads), 2*chats)
		}
		now := t0.Add(time.Second)
		next := map[string]int{} // queue -> next n expected
		for delivered := 0; delivered < 2*chats*per; {
			got, err := st.ClaimDue(bg(), now, 1+rng.IntN(64), store.ClaimOptions{Lease: time.Minute, ReceiverLimit: 8,
				Busy: map[string]int{"https://a.example:443": rng.IntN(9)}})
			noErr(t, "claim", err)
			if len(got) == 0 {
				t.Fatalf("nothing claimable with %d delivered", delivered)
			}
			inClaim := map[string]bool{}
			var retry []store.Outcome
			var done []model.WebhookDelivery
			for _, d := range got {
				q := d.Target.URL + "/" + d.ChatKey
				if inClaim[q] {
					t.Fatalf("two deliveries of queue %s in one claim", q)
				}
				inClaim[q] = true
				var n int
				fmt.Sscanf(d.ID[len(d.ID)-3:], "%d", &n)
				if n != next[q] {
					t.Fatalf("queue %s: claimed %d, want %d", q, n, next[q])
				}
				if rng.IntN(5) == 0 { // a failed attempt: due again at once
					retry = append(retry, store.Outcome{ID: d.ID, Attempt: obxAttempt(d, now, 500, "HTTP 500"),
						Kind: store.OutcomeRetry, NextAt: now})
					continue
				}
				next[q]++
				done = append(done, d)
			}
			for _, err := range st.Settle(bg(), retry) {
				noErr(t, "retry", err)
			}
			obxDeliver(t, st, now, done...)
			delivered += len(done)
			if len(obxHeads(t, st)) > 2*chats {
				t.Fatalf("more unblocked rows than queues")
			}
		}
		if heads := obxHeads(t, st); len(heads) != 0 {
			t.Fatalf("unblocked after the drain: %v", heads)
		}
	})
}

// Finishing a head, whichever way, unblocks exactly the next of its queue.
func TestOutboxHeadUnblocksNext(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		var ds []model.WebhookDelivery
		for n := range 4 {
			ds = append(ds, obxDelivery(obxHookA, "c1", n), obxDelivery(obxHookA, "c2", n))
		}
		ds[6].Target.MaxAgeSeconds = 1 // c1/3
		noErr(t, "enqueue", st.Enqueue(bg(), ds...))
		id := func(chat string, n int) string { return obxDelivery(obxHookA, chat, n).ID }
		obxWantHeads(t, st, "enqueued", id("c1", 0), id("c2", 0))
		now := t0.Add(time.Second)

		got := obxClaim(t, st, now, 10)
		obxWantIDs(t, "first", got, id("c1", 0), id("c2", 0))
		obxWantHeads(t, st, "claimed", id("c1", 0), id("c2", 0))
		// A retry unblocks nothing; a delivery unblocks the next.
		noErr(t, "retry", st.Retry(bg(), got[0].ID, obxAttempt(got[0], now, 500, "x"), now.Add(time.Hour)))
		obxWantHeads(t, st, "retry", id("c1", 0), id("c2", 0))
		obxDeliver(t, st, now, got[1])
		obxWantHeads(t, st, "delivered", id("c1", 0), id("c2", 1))
		// A failed one unblocks the next.
		c2 := obxClaim(t, st, now, 10)
		obxWantIDs(t, "second", c2, id("c2", 1))
		noErr(t, "fail", st.Fail(bg(), c2[0].ID, obxAttempt(c2[0], now, 410, "gone"), "gone"))
		obxWantHeads(t, st, "failed", id("c1", 0), id("c2", 2))
		// The delivered head of c1 unblocks c1/1 only.
		r := obxClaim(t, st, now.Add(2*time.Hour), 10)
		obxWantIDs(t, "c1 again", r, id("c1", 0), id("c2", 2))
		obxDeliver(t, st, now, r...)
		obxWantHeads(t, st, "both delivered", id("c1", 1), id("c2", 3))
		// A max-age drop of a head unblocks the next; one of a blocked
		// row unblocks nothing.
		later := t0.Add(3 * time.Hour)
		dropped, err := st.DropExpired(bg(), later, 10)
		noErr(t, "drop", err)
		obxWantIDs(t, "dropped", dropped, id("c1", 3))
		obxWantHeads(t, st, "after a blocked row's drop", id("c1", 1), id("c2", 3))
		c := obxClaim(t, st, later, 10)
		obxWantIDs(t, "third", c, id("c1", 1), id("c2", 3))
		obxDeliver(t, st, later, c...)
		obxWantHeads(t, st, "end", id("c1", 2))
		obxDeliver(t, st, later, obxClaim(t, st, later, 10)...)
		obxWantHeads(t, st, "drained")
	})
}

// A redelivered delivery takes its old place in its queue: before the
// pending ones enqueued after it, unless one of those is in flight, which
// it then follows.
func TestOutboxRedeliverOrder(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		id := func(n int) string { return obxDelivery(obxHookA, "c1", n).ID }
		for n := range 5 {
			noErr(t, "enqueue", st.Enqueue(bg(), obxDelivery(obxHookA, "c1", n)))
		}
		now := t0.Add(time.Second)
		obxDeliver(t, st, now, obxClaim(t, st, now, 10)...) // 0
		obxDeliver(t, st, now, obxClaim(t, st, now, 10)...) // 1
		// 2 retries later; 0 is redelivered: it goes first, 2 waits.
		c := obxClaim(t, st, now, 10)
		obxWantIDs(t, "2", c, id(2))
		noErr(t, "retry", st.Retry(bg(), id(2), obxAttempt(c[0], now, 500, "x"), now.Add(time.Minute)))
		r, err := st.Redeliver(bg(), obxPartner, obxChannel, id(0), now)
		noErr(t, "redeliver", err)
		if r.Status != model.DeliveryPending || !r.NextAttemptAt.Equal(now) {
			t.Fatalf("redelivered %+v", r)
		}
		obxWantHeads(t, st, "redelivered", id(0))
		later := now.Add(time.Hour)
		c = obxClaim(t, st, later, 10)
		obxWantIDs(t, "redelivered first", c, id(0))
		obxDeliver(t, st, later, c...)
		c = obxClaim(t, st, later, 10)
		obxWantIDs(t, "then 2", c, id(2))
		// 2 is in flight; 1 is redelivered: it waits for 2, then goes
		// before 3.
		_, err = st.Redeliver(bg(), obxPartner, obxChannel, id(1), later)
		noErr(t, "redeliver", err)
		obxWantHeads(t, st, "behind one in flight", id(2))
		if got := obxClaim(t, st, later, 10); len(got) != 0 {
			t.Fatalf("claimed %v while 2 is in flight", obxIDs(got))
		}
		obxDeliver(t, st, later, c...)
		c = obxClaim(t, st, later, 10)
		obxWantIDs(t, "then 1", c, id(1))
		obxDeliver(t, st, later, c...)
		for _, n := range []int{3, 4} {
			c = obxClaim(t, st, later, 10)
			obxWantIDs(t, "rest", c, id(n))
			obxDeliver(t, st, later, c...)
		}
		obxWantHeads(t, st, "drained")
		// Redelivered into an empty queue, or behind an older pending one.
		_, err = st.Redeliver(bg(), obxPartner, obxChannel, id(3), later)
		noErr(t, "redeliver", err)
		_, err = st.Redeliver(bg(), obxPartner, obxChannel, id(4), later)
		noErr(t, "redeliver", err)
		obxWantHeads(t, st, "two redelivered", id(3))
		c = obxClaim(t, st, later, 10)
		obxWantIDs(t, "3", c, id(3))
		obxDeliver(t, st, later, c...)
		c = obxClaim(t, st, later, 10)
		obxWantIDs(t, "4", c, id(4))
	})
}

// Migration 0007 computes blocked for the rows already queued: the oldest
// pending of each queue is unblocked, the others are blocked, and those the
// old schema blocked (next attempt at 2^62) are due from their creation.
func TestOutboxMigrateHeads(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := storetest.Open(t, b)
			db := st.DB()
			q := func(query string, args ...any) {
				t.Helper()
				if st.Dialect() == store.Postgres {
					for i := 1; i <= len(args); i++ {
						query = strings.Replace(query, "?", fmt.Sprintf("$%d", i), 1)
					}
				}
				if _, err := db.ExecContext(bg(), query, args...); err != nil {
					t.Fatalf("%s: %v", query, err)
				}
			}
			// Back to schema 6, then rows as the old code left them.
			q(`DROP INDEX webhook_deliveries_heads`)
			q(`ALTER TABLE webhook_deliveries DROP COLUMN blocked`)
			q(`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, seq) WHERE status = 'pending'`)
			// Migrations after 7 run again too: they are written to.
			q(`DELETE FROM schema_migrations WHERE version >= 7`)
			const blockedAt = int64(1) << 62
			row := func(id, chat, status string, created, next int64) {
				q(`INSERT INTO webhook_deliveries (id, event_id, partner_id, channel_id, type, method, chat_key, target_key,
					receiver, url, mode, payload, created_at, status, next_attempt_at)
					VALUES (?, 'e', 'p', 'c', 'messages', 'post', ?, 't', 'r', 'https://r/', 'body', '{}', ?, ?, ?)`,
					id, chat, created, status, next)
			}
			row("a0", "a", "delivered", 1, 0)
			row("a1", "a", "pending", 2, 5000) // head, retrying
			row("a2", "a", "pending", 3, blockedAt)
			row("a3", "a", "pending", 4, blockedAt)
			row("b1", "b", "failed", 5, 0)
			row("b2", "b", "pending", 6, blockedAt) // head left blocked: unblocked
			row("b3", "b", "pending", 7, 7)         // unblocked behind one: blocked
			row("c1", "c", "pending", 8, 8)
			n, err := st.Migrate(bg())
			noErr(t, "migrate", err)
			if want := store.SchemaVersion() - 6; n != want {
				t.Fatalf("applied %d migrations, want %d", n, want)
			}
			rows, err := db.QueryContext(bg(), `SELECT id, blocked, next_attempt_at FROM webhook_deliveries WHERE status = 'pending' ORDER BY id`)
			noErr(t, "read", err)
			defer rows.Close()
			var got []string
			for rows.Next() {
				var id string
				var blocked, next int64
				noErr(t, "scan", rows.Scan(&id, &blocked, &next))
				got = append(got, fmt.Sprintf("%s:%d:%d", id, blocked, next))
			}
			want := []string{"a1:0:5000", "a2:1:3", "a3:1:4", "b2:0:6", "b3:1:7", "c1:0:8"}
			if !slices.Equal(got, want) {
				t.Fatalf("after migration %v, want %v", got, want)
			}
		})
	}
}

// BenchmarkClaimDue drains backlogs of 100 and 10,000 deliveries over 64
// chats: each op claims up to 32 and records them delivered. claim-us/op is
// the time of ClaimDue alone; it should not grow with the backlog.
func BenchmarkClaimDue(b *testing.B) {
	for k, be := range storetest.Backends(b) {
		for _, backlog := range []int{100, 10000} {
			b.Run(fmt.Sprintf("%s/backlog-%d", be.Name, backlog), func(b *testing.B) {
				st := storetest.Open(b, storetest.Backends(b)[k]) // a database of its own
				fill := func(round int) {
					var batch []model.WebhookDelivery
					for i := range backlog {
						d := obxDelivery(obxHookA, fmt.Sprintf("c%02d", i%64), i)
						d.ID = fmt.Sprintf("whd_%d_%d", round, i)
						batch = append(batch, d)
						if len(batch) == 500 || i == backlog-1 {
							if err := st.Enqueue(bg(), batch...); err != nil {
								b.Fatal(err)
							}
							batch = batch[:0]
						}
					}
				}
				now := t0.Add(time.Hour)
				round, left := 0, 0
				var claiming time.Duration
				b.ResetTimer()
				for b.Loop() {
					if left == 0 {
						b.StopTimer()
						fill(round)
						round, left = round+1, backlog
						b.StartTimer()
					}
					start := time.Now()
					got, err := st.ClaimDue(bg(), now, 32, store.ClaimOptions{Lease: time.Minute})
					claiming += time.Since(start)
					if err != nil || len(got) == 0 {
						b.Fatalf("claim: %d, %v", len(got), err)
					}
					outs := make([]store.Outcome, len(got))
					for i, d := range got {
						outs[i] = store.Outcome{ID: d.ID, Attempt: obxAttempt(d, now, 200, ""), Kind: store.OutcomeDelivered}
					}
					for _, err := range st.Settle(bg(), outs) {
						if err != nil {
							b.Fatal(err)
						}
					}
					left -= len(got)
				}
				b.ReportMetric(float64(claiming.Microseconds())/float64(b.N), "claim-us/op")
			})
		}
	}
}
