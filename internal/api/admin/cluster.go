package admin

import (
	"net/http"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/cluster"
	"github.com/wagate/wagate/internal/httpx"
)

// clusterInfo is GET /admin/cluster.
type clusterInfo struct {
	// Mode is "single" (SQLite: one node, no cluster) or "cluster".
	Mode          string          `json:"mode"`
	Node          string          `json:"node,omitempty"`
	Leader        string          `json:"leader,omitempty"`
	LeaderTerm    int64           `json:"leader_term,omitempty"`
	Nodes         []clusterNode   `json:"nodes"`
	Shards        []clusterShard  `json:"shards"`
	Moves         []clusterMove   `json:"moves"`
	Forwards      int64           `json:"forwards"`
	ForwardErrors int64           `json:"forward_errors"`
	Fenced        int             `json:"fenced"`
	LastError     string          `json:"last_error,omitempty"`
	Counts        clusterCounters `json:"counts"`
}

type clusterCounters struct {
	Nodes      int `json:"nodes"`
	AliveNodes int `json:"alive_nodes"`
	Shards     int `json:"shards"`
	Moving     int `json:"moving"`
	Unassigned int `json:"unassigned"`
}

type clusterNode struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	Version     string `json:"version"`
	Alive       bool   `json:"alive"`
	Leaving     bool   `json:"leaving"`
	Leader      bool   `json:"leader"`
	Shards      int    `json:"shards"`
	Channels    int    `json:"channels"`
	StartedAt   int64  `json:"started_at"`
	HeartbeatAt int64  `json:"heartbeat_at"`
	ExpiresAt   int64  `json:"expires_at"`
}

type clusterShard struct {
	ID     int    `json:"id"`
	Owner  string `json:"owner"`
	Epoch  int64  `json:"epoch"`
	Target string `json:"target,omitempty"`
}

type clusterMove struct {
	Shard  int    `json:"shard"`
	From   string `json:"from"`
	To     string `json:"to"`
	Epoch  int64  `json:"epoch"`
	Reason string `json:"reason"`
	At     int64  `json:"at"`
}

func newClusterInfo(st cluster.Status) clusterInfo {
	out := clusterInfo{Mode: "cluster", Node: st.Self, Leader: st.Leader, LeaderTerm: st.LeaderTerm,
		Nodes: []clusterNode{}, Shards: []clusterShard{}, Moves: []clusterMove{},
		Forwards: st.Forwards, ForwardErrors: st.ForwardErrors, Fenced: st.Fenced, LastError: st.LastError}
	for _, n := range st.Nodes {
		out.Nodes = append(out.Nodes, clusterNode{ID: n.ID, URL: n.URL, Version: n.Version, Alive: n.Alive, Leaving: n.Leaving,
			Leader: n.Leader, Shards: n.Shards, Channels: n.Channels, StartedAt: apiutil.Millis(n.StartedAt),
			HeartbeatAt: apiutil.Millis(n.HeartbeatAt), ExpiresAt: apiutil.Millis(n.ExpiresAt)})
		out.Counts.Nodes++
		if n.Alive {
			out.Counts.AliveNodes++
		}
	}
	for _, sh := range st.Shards {
		out.Shards = append(out.Shards, clusterShard{ID: sh.ID, Owner: sh.Owner, Epoch: sh.Epoch, Target: sh.Target})
		out.Counts.Shards++
		if sh.Target != "" {
			out.Counts.Moving++
		}
		if sh.Owner == "" {
			out.Counts.Unassigned++
		}
	}
	for _, m := range st.Moves {
		out.Moves = append(out.Moves, clusterMove{Shard: m.Shard, From: m.From, To: m.To, Epoch: m.Epoch, Reason: m.Reason, At: apiutil.Millis(m.At)})
	}
	return out
}

func (h *handler) cluster(w http.ResponseWriter, r *http.Request) error {
	st, ok, err := h.svc.ClusterStatus(r.Context())
	if err != nil {
		return err
	}
	if !ok {
		httpx.JSON(w, http.StatusOK, clusterInfo{Mode: "single", Nodes: []clusterNode{}, Shards: []clusterShard{}, Moves: []clusterMove{}})
		return nil
	}
	httpx.JSON(w, http.StatusOK, newClusterInfo(st))
	return nil
}
