package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Cluster membership, shard ownership and leadership (migration 0012). Every
// time compared here is the database's clock (dbNow), never a node's.

var (
	// ErrNodeIDInUse: a live node (heartbeat not expired) already has this
	// node ID.
	ErrNodeIDInUse = errors.New("store: node ID in use by a running node")
	// ErrNodeGone: the node's row is gone or belongs to another incarnation
	// (it expired and was taken over, or was removed).
	ErrNodeGone = errors.New("store: node not registered")
	// ErrFenced: a write that belongs to a shard's owner was refused: the
	// writer's epoch is no longer the shard's (it moved).
	ErrFenced = errors.New("store: shard ownership lost (stale epoch)")
	// ErrShardChanged: a shard was not changed because it is no longer as
	// the caller read it.
	ErrShardChanged = errors.New("store: shard changed meanwhile")
)

// Node is a cluster member as the database knows it.
type Node struct {
	ID          string
	URL         string
	Incarnation string
	Version     string
	StartedAt   time.Time
	HeartbeatAt time.Time
	ExpiresAt   time.Time
	Leaving     bool
	// Channels is how many channels the node ran at its last heartbeat.
	Channels int
}

// Shard is one slice of the channels and who runs it.
type Shard struct {
	ID      int
	Owner   string
	Epoch   int64
	Target  string
	MovedAt time.Time
}

// Fence is the ownership a write claims: it is applied only while shard
// Shard is owned by Node at Epoch.
type Fence struct {
	Shard int
	Node  string
	Epoch int64
}

// ShardMove is one recorded change of a shard's owner.
type ShardMove struct {
	Shard  int
	From   string
	To     string
	Epoch  int64
	Reason string
	At     time.Time
}

// Leader is the node holding the leader lease.
type Leader struct {
	Node        string
	Incarnation string
	Term        int64
	ExpiresAt   time.Time
}

// dbNow is the SQL for the database's clock in epoch milliseconds.
func (s *Store) dbNow() string {
	if s.dialect == Postgres {
		return "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT"
	}
	return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
}

// DBNow is the database's clock.
func (s *Store) DBNow(ctx context.Context) (time.Time, error) {
	var v int64
	if err := s.db.QueryRowContext(ctx, "SELECT "+s.dbNow()).Scan(&v); err != nil {
		return time.Time{}, fmt.Errorf("store: database clock: %w", err)
	}
	return fromMS(v), nil
}

// RegisterNode adds a node with a heartbeat valid for ttl, or takes over
// the row of a node with the same ID whose heartbeat expired (a restart).
// A live node with that ID is ErrNodeIDInUse.
func (s *Store) RegisterNode(ctx context.Context, n Node, ttl time.Duration) (Node, error) {
	now := s.dbNow()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var inc string
		var expires int64
		err := tx.QueryRowContext(ctx, s.q("SELECT incarnation, expires_at FROM cluster_nodes WHERE id = ?"+s.forUpdate()), n.ID).Scan(&inc, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO cluster_nodes (id, url, incarnation, version, started_at, heartbeat_at, expires_at)
				VALUES (?, ?, ?, ?, `+now+`, `+now+`, `+now+` + ?)`), n.ID, n.URL, n.Incarnation, n.Version, ttl.Milliseconds())
			if isUniqueViolation(err) {
				return ErrNodeIDInUse
			}
			return err
		case err != nil:
			return err
		}
		var alive bool
		if err := tx.QueryRowContext(ctx, s.q("SELECT ? > "+now), expires).Scan(&alive); err != nil {
			return err
		}
		if alive && inc != n.Incarnation {
			return ErrNodeIDInUse
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE cluster_nodes SET url = ?, incarnation = ?, version = ?, started_at = `+now+`,
			heartbeat_at = `+now+`, expires_at = `+now+` + ?, leaving = ?, channels = 0 WHERE id = ?`),
			n.URL, n.Incarnation, n.Version, ttl.Milliseconds(), false, n.ID)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNodeIDInUse) {
			return Node{}, err
		}
		return Node{}, fmt.Errorf("store: register node: %w", err)
	}
	return s.node(ctx, n.ID)
}

