package cluster

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/wagate/wagate/internal/store"
)

// loop renews the heartbeat every Heartbeat (or at once when kicked),
// follows the shard table, and leads when it holds the lease.
func (n *Node) loop(ctx context.Context) {
	t := time.NewTicker(n.o.Heartbeat)
	defer t.Stop()
	lastReconcile := time.Now()
	for {
		n.tick(ctx)
		if time.Since(lastReconcile) >= reconcileEvery || n.notify.missed.Swap(false) {
			lastReconcile = time.Now()
			if owned := n.Owned(); len(owned) > 0 {
				rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				n.o.Handler.Reconcile(rctx, owned)
				cancel()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.wake:
		}
	}
}

// tick is one pass: heartbeat, view, ownership, leadership.
func (n *Node) tick(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, n.o.TTL)
	defer cancel()
	if err := n.heartbeat(ctx); err != nil {
		n.failed(ctx, err)
		return
	}
	if err := n.refresh(ctx); err != nil {
		n.failed(ctx, err)
		return
	}
	n.follow(ctx)
	if err := n.lead(ctx); err != nil && ctx.Err() == nil {
		n.setErr(err)
		return
	}
	n.setErr(nil)
}

// failed records a pass's error, unless the node is stopping (its
// context was cancelled: the pass was cut short, nothing failed).
func (n *Node) failed(ctx context.Context, err error) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	n.setErr(err)
}

func (n *Node) setErr(err error) {
	n.mu.Lock()
	prev := n.lastErr
	n.lastErr = err
	n.mu.Unlock()
	if err != nil && (prev == nil || prev.Error() != err.Error()) {
		n.o.Log.Error("cluster: node pass failed; the node keeps its ownership until its heartbeat would expire", "node_id", n.o.NodeID, "error", err)
	} else if err == nil && prev != nil {
		n.o.Log.Info("cluster: node pass works again", "node_id", n.o.NodeID)
	}
}

// heartbeat renews the node's row. Ownership is trusted until the start of
// the renewal + TTL - Grace: the database expires the row TTL after it
// wrote it, which is later.
func (n *Node) heartbeat(ctx context.Context) error {
	start := time.Now()
	n.mu.RLock()
	owned := len(n.owned)
	late := !start.Before(n.validUntil)
	n.mu.RUnlock()
	// The heartbeat reports how many channels the node runs (the cluster
	// page shows it); a handler that cannot count reports the shards.
	running := owned
	if c, ok := n.o.Handler.(interface{ RunningChannels() int }); ok {
		running = c.RunningChannels()
	}
	if late && owned > 0 {
		// Paused or cut off past our trust: the shards may be another
		// node's by now. Close everything before renewing (what is still
		// ours is acquired again from the table).
		n.releaseAll(ctx, "the node's heartbeat was late")
	}
	_, err := n.o.Store.RenewNode(ctx, n.o.NodeID, n.inc, n.o.TTL, running)
	if errors.Is(err, store.ErrNodeGone) {
		// Our row expired and was forgotten or taken: whatever we own is
		// no longer ours. Close it all, then register again (which fails
		// while another live node has our ID).
		n.releaseAll(ctx, "the node's registration was lost")
		reg, rerr := n.o.Store.RegisterNode(ctx, store.Node{ID: n.o.NodeID, URL: n.o.URL, Incarnation: n.inc, Version: n.o.Version}, n.o.TTL)
		if rerr != nil {
			return rerr
		}
		n.o.Log.Warn("cluster: node registered again after losing its registration", "node_id", n.o.NodeID, "started_at", reg.StartedAt)
	} else if err != nil {
		return err
	}
	n.mu.Lock()
	n.validUntil = start.Add(n.o.TTL - n.o.Grace)
	n.mu.Unlock()
	return nil
}

// refresh reads the shard table and the members.
func (n *Node) refresh(ctx context.Context) error {
	shards, err := n.o.Store.Shards(ctx)
	if err != nil {
		return err
	}
	nodes, now, err := n.o.Store.Nodes(ctx)
	if err != nil {
		return err
	}
	l, err := n.o.Store.Leader(ctx)
	if err != nil {
		return err
	}
	byID := make(map[string]store.Node, len(nodes))
	for _, nd := range nodes {
		byID[nd.ID] = nd
	}
	leader := ""
	if l.ExpiresAt.After(now) {
		leader = l.Node
	}
	n.mu.Lock()
	n.shards, n.nodes, n.leaderID = shards, byID, leader
	n.viewDB, n.viewLocal = now, time.Now()
	n.mu.Unlock()
	return nil
}

