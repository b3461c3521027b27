// Package cluster runs several wagate nodes on one PostgreSQL database, each
// channel on exactly one node, with failover. PostgreSQL is the only
// coordinator:
//
//   - membership: each node registers (ID, internal URL, a random
//     incarnation) and renews a heartbeat every Heartbeat; a node whose
//     heartbeat is older than TTL is dead;
//   - ownership: channels map to a fixed number of shards (hash of the
//     channel ID); each shard has one owner node and an epoch that grows on
//     every move. One node at a time, the leader (a lease row), assigns
//     shards to live nodes, takes a dead node's, and balances them a few at
//     a time; a move is a handoff: the owner closes the shard's sessions,
//     then gives the shard to its target (epoch + 1);
//   - fencing: a node trusts its ownership only until its last heartbeat
//     plus TTL minus Grace (its local clock, started before the heartbeat
//     was written): past that it closes every session before the leader can
//     give its shards away (after TTL on the database's clock). Writes that
//     belong to an owner (a channel's link and health) carry the shard's
//     epoch and are refused when it moved (store.ErrFenced);
//   - announcements: every change the store reports (a channel's row, a
//     partner's or the operator's settings) is sent to the other nodes with
//     PostgreSQL NOTIFY; the owner applies it to its session at once, every
//     node drops its cached copies. A periodic reconcile repairs anything
//     missed.
//
// Requests reach any node: Forward sends those of a channel to its owner.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wagate/wagate/internal/store"
)

// Defaults.
const (
	DefaultShards    = 64
	DefaultHeartbeat = time.Second
	DefaultTTL       = 6 * time.Second
	DefaultMoveLimit = 4
	// reconcileEvery is how often the owner compares its sessions with the
	// database, repairing announcements it missed.
	reconcileEvery = 30 * time.Second
	// forgetAfter is how long a dead node's row stays for the operator.
	forgetAfter = time.Hour
	// keepMoves is how many shard moves are kept for the operator.
	keepMoves = 500
)

// ErrNodeIDInUse: another live node has this node's ID.
var ErrNodeIDInUse = errors.New("cluster: node ID in use")

// Handler is what the node asks of the service.
type Handler interface {
	// Acquire starts the channels of a shard this node now owns (it
	// returns without waiting for them to connect).
	Acquire(ctx context.Context, f store.Fence)
	// Release closes the sessions of the shards' channels (logins kept),
	// all at once, and returns once they are closed, or when ctx ends.
	Release(ctx context.Context, shards []int)
	// Changed is a change another node announced: drop copies, and apply
	// it when the channel is this node's. It must return quickly (it runs
	// on the announcement listener).
	Changed(c store.Change)
	// Reconcile makes the sessions of the owned shards match the database.
	Reconcile(ctx context.Context, owned []store.Fence)
}

// Options configure a Node.
type Options struct {
	Store *store.Store
	// DSN is the PostgreSQL URL, for the LISTEN connection.
	DSN string
	// NodeID names the node; URL is where the other nodes reach it.
	NodeID, URL, Version string
	Shards               int
	Heartbeat, TTL       time.Duration
	// Grace is how long before its heartbeat expires a node stops trusting
	// its ownership (0: TTL/3).
	Grace time.Duration
	// MoveLimit bounds the shards moving at once (0: DefaultMoveLimit).
	MoveLimit int
	Log       *slog.Logger
	// Now is the application's clock (webhook deliveries released from a
	// dead node are due at Now).
	Now     func() time.Time
	Handler Handler
	// BeforeLeave runs in Shutdown once the node's shards are handed over
	// and before it gives up the leader lease (the sim network's host saves
	// it there).
	BeforeLeave func(ctx context.Context)
	// NodeDead runs on the leader once for each node (incarnation) whose
	// heartbeat expired, before its shards are given to other nodes: what
	// the leader serves to that node (the sim network's connections) ends
	// there, so that a frozen node's sessions are closed before another
	// node opens the same channels.
	NodeDead func(ctx context.Context, nodeID string)
}

