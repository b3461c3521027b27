package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
	"github.com/wagate/wagate/internal/webhook"
)

const (
	testPartner = "whpartner00000000000000000001"
	testChannel = "WHCHAN-00001"
	testSecret  = "receiver-shared-secret"
)

func bg() context.Context { return context.Background() }

// hit is one request a receiver got.
type hit struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
	Status                 int
	Chat                   string
	N                      int
}

// receiver is a webhook receiver on loopback. handle answers request number
// i (from 0) with a status; nil answers 200.
type receiver struct {
	srv    *httptest.Server
	handle func(i int, w http.ResponseWriter, r *http.Request) int

	mu   sync.Mutex
	hits []hit
	n    int
}

func newReceiver(t *testing.T, handle func(i int, w http.ResponseWriter, r *http.Request) int) *receiver {
	t.Helper()
	rc := &receiver{handle: handle}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var p struct {
		Chat string `json:"chat"`
		N    int    `json:"n"`
	}
	_ = json.Unmarshal(body, &p)
	// Hits are kept in the order they arrived; the status is filled in
	// when the handler is done (0: it hung up or never answered).
	rc.mu.Lock()
	i := rc.n
	rc.n++
	rc.hits = append(rc.hits, hit{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(),
		Body: body, Chat: p.Chat, N: p.N})
	rc.mu.Unlock()
	status := http.StatusOK
	if rc.handle != nil {
		status = rc.handle(i, w, r)
	}
	rc.mu.Lock()
	rc.hits[i].Status = status
	rc.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
	}
}

func (rc *receiver) Hits() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.hits)
}

// delivered returns the delivery IDs answered with 2xx, and how often.
func (rc *receiver) delivered() map[string]int {
	out := map[string]int{}
	for _, h := range rc.Hits() {
		if h.Status/100 == 2 {
			out[h.Header.Get("X-Wagate-Delivery")]++
		}
	}
	return out
}

// checkOrder fails when, in one chat, an event was sent before the one
// before it had been answered with 2xx.
func checkOrder(t *testing.T, hits []hit) {
	t.Helper()
	type state struct {
		cur int
		ok  bool
	}
	chats := map[string]*state{}
	for _, h := range hits {
		s := chats[h.Chat]
		if s == nil {
			s = &state{cur: -1, ok: true}
			chats[h.Chat] = s
		}
		switch {
		case h.N < s.cur:
			t.Fatalf("chat %s: event %d sent after event %d", h.Chat, h.N, s.cur)
		case h.N > s.cur && !s.ok:
			t.Fatalf("chat %s: event %d sent before event %d was delivered", h.Chat, h.N, s.cur)
		}
		s.cur, s.ok = h.N, h.Status/100 == 2 || (h.N == s.cur && s.ok)
	}
}

// event is event n of chat to url, created now, with short retry delays.
func event(url, chat string, n int) model.WebhookDelivery {
	return model.WebhookDelivery{
		ID: model.NewWebhookDeliveryID(), EventID: model.NewWebhookEventID(), PartnerID: testPartner, ChannelID: testChannel,
		Type: "messages", Method: "post", ChatKey: chat,
		Payload: json.RawMessage(fmt.Sprintf(`{"chat":%q,"n":%d,"event":{"type":"messages","event":"post"}}`, chat, n)),
		Target: model.WebhookTarget{URL: url, Mode: model.WebhookModeBody, Secret: testSecret,
			BackoffMS: 20, MaxBackoffMS: 100},
		CreatedAt: time.Now(),
	}
}

func enqueue(t *testing.T, st *store.Store, ds ...model.WebhookDelivery) {
	t.Helper()
	if err := st.Enqueue(bg(), ds...); err != nil {
		t.Fatalf("enqueue: %v", err)
	}
}

func testOptions(st *store.Store) webhook.Options {
	return webhook.Options{Store: st, AllowPrivate: true, Workers: 16, PerReceiver: 4,
		PollInterval: 20 * time.Millisecond, Timeout: 2 * time.Second, DrainTimeout: time.Second}
}

