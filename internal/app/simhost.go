package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wagate/wagate/internal/cluster"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/engine/simremote"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/store"
)

// The sim engine's network lives in one process at a time: this one on a
// single node; in a cluster, the leader's, which every node's channels
// reach through simremote. Its state is saved to the database every
// simSaveEvery (when it changed) and when the host stops, and loaded when a
// node starts hosting it: it survives restarts, and moves with the leader
// (losing at most the last simSaveEvery of changes when a host dies).
const simSaveEvery = 2 * time.Second

// simHost is this process's share of hosting the sim network.
type simHost struct {
	s      *Server
	once   sync.Once
	active atomic.Bool
	host   atomic.Pointer[simremote.Host]

	mu        sync.Mutex
	lastSaved [32]byte
	savedAt   time.Time
	// known is the save time of the state this process has (loaded or
	// saved by it): a host that finds the same one needs not reload.
	known time.Time
	// remote is the engine of this node's channels in a cluster.
	remote *simremote.Engine
}

// loadSimState puts the last saved network in s.sim (before phones and
// devices are restored from their tables). A network closed when this node
// stopped hosting it serves again afterwards.
func (s *Server) loadSimState(ctx context.Context) error {
	data, at, err := s.store.SimState(ctx)
	if err != nil {
		return err
	}
	s.simHost.mu.Lock()
	fresh := data == nil || (!at.IsZero() && at.Equal(s.simHost.known))
	s.simHost.mu.Unlock()
	if fresh {
		s.sim.Reopen()
		return nil // what this process has
	}
	defer func() {
		s.simHost.mu.Lock()
		s.simHost.known = at
		s.simHost.mu.Unlock()
	}()
	snap, err := simremote.DecodeSnapshot(data)
	if err != nil {
		s.log.Error("the saved sim network could not be read; starting from its phones", "error", err)
		return nil
	}
	s.sim.Load(snap)
	s.log.Info("sim network loaded", "saved_at", at, "phones", len(snap.Phones), "devices", len(snap.Devices),
		"messages", len(snap.Messages), "groups", len(snap.Groups))
	return nil
}

// restoreSim loads the saved network, then the phones and devices kept in
// their own tables.
func (s *Server) restoreSim(ctx context.Context) error {
	if err := s.loadSimState(ctx); err != nil {
		return err
	}
	stored, err := s.store.SimPhones(ctx)
	if err != nil {
		return err
	}
	restore := make([]sim.StoredPhone, len(stored))
	for i, p := range stored {
		restore[i] = sim.StoredPhone{Number: p.Number, Name: p.Name, About: p.About}
	}
	devices, err := s.store.LinkedDevices(ctx)
	if err != nil {
		return err
	}
	s.sim.Restore(restore, devices)
	return nil
}

