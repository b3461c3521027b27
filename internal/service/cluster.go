package service

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/wagate/wagate/internal/cluster"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/store"
)

// Cluster is what the service needs of cluster mode (internal/cluster):
// whether this node runs a channel now, and the shard of a channel.
type Cluster interface {
	Holds(channelID string) (store.Fence, bool)
	ShardOf(channelID string) int
	RouteOf(channelID string) cluster.Route
	Status(ctx context.Context) (cluster.Status, error)
}

// ClusterStatus is the cluster as the operator sees it; ok is false on a
// single node (SQLite).
func (s *Service) ClusterStatus(ctx context.Context) (cluster.Status, bool, error) {
	c := s.clusterOf()
	if c == nil {
		return cluster.Status{}, false, nil
	}
	st, err := c.Status(ctx)
	return st, true, err
}

// SetCluster puts the service in cluster mode: only channels of shards this
// node holds run here, and their owner writes are fenced. The cluster's
// node calls it before it starts.
func (s *Service) SetCluster(c Cluster) { s.cluster.Store(&c) }

// SetClusterStarter gives the function that joins the cluster (cluster
// mode): StartRuntime calls it instead of starting every channel.
func (s *Service) SetClusterStarter(start func(context.Context) error) { s.clusterStart = start }

// clusterOf is the cluster in cluster mode, nil otherwise.
func (s *Service) clusterOf() Cluster {
	if c := s.cluster.Load(); c != nil {
		return *c
	}
	return nil
}

// RunsHere reports whether this node runs channelID: always on a single
// node, only for the shards it holds in cluster mode.
func (s *Service) RunsHere(channelID string) bool { return s.runsHere(channelID) }

func (s *Service) runsHere(channelID string) bool {
	c := s.clusterOf()
	if c == nil {
		return true
	}
	_, ok := c.Holds(channelID)
	return ok
}

// RunApplier applies the channel changes other nodes announce, until ctx
// ends (cluster mode).
func (s *Service) RunApplier(ctx context.Context) { s.applyLoop(ctx) }

// FenceContext adds the channel's ownership fence to ctx in cluster mode,
// so that the owner's writes (link, health) are refused once its shard
// moved; ok is false when this node does not hold the channel.
func (s *Service) FenceContext(ctx context.Context, channelID string) (context.Context, bool) {
	c := s.clusterOf()
	if c == nil {
		return ctx, true
	}
	f, ok := c.Holds(channelID)
	if !ok {
		return ctx, false
	}
	return store.WithFence(ctx, f), true
}

// runnableCache keeps the runnable channels for a moment: a node that
// acquires many shards at once reads them once.
type runnableCache struct {
	mu  sync.Mutex
	at  time.Time
	chs []model.Channel
}

func (s *Service) runnableChannels(ctx context.Context) ([]model.Channel, error) {
	c := &s.runnable
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) < time.Second {
		return c.chs, nil
	}
	chs, err := s.store.RunnableChannels(ctx, s.now())
	if err != nil {
		return nil, err
	}
	c.chs, c.at = chs, time.Now()
	return chs, nil
}

// Acquire starts the channels of a shard this node now owns.
func (s *Service) Acquire(ctx context.Context, f store.Fence) {
	if s.rt == nil {
		return
	}
	chs, err := s.runnableChannels(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "cluster: channels of an acquired shard not started; the next reconcile starts them", "shard", f.Shard, "error", err)
		return
	}
	n := 0
	for _, ch := range chs {
		if s.clusterOf().ShardOf(ch.ID) == f.Shard {
			s.rt.Apply(ctx, ch)
			n++
		}
	}
	s.log.DebugContext(ctx, "cluster: shard's channels started", "shard", f.Shard, "epoch", f.Epoch, "channels", n)
}

