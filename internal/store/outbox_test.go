package store_test

// Helpers in this file carry an "obx" prefix so they do not collide with
// other _test files of package store_test.

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

const (
	obxPartner = "obxpartner0000000000000000001"
	obxChannel = "OBXCHN-00001"
	obxHookA   = "https://a.example/hook"
	obxHookB   = "https://b.example/hook"
)

// obxDelivery is delivery n of chat to url, created n ms after t0.
func obxDelivery(url, chat string, n int) model.WebhookDelivery {
	return model.WebhookDelivery{
		ID: fmt.Sprintf("whd_%s_%s_%03d", url[8:9], chat, n), PartnerID: obxPartner, ChannelID: obxChannel,
		Type: "messages", Method: "post", ChatKey: chat,
		Payload:   json.RawMessage(fmt.Sprintf(`{"n":%d,"chat":%q}`, n, chat)),
		Target:    model.WebhookTarget{URL: url, Mode: "body", Headers: map[string]string{"X-Key": "k"}, Secret: "s3cret"},
		CreatedAt: t0.Add(time.Duration(n) * time.Millisecond),
	}
}

func obxIDs(ds []model.WebhookDelivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	slices.Sort(out)
	return out
}

func obxClaim(t *testing.T, st *store.Store, now time.Time, limit int) []model.WebhookDelivery {
	t.Helper()
	ds, err := st.ClaimDue(bg(), now, limit, store.ClaimOptions{Lease: time.Minute})
	noErr(t, "claim", err)
	return ds
}

func obxWantIDs(t *testing.T, what string, got []model.WebhookDelivery, want ...string) {
	t.Helper()
	slices.Sort(want)
	if g := obxIDs(got); !slices.Equal(g, want) {
		t.Fatalf("%s: claimed %v, want %v", what, g, want)
	}
}

func obxAttempt(d model.WebhookDelivery, at time.Time, status int, errText string) model.WebhookAttempt {
	return model.WebhookAttempt{DeliveryID: d.ID, N: d.Attempts, At: at, Status: status, Error: errText, Duration: 12 * time.Millisecond}
}

func TestOutboxEnqueueClaimComplete(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		d := obxDelivery(obxHookA, "c1", 1)
		d.Target.MaxAgeSeconds = 60
		noErr(t, "enqueue", st.Enqueue(bg(), d))
		wantErr(t, "enqueue twice", st.Enqueue(bg(), d), model.ErrConflict)

		if got := obxClaim(t, st, t0, 10); len(got) != 0 {
			t.Fatalf("claimed %d before it was due", len(got))
		}
		now := t0.Add(time.Second)
		got := obxClaim(t, st, now, 10)
		obxWantIDs(t, "first claim", got, d.ID)
		c := got[0]
		if c.Attempts != 1 || c.Status != model.DeliveryPending || string(c.Payload) != string(d.Payload) ||
			c.Target.URL != d.Target.URL || c.Target.Secret != "s3cret" || c.Target.Headers["X-Key"] != "k" ||
			c.EventID == "" || !c.CreatedAt.Equal(d.CreatedAt) || !c.ExpiresAt.Equal(d.CreatedAt.Add(time.Minute)) ||
			!c.NextAttemptAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("claimed %+v", c)
		}
		if got := obxClaim(t, st, now, 10); len(got) != 0 {
			t.Fatalf("claimed again while the lease holds: %v", obxIDs(got))
		}
		stats, err := st.Pending(bg(), now)
		noErr(t, "pending", err)
		if stats.Pending != 1 || stats.InFlight != 1 || stats.Due != 0 || !stats.Oldest.Equal(d.CreatedAt) {
			t.Fatalf("stats %+v", stats)
		}

		noErr(t, "complete", st.Complete(bg(), c.ID, obxAttempt(c, now, 200, "")))
		e, err := st.Delivery(bg(), obxPartner, obxChannel, d.ID, 0)
		noErr(t, "read", err)
		if e.Delivery.Status != model.DeliveryDelivered || e.Delivery.LastStatus != 200 || e.Delivery.DeliveredAt.IsZero() ||
			len(e.Attempts) != 1 || e.Attempts[0].N != 1 || e.Attempts[0].Status != 200 || e.Attempts[0].Duration != 12*time.Millisecond {
			t.Fatalf("after complete: %+v", e)
		}
		stats, err = st.Pending(bg(), now)
		noErr(t, "pending", err)
		if stats != (store.OutboxStats{}) {
			t.Fatalf("stats after delivery %+v", stats)
		}
		if got := obxClaim(t, st, now.Add(time.Hour), 10); len(got) != 0 {
			t.Fatalf("claimed a delivered one")
		}
	})
}

