package sim_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
)

// counter counts a session's messages; its callback also calls into the
// network, which would deadlock if the network held its lock while
// delivering.
type counter struct {
	n        *sim.Network
	in, echo atomic.Int64
	receipts atomic.Int64
	calls    atomic.Int64
}

func (c *counter) fn(ev engine.Event) {
	if c.calls.Add(1)%50 == 0 {
		_ = c.n.Phones()
	}
	switch e := ev.(type) {
	case engine.Message:
		if e.FromMe {
			c.echo.Add(1)
		} else {
			c.in.Add(1)
		}
	case engine.Receipt:
		c.receipts.Add(1)
	}
}

func TestConcurrencyStress(t *testing.T) {
	const phones, msgs = 12, 40
	n := newNet(t, sim.Options{QRFirst: time.Second})
	for i := range phones {
		addPhone(t, n, number(i), fmt.Sprintf("P%d", i))
	}

	// Link one channel per phone, in parallel.
	sessions := make([]engine.Session, phones)
	counters := make([]*counter, phones)
	var wg sync.WaitGroup
	for i := range phones {
		wg.Go(func() {
			c := &counter{n: n}
			counters[i] = c
			qr := make(chan string, 1)
			linked := make(chan struct{})
			var once sync.Once
			s, err := n.Open(ctx, engine.SessionConfig{ChannelID: fmt.Sprintf("CHAN-%d", i), Events: func(ev engine.Event) {
				switch e := ev.(type) {
				case engine.QR:
					select {
					case qr <- e.Code:
					default:
					}
				case engine.Connected:
					once.Do(func() { close(linked) })
				}
				c.fn(ev)
			}, Ingest: func(_ context.Context, ev engine.Event) error { c.fn(ev); return nil }})
			if err != nil {
				t.Error(err)
				return
			}
			sessions[i] = s
			if err := s.Connect(ctx); err != nil {
				t.Error(err)
				return
			}
			if _, err := n.LinkQR(number(i), <-qr); err != nil {
				t.Error(err)
				return
			}
			<-linked
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, s := range sessions {
		defer s.Close()
	}

	var (
		sentByChannel atomic.Int64
		sentByPhone   = make([]atomic.Int64, phones)
		stop          = make(chan struct{})
		bg            sync.WaitGroup
	)
	// Channels and phones send to random others; failures while a session
	// is disconnected are expected.
	for i := range phones {
		wg.Go(func() {
			for k := range msgs {
				to := number((i + 1 + rand.IntN(phones-1)) % phones)
				_, err := sessions[i].SendText(ctx, to, fmt.Sprintf("c%d-%d", i, k))
				switch {
				case err == nil:
					sentByChannel.Add(1)
				case !errors.Is(err, engine.ErrNotConnected):
					t.Errorf("SendText: %v", err)
				}
			}
		})
		wg.Go(func() {
			for k := range msgs {
				to := number((i + 1 + rand.IntN(phones-1)) % phones)
				if _, err := n.SendFromPhone(number(i), to, fmt.Sprintf("p%d-%d", i, k)); err != nil {
					t.Errorf("SendFromPhone: %v", err)
				}
				sentByPhone[i].Add(1)
			}
		})
		// Readers on the phones and on the channels.
		bg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				in, err := n.Inbox(number(i))
				if err != nil {
					t.Error(err)
					return
				}
				var ids []string
				for _, m := range in {
					if m.Status != sim.StatusRead {
						ids = append(ids, m.ID)
					}
				}
				if len(ids) > 0 {
					if rand.IntN(2) == 0 {
						err = n.Read(number(i), ids)
					} else {
						err = sessions[i].MarkRead(ctx, "", "", ids)
						if errors.Is(err, engine.ErrNotConnected) {
							err = nil
						}
					}
					if err != nil {
						t.Errorf("read: %v", err)
					}
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	// Some channels drop and come back meanwhile.
	bg.Go(func() {
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			s := sessions[k%3]
			s.Disconnect()
			time.Sleep(time.Millisecond)
			if err := s.Connect(ctx); err != nil {
				t.Error(err)
			}
			_, _ = n.SessionInfo(fmt.Sprintf("CHAN-%d", k%3))
		}
	})
	wg.Wait()
	close(stop)
	bg.Wait()
	for _, s := range sessions {
		if err := s.Connect(ctx); err != nil { // the togglers may have left one offline
			t.Fatal(err)
		}
	}

	// Every channel gets every message its phone received, and a FromMe copy
	// of what its phone sent.
	deadline := time.Now().Add(wait)
	for i, c := range counters {
		in := val(n.Inbox(number(i))).get(t)
		for c.in.Load() != int64(len(in)) || c.echo.Load() != sentByPhone[i].Load() {
			if time.Now().After(deadline) {
				t.Fatalf("channel %d: %d messages for %d in the inbox, %d echoes for %d sent",
					i, c.in.Load(), len(in), c.echo.Load(), sentByPhone[i].Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	total := 0
	for i := range phones {
		total += len(val(n.Inbox(number(i))).get(t))
	}
	if want := int(sentByChannel.Load()) + phones*msgs; total != want {
		t.Errorf("%d messages in inboxes, want %d", total, want)
	}
	t.Logf("%d messages, %d sent by channels", total, sentByChannel.Load())
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	n := sim.New(sim.Options{QRFirst: 10 * time.Millisecond, QRNext: 5 * time.Millisecond, QRCount: 1000})
	val(n.AddPhone(alice, "Alice")).get(t)
	val(n.AddPhone(bob, "Bob")).get(t)
	var sessions []engine.Session
	for i := range 20 {
		r := newRecorder()
		s := val(n.Open(ctx, engine.SessionConfig{ChannelID: fmt.Sprintf("CHAN-%d", i), Events: r.fn})).get(t)
		noErr(t, s.Connect(ctx))
		if i < 2 {
			qr := next[engine.QR](t, r)
			val(n.LinkQR(alice, qr.Code)).get(t)
			next[engine.Linked](t, r)
		}
		sessions = append(sessions, s)
	}
	// One session closes itself; the others are closed by the network.
	noErr(t, sessions[19].Close())
	for range 50 {
		val(n.SendFromPhone(bob, alice, "x")).get(t)
	}
	time.Sleep(30 * time.Millisecond) // let QR timers fire
	noErr(t, n.Close())
	noErr(t, n.Close())
	for _, s := range sessions {
		noErr(t, s.Close())
		wantErr(t, s.Connect(ctx), sim.ErrClosed)
	}
	waitGoroutines(t, before)
}

func TestNoEventsAfterClose(t *testing.T) {
	n := newNet(t, sim.Options{})
	addPhone(t, n, alice, "Alice")
	addPhone(t, n, bob, "Bob")
	var (
		closed    atomic.Bool
		late      atomic.Int64
		delivered atomic.Int64
		linked    = make(chan string, 1)
		qr        = make(chan string, 1)
		release   = make(chan struct{})
	)
	s := val(n.Open(ctx, engine.SessionConfig{ChannelID: "CHAN-1", Events: func(ev engine.Event) {
		if closed.Load() {
			late.Add(1)
		}
		switch e := ev.(type) {
		case engine.QR:
			qr <- e.Code
		case engine.Linked:
			linked <- e.Device
		case engine.Message:
			<-release // a stuck consumer, then a slow one
			delivered.Add(1)
			time.Sleep(time.Millisecond)
		}
	}})).get(t)
	noErr(t, s.Connect(ctx))
	val(n.LinkQR(alice, <-qr)).get(t)
	<-linked
	for range 200 {
		val(n.SendFromPhone(bob, alice, "x")).get(t) // never blocks on the stuck consumer
	}
	close(release)
	time.Sleep(10 * time.Millisecond)
	noErr(t, s.Close())
	closed.Store(true)
	time.Sleep(20 * time.Millisecond)
	if late.Load() != 0 {
		t.Errorf("%d events after Close returned", late.Load())
	}
	if d := delivered.Load(); d == 0 || d == 200 {
		t.Logf("delivered %d of 200 before Close", d)
	}
}