// Release closes the sessions of the shards' channels, all at once
// (logins kept).
func (s *Service) Release(ctx context.Context, shards []int) {
	if s.rt == nil {
		return
	}
	set := map[int]bool{}
	for _, sh := range shards {
		set[sh] = true
	}
	var ids []string
	for _, id := range s.rt.Running() {
		if set[s.clusterOf().ShardOf(id)] {
			ids = append(ids, id)
		}
	}
	if err := s.rt.Release(ctx, ids); err != nil {
		s.log.ErrorContext(ctx, "cluster: sessions of released shards did not close in time", "shards", shards, "error", err)
	}
}

// Changed applies another node's announced change: the copies it touched
// are dropped, and a channel this node runs is brought in line with its
// row (stopped, expired, deleted, a new proxy...).
func (s *Service) Changed(c store.Change) {
	s.cache.invalidate(c)
	if c.ChannelID == "" || s.rt == nil || !s.runsHere(c.ChannelID) {
		return
	}
	s.applyQueue.add(c.ChannelID)
}

// applyLoop applies queued channel changes, one channel at a time, off
// the announcement listener.
func (s *Service) applyLoop(ctx context.Context) {
	for {
		id, ok := s.applyQueue.next(ctx)
		if !ok {
			return
		}
		s.applyChannel(ctx, id)
	}
}

// applyChannel reads a channel's row and brings its session in line.
func (s *Service) applyChannel(ctx context.Context, id string) {
	if !s.runsHere(id) {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ch, err := s.store.ChannelByID(rctx, id)
	switch {
	case errors.Is(err, model.ErrNotFound):
		s.rt.Remove(rctx, id) // deleted: logged out of WhatsApp
	case err != nil:
		s.log.WarnContext(ctx, "cluster: announced change not applied; the next reconcile does", "channel_id", id, "error", err)
	default:
		s.rt.Apply(rctx, ch)
	}
}

// Reconcile makes the sessions of the owned shards match the database:
// channels that should run start, the others stop, and sessions of shards
// this node does not own close.
func (s *Service) Reconcile(ctx context.Context, owned []store.Fence) {
	if s.rt == nil {
		return
	}
	shards := map[int]bool{}
	for _, f := range owned {
		shards[f.Shard] = true
	}
	s.runnable.mu.Lock()
	s.runnable.at = time.Time{}
	s.runnable.mu.Unlock()
	chs, err := s.runnableChannels(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "cluster: reconcile failed", "error", err)
		return
	}
	want := map[string]bool{}
	for _, ch := range chs {
		if shards[s.clusterOf().ShardOf(ch.ID)] {
			want[ch.ID] = true
			s.rt.Apply(ctx, ch)
		}
	}
	var foreign []string
	for _, id := range s.rt.Running() {
		switch {
		case !shards[s.clusterOf().ShardOf(id)]:
			foreign = append(foreign, id)
		case !want[id]:
			s.applyQueue.add(id) // stopped, expired or deleted
		}
	}
	if len(foreign) > 0 {
		slices.Sort(foreign)
		s.log.WarnContext(ctx, "cluster: closing sessions of shards this node does not own", "channels", len(foreign))
		if err := s.rt.Release(ctx, foreign); err != nil {
			s.log.ErrorContext(ctx, "cluster: sessions did not close in time", "error", err)
		}
	}
}