func TestOutboxValidation(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		for name, mut := range map[string]func(d *model.WebhookDelivery){
			"no partner": func(d *model.WebhookDelivery) { d.PartnerID = "" },
			"no type":    func(d *model.WebhookDelivery) { d.Type = "" },
			"no URL":     func(d *model.WebhookDelivery) { d.Target.URL = "" },
			"no time":    func(d *model.WebhookDelivery) { d.CreatedAt = time.Time{} },
			"bad JSON":   func(d *model.WebhookDelivery) { d.Payload = json.RawMessage("{") },
			"bad mode":   func(d *model.WebhookDelivery) { d.Target.Mode = "carrier-pigeon" },
		} {
			d := obxDelivery(obxHookA, "c1", 1)
			mut(&d)
			wantErr(t, name, st.Enqueue(bg(), obxDelivery(obxHookA, "c0", 0), d), model.ErrInvalid)
		}
		if stats, _ := st.Pending(bg(), t0); stats.Pending != 0 {
			t.Fatalf("a rejected batch left %d deliveries", stats.Pending)
		}
		d := obxDelivery(obxHookA, "c1", 1)
		d.ID, d.EventID, d.Target.Mode = "", "", ""
		noErr(t, "enqueue with defaults", st.Enqueue(bg(), d))
		got := obxClaim(t, st, t0.Add(time.Second), 1)
		if len(got) != 1 || len(got[0].ID) != 30 || got[0].ID[:4] != "whd_" || got[0].EventID[:4] != "whe_" || got[0].Target.Mode != "body" {
			t.Fatalf("defaults: %+v", got)
		}
	})
}

// TestOutboxOrder: only the oldest pending delivery of a target and chat is
// claimable; a retry holds the ones behind it back.
func TestOutboxOrder(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a1, a2, a3 := obxDelivery(obxHookA, "c1", 1), obxDelivery(obxHookA, "c1", 2), obxDelivery(obxHookA, "c1", 3)
		b1 := obxDelivery(obxHookA, "c2", 4)
		x1 := obxDelivery(obxHookB, "c1", 5) // same chat, other webhook
		// Same URL and chat, other channel: a target of its own.
		y1 := obxDelivery(obxHookA, "c1", 6)
		y1.ID, y1.ChannelID = "whd_other_channel", "OBXCHN-00002"
		noErr(t, "enqueue", st.Enqueue(bg(), a1, a2, a3, b1, x1, y1))

		now := t0.Add(time.Second)
		got := obxClaim(t, st, now, 10)
		obxWantIDs(t, "heads", got, a1.ID, b1.ID, x1.ID, y1.ID)
		byID := map[string]model.WebhookDelivery{}
		for _, d := range got {
			byID[d.ID] = d
		}
		for _, id := range []string{b1.ID, x1.ID, y1.ID} {
			noErr(t, "complete "+id, st.Complete(bg(), id, obxAttempt(byID[id], now, 204, "")))
		}
		// a1 fails: retry in 10 s. a2 stays behind it even though it is due.
		retryAt := now.Add(10 * time.Second)
		noErr(t, "retry a1", st.Retry(bg(), a1.ID, obxAttempt(byID[a1.ID], now, 500, "HTTP 500"), retryAt))
		if got := obxClaim(t, st, now.Add(5*time.Second), 10); len(got) != 0 {
			t.Fatalf("claimed %v behind a retrying delivery", obxIDs(got))
		}
		e, err := st.Delivery(bg(), obxPartner, obxChannel, a2.ID, 0)
		noErr(t, "read a2", err)
		if !e.Delivery.NextAttemptAt.IsZero() {
			t.Fatalf("a2 next attempt %v, want none while it waits behind a1", e.Delivery.NextAttemptAt)
		}
		got = obxClaim(t, st, retryAt, 10)
		obxWantIDs(t, "a1 again", got, a1.ID)
		if got[0].Attempts != 2 {
			t.Fatalf("a1 attempts %d", got[0].Attempts)
		}
		noErr(t, "complete a1", st.Complete(bg(), a1.ID, obxAttempt(got[0], retryAt, 200, "")))
		got = obxClaim(t, st, retryAt, 10)
		obxWantIDs(t, "a2 after a1", got, a2.ID)
		noErr(t, "complete a2", st.Complete(bg(), a2.ID, obxAttempt(got[0], retryAt, 200, "")))
		got = obxClaim(t, st, retryAt, 10)
		obxWantIDs(t, "a3 after a2", got, a3.ID)

		e, err = st.Delivery(bg(), obxPartner, obxChannel, a1.ID, 0)
		noErr(t, "read a1", err)
		if len(e.Attempts) != 2 || e.Attempts[0].Status != 500 || e.Attempts[0].Error != "HTTP 500" || e.Attempts[1].Status != 200 {
			t.Fatalf("a1 attempts %+v", e.Attempts)
		}
	})
}

