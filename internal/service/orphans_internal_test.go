package service

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/store/storetest"
)

// deviceEngine is an engine that keeps devices of its own and opens no
// session.
type deviceEngine struct {
	mu      sync.Mutex
	devices []string
}

func (e *deviceEngine) Name() string               { return "fake" }
func (e *deviceEngine) ValidateProxy(string) error { return nil }
func (e *deviceEngine) Close() error               { return nil }
func (e *deviceEngine) Open(context.Context, engine.SessionConfig) (engine.Session, error) {
	return nil, engine.ErrUnsupported
}
func (e *deviceEngine) Devices(context.Context) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.devices), nil
}
func (e *deviceEngine) RemoveDevice(_ context.Context, d string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.devices = slices.DeleteFunc(e.devices, func(x string) bool { return x == d })
	return nil
}

// A device no channel owns is removed only once it stayed unowned for the
// grace period (a node may be linking it); owned ones never are.
func TestSweepOrphansWaitsForTheGrace(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	eng := &deviceEngine{devices: []string{"dev-owned", "dev-linking"}}
	rt := runtime.New(runtime.Options{Engine: eng, Now: clk.Now, Log: slog.New(slog.DiscardHandler)})
	defer rt.Shutdown(context.Background())
	svc := New(st, slog.New(slog.DiscardHandler), Options{BcryptCost: 4, Now: clk.Now, Runtime: rt})
	ctx := context.Background()
	p, _, err := svc.CreatePartner(ctx, CreatePartnerInput{Name: "Sweep", Email: "s@example.test", Days: 10}, "test")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := svc.CreateChannel(ctx, p.ID, CreateChannelInput{Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetChannelLink(ctx, ch.ID, "dev-owned", "15550001111", "Ann", clk.Now()); err != nil {
		t.Fatal(err)
	}
	svc.SweepOrphans(ctx)
	if got, _ := eng.Devices(ctx); len(got) != 2 {
		t.Fatalf("first sweep removed %v", got)
	}
	clk.Advance(orphanGrace - time.Minute)
	svc.SweepOrphans(ctx)
	if got, _ := eng.Devices(ctx); len(got) != 2 {
		t.Fatalf("a device was removed before its grace: %v", got)
	}
	clk.Advance(2 * time.Minute)
	svc.SweepOrphans(ctx)
	if got, _ := eng.Devices(ctx); !slices.Equal(got, []string{"dev-owned"}) {
		t.Fatalf("after the grace: %v", got)
	}
	if svc.OrphansRemoved() != 1 {
		t.Errorf("counter %d", svc.OrphansRemoved())
	}
}