// start runs a dispatcher until the returned stop is called (or the test
// ends); stop waits for Run to return.
func start(t *testing.T, o webhook.Options) (*webhook.Dispatcher, func()) {
	t.Helper()
	d, err := webhook.New(o)
	if err != nil {
		t.Fatalf("new dispatcher: %v", err)
	}
	ctx, cancel := context.WithCancel(bg())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return d, stop
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitRecorded waits until no delivery is pending: receivers see a request
// before the dispatcher records its answer.
func waitRecorded(t *testing.T, st *store.Store) {
	t.Helper()
	waitFor(t, "the outcomes to be recorded", 5*time.Second, func() bool {
		s, err := st.Pending(bg(), time.Now())
		return err == nil && s.Pending == 0
	})
}

func deliveryOf(t *testing.T, st *store.Store, d model.WebhookDelivery) model.WebhookLogEntry {
	t.Helper()
	e, err := st.Delivery(bg(), d.PartnerID, d.ChannelID, d.ID, 100)
	if err != nil {
		t.Fatalf("read delivery %s: %v", d.ID, err)
	}
	return e
}

// TestModesAndHeaders: body, path and method modes, the webhook's headers,
// wagate's headers and a signature a receiver can verify.
func TestModesAndHeaders(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		rc := newReceiver(t, nil)
		var ds []model.WebhookDelivery
		for _, mode := range []string{"body", "path", "method"} {
			for _, method := range []string{"post", "patch", "delete"} {
				d := event(rc.srv.URL+"/hooks/"+mode+"/?token=abc", mode+"-"+method, 0)
				d.Method, d.Target.Mode = method, mode
				d.Target.Headers = map[string]string{"Authorization": "Bearer xyz", "X-Wagate-Delivery": "forged",
					"Content-Type": "application/json; charset=utf-8"}
				if method == "delete" {
					d.Target.Secret = "" // unsigned
				}
				ds = append(ds, d)
			}
		}
		enqueue(t, st, ds...)
		start(t, testOptions(st))
		waitFor(t, "9 deliveries", 5*time.Second, func() bool { return len(rc.delivered()) == len(ds) })

		byID := map[string]hit{}
		for _, h := range rc.Hits() {
			byID[h.Header.Get("X-Wagate-Delivery")] = h
		}
		for _, d := range ds {
			h, ok := byID[d.ID]
			if !ok {
				t.Fatalf("%s (%s %s) not received", d.ID, d.Target.Mode, d.Method)
			}
			// Body mode keeps the URL as it is; the others append to its
			// path, trailing slash or not.
			wantMethod, wantPath := "POST", "/hooks/"+d.Target.Mode
			switch d.Target.Mode {
			case "body":
				wantPath += "/"
			case "path":
				wantPath += "/messages/" + d.Method
			case "method":
				wantMethod, wantPath = strings.ToUpper(d.Method), wantPath+"/messages"
			}
			if h.Method != wantMethod || h.Path != wantPath || h.RawQuery != "token=abc" {
				t.Errorf("%s %s: got %s %s?%s, want %s %s?token=abc", d.Target.Mode, d.Method, h.Method, h.Path, h.RawQuery, wantMethod, wantPath)
			}
			if got := h.Header.Get("X-Wagate-Event"); got != "messages."+d.Method {
				t.Errorf("event header %q", got)
			}
			if h.Header.Get("Authorization") != "Bearer xyz" || h.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("webhook headers not sent: %v", h.Header)
			}
			if string(h.Body) != string(d.Payload) {
				t.Errorf("body %s, want %s", h.Body, d.Payload)
			}
			sig := h.Header.Get("X-Wagate-Signature")
			if d.Target.Secret == "" {
				if sig != "" {
					t.Errorf("unsigned webhook got a signature %q", sig)
				}
				continue
			}
			if err := webhook.Verify(testSecret, sig, h.Body, time.Now(), 5*time.Minute); err != nil {
				t.Errorf("signature %q does not verify: %v", sig, err)
			}
			if err := webhook.Verify("other secret", sig, h.Body, time.Now(), 5*time.Minute); err == nil {
				t.Error("signature verifies with another secret")
			}
		}
		waitRecorded(t, st)
		e := deliveryOf(t, st, ds[0])
		if e.Delivery.Status != model.DeliveryDelivered || len(e.Attempts) != 1 || e.Attempts[0].Status != 200 {
			t.Fatalf("log: %+v", e)
		}
	})
}

