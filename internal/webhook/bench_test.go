package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
	"github.com/wagate/wagate/internal/webhook"
)

// benchReceiver counts deliveries and the latency from the enqueue time in
// their payload ("t", Unix nanoseconds) to their arrival.
type benchReceiver struct {
	srv  *httptest.Server
	want int
	done chan struct{}

	mu        sync.Mutex
	seen      map[string]bool
	latencies []time.Duration
}

func newBenchReceiver(b *testing.B, want int) *benchReceiver {
	rc := &benchReceiver{want: want, done: make(chan struct{}), seen: make(map[string]bool, want)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		body, _ := io.ReadAll(r.Body)
		var p struct {
			T int64 `json:"t"`
		}
		_ = json.Unmarshal(body, &p)
		rc.mu.Lock()
		if id := r.Header.Get("X-Wagate-Delivery"); !rc.seen[id] {
			rc.seen[id] = true
			rc.latencies = append(rc.latencies, arrived.Sub(time.Unix(0, p.T)))
			if len(rc.seen) == rc.want {
				close(rc.done)
			}
		}
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(rc.srv.Close)
	return rc
}

func benchEvent(url string, i int) model.WebhookDelivery {
	now := time.Now()
	return model.WebhookDelivery{
		PartnerID: testPartner, ChannelID: testChannel, Type: "messages", Method: "post",
		ChatKey: fmt.Sprintf("chat%d", i%64),
		Payload: json.RawMessage(fmt.Sprintf(`{"t":%d,"messages":[{"id":"m%d","type":"text","text":{"body":"hello"}}],"event":{"type":"messages","event":"post"},"channel_id":%q}`,
			now.UnixNano(), i, testChannel)),
		Target:    model.WebhookTarget{URL: url, Secret: testSecret},
		CreatedAt: now,
	}
}

// BenchmarkDispatch measures delivery to a loopback receiver:
//
//   - throughput: b.N events, enqueued beforehand over 64 chats, delivered
//     by a dispatcher with default options; reports events/s;
//   - latency-R: b.N events enqueued at a steady R events/s, one per
//     transaction and each followed by Wake, as producers do; reports the
//     enqueue-to-POST latency p50 and p99.
func BenchmarkDispatch(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name+"/throughput", func(b *testing.B) {
			st := storetest.Open(b, be)
			rc := newBenchReceiver(b, b.N)
			batch := make([]model.WebhookDelivery, 0, 500)
			for i := range b.N {
				batch = append(batch, benchEvent(rc.srv.URL, i))
				if len(batch) == cap(batch) || i == b.N-1 {
					if err := st.Enqueue(bg(), batch...); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			b.ResetTimer()
			begin := time.Now()
			stop := benchStart(b, st)
			<-rc.done
			elapsed := time.Since(begin)
			b.StopTimer()
			stop()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		})
		for _, rate := range []int{100, 400} { // events per second
			b.Run(fmt.Sprintf("%s/latency-%d", be.Name, rate), func(b *testing.B) {
				st := storetest.Open(b, be)
				rc := newBenchReceiver(b, b.N)
				d, stop := benchDispatcher(b, st)
				b.ResetTimer()
				tick := time.NewTicker(time.Second / time.Duration(rate))
				for i := range b.N {
					<-tick.C
					if err := st.Enqueue(bg(), benchEvent(rc.srv.URL, i)); err != nil {
						b.Fatal(err)
					}
					d.Wake()
				}
				tick.Stop()
				<-rc.done
				b.StopTimer()
				stop()
				rc.mu.Lock()
				lat := slices.Clone(rc.latencies)
				rc.mu.Unlock()
				slices.Sort(lat)
				pct := func(p float64) float64 {
					return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
				}
				b.ReportMetric(pct(0.50), "p50-ms")
				b.ReportMetric(pct(0.99), "p99-ms")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

func benchStart(b *testing.B, st *store.Store) func() {
	_, stop := benchDispatcher(b, st)
	return stop
}

func benchDispatcher(b *testing.B, st *store.Store) (*webhook.Dispatcher, func()) {
	d, err := webhook.New(webhook.Options{Store: st, AllowPrivate: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	return d, func() { cancel(); <-done }
}
