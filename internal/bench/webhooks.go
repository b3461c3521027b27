package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/wagate/wagate/internal/webhook"
)

// WebhookReport compares messages.post deliveries to a loopback receiver
// with a plain loop of POSTs of the same body to the same receiver, by as
// many loops as the dispatcher may keep requests in flight to one receiver.
type WebhookReport struct {
	Channels    int `json:"channels"`
	Chats       int `json:"chats"`
	PerReceiver int `json:"per_receiver"`
	// Plain is the reference: PerReceiver loops POSTing a real delivery's
	// body and headers.
	Plain Load `json:"plain_loop"`
	// Backlog is the dispatcher draining deliveries that piled up while the
	// receiver held its requests: its throughput alone.
	Backlog Deliveries `json:"backlog"`
	// MaxRate is events made by the send pipeline at full speed (the
	// bench's clients) and their deliveries, both on the same cores.
	MaxRate Deliveries `json:"max_rate"`
	// Steady is events made at a steady rate: the latency of a server
	// that is not saturated.
	Steady Deliveries `json:"steady"`
	// Ratio is Backlog.PerSecond / Plain.PerSecond.
	Ratio float64 `json:"ratio"`
	// StorageRatio is Backlog.PerSecond / the storage reference's
	// deliveries per second (Report.Storage).
	StorageRatio float64 `json:"storage_ratio"`
}

// Deliveries are the webhook deliveries of a batch of events (messages
// sent through the gate API). The event (the message and its delivery,
// committed together) happens during its send request, so its latency to
// the delivery's arrival at the receiver is bounded: P50ms and P99ms run
// from the send request's start (an upper bound, the send included),
// AnswerP50ms and AnswerP99ms from its answer (a lower bound; Early
// deliveries arrived before the answer and count as 0).
type Deliveries struct {
	Events int `json:"events"`
	// RatePerSecond is the rate events were made at (steady only).
	RatePerSecond float64 `json:"rate_per_second,omitempty"`
	Delivered     int     `json:"delivered"`
	Missing       int     `json:"missing"`
	Seconds       float64 `json:"seconds"`
	PerSecond     float64 `json:"per_second"`
	P50ms         float64 `json:"p50_ms"`
	P99ms         float64 `json:"p99_ms"`
	AnswerP50ms   float64 `json:"answer_p50_ms"`
	AnswerP99ms   float64 `json:"answer_p99_ms"`
	Early         int     `json:"early"`
	// LagSeconds runs from the last event's answer to the last delivery's
	// arrival: the backlog left when the events stopped.
	LagSeconds float64 `json:"lag_seconds"`
}

// plainHeader marks the reference loop's requests to the receiver.
const plainHeader = "X-Bench-Plain"

// Receiver is a loopback webhook receiver. It reads every request and
// decodes its messages; it notes when each message ID first arrived (one
// count per X-Wagate-Delivery) and answers 204. While held, deliveries
// wait, as at a slow receiver, until released.
type Receiver struct {
	URL  string
	stop func()

	mu         sync.Mutex
	hold       chan struct{}
	arrived    map[string]time.Time
	deliveries map[string]struct{}
	plain      int
	last       time.Time
	waiters    map[string]chan struct{}
	sample     []byte
	sampleHdr  http.Header
}

// NewReceiver starts a receiver on a 127.0.0.1 port.
func NewReceiver() (*Receiver, error) {
	rc := &Receiver{arrived: map[string]time.Time{}, deliveries: map[string]struct{}{}}
	u, stop, err := StartLoopback(rc)
	if err != nil {
		return nil, err
	}
	rc.URL, rc.stop = u+"/hooks", stop
	return rc, nil
}