// TestRecoveringReceiver: a receiver that fails its first 5 requests in
// five ways (5xx, 4xx, redirect, hang-up, timeout) then recovers gets every
// event, each chat's in order.
func TestRecoveringReceiver(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		other := newReceiver(t, nil) // the redirect's target must get nothing
		rc := newReceiver(t, func(i int, w http.ResponseWriter, r *http.Request) int {
			switch i {
			case 0:
				return http.StatusServiceUnavailable
			case 1:
				return http.StatusNotFound
			case 2:
				w.Header().Set("Location", other.srv.URL)
				return http.StatusFound
			case 3:
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return 0
			case 4:
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
				return 0
			}
			return http.StatusOK
		})
		var ds []model.WebhookDelivery
		for n := range 10 {
			for _, chat := range []string{"alice", "bob", "carol"} {
				ds = append(ds, event(rc.srv.URL, chat, n))
			}
		}
		enqueue(t, st, ds...)
		o := testOptions(st)
		o.Timeout = 300 * time.Millisecond
		start(t, o)
		waitFor(t, "every event", 10*time.Second, func() bool { return len(rc.delivered()) == len(ds) })

		for id, n := range rc.delivered() {
			if n != 1 {
				t.Errorf("%s delivered %d times", id, n)
			}
		}
		checkOrder(t, rc.Hits())
		if len(other.Hits()) != 0 {
			t.Fatal("a redirect was followed")
		}
		waitRecorded(t, st)
		var failed int
		for _, d := range ds {
			e := deliveryOf(t, st, d)
			if e.Delivery.Status != model.DeliveryDelivered {
				t.Fatalf("%s: %+v", d.ID, e.Delivery)
			}
			for _, a := range e.Attempts[:len(e.Attempts)-1] {
				failed++
				if a.Error == "" {
					t.Errorf("failed attempt without an error: %+v", a)
				}
			}
		}
		if failed != 5 {
			t.Fatalf("%d failed attempts logged, want 5", failed)
		}
	})
}

// TestDeadReceiverDoesNotDelayOthers: a receiver that never answers holds at
// most its share of workers; a healthy one gets its events at once.
func TestDeadReceiverDoesNotDelayOthers(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		release := make(chan struct{})
		dead := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) int {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return 0
		})
		t.Cleanup(func() { close(release) })
		refused := newReceiver(t, nil)
		refused.srv.Close() // connection refused
		healthy := newReceiver(t, nil)

		var ds []model.WebhookDelivery
		for n := range 40 {
			ds = append(ds, event(dead.srv.URL, fmt.Sprintf("d%d", n), n), event(refused.srv.URL, fmt.Sprintf("r%d", n), n))
		}
		enqueue(t, st, ds...)
		o := testOptions(st)
		o.Workers, o.PerReceiver, o.Timeout = 8, 3, 5*time.Second
		d, _ := start(t, o)
		waitFor(t, "the dead receiver to hold its workers", 5*time.Second, func() bool {
			dead.mu.Lock()
			defer dead.mu.Unlock()
			return dead.n >= 3
		})
		var healthyDs []model.WebhookDelivery
		for n := range 20 {
			healthyDs = append(healthyDs, event(healthy.srv.URL, fmt.Sprintf("h%d", n%4), n))
		}
		begin := time.Now()
		enqueue(t, st, healthyDs...)
		d.Wake()
		waitFor(t, "the healthy receiver", 2*time.Second, func() bool { return len(healthy.delivered()) == len(healthyDs) })
		took := time.Since(begin)
		checkOrder(t, healthy.Hits())
		dead.mu.Lock()
		deadRequests := dead.n
		dead.mu.Unlock()
		if deadRequests > o.PerReceiver {
			t.Fatalf("the dead receiver got %d concurrent requests, more than %d", deadRequests, o.PerReceiver)
		}
		t.Logf("healthy receiver got %d events in %s while the dead one held %d requests", len(healthyDs), took, deadRequests)
	})
}

