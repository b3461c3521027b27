package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// world is a database shared by the nodes of a test and a record of which
// node runs each shard, to catch two running one at once.
type world struct {
	t   *testing.T
	url string

	mu       sync.Mutex
	running  map[int]string // shard -> node running it
	overlaps []string
	changes  []store.Change
}

func newWorld(t *testing.T) *world {
	base := os.Getenv(storetest.EnvPostgres)
	if base == "" {
		t.Skip("cluster mode needs PostgreSQL: set " + storetest.EnvPostgres)
	}
	return &world{t: t, url: storetest.PostgresSchemaURL(t, base), running: map[int]string{}}
}

func (w *world) openStore() *store.Store {
	w.t.Helper()
	st, err := store.Open(context.Background(), store.Options{URL: w.url})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := st.Migrate(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { st.Close() })
	return st
}

// handler is one node's service: it records what it runs in the world.
type handler struct {
	w    *world
	node string
	mu   sync.Mutex
	runs map[int]bool
	// releaseDelay makes closing a shard's sessions take a while.
	releaseDelay time.Duration
}

func (h *handler) Acquire(ctx context.Context, f store.Fence) {
	h.w.mu.Lock()
	if other, ok := h.w.running[f.Shard]; ok && other != h.node {
		h.w.overlaps = append(h.w.overlaps, fmt.Sprintf("shard %d acquired by %s while %s runs it", f.Shard, h.node, other))
	}
	h.w.running[f.Shard] = h.node
	h.w.mu.Unlock()
	h.mu.Lock()
	h.runs[f.Shard] = true
	h.mu.Unlock()
}

func (h *handler) Release(ctx context.Context, shards []int) {
	time.Sleep(h.releaseDelay)
	h.w.mu.Lock()
	for _, shard := range shards {
		if h.w.running[shard] == h.node {
			delete(h.w.running, shard)
		}
	}
	h.w.mu.Unlock()
	h.mu.Lock()
	for _, shard := range shards {
		delete(h.runs, shard)
	}
	h.mu.Unlock()
}

func (h *handler) Changed(c store.Change) {
	h.w.mu.Lock()
	h.w.changes = append(h.w.changes, c)
	h.w.mu.Unlock()
}

func (h *handler) Reconcile(ctx context.Context, owned []store.Fence) {}

func (h *handler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.runs)
}

// member is a started node.
type member struct {
	*Node
	h  *handler
	st *store.Store
}

const (
	testHeartbeat = 200 * time.Millisecond
	testTTL       = 1200 * time.Millisecond
)

func (w *world) start(id string, tune ...func(*Options)) (*member, error) {
	st := w.openStore()
	h := &handler{w: w, node: id, runs: map[int]bool{}}
	o := Options{Store: st, DSN: w.url, NodeID: id, URL: "http://127.0.0.1:1", Heartbeat: testHeartbeat, TTL: testTTL,
		Log: slog.New(slog.DiscardHandler), Handler: h}
	for _, f := range tune {
		f(&o)
	}
	n, err := New(o)
	if err != nil {
		return nil, err
	}
	if err := n.Start(context.Background()); err != nil {
		return nil, err
	}
	m := &member{Node: n, h: h, st: st}
	w.t.Cleanup(func() { m.halt() })
	return m, nil
}

func (w *world) mustStart(id string, tune ...func(*Options)) *member {
	w.t.Helper()
	m, err := w.start(id, tune...)
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

// halt stops a node like a crash: its loops end, it releases nothing and
// keeps its row (its watchdog is gone too: what it ran is recorded as
// running until the test says otherwise).
func (m *member) halt() {
	if m.stop != nil {
		m.stop()
		m.done.Wait()
		m.notify.close()
	}
}

func (w *world) noOverlap() {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.overlaps) > 0 {
		w.t.Fatalf("a shard ran on two nodes at once: %v", w.overlaps)
	}
}

