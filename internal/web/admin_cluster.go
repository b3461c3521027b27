package web

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/cluster"
	"github.com/wagate/wagate/internal/store"
)

// clusterData is the operator's cluster page: the nodes, who owns which
// shards, and the recent moves, read through the same service call as
// GET /admin/cluster.
type clusterData struct {
	Single     bool
	Self       string
	Leader     string
	LeaderTerm int64
	Now        time.Time
	Nodes      []cluster.NodeStatus
	Owners     []shardOwner
	Moving     []store.Shard
	Moves      []store.ShardMove
	Shards     int
	Alive      int
	Forwards   int64
	FwdErrors  int64
	Fenced     int
	LastError  string
	// Single node: what this process runs.
	Channels int
	APIURL   string
}

// shardOwner is one node's shards, written as ranges ("0-15, 32").
type shardOwner struct {
	Node   string
	Count  int
	Ranges string
}

func (h *Handler) clusterPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	st, ok, err := h.svc.ClusterStatus(r.Context())
	if err != nil {
		return err
	}
	d := clusterData{Now: h.svc.Now(), APIURL: h.svc.APIURL()}
	if !ok {
		d.Single, d.Channels = true, h.svc.RunningChannels()
		h.render(w, r, http.StatusOK, "cluster", page{Title: "Cluster", Nav: "cluster", V: v, Data: d})
		return nil
	}
	d.Self, d.Leader, d.LeaderTerm, d.Nodes, d.Moves = st.Self, st.Leader, st.LeaderTerm, st.Nodes, st.Moves
	d.Forwards, d.FwdErrors, d.Fenced, d.LastError, d.Shards = st.Forwards, st.ForwardErrors, st.Fenced, st.LastError, len(st.Shards)
	for _, n := range st.Nodes {
		if n.Alive {
			d.Alive++
		}
	}
	byOwner := map[string][]int{}
	for _, sh := range st.Shards {
		byOwner[sh.Owner] = append(byOwner[sh.Owner], sh.ID)
		if sh.Target != "" {
			d.Moving = append(d.Moving, sh)
		}
	}
	for owner, ids := range byOwner {
		sort.Ints(ids)
		d.Owners = append(d.Owners, shardOwner{Node: owner, Count: len(ids), Ranges: ranges(ids)})
	}
	sort.Slice(d.Owners, func(i, j int) bool { return d.Owners[i].Node < d.Owners[j].Node })
	h.render(w, r, http.StatusOK, "cluster", page{Title: "Cluster", Nav: "cluster", V: v, Data: d})
	return nil
}

// ranges writes sorted numbers as ranges: 0 1 2 3 7 -> "0-3, 7".
func ranges(ids []int) string {
	var parts []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(ids[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", ids[i], ids[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