// TestOutboxLease: a claim whose worker died is claimable again when its
// lease ends; the dead worker's late outcome is fenced off.
func TestOutboxLease(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		d := obxDelivery(obxHookA, "c1", 1)
		noErr(t, "enqueue", st.Enqueue(bg(), d))
		now := t0.Add(time.Second)
		first := obxClaim(t, st, now, 1)
		obxWantIDs(t, "first", first, d.ID)
		if got := obxClaim(t, st, now.Add(time.Minute-time.Millisecond), 1); len(got) != 0 {
			t.Fatal("claimed before the lease ended")
		}
		later := now.Add(time.Minute)
		second := obxClaim(t, st, later, 1)
		obxWantIDs(t, "after the lease", second, d.ID)
		if second[0].Attempts != 2 {
			t.Fatalf("attempts %d", second[0].Attempts)
		}
		wantErr(t, "stale retry", st.Retry(bg(), d.ID, obxAttempt(first[0], now, 0, "timeout"), later.Add(time.Hour)), store.ErrLeaseLost)
		wantErr(t, "stale drop", st.Drop(bg(), d.ID, obxAttempt(first[0], now, 0, "timeout"), "old"), store.ErrLeaseLost)
		noErr(t, "current retry", st.Retry(bg(), d.ID, obxAttempt(second[0], later, 502, "HTTP 502"), later.Add(time.Second)))
		third := obxClaim(t, st, later.Add(time.Second), 1)
		obxWantIDs(t, "third", third, d.ID)
		fourth := obxClaim(t, st, later.Add(time.Minute+time.Second), 1)
		obxWantIDs(t, "fourth", fourth, d.ID)
		// A late success of the third attempt still counts: the receiver
		// has it. The fourth's failure then changes nothing.
		noErr(t, "late success", st.Complete(bg(), d.ID, obxAttempt(third[0], later, 200, "")))
		wantErr(t, "retry after success", st.Retry(bg(), d.ID, obxAttempt(fourth[0], later, 500, "x"), later), store.ErrLeaseLost)
		wantErr(t, "complete twice", st.Complete(bg(), d.ID, obxAttempt(fourth[0], later, 200, "")), store.ErrLeaseLost)
		e, err := st.Delivery(bg(), obxPartner, obxChannel, d.ID, 0)
		noErr(t, "read", err)
		var statuses []int
		for _, a := range e.Attempts {
			statuses = append(statuses, a.Status)
		}
		if e.Delivery.Status != model.DeliveryDelivered || e.Delivery.Attempts != 4 || !slices.Equal(statuses, []int{0, 502, 200, 500}) {
			t.Fatalf("after fencing: %+v, attempt statuses %v", e.Delivery, statuses)
		}
	})
}

