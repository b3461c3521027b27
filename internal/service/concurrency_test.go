package service_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/billing"
	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// The parallel phase: batches of workers running random operations at once,
// with the clock frozen during a batch and moved forward by whole days
// between batches.
const (
	concBatches      = 10
	concWorkers      = 16
	concOpsPerWorker = 3 // 10 * 16 * 3 = 480 operations
	concInitialChans = 10
)

// concOp is what one operation observed.
type concOp struct {
	op        string
	partnerID string
	channelID string
	actor     string // unique per operation: finds its ledger row
	delta     int64  // balance change as the operation reported it
	reason    model.LedgerReason
	err       error
}

// concWorld is the state of the test: what exists and what was observed.
type concWorld struct {
	t        *testing.T
	ctx      context.Context
	svc      *service.Service
	clk      *clock.Fake
	partners []model.Partner
	initial  map[string]int64 // partner -> initial days

	mu       sync.Mutex
	channels map[string][]string // partner -> every channel ever created, in order
	owner    map[string]string   // channel -> partner
	records  []concOp
	consumed map[string]int64 // channel -> paid days used up by the clock moving
}

func (w *concWorld) record(r concOp) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.records = append(w.records, r)
}

func (w *concWorld) addChannel(partnerID, channelID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.channels[partnerID] = append(w.channels[partnerID], channelID)
	w.owner[channelID] = partnerID
}

// pickChannel prefers the newest channels (likely alive and shared by many
// workers, so operations really contend) and sometimes picks any, deleted
// ones included.
func (w *concWorld) pickChannel(rng *rand.Rand, partnerID string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.channels[partnerID]
	if rng.IntN(2) == 0 {
		return list[len(list)-1-rng.IntN(min(4, len(list)))]
	}
	return list[rng.IntN(len(list))]
}

// allowed reports whether err is an outcome the operation may have under
// concurrency.
func concAllowed(op string, err error) bool {
	if err == nil {
		return op != "foreign" // another partner's channel must never be found
	}
	switch op {
	case "extend":
		return errors.Is(err, model.ErrInsufficientDays) || errors.Is(err, model.ErrNotFound)
	case "debit":
		return errors.Is(err, model.ErrInsufficientDays)
	case "start":
		return errors.Is(err, model.ErrExpired) || errors.Is(err, model.ErrNotFound)
	case "delete", "stop", "stopsave", "mode", "get", "foreign":
		return errors.Is(err, model.ErrNotFound)
	}
	// credit, create (the rate limit is off, so ErrRateLimited is a failure
	// too), expire.
	return false
}

