package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/wagate/wagate/internal/fakewa"
	"github.com/wagate/wagate/internal/store/storetest"
)

// testCluster is wagate nodes in child processes on one PostgreSQL schema.
type testCluster struct {
	t     *testing.T
	url   string
	spec  childSpec
	mu    sync.Mutex
	nodes map[string]*waChild
	http  *http.Client
}

func newTestCluster(t *testing.T, spec childSpec) *testCluster {
	base := os.Getenv(storetest.EnvPostgres)
	if base == "" {
		t.Skip("cluster mode needs PostgreSQL: set " + storetest.EnvPostgres)
	}
	spec.DatabaseURL = storetest.PostgresSchemaURL(t, base)
	return &testCluster{t: t, url: spec.DatabaseURL, spec: spec, nodes: map[string]*waChild{},
		http: &http.Client{Timeout: 30 * time.Second}}
}

func (c *testCluster) start(id string) {
	c.t.Helper()
	spec := c.spec
	spec.NodeID, spec.DataDir = id, c.t.TempDir()
	child := startWAChild(c.t, spec)
	c.mu.Lock()
	c.nodes[id] = child
	c.mu.Unlock()
}

// live lists the nodes not killed, stopped or left, by ID.
func (c *testCluster) live() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id, n := range c.nodes {
		if n != nil {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (c *testCluster) node(id string) *waChild {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

// freeze stops a node's process (SIGSTOP); the helpers do not ask it
// while it is frozen (each request would wait for the client's timeout).
func (c *testCluster) freeze(id string) *waChild {
	c.t.Helper()
	n := c.drop(id)
	if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// thaw resumes a frozen node (SIGCONT) and asks it again.
func (c *testCluster) thaw(id string, n *waChild) {
	c.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.nodes[id] = n
	c.mu.Unlock()
}

func (c *testCluster) drop(id string) *waChild {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[id]
	c.nodes[id] = nil
	return n
}

// do sends a request to a node; the status, the decoded body and the node
// that answered (X-Wagate-Node).
func (c *testCluster) do(node, method, path, token string, body any) (int, map[string]any, string) {
	n := c.node(node)
	if n == nil {
		return 0, nil, ""
	}
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, "http://"+n.addr+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, ""
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, m, resp.Header.Get("X-Wagate-Node")
}

// must is do that fails the test unless the status is want.
func (c *testCluster) must(want int, node, method, path, token string, body any) map[string]any {
	c.t.Helper()
	code, m, _ := c.do(node, method, path, token, body)
	if code != want {
		c.t.Fatalf("node %s: %s %s: %d, want %d: %v", node, method, path, code, want, m)
	}
	return m
}

// until polls cond every 50 ms up to d and returns how long it took.
func (c *testCluster) until(d time.Duration, what string, cond func() bool) time.Duration {
	c.t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			c.t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// sessions reads the sim network's sessions (through any live node).
func (c *testCluster) sessions() (map[string]map[string]any, bool) {
	for _, id := range c.live() {
		code, m, _ := c.do(id, "GET", "/admin/sim/sessions", adminToken, nil)
		if code != 200 {
			continue
		}
		out := map[string]map[string]any{}
		for _, x := range m["sessions"].([]any) {
			s := x.(map[string]any)
			out[s["channel_id"].(string)] = s
		}
		return out, true
	}
	return nil, false
}

// clusterInfo is GET /admin/cluster through a live node.
func (c *testCluster) clusterInfo() map[string]any {
	for _, id := range c.live() {
		if code, m, _ := c.do(id, "GET", "/admin/cluster", adminToken, nil); code == 200 {
			return m
		}
	}
	return nil
}

// shardsOf counts the shards each live node owns.
func (c *testCluster) shardsOf() map[string]int {
	info := c.clusterInfo()
	out := map[string]int{}
	if info == nil {
		return out
	}
	for _, x := range info["nodes"].([]any) {
		n := x.(map[string]any)
		if n["alive"] == true {
			out[n["id"].(string)] = int(n["shards"].(float64))
		}
	}
	return out
}

// watchSessions samples the sim network until stop and records every
// sample where a channel had more than one session open.
func (c *testCluster) watchSessions(stop <-chan struct{}) (samples func() int, doubles func() []string) {
	var mu sync.Mutex
	n, bad := 0, []string{}
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			ss, ok := c.sessions()
			if !ok {
				continue
			}
			mu.Lock()
			n++
			for id, s := range ss {
				if s["open"].(float64) > 1 {
					bad = append(bad, fmt.Sprintf("%s: %v sessions at %s", id, s["open"], time.Now().Format("15:04:05.000")))
				}
			}
			mu.Unlock()
		}
	}()
	return func() int { mu.Lock(); defer mu.Unlock(); return n },
		func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(bad) }
}

// heldReceiver is a webhook receiver that can hold requests unanswered.
type heldReceiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	hold    bool
	release chan struct{}
	got     map[string]time.Time // delivery ID -> first answered arrival
}

func newHeldReceiver(t *testing.T) *heldReceiver {
	r := &heldReceiver{release: make(chan struct{}), got: map[string]time.Time{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		hold, release := r.hold, r.release
		r.mu.Unlock()
		if hold {
			select {
			case <-release:
			case <-req.Context().Done():
				return
			}
			return // held requests are never answered: the sender dies first
		}
		id := req.Header.Get("X-Wagate-Delivery")
		r.mu.Lock()
		if _, ok := r.got[id]; !ok {
			r.got[id] = time.Now()
		}
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(func() { close(r.release); r.srv.Close() })
	return r
}

func (r *heldReceiver) setHold(h bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hold = h
}

func (r *heldReceiver) arrived(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.got[id]
	return at, ok
}

// TestClusterSim runs three nodes as processes on PostgreSQL with the sim
// engine and 300 linked channels: each channel always runs on one node;
// gate calls work through every node; stop, delete and expiry through one
// node close the session on its owner; a SIGKILLed node's channels (and
// the sim network it hosted) move to the others; its webhook deliveries in
// flight go out once its heartbeat expired; a SIGSTOPped node runs nothing
// another node owns.
func TestClusterSim(t *testing.T) {
	const channels = 300
	ttl := 3 * time.Second
	c := newTestCluster(t, childSpec{Engine: "sim", ClusterTTL: ttl, ExpiryInterval: 500 * time.Millisecond})
	start := time.Now()
	for _, id := range []string{"n1", "n2", "n3"} {
		c.start(id)
	}
	took := c.until(30*time.Second, "three nodes share the 64 shards", func() bool {
		s := c.shardsOf()
		return len(s) == 3 && s["n1"] >= 20 && s["n2"] >= 20 && s["n3"] >= 20
	})
	t.Logf("three nodes up and balanced %v after the first started (%v balancing)", time.Since(start), took)

	stopWatch := make(chan struct{})
	samples, doubles := c.watchSessions(stopWatch)
	defer close(stopWatch)

	// A partner, 300 channels, each linked to a phone of its own; every
	// call goes to a node in turn.
	nodes := c.live()
	c.must(200, "n3", "PATCH", "/admin/settings", adminToken, map[string]any{"channel_create_limit": 0})
	p := c.must(201, "n1", "POST", "/admin/partners", adminToken, map[string]any{"name": "cluster", "email": "c@example.test", "days": 10_000})
	ptok := p["token"].(string)
	type channel struct{ id, tok, phone string }
	chs := make([]channel, channels)
	linkStart := time.Now()
	for i := range chs {
		via := nodes[i%3]
		ch := c.must(200, via, "PUT", "/partner/channels", ptok, map[string]any{"name": fmt.Sprintf("c%03d", i)})
		chs[i] = channel{id: ch["id"].(string), tok: ch["token"].(string), phone: fmt.Sprintf("1555300%04d", i)}
		c.must(201, via, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": chs[i].phone, "name": fmt.Sprintf("P%d", i)})
	}
	peer := "15553999999"
	c.must(201, "n2", "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": peer, "name": "Peer"})
	for i, ch := range chs {
		via := nodes[(i+1)%3]
		var qr map[string]any
		c.until(20*time.Second, "a QR code for "+ch.id, func() bool {
			code, m, _ := c.do(via, "GET", "/users/login/rowdata", ch.tok, nil)
			qr = m
			return code == 200
		})
		c.must(200, nodes[(i+2)%3], "POST", "/admin/sim/phones/"+ch.phone+"/link", adminToken, map[string]any{"qr": qr["rowdata"]})
	}
	authAll := func(what string, d time.Duration) time.Duration {
		return c.until(d, what, func() bool {
			ss, ok := c.sessions()
			if !ok {
				return false
			}
			for _, ch := range chs {
				s := ss[ch.id]
				if s == nil || s["connected"] != true || s["device"] == "" {
					return false
				}
			}
			return true
		})
	}
	authAll("300 channels linked and connected", 60*time.Second)
	t.Logf("300 channels created and linked through three nodes in %v", time.Since(linkStart))

	// Gate calls through every node: answered by the channel's owner.
	owners := map[string]string{}
	for i, ch := range chs[:30] {
		for _, via := range nodes {
			code, h, served := c.do(via, "GET", "/health", ch.tok, nil)
			if code != 200 || h["status"].(map[string]any)["text"] != "AUTH" {
				t.Fatalf("health of %s through %s: %d %v", ch.id, via, code, h)
			}
			if o, ok := owners[ch.id]; ok && o != served {
				t.Fatalf("health of %s answered by %s and by %s", ch.id, o, served)
			}
			owners[ch.id] = served
			code, m, _ := c.do(via, "POST", "/messages/text", ch.tok, map[string]any{"to": peer, "body": fmt.Sprintf("hi %d via %s", i, via)})
			if code != 200 || m["sent"] != true {
				t.Fatalf("send of %s through %s: %d %v", ch.id, via, code, m)
			}
		}
	}
	// A channel another node owns: stop, delete and expiry through n1
	// close its session on its owner.
	notOn := func(node string, from []channel) channel {
		for _, ch := range from {
			_, _, served := c.do(node, "GET", "/health?wakeup=false", ch.tok, nil)
			if served != "" && served != node {
				return ch
			}
		}
		t.Fatalf("no channel runs off %s", node)
		return channel{}
	}
	gone := func(id string) func() bool {
		return func() bool {
			ss, ok := c.sessions()
			return ok && ss[id] == nil
		}
	}
	stopped := notOn("n1", chs[30:60])
	t0 := time.Now()
	c.must(200, "n1", "POST", "/partner/channels/"+stopped.id+"/stop", ptok, nil)
	took = c.until(5*time.Second, "the stopped channel's session closes", gone(stopped.id))
	t.Logf("stop through another node: session closed %v after the answer (%v after the request)", took, time.Since(t0))
	if took > time.Second {
		t.Errorf("stop took %v to reach the owner, want under 1 s", took)
	}
	deleted := notOn("n1", chs[60:90])
	c.must(200, "n1", "DELETE", "/partner/channels/"+deleted.id, ptok, nil)
	took = c.until(5*time.Second, "the deleted channel's session closes", gone(deleted.id))
	t.Logf("delete through another node: session closed %v after the answer", took)
	if took > time.Second {
		t.Errorf("delete took %v to reach the owner, want under 1 s", took)
	}
	expired := notOn("n1", chs[90:120])
	db, err := sql.Open("pgx", c.url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE channels SET active_till = $1 WHERE id = $2", time.Now().Add(-time.Second).UnixMilli(), expired.id); err != nil {
		t.Fatal(err)
	}
	took = c.until(5*time.Second, "the expired channel's session closes", gone(expired.id))
	t.Logf("expiry (sweep every 500 ms on every node): session closed %v after the days ran out", took)
	if took > 1500*time.Millisecond {
		t.Errorf("expiry took %v to close the session, want under a sweep plus 1 s", took)
	}
	live := slices.DeleteFunc(slices.Clone(chs), func(ch channel) bool {
		return ch.id == stopped.id || ch.id == deleted.id || ch.id == expired.id
	})
	chs = live

	// Webhooks held in flight, then the leader (which also hosts the sim
	// network) is killed: its channels move, the network moves, its claimed
	// deliveries go out after its heartbeat expires.
	leader := c.clusterInfo()["leader"].(string)
	hooks := newHeldReceiver(t)
	var victims []channel
	for _, ch := range chs {
		if _, _, served := c.do("n1", "GET", "/health?wakeup=false", ch.tok, nil); served == leader {
			victims = append(victims, ch)
		}
		if len(victims) == 10 {
			break
		}
	}
	for _, ch := range victims {
		c.must(200, leader, "PATCH", "/settings", ch.tok, map[string]any{"webhooks": []any{map[string]any{"url": hooks.srv.URL + "/h",
			"events": []any{map[string]any{"type": "messages", "method": "post"}}}}})
	}
	// A file stored by the leader, read after it died: media live in the
	// shared store (the database by default on PostgreSQL).
	file := bytes.Repeat([]byte("wagate cluster media "), 50_000)
	req, _ := http.NewRequest("POST", "http://"+c.node(leader).addr+"/media", bytes.NewReader(file))
	req.Header.Set("Authorization", "Bearer "+victims[0].tok)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var media map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&media)
	resp.Body.Close()
	var mediaID string
	if list, ok := media["media"].([]any); ok && len(list) == 1 {
		mediaID, _ = list[0].(map[string]any)["id"].(string)
	}
	if resp.StatusCode != 200 || mediaID == "" {
		t.Fatalf("upload: %d %v", resp.StatusCode, media)
	}
	hooks.setHold(true)
	for i, ch := range victims {
		c.must(201, leader, "POST", "/admin/sim/phones/"+peer+"/messages", adminToken, map[string]any{"to": ch.phone, "body": fmt.Sprintf("held %d", i)})
	}
	// Wait until the leader holds claims on them.
	var claimed []string
	c.until(20*time.Second, "the leader claims the held deliveries", func() bool {
		rows, err := db.Query("SELECT id FROM webhook_deliveries WHERE claimed_by = $1 AND status = 'pending' AND claimed_until > 0", leader)
		if err != nil {
			return false
		}
		defer rows.Close()
		claimed = claimed[:0]
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			claimed = append(claimed, id)
		}
		return len(claimed) > 0
	})
	killed := time.Now()
	c.drop(leader).kill()
	hooks.setHold(false)
	t.Logf("killed the leader %s with %d webhook deliveries in flight", leader, len(claimed))
	authAll("every channel online again after the leader was killed", 60*time.Second)
	t.Logf("SIGKILL of the leader (TTL %v): all %d channels online again %v after the kill", ttl, len(chs), time.Since(killed))
	if since := time.Since(killed); since > 30*time.Second {
		t.Errorf("failover took %v, want under 30 s", since)
	}
	for _, id := range claimed {
		var at time.Time
		c.until(60*time.Second, "delivery "+id+" after the kill", func() bool {
			var ok bool
			at, ok = hooks.arrived(id)
			return ok
		})
		t.Logf("in-flight delivery %s arrived %v after the kill", id, at.Sub(killed))
		if at.Sub(killed) > 2*ttl+5*time.Second {
			t.Errorf("delivery %s arrived %v after the kill: later than the heartbeat's expiry", id, at.Sub(killed))
		}
	}
	survivors := c.live()
	for _, via := range survivors {
		req, _ := http.NewRequest("GET", "http://"+c.node(via).addr+"/media/"+mediaID, nil)
		req.Header.Set("Authorization", "Bearer "+victims[0].tok)
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, file) {
			t.Fatalf("media %s through %s after its node died: %d, %d bytes", mediaID, via, resp.StatusCode, len(got))
		}
	}
	for _, ch := range chs[:20] {
		for _, via := range survivors {
			if code, m, _ := c.do(via, "POST", "/messages/text", ch.tok, map[string]any{"to": peer, "body": "after the kill"}); code != 200 {
				t.Fatalf("send of %s through %s after the kill: %d %v", ch.id, via, code, m)
			}
		}
	}

	// A node paused past its heartbeat: its shards move, and once resumed
	// it runs nothing another node owns. The paused node is the one that
	// does not host the sim network: its sessions there stay open while it
	// is frozen, until the leader finds it dead.
	other := c.clusterInfo()["leader"].(string)
	paused := survivors[0]
	if paused == other {
		paused = survivors[1]
	}
	pausedAt := time.Now()
	frozen := c.freeze(paused)
	moved := c.until(30*time.Second, "the paused node's shards move", func() bool {
		s := c.shardsOf()
		return s[other] == 64
	})
	authAll("every channel online on the remaining node", 60*time.Second)
	t.Logf("SIGSTOP of %s (the leader, hosting the sim network, is %s): its shards moved after %v, every channel online on %s %v after the pause",
		paused, other, moved, other, time.Since(pausedAt))
	time.Sleep(time.Second) // frozen a while longer: ten more samples
	c.thaw(paused, frozen)
	c.until(30*time.Second, "the resumed node gets shards again", func() bool {
		s := c.shardsOf()
		return s[paused] >= 20 && s[other] >= 20
	})
	authAll("every channel online after the resumed node rejoined", 60*time.Second)
	if bad := doubles(); len(bad) > 0 {
		t.Fatalf("a channel ran on two nodes at once (%d samples): %v", samples(), bad[:min(len(bad), 10)])
	}
	t.Logf("no channel had two sessions open in %d samples of the sim network", samples())
}