func (s *Store) node(ctx context.Context, id string) (Node, error) {
	nodes, err := s.queryNodes(ctx, " WHERE id = ?", id)
	if err != nil {
		return Node{}, err
	}
	if len(nodes) == 0 {
		return Node{}, ErrNodeGone
	}
	return nodes[0], nil
}

// RenewNode extends a node's heartbeat by ttl from the database's now and
// records how many channels it runs. It returns when the heartbeat now
// expires; ErrNodeGone when the row is not this incarnation's any more.
func (s *Store) RenewNode(ctx context.Context, id, incarnation string, ttl time.Duration, channels int) (time.Time, error) {
	now := s.dbNow()
	var expires int64
	err := s.db.QueryRowContext(ctx, s.q(`UPDATE cluster_nodes SET heartbeat_at = `+now+`, expires_at = `+now+` + ?, channels = ?
		WHERE id = ? AND incarnation = ? RETURNING expires_at`), ttl.Milliseconds(), channels, id, incarnation).Scan(&expires)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, ErrNodeGone
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: renew node: %w", err)
	}
	return fromMS(expires), nil
}

// SetNodeLeaving marks a node as shutting down: the leader moves its shards
// away and assigns it none.
func (s *Store) SetNodeLeaving(ctx context.Context, id, incarnation string) error {
	_, err := s.exec(ctx, "UPDATE cluster_nodes SET leaving = ? WHERE id = ? AND incarnation = ?", true, id, incarnation)
	if err != nil {
		return fmt.Errorf("store: node leaving: %w", err)
	}
	return nil
}

// RemoveNode deletes a node's row (a clean exit); its shards, if any are
// left, go to the others at the leader's next pass.
func (s *Store) RemoveNode(ctx context.Context, id, incarnation string) error {
	if _, err := s.exec(ctx, "DELETE FROM cluster_nodes WHERE id = ? AND incarnation = ?", id, incarnation); err != nil {
		return fmt.Errorf("store: remove node: %w", err)
	}
	return nil
}

// ForgetNodes deletes the rows of nodes whose heartbeat expired more than
// after ago, and returns their IDs.
func (s *Store) ForgetNodes(ctx context.Context, after time.Duration) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q("DELETE FROM cluster_nodes WHERE expires_at < "+s.dbNow()+" - ? RETURNING id"), after.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("store: forget nodes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Nodes lists the registered nodes, by ID, and the database's now (to tell
// which heartbeats expired).
func (s *Store) Nodes(ctx context.Context) ([]Node, time.Time, error) {
	now, err := s.DBNow(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	nodes, err := s.queryNodes(ctx, " ORDER BY id")
	return nodes, now, err
}

func (s *Store) queryNodes(ctx context.Context, where string, args ...any) ([]Node, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, url, incarnation, version, started_at, heartbeat_at, expires_at, leaving, channels
		FROM cluster_nodes`+where), args...)
	if err != nil {
		return nil, fmt.Errorf("store: nodes: %w", err)
	}
	defer rows.Close()
	var out []Node
	for rows.Next() {
		var n Node
		var started, beat, expires int64
		if err := rows.Scan(&n.ID, &n.URL, &n.Incarnation, &n.Version, &started, &beat, &expires, &n.Leaving, &n.Channels); err != nil {
			return nil, fmt.Errorf("store: scan node: %w", err)
		}
		n.StartedAt, n.HeartbeatAt, n.ExpiresAt = fromMS(started), fromMS(beat), fromMS(expires)
		out = append(out, n)
	}
	return out, rows.Err()
}

// EnsureShards creates shards 0..n-1 that do not exist yet, unowned.
func (s *Store) EnsureShards(ctx context.Context, n int) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var have int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM cluster_shards").Scan(&have); err != nil {
			return fmt.Errorf("store: count shards: %w", err)
		}
		for id := have; id < n; id++ {
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO cluster_shards (id) VALUES (?) ON CONFLICT (id) DO NOTHING"), id); err != nil {
				return fmt.Errorf("store: create shard: %w", err)
			}
		}
		return nil
	})
}

// Shards lists every shard by ID.
func (s *Store) Shards(ctx context.Context) ([]Shard, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, owner, epoch, target, moved_at FROM cluster_shards ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: shards: %w", err)
	}
	defer rows.Close()
	var out []Shard
	for rows.Next() {
		var sh Shard
		var moved int64
		if err := rows.Scan(&sh.ID, &sh.Owner, &sh.Epoch, &sh.Target, &moved); err != nil {
			return nil, fmt.Errorf("store: scan shard: %w", err)
		}
		if moved > 0 {
			sh.MovedAt = fromMS(moved)
		}
		out = append(out, sh)
	}
	return out, rows.Err()
}

// AssignShard gives a shard to node to, with the next epoch, if it is still
// owned by from at epoch (ErrShardChanged otherwise). The leader uses it for
// unowned shards and those of dead nodes; HandOff is the owner's own move.
func (s *Store) AssignShard(ctx context.Context, id int, from string, epoch int64, to, reason string) (Shard, error) {
	return s.moveShard(ctx, id, from, epoch, to, reason)
}

// ShardAssignment is one shard the leader gives to a node: if it is still
// owned by From at Epoch.
type ShardAssignment struct {
	ID     int
	From   string
	Epoch  int64
	To     string
	Reason string
}

// AssignShards makes several assignments in one transaction and returns
// those that took (a shard that changed meanwhile is skipped).
func (s *Store) AssignShards(ctx context.Context, as []ShardAssignment) ([]ShardAssignment, error) {
	if len(as) == 0 {
		return nil, nil
	}
	now := s.dbNow()
	var done []ShardAssignment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		done = done[:0]
		for _, a := range as {
			res, err := tx.ExecContext(ctx, s.q(`UPDATE cluster_shards SET owner = ?, epoch = epoch + 1, target = '', moved_at = `+now+`
				WHERE id = ? AND owner = ? AND epoch = ?`), a.To, a.ID, a.From, a.Epoch)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO cluster_moves (shard, from_node, to_node, epoch, reason, at)
				VALUES (?, ?, ?, ?, ?, `+now+`)`), a.ID, a.From, a.To, a.Epoch+1, a.Reason); err != nil {
				return err
			}
			done = append(done, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: assign shards: %w", err)
	}
	return done, nil
}

