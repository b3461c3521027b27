package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/netguard"
	"github.com/wagate/wagate/internal/store"
)

// Outbox is the store side of delivery; *store.Store implements it.
type Outbox interface {
	ClaimDue(ctx context.Context, now time.Time, limit int, o store.ClaimOptions) ([]model.WebhookDelivery, error)
	Settle(ctx context.Context, outs []store.Outcome) []error
	DropExpired(ctx context.Context, now time.Time, limit int) ([]model.WebhookDelivery, error)
	PurgeDeliveries(ctx context.Context, before time.Time, limit int) (int, error)
}

// Defaults of Options and of a target's retry delays.
const (
	DefaultWorkers          = 32
	DefaultPerReceiver      = 8
	DefaultPollInterval     = time.Second
	DefaultTimeout          = 15 * time.Second
	DefaultMaxResponseBytes = 64 << 10
	DefaultDrainTimeout     = 5 * time.Second
	DefaultRetention        = 7 * 24 * time.Hour
	DefaultBackoff          = 3 * time.Second
	DefaultMaxBackoff       = 15 * time.Minute
)

// Options configure a Dispatcher. Only Store is required.
type Options struct {
	Store Outbox
	Log   *slog.Logger
	// Now is the clock of attempts, retries and claims; nil means time.Now.
	Now func() time.Time
	// Client sends the requests; nil means NewClient(AllowPrivate,
	// Timeout, PerReceiver). A client given here is used as it is.
	Client *http.Client
	// AllowPrivate lets webhooks reach private, loopback and link-local
	// addresses (WAGATE_WEBHOOK_ALLOW_PRIVATE; tests set it).
	AllowPrivate bool
	// Workers bounds the requests in flight at once; PerReceiver bounds
	// those to one receiver (scheme, host and port), so a slow or dead one
	// cannot hold the others up.
	Workers     int
	PerReceiver int
	// PollInterval is how often the outbox is looked at without a Wake.
	PollInterval time.Duration
	// Timeout ends one request (10 to 30 s suit production).
	Timeout time.Duration
	// MaxResponseBytes bounds how much of an answer is read (and dropped).
	MaxResponseBytes int64
	// Node is the cluster node this dispatcher runs on ("" on a single
	// node): its claims are released as soon as its heartbeat expires.
	Node func() string
	// Lease is how long a claimed delivery stays with this dispatcher
	// before another may take it; default 2×Timeout + 30 s.
	Lease time.Duration
	// DrainTimeout is how long Run waits, once its context ends, for
	// requests in flight before it cancels them; they are retried later.
	DrainTimeout time.Duration
	// Retention is how long finished deliveries stay in the log; a
	// negative value keeps them.
	Retention time.Duration
	// Metrics counts attempts by outcome; nil counts nothing.
	Metrics Metrics
}

// Metrics receives each attempt's outcome ("delivered", "retry", "failed",
// "dropped") and how long its request took (zero for a delivery dropped
// without one). internal/metrics implements it; the dispatcher does not
// depend on a metrics library.
type Metrics interface {
	Delivery(outcome string, took time.Duration)
}

// outcomeNames are the Metrics names of store outcomes.
var outcomeNames = map[int]string{store.OutcomeDelivered: "delivered", store.OutcomeRetry: "retry",
	store.OutcomeFailed: "failed", store.OutcomeDropped: "dropped"}

// Dispatcher sends the outbox's due deliveries. Several dispatchers may
// run on one PostgreSQL database (one per node); on SQLite run one.
type Dispatcher struct {
	o      Options
	log    *slog.Logger
	now    func() time.Time
	client *http.Client
	wake   chan struct{}

	running atomic.Bool
	mu      sync.Mutex
	// inflight counts the requests under way; busy counts them per
	// receiver.
	inflight int
	busy     map[string]int

	// Outcomes are recorded in groups (see settle): the goroutine that
	// finds no group being recorded records the queue, then any that
	// gathered meanwhile, and the others wait for it.
	settleMu  sync.Mutex
	settleQ   []*outcome
	recording bool
}

// outcome is an attempt's result waiting to be recorded.
type outcome struct {
	store.Outcome
	del  model.WebhookDelivery
	err  error
	done chan struct{}
}

// maxSettleBatch bounds the outcomes recorded in one call.
const maxSettleBatch = 64

