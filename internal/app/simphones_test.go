package app_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestSimPhonesSurviveRestart: sim phones, linked to a channel or not, come
// back after a restart with their number, name and about text.
func TestSimPhonesSurviveRestart(t *testing.T) {
	v := openapitest.New(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cfg := testConfig(t, b)
			if b.Options.SQLitePath != "" {
				cfg.DataDir = filepath.Dir(b.Options.SQLitePath)
			}
			clk := clock.NewFake(start)
			boot := func() *env {
				t.Helper()
				srv, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{Now: clk.Now, BcryptCost: 4})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := srv.Service().StartRuntime(context.Background()); err != nil {
					t.Fatal(err)
				}
				return &env{t: t, srv: srv, h: v.Wrap(t, srv.Handler()), clock: clk}
			}
			stop := func(e *env) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := e.srv.Shutdown(ctx); err != nil {
					t.Fatal(err)
				}
			}
			e := boot()
			e.simPhone("15550501001", "Alice")
			_, ptok := e.partner("simkeep", 5)
			tok := e.channel(ptok, "Kept")["token"].(string)
			e.linkByQR(tok, "15550501002", "Bob")
			e.ok(200, "PATCH", "/users/profile", tok, map[string]any{"name": "Bobby", "about": "at work"})
			stop(e)

			e = boot()
			defer stop(e)
			for number, want := range map[string][2]string{"15550501001": {"Alice", ""}, "15550501002": {"Bobby", "at work"}} {
				p := e.ok(200, "GET", "/admin/sim/phones/"+number, adminToken, nil)
				if p["name"] != want[0] || (want[1] != "" && p["about"] != want[1]) {
					t.Fatalf("phone %s after a restart = %v, want %v", number, p, want)
				}
			}
			e.fail(409, "exists", "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": "15550501001", "name": "Again"})
			// The kept phone still messages the linked channel.
			m := e.ok(201, "POST", "/admin/sim/phones/15550501001/messages", adminToken, map[string]any{"to": "15550501002", "body": "still here"})
			e.messageOn(tok, m["message"].(map[string]any)["id"].(string))
		})
	}
}