// HandOff is the owner giving a shard to its move target, once it closed
// the shard's sessions.
func (s *Store) HandOff(ctx context.Context, id int, owner string, epoch int64, target string) (Shard, error) {
	return s.moveShard(ctx, id, owner, epoch, target, "moved")
}

func (s *Store) moveShard(ctx context.Context, id int, from string, epoch int64, to, reason string) (Shard, error) {
	now := s.dbNow()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE cluster_shards SET owner = ?, epoch = epoch + 1, target = '', moved_at = `+now+`
			WHERE id = ? AND owner = ? AND epoch = ?`), to, id, from, epoch)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrShardChanged
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO cluster_moves (shard, from_node, to_node, epoch, reason, at)
			VALUES (?, ?, ?, ?, ?, `+now+`)`), id, from, to, epoch+1, reason)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrShardChanged) {
			return Shard{}, err
		}
		return Shard{}, fmt.Errorf("store: move shard: %w", err)
	}
	return Shard{ID: id, Owner: to, Epoch: epoch + 1}, nil
}

// SetShardTarget starts (target set) or cancels (target "") the move of a
// shard owned by owner at epoch.
func (s *Store) SetShardTarget(ctx context.Context, id int, owner string, epoch int64, target string) error {
	res, err := s.exec(ctx, "UPDATE cluster_shards SET target = ? WHERE id = ? AND owner = ? AND epoch = ?", target, id, owner, epoch)
	if err != nil {
		return fmt.Errorf("store: shard target: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrShardChanged
	}
	return nil
}

// ShardMoves lists the last limit shard moves, newest first, and prunes
// older ones beyond keep.
func (s *Store) ShardMoves(ctx context.Context, limit int) ([]ShardMove, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT shard, from_node, to_node, epoch, reason, at FROM cluster_moves ORDER BY id DESC LIMIT ?"), limit)
	if err != nil {
		return nil, fmt.Errorf("store: shard moves: %w", err)
	}
	defer rows.Close()
	var out []ShardMove
	for rows.Next() {
		var m ShardMove
		var at int64
		if err := rows.Scan(&m.Shard, &m.From, &m.To, &m.Epoch, &m.Reason, &at); err != nil {
			return nil, fmt.Errorf("store: scan move: %w", err)
		}
		m.At = fromMS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// PruneShardMoves keeps the last keep moves.
func (s *Store) PruneShardMoves(ctx context.Context, keep int) error {
	_, err := s.exec(ctx, `DELETE FROM cluster_moves WHERE id < (SELECT COALESCE(MIN(id), 0) FROM
		(SELECT id FROM cluster_moves ORDER BY id DESC LIMIT ?) AS kept)`, keep)
	if err != nil {
		return fmt.Errorf("store: prune moves: %w", err)
	}
	return nil
}

// AcquireLeader takes or renews the leader lease for ttl: it succeeds when
// the lease is free, expired, or already this incarnation's. It returns the
// lease as it is after the attempt (another node's when it failed).
func (s *Store) AcquireLeader(ctx context.Context, node, incarnation string, ttl time.Duration) (Leader, bool, error) {
	now := s.dbNow()
	var l Leader
	var expires int64
	err := s.db.QueryRowContext(ctx, s.q(`INSERT INTO cluster_leader (id, node, incarnation, term, expires_at) VALUES (1, ?, ?, 1, `+now+` + ?)
		ON CONFLICT (id) DO UPDATE SET node = excluded.node, incarnation = excluded.incarnation,
			term = CASE WHEN cluster_leader.incarnation = excluded.incarnation THEN cluster_leader.term ELSE cluster_leader.term + 1 END,
			expires_at = excluded.expires_at
		WHERE cluster_leader.incarnation = excluded.incarnation OR cluster_leader.expires_at < `+now+`
		RETURNING node, incarnation, term, expires_at`), node, incarnation, ttl.Milliseconds()).Scan(&l.Node, &l.Incarnation, &l.Term, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		cur, err := s.Leader(ctx)
		return cur, false, err
	}
	if err != nil {
		return Leader{}, false, fmt.Errorf("store: acquire leader: %w", err)
	}
	l.ExpiresAt = fromMS(expires)
	return l, true, nil
}

// Leader is the current leader lease (zero when none was ever taken).
func (s *Store) Leader(ctx context.Context) (Leader, error) {
	var l Leader
	var expires int64
	err := s.db.QueryRowContext(ctx, "SELECT node, incarnation, term, expires_at FROM cluster_leader WHERE id = 1").Scan(&l.Node, &l.Incarnation, &l.Term, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Leader{}, nil
	}
	if err != nil {
		return Leader{}, fmt.Errorf("store: leader: %w", err)
	}
	l.ExpiresAt = fromMS(expires)
	return l, nil
}

// ReleaseLeader gives the lease up (a clean exit), so another node takes it
// at once.
func (s *Store) ReleaseLeader(ctx context.Context, incarnation string) error {
	_, err := s.exec(ctx, "UPDATE cluster_leader SET expires_at = 0 WHERE id = 1 AND incarnation = ?", incarnation)
	if err != nil {
		return fmt.Errorf("store: release leader: %w", err)
	}
	return nil
}

// ReleaseClaims puts the webhook deliveries node had claimed back in the
// queue, due at now, and returns how many. The leader calls it once the
// node's heartbeat expired, instead of waiting for each claim's lease.
func (s *Store) ReleaseClaims(ctx context.Context, node string, now time.Time) (int, error) {
	res, err := s.exec(ctx, `UPDATE webhook_deliveries SET claimed_until = 0, claimed_by = '', next_attempt_at = ?
		WHERE claimed_by = ? AND status = 'pending' AND claimed_until > 0`, ms(now), node)
	if err != nil {
		return 0, fmt.Errorf("store: release claims: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// fenceCond is the SQL condition of a Fence, with its arguments.
func fenceCond(f Fence) (string, []any) {
	return "EXISTS (SELECT 1 FROM cluster_shards WHERE id = ? AND owner = ? AND epoch = ?)", []any{f.Shard, f.Node, f.Epoch}
}

type fenceKey struct{}

// WithFence makes the owner's writes made with ctx (a channel's link, its
// health) apply only while f holds; they are ErrFenced otherwise.
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceFrom is the Fence WithFence put in ctx.
func FenceFrom(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}