// New returns a Dispatcher; call Run to start it.
func New(o Options) (*Dispatcher, error) {
	if o.Store == nil {
		return nil, errors.New("webhook: dispatcher needs a store")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.PerReceiver <= 0 {
		o.PerReceiver = DefaultPerReceiver
	}
	o.PerReceiver = min(o.PerReceiver, o.Workers)
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.Lease <= 0 {
		o.Lease = 2*o.Timeout + 30*time.Second
	}
	if o.Lease <= o.Timeout {
		return nil, fmt.Errorf("webhook: lease %s must outlast the request timeout %s", o.Lease, o.Timeout)
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	client := o.Client
	if client == nil {
		client = NewClient(o.AllowPrivate, o.Timeout, o.PerReceiver)
	}
	return &Dispatcher{o: o, log: o.Log.With("component", "webhook"), now: o.Now, client: client,
		wake: make(chan struct{}, 1), busy: map[string]int{}}, nil
}

// Wake makes Run look at the outbox now rather than at its next poll;
// producers call it after committing deliveries. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits up to DrainTimeout for the
// requests in flight, cancels those still running (they are retried by the
// next dispatcher) and returns. Only one Run may go at a time.
func (d *Dispatcher) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("webhook: dispatcher already running")
	}
	defer d.running.Store(false)
	// Requests outlive ctx by the drain time: a delivery under way when
	// shutdown starts gets to finish.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	var wg sync.WaitGroup
	ticker := time.NewTicker(d.o.PollInterval)
	defer ticker.Stop()
	var lastPurge time.Time
	maintain := true
	for ctx.Err() == nil {
		if maintain {
			maintain = false
			d.dropExpired(ctx)
			if now := d.now(); d.o.Retention > 0 && now.Sub(lastPurge) >= time.Hour {
				lastPurge = now
				d.purge(ctx, now.Add(-d.o.Retention))
			}
		}
		d.claim(ctx, reqCtx, &wg)
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-ticker.C:
			maintain = true
		}
	}
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	timer := time.NewTimer(d.o.DrainTimeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		cancelReqs()
		<-drained
	}
	return nil
}

// claim takes as many due deliveries as there are free workers and starts
// them, leaving out receivers at their PerReceiver limit.
func (d *Dispatcher) claim(ctx, reqCtx context.Context, wg *sync.WaitGroup) {
	for ctx.Err() == nil {
		d.mu.Lock()
		free, busy := d.o.Workers-d.inflight, maps.Clone(d.busy)
		d.mu.Unlock()
		if free <= 0 {
			return
		}
		// The claim is not cancelled with ctx: a claim whose commit went
		// through while its caller saw a cancellation would leave its
		// deliveries untouched until their lease ended.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		batch, err := d.o.Store.ClaimDue(cctx, d.now(), free,
			store.ClaimOptions{Lease: d.o.Lease, ReceiverLimit: d.o.PerReceiver, Busy: busy, Node: d.node()})
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("claim webhook deliveries", "error", err)
			}
			return
		}
		filled := false
		d.mu.Lock()
		for _, del := range batch {
			r := del.Target.Receiver()
			d.inflight++
			d.busy[r]++
			filled = filled || d.busy[r] == d.o.PerReceiver
		}
		d.mu.Unlock()
		for _, del := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o := d.attempt(reqCtx, del)
				// The request is over: its worker and receiver slot are
				// free for others while the outcome is recorded.
				d.mu.Lock()
				d.inflight--
				if r := del.Target.Receiver(); d.busy[r] <= 1 {
					delete(d.busy, r)
				} else {
					d.busy[r]--
				}
				d.mu.Unlock()
				d.Wake()
				d.record(reqCtx, o)
			}()
		}
		// Claim again only when this batch was short because a receiver
		// reached its limit: candidates for others may lie past the window.
		if len(batch) == 0 || len(batch) == free || !filled {
			return
		}
	}
}

