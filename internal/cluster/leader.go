package cluster

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/wagate/wagate/internal/store"
)

// lead takes or renews the leader lease and, while it holds it, assigns
// shards: unowned ones and a dead node's at once; a leaving node's and the
// surplus of the busiest nodes by handoff, at most MoveLimit moving at a
// time.
func (n *Node) lead(ctx context.Context) error {
	st := n.o.Store
	l, ok, err := st.AcquireLeader(ctx, n.o.NodeID, n.inc, n.o.TTL)
	if err != nil {
		return err
	}
	n.mu.Lock()
	was := n.leader
	n.leader, n.leaderTerm = ok, l.Term
	n.mu.Unlock()
	if !ok {
		return nil
	}
	if !was {
		n.o.Log.Info("cluster: this node leads", "node_id", n.o.NodeID, "term", l.Term)
	}
	nodes, now, err := st.Nodes(ctx)
	if err != nil {
		return err
	}
	shards, err := st.Shards(ctx)
	if err != nil {
		return err
	}
	a := newAssignment(nodes, now, shards)
	changed := false
	for _, d := range a.dead {
		key := d.ID + "/" + d.Incarnation
		if n.handled[key] {
			continue
		}
		released, err := st.ReleaseClaims(ctx, d.ID, n.o.Now())
		if err != nil {
			return err
		}
		n.handled[key] = true
		if n.o.NodeDead != nil {
			n.o.NodeDead(ctx, d.ID)
		}
		n.o.Log.Warn("cluster: node is dead (heartbeat expired)", "node_id", d.ID, "last_heartbeat", d.HeartbeatAt,
			"webhook_claims_released", released)
	}
	var assign []store.ShardAssignment
	for _, sh := range shards {
		switch {
		case !a.isLive(sh.Owner):
			to := a.least("")
			if to == "" {
				continue // no live node: nothing to do
			}
			reason := "unassigned"
			if sh.Owner != "" {
				reason = "owner " + sh.Owner + " is dead"
			}
			assign = append(assign, store.ShardAssignment{ID: sh.ID, From: sh.Owner, Epoch: sh.Epoch, To: to, Reason: reason})
			a.take(sh.Owner, to)
		case sh.Target != "" && !a.isTarget(sh.Target):
			// The target died or is leaving: cancel the move.
			if err := st.SetShardTarget(ctx, sh.ID, sh.Owner, sh.Epoch, ""); err != nil && !errors.Is(err, store.ErrShardChanged) {
				return err
			}
			a.cancel(sh.Owner, sh.Target)
			changed = true
		}
	}
	// Unowned shards and a dead node's, in one transaction.
	if len(assign) > 0 {
		done, err := st.AssignShards(ctx, assign)
		if err != nil {
			return err
		}
		if len(done) > 0 {
			changed = true
			n.o.Log.Info("cluster: shards assigned", "count", len(done), "first_reason", done[0].Reason)
		}
		if len(done) < len(assign) {
			// Some changed meanwhile: this pass's view is stale.
			n.notify.publishShards(ctx)
			n.kick()
			return nil
		}
	}
	// Moves: a leaving node's shards all at once (they must go), then
	// balance, MoveLimit at a time.
	for {
		sh, to, ok := a.nextMove(shards, a.moving < n.o.MoveLimit)
		if !ok {
			break
		}
		if err := st.SetShardTarget(ctx, sh.ID, sh.Owner, sh.Epoch, to); err != nil {
			if errors.Is(err, store.ErrShardChanged) {
				break
			}
			return err
		}
		n.o.Log.Info("cluster: moving shard", "shard", sh.ID, "from", sh.Owner, "to", to)
		a.start(sh.ID, to)
		changed = true
	}
	if changed {
		n.notify.publishShards(ctx)
		n.kick() // our own announcement is not heard here
	}
	if forgotten, err := st.ForgetNodes(ctx, forgetAfter); err == nil && len(forgotten) > 0 {
		n.o.Log.Info("cluster: forgot long-dead nodes", "nodes", forgotten)
	}
	_ = st.PruneShardMoves(ctx, keepMoves)
	return nil
}

// assignment is the leader's working view of one pass.
type assignment struct {
	live    map[string]bool // alive and not leaving: may take shards
	alive   map[string]bool // heartbeat not expired
	dead    []store.Node
	load    map[string]int // shards owned or incoming, per live node
	moving  int
	targets map[int]string // shard -> target of the moves this pass started
}

func newAssignment(nodes []store.Node, now time.Time, shards []store.Shard) *assignment {
	a := &assignment{live: map[string]bool{}, alive: map[string]bool{}, load: map[string]int{}, targets: map[int]string{}}
	for _, nd := range nodes {
		if !nd.ExpiresAt.After(now) {
			a.dead = append(a.dead, nd)
			continue
		}
		a.alive[nd.ID] = true
		if !nd.Leaving {
			a.live[nd.ID] = true
			a.load[nd.ID] = 0
		}
	}
	for _, sh := range shards {
		if sh.Target != "" {
			a.moving++
			if a.live[sh.Target] {
				a.load[sh.Target]++
			}
			continue
		}
		if a.live[sh.Owner] {
			a.load[sh.Owner]++
		}
	}
	return a
}

// isLive: the owner may keep its shard (alive; a leaving node hands its
// shards over itself).
func (a *assignment) isLive(owner string) bool { return owner != "" && a.alive[owner] }

// isTarget: a move to this node may go on.
func (a *assignment) isTarget(node string) bool { return a.live[node] }

// least is the live node with the fewest shards (ties by ID), but except.
func (a *assignment) least(except string) string {
	best, bestLoad := "", 0
	ids := make([]string, 0, len(a.load))
	for id := range a.load {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if id == except {
			continue
		}
		if best == "" || a.load[id] < bestLoad {
			best, bestLoad = id, a.load[id]
		}
	}
	return best
}

func (a *assignment) take(from, to string) {
	if a.live[from] {
		a.load[from]--
	}
	a.load[to]++
}

func (a *assignment) cancel(owner, target string) {
	a.moving--
	if a.live[owner] {
		a.load[owner]++
	}
}

func (a *assignment) start(shard int, to string) {
	a.moving++
	a.targets[shard] = to
	a.load[to]++
}

// nextMove picks the next shard to move: one of a leaving node's, else,
// when balance is set, one of the busiest node's when it has two or more
// above the least busy.
func (a *assignment) nextMove(shards []store.Shard, balance bool) (store.Shard, string, bool) {
	if len(a.live) == 0 {
		return store.Shard{}, "", false
	}
	for _, sh := range shards {
		if sh.Target != "" || a.targets[sh.ID] != "" || a.live[sh.Owner] || !a.alive[sh.Owner] {
			continue
		}
		// Owned by an alive node that is leaving.
		if to := a.least(""); to != "" {
			return sh, to, true
		}
	}
	if !balance {
		return store.Shard{}, "", false
	}
	busiest, most := "", -1
	ids := make([]string, 0, len(a.load))
	for id := range a.load {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if a.load[id] > most {
			busiest, most = id, a.load[id]
		}
	}
	to := a.least(busiest)
	if to == "" || most-a.load[to] < 2 {
		return store.Shard{}, "", false
	}
	for _, sh := range shards {
		if sh.Owner == busiest && sh.Target == "" && a.targets[sh.ID] == "" {
			a.load[busiest]--
			return sh, to, true
		}
	}
	return store.Shard{}, "", false
}
