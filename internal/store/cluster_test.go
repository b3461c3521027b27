package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// The cluster's tables work on both databases (SQLite keeps them empty in
// production, but a node's logic is the same).
func TestClusterMembershipAndFencing(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := bg()
		n, err := st.RegisterNode(ctx, store.Node{ID: "a", URL: "http://a", Incarnation: "i1", Version: "v"}, time.Minute)
		noErr(t, "register", err)
		if n.ID != "a" || !n.ExpiresAt.After(n.HeartbeatAt) {
			t.Fatalf("registered %+v", n)
		}
		_, err = st.RegisterNode(ctx, store.Node{ID: "a", URL: "http://a2", Incarnation: "i2"}, time.Minute)
		wantErr(t, "same ID while alive", err, store.ErrNodeIDInUse)
		_, err = st.RenewNode(ctx, "a", "i2", time.Minute, 0)
		wantErr(t, "renew by another incarnation", err, store.ErrNodeGone)
		_, err = st.RenewNode(ctx, "a", "i1", time.Minute, 3)
		noErr(t, "renew", err)

		noErr(t, "shards", st.EnsureShards(ctx, 4))
		noErr(t, "shards again", st.EnsureShards(ctx, 4))
		shards, err := st.Shards(ctx)
		noErr(t, "list shards", err)
		if len(shards) != 4 || shards[2].Owner != "" || shards[2].Epoch != 0 {
			t.Fatalf("shards %+v", shards)
		}
		sh, err := st.AssignShard(ctx, 2, "", 0, "a", "unassigned")
		noErr(t, "assign", err)
		if sh.Epoch != 1 {
			t.Fatalf("assigned %+v", sh)
		}
		_, err = st.AssignShard(ctx, 2, "", 0, "b", "unassigned")
		wantErr(t, "assign a changed shard", err, store.ErrShardChanged)

		// The owner's writes carry the epoch.
		p := newPartner(t, st, "fence", 10, time.Now())
		ch := newChannel(t, st, p.ID, model.DefaultProjectID, time.Now(), 3)
		fence := store.Fence{Shard: 2, Node: "a", Epoch: 1}
		h := store.ChannelHealth{ChannelID: ch.ID, Status: "AUTH", State: "online", UpdatedAt: time.Now()}
		noErr(t, "health", st.SaveChannelHealth(ctx, fence, h))
		noErr(t, "link", st.SetChannelLink(store.WithFence(ctx, fence), ch.ID, "dev", "15550001111", "Ann", time.Now()))

		// The shard moves to b (epoch 2): a's writes are refused.
		noErr(t, "target", st.SetShardTarget(ctx, 2, "a", 1, "b"))
		_, err = st.HandOff(ctx, 2, "a", 1, "b")
		noErr(t, "handoff", err)
		h.State = "reconnecting"
		wantErr(t, "stale health", st.SaveChannelHealth(ctx, fence, h), store.ErrFenced)
		wantErr(t, "stale link", st.SetChannelLink(store.WithFence(ctx, fence), ch.ID, "dev2", "1", "x", time.Now()), store.ErrFenced)
		wantErr(t, "stale unlink", st.ClearChannelLink(store.WithFence(ctx, fence), ch.ID), store.ErrFenced)
		got, err := st.ChannelHealths(ctx, []string{ch.ID, "NONE"})
		noErr(t, "read health", err)
		if len(got) != 1 || got[ch.ID].State != "online" || got[ch.ID].Node != "a" {
			t.Fatalf("health after a refused write: %+v", got)
		}
		row, err := st.ChannelByID(ctx, ch.ID)
		noErr(t, "channel", err)
		if row.Device != "dev" {
			t.Fatalf("a stale link write changed the row: %+v", row)
		}
		fresh := store.Fence{Shard: 2, Node: "b", Epoch: 2}
		noErr(t, "fresh unlink", st.ClearChannelLink(store.WithFence(ctx, fresh), ch.ID))
		wantErr(t, "fenced write of a missing channel", st.SetChannelLink(store.WithFence(ctx, fresh), "NOPE-000000", "d", "1", "n", time.Now()), model.ErrChannelNotFound)
		moves, err := st.ShardMoves(ctx, 10)
		noErr(t, "moves", err)
		if len(moves) != 2 || moves[0].From != "a" || moves[0].To != "b" || moves[0].Epoch != 2 || moves[0].Reason != "moved" {
			t.Fatalf("moves %+v", moves)
		}
		noErr(t, "prune moves", st.PruneShardMoves(ctx, 1))
		if moves, _ := st.ShardMoves(ctx, 10); len(moves) != 1 {
			t.Fatalf("after pruning: %+v", moves)
		}

		// One leader at a time; a released lease is taken at once.
		l, ok, err := st.AcquireLeader(ctx, "a", "i1", time.Minute)
		noErr(t, "lead", err)
		if !ok || l.Node != "a" {
			t.Fatalf("leader %+v %v", l, ok)
		}
		l2, ok, err := st.AcquireLeader(ctx, "b", "j1", time.Minute)
		noErr(t, "second leader", err)
		if ok || l2.Node != "a" {
			t.Fatalf("b took a held lease: %+v", l2)
		}
		noErr(t, "release lease", st.ReleaseLeader(ctx, "i1"))
		l3, ok, err := st.AcquireLeader(ctx, "b", "j1", time.Minute)
		noErr(t, "lead after release", err)
		if !ok || l3.Term != l.Term+1 {
			t.Fatalf("after release: %+v %v", l3, ok)
		}

		// Gone: a's row is removed on a clean exit.
		noErr(t, "remove", st.RemoveNode(ctx, "a", "i1"))
		nodes, _, err := st.Nodes(ctx)
		noErr(t, "nodes", err)
		if len(nodes) != 0 {
			t.Fatalf("nodes after removal: %+v", nodes)
		}
		if _, err := st.RenewNode(ctx, "a", "i1", time.Minute, 0); !errors.Is(err, store.ErrNodeGone) {
			t.Fatalf("renew after removal: %v", err)
		}
	})
}
