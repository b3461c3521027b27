package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/store/storetest"
)

const adminToken = "test-admin-token-0123456789"

// env is a wagate server built by app.New (the real router, store and
// services) with a fake clock; requests go through the OpenAPI validator.
type env struct {
	t     *testing.T
	srv   *app.Server
	h     http.Handler
	clock *clock.Fake
}

// start is the fake clock's start: a fixed moment keeps expectations exact.
var start = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func testConfig(t *testing.T, b storetest.Backend) config.Config {
	return config.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: b.Options.URL,
		AdminToken: adminToken, PublicURL: "https://wa.example.test",
		Engine: config.EngineSim, LogLevel: slog.LevelError, LogFormat: "text",
		ExpiryInterval: time.Second, ShutdownTimeout: 5 * time.Second, MediaAllowPrivate: true, ProxyAllowPrivate: true,
	}
}

func newEnv(t *testing.T, v *openapitest.Validator, b storetest.Backend) *env {
	t.Helper()
	return newEnvWith(t, v, b, nil)
}

// newEnvWith is newEnv with the config and options changed by tune.
func newEnvWith(t *testing.T, v *openapitest.Validator, b storetest.Backend, tune func(*config.Config, *app.Options)) *env {
	t.Helper()
	clk := clock.NewFake(start)
	cfg := testConfig(t, b)
	if b.Options.SQLitePath != "" {
		cfg.DataDir = strings.TrimSuffix(b.Options.SQLitePath, "/wagate.db")
	}
	o := app.Options{Now: clk.Now, BcryptCost: 4}
	if tune != nil {
		tune(&cfg, &o)
	}
	srv, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), o)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &env{t: t, srv: srv, h: v.Wrap(t, srv.Handler()), clock: clk}
}

// unvalidated returns the env without the OpenAPI check, for requests to
// routes that do not exist (and so are not documented).
func (e *env) unvalidated() *env {
	c := *e
	c.h = e.srv.Handler()
	return &c
}

// do sends a request through the router and returns status and body.
func (e *env) do(method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// ok sends a request that must answer want, and decodes the JSON answer.
func (e *env) ok(want int, method, path, token string, body any) map[string]any {
	e.t.Helper()
	code, raw := e.do(method, path, token, body)
	if code != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, code, want, raw)
	}
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return out
}

// fail sends a request that must fail with status want and a message
// containing msg; it returns the error message.
func (e *env) fail(want int, msg, method, path, token string, body any) string {
	e.t.Helper()
	code, raw := e.do(method, path, token, body)
	var eb struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Details string `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &eb); err != nil {
		e.t.Fatalf("%s %s: error body is not JSON: %s", method, path, raw)
	}
	if code != want || eb.Error.Code != want {
		e.t.Fatalf("%s %s: status %d (body code %d), want %d; body %s", method, path, code, eb.Error.Code, want, raw)
	}
	if !strings.Contains(eb.Error.Message+" "+eb.Error.Details, msg) {
		e.t.Fatalf("%s %s: error %q does not mention %q", method, path, eb.Error.Message+" / "+eb.Error.Details, msg)
	}
	return eb.Error.Message
}

// partner creates a partner with days through the admin API and returns its
// ID, name and token.
func (e *env) partner(name string, days int) (id, token string) {
	e.t.Helper()
	p := e.ok(http.StatusCreated, "POST", "/admin/partners", adminToken,
		map[string]any{"name": name, "email": name + "@example.test", "days": days, "password": "correct horse"})
	return p["id"].(string), p["token"].(string)
}

// channel creates a channel and returns its JSON.
func (e *env) channel(token, name string) map[string]any {
	e.t.Helper()
	return e.ok(http.StatusOK, "PUT", "/partner/channels", token, map[string]any{"name": name})
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to log into.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

const day = 24 * time.Hour

func ms(t time.Time) int64 { return t.UnixMilli() }