// Node is this process's membership in the cluster.
type Node struct {
	o   Options
	inc string
	// secret signs forwarded requests (shared through the database).
	secret []byte

	mu sync.RWMutex
	// shards is the last view of the shard table; nodes the last view of
	// the members, by ID.
	shards []store.Shard
	nodes  map[string]store.Node
	// owned are the shards this node runs, with the epoch they run at.
	owned map[int]int64
	// validUntil is when this node stops trusting its ownership (local
	// monotonic clock): the start of its last successful heartbeat + TTL -
	// Grace.
	validUntil time.Time
	leader     bool
	leaderTerm int64
	// leaderID is the lease holder at the last refresh ("" when none).
	leaderID string
	// viewDB and viewLocal are the database's and this node's clocks at
	// the last refresh: how old the members' heartbeats are.
	viewDB, viewLocal time.Time
	lastErr           error

	// channel is the NOTIFY channel of this database and schema.
	channel string
	wake    chan struct{}
	stop    context.CancelFunc
	done    sync.WaitGroup
	notify  *notifier
	handled map[string]bool // dead incarnations whose claims were released (leader)
	// fenced counts the times the node lost its ownership by fencing.
	fenced int

	proxyOnce     sync.Once
	rproxy        *httputil.ReverseProxy
	forwards      atomic.Int64
	forwardErrors atomic.Int64
}

// New prepares a node; Start registers it.
func New(o Options) (*Node, error) {
	if o.Store == nil || o.Handler == nil {
		return nil, errors.New("cluster: store and handler are required")
	}
	if o.NodeID == "" || o.URL == "" {
		return nil, errors.New("cluster: node ID and internal URL are required")
	}
	if o.Shards <= 0 {
		o.Shards = DefaultShards
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.TTL < 3*o.Heartbeat {
		return nil, fmt.Errorf("cluster: the heartbeat TTL (%v) must be at least three heartbeats (%v)", o.TTL, 3*o.Heartbeat)
	}
	if o.Grace <= 0 {
		o.Grace = o.TTL / 3
	}
	if o.MoveLimit <= 0 {
		o.MoveLimit = DefaultMoveLimit
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Node{o: o, inc: hex.EncodeToString(b), owned: map[int]int64{}, nodes: map[string]store.Node{},
		wake: make(chan struct{}, 1), handled: map[string]bool{}}, nil
}

// ID is the node's ID.
func (n *Node) ID() string { return n.o.NodeID }

// URL is where the other nodes reach this one.
func (n *Node) URL() string { return n.o.URL }

// Incarnation is this run's random ID (a restart gets a new one).
func (n *Node) Incarnation() string { return n.inc }

// Leading reports whether this node holds the leader lease and still
// trusts its heartbeat.
func (n *Node) Leading() bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.leader && time.Now().Before(n.validUntil)
}

// LeaderURL is the internal URL of the leader at the last refresh ("" when
// no live node leads).
func (n *Node) LeaderURL() string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if nd, ok := n.nodes[n.leaderID]; ok {
		return nd.URL
	}
	return ""
}

// ShardOf is the shard of a channel.
func (n *Node) ShardOf(channelID string) int { return ShardOf(channelID, n.o.Shards) }

// ShardOf maps a channel ID to one of shards shards (FNV-1a).
func ShardOf(channelID string, shards int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(channelID))
	return int(h.Sum32() % uint32(shards))
}