func (w *concWorld) randomOp(rng *rand.Rand, actor string) {
	t, ctx, svc := w.t, w.ctx, w.svc
	p := w.partners[rng.IntN(len(w.partners))]
	chID := w.pickChannel(rng, p.ID)
	now := w.clk.Now()
	r := concOp{partnerID: p.ID, channelID: chID, actor: actor}
	switch x := rng.IntN(100); {
	case x < 30:
		days := int64(1 + rng.IntN(3))
		r.op, r.reason = "extend", model.ReasonExtend
		res, err := svc.ExtendChannel(ctx, p.ID, chID, days, "extend by "+actor, actor)
		r.err = err
		if err == nil {
			r.delta = -days
			if res.Balance < 0 || res.Channel.ID != chID || res.Channel.ExpiredAt != nil ||
				res.Channel.ActiveTill.Before(now.Add(time.Duration(days)*billing.Day)) {
				t.Errorf("%s: extend result %+v", actor, res)
			}
		}
	case x < 37:
		days := int64(1 + rng.IntN(5))
		r.op, r.reason = "credit", model.ReasonCredit
		r.channelID = ""
		bal, err := svc.CreditDays(ctx, p.ID, days, "credit by "+actor, actor)
		r.err = err
		if err == nil {
			r.delta = days
			if bal < days {
				t.Errorf("%s: balance %d after crediting %d", actor, bal, days)
			}
		}
	case x < 44:
		days := int64(1 + rng.IntN(6))
		r.op, r.reason = "debit", model.ReasonDebit
		r.channelID = ""
		bal, err := svc.CreditDays(ctx, p.ID, -days, "debit by "+actor, actor)
		r.err = err
		if err == nil {
			r.delta = -days
			if bal < 0 {
				t.Errorf("%s: negative balance %d", actor, bal)
			}
		}
	case x < 51:
		r.op, r.reason = "delete", model.ReasonRefundDelete
		refunded, err := svc.DeleteChannel(ctx, p.ID, chID, actor)
		r.err, r.delta = err, refunded
		if err == nil && refunded < 0 {
			t.Errorf("%s: negative refund %d", actor, refunded)
		}
	case x < 59:
		r.op, r.reason = "stopsave", model.ReasonRefundStop
		ch, refunded, err := svc.StopChannel(ctx, p.ID, chID, true, actor)
		r.err, r.delta = err, refunded
		if err == nil && (refunded < 0 || !ch.Stopped || billing.UnusedPaidDays(ch, now) != 0) {
			t.Errorf("%s: stop with saveDays: refunded %d, channel %+v", actor, refunded, ch)
		}
	case x < 64:
		r.op = "stop"
		ch, refunded, err := svc.StopChannel(ctx, p.ID, chID, false, actor)
		r.err = err
		if err == nil && (refunded != 0 || !ch.Stopped) {
			t.Errorf("%s: stop without saveDays: refunded %d, channel %+v", actor, refunded, ch)
		}
	case x < 74:
		r.op = "start"
		ch, err := svc.StartChannel(ctx, p.ID, chID)
		r.err = err
		if err == nil && (ch.Stopped || ch.Expired(now)) {
			t.Errorf("%s: started channel %+v", actor, ch)
		}
	case x < 86:
		r.op = "mode"
		mode := []model.Mode{model.ModeLive, model.ModeTrial, model.ModeDev}[rng.IntN(3)]
		ch, err := svc.ChangeMode(ctx, p.ID, chID, mode)
		r.err = err
		if err == nil && (ch.Mode != mode || (mode == model.ModeLive && ch.TrialUntil.After(now))) {
			t.Errorf("%s: mode %s gave %+v", actor, mode, ch)
		}
	case x < 94:
		r.op, r.channelID = "create", ""
		ch, err := svc.CreateChannel(ctx, p.ID, service.CreateChannelInput{Name: "made by " + actor})
		r.err = err
		if err == nil {
			r.channelID = ch.ID
			w.addChannel(p.ID, ch.ID)
		}
	case x < 96:
		r.op, r.channelID = "expire", ""
		chs, err := svc.ExpireDue(ctx)
		r.err = err
		for _, ch := range chs {
			if ch.ActiveTill.After(now) || ch.ExpiredAt == nil {
				t.Errorf("%s: expiry of a channel with time left: %+v", actor, ch)
			}
		}
	case x < 98:
		// Another partner's channel: invisible, nothing changes.
		r.op = "foreign"
		other := w.partners[(rng.IntN(len(w.partners)-1)+1+concIndexOf(w.partners, p.ID))%len(w.partners)]
		r.partnerID = other.ID
		_, r.err = svc.ExtendChannel(ctx, other.ID, chID, 1, "foreign", actor)
	default:
		r.op = "get"
		ch, err := svc.Channel(ctx, p.ID, chID)
		r.err = err
		if err == nil && (ch.ID != chID || ch.PartnerID != p.ID) {
			t.Errorf("%s: get returned %+v", actor, ch)
		}
	}
	if !concAllowed(r.op, r.err) {
		t.Errorf("%s: %s partner %s channel %s: unexpected result %v", actor, r.op, r.partnerID, r.channelID, r.err)
	}
	w.record(r)
}

func concIndexOf(ps []model.Partner, id string) int {
	for i, p := range ps {
		if p.ID == id {
			return i
		}
	}
	return -1
}

// liveChannels lists a partner's existing channels by ID.
func (w *concWorld) liveChannels(partnerID string) map[string]model.Channel {
	w.t.Helper()
	chs, total, err := w.svc.Channels(w.ctx, partnerID, "", service.Page{Count: 100000})
	if err != nil || total != len(chs) {
		w.t.Fatalf("channels: %d of %d, %v", len(chs), total, err)
	}
	out := make(map[string]model.Channel, len(chs))
	for _, ch := range chs {
		out[ch.ID] = ch
	}
	return out
}

// advance moves the clock by d while nothing runs, booking the paid days the
// channels use up meanwhile. All times are whole days from the start, so
// UnusedPaidDays is exact and the difference is exactly the paid time used.
func (w *concWorld) advance(d time.Duration) {
	now := w.clk.Now()
	for _, p := range w.partners {
		for id, ch := range w.liveChannels(p.ID) {
			w.consumed[id] += billing.UnusedPaidDays(ch, now) - billing.UnusedPaidDays(ch, now.Add(d))
		}
	}
	w.clk.Advance(d)
}