func TestOutboxReceiverLimit(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		var all []model.WebhookDelivery
		for i := range 6 {
			all = append(all, obxDelivery(obxHookA, fmt.Sprintf("a%d", i), i))
		}
		b := obxDelivery(obxHookB, "b", 10)
		noErr(t, "enqueue", st.Enqueue(bg(), append(all, b)...))
		now := t0.Add(time.Second)
		busy := map[string]int{"https://a.example": 1}
		got, err := st.ClaimDue(bg(), now, 10, store.ClaimOptions{ReceiverLimit: 3, Busy: busy})
		noErr(t, "claim", err)
		obxWantIDs(t, "capped", got, all[0].ID, all[1].ID, b.ID)
		busy["https://a.example"] = 3
		got, err = st.ClaimDue(bg(), now, 10, store.ClaimOptions{ReceiverLimit: 3, Busy: busy})
		noErr(t, "claim", err)
		if len(got) != 0 {
			t.Fatalf("claimed %v from a full receiver", obxIDs(got))
		}
		got, err = st.ClaimDue(bg(), now, 10, store.ClaimOptions{})
		noErr(t, "claim", err)
		obxWantIDs(t, "uncapped", got, all[2].ID, all[3].ID, all[4].ID, all[5].ID)
	})
}

func TestOutboxExpiryDropFailRedeliver(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		old := obxDelivery(obxHookA, "c1", 1)
		old.Target.MaxAgeSeconds = 30
		young := obxDelivery(obxHookA, "c2", 2)
		young.Target.MaxAgeSeconds = 3600
		forever := obxDelivery(obxHookA, "c3", 3)
		noErr(t, "enqueue", st.Enqueue(bg(), old, young, forever))

		now := t0.Add(time.Minute)
		got := obxClaim(t, st, now, 10)
		obxWantIDs(t, "claim skips expired", got, young.ID, forever.ID)
		dropped, err := st.DropExpired(bg(), now, 10)
		noErr(t, "drop expired", err)
		obxWantIDs(t, "dropped", dropped, old.ID)
		if dropped[0].Status != model.DeliveryDropped || dropped[0].LastError != "not delivered within the webhook max age of 30 s" {
			t.Fatalf("dropped %+v", dropped[0])
		}
		// Drop after an attempt, Fail for good.
		byID := map[string]model.WebhookDelivery{got[0].ID: got[0], got[1].ID: got[1]}
		noErr(t, "drop", st.Drop(bg(), young.ID, obxAttempt(byID[young.ID], now, 503, "HTTP 503"), "max age; last attempt: HTTP 503"))
		noErr(t, "fail", st.Fail(bg(), forever.ID, obxAttempt(byID[forever.ID], now, 0, "refused"), "refused"))
		log, total, err := st.DeliveryLog(bg(), obxPartner, obxChannel, store.DeliveryQuery{Count: 10})
		noErr(t, "log", err)
		if total != 3 || log[0].Delivery.ID != forever.ID || log[0].Delivery.Status != model.DeliveryFailed ||
			log[1].Delivery.Status != model.DeliveryDropped || log[1].Delivery.LastError != "max age; last attempt: HTTP 503" ||
			len(log[1].Attempts) != 1 || log[2].Delivery.Status != model.DeliveryDropped || len(log[2].Attempts) != 0 {
			t.Fatalf("log %+v", log)
		}
		if stats, _ := st.Pending(bg(), now); stats.Pending != 0 {
			t.Fatalf("pending %+v", stats)
		}

		// Redelivery is scoped to the partner and channel, and restarts the
		// max age.
		_, err = st.Redeliver(bg(), obxPartner, "OBXCHN-99999", old.ID, now)
		wantErr(t, "other channel", err, store.ErrDeliveryNotFound)
		_, err = st.Redeliver(bg(), "someoneelse", obxChannel, old.ID, now)
		wantErr(t, "other partner", err, store.ErrDeliveryNotFound)
		r, err := st.Redeliver(bg(), obxPartner, obxChannel, old.ID, now)
		noErr(t, "redeliver", err)
		if r.Status != model.DeliveryPending || !r.ExpiresAt.Equal(now.Add(30*time.Second)) || r.LastError != "" {
			t.Fatalf("redelivered %+v", r)
		}
		r2, err := st.Redeliver(bg(), obxPartner, obxChannel, old.ID, now.Add(time.Second))
		noErr(t, "redeliver pending", err)
		if !r2.ExpiresAt.Equal(r.ExpiresAt) {
			t.Fatal("redelivering a pending delivery changed it")
		}
		got = obxClaim(t, st, now, 10)
		obxWantIDs(t, "redelivered", got, old.ID)
		noErr(t, "complete", st.Complete(bg(), old.ID, obxAttempt(got[0], now, 200, "")))
		_, err = st.Redeliver(bg(), obxPartner, obxChannel, forever.ID, now)
		noErr(t, "redeliver failed", err)
		got = obxClaim(t, st, now, 10)
		obxWantIDs(t, "redelivered failed", got, forever.ID)
		if got[0].Attempts != 2 {
			t.Fatalf("attempt numbering restarted: %d", got[0].Attempts)
		}
	})
}

