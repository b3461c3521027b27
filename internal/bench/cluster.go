package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wagate/wagate/internal/cluster"
	"github.com/wagate/wagate/internal/config"
)

// The cluster section: three wagate nodes, each a child process, on one
// PostgreSQL schema of their own (issue 13). It measures a send through a
// node that does not run the channel (forwarded to its owner) next to the
// same send to the owner, and the time the channels of a node killed with
// SIGKILL take to answer sends again through the survivors.

// EnvNode makes the wagate binary (or a test binary whose TestMain calls
// ServeNode) a cluster node of a parent bench; its value is the node's
// NodeSpec as JSON.
const EnvNode = "WAGATE_BENCH_NODE"

// ClusterNodes is how many nodes the cluster section runs.
const ClusterNodes = 3

// GoalFailoverSeconds is issue 13's bound on failover.
const GoalFailoverSeconds = 30.0

// NodeSpec is what a cluster node child runs with.
type NodeSpec struct {
	NodeID      string        `json:"node_id"`
	DatabaseURL string        `json:"database_url"`
	DataDir     string        `json:"data_dir"`
	AdminToken  string        `json:"admin_token"`
	ClusterTTL  time.Duration `json:"cluster_ttl"`
}

// ServeNode runs a cluster node for a parent bench: it starts a server on
// the sim engine with spec (EnvNode's JSON), prints "ADDR host:port" to out
// and serves until in closes or ctx ends.
func ServeNode(ctx context.Context, spec string, start Starter, in io.Reader, out, errw io.Writer) error {
	var s NodeSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return fmt.Errorf("bench node: %s: %w", EnvNode, err)
	}
	cfg := config.Config{
		Addr: "127.0.0.1:0", DataDir: s.DataDir, DatabaseURL: s.DatabaseURL, AdminToken: s.AdminToken,
		Engine: config.EngineSim, WebhookAllowPrivate: true, LogLevel: slog.LevelError, LogFormat: "text",
		ExpiryInterval: time.Minute, ShutdownTimeout: 10 * time.Second, NodeID: s.NodeID, ClusterTTL: s.ClusterTTL,
	}
	log := slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: slog.LevelError}))
	srv, err := start(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ADDR %s\n", srv.Addr())
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, in); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// ClusterReport is the cluster section.
type ClusterReport struct {
	Nodes      int     `json:"nodes"`
	Channels   int     `json:"channels"`
	TTLSeconds float64 `json:"ttl_seconds"`
	// Direct is POST /messages/text to the node that runs the channel;
	// Forwarded the same through another node, which forwards it; both
	// with the bench's clients (a loaded cluster).
	Direct    Load `json:"direct"`
	Forwarded Load `json:"forwarded"`
	// OverheadP50ms and OverheadP99ms are Forwarded's latency minus
	// Direct's.
	OverheadP50ms float64 `json:"overhead_p50_ms"`
	OverheadP99ms float64 `json:"overhead_p99_ms"`
	// SerialDirect and SerialForwarded are the same with one client: the
	// hop's own cost, without queueing.
	SerialDirect        Load    `json:"serial_direct"`
	SerialForwarded     Load    `json:"serial_forwarded"`
	SerialOverheadP50ms float64 `json:"serial_overhead_p50_ms"`
	SerialOverheadP99ms float64 `json:"serial_overhead_p99_ms"`
	// Killed is the node killed with SIGKILL, KilledLeader whether it was
	// the leader, KilledChannels how many channels it ran.
	Killed         string `json:"killed"`
	KilledLeader   bool   `json:"killed_leader"`
	KilledChannels int    `json:"killed_channels"`
	// FailoverSeconds runs from the kill until every channel it ran
	// answered a send through a survivor.
	FailoverSeconds float64 `json:"failover_seconds"`
}

// nodeProc is a cluster node child process.
type nodeProc struct {
	id    string
	addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
	mu    sync.Mutex
	errb  strings.Builder
}