// TestMaxAgeDrop: an event that cannot be delivered within its max age is
// dropped and the drop recorded, after attempts or before any.
func TestMaxAgeDrop(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) int { return http.StatusInternalServerError })
		tried := event(rc.srv.URL, "a", 0)
		tried.Target.MaxAgeSeconds, tried.Target.BackoffMS, tried.Target.MaxBackoffMS = 1, 150, 300
		stale := event(rc.srv.URL, "b", 0)
		stale.Target.MaxAgeSeconds, stale.CreatedAt = 1, time.Now().Add(-2*time.Second)
		behind := event(rc.srv.URL, "a", 1) // waits behind tried, then expires too
		behind.Target.MaxAgeSeconds = 1
		enqueue(t, st, tried, stale, behind)
		start(t, testOptions(st))
		waitFor(t, "the drops", 5*time.Second, func() bool {
			return deliveryOf(t, st, tried).Delivery.Status != model.DeliveryPending &&
				deliveryOf(t, st, behind).Delivery.Status != model.DeliveryPending
		})
		e := deliveryOf(t, st, tried)
		if e.Delivery.Status != model.DeliveryDropped || len(e.Attempts) < 2 || e.Attempts[0].Status != 500 ||
			!strings.Contains(e.Delivery.LastError, "max age of 1 s") || !strings.Contains(e.Delivery.LastError, "HTTP 500") {
			t.Fatalf("tried: %+v", e)
		}
		e = deliveryOf(t, st, stale)
		if e.Delivery.Status != model.DeliveryDropped || len(e.Attempts) != 0 || !strings.Contains(e.Delivery.LastError, "max age") {
			t.Fatalf("stale: %+v", e)
		}
		if e := deliveryOf(t, st, behind); e.Delivery.Status != model.DeliveryDropped {
			t.Fatalf("behind: %+v", e)
		}
		for _, h := range rc.Hits() {
			if h.Header.Get("X-Wagate-Delivery") == stale.ID {
				t.Fatal("an expired event was sent")
			}
		}
	})
}

// TestDurability: a dispatcher stopped mid-way, and one that died holding a
// claim, leave nothing behind: a new one over the same database (a restart)
// delivers the rest.
func TestDurability(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) int {
				time.Sleep(5 * time.Millisecond)
				return http.StatusOK
			})
			st1 := storetest.Open(t, b)
			var ds []model.WebhookDelivery
			for n := range 60 {
				ds = append(ds, event(rc.srv.URL, fmt.Sprintf("c%d", n%4), n))
			}
			enqueue(t, st1, ds...)
			// A worker that died: claimed with a short lease, never settled.
			orphan := event(rc.srv.URL, "orphan", 0)
			enqueue(t, st1, orphan)
			claimed, err := st1.ClaimDue(bg(), time.Now(), 100, store.ClaimOptions{Lease: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range claimed {
				if d.ID != orphan.ID {
					// Give the others back at once, like a retry due now.
					if err := st1.Retry(bg(), d.ID, model.WebhookAttempt{DeliveryID: d.ID, N: d.Attempts, At: time.Now(), Error: "test"}, time.Now()); err != nil {
						t.Fatal(err)
					}
				}
			}

			o := testOptions(st1)
			o.Workers, o.PerReceiver = 2, 2
			_, stop := start(t, o)
			waitFor(t, "some deliveries", 5*time.Second, func() bool { return len(rc.delivered()) >= 15 })
			stop()
			st1.Close()
			first := len(rc.delivered())
			if first >= len(ds) {
				t.Fatalf("the first dispatcher delivered all %d before it was stopped", first)
			}

			st2 := storetest.Open(t, b)
			start(t, testOptions(st2))
			deadline := time.Now().Add(10 * time.Second)
			for len(rc.delivered()) != len(ds)+1 {
				if time.Now().After(deadline) {
					log, _, _ := st2.DeliveryLog(bg(), testPartner, testChannel, store.DeliveryQuery{Status: model.DeliveryPending, Count: 100})
					for _, e := range log {
						t.Logf("pending: %s %s attempts %d next %v claim? last %q/%d log %+v", e.Delivery.ChatKey, e.Delivery.Payload[:20],
							e.Delivery.Attempts, e.Delivery.NextAttemptAt, e.Delivery.LastError, e.Delivery.LastStatus, e.Attempts)
					}
					t.Fatalf("timed out waiting for the rest: %d of %d delivered", len(rc.delivered()), len(ds)+1)
				}
				time.Sleep(5 * time.Millisecond)
			}
			for id, n := range rc.delivered() {
				if n != 1 {
					t.Errorf("%s delivered %d times", id, n)
				}
			}
			checkOrder(t, rc.Hits())
			t.Logf("first dispatcher delivered %d of %d, the second the rest", first, len(ds)+1)
		})
	}
}

