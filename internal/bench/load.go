package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// apiClient calls the server under test.
type apiClient struct {
	base string
	hc   *http.Client
}

func newAPIClient(conns int) *apiClient {
	return &apiClient{hc: NewHTTPClient(conns)}
}

// NewHTTPClient is the loopback client of the measurements: keep-alive
// connections for conns concurrent callers, no proxy, a 60 s bound.
func NewHTTPClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy: nil, MaxIdleConns: 2 * conns, MaxIdleConnsPerHost: 2 * conns,
			IdleConnTimeout: 90 * time.Second, DisableCompression: true,
		},
		Timeout: 60 * time.Second,
	}
}

func (c *apiClient) idle() { c.hc.CloseIdleConnections() }

func (c *apiClient) close() { c.hc.CloseIdleConnections() }

// do makes one request with a raw body and returns the status and answer.
func (c *apiClient) do(ctx context.Context, method, path, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, raw, err
}

// call makes a JSON request that must answer 2xx, and decodes the answer
// into out unless it is nil.
func (c *apiClient) call(ctx context.Context, method, path, token string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	code, raw, err := c.do(ctx, method, path, token, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if code < 200 || code > 299 {
		return fmt.Errorf("%s %s: HTTP %d: %.300s", method, path, code, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// Load is the outcome of one timed run of concurrent requests.
type Load struct {
	Clients   int     `json:"clients"`
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	// FirstError is the first failure, when there were some.
	FirstError string `json:"first_error,omitempty"`
}

// Op is one request of a load run: worker is the client's number
// (0..clients-1), n the request's (0, 1, ... over all clients).
type Op func(ctx context.Context, worker, n int) error

// Drive runs clients goroutines calling op back to back until d has
// passed, limit requests were made (0: no bound) or ctx ends, and measures
// throughput and latency. tick, when set, is called about once a second
// with the requests made so far.
func Drive(ctx context.Context, clients int, d time.Duration, limit int, op Op, tick func(done int)) Load {
	clients = max(clients, 1)
	var (
		next    atomic.Int64
		made    atomic.Int64
		mu      sync.Mutex
		lat     []time.Duration
		errs    int
		firstEr string
		wg      sync.WaitGroup
	)
	// A request in flight at the window's end completes and counts; ctx
	// ending cancels it.
	end := time.Now().Add(d)
	stopTick := startTicker(tick, &made)
	start := time.Now()
	for w := range clients {
		wg.Go(func() {
			local := make([]time.Duration, 0, 1024)
			var lerrs int
			var lfirst string
			for ctx.Err() == nil && time.Now().Before(end) {
				n := int(next.Add(1)) - 1
				if limit > 0 && n >= limit {
					break
				}
				t0 := time.Now()
				err := op(ctx, w, n)
				if err != nil {
					lerrs++
					if lfirst == "" {
						lfirst = err.Error()
					}
				} else {
					local = append(local, time.Since(t0))
				}
				made.Add(1)
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += lerrs
			if firstEr == "" {
				firstEr = lfirst
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopTick()
	l := Load{Clients: clients, Requests: len(lat), Errors: errs, Seconds: elapsed.Seconds(), FirstError: firstEr}
	if elapsed > 0 {
		l.PerSecond = float64(len(lat)) / elapsed.Seconds()
	}
	l.P50ms, l.P99ms = Percentile(lat, 0.50), Percentile(lat, 0.99)
	return l
}

// startTicker calls tick with the count every second until the returned
// function is called.
func startTicker(tick func(int), count *atomic.Int64) func() {
	if tick == nil {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				tick(int(count.Load()))
			}
		}
	}()
	return func() { close(stop); <-done }
}

// Percentile is the p-quantile (0..1) of ds in milliseconds, 0 when ds is
// empty. It sorts ds.
func Percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := min(len(ds)-1, int(float64(len(ds))*p))
	return float64(ds[i].Nanoseconds()) / 1e6
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