func (e *env) startNode(ctx context.Context, spec NodeSpec) (*nodeProc, error) {
	var cmd *exec.Cmd
	if e.o.Node != nil {
		cmd = e.o.Node()
	} else {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd = exec.Command(exe, "bench")
	}
	raw, _ := json.Marshal(spec)
	cmd.Env = append(os.Environ(), EnvNode+"="+string(raw))
	n := &nodeProc{id: spec.NodeID, cmd: cmd, done: make(chan struct{})}
	var err error
	if n.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("node %s: %w", spec.NodeID, err)
	}
	go func() {
		b, _ := io.ReadAll(io.LimitReader(stderr, 1<<20))
		n.mu.Lock()
		n.errb.Write(b)
		n.mu.Unlock()
		_, _ = io.Copy(io.Discard, stderr)
		close(n.done)
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
				addr <- a
			}
		}
		close(addr)
	}()
	t := time.NewTimer(60 * time.Second)
	defer t.Stop()
	select {
	case a, ok := <-addr:
		if ok {
			n.addr = a
			return n, nil
		}
		n.kill()
		return nil, fmt.Errorf("node %s did not start: %.500s", spec.NodeID, n.stderr())
	case <-t.C:
	case <-ctx.Done():
	}
	n.kill()
	return nil, fmt.Errorf("node %s did not start within 60 s", spec.NodeID)
}

func (n *nodeProc) stderr() string {
	<-n.done
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.errb.String()
}

// kill ends the node with SIGKILL: no shutdown at all.
func (n *nodeProc) kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	_ = n.cmd.Wait()
}

// stop shuts the node down (closing its stdin), killing it after 20 s.
func (n *nodeProc) stop() {
	_ = n.stdin.Close()
	exited := make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}
}

// clusterEnv is the cluster section's nodes and what it made on them.
type clusterEnv struct {
	e     *env
	nodes map[string]*nodeProc
	hc    *http.Client
	// channel tokens, the node running each, the recipient phones
	tokens     []string
	owner      map[string]string
	recipients []string
}

// call makes a JSON request to node; a 2xx answer is decoded into out.
func (c *clusterEnv) call(ctx context.Context, node, method, path, token string, in, out any) error {
	api := &apiClient{base: "http://" + c.nodes[node].addr, hc: c.hc}
	return api.call(ctx, method, path, token, in, out)
}

// send sends a text through node and returns the node that served it.
func (c *clusterEnv) send(ctx context.Context, node, token, to string, worker, n int) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+c.nodes[node].addr+"/messages/text",
		strings.NewReader(string(sendBody(to, worker, n))))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var r sendResult
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &r) != nil || !r.Sent {
		return "", fmt.Errorf("POST /messages/text via %s: HTTP %d: %.200s", node, resp.StatusCode, raw)
	}
	return resp.Header.Get("X-Wagate-Node"), nil
}