// saveSim writes the network's snapshot when it changed since the last
// save. In a cluster only the leader (the host) writes.
func (h *simHost) save(ctx context.Context) error {
	s := h.s
	snap := s.sim.Snapshot()
	data, err := simremote.EncodeSnapshot(snap)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	h.mu.Lock()
	same := sum == h.lastSaved
	h.mu.Unlock()
	if same {
		return nil
	}
	node, inc := "", ""
	if n := s.cnode.Load(); n != nil {
		node, inc = n.ID(), n.Incarnation()
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.store.SaveSimState(ctx, data, node, inc, at); err != nil {
		return err
	}
	h.mu.Lock()
	h.lastSaved, h.savedAt, h.known = sum, at, at
	h.mu.Unlock()
	return nil
}

// start hosts the network now when this node leads, then keeps following
// the leadership in the background (once).
func (h *simHost) start(ctx context.Context) {
	h.once.Do(func() {
		if h.leading() {
			h.activate(ctx)
		}
		h.s.workers.Add(1)
		go func() {
			defer h.s.workers.Done()
			h.run(h.s.clusterCtx)
		}()
	})
}

// stop stops hosting the network and saves it (shutdown): the network is
// closed first, so that nothing changes it after its last snapshot (a call
// under way finishes first and is in it; later ones fail and are tried
// again on the next host).
func (h *simHost) stop(ctx context.Context) {
	if !h.active.Load() {
		return
	}
	h.deactivate()
	if err := h.save(ctx); err != nil {
		h.s.log.Warn("sim network not saved at shutdown", "error", err)
	}
}

// run hosts the network while this node leads (always on a single node),
// saving it as it changes, until ctx ends.
func (h *simHost) run(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var lastSave time.Time
	for {
		leading := h.leading()
		switch {
		case leading && !h.active.Load():
			h.activate(ctx)
		case !leading && h.active.Load():
			// The lease lapsed (a slow or paused node): the changes since
			// the last save are kept unless another node took the lease
			// already (then the save is fenced and they are lost, as when
			// a host dies).
			h.deactivate()
			if err := h.save(ctx); err != nil && !errors.Is(err, store.ErrFenced) && ctx.Err() == nil {
				h.s.log.Warn("sim network not saved after the leadership moved", "error", err)
			}
		}
		if h.active.Load() && time.Since(lastSave) >= simSaveEvery {
			lastSave = time.Now()
			if err := h.save(ctx); err != nil && ctx.Err() == nil {
				if errors.Is(err, store.ErrFenced) {
					h.deactivate()
				} else {
					h.s.log.Warn("sim network not saved", "error", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// leading: this node hosts the network (single node: always).
func (h *simHost) leading() bool {
	n := h.s.cnode.Load()
	return n == nil || n.Leading()
}

// activate starts hosting: in a cluster the network is loaded from the
// last save first (another node hosted it meanwhile).
func (h *simHost) activate(ctx context.Context) {
	s := h.s
	if s.cnode.Load() != nil {
		// Another node may have hosted it since this one loaded it.
		before := h.knownAt()
		if err := s.restoreSim(ctx); err != nil {
			s.log.Error("sim network not loaded; hosting it from what this node has", "error", err)
		}
		if h.knownAt() != before && h.remote != nil {
			h.remote.DetachAll("the sim network was reloaded on this node")
		}
	}
	host := simremote.NewHost(s.sim, s.log)
	host.Gate(h.leading)
	h.host.Store(host)
	h.active.Store(true)
	s.log.Info("this node hosts the sim network")
}

func (h *simHost) knownAt() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.known
}

// deactivate stops hosting (the leadership moved): the other nodes'
// connections end; their sessions connect to the new host.
func (h *simHost) deactivate() {
	h.active.Store(false)
	if host := h.host.Swap(nil); host != nil {
		host.Close()
	}
	_ = h.s.sim.Close() // nobody changes a network another node may host now
	h.mu.Lock()
	h.lastSaved = [32]byte{}
	h.mu.Unlock()
	h.s.log.Info("this node no longer hosts the sim network")
}

// where says where the network is hosted, for the engine: here (the
// network itself) or at the leader's URL.
func (h *simHost) where() (string, *sim.Network) {
	n := h.s.cnode.Load()
	if n == nil || h.active.Load() {
		return "", h.s.sim
	}
	if url := n.LeaderURL(); url != n.URL() {
		return url, nil
	}
	return "", nil // this node leads and is about to host it
}

// serve answers another node's websocket to the network.
func (h *simHost) serve(w http.ResponseWriter, r *http.Request, node *cluster.Node) {
	if !node.Authenticated(r) {
		httpx.WriteError(w, r, h.s.log, httpx.Errorf(http.StatusForbidden, "not a node of this cluster"))
		return
	}
	host := h.host.Load()
	if host == nil {
		httpx.WriteError(w, r, h.s.log, httpx.Errorf(http.StatusServiceUnavailable, "this node does not host the sim network now"))
		return
	}
	host.ServeNode(w, r, cluster.From(r))
}

// dropNode closes the sessions a node found dead has open on the network
// hosted here, before its channels open on other nodes (a frozen node's
// connection stays up until it is resumed or the network moves).
func (h *simHost) dropNode(id string) {
	host := h.host.Load()
	if host == nil {
		return
	}
	if n := host.DropNode(id); n > 0 {
		h.s.log.Warn("sim network: closed the sessions of a node found dead", "node_id", id, "sessions", n)
	}
}

// simRequest reports whether a request acts on the sim network itself
// (its phones, faults and stats, the dashboard's sim panel): those go to
// the node hosting it.
func simRequest(path string) bool {
	if strings.HasPrefix(path, "/admin/sim/") || path == "/admin/sim" {
		return true
	}
	return false
}

// remotePhones is the phone side of a network hosted elsewhere, for the
// dashboard's sim panel.
type remotePhones struct{ e *simremote.Engine }

func (p remotePhones) AddPhone(number, name string) (sim.Phone, error) {
	var out sim.Phone
	err := p.e.NetworkCall(context.Background(), "AddPhone", []any{number, name}, &out)
	return out, err
}

func (p remotePhones) LinkQR(number, qr string) (string, error) {
	var out string
	err := p.e.NetworkCall(context.Background(), "LinkQR", []any{number, qr}, &out)
	return out, err
}

func (p remotePhones) SendFromPhone(number, to, body string) (sim.PhoneMessage, error) {
	var out sim.PhoneMessage
	err := p.e.NetworkCall(context.Background(), "SendFromPhone", []any{number, to, body}, &out)
	return out, err
}