// Start registers the node (ErrNodeIDInUse when a live node has its ID),
// creates the shards, listens for announcements and starts the heartbeat.
// The node owns nothing until the leader gives it shards.
func (n *Node) Start(ctx context.Context) error {
	secret, err := sharedSecret(ctx, n.o.Store)
	if err != nil {
		return err
	}
	n.secret = secret
	if err := n.o.Store.EnsureShards(ctx, n.o.Shards); err != nil {
		return err
	}
	shards, err := n.o.Store.Shards(ctx)
	if err != nil {
		return err
	}
	if len(shards) != n.o.Shards {
		return fmt.Errorf("cluster: the database has %d shards and this node is configured for %d; every node must use the same count", len(shards), n.o.Shards)
	}
	if n.channel, err = notifyChannel(ctx, n.o.Store); err != nil {
		return err
	}
	start := time.Now()
	reg, err := n.register(ctx)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.validUntil = start.Add(n.o.TTL - n.o.Grace)
	n.mu.Unlock()
	n.o.Log.Info("cluster node registered", "node_id", n.o.NodeID, "url", n.o.URL, "incarnation", n.inc, "shards", n.o.Shards,
		"heartbeat", n.o.Heartbeat, "ttl", n.o.TTL, "started_at", reg.StartedAt)

	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	n.stop = stop
	n.notify = newNotifier(n)
	if err := n.notify.start(lctx); err != nil {
		stop()
		return err
	}
	// The first passes run now: a node alone (or the first of a cluster)
	// assigns itself every shard and starts their channels before Start
	// returns; a node joining a running cluster gets shards from the
	// leader afterwards.
	n.tick(lctx)
	n.tick(lctx)
	n.done.Add(2)
	go func() {
		defer n.done.Done()
		n.loop(lctx)
	}()
	go func() {
		defer n.done.Done()
		n.watchdog(lctx)
	}()
	n.kick()
	return nil
}

