package runtime

import (
	"context"
	"fmt"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/model"
)

// nopEngine opens sessions that do nothing and emit nothing.
type nopEngine struct{}

func (nopEngine) Name() string { return "nop" }

func (nopEngine) ValidateProxy(string) error { return nil }
func (nopEngine) Close() error               { return nil }
func (nopEngine) Open(_ context.Context, cfg engine.SessionConfig) (engine.Session, error) {
	return &nopSession{linked: cfg.Device != ""}, nil
}

type nopSession struct {
	engine.Unsupported
	linked bool
}

func (*nopSession) Connect(context.Context) error                            { return nil }
func (*nopSession) Disconnect()                                              {}
func (*nopSession) Logout(context.Context) error                             { return nil }
func (*nopSession) Forget(context.Context) error                             { return nil }
func (*nopSession) PairPhone(context.Context, string) (string, error)        { return "", nil }
func (*nopSession) SetProxy(string) error                                    { return nil }
func (s *nopSession) Linked() bool                                           { return s.linked }
func (*nopSession) Self() engine.Account                                     { return engine.Account{} }
func (*nopSession) Profile(context.Context) (engine.Profile, error)          { return engine.Profile{}, nil }
func (*nopSession) SetProfile(context.Context, engine.ProfileUpdate) error   { return nil }
func (*nopSession) MarkRead(context.Context, string, string, []string) error { return nil }
func (*nopSession) Close() error                                             { return nil }
func (*nopSession) SendText(context.Context, string, string) (engine.SentMessage, error) {
	return engine.SentMessage{}, nil
}

// BenchmarkStartChannels starts N linked channels with StartAll, as a
// restart does, and reports the time until every channel is running and the
// memory each keeps (heap, and goroutine stack separately): on no-op
// sessions (the supervisor alone) and on the sim engine (supervisor and a
// connected, idle simulated session).
func BenchmarkStartChannels(b *testing.B) {
	for _, eng := range []string{"nop", "sim"} {
		for _, n := range []int{1_000, 10_000} {
			b.Run(fmt.Sprintf("%s/N=%d", eng, n), func(b *testing.B) {
				benchStartChannels(b, eng, n)
			})
		}
	}
}

func benchStartChannels(b *testing.B, eng string, n int) {
	{
		{
			now := time.Now()
			chs := make([]model.Channel, n)
			for i := range chs {
				chs[i] = model.Channel{ID: fmt.Sprintf("BENCHX-%05d", i), ActiveTill: now.Add(24 * time.Hour), Device: fmt.Sprintf("sim:1555%07d:1", i)}
			}
			var elapsed time.Duration
			var heap, stack, gor float64
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				goruntime.GC()
				var before, after goruntime.MemStats
				goruntime.ReadMemStats(&before)
				g0 := goruntime.NumGoroutine()
				var e engine.Engine = nopEngine{}
				if eng == "sim" {
					e = sim.New(sim.Options{})
				}
				m := New(Options{Engine: e, Store: &fakeStore{}})
				b.StartTimer()

				start := time.Now()
				m.StartAll(context.Background(), chs)
				if eng == "sim" {
					waitAuth(b, m, chs)
				}
				elapsed += time.Since(start)

				b.StopTimer()
				if m.Channels() != n {
					b.Fatalf("Channels() = %d", m.Channels())
				}
				goruntime.GC()
				goruntime.ReadMemStats(&after)
				heap += float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
				stack += float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n)
				gor += float64(goruntime.NumGoroutine()-g0) / float64(n)
				goruntime.KeepAlive(m)
				if err := m.Shutdown(context.Background()); err != nil {
					b.Fatal(err)
				}
				_ = e.Close()
				b.StartTimer()
			}
			b.StopTimer()
			k := float64(b.N)
			b.ReportMetric(float64(elapsed.Microseconds())/1000/k, "ms/start-all")
			b.ReportMetric(heap/k, "B/channel")
			b.ReportMetric(stack/k, "stackB/channel")
			b.ReportMetric(gor/k, "goroutines/channel")
		}
	}
}

// waitAuth waits until every channel is linked and online.
func waitAuth(b *testing.B, m *Manager, chs []model.Channel) {
	deadline := time.Now().Add(time.Minute)
	for _, ch := range chs {
		for m.Health(ch).Status != StatusAuth {
			if time.Now().After(deadline) {
				b.Fatalf("%s: %v after a minute", ch.ID, m.Health(ch).Status)
			}
			time.Sleep(time.Millisecond)
		}
	}
}