// verify checks every invariant while nothing runs.
func (w *concWorld) verify(stage string) {
	t, ctx := w.t, w.ctx
	t.Helper()
	now := w.clk.Now()

	// A sweep at rest marks exactly the channels without time left.
	if _, err := w.svc.ExpireDue(ctx); err != nil {
		t.Fatalf("%s: expire: %v", stage, err)
	}

	deletedBy := map[string]int{} // channel -> successful deletes
	for _, r := range w.records {
		if r.op == "delete" && r.err == nil {
			deletedBy[r.channelID]++
		}
	}
	for _, r := range w.records {
		// Not found only for channels that some delete really removed.
		if errors.Is(r.err, model.ErrNotFound) && r.op != "foreign" && deletedBy[r.channelID] == 0 {
			t.Errorf("%s: %s %s got %v but the channel was never deleted", stage, r.actor, r.op, r.err)
		}
	}

	for _, p := range w.partners {
		bal, sum, err := w.svc.LedgerAudit(ctx, p.ID)
		if err != nil {
			t.Fatalf("%s: audit: %v", stage, err)
		}
		if bal != sum {
			t.Errorf("%s: partner %s balance %d != ledger sum %d", stage, p.Name, bal, sum)
		}
		if bal < 0 {
			t.Errorf("%s: partner %s negative balance %d", stage, p.Name, bal)
		}
		pp, err := w.svc.Partner(ctx, p.ID)
		if err != nil || pp.Balance != bal {
			t.Errorf("%s: partner %s balance %d, audit %d, %v", stage, p.Name, pp.Balance, bal, err)
		}

		// The ledger, oldest first: a running sum that never goes negative.
		rows, total, err := w.svc.Ledger(ctx, p.ID, service.Page{Count: 100000})
		if err != nil || total != len(rows) {
			t.Fatalf("%s: ledger %d of %d: %v", stage, len(rows), total, err)
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
		var (
			running                                      int64
			credits, debits, extends, refDelete, refStop int64
			byActor                                      = map[string]model.LedgerEntry{}
			chExt, chRef                                 = map[string]int64{}, map[string]int64{}
		)
		for i, e := range rows {
			running += e.Delta
			if e.BalanceAfter != running {
				t.Errorf("%s: partner %s ledger row %d (id %d): balance_after %d, running sum %d", stage, p.Name, i, e.ID, e.BalanceAfter, running)
			}
			if e.BalanceAfter < 0 {
				t.Errorf("%s: partner %s ledger row id %d: balance_after %d < 0", stage, p.Name, e.ID, e.BalanceAfter)
			}
			if e.PartnerID != p.ID {
				t.Errorf("%s: foreign ledger row %+v", stage, e)
			}
			if _, dup := byActor[e.Actor]; dup && e.Actor != "setup" {
				t.Errorf("%s: two ledger rows by %s", stage, e.Actor)
			}
			byActor[e.Actor] = e
			switch e.Reason {
			case model.ReasonCredit:
				credits += e.Delta
			case model.ReasonDebit:
				debits += e.Delta
			case model.ReasonExtend:
				extends += e.Delta
				chExt[e.ChannelID] -= e.Delta
			case model.ReasonRefundDelete:
				refDelete += e.Delta
				chRef[e.ChannelID] += e.Delta
			case model.ReasonRefundStop:
				refStop += e.Delta
				chRef[e.ChannelID] += e.Delta
			default:
				t.Errorf("%s: unknown reason %+v", stage, e)
			}
			positive := e.Reason == model.ReasonCredit || e.Reason == model.ReasonRefundDelete || e.Reason == model.ReasonRefundStop
			if e.Delta == 0 || (e.Delta > 0) != positive {
				t.Errorf("%s: ledger row with delta %d for %s", stage, e.Delta, e.Reason)
			}
			channelRow := e.Reason == model.ReasonExtend || e.Reason == model.ReasonRefundDelete || e.Reason == model.ReasonRefundStop
			if (e.ChannelID != "") != channelRow {
				t.Errorf("%s: ledger row %+v: channel %q", stage, e, e.ChannelID)
			}
		}
		if len(rows) > 0 && rows[len(rows)-1].BalanceAfter != bal {
			t.Errorf("%s: partner %s last balance_after %d, balance %d", stage, p.Name, rows[len(rows)-1].BalanceAfter, bal)
		}
		if got := credits + debits + extends + refDelete + refStop; got != bal {
			t.Errorf("%s: partner %s: credits %d debits %d extends %d refunds %d+%d = %d, balance %d",
				stage, p.Name, credits, debits, extends, refDelete, refStop, got, bal)
		}

		// Independently, from what the operations reported.
		observed := w.initial[p.ID]
		wantRows := 0
		if w.initial[p.ID] > 0 {
			wantRows = 1
		}
		obsExt, obsRef := map[string]int64{}, map[string]int64{}
		for _, r := range w.records {
			if r.partnerID != p.ID {
				if _, ok := byActor[r.actor]; ok {
					t.Errorf("%s: %s (%s of another partner) wrote to %s's ledger", stage, r.actor, r.op, p.Name)
				}
				continue
			}
			e, hasRow := byActor[r.actor]
			if r.err != nil || r.delta == 0 {
				if hasRow {
					t.Errorf("%s: %s %s (err %v, delta %d) left ledger row %+v", stage, r.actor, r.op, r.err, r.delta, e)
				}
				continue
			}
			observed += r.delta
			wantRows++
			if !hasRow || e.Delta != r.delta || e.Reason != r.reason || e.ChannelID != r.channelID {
				t.Errorf("%s: %s %s reported delta %d on %q; ledger row %+v (found %v)", stage, r.actor, r.op, r.delta, r.channelID, e, hasRow)
			}
			switch r.reason {
			case model.ReasonExtend:
				obsExt[r.channelID] -= r.delta
			case model.ReasonRefundDelete, model.ReasonRefundStop:
				obsRef[r.channelID] += r.delta
			}
		}
		if observed != bal {
			t.Errorf("%s: partner %s: balance %d, but the operations reported a net %d", stage, p.Name, bal, observed)
		}
		if wantRows != len(rows) {
			t.Errorf("%s: partner %s: %d ledger rows, %d successful balance changes", stage, p.Name, len(rows), wantRows)
		}

		// Conservation, per channel and in total: every day that left the
		// balance for a channel is on it as unused paid time, was used up
		// by the clock, or came back. Whole-day times make this exact.
		live := w.liveChannels(p.ID)
		var onChannels, used int64
		for _, id := range w.channels[p.ID] {
			ch, exists := live[id]
			var unused int64
			switch {
			case exists && deletedBy[id] > 0:
				t.Errorf("%s: channel %s deleted but still listed", stage, id)
			case !exists && deletedBy[id] != 1:
				t.Errorf("%s: channel %s gone after %d successful deletes", stage, id, deletedBy[id])
			case exists:
				unused = billing.UnusedPaidDays(ch, now)
				if ch.ActiveTill.Before(ch.TrialUntil) {
					t.Errorf("%s: channel %s active till %v before its trial end %v", stage, id, ch.ActiveTill, ch.TrialUntil)
				}
				if ch.ExpiredAt != nil && ch.ActiveTill.After(*ch.ExpiredAt) {
					t.Errorf("%s: channel %s marked expired at %v but active till %v", stage, id, *ch.ExpiredAt, ch.ActiveTill)
				}
				if (ch.ExpiredAt != nil) != ch.Expired(now) {
					t.Errorf("%s: channel %s after a sweep: expired %v, ExpiredAt %v", stage, id, ch.Expired(now), ch.ExpiredAt)
				}
			}
			onChannels += unused
			used += w.consumed[id]
			if chExt[id]-chRef[id] != unused+w.consumed[id] {
				t.Errorf("%s: channel %s: extended %d, refunded %d, unused %d, used %d: days lost or made",
					stage, id, chExt[id], chRef[id], unused, w.consumed[id])
			}
			if obsExt[id] != chExt[id] || obsRef[id] != chRef[id] {
				t.Errorf("%s: channel %s: reported extends %d refunds %d, ledger %d and %d", stage, id, obsExt[id], obsRef[id], chExt[id], chRef[id])
			}
			delete(live, id)
		}
		for id := range live {
			t.Errorf("%s: channel %s exists but no operation created it", stage, id)
		}
		if granted := credits + debits; granted != bal+onChannels+used {
			t.Errorf("%s: partner %s: granted %d days, balance %d + unused on channels %d + used %d = %d",
				stage, p.Name, granted, bal, onChannels, used, bal+onChannels+used)
		}
	}
}

// TestConcurrentBillingConservesDays runs hundreds of balance-changing
// operations at once and proves that every partner's balance equals its
// ledger and that no day was created or lost.
func TestConcurrentBillingConservesDays(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		start := time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)
		clk := clock.NewFake(start)
		svc := service.New(st, slog.New(slog.DiscardHandler), service.Options{BcryptCost: 4, Now: clk.Now})
		off := 0
		if _, err := svc.UpdateOperatorSettings(ctx, service.OperatorSettingsPatch{ChannelCreateLimit: &off}); err != nil {
			t.Fatal(err)
		}
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)

		w := &concWorld{
			t: t, ctx: ctx, svc: svc, clk: clk,
			initial:  map[string]int64{},
			channels: map[string][]string{},
			owner:    map[string]string{},
			consumed: map[string]int64{},
		}
		zero, one := 0, 1
		for i, in := range []service.CreatePartnerInput{
			{Name: "rich", Email: "rich@example.com", Days: 60},                 // operator default trial (5 days)
			{Name: "poor", Email: "poor@example.com", Days: 6, TrialDays: &one}, // runs short often
			{Name: "notrial", Email: "notrial@example.com", Days: 25, TrialDays: &zero},
		} {
			p, _, err := svc.CreatePartner(ctx, in, "setup")
			if err != nil {
				t.Fatalf("partner %d: %v", i, err)
			}
			w.partners = append(w.partners, p)
			w.initial[p.ID] = in.Days
			for j := range concInitialChans {
				ch, err := svc.CreateChannel(ctx, p.ID, service.CreateChannelInput{Name: fmt.Sprintf("setup %d", j)})
				if err != nil {
					t.Fatalf("channel: %v", err)
				}
				w.addChannel(p.ID, ch.ID)
			}
		}
		w.verify("setup")

		rng := rand.New(rand.NewPCG(seed, 0))
		for b := range concBatches {
			gate := make(chan struct{})
			var wg sync.WaitGroup
			for k := range concWorkers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(seed, uint64(b*1000+k+1)))
					<-gate
					for i := range concOpsPerWorker {
						w.randomOp(r, fmt.Sprintf("b%d-w%d-o%d", b, k, i))
					}
				}()
			}
			close(gate)
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			stage := fmt.Sprintf("after batch %d", b)
			w.verify(stage)
			if t.Failed() {
				t.FailNow()
			}
			w.advance(time.Duration(1+rng.IntN(2)) * billing.Day)
			w.verify(stage + " and the clock moving")
			if t.Failed() {
				t.FailNow()
			}
		}

		counts := map[string]int{}
		outcomes := map[string]int{}
		for _, r := range w.records {
			counts[r.op]++
			switch {
			case r.err == nil:
				outcomes["ok"]++
			case errors.Is(r.err, model.ErrInsufficientDays):
				outcomes["insufficient"]++
			case errors.Is(r.err, model.ErrNotFound):
				outcomes["not found"]++
			case errors.Is(r.err, model.ErrExpired):
				outcomes["expired"]++
			}
		}
		t.Logf("%d operations: %v; outcomes %v", len(w.records), counts, outcomes)
		// The mix must really have exercised the interesting paths.
		if outcomes["insufficient"] == 0 || outcomes["not found"] == 0 || outcomes["ok"] < len(w.records)/3 {
			t.Errorf("operation mix too narrow: %v", outcomes)
		}
	})
}