// register adds this node. A live row with its ID is another process: if
// it answers at its URL it runs, and this node refuses to start; if it does
// not (it crashed and this is its restart), the row is taken over once its
// heartbeat expired, so that the crashed run can no longer trust its
// ownership.
func (n *Node) register(ctx context.Context) (store.Node, error) {
	me := store.Node{ID: n.o.NodeID, URL: n.o.URL, Incarnation: n.inc, Version: n.o.Version}
	deadline := time.Now().Add(n.o.TTL + 2*time.Second)
	for {
		reg, err := n.o.Store.RegisterNode(ctx, me, n.o.TTL)
		if !errors.Is(err, store.ErrNodeIDInUse) {
			return reg, err
		}
		nodes, _, nerr := n.o.Store.Nodes(ctx)
		if nerr != nil {
			return store.Node{}, nerr
		}
		var other store.Node
		for _, nd := range nodes {
			if nd.ID == n.o.NodeID {
				other = nd
			}
		}
		if other.URL != "" && probe(ctx, other.URL) == other.Incarnation {
			return store.Node{}, fmt.Errorf("%w: node %q already runs at %s (started %s); give each node its own WAGATE_NODE_ID",
				ErrNodeIDInUse, n.o.NodeID, other.URL, other.StartedAt.Format(time.RFC3339))
		}
		if time.Now().After(deadline) {
			return store.Node{}, fmt.Errorf("%w: node %q is registered with a live heartbeat by a process that does not answer at %s",
				ErrNodeIDInUse, n.o.NodeID, other.URL)
		}
		n.o.Log.Warn("cluster: the previous run of this node ID does not answer; waiting for its heartbeat to expire",
			"node_id", n.o.NodeID, "expires_at", other.ExpiresAt)
		select {
		case <-ctx.Done():
			return store.Node{}, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// kick makes the loop run now (a shard changed).
func (n *Node) kick() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Shutdown leaves the cluster cleanly: the node asks for its shards to be
// moved and hands each over once its sessions are closed, waiting up to
// ctx; what is left is closed and the node's row removed, so the leader
// reassigns at once.
func (n *Node) Shutdown(ctx context.Context) error {
	if n.stop == nil {
		return nil
	}
	st := n.o.Store
	if err := st.SetNodeLeaving(ctx, n.o.NodeID, n.inc); err != nil {
		n.o.Log.Warn("cluster: could not mark the node as leaving", "error", err)
	}
	n.notify.publishShards(ctx)
	n.kick()
	for ctx.Err() == nil && n.othersAlive(ctx) {
		n.mu.RLock()
		left := len(n.owned)
		n.mu.RUnlock()
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	n.stop()
	n.done.Wait()
	n.notify.close()
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	n.releaseAll(bg, "shutting down")
	if n.o.BeforeLeave != nil {
		n.o.BeforeLeave(bg)
	}
	if n.isLeader() {
		_ = st.ReleaseLeader(bg, n.inc)
	}
	err := st.RemoveNode(bg, n.o.NodeID, n.inc)
	n.notify.publishShardsWith(bg, st)
	n.o.Log.Info("cluster node left", "node_id", n.o.NodeID)
	return err
}

// othersAlive reports whether another node could take this one's shards.
func (n *Node) othersAlive(ctx context.Context) bool {
	nodes, now, err := n.o.Store.Nodes(ctx)
	if err != nil {
		return false
	}
	for _, nd := range nodes {
		if nd.ID != n.o.NodeID && !nd.Leaving && nd.ExpiresAt.After(now) {
			return true
		}
	}
	return false
}

func (n *Node) isLeader() bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.leader
}

// Holds reports whether this node runs channelID's shard now, with the
// fence its owner writes carry. It is false once the node stopped trusting
// its ownership, even before the watchdog closed the sessions.
func (n *Node) Holds(channelID string) (store.Fence, bool) {
	shard := n.ShardOf(channelID)
	n.mu.RLock()
	defer n.mu.RUnlock()
	epoch, ok := n.owned[shard]
	if !ok || !time.Now().Before(n.validUntil) {
		return store.Fence{}, false
	}
	return store.Fence{Shard: shard, Node: n.o.NodeID, Epoch: epoch}, true
}

// Route is where a channel's requests go.
type Route struct {
	Shard int
	// Local: this node runs the channel.
	Local bool
	// Node and URL are the owner's when another node runs it.
	Node, URL string
	// Moving: the shard is being handed over; Unavailable: no live node
	// runs it right now (unassigned, or its owner died and the leader has
	// not moved it yet).
	Moving, Unavailable bool
}

// RouteOf says where channelID's requests go, from the node's last view.
func (n *Node) RouteOf(channelID string) Route {
	shard := n.ShardOf(channelID)
	n.mu.RLock()
	defer n.mu.RUnlock()
	r := Route{Shard: shard}
	if _, ok := n.owned[shard]; ok && time.Now().Before(n.validUntil) {
		r.Local = true
		return r
	}
	if shard >= len(n.shards) {
		r.Unavailable = true
		return r
	}
	sh := n.shards[shard]
	r.Moving = sh.Target != ""
	owner, ok := n.nodes[sh.Owner]
	if sh.Owner == "" || sh.Owner == n.o.NodeID || !ok || owner.URL == "" {
		// Ours on the table but not running here (being acquired or
		// fenced), or no owner.
		r.Unavailable = true
		return r
	}
	// An owner whose heartbeat stopped (paused, cut off) would hold the
	// request until the client gives up: it is unavailable well before
	// the leader moves its shards.
	if age := n.viewDB.Sub(owner.HeartbeatAt) + time.Since(n.viewLocal); age > 3*n.o.Heartbeat+500*time.Millisecond {
		r.Unavailable = true
		return r
	}
	r.Node, r.URL = owner.ID, owner.URL
	return r
}

// Owned lists the fences of the shards this node runs.
func (n *Node) Owned() []store.Fence {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]store.Fence, 0, len(n.owned))
	for id, epoch := range n.owned {
		out = append(out, store.Fence{Shard: id, Node: n.o.NodeID, Epoch: epoch})
	}
	return out
}

// sharedSecret reads the cluster's signing secret, creating it once.
func sharedSecret(ctx context.Context, st *store.Store) ([]byte, error) {
	const key = "cluster_secret"
	v, _, ok, err := st.GetKV(ctx, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		if err := st.InsertKV(ctx, key, hex.EncodeToString(b), time.Now()); err != nil {
			return nil, err
		}
		if v, _, ok, err = st.GetKV(ctx, key); err != nil || !ok {
			return nil, fmt.Errorf("cluster: shared secret not readable: %v", err)
		}
	}
	return hex.DecodeString(v)
}