// attempt makes one attempt of del and says what it does to del.
func (d *Dispatcher) attempt(ctx context.Context, del model.WebhookDelivery) *outcome {
	a, err := d.Send(ctx, del)
	o := &outcome{Outcome: store.Outcome{ID: del.ID, Attempt: a}, del: del, done: make(chan struct{})}
	var permanent *permanentError
	switch {
	case err == nil:
		o.Kind = store.OutcomeDelivered
	case errors.As(err, &permanent):
		o.Kind, o.Reason = store.OutcomeFailed, a.Error
	case ctx.Err() != nil:
		// Cancelled by shutdown: due again at once for the next dispatcher.
		o.Attempt.Error = "dispatcher stopped during the request"
		o.Kind, o.NextAt = store.OutcomeRetry, a.At
	default:
		next := a.At.Add(Backoff(del.Target, del.Attempts, rand.Float64()))
		if !del.ExpiresAt.IsZero() && !next.Before(del.ExpiresAt) {
			o.Kind = store.OutcomeDropped
			o.Reason = fmt.Sprintf("not delivered within the webhook max age of %d s; last attempt: %s",
				del.Target.MaxAgeSeconds, a.Error)
			break
		}
		o.Kind, o.NextAt = store.OutcomeRetry, next
	}
	return o
}

// record records o with the outcomes of other attempts that end meanwhile,
// in one Settle call, and returns once o is recorded (or failed to be).
func (d *Dispatcher) record(ctx context.Context, o *outcome) {
	d.settleMu.Lock()
	d.settleQ = append(d.settleQ, o)
	if d.recording {
		d.settleMu.Unlock()
		<-o.done
		return
	}
	d.recording = true
	for len(d.settleQ) > 0 {
		n := min(len(d.settleQ), maxSettleBatch)
		batch := d.settleQ[:n:n]
		d.settleQ = d.settleQ[n:]
		d.settleMu.Unlock()
		d.settle(ctx, batch)
		d.Wake() // what the batch unblocked is due
		d.settleMu.Lock()
	}
	d.recording = false
	d.settleMu.Unlock()
}

// settle records a batch of outcomes and logs each.
func (d *Dispatcher) settle(ctx context.Context, batch []*outcome) {
	defer func() {
		for _, o := range batch {
			d.logOutcome(o)
			close(o.done)
		}
	}()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	outs := make([]store.Outcome, len(batch))
	for i, o := range batch {
		outs[i] = o.Outcome
	}
	errs := d.o.Store.Settle(sctx, outs)
	for i, o := range batch {
		o.err = errs[i]
		// A batch that failed as a whole (SQLite: one transaction) is
		// tried again one outcome at a time, so one cannot hold back the
		// others.
		if len(batch) > 1 && o.err != nil && !errors.Is(o.err, store.ErrLeaseLost) {
			o.err = d.o.Store.Settle(sctx, outs[i:i+1])[0]
		}
	}
}

func (d *Dispatcher) logOutcome(o *outcome) {
	del, a := o.del, o.Attempt
	if d.o.Metrics != nil && o.err == nil {
		d.o.Metrics.Delivery(outcomeNames[o.Kind], a.Duration)
	}
	log := d.log.With("delivery_id", del.ID, "channel_id", del.ChannelID, "event", del.Event(),
		"receiver", del.Target.Receiver(), "attempt", a.N)
	switch o.Kind {
	case store.OutcomeFailed:
		log.Warn("webhook delivery failed for good", "error", a.Error)
	case store.OutcomeDropped:
		log.Warn("webhook delivery dropped", "reason", o.Reason)
	case store.OutcomeRetry:
		log.Debug("webhook delivery will be retried", "error", a.Error, "next_attempt_at", o.NextAt)
	}
	switch {
	case errors.Is(o.err, store.ErrLeaseLost):
		log.Warn("webhook delivery outcome came after its lease ended", "error", a.Error)
	case o.err != nil:
		log.Error("record webhook attempt", "error", o.err)
	}
}

// permanentError is an attempt that cannot succeed as it is.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Send makes one attempt of del, outside the outbox (it records nothing),
// and describes it. The error is nil for a 2xx answer. Send is also what a
// "test this webhook" request uses.
func (d *Dispatcher) Send(ctx context.Context, del model.WebhookDelivery) (model.WebhookAttempt, error) {
	a := model.WebhookAttempt{DeliveryID: del.ID, N: del.Attempts, At: d.now()}
	start := time.Now()
	status, err := d.send(ctx, del, a.At)
	a.Status, a.Duration = status, time.Since(start)
	if err != nil {
		a.Error = describe(err, d.o.Timeout)
	}
	return a, err
}