// TestLongExtensionRefundsEveryDay extends one channel, within the per-call
// limit, to more than 292 years of paid time (beyond what a time.Duration
// holds) and deletes it: every day must come back.
func TestLongExtensionRefundsEveryDay(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC))
		svc := service.New(st, slog.New(slog.DiscardHandler), service.Options{BcryptCost: 4, Now: clk.Now})
		const calls = 30 // 30 * 3650 = 109500 days
		total := int64(calls * billing.MaxExtendDays)
		p, _, err := svc.CreatePartner(ctx, service.CreatePartnerInput{Name: "long", Email: "long@example.com", Days: total}, "setup")
		if err != nil {
			t.Fatal(err)
		}
		ch, err := svc.CreateChannel(ctx, p.ID, service.CreateChannelInput{Name: "long"})
		if err != nil {
			t.Fatal(err)
		}
		for range calls {
			if _, err := svc.ExtendChannel(ctx, p.ID, ch.ID, billing.MaxExtendDays, "", "test"); err != nil {
				t.Fatal(err)
			}
		}
		refunded, err := svc.DeleteChannel(ctx, p.ID, ch.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		bal, sum, err := svc.LedgerAudit(ctx, p.ID)
		if err != nil || bal != sum {
			t.Fatalf("audit %d %d %v", bal, sum, err)
		}
		if refunded != total || bal != total {
			t.Fatalf("extended %d days and deleted at once: refunded %d, balance %d; %d days lost", total, refunded, bal, total-bal)
		}
	})
}