func (e *env) benchCluster(ctx context.Context) (*ClusterReport, error) {
	u, drop, err := postgresSchema(ctx, e.o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer drop()
	ttl := cluster.DefaultTTL
	rep := &ClusterReport{Nodes: ClusterNodes, TTLSeconds: ttl.Seconds()}
	c := &clusterEnv{e: e, nodes: map[string]*nodeProc{}, hc: NewHTTPClient(e.o.Clients), owner: map[string]string{}}
	defer c.hc.CloseIdleConnections()
	defer func() {
		var wg sync.WaitGroup
		for _, n := range c.nodes {
			wg.Go(n.stop)
		}
		wg.Wait()
	}()
	e.prog.stepf("cluster: starting %d nodes (child processes) on PostgreSQL", ClusterNodes)
	var ids []string
	for i := range ClusterNodes {
		id := "bench-n" + strconv.Itoa(i+1)
		dir := filepath.Join(e.dir, id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return rep, err
		}
		n, err := e.startNode(ctx, NodeSpec{NodeID: id, DatabaseURL: u, DataDir: dir, AdminToken: e.admin, ClusterTTL: ttl})
		if err != nil {
			return rep, err
		}
		c.nodes[id] = n
		ids = append(ids, id)
	}
	if err := c.balanced(ctx, ids, 60*time.Second); err != nil {
		return rep, err
	}
	if err := c.setup(ctx, ids); err != nil {
		return rep, err
	}
	rep.Channels = len(c.tokens)

	// Direct and forwarded sends, back to back, each worker on a channel
	// of its own.
	window := min(max(e.o.share(SectionCluster)/5, time.Second), 5*time.Second)
	op := func(forward bool) Op {
		return func(ctx context.Context, worker, n int) error {
			tok := c.tokens[worker%len(c.tokens)]
			via := c.owner[tok]
			if forward {
				via = ids[(slices.Index(ids, via)+1+n%2)%len(ids)]
			}
			_, err := c.send(ctx, via, tok, c.recipients[n%len(c.recipients)], worker, n)
			return err
		}
	}
	clients := min(e.o.Clients, len(c.tokens))
	e.prog.stepf("cluster: warming up")
	Drive(ctx, clients, window/4, 0, op(false), nil)
	Drive(ctx, clients, window/4, 0, op(true), nil)
	e.prog.stepf("cluster: send to the owner node, %d clients, %s", clients, window.Round(time.Millisecond))
	rep.Direct = Drive(ctx, clients, window, 0, op(false), func(n int) { e.prog.tickf("%d messages", n) })
	e.prog.stepf("cluster: send through another node (forwarded), %d clients, %s", clients, window.Round(time.Millisecond))
	rep.Forwarded = Drive(ctx, clients, window, 0, op(true), func(n int) { e.prog.tickf("%d messages", n) })
	rep.OverheadP50ms = rep.Forwarded.P50ms - rep.Direct.P50ms
	rep.OverheadP99ms = rep.Forwarded.P99ms - rep.Direct.P99ms
	e.prog.stepf("cluster: one client, to the owner then through another node, %s each", (window / 2).Round(time.Millisecond))
	rep.SerialDirect = Drive(ctx, 1, window/2, 0, op(false), nil)
	rep.SerialForwarded = Drive(ctx, 1, window/2, 0, op(true), nil)
	rep.SerialOverheadP50ms = rep.SerialForwarded.P50ms - rep.SerialDirect.P50ms
	rep.SerialOverheadP99ms = rep.SerialForwarded.P99ms - rep.SerialDirect.P99ms
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if rep.Direct.Requests == 0 || rep.Forwarded.Requests == 0 || rep.SerialDirect.Requests == 0 || rep.SerialForwarded.Requests == 0 {
		return rep, fmt.Errorf("no message sent: %s", firstOf(rep.Direct.FirstError, rep.Forwarded.FirstError,
			rep.SerialDirect.FirstError, rep.SerialForwarded.FirstError))
	}

	// Failover: SIGKILL of the node running the most channels (the leader
	// on a tie: it must be elected again too).
	var info struct{ Leader string }
	if err := c.call(ctx, ids[0], "GET", "/admin/cluster", e.admin, nil, &info); err != nil {
		return rep, err
	}
	count := map[string]int{}
	for _, o := range c.owner {
		count[o]++
	}
	victim := ids[0]
	for _, id := range ids {
		if count[id] > count[victim] || (count[id] == count[victim] && id == info.Leader) {
			victim = id
		}
	}
	rep.Killed, rep.KilledLeader, rep.KilledChannels = victim, victim == info.Leader, count[victim]
	var moved []string
	for _, tok := range c.tokens {
		if c.owner[tok] == victim {
			moved = append(moved, tok)
		}
	}
	survivors := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == victim })
	e.prog.stepf("cluster: SIGKILL of node %s (%d channels, leader %v), heartbeat TTL %s", victim, len(moved), rep.KilledLeader, ttl)
	killed := time.Now()
	c.nodes[victim].kill()
	delete(c.nodes, victim)
	c.hc.CloseIdleConnections()
	if err := c.failover(ctx, survivors, moved, 60*time.Second); err != nil {
		return rep, err
	}
	rep.FailoverSeconds = time.Since(killed).Seconds()
	return rep, nil
}

