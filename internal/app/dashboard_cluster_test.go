package app_test

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/store/storetest"
)

// startServer starts a server on cfg (runtime, workers, listener, cluster
// membership on PostgreSQL), shut down when the test ends.
func startServer(t *testing.T, cfg config.Config, o app.Options) *app.Server {
	t.Helper()
	srv, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

// startedEnv starts a server on cfg and returns an env on its router.
func startedEnv(t *testing.T, cfg config.Config, o app.Options) *env {
	t.Helper()
	srv := startServer(t, cfg, o)
	return &env{t: t, srv: srv, h: srv.Handler()}
}

// TestDashboardClusterSingle: on SQLite the cluster page shows this one
// node with the channels it runs; only the operator sees it.
func TestDashboardClusterSingle(t *testing.T) {
	e := startedEnv(t, testConfig(t, storetest.Backends(t)[0]), app.Options{BcryptCost: 4})
	_, ptok := e.partner("solo", 5)
	e.channel(ptok, "One")
	e.channel(ptok, "Two")
	e.eventually("both channels run", func() bool { return e.srv.Service().RunningChannels() == 2 })

	anon := e.browser("203.0.113.20")
	if p := anon.do("GET", "/ui/admin/cluster", nil, nil); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/ui/login") {
		t.Fatalf("anonymous cluster page: %d %s", p.status, p.location)
	}
	partner := e.browser("203.0.113.21")
	partner.loginPartner("solo@example.test", "correct horse")
	if p := partner.do("GET", "/ui/admin/cluster", nil, nil); p.status == http.StatusOK {
		t.Fatal("a partner sees the cluster page")
	}

	op := e.browser("203.0.113.22")
	op.loginOperator(adminToken)
	p := op.get(200, "/ui/admin/cluster")
	mustContain(t, "cluster page", p.body, `id="cluster-mode">single node`, "this node", `id="node-channels">2<`,
		"https://wa.example.test/", `id="nav-cluster"`)
}

// TestDashboardClusterNodes: two nodes on one PostgreSQL; the page on
// either shows both alive with their heartbeats, channel counts and shards
// (as GET /admin/cluster does), the owners of every shard, and the moves
// that balanced them.
func TestDashboardClusterNodes(t *testing.T) {
	bs := storetest.Backends(t)
	if len(bs) < 2 {
		t.Skip("cluster mode needs PostgreSQL: set " + storetest.EnvPostgres)
	}
	b := bs[1]
	node := func(id string) *env {
		cfg := testConfig(t, b)
		cfg.NodeID = id
		return startedEnv(t, cfg, app.Options{BcryptCost: 4, ClusterTTL: 3 * time.Second})
	}
	a := node("node-a")
	_, ptok := a.partner("many", 50)
	var ids []string
	for i := range 6 {
		ids = append(ids, a.channel(ptok, "C"+strconv.Itoa(i))["id"].(string))
	}
	bn := node("node-b")
	var info map[string]any
	a.eventually("the two nodes share the shards evenly and report their 6 channels", func() bool {
		info = a.ok(200, "GET", "/admin/cluster", adminToken, nil)
		nodes, _ := info["nodes"].([]any)
		if len(nodes) != 2 {
			return false
		}
		total, spread := 0, int64(0)
		for i, n := range nodes {
			m := n.(map[string]any)
			if m["alive"] != true {
				return false
			}
			total += int(num(m["channels"]))
			spread += num(m["shards"]) * int64(1-2*i)
		}
		counts := info["counts"].(map[string]any)
		// Balanced (the leader moves shards at a bounded rate): the page
		// then shows what the API showed.
		return total == 6 && num(counts["moving"]) == 0 && spread*spread <= 1
	})

	op := bn.browser("203.0.113.30")
	op.loginOperator(adminToken)
	// The page and the API read the same state: between two heartbeats
	// (every TTL/6) they agree on every node's channels and shards.
	var p answer
	a.eventually("the page shows what the API shows", func() bool {
		before := fmtJSON(a.ok(200, "GET", "/admin/cluster", adminToken, nil)["nodes"])
		p = op.get(200, "/ui/admin/cluster")
		info = a.ok(200, "GET", "/admin/cluster", adminToken, nil)
		if fmtJSON(info["nodes"]) != before {
			return false // a heartbeat in between
		}
		for _, n := range info["nodes"].([]any) {
			m := n.(map[string]any)
			row := rowOf(t, p.body, `id="node-`+m["id"].(string)+`"`)
			if !strings.Contains(row, `class="node-shards">`+strconv.Itoa(int(num(m["shards"])))+`<`) ||
				!strings.Contains(row, `class="node-channels">`+strconv.Itoa(int(num(m["channels"])))+`<`) ||
				!strings.Contains(row, `<span class="badge good">alive</span>`) ||
				(m["leader"] == true) != strings.Contains(row, ">leader<") {
				return false
			}
		}
		return true
	})
	mustContain(t, "cluster page", p.body, `id="cluster-mode">2 of 2 nodes alive`, `id="cluster-self">node-b<`,
		`id="node-node-a"`, `id="node-node-b" class="self"`, "(term ")
	// A hosted linking page answers with its channel's QR code through
	// either node: the request goes to the channel's owner.
	for _, id := range ids[:2] {
		lp := a.ok(201, "POST", "/partner/channels/"+id+"/link-page", ptok, nil)
		path := linkPath(t, lp)
		for _, e := range []*env{a, bn} {
			page := e.browser("203.0.113.31").get(200, path)
			mustContain(t, "linking page through "+e.srv.Service().APIURL(), page.body, "data:image/png;base64,")
		}
	}
	owners := rowOf(t, p.body, `id="owner-table"`)
	mustContain(t, "shard owners", owners, "node-a", "node-b")
	if moves, _ := info["moves"].([]any); len(moves) > 0 {
		mustContain(t, "moves", p.body, `id="move-table"`, moves[0].(map[string]any)["reason"].(string))
	}
}

// rowOf is the markup from the element that has attr to its table row's
// (or table's) end.
func rowOf(t *testing.T, body, attr string) string {
	t.Helper()
	i := strings.Index(body, attr)
	if i < 0 {
		t.Fatalf("no %s in:\n%s", attr, body)
	}
	end := strings.Index(body[i:], "</tr>")
	if strings.Contains(attr, "table") {
		end = strings.Index(body[i:], "</table>")
	}
	return body[i : i+end]
}