// TestOutboxEnqueueTx: deliveries commit or roll back with the producer's
// transaction.
func TestOutboxEnqueueTx(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		boom := errors.New("boom")
		err := st.Tx(bg(), func(tx *sql.Tx) error {
			noErr(t, "enqueue in tx", st.EnqueueTx(bg(), tx, obxDelivery(obxHookA, "c1", 1)))
			return boom
		})
		wantErr(t, "rolled back", err, boom)
		if stats, _ := st.Pending(bg(), t0); stats.Pending != 0 {
			t.Fatalf("rolled-back delivery stored: %+v", stats)
		}
		noErr(t, "commit", st.Tx(bg(), func(tx *sql.Tx) error {
			return st.EnqueueTx(bg(), tx, obxDelivery(obxHookA, "c1", 1), obxDelivery(obxHookA, "c1", 2))
		}))
		if stats, _ := st.Pending(bg(), t0); stats.Pending != 2 {
			t.Fatalf("committed deliveries: %+v", stats)
		}
	})
}

func TestOutboxDeliveryLogAndPurge(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		noErr(t, "enqueue", st.Enqueue(bg(), obxDelivery(obxHookA, "c0", 0)))
		now := t0.Add(time.Second)
		// c0 fails 30 times; keep the last 20 attempts in the log.
		for i := range 30 {
			got, err := st.ClaimDue(bg(), now, 1, store.ClaimOptions{})
			noErr(t, "claim", err)
			if len(got) != 1 || got[0].ID != obxDelivery(obxHookA, "c0", 0).ID {
				t.Fatalf("round %d claimed %v", i, obxIDs(got))
			}
			noErr(t, "retry", st.Retry(bg(), got[0].ID, obxAttempt(got[0], now, 500, "HTTP 500"), now))
		}
		for i := 1; i < 5; i++ {
			noErr(t, "enqueue", st.Enqueue(bg(), obxDelivery(obxHookA, fmt.Sprintf("c%d", i), i)))
		}
		partnerLevel := obxDelivery(obxHookB, "", 9)
		partnerLevel.ChannelID, partnerLevel.Type = "", "days"
		noErr(t, "enqueue partner-level", st.Enqueue(bg(), partnerLevel))
		log, total, err := st.DeliveryLog(bg(), obxPartner, obxChannel, store.DeliveryQuery{Count: 2, Offset: 1})
		noErr(t, "log", err)
		if total != 5 || len(log) != 2 || log[0].Delivery.ID != obxDelivery(obxHookA, "c3", 3).ID {
			t.Fatalf("page: total %d %+v", total, log)
		}
		e, err := st.Delivery(bg(), obxPartner, obxChannel, obxDelivery(obxHookA, "c0", 0).ID, 0)
		noErr(t, "read c0", err)
		if e.Delivery.Attempts != 30 || len(e.Attempts) != 20 || e.Attempts[0].N != 11 || e.Attempts[19].N != 30 {
			t.Fatalf("c0: %d attempts, log %d from %d", e.Delivery.Attempts, len(e.Attempts), e.Attempts[0].N)
		}
		_, err = st.Delivery(bg(), obxPartner, "", obxDelivery(obxHookA, "c0", 0).ID, 0)
		wantErr(t, "channel delivery as partner-level", err, store.ErrDeliveryNotFound)
		plog, ptotal, err := st.DeliveryLog(bg(), obxPartner, "", store.DeliveryQuery{Count: 10})
		noErr(t, "partner log", err)
		if ptotal != 1 || plog[0].Delivery.Type != "days" {
			t.Fatalf("partner log %+v", plog)
		}
		_, pending, err := st.DeliveryLog(bg(), obxPartner, obxChannel, store.DeliveryQuery{Status: model.DeliveryPending, Count: 10})
		noErr(t, "pending log", err)
		if pending != 5 {
			t.Fatalf("pending in log: %d", pending)
		}

		// Deliver everything but c0, then purge what finished before a cutoff.
		got, err := st.ClaimDue(bg(), now, 10, store.ClaimOptions{})
		noErr(t, "claim", err)
		for _, d := range got {
			if d.ID != obxDelivery(obxHookA, "c0", 0).ID {
				noErr(t, "complete", st.Complete(bg(), d.ID, obxAttempt(d, now, 200, "")))
			}
		}
		n, err := st.PurgeDeliveries(bg(), now, 100)
		noErr(t, "purge early", err)
		if n != 0 {
			t.Fatalf("purged %d that finished at the cutoff", n)
		}
		n, err = st.PurgeDeliveries(bg(), now.Add(time.Hour), 100)
		noErr(t, "purge", err)
		if n != 5 {
			t.Fatalf("purged %d, want 5", n)
		}
		_, total, err = st.DeliveryLog(bg(), obxPartner, obxChannel, store.DeliveryQuery{Count: 10})
		noErr(t, "log", err)
		e, err = st.Delivery(bg(), obxPartner, obxChannel, obxDelivery(obxHookA, "c0", 0).ID, 0)
		noErr(t, "read c0", err)
		if total != 1 || len(e.Attempts) != 0 {
			t.Fatalf("after purge: %d deliveries, c0 keeps %d old attempts", total, len(e.Attempts))
		}
	})
}

