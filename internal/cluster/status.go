package cluster

import (
	"context"
	"time"

	"github.com/wagate/wagate/internal/store"
)

// Status is the cluster as the operator sees it, read from the database
// (the same on every node), plus the answering node's own counters.
type Status struct {
	// Self is the node that answered.
	Self       string
	Leader     string
	LeaderTerm int64
	Shards     []store.Shard
	Nodes      []NodeStatus
	Moves      []store.ShardMove
	// Forwards and ForwardErrors count the requests this node sent to
	// other nodes, and those that failed; Fenced the times it closed its
	// sessions because its heartbeat was late.
	Forwards, ForwardErrors int64
	Fenced                  int
	// LastError is this node's last failed pass ("" when fine).
	LastError string
}

// NodeStatus is one member.
type NodeStatus struct {
	store.Node
	Alive bool
	// Shards is how many shards it owns.
	Shards int
	Leader bool
}

// Status reads the cluster's state.
func (n *Node) Status(ctx context.Context) (Status, error) {
	st := n.o.Store
	nodes, now, err := st.Nodes(ctx)
	if err != nil {
		return Status{}, err
	}
	shards, err := st.Shards(ctx)
	if err != nil {
		return Status{}, err
	}
	moves, err := st.ShardMoves(ctx, 50)
	if err != nil {
		return Status{}, err
	}
	l, err := st.Leader(ctx)
	if err != nil {
		return Status{}, err
	}
	out := Status{Self: n.o.NodeID, Shards: shards, Moves: moves, Forwards: n.forwards.Load(), ForwardErrors: n.forwardErrors.Load()}
	if l.ExpiresAt.After(now) {
		out.Leader, out.LeaderTerm = l.Node, l.Term
	}
	count := map[string]int{}
	for _, sh := range shards {
		count[sh.Owner]++
	}
	for _, nd := range nodes {
		out.Nodes = append(out.Nodes, NodeStatus{Node: nd, Alive: nd.ExpiresAt.After(now), Shards: count[nd.ID],
			Leader: nd.ID == out.Leader && nd.Incarnation == l.Incarnation})
	}
	n.mu.RLock()
	out.Fenced = n.fenced
	if n.lastErr != nil {
		out.LastError = n.lastErr.Error()
	}
	n.mu.RUnlock()
	return out, nil
}

// TTL is how long a node's heartbeat lasts.
func (n *Node) TTL() time.Duration { return n.o.TTL }