// recordHealth writes a channel's state for the other nodes (cluster mode);
// a refused write means the shard moved: the channel stops here.
func (s *Service) recordHealth(e runtime.Event) {
	c := s.clusterOf()
	if c == nil || e.Kind != runtime.EventStatus {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, ok := c.Holds(e.ChannelID)
	if !ok {
		return
	}
	h := e.Health
	err := s.store.SaveChannelHealth(ctx, f, store.ChannelHealth{ChannelID: e.ChannelID, Status: h.Status.String(), State: string(h.State),
		Error: h.Error, Code: h.Code, StartedAt: h.StartedAt, UpdatedAt: e.Time})
	if errors.Is(err, store.ErrFenced) {
		s.log.Warn("cluster: this node no longer owns the channel's shard; closing its session", "channel_id", e.ChannelID)
		go func() {
			rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = s.rt.Release(rctx, []string{e.ChannelID})
		}()
		return
	}
	if err != nil {
		s.log.Warn("cluster: channel state not recorded", "channel_id", e.ChannelID, "error", err)
	}
}

// remoteHealth is a channel's state as its owner recorded it, for a node
// that does not run it.
func (s *Service) remoteHealth(ctx context.Context, ch model.Channel) runtime.Health {
	h := runtime.Health{ChannelID: ch.ID, Phone: ch.WAPhone, Name: ch.WAName}
	if !ch.Running(s.now()) {
		h.Status, h.State = runtime.StatusStop, runtime.StateStopped
		return h
	}
	rows, err := s.store.ChannelHealths(ctx, []string{ch.ID})
	r, ok := rows[ch.ID]
	if c := s.clusterOf(); c != nil && c.RouteOf(ch.ID).Unavailable {
		ok = false // its node died or stopped answering: what it wrote is stale
	}
	if err != nil || !ok {
		h.Status, h.State, h.Error = runtime.StatusLaunch, runtime.StateMoving, "the channel is starting on another node"
		return h
	}
	h.State, h.Error, h.Code, h.StartedAt = runtime.State(r.State), r.Error, r.Code, r.StartedAt
	h.Status = h.State.Status()
	return h
}

// idQueue is a set of channel IDs waiting to be applied, in arrival order.
type idQueue struct {
	mu    sync.Mutex
	order []string
	set   map[string]bool
	wake  chan struct{}
}

func newIDQueue() *idQueue { return &idQueue{set: map[string]bool{}, wake: make(chan struct{}, 1)} }

func (q *idQueue) add(id string) {
	q.mu.Lock()
	if !q.set[id] {
		q.set[id] = true
		q.order = append(q.order, id)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *idQueue) next(ctx context.Context) (string, bool) {
	for {
		q.mu.Lock()
		if len(q.order) > 0 {
			id := q.order[0]
			q.order = q.order[1:]
			delete(q.set, id)
			q.mu.Unlock()
			return id, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", false
		case <-q.wake:
		}
	}
}

// orphanGrace is how long an engine device no channel owns is left alone
// in cluster mode: a node may be linking it (the device exists a moment
// before the channel's row names it).
const orphanGrace = 10 * time.Minute

// orphanSweep remembers when each unowned device was first seen.
type orphanSweep struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// SweepOrphans removes the engine's devices that no channel has owned for
// orphanGrace (cluster mode, on the leader, every few minutes; a single
// node removes them at start).
func (s *Service) SweepOrphans(ctx context.Context) {
	if s.rt == nil {
		return
	}
	r, ok := s.rt.Engine().(engine.Reconciler)
	if !ok {
		return
	}
	all, err := r.Devices(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "orphaned devices not checked", "error", err)
		return
	}
	linked, err := s.store.LinkedDevices(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "orphaned devices not checked", "error", err)
		return
	}
	owned := map[string]bool{}
	for _, d := range linked {
		owned[d] = true
	}
	keep := slices.Clone(linked)
	now := s.now()
	s.sweep.mu.Lock()
	seen := map[string]time.Time{}
	for _, d := range all {
		if owned[d] {
			continue
		}
		first, ok := s.sweep.seen[d]
		if !ok {
			first = now
		}
		seen[d] = first
		if now.Sub(first) < orphanGrace {
			keep = append(keep, d)
		}
	}
	s.sweep.seen = seen
	s.sweep.mu.Unlock()
	removed, err := s.rt.RemoveOrphans(ctx, keep)
	if err != nil {
		s.log.WarnContext(ctx, "some orphaned devices could not be removed", "error", err)
	}
	s.orphans.Add(int64(len(removed)))
	if len(removed) > 0 {
		s.log.WarnContext(ctx, "removed engine devices that no channel has owned for 10 minutes", "count", len(removed), "devices", removed)
	}
}

// RunningChannels is how many channel sessions this process runs.
func (s *Service) RunningChannels() int {
	if s.rt == nil {
		return 0
	}
	return len(s.rt.Running())
}
