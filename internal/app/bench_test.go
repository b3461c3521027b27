package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/store/storetest"
)

// benchEnv is a server without the OpenAPI validator (benchmarks measure
// wagate, not the validator) and with the creation rate limit off.
type benchEnv struct {
	b   *testing.B
	h   http.Handler
	tok string
}

func newBenchEnv(b *testing.B, be storetest.Backend) *benchEnv {
	b.Helper()
	cfg := testConfigB(b, be)
	srv, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{BcryptCost: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	e := &benchEnv{b: b, h: srv.Handler()}
	e.call("PATCH", "/admin/settings", adminToken, map[string]any{"channel_create_limit": 0}, nil)
	var p struct{ Token string }
	e.call("POST", "/admin/partners", adminToken, map[string]any{"name": "bench", "email": "bench@example.test", "days": 1_000_000}, &p)
	e.tok = p.Token
	return e
}

func testConfigB(b *testing.B, be storetest.Backend) config.Config {
	return config.Config{
		Addr: "127.0.0.1:0", DataDir: b.TempDir(), DatabaseURL: be.Options.URL, AdminToken: adminToken,
		Engine: config.EngineSim, LogLevel: slog.LevelError, LogFormat: "text", ExpiryInterval: time.Minute, ShutdownTimeout: 5 * time.Second,
	}
}

// atomicCounter hands out increasing numbers to parallel benchmark loops.
type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int { return int(c.n.Add(1)) }

func (e *benchEnv) call(method, path, token string, body any, out any) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		e.b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			e.b.Fatal(err)
		}
	}
}

func (e *benchEnv) createChannels(n int) []string {
	ids := make([]string, n)
	for i := range n {
		var ch struct{ ID string }
		e.call("PUT", "/partner/channels", e.tok, map[string]any{"name": fmt.Sprint("channel ", i)}, &ch)
		ids[i] = ch.ID
	}
	return ids
}

// BenchmarkPartnerAPI measures partner operations through the whole stack
// (router, auth, validation, service, database) on each backend.
// Run: go test -run '^$' -bench PartnerAPI ./internal/app/
func BenchmarkPartnerAPI(b *testing.B) {
	for i, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			b.Run("create_channel", func(b *testing.B) {
				e := newBenchEnv(b, storetest.Backends(b)[i])
				for n := 0; b.Loop(); n++ {
					e.call("PUT", "/partner/channels", e.tok, map[string]any{"name": fmt.Sprint("c", n)}, nil)
				}
			})
			b.Run("get_channel", func(b *testing.B) {
				e := newBenchEnv(b, storetest.Backends(b)[i])
				ids := e.createChannels(100)
				for n := 0; b.Loop(); n++ {
					e.call("GET", "/partner/channels/"+ids[n%len(ids)], e.tok, nil, nil)
				}
			})
			b.Run("extend", func(b *testing.B) {
				e := newBenchEnv(b, storetest.Backends(b)[i])
				ids := e.createChannels(100)
				for n := 0; b.Loop(); n++ {
					e.call("POST", "/partner/channels/"+ids[n%len(ids)]+"/extend", e.tok, map[string]any{"days": 1, "comment": "bench"}, nil)
				}
			})
			b.Run("extend_parallel", func(b *testing.B) {
				e := newBenchEnv(b, storetest.Backends(b)[i])
				ids := e.createChannels(100)
				b.ResetTimer()
				var ctr atomicCounter
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						e.call("POST", "/partner/channels/"+ids[ctr.next()%len(ids)]+"/extend", e.tok, map[string]any{"days": 1, "comment": "bench"}, nil)
					}
				})
			})
			b.Run("change_mode", func(b *testing.B) {
				e := newBenchEnv(b, storetest.Backends(b)[i])
				ids := e.createChannels(100)
				modes := []string{"dev", "trial", "live"}
				for n := 0; b.Loop(); n++ {
					e.call("PATCH", "/partner/channels/"+ids[n%len(ids)]+"/mode", e.tok, map[string]any{"mode": modes[n%3]}, nil)
				}
			})
			b.Run("list_100_of_1000", func(b *testing.B) {
				e := newBenchEnv(b, storetest.Backends(b)[i])
				e.createChannels(1000)
				for n := 0; b.Loop(); n++ {
					e.call("GET", fmt.Sprintf("/partner/channels/list?count=100&offset=%d", (n%10)*100), e.tok, nil, nil)
				}
			})
			b.Run("export_1000", func(b *testing.B) {
				e := newBenchEnv(b, storetest.Backends(b)[i])
				e.createChannels(1000)
				for b.Loop() {
					e.call("GET", "/partner/channels/export", e.tok, nil, nil)
				}
			})
			b.Run("create_and_delete", func(b *testing.B) {
				e := newBenchEnv(b, storetest.Backends(b)[i])
				for n := 0; b.Loop(); n++ {
					var ch struct{ ID string }
					e.call("PUT", "/partner/channels", e.tok, map[string]any{"name": fmt.Sprint("c", n)}, &ch)
					e.call("DELETE", "/partner/channels/"+ch.ID, e.tok, nil, nil)
				}
			})
		})
	}
}