// follow makes what this node runs match the shard table: it releases the
// shards it lost, hands over those asked of it, and acquires new ones.
func (n *Node) follow(ctx context.Context) {
	n.mu.RLock()
	shards := slices.Clone(n.shards)
	valid := time.Now().Before(n.validUntil)
	n.mu.RUnlock()
	if !valid {
		return // the watchdog closes everything
	}
	var got, lost []int
	defer func() {
		if len(got) > 0 || len(lost) > 0 {
			n.mu.RLock()
			owned := len(n.owned)
			n.mu.RUnlock()
			n.o.Log.Info("cluster: this node's shards changed", "node_id", n.o.NodeID, "acquired", got, "released", lost, "owned", owned)
		}
	}()
	for _, sh := range shards {
		n.mu.RLock()
		epoch, running := n.owned[sh.ID]
		n.mu.RUnlock()
		mine := sh.Owner == n.o.NodeID
		switch {
		case running && (!mine || sh.Epoch != epoch):
			// Taken from us (we were thought dead) or moved and back.
			n.release(ctx, "the shard moved to "+sh.Owner, sh.ID)
			lost = append(lost, sh.ID)
			if mine {
				n.acquire(ctx, sh)
				got = append(got, sh.ID)
			}
		case mine && sh.Target != "":
			if running {
				n.release(ctx, "handing over to "+sh.Target, sh.ID)
				lost = append(lost, sh.ID)
			}
			if _, err := n.o.Store.HandOff(ctx, sh.ID, n.o.NodeID, sh.Epoch, sh.Target); err != nil {
				if !errors.Is(err, store.ErrShardChanged) {
					n.o.Log.Error("cluster: shard handoff failed", "shard", sh.ID, "to", sh.Target, "error", err)
				}
				continue
			}
			n.o.Log.Info("cluster: shard handed over", "shard", sh.ID, "to", sh.Target, "epoch", sh.Epoch+1)
			n.notify.publishShards(ctx)
			n.kick() // the leader may be this node: its next moves now
		case mine && !running:
			n.acquire(ctx, sh)
			got = append(got, sh.ID)
		}
	}
}

func (n *Node) acquire(ctx context.Context, sh store.Shard) {
	n.mu.Lock()
	n.owned[sh.ID] = sh.Epoch
	n.mu.Unlock()
	n.o.Log.Debug("cluster: shard acquired", "shard", sh.ID, "epoch", sh.Epoch)
	n.o.Handler.Acquire(ctx, store.Fence{Shard: sh.ID, Node: n.o.NodeID, Epoch: sh.Epoch})
}

// release stops running shards: they are no longer Holds-true from the
// start, and their sessions are closed (all at once) before release
// returns.
func (n *Node) release(ctx context.Context, why string, shards ...int) {
	n.mu.Lock()
	var gone []int
	for _, shard := range shards {
		if _, ok := n.owned[shard]; ok {
			delete(n.owned, shard)
			gone = append(gone, shard)
		}
	}
	n.mu.Unlock()
	if len(gone) == 0 {
		return
	}
	n.o.Log.Debug("cluster: shards released", "shards", gone, "reason", why)
	n.o.Handler.Release(ctx, gone)
}

// releaseAll stops every shard this node runs.
func (n *Node) releaseAll(ctx context.Context, why string) {
	n.mu.RLock()
	ids := make([]int, 0, len(n.owned))
	for id := range n.owned {
		ids = append(ids, id)
	}
	n.mu.RUnlock()
	slices.Sort(ids)
	n.release(ctx, why, ids...)
}

// watchdog closes every session once the node can no longer trust its
// ownership (its heartbeat could not be renewed in time, or the process was
// paused): before the leader can give the shards to another node.
func (n *Node) watchdog(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.mu.RLock()
		expired := !time.Now().Before(n.validUntil)
		owns := len(n.owned) > 0
		late := time.Since(n.validUntil)
		n.mu.RUnlock()
		if expired && owns {
			n.mu.Lock()
			n.fenced++
			n.mu.Unlock()
			n.o.Log.Error("cluster: heartbeat not renewed in time; closing every session of this node before its shards can move",
				"node_id", n.o.NodeID, "late_by", late)
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			n.releaseAll(rctx, "fenced: heartbeat not renewed in time")
			cancel()
			n.kick()
		}
	}
}