// TestConcurrentDispatchers: dispatchers of several nodes on one PostgreSQL
// database never deliver one delivery twice while its lease holds, and
// keep the order per chat.
func TestConcurrentDispatchers(t *testing.T) {
	if os.Getenv(storetest.EnvPostgres) == "" {
		t.Skip(storetest.EnvPostgres + " not set")
	}
	b := storetest.Backends(t)[1]
	rc := newReceiver(t, func(i int, _ http.ResponseWriter, _ *http.Request) int {
		if i%7 == 3 {
			return http.StatusBadGateway // some retries, to mix the order up
		}
		return http.StatusOK
	})
	st := storetest.Open(t, b)
	var ds []model.WebhookDelivery
	for n := range 300 {
		ds = append(ds, event(rc.srv.URL, fmt.Sprintf("c%d", n%10), n))
	}
	enqueue(t, st, ds...)
	for range 3 {
		o := testOptions(storetest.Open(t, b))
		o.Workers, o.PerReceiver = 6, 6
		start(t, o)
	}
	waitFor(t, "every event", 20*time.Second, func() bool { return len(rc.delivered()) == len(ds) })
	for id, n := range rc.delivered() {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	checkOrder(t, rc.Hits())
}

// TestPrivateAddressRefused: without AllowPrivate a loopback receiver is
// refused at dial time and the delivery fails for good.
func TestPrivateAddressRefused(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	rc := newReceiver(t, nil)
	d := event(rc.srv.URL, "a", 0)
	enqueue(t, st, d)
	o := testOptions(st)
	o.AllowPrivate = false
	start(t, o)
	waitFor(t, "the failure", 5*time.Second, func() bool { return deliveryOf(t, st, d).Delivery.Status != model.DeliveryPending })
	e := deliveryOf(t, st, d)
	if e.Delivery.Status != model.DeliveryFailed || !strings.Contains(e.Delivery.LastError, "not public") || len(rc.Hits()) != 0 {
		t.Fatalf("%+v, receiver got %d", e, len(rc.Hits()))
	}
	if strings.Contains(e.Delivery.LastError, rc.srv.URL) {
		t.Fatalf("error names the URL: %s", e.Delivery.LastError)
	}
}

func TestBoundedResponse(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	chunk := strings.Repeat("x", 1<<16)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) int {
		w.WriteHeader(http.StatusOK)
		for range 1 << 10 { // 64 MiB, if anyone read it
			if _, err := io.WriteString(w, chunk); err != nil {
				return 0
			}
		}
		return 0
	})
	d := event(rc.srv.URL, "a", 0)
	enqueue(t, st, d)
	start(t, testOptions(st))
	waitFor(t, "delivery", 5*time.Second, func() bool { return deliveryOf(t, st, d).Delivery.Status == model.DeliveryDelivered })
}