// Close stops the receiver.
func (rc *Receiver) Close() {
	rc.Release()
	rc.stop()
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	var p struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	if r.Header.Get(plainHeader) != "" {
		rc.mu.Lock()
		rc.plain++
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	rc.mu.Lock()
	hold := rc.hold
	rc.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	now := time.Now()
	rc.mu.Lock()
	if id := r.Header.Get("X-Wagate-Delivery"); id != "" {
		if _, dup := rc.deliveries[id]; !dup {
			rc.deliveries[id] = struct{}{}
			for _, m := range p.Messages {
				if _, ok := rc.arrived[m.ID]; !ok {
					rc.arrived[m.ID] = now
					if w, ok := rc.waiters[m.ID]; ok {
						close(w)
						delete(rc.waiters, m.ID)
					}
				}
			}
			rc.last = now
			if rc.sample == nil {
				rc.sample, rc.sampleHdr = body, r.Header.Clone()
			}
		}
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Await waits until message id arrived (since the last Reset), or until
// timeout.
func (rc *Receiver) Await(ctx context.Context, id string, timeout time.Duration) error {
	rc.mu.Lock()
	if _, ok := rc.arrived[id]; ok {
		rc.mu.Unlock()
		return nil
	}
	if rc.waiters == nil {
		rc.waiters = map[string]chan struct{}{}
	}
	w, ok := rc.waiters[id]
	if !ok {
		w = make(chan struct{})
		rc.waiters[id] = w
	}
	rc.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w:
		return nil
	case <-t.C:
		return fmt.Errorf("message %s: no webhook delivery within %s", id, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hold makes deliveries wait until Release.
func (rc *Receiver) Hold() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.hold == nil {
		rc.hold = make(chan struct{})
	}
}

// Release lets held deliveries through and returns when it did.
func (rc *Receiver) Release() time.Time {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.hold != nil {
		close(rc.hold)
		rc.hold = nil
	}
	return time.Now()
}

// Reset forgets what arrived.
func (rc *Receiver) Reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.arrived, rc.deliveries, rc.last = map[string]time.Time{}, map[string]struct{}{}, time.Time{}
}

// Wait waits until n messages arrived since the last Reset, or timeout.
func (rc *Receiver) Wait(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		rc.mu.Lock()
		got := len(rc.arrived)
		rc.mu.Unlock()
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d webhook deliveries arrived within %s", got, n, timeout)
		}
		if err := sleep(ctx, 2*time.Millisecond); err != nil {
			return err
		}
	}
}

// Sample is the body and headers of the first delivery received.
func (rc *Receiver) Sample() ([]byte, http.Header) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.sample, rc.sampleHdr
}

// event is a message sent through the gate API, when its request started
// and when its answer came.
type event struct {
	id             string
	sent, answered time.Time
}

// events collects the events of a run from concurrent senders.
type events struct {
	mu   sync.Mutex
	list []event
}

func (ev *events) add(id string, sent, answered time.Time) {
	ev.mu.Lock()
	ev.list = append(ev.list, event{id, sent, answered})
	ev.mu.Unlock()
}

// match computes the deliveries of the events: latencies, and the
// throughput from start to the last arrival.
func (rc *Receiver) match(evs []event, start time.Time) Deliveries {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	d := Deliveries{Events: len(evs)}
	lat := make([]time.Duration, 0, len(evs))
	alat := make([]time.Duration, 0, len(evs))
	var last, lastAnswer time.Time
	for _, ev := range evs {
		if ev.answered.After(lastAnswer) {
			lastAnswer = ev.answered
		}
		at, ok := rc.arrived[ev.id]
		if !ok {
			d.Missing++
			continue
		}
		d.Delivered++
		if at.After(last) {
			last = at
		}
		lat = append(lat, at.Sub(ev.sent))
		l := at.Sub(ev.answered)
		if l < 0 {
			d.Early++
			l = 0
		}
		alat = append(alat, l)
	}
	if d.Delivered > 0 {
		d.Seconds = last.Sub(start).Seconds()
		d.PerSecond = ratio(float64(d.Delivered), d.Seconds)
		d.LagSeconds = max(last.Sub(lastAnswer).Seconds(), 0)
	}
	d.P50ms, d.P99ms = Percentile(lat, 0.50), Percentile(lat, 0.99)
	d.AnswerP50ms, d.AnswerP99ms = Percentile(alat, 0.50), Percentile(alat, 0.99)
	return d
}

// PlainLoop is the webhook reference: loops goroutines POSTing body with
// hdr to url back to back for d.
func PlainLoop(ctx context.Context, url string, body []byte, hdr http.Header, loops int, d time.Duration, tick func(int)) Load {
	hc := webhook.NewClient(true, webhook.DefaultTimeout, loops)
	defer hc.CloseIdleConnections()
	return Drive(ctx, loops, d, 0, func(ctx context.Context, _, _ int) error {
		req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		for k, v := range hdr {
			switch k {
			case "Content-Length", "Accept-Encoding":
				continue
			}
			req.Header[k] = v
		}
		req.Header.Set(plainHeader, "1")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, webhook.DefaultMaxResponseBytes))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	}, tick)
}

