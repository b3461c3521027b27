package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/bench"
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
		base, stop, err := bench.StartLoopback(bench.BareHandler())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(stop)
		runSenders(b, base+"/messages/text", "x", "15550001234")
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
// throughput and latency percentiles (the load of wagate bench's send
// section, which measures the same for a time instead of a count).
func runSenders(b *testing.B, url, tok, to string) {
	const clients = 8
	client := bench.NewHTTPClient(clients)
	defer client.CloseIdleConnections()
	b.ResetTimer()
	l := bench.Drive(context.Background(), clients, time.Hour, b.N, func(ctx context.Context, _, n int) error {
		body := fmt.Sprintf(`{"to":%q,"body":"message %d"}`, to, n)
		req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}, nil)
	b.StopTimer()
	if l.Errors > 0 {
		b.Fatalf("%d of %d requests failed: %s", l.Errors, l.Errors+l.Requests, l.FirstError)
	}
	b.ReportMetric(l.PerSecond, "msgs/s")
	b.ReportMetric(l.P50ms, "p50-ms")
	b.ReportMetric(l.P99ms, "p99-ms")
}
