package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wagate/wagate/internal/billing"
	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/store"
)

// ChannelsReport is the memory an idle linked sim channel keeps and the
// time a server takes to bring all its channels to AUTH when it starts.
type ChannelsReport struct {
	// Seeding says how the idle channels were made.
	Seeding string `json:"seeding"`
	// Server is what the server itself keeps with no idle channel (the
	// live channels of the other sections included), subtracted from the
	// levels' figures.
	Server Memory         `json:"server"`
	Levels []ChannelLevel `json:"levels"`
}

// Memory is what a server keeps, after garbage collection.
type Memory struct {
	// RSSBytes is the process's resident memory once freed memory went
	// back to the system.
	RSSBytes   int64 `json:"rss_bytes"`
	HeapBytes  int64 `json:"heap_bytes"`
	StackBytes int64 `json:"stack_bytes"`
	Goroutines int   `json:"goroutines"`
}

// ChannelLevel is one number of idle channels.
type ChannelLevel struct {
	Channels int `json:"channels"`
	// BootSeconds is how long the server took to build and start
	// (listening, channels launched); StartSeconds until every channel was
	// AUTH.
	BootSeconds  float64 `json:"boot_seconds"`
	StartSeconds float64 `json:"start_seconds"`
	// Per channel, beyond the server's own.
	HeapBytesPerChannel  float64 `json:"heap_bytes_per_channel"`
	StackBytesPerChannel float64 `json:"stack_bytes_per_channel"`
	BytesPerChannel      float64 `json:"bytes_per_channel"`
	GoroutinesPerChannel float64 `json:"goroutines_per_channel"`
}

// seedingNote says how idle channels are made.
const seedingNote = "idle channels are seeded through the store with the server down (created as a partner's trial " +
	"channels and linked to sim devices of phones of their own, as after a QR scan), not through HTTP; " +
	"every start is the real server's boot on that data dir. Per-channel memory includes the sim " +
	"network's side of each link (its phone and device), which WhatsApp keeps in production"

// levels are the idle channel counts measured up to max.
func levels(limit int) []int {
	var out []int
	for _, n := range []int{100, 1_000, 10_000} {
		if n <= limit {
			out = append(out, n)
		}
	}
	if len(out) == 0 || out[len(out)-1] < limit {
		out = append(out, limit)
	}
	return out
}

// ensureIdlePartner creates the partner owning the idle channels (the
// server must be up).
func (e *env) ensureIdlePartner(ctx context.Context) error {
	if e.idlePartner != "" {
		return nil
	}
	var p struct{ ID, Token string }
	if err := e.api.call(ctx, "POST", "/admin/partners", e.admin,
		map[string]any{"name": "idle", "email": "idle@example.test", "days": 1_000_000}, &p); err != nil {
		return err
	}
	e.idlePartner, e.idlePartnerToken = p.ID, p.Token
	return nil
}

// seedIdle brings the idle partner's channels up to n through the store;
// the server must be down.
func (e *env) seedIdle(ctx context.Context, n int) error {
	if e.srv != nil {
		return errors.New("bench: seeding needs the server down")
	}
	if len(e.idle) >= n {
		return nil
	}
	st, err := store.Open(ctx, store.Options{URL: e.dbURL, SQLitePath: e.config().SQLitePath()})
	if err != nil {
		return err
	}
	defer st.Close()
	if len(e.idle) == 0 {
		e.notes = append(e.notes, seedingNote)
	}
	from := len(e.idle)
	e.prog.stepf("channels: seeding %d idle channels", n-from)
	workers := 1 // SQLite has one writer
	if e.dbURL != "" {
		workers = 8
	}
	out := make([]model.Channel, n-from)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		done  int
	)
	jobs := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				ch, err := seedChannel(ctx, st, e.idlePartner, from+i)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				out[i] = ch
				done++
				if done%500 == 0 {
					e.prog.tickf("%d", done)
				}
				mu.Unlock()
			}
		})
	}
	for i := range out {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	if first != nil {
		return fmt.Errorf("seed channels: %w", first)
	}
	e.idle = append(e.idle, out...)
	return nil
}

// seedChannel creates idle channel i of a partner, linked to a sim device
// of a phone of its own.
func seedChannel(ctx context.Context, st *store.Store, partnerID string, i int) (model.Channel, error) {
	now := time.Now()
	var ch model.Channel
	var err error
	for range 3 { // a clash of random IDs: draw again
		tok := ids.ChannelToken()
		ch = billing.NewChannel(model.Channel{ID: ids.ChannelID(), PartnerID: partnerID, ProjectID: model.DefaultProjectID,
			Name: fmt.Sprintf("idle %d", i), Token: tok}, 30, now)
		if err = st.CreateChannel(ctx, ch, ids.Hash(tok), store.CreateLimit{}, now); !errors.Is(err, model.ErrConflict) {
			break
		}
	}
	if err != nil {
		return ch, err
	}
	phone := fmt.Sprintf("1556%07d", i)
	ch.Device, ch.WAPhone, ch.WAName, ch.LinkedAt = "sim:"+phone+":1", phone, "Idle "+phone, &now
	return ch, st.SetChannelLink(ctx, ch.ID, ch.Device, ch.WAPhone, ch.WAName, now)
}

