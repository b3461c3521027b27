package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/store/storetest"
)

// BenchmarkSendText measures POST /messages/text through the whole pipeline
// (HTTP, auth, request counting, validation, storage, the sim engine and
// delivery to the recipient's phone and channel) on a real loopback
// listener, next to a bare net/http handler that decodes the same JSON, in
// the same run. Both are driven by 8 concurrent clients; it reports
// messages/s and p50/p99 latency of each.
// Run: go test -run '^$' -bench SendText ./internal/app/
func BenchmarkSendText(b *testing.B) {
	for i, be := range storetest.Backends(b) {
		b.Run(be.Name+"/wagate", func(b *testing.B) {
			// A fresh database (PostgreSQL schema) for every run.
			base, tok, to := newSendServer(b, storetest.Backends(b)[i])
			runSenders(b, base+"/messages/text", tok, to)
		})
	}
	b.Run("bare_handler", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				To   string `json:"to"`
				Body string `json:"body"`
			}
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.To == "" {
				http.Error(w, "bad", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"sent":true}`))
		})}
		go func() { _ = srv.Serve(ln) }()
		b.Cleanup(func() { _ = srv.Close() })
		runSenders(b, "http://"+ln.Addr().String()+"/messages/text", "x", "15550001234")
	})
}

// newSendServer starts wagate on the sim engine with a live channel linked
// to a sim phone, and a second phone to write to.
func newSendServer(b *testing.B, be storetest.Backend) (base, token, to string) {
	b.Helper()
	cfg := testConfigB(b, be)
	srv, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{BcryptCost: 4})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	base = "http://" + srv.Addr()
	call := func(method, path, tok string, body any) map[string]any {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode >= 300 {
			b.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
		}
		return out
	}
	p := call("POST", "/admin/partners", adminToken, map[string]any{"name": "sender", "email": "s@example.test", "days": 100})
	ptok := p["token"].(string)
	ch := call("PUT", "/partner/channels", ptok, map[string]any{"name": "sender"})
	id, tok := ch["id"].(string), ch["token"].(string)
	call("POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 30, "comment": "bench"})
	call("PATCH", "/partner/channels/"+id+"/mode", ptok, map[string]any{"mode": "live"})
	call("POST", "/admin/sim/phones", adminToken, map[string]any{"phone": "15550001111", "name": "Sender"})
	call("POST", "/admin/sim/phones", adminToken, map[string]any{"phone": "15550002222", "name": "Receiver"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := getJSON(base+"/users/login", tok)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("no QR: %d", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, qr := getJSON(base+"/users/login", tok)
	call("POST", "/admin/sim/phones/15550001111/link", adminToken, map[string]any{"qr": qr["rowdata"]})
	for {
		_, h := getJSON(base+"/health?wakeup=false", tok)
		if st, _ := h["status"].(map[string]any); st != nil && st["text"] == "AUTH" {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("not linked: %v", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return base, tok, "15550002222"
}

func getJSON(url, tok string) (int, map[string]any) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// runSenders posts b.N text messages with 8 concurrent clients and reports
// throughput and latency percentiles.
func runSenders(b *testing.B, url, tok, to string) {
	const clients = 8
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	jobs := make(chan int, clients)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, b.N/clients+1)
			for n := range jobs {
				body := fmt.Sprintf(`{"to":%q,"body":"message %d"}`, to, n)
				req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(body)))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local = append(local, time.Since(t0))
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	for n := range b.N {
		jobs <- n
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
