package whatsmeow

import (
	"context"
	"fmt"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/store/storetest"
)

// BenchmarkIdleClients opens N whatsmeow sessions without connecting them
// (this machine has no WhatsApp to connect to) and reports the time to open
// all of them and the memory each keeps: "linked" loads N stored devices
// from the database as a restart does, "new" creates N unpaired devices as
// new channels do. Per backend (SQLite; PostgreSQL when
// WAGATE_TEST_POSTGRES_URL is set).
func BenchmarkIdleClients(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		for _, n := range []int{100, 1_000} {
			for _, kind := range []string{"linked", "new"} {
				b.Run(fmt.Sprintf("%s/%s/N=%d", be.Name, kind, n), func(b *testing.B) {
					benchIdleClients(b, be, kind, n)
				})
			}
		}
	}
}

func benchIdleClients(b *testing.B, be storetest.Backend, kind string, n int) {
	st := storetest.Open(b, be)
	e := newEngine(b, st, Options{})
	devices := make([]string, n)
	if kind == "linked" {
		for i := range devices {
			devices[i] = storeDevice(b, e, fmt.Sprintf("1555%07d", i), 1)
		}
	}
	ctx := context.Background()
	var elapsed time.Duration
	var heap, gor float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		goruntime.GC()
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		g0 := goruntime.NumGoroutine()
		sessions := make([]engine.Session, n)
		b.StartTimer()

		t0 := time.Now()
		for i := range sessions {
			s, err := e.Open(ctx, engine.SessionConfig{ChannelID: fmt.Sprintf("BENCHW-%05d", i), Device: devices[i], Events: func(engine.Event) {}})
			if err != nil {
				b.Fatal(err)
			}
			sessions[i] = s
		}
		elapsed += time.Since(t0)

		b.StopTimer()
		goruntime.GC()
		goruntime.ReadMemStats(&after)
		heap += float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
		gor += float64(goruntime.NumGoroutine()-g0) / float64(n)
		for _, s := range sessions {
			if kind == "linked" && !s.Linked() {
				b.Fatal("stored device not linked")
			}
			s.Close()
		}
		b.StartTimer()
	}
	b.StopTimer()
	k := float64(b.N)
	b.ReportMetric(float64(elapsed.Microseconds())/1000/k, "ms/open-all")
	b.ReportMetric(float64(elapsed.Microseconds())/k/float64(n), "us/client")
	b.ReportMetric(heap/k/1024, "KiB/client")
	b.ReportMetric(gor/k, "goroutines/client")
}