func eventually(t *testing.T, d time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func TestLoneNodeOwnsEveryShard(t *testing.T) {
	w := newWorld(t)
	a := w.mustStart("a")
	// Start returns with every shard acquired.
	if got := a.h.count(); got != DefaultShards {
		t.Fatalf("after Start the lone node runs %d shards, want %d", got, DefaultShards)
	}
	if _, ok := a.Holds("CHAN-1"); !ok {
		t.Error("the lone node does not hold a channel")
	}
	if r := a.RouteOf("CHAN-1"); !r.Local {
		t.Errorf("route = %+v, want local", r)
	}
	st, err := a.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Leader != "a" || len(st.Nodes) != 1 || st.Nodes[0].Shards != DefaultShards || !st.Nodes[0].Alive {
		t.Errorf("status = %+v", st)
	}
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := a.h.count(); got != 0 {
		t.Errorf("after Shutdown it runs %d shards", got)
	}
	nodes, _, _ := a.st.Nodes(context.Background())
	if len(nodes) != 0 {
		t.Errorf("a clean exit left its row: %+v", nodes)
	}
}

func TestNodesShareAndHandOver(t *testing.T) {
	w := newWorld(t)
	a := w.mustStart("a")
	a.h.releaseDelay = 30 * time.Millisecond // closing sessions takes time
	b := w.mustStart("b")
	c := w.mustStart("c")
	took := eventually(t, 15*time.Second, "64 shards spread over three nodes", func() bool {
		na, nb, nc := a.h.count(), b.h.count(), c.h.count()
		return na+nb+nc == DefaultShards && na >= 21 && nb >= 21 && nc >= 21
	})
	t.Logf("balanced over three nodes in %v", took)
	w.noOverlap()

	// Once no move is under way (and every node saw it), every channel
	// has exactly one local owner, and the others route to it.
	eventually(t, 10*time.Second, "the moves settle", func() bool {
		st, err := a.Status(context.Background())
		if err != nil {
			return false
		}
		for _, sh := range st.Shards {
			if sh.Target != "" {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * testHeartbeat)
	for i := range 200 {
		id := fmt.Sprintf("CH-%04d", i)
		owners := 0
		for _, m := range []*member{a, b, c} {
			if _, ok := m.Holds(id); ok {
				owners++
			}
		}
		if owners > 1 {
			t.Fatalf("channel %s held by %d nodes", id, owners)
		}
		eventually(t, 5*time.Second, "channel "+id+" routed by every node", func() bool {
			held := 0
			for _, m := range []*member{a, b, c} {
				r := m.RouteOf(id)
				if r.Local {
					held++
				} else if r.Unavailable || r.URL == "" {
					return false
				}
			}
			return held == 1
		})
	}

	// A clean exit hands b's shards to the others.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if b.h.count() != 0 {
		t.Fatal("b still runs shards after its shutdown")
	}
	eventually(t, 10*time.Second, "a and c take b's shards", func() bool { return a.h.count()+c.h.count() == DefaultShards })
	w.noOverlap()
	moves, err := a.st.ShardMoves(context.Background(), 500)
	if err != nil {
		t.Fatal(err)
	}
	handed := 0
	for _, m := range moves {
		if m.From == "b" && m.Reason == "moved" {
			handed++
		}
	}
	if handed == 0 {
		t.Errorf("no shard was handed over by b: %+v", moves[:min(len(moves), 10)])
	}
}

func TestDeadNodeShardsMove(t *testing.T) {
	w := newWorld(t)
	// The leader's NodeDead hook runs before the dead node's shards are
	// given away (the sim network's host closes the node's sessions there).
	var (
		self   atomic.Pointer[member]
		deadMu sync.Mutex
		dead   []string
		ranAt  []int // shards a ran when the hook was called
	)
	a := w.mustStart("a", func(o *Options) {
		o.NodeDead = func(_ context.Context, id string) {
			deadMu.Lock()
			defer deadMu.Unlock()
			dead = append(dead, id)
			ranAt = append(ranAt, self.Load().h.count())
		}
	})
	self.Store(a)
	b := w.mustStart("b")
	eventually(t, 15*time.Second, "two nodes share the shards", func() bool {
		return a.h.count() == DefaultShards/2 && b.h.count() == DefaultShards/2
	})
	// b crashes: it keeps its row and renews nothing.
	bShards := b.h.count()
	b.halt()
	w.mu.Lock()
	for s, n := range w.running {
		if n == "b" {
			delete(w.running, s) // a crashed process runs nothing
		}
	}
	w.mu.Unlock()
	start := time.Now()
	eventually(t, 10*time.Second, "a takes the dead node's shards", func() bool { return a.h.count() == DefaultShards })
	took := time.Since(start)
	t.Logf("a took %d shards of the dead node %v after it stopped (TTL %v)", bShards, took, testTTL)
	deadMu.Lock()
	if !slices.Equal(dead, []string{"b"}) || ranAt[0] != DefaultShards-bShards {
		t.Errorf("NodeDead calls %v, with a running %v shards (want [b] once, before it took b's %d)", dead, ranAt, bShards)
	}
	deadMu.Unlock()
	if took < testTTL-testHeartbeat {
		t.Errorf("shards moved after %v, before the dead node's heartbeat (TTL %v) could have expired", took, testTTL)
	}
	w.noOverlap()
}

func TestPausedNodeFencesItself(t *testing.T) {
	w := newWorld(t)
	a := w.mustStart("a")
	b := w.mustStart("b")
	eventually(t, 15*time.Second, "two nodes share the shards", func() bool {
		return a.h.count() == DefaultShards/2 && b.h.count() == DefaultShards/2
	})
	// b cannot renew its heartbeat (its database is gone for it): its
	// watchdog closes everything before a may take over.
	if err := b.st.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "b fences itself", func() bool { return b.h.count() == 0 })
	for i := range 100 {
		if _, ok := b.Holds(fmt.Sprintf("CH-%d", i)); ok {
			t.Fatal("a fenced node still holds a channel")
		}
	}
	eventually(t, 10*time.Second, "a takes b's shards", func() bool { return a.h.count() == DefaultShards })
	w.noOverlap()
	st, _ := a.Status(context.Background())
	var dead bool
	for _, n := range st.Nodes {
		if n.ID == "b" && !n.Alive {
			dead = true
		}
	}
	if !dead {
		t.Errorf("b is not shown dead: %+v", st.Nodes)
	}
}

func TestSameNodeIDRefused(t *testing.T) {
	w := newWorld(t)
	var a *member
	// a answers at its URL: a second node with its ID refuses to start.
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { a.ServeInternal(rw, r) }))
	defer srv.Close()
	a = w.mustStart("same", func(o *Options) { o.URL = srv.URL })
	_, err := w.start("same", func(o *Options) { o.URL = srv.URL })
	if !errors.Is(err, ErrNodeIDInUse) {
		t.Fatalf("second node with the same ID: %v, want ErrNodeIDInUse", err)
	}
	if a.h.count() != DefaultShards {
		t.Errorf("the running node lost shards: %d", a.h.count())
	}

	// A crashed run (not answering) is taken over once its heartbeat expired.
	a.halt()
	srv.Close()
	start := time.Now()
	b, err := w.start("same", func(o *Options) { o.URL = "http://127.0.0.1:1" })
	if err != nil {
		t.Fatalf("restart after a crash: %v", err)
	}
	if waited := time.Since(start); waited < testTTL/2 {
		t.Errorf("the restart took over after %v, before the crashed run's heartbeat expired", waited)
	}
	eventually(t, 5*time.Second, "the restart runs the shards", func() bool { return b.h.count() == DefaultShards })
}