func TestVerify(t *testing.T) {
	body := []byte(`{"messages":[{"id":"x"}]}`)
	at := time.Unix(1767225600, 0)
	sig := webhook.Sign("k", body, at)
	if !strings.HasPrefix(sig, "t=1767225600,v1=") || len(sig) != len("t=1767225600,v1=")+64 {
		t.Fatalf("signature %q", sig)
	}
	cases := []struct {
		name, secret, header string
		body                 []byte
		now                  time.Time
		want                 error
	}{
		{"valid", "k", sig, body, at.Add(time.Minute), nil},
		{"valid, other v1 first", "k", "t=1767225600,v1=" + strings.Repeat("0", 64) + "," + sig[len("t=1767225600,"):], body, at, nil},
		{"spaces", "k", strings.ReplaceAll(sig, ",", ", "), body, at, nil},
		{"tampered body", "k", sig, []byte(`{"messages":[{"id":"y"}]}`), at, webhook.ErrBadSignature},
		{"wrong secret", "k2", sig, body, at, webhook.ErrBadSignature},
		{"time moved", "k", strings.Replace(sig, "t=1767225600", "t=1767225601", 1), body, at, webhook.ErrBadSignature},
		{"too old", "k", sig, body, at.Add(6 * time.Minute), webhook.ErrStaleSignature},
		{"from the future", "k", sig, body, at.Add(-6 * time.Minute), webhook.ErrStaleSignature},
		{"empty", "k", "", body, at, webhook.ErrNoSignature},
		{"no v1", "k", "t=1767225600", body, at, webhook.ErrNoSignature},
		{"no t", "k", sig[len("t=1767225600,"):], body, at, webhook.ErrNoSignature},
	}
	for _, c := range cases {
		if err := webhook.Verify(c.secret, c.header, c.body, c.now, 5*time.Minute); err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if err := webhook.Verify("k", sig, body, at.Add(24*time.Hour), 0); err != nil {
		t.Errorf("no tolerance: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	def := model.WebhookTarget{}
	custom := model.WebhookTarget{BackoffMS: 1000, MaxBackoffMS: 5000}
	for _, c := range []struct {
		t      model.WebhookTarget
		n      int
		jitter float64
		want   time.Duration
	}{
		{def, 1, 0, 3 * time.Second},
		{def, 2, 0, 6 * time.Second},
		{def, 9, 0, 768 * time.Second},
		{def, 10, 0, 15 * time.Minute},
		{def, 1000, 0, 15 * time.Minute},
		{def, 1, 0.999999, 2250 * time.Millisecond},
		{custom, 1, 0, time.Second},
		{custom, 3, 0, 4 * time.Second},
		{custom, 4, 0, 5 * time.Second},
		{custom, 4, 1, 3750 * time.Millisecond},
		{model.WebhookTarget{BackoffMS: 5000, MaxBackoffMS: 1000}, 3, 0, 5 * time.Second},
	} {
		if got := webhook.Backoff(c.t, c.n, c.jitter); got.Round(time.Millisecond) != c.want {
			t.Errorf("%+v attempt %d jitter %v: %s, want %s", c.t, c.n, c.jitter, got, c.want)
		}
	}
}

func TestAddressPolicy(t *testing.T) {
	for addr, public := range map[string]bool{
		"8.8.8.8": true, "2606:4700:4700::1111": true, "93.184.216.34": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "169.254.169.254": false,
		"100.64.0.1": false, "100.127.255.254": false, "100.128.0.1": true, "0.0.0.0": false, "0.1.2.3": false,
		"198.18.0.1": false, "240.0.0.1": false, "255.255.255.255": false, "224.0.0.1": false,
		"::1": false, "::": false, "fe80::1": false, "fd00::1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false,
		"64:ff9b::a00:1": false, "ff02::1": false,
	} {
		if got := webhook.PublicAddr(netip.MustParseAddr(addr)); got != public {
			t.Errorf("PublicAddr(%s) = %v, want %v", addr, got, public)
		}
	}
	for raw, ok := range map[string]bool{
		"https://example.com/hook": true, "http://example.com:8080/x?y=1": true, "https://8.8.8.8/": true,
		"ftp://example.com/": false, "/relative": false, "https://": false, "https://localhost/x": false,
		"http://app.localhost./": false, "http://127.0.0.1:9000/": false, "http://[::1]/": false, "http://169.254.169.254/": false,
	} {
		if err := webhook.CheckURL(raw, false); (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v, want ok %v", raw, err, ok)
		}
	}
	if err := webhook.CheckURL("http://127.0.0.1:9000/", true); err != nil {
		t.Errorf("allowed private: %v", err)
	}
}

func TestFanout(t *testing.T) {
	s := model.DefaultChannelSettings()
	s.WebhookMaxAgeSeconds = 60
	s.Webhooks = []model.ChannelWebhook{
		{URL: "https://a.example/h", Mode: "path", Events: []model.WebhookEvent{{Type: "messages", Method: "post"}, {Type: "statuses", Method: "post"}}},
		{URL: "https://b.example/h", Events: []model.WebhookEvent{{Type: "Messages", Method: "POST"}}, Headers: map[string]string{"A": "b"}},
		{URL: "https://c.example/h", Events: []model.WebhookEvent{{Type: "chats", Method: "post"}}},
	}
	ps := model.PartnerSettings{Webhooks: []model.PartnerWebhook{{URL: "https://p.example/h", Secret: "ps",
		Events: []model.WebhookEvent{{Type: "messages", Method: "post"}}}}}
	hooks := append(webhook.ChannelHooks(s), webhook.PartnerHooks(ps)...)
	ev := webhook.Event{PartnerID: testPartner, ChannelID: testChannel, Type: "messages", Method: "post", ChatKey: "chat",
		Payload: json.RawMessage(`{}`), At: time.Now()}
	ds := webhook.Deliveries(ev, hooks)
	if len(ds) != 3 {
		t.Fatalf("%d deliveries, want 3", len(ds))
	}
	if ds[0].EventID == "" || ds[0].EventID != ds[1].EventID || ds[0].EventID != ds[2].EventID || ds[0].ID == ds[1].ID {
		t.Fatalf("IDs: %+v", ds)
	}
	if ds[0].Target.Mode != "path" || ds[0].Target.BackoffMS != 3000 || ds[0].Target.MaxBackoffMS != 900000 ||
		ds[0].Target.MaxAgeSeconds != 60 || ds[0].ChannelID != testChannel || ds[1].Target.Headers["A"] != "b" {
		t.Fatalf("channel deliveries: %+v", ds[:2])
	}
	if ds[2].ChannelID != "" || ds[2].Target.Secret != "ps" || ds[2].PartnerID != testPartner {
		t.Fatalf("partner delivery: %+v", ds[2])
	}
	if len(webhook.Deliveries(webhook.Event{Type: "groups", Method: "put"}, hooks)) != 0 {
		t.Fatal("delivered an event nobody subscribed to")
	}
}

// TestWakeAndSend: Send makes one attempt outside the outbox (what a
// webhook test uses), and a second Run while one goes is refused.
func TestWakeAndSend(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	rc := newReceiver(t, func(i int, _ http.ResponseWriter, _ *http.Request) int {
		if i == 1 {
			return http.StatusTeapot
		}
		return http.StatusNoContent
	})
	d, _ := start(t, testOptions(st))
	a, err := d.Send(bg(), event(rc.srv.URL, "a", 0))
	if err != nil || a.Status != http.StatusNoContent || a.Duration <= 0 {
		t.Fatalf("send: %+v %v", a, err)
	}
	a, err = d.Send(bg(), event(rc.srv.URL, "a", 1))
	if err == nil || a.Status != http.StatusTeapot || a.Error != "HTTP 418" {
		t.Fatalf("send: %+v %v", a, err)
	}
	if err := d.Run(bg()); err == nil {
		t.Fatal("a second Run started")
	}
	if stats, _ := st.Pending(bg(), time.Now()); stats.Pending != 0 {
		t.Fatal("Send touched the outbox")
	}
}

// TestGroupedRecording: outcomes that end together are recorded together
// (one transaction on SQLite); under a backlog with retries every event
// still arrives, in order per chat, and every attempt is logged.
func TestGroupedRecording(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			rc := newReceiver(t, func(i int, _ http.ResponseWriter, _ *http.Request) int {
				if i%5 == 2 {
					return http.StatusServiceUnavailable
				}
				return http.StatusOK
			})
			st := storetest.Open(t, b)
			var ds []model.WebhookDelivery
			for n := range 200 {
				d := event(rc.srv.URL, fmt.Sprintf("c%d", n%20), n)
				d.Target.BackoffMS, d.Target.MaxBackoffMS = 10, 20
				ds = append(ds, d)
			}
			enqueue(t, st, ds...)
			o := testOptions(st)
			o.Workers, o.PerReceiver = 16, 16
			start(t, o)
			waitFor(t, "every event", 20*time.Second, func() bool { return len(rc.delivered()) == len(ds) })
			waitRecorded(t, st)
			checkOrder(t, rc.Hits())
			for _, d := range ds {
				e := deliveryOf(t, st, d)
				if e.Delivery.Status != model.DeliveryDelivered || len(e.Attempts) != e.Delivery.Attempts {
					t.Fatalf("%s: %s after %d attempts, %d logged", d.ID, e.Delivery.Status, e.Delivery.Attempts, len(e.Attempts))
				}
			}
		})
	}
}