func (e *env) benchWebhooks(ctx context.Context) (*WebhookReport, error) {
	if err := e.setupLive(ctx); err != nil {
		return nil, err
	}
	rc, err := NewReceiver()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if err := e.setupHooks(ctx, rc); err != nil {
		return nil, err
	}
	share := e.o.share(SectionWebhooks)
	rep := &WebhookReport{Channels: len(e.live), Chats: len(e.live) * len(e.recipients), PerReceiver: webhook.DefaultPerReceiver}
	// drain bounds the wait for the deliveries of a run after it.
	drain := max(30*time.Second, share)

	// Warm up: a message per channel, delivered; its body is the sample.
	e.prog.stepf("webhooks: warming up")
	for w := range e.live {
		if _, err := e.sendText(ctx, w, w); err != nil {
			return nil, err
		}
	}
	if err := rc.Wait(ctx, len(e.live), drain); err != nil {
		return nil, err
	}
	body, hdr := rc.Sample()
	ref, err := e.storageRef(ctx)
	if err != nil {
		return nil, err
	}

	e.prog.stepf("webhooks: plain loop of POSTs, %d loops, %s", rep.PerReceiver, (share / 5).Round(time.Millisecond))
	rep.Plain = PlainLoop(ctx, rc.URL, body, hdr, rep.PerReceiver, share/5, func(n int) { e.prog.tickf("%d POSTs", n) })
	if rep.Plain.Requests == 0 {
		return rep, fmt.Errorf("plain loop: nothing posted: %s", rep.Plain.FirstError)
	}

	// A backlog: deliveries pile up while the receiver holds the first
	// ones (under the dispatcher's request timeout), then drain.
	rc.Reset()
	rc.Hold()
	held := min(share/5, webhook.DefaultTimeout/2)
	e.prog.stepf("webhooks: piling up a backlog for %s", held.Round(time.Millisecond))
	evs := &events{}
	fill := Drive(ctx, e.o.Clients, held, 0, e.sendOp(evs), func(n int) { e.prog.tickf("%d events", n) })
	if fill.Requests == 0 {
		rc.Release()
		return rep, fmt.Errorf("no event made: %s", fill.FirstError)
	}
	e.prog.stepf("webhooks: draining a backlog of %d deliveries", len(evs.list))
	stop, stopStats := e.profile("webhooks"), e.pgStats(ctx, "backlog drain")
	start := rc.Release()
	werr := rc.Wait(ctx, len(evs.list), drain)
	stopStats()
	stop()
	rep.Backlog = rc.match(evs.list, start)
	// Latencies include the hold.
	rep.Backlog.P50ms, rep.Backlog.P99ms, rep.Backlog.AnswerP50ms, rep.Backlog.AnswerP99ms = 0, 0, 0, 0
	rep.Ratio = ratio(rep.Backlog.PerSecond, rep.Plain.PerSecond)
	rep.StorageRatio = ratio(rep.Backlog.PerSecond, ref.DeliveriesPerSecond)
	if werr != nil {
		return rep, werr
	}

	// Events at the send pipeline's full speed.
	rc.Reset()
	window := share / 4
	e.prog.stepf("webhooks: events at full speed, %d clients, %s", e.o.Clients, window.Round(time.Millisecond))
	evs = &events{}
	start = time.Now()
	Drive(ctx, e.o.Clients, window, 0, e.sendOp(evs), func(n int) { e.prog.tickf("%d events", n) })
	werr = rc.Wait(ctx, len(evs.list), drain)
	rep.MaxRate = rc.match(evs.list, start)
	if werr != nil {
		return rep, werr
	}

	// Events at a steady quarter of that rate (10 to 200 a second).
	rc.Reset()
	rate := min(max(rep.MaxRate.PerSecond/4, 10), 200)
	e.prog.stepf("webhooks: events at a steady %.0f/s, %s", rate, window.Round(time.Millisecond))
	evs = &events{}
	e.steady(ctx, rate, window, evs)
	werr = rc.Wait(ctx, len(evs.list), drain)
	rep.Steady = rc.match(evs.list, time.Time{})
	rep.Steady.RatePerSecond = rate
	rep.Steady.Seconds, rep.Steady.PerSecond = window.Seconds(), ratio(float64(rep.Steady.Delivered), window.Seconds())
	return rep, werr
}

// sendOp sends a text and records it as an event.
func (e *env) sendOp(evs *events) Op {
	return func(ctx context.Context, worker, n int) error {
		t0 := time.Now()
		id, err := e.sendText(ctx, worker, n)
		if err == nil {
			evs.add(id, t0, time.Now())
		}
		return err
	}
}

// steady sends rate texts a second for d, each from a goroutine of its
// own (at most Clients at once: a tick finding them all busy is skipped).
func (e *env) steady(ctx context.Context, rate float64, d time.Duration, evs *events) {
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	end := time.After(d)
	sem := make(chan struct{}, e.o.Clients)
	var wg sync.WaitGroup
	defer wg.Wait()
	op := e.sendOp(evs)
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-end:
			return
		case <-t.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			_ = op(ctx, n, n)
		})
	}
}