// waitAuth waits until every channel of chs is AUTH on the running server.
func (e *env) waitAuth(ctx context.Context, chs []model.Channel, timeout time.Duration) error {
	svc := e.srv.Service()
	deadline := time.Now().Add(timeout)
	for i := 0; i < len(chs); {
		if svc.Health(chs[i]).Status == runtime.StatusAuth {
			i++
			continue
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d channels AUTH after %s (channel %s is %s)", i, len(chs), timeout,
				chs[i].ID, svc.Health(chs[i]).Status)
		}
		if err := sleep(ctx, time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// waitLinked waits until every linked channel that should run is AUTH.
func (e *env) waitLinked(ctx context.Context, timeout time.Duration) error {
	svc := e.srv.Service()
	all, err := svc.Store().RunnableChannels(ctx, svc.Now())
	if err != nil {
		return err
	}
	var linked []model.Channel
	for _, ch := range all {
		if ch.Linked() {
			linked = append(linked, ch)
		}
	}
	return e.waitAuth(ctx, linked, timeout)
}

// measureMemory is the process's heap, stacks and goroutines once the
// garbage collector ran and goroutines that were ending have ended.
func measureMemory(ctx context.Context) Memory {
	_ = sleep(ctx, 200*time.Millisecond)
	goruntime.GC()
	goruntime.GC()
	debug.FreeOSMemory()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return Memory{RSSBytes: rss(), HeapBytes: int64(ms.HeapAlloc), StackBytes: int64(ms.StackInuse), Goroutines: goruntime.NumGoroutine()}
}

// rss is the process's resident set size (0 where /proc does not say).
func rss() int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (m Memory) minus(o Memory) Memory {
	return Memory{RSSBytes: m.RSSBytes - o.RSSBytes, HeapBytes: m.HeapBytes - o.HeapBytes, StackBytes: m.StackBytes - o.StackBytes,
		Goroutines: m.Goroutines - o.Goroutines}
}

// restart shuts the server down and starts a new one on the same data dir
// (seeding idle channels up to n in between), and measures the memory the
// server keeps once every linked channel is AUTH, beyond the process's
// without a server.
func (e *env) restart(ctx context.Context, n int) (ChannelLevel, Memory, error) {
	lv := ChannelLevel{Channels: n}
	if err := e.shutdown(ctx); err != nil {
		return lv, Memory{}, err
	}
	if err := e.seedIdle(ctx, n); err != nil {
		return lv, Memory{}, err
	}
	e.prog.stepf("channels: starting a server with %d idle channels", n)
	before := measureMemory(ctx)
	stop := func() {}
	if n == e.o.MaxChannels {
		stop = e.profile("restart")
	}
	t0 := time.Now()
	if err := e.boot(ctx); err != nil {
		stop()
		return lv, Memory{}, err
	}
	lv.BootSeconds = time.Since(t0).Seconds()
	timeout := 2*time.Minute + time.Duration(n)*10*time.Millisecond
	err := e.waitAuth(ctx, e.idle[:n], timeout)
	lv.StartSeconds = time.Since(t0).Seconds()
	stop()
	if err != nil {
		return lv, Memory{}, err
	}
	if err := e.waitLinked(ctx, timeout); err != nil {
		return lv, Memory{}, err
	}
	return lv, measureMemory(ctx).minus(before), nil
}

func (e *env) benchChannels(ctx context.Context) (*ChannelsReport, error) {
	if err := e.ensureIdlePartner(ctx); err != nil {
		return nil, err
	}
	rep := &ChannelsReport{Seeding: seedingNote}
	_, server, err := e.restart(ctx, 0)
	if err != nil {
		return rep, err
	}
	rep.Server = server
	for _, n := range levels(e.o.MaxChannels) {
		lv, mem, err := e.restart(ctx, n)
		if err != nil {
			return rep, err
		}
		per := mem.minus(server)
		lv.HeapBytesPerChannel = float64(per.HeapBytes) / float64(n)
		lv.StackBytesPerChannel = float64(per.StackBytes) / float64(n)
		lv.BytesPerChannel = lv.HeapBytesPerChannel + lv.StackBytesPerChannel
		lv.GoroutinesPerChannel = float64(per.Goroutines) / float64(n)
		rep.Levels = append(rep.Levels, lv)
	}
	return rep, nil
}