// TestOutboxConcurrentClaims: claimers racing on one database (on
// PostgreSQL, separate pools as separate nodes would have) never claim one
// delivery twice while its lease holds, and keep the order per chat.
func TestOutboxConcurrentClaims(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			stores := []*store.Store{storetest.Open(t, b)}
			if b.Name == "postgres" {
				stores = append(stores, storetest.Open(t, b), storetest.Open(t, b))
			}
			const chats, perChat = 8, 25
			var all []model.WebhookDelivery
			for i := range perChat {
				for c := range chats {
					all = append(all, obxDelivery(obxHookA, fmt.Sprintf("c%d", c), i*chats+c))
				}
			}
			noErr(t, "enqueue", stores[0].Enqueue(bg(), all...))
			now := t0.Add(time.Second)
			var mu sync.Mutex
			seen := map[string]int{}
			var order []string
			var wg sync.WaitGroup
			for w := range 6 {
				st := stores[w%len(stores)]
				wg.Go(func() {
					for {
						got, err := st.ClaimDue(bg(), now, 3, store.ClaimOptions{Lease: time.Hour})
						if err != nil {
							t.Errorf("claim: %v", err)
							return
						}
						mu.Lock()
						done := len(seen) == len(all)
						for _, d := range got {
							seen[d.ID]++
							order = append(order, d.ID)
						}
						mu.Unlock()
						if len(got) == 0 && done {
							return
						}
						for _, d := range got {
							if err := st.Complete(bg(), d.ID, obxAttempt(d, now, 200, "")); err != nil {
								t.Errorf("complete: %v", err)
								return
							}
						}
						if len(got) == 0 {
							time.Sleep(time.Millisecond)
						}
					}
				})
			}
			wg.Wait()
			for _, d := range all {
				if seen[d.ID] != 1 {
					t.Fatalf("%s claimed %d times", d.ID, seen[d.ID])
				}
			}
			// Per chat, claims came in enqueue order.
			last := map[string]string{}
			for _, id := range order {
				chat := id[6 : len(id)-4]
				if id < last[chat] {
					t.Fatalf("chat %s: %s claimed after %s", chat, id, last[chat])
				}
				last[chat] = id
			}
		})
	}
}