func (d *Dispatcher) send(ctx context.Context, del model.WebhookDelivery, at time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	req, err := NewRequest(ctx, del, at)
	if err != nil {
		return 0, &permanentError{err}
	}
	resp, err := d.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrPrivateAddress) {
			return 0, &permanentError{err}
		}
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, d.o.MaxResponseBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// NewRequest builds the request of one attempt of del made at at: method
// and URL by the target's mode, the payload as body, the webhook's headers
// and wagate's (delivery ID, event, signature when there is a secret).
func NewRequest(ctx context.Context, del model.WebhookDelivery, at time.Time) (*http.Request, error) {
	u, err := url.Parse(del.Target.URL)
	if err != nil {
		return nil, fmt.Errorf("URL does not parse: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("URL is not an absolute http or https URL")
	}
	method := http.MethodPost
	switch del.Target.Mode {
	case model.WebhookModePath:
		u = u.JoinPath(del.Type, del.Method)
	case model.WebhookModeMethod:
		u = u.JoinPath(del.Type)
		switch m := strings.ToUpper(del.Method); m {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			method = m
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(del.Payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wagate-webhook/1")
	for k, v := range del.Target.Headers {
		switch http.CanonicalHeaderKey(k) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection":
			continue
		}
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "X-Wagate-") {
			continue
		}
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Wagate-Delivery", del.ID)
	req.Header.Set("X-Wagate-Event", del.Event())
	if del.Target.Secret != "" {
		req.Header.Set("X-Wagate-Signature", Sign(del.Target.Secret, del.Payload, at))
	}
	return req, nil
}

// Backoff is the delay after a target's attempt n (from 1) failed: the
// target's first delay (default 3 s) doubled for each further attempt,
// capped at its maximum (default 15 min), then shortened by up to a quarter
// as jitter in [0, 1) says.
func Backoff(t model.WebhookTarget, n int, jitter float64) time.Duration {
	base, limit := DefaultBackoff, DefaultMaxBackoff
	if t.BackoffMS > 0 {
		base = time.Duration(t.BackoffMS) * time.Millisecond
	}
	if t.MaxBackoffMS > 0 {
		limit = time.Duration(t.MaxBackoffMS) * time.Millisecond
	}
	limit = max(limit, base)
	delay := base
	for i := 1; i < n && delay < limit; i++ {
		delay *= 2
	}
	delay = min(delay, limit)
	return delay - time.Duration(float64(delay)/4*min(max(jitter, 0), 1))
}

// describe turns a request error into the delivery log's words: no URL
// (which the webhook's owner knows), bounded length.
func describe(err error, timeout time.Duration) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var msg string
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (ue != nil && ue.Timeout()):
		msg = fmt.Sprintf("no answer within %s", timeout)
	case errors.Is(err, ErrPrivateAddress):
		msg = "refused: the address is not public"
		var ne *netguard.Error
		if errors.As(err, &ne) {
			msg = ne.Error() // its class, never the address
		}
	default:
		msg = err.Error()
	}
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	return msg
}

func (d *Dispatcher) dropExpired(ctx context.Context) {
	for ctx.Err() == nil {
		dropped, err := d.o.Store.DropExpired(ctx, d.now(), 500)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("drop expired webhook deliveries", "error", err)
			}
			return
		}
		for _, del := range dropped {
			if d.o.Metrics != nil {
				d.o.Metrics.Delivery("dropped", 0)
			}
			d.log.Warn("webhook delivery dropped", "delivery_id", del.ID, "channel_id", del.ChannelID,
				"event", del.Event(), "receiver", del.Target.Receiver(), "reason", del.LastError)
		}
		if len(dropped) < 500 {
			return
		}
	}
}

func (d *Dispatcher) purge(ctx context.Context, before time.Time) {
	for ctx.Err() == nil {
		n, err := d.o.Store.PurgeDeliveries(ctx, before, 1000)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("purge webhook deliveries", "error", err)
			}
			return
		}
		if n < 1000 {
			return
		}
	}
}

// node is the cluster node claims are made for ("" on a single node).
func (d *Dispatcher) node() string {
	if d.o.Node == nil {
		return ""
	}
	return d.o.Node()
}