// balanced waits until the shards are spread evenly over the nodes and
// none is moving (the leader moves them at a bounded rate after a node
// joins).
func (c *clusterEnv) balanced(ctx context.Context, ids []string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		var info struct {
			Nodes []struct {
				ID     string
				Alive  bool
				Shards int
			}
			Counts struct{ Shards, Moving, Unassigned int }
		}
		held := 0
		if c.call(ctx, ids[0], "GET", "/admin/cluster", c.e.admin, nil, &info) == nil && info.Counts.Shards > 0 {
			for _, n := range info.Nodes {
				if n.Alive && n.Shards >= info.Counts.Shards/len(ids) && slices.Contains(ids, n.ID) {
					held++
				}
			}
			if info.Counts.Moving > 0 || info.Counts.Unassigned > 0 {
				held = 0
			}
		}
		if held == len(ids) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: shards not spread over %d nodes after %s", len(ids), d)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// setup makes a partner, channels linked by sim phones (created through
// the nodes in turn: the sim network is in the database) until every node
// runs at least two, and recipient phones; it notes each channel's owner.
func (c *clusterEnv) setup(ctx context.Context, ids []string) error {
	e := c.e
	e.prog.stepf("cluster: linking channels until each node runs two or more")
	if err := c.call(ctx, ids[0], "PATCH", "/admin/settings", e.admin, map[string]any{"channel_create_limit": 0}, nil); err != nil {
		return err
	}
	var p struct{ Token string }
	if err := c.call(ctx, ids[1], "POST", "/admin/partners", e.admin,
		map[string]any{"name": "cluster_bench", "email": "cluster@example.test", "days": 1_000_000}, &p); err != nil {
		return err
	}
	for i := range 16 {
		phone := fmt.Sprintf("1555400%04d", i)
		if err := c.call(ctx, ids[i%len(ids)], "POST", "/admin/sim/phones", e.admin, map[string]any{"phone": phone, "name": "Recipient " + strconv.Itoa(i)}, nil); err != nil {
			return err
		}
		c.recipients = append(c.recipients, phone)
	}
	count := map[string]int{}
	enough := func() bool {
		for _, id := range ids {
			if count[id] < 2 {
				return false
			}
		}
		return len(c.tokens) >= max(e.o.Clients, 6)
	}
	for i := 0; !enough(); i++ {
		if i == 40 {
			return fmt.Errorf("cluster: 40 channels and still a node runs fewer than two: %v", count)
		}
		via := ids[i%len(ids)]
		var ch struct{ ID, Token string }
		if err := c.call(ctx, via, "PUT", "/partner/channels", p.Token, map[string]any{"name": "cluster " + strconv.Itoa(i)}, &ch); err != nil {
			return err
		}
		if err := c.call(ctx, via, "POST", "/partner/channels/"+ch.ID+"/extend", p.Token, map[string]any{"days": 30, "comment": "bench"}, nil); err != nil {
			return err
		}
		if err := c.call(ctx, via, "PATCH", "/partner/channels/"+ch.ID+"/mode", p.Token, map[string]any{"mode": "live"}, nil); err != nil {
			return err
		}
		phone := fmt.Sprintf("1555500%04d", i)
		if err := c.call(ctx, via, "POST", "/admin/sim/phones", e.admin, map[string]any{"phone": phone, "name": "Sender " + strconv.Itoa(i)}, nil); err != nil {
			return err
		}
		api := &apiClient{base: "http://" + c.nodes[ids[(i+1)%len(ids)]].addr, hc: c.hc}
		sub := &env{o: e.o, prog: e.prog, admin: e.admin, api: api}
		if err := sub.linkQR(ctx, ch.Token, phone); err != nil {
			return fmt.Errorf("cluster: link channel %s: %w", ch.ID, err)
		}
		owner, err := c.send(ctx, via, ch.Token, c.recipients[0], 0, i)
		if err != nil {
			return err
		}
		if c.nodes[owner] == nil {
			return fmt.Errorf("cluster: channel %s served by unknown node %q", ch.ID, owner)
		}
		c.tokens = append(c.tokens, ch.Token)
		c.owner[ch.Token] = owner
		count[owner]++
	}
	return nil
}

// failover waits until every channel in toks answers a send through a
// survivor (each tried through the survivors in turn).
func (c *clusterEnv) failover(ctx context.Context, survivors, toks []string, d time.Duration) error {
	deadline := time.Now().Add(d)
	pending := slices.Clone(toks)
	for i := 0; len(pending) > 0; i++ {
		var next []string
		var last error
		for j, tok := range pending {
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := c.send(sctx, survivors[(i+j)%len(survivors)], tok, c.recipients[j%len(c.recipients)], j, i)
			cancel()
			if err != nil {
				next, last = append(next, tok), err
			}
		}
		pending = next
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: %d of %d channels still fail %s after the kill: %w", len(pending), len(toks), d, last)
		}
		if err := sleep(ctx, 100*time.Millisecond); errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
	return nil
}