// Settle records several outcomes at once, each as Complete, Retry, Fail
// or Drop would, and says which came after their lease.
func TestOutboxSettleBatch(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a1, a2 := obxDelivery(obxHookA, "x", 1), obxDelivery(obxHookA, "x", 2)
		b1, c1, e1 := obxDelivery(obxHookA, "y", 3), obxDelivery(obxHookA, "z", 4), obxDelivery(obxHookA, "w", 5)
		noErr(t, "enqueue", st.Enqueue(bg(), a1, a2, b1, c1, e1))
		now := t0.Add(time.Second)
		got := obxClaim(t, st, now, 10)
		obxWantIDs(t, "heads", got, a1.ID, b1.ID, c1.ID, e1.ID)
		byID := map[string]model.WebhookDelivery{}
		for _, d := range got {
			byID[d.ID] = d
		}
		// e1 is delivered already by another settle: its outcome here is late.
		noErr(t, "complete e1", st.Complete(bg(), e1.ID, obxAttempt(byID[e1.ID], now, 200, "")))
		retryAt := now.Add(30 * time.Second) // before a2's lease ends
		errs := st.Settle(bg(), []store.Outcome{
			{ID: a1.ID, Attempt: obxAttempt(byID[a1.ID], now, 200, ""), Kind: store.OutcomeDelivered},
			{ID: b1.ID, Attempt: obxAttempt(byID[b1.ID], now, 500, "HTTP 500"), Kind: store.OutcomeRetry, NextAt: retryAt},
			{ID: c1.ID, Attempt: obxAttempt(byID[c1.ID], now, 0, "bad URL"), Kind: store.OutcomeFailed, Reason: "bad URL"},
			{ID: e1.ID, Attempt: obxAttempt(byID[e1.ID], now, 200, ""), Kind: store.OutcomeDelivered},
		})
		for i, want := range []error{nil, nil, nil, store.ErrLeaseLost} {
			if !errors.Is(errs[i], want) || (want == nil && errs[i] != nil) {
				t.Fatalf("outcome %d: %v, want %v", i, errs[i], want)
			}
		}
		for id, want := range map[string]string{a1.ID: model.DeliveryDelivered, b1.ID: model.DeliveryPending,
			c1.ID: model.DeliveryFailed, e1.ID: model.DeliveryDelivered, a2.ID: model.DeliveryPending} {
			e, err := st.Delivery(bg(), obxPartner, obxChannel, id, 0)
			noErr(t, "read "+id, err)
			if e.Delivery.Status != want {
				t.Fatalf("%s: status %s, want %s", id, e.Delivery.Status, want)
			}
			if id != a2.ID && len(e.Attempts) != 1 {
				t.Fatalf("%s: %d attempts logged, want 1", id, len(e.Attempts))
			}
		}
		// a1's delivery unblocked a2; b1 waits for its retry time.
		obxWantIDs(t, "after the batch", obxClaim(t, st, now, 10), a2.ID)
		obxWantIDs(t, "at the retry", obxClaim(t, st, retryAt, 10), b1.ID)
		// An outcome of no known kind is refused, not recorded.
		errs = st.Settle(bg(), []store.Outcome{{ID: a2.ID, Attempt: obxAttempt(byID[a1.ID], now, 200, "")}})
		wantErr(t, "no kind", errs[0], model.ErrInvalid)
	})
}