// TestClusterRollingRestart restarts every node of three in turn (cleanly:
// each hands its channels over first) while messages are sent through the
// nodes without pause: every message the API accepted reaches its
// recipient, and no channel is ever linked again (its device stays) or
// runs twice.
func TestClusterRollingRestart(t *testing.T) {
	const channels = 30
	c := newTestCluster(t, childSpec{Engine: "sim", ClusterTTL: 3 * time.Second})
	for _, id := range []string{"n1", "n2", "n3"} {
		c.start(id)
	}
	c.until(30*time.Second, "three nodes share the shards", func() bool {
		s := c.shardsOf()
		return len(s) == 3 && s["n1"] >= 20 && s["n2"] >= 20 && s["n3"] >= 20
	})
	c.must(200, "n1", "PATCH", "/admin/settings", adminToken, map[string]any{"channel_create_limit": 0})
	p := c.must(201, "n1", "POST", "/admin/partners", adminToken, map[string]any{"name": "rolling", "email": "r@example.test", "days": 1000})
	ptok := p["token"].(string)
	peer := "15554999999"
	c.must(201, "n1", "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": peer, "name": "Peer"})
	type channel struct{ id, tok, phone string }
	var chs []channel
	for i := range channels {
		ch := c.must(200, "n2", "PUT", "/partner/channels", ptok, map[string]any{"name": fmt.Sprintf("r%02d", i)})
		x := channel{id: ch["id"].(string), tok: ch["token"].(string), phone: fmt.Sprintf("1555400%04d", i)}
		c.must(201, "n3", "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": x.phone, "name": fmt.Sprintf("R%d", i)})
		var qr map[string]any
		c.until(20*time.Second, "a QR code", func() bool {
			code, m, _ := c.do("n1", "GET", "/users/login/rowdata", x.tok, nil)
			qr = m
			return code == 200
		})
		c.must(200, "n2", "POST", "/admin/sim/phones/"+x.phone+"/link", adminToken, map[string]any{"qr": qr["rowdata"]})
		chs = append(chs, x)
	}
	devices := func() map[string]string {
		ss, ok := c.sessions()
		if !ok {
			return nil
		}
		out := map[string]string{}
		for _, ch := range chs {
			if s := ss[ch.id]; s != nil && s["connected"] == true {
				out[ch.id], _ = s["device"].(string)
			}
		}
		return out
	}
	var before map[string]string
	c.until(30*time.Second, "every channel online", func() bool { before = devices(); return len(before) == channels })

	stopWatch := make(chan struct{})
	samples, doubles := c.watchSessions(stopWatch)
	// The sender: one message at a time per worker, through the live nodes
	// in turn; a refused or failed attempt is tried again (up to 60 s).
	var mu sync.Mutex
	accepted := map[string]bool{} // bodies the API accepted
	retries, ambiguous := 0, 0
	stopSend := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stopSend:
					return
				default:
				}
				ch := chs[(i*3+w)%len(chs)]
				body := fmt.Sprintf("w%d-%d", w, i)
				deadline := time.Now().Add(60 * time.Second)
				for {
					live := c.live()
					via := live[(i+w)%len(live)]
					code, _, _ := c.do(via, "POST", "/messages/text", ch.tok, map[string]any{"to": peer, "body": body})
					if code == 200 {
						mu.Lock()
						accepted[body] = true
						mu.Unlock()
						break
					}
					mu.Lock()
					retries++
					if code == 502 || code == 0 {
						ambiguous++
					}
					mu.Unlock()
					if time.Now().After(deadline) {
						t.Errorf("message %s not accepted within 60 s (last status %d)", body, code)
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	time.Sleep(time.Second)
	for _, id := range []string{"n1", "n2", "n3"} {
		t0 := time.Now()
		if err := c.drop(id).terminate(); err != nil {
			t.Fatalf("stopping %s: %v", id, err)
		}
		stopped := time.Since(t0)
		c.start(id)
		c.until(30*time.Second, id+" takes shards again", func() bool { return c.shardsOf()[id] >= 20 })
		t.Logf("%s: clean stop in %v, back with shards %v after the stop began", id, stopped, time.Since(t0))
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(time.Second)
	close(stopSend)
	wg.Wait()
	close(stopWatch)

	after := map[string]string{}
	c.until(30*time.Second, "every channel online after the restarts", func() bool { after = devices(); return len(after) == channels })
	for id, dev := range before {
		if after[id] != dev {
			t.Errorf("channel %s was linked again: device %s, then %s", id, dev, after[id])
		}
	}
	// Every accepted message is in the peer's inbox.
	inbox := c.must(200, "n1", "GET", "/admin/sim/phones/"+peer+"/messages", adminToken, nil)
	seen := map[string]int{}
	for _, x := range inbox["messages"].([]any) {
		seen[x.(map[string]any)["body"].(string)]++
	}
	lost, dup := 0, 0
	for body := range accepted {
		switch n := seen[body]; {
		case n == 0:
			lost++
		case n > 1:
			dup++
		}
	}
	t.Logf("rolling restart of 3 nodes under load: %d messages accepted, %d lost, %d delivered twice, %d attempts refused and retried (%d without an answer)",
		len(accepted), lost, dup, retries, ambiguous)
	if lost > 0 {
		t.Errorf("%d accepted messages never reached the recipient", lost)
	}
	if bad := doubles(); len(bad) > 0 {
		t.Errorf("a channel ran twice during the rolling restart: %v", bad[:min(len(bad), 10)])
	}
	t.Logf("no channel had two sessions open in %d samples", samples())
}

// TestClusterWhatsmeow runs two nodes on the real engine through the fake
// WhatsApp server: a killed node's channels come back on the other with no
// device ever connected twice; handoffs never overlap; a node paused past
// its heartbeat has its frozen connections replaced once by the new owner
// and, resumed, does not take them back.
func TestClusterWhatsmeow(t *testing.T) {
	const channels = 12
	fw := fakewa.New(t, fakewa.Options{})
	c := newTestCluster(t, childSpec{Endpoint: fw.Endpoint(), ClusterTTL: 3 * time.Second})
	c.start("w1")
	c.start("w2")
	c.until(30*time.Second, "two nodes share the shards", func() bool {
		s := c.shardsOf()
		return s["w1"] == 32 && s["w2"] == 32
	})
	c.must(200, "w1", "PATCH", "/admin/settings", adminToken, map[string]any{"channel_create_limit": 0})
	p := c.must(201, "w1", "POST", "/admin/partners", adminToken, map[string]any{"name": "wm", "email": "w@example.test", "days": 1000})
	ptok := p["token"].(string)
	type channel struct{ id, tok string }
	var chs []channel
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range channels {
		via := []string{"w1", "w2"}[i%2]
		ch := c.must(200, via, "PUT", "/partner/channels", ptok, map[string]any{"name": fmt.Sprintf("wm%02d", i)})
		x := channel{id: ch["id"].(string), tok: ch["token"].(string)}
		var qr map[string]any
		c.until(30*time.Second, "a QR code", func() bool {
			code, m, _ := c.do(via, "GET", "/users/login/rowdata", x.tok, nil)
			qr = m
			return code == 200
		})
		if _, err := fw.Account(fmt.Sprintf("1555600%04d", i)).ScanQR(ctx, qr["rowdata"].(string)); err != nil {
			t.Fatal(err)
		}
		chs = append(chs, x)
	}
	online := func(nodes ...string) func() bool {
		return func() bool {
			for _, ch := range chs {
				code, h, _ := c.do(nodes[0], "GET", "/health?wakeup=false", ch.tok, nil)
				if code != 200 || h["status"].(map[string]any)["text"] != "AUTH" {
					return false
				}
			}
			return true
		}
	}
	c.until(60*time.Second, "every channel online", online("w1"))
	if st := fw.Stats(); st.Replaced != 0 || st.Online != channels {
		t.Fatalf("after linking: %+v", st)
	}

	// SIGKILL: its sockets close with it; the others log in again on w1.
	killed := time.Now()
	c.drop("w2").kill()
	took := c.until(60*time.Second, "every channel online on w1", online("w1"))
	t.Logf("SIGKILL of a node (real engine, TTL 3 s): all %d channels online on the survivor %v after the kill", channels, took)
	if st := fw.Stats(); st.Replaced != 0 {
		t.Errorf("a device was connected twice after the kill: %+v", st)
	}
	_ = killed

	// Back, then balanced by handoff: no overlap.
	c.start("w2")
	c.until(30*time.Second, "w2 takes shards back", func() bool { return c.shardsOf()["w2"] == 32 })
	c.until(60*time.Second, "every channel online after the rebalance", online("w2"))
	if st := fw.Stats(); st.Replaced != 0 {
		t.Errorf("a handoff overlapped: %+v", st)
	}

	// SIGSTOP: the frozen process keeps its sockets; the new owner's login
	// replaces each once; resumed, the old node does not fight back.
	var frozenChannels int
	for _, ch := range chs {
		if _, _, served := c.do("w2", "GET", "/health?wakeup=false", ch.tok, nil); served == "w1" {
			frozenChannels++
		}
	}
	frozen := c.freeze("w1")
	took = c.until(60*time.Second, "every channel online on w2", online("w2"))
	t.Logf("SIGSTOP of a node: all channels online on the other %v after the pause", took)
	replaced := fw.Stats().Replaced
	if replaced > frozenChannels {
		t.Errorf("%d replacements for %d frozen channels", replaced, frozenChannels)
	}
	c.thaw("w1", frozen)
	time.Sleep(5 * time.Second) // what the resumed node does with its old sessions
	if st := fw.Stats(); st.Replaced != replaced {
		t.Errorf("the resumed node took devices back: %d replacements, %d before it resumed", st.Replaced, replaced)
	}
	c.until(60*time.Second, "every channel online after the resumed node rejoined", online("w2"))
	if st := fw.Stats(); st.Replaced != replaced || st.Online != channels {
		t.Errorf("after the resumed node rejoined: %+v (replacements before: %d)", st, replaced)
	}
	t.Logf("frozen connections replaced once each by the new owner: %d of %d frozen channels; none after the resume", replaced, frozenChannels)
}
