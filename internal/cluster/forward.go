package cluster

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/httpx"
)

// Headers of forwarded requests. A request carrying a valid HopHeader was
// forwarded by another node of this cluster: it is served where it lands,
// never forwarded again, and ClientHeader says who sent it first.
const (
	HopHeader    = "X-Wagate-Forwarded-By"
	ClientHeader = "X-Wagate-Client-Addr"
	// NodeHeader names the node that served a request, on every answer in
	// cluster mode.
	NodeHeader = "X-Wagate-Node"
	// hopWindow bounds how old a hop signature may be.
	hopWindow = time.Minute
)

// sign is the hop signature of a request: the cluster's secret over the
// forwarding node, the time, the method, the target and the client address.
func (n *Node) sign(node string, at int64, r *http.Request, client string) string {
	m := hmac.New(sha256.New, n.secret)
	for _, part := range []string{node, strconv.FormatInt(at, 10), r.Method, r.URL.RequestURI(), client} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// Forwarded reports whether r was forwarded by a node of this cluster (a
// valid, recent hop signature); if so it restores the client's address.
func (n *Node) Forwarded(r *http.Request) bool {
	v := r.Header.Get(HopHeader)
	if v == "" {
		return false
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return false
	}
	at, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || time.Since(time.UnixMilli(at)).Abs() > hopWindow {
		return false
	}
	client := r.Header.Get(ClientHeader)
	want := n.sign(parts[0], at, r, client)
	if !hmac.Equal([]byte(want), []byte(parts[2])) {
		return false
	}
	if client != "" {
		r.RemoteAddr = client
	}
	return true
}

// From is the node that signed r (valid once Authenticated or Forwarded
// said yes).
func From(r *http.Request) string {
	id, _, _ := strings.Cut(r.Header.Get(HopHeader), ".")
	return id
}

// Sign makes a node-to-node request (not a forwarded one) carry this
// node's signature; Authenticated checks it on the other side.
func (n *Node) Sign(r *http.Request) {
	at := time.Now().UnixMilli()
	r.Header.Del(ClientHeader)
	r.Header.Set(HopHeader, n.o.NodeID+"."+strconv.FormatInt(at, 10)+"."+n.sign(n.o.NodeID, at, r, ""))
}

// Authenticated reports whether r comes from a node of this cluster.
func (n *Node) Authenticated(r *http.Request) bool { return n.Forwarded(r) }

// proxy returns the reverse proxy to other nodes (built once).
func (n *Node) proxy() *httputil.ReverseProxy {
	n.proxyOnce.Do(func() {
		tr := &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			// The longest answer is a send of a large file to WhatsApp.
			ResponseHeaderTimeout: 2 * time.Minute,
		}
		n.rproxy = &httputil.ReverseProxy{
			Transport: tr,
			Rewrite: func(pr *httputil.ProxyRequest) {
				target, _ := pr.In.Context().Value(targetKey{}).(*url.URL)
				pr.SetURL(target)
				pr.Out.URL.Path, pr.Out.URL.RawPath = pr.In.URL.Path, pr.In.URL.RawPath
				pr.Out.URL.RawQuery = pr.In.URL.RawQuery
				pr.Out.Host = pr.In.Host
				client := pr.In.RemoteAddr
				at := time.Now().UnixMilli()
				pr.Out.Header.Set(ClientHeader, client)
				pr.Out.Header.Set(HopHeader, n.o.NodeID+"."+strconv.FormatInt(at, 10)+"."+n.sign(n.o.NodeID, at, pr.Out, client))
			},
			ErrorHandler: n.forwardError,
		}
	})
	return n.rproxy
}

type targetKey struct{}

func contextWithTarget(ctx context.Context, u *url.URL) context.Context {
	return context.WithValue(ctx, targetKey{}, u)
}

// errOwnerStale ends a forwarded request whose target stopped renewing its
// heartbeat (paused, cut off) before it answered.
var errOwnerStale = errors.New("the node that runs this channel stopped answering")

// Forward sends r to the node rt names and relays its answer. still,
// asked every 250 ms while the answer is awaited, says whether that node
// is still the right one and alive; when it says no, the request ends with
// 503 (a paused node cannot apply it later: its ownership is fenced).
func (n *Node) Forward(w http.ResponseWriter, r *http.Request, rt Route, still func() bool) {
	target, err := url.Parse(rt.URL)
	if err != nil || target.Host == "" {
		httpx.WriteError(w, r, n.o.Log, httpx.Errorf(http.StatusServiceUnavailable,
			"the node that runs this channel (%s) has no usable internal URL; try again", rt.Node))
		return
	}
	ctx, cancel := context.WithCancelCause(contextWithTarget(r.Context(), target))
	defer cancel(nil)
	if still != nil {
		done := make(chan struct{})
		defer close(done)
		go func() {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					if !still() {
						cancel(errOwnerStale)
						return
					}
				}
			}
		}()
	}
	n.forwards.Add(1)
	n.proxy().ServeHTTP(w, r.WithContext(ctx))
}

// forwardError answers a request the owner did not answer: 503 when it
// never reached it (try again: the shard may move), 502 when it broke off
// after being sent (it may have been applied; nothing is retried).
func (n *Node) forwardError(w http.ResponseWriter, r *http.Request, err error) {
	n.forwardErrors.Add(1)
	target, _ := r.Context().Value(targetKey{}).(*url.URL)
	host := ""
	if target != nil {
		host = target.Host
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		n.o.Log.Warn("cluster: owner node unreachable", "node", host, "path", r.URL.Path, "error", err)
		httpx.WriteError(w, r, n.o.Log, &httpx.Error{Status: http.StatusServiceUnavailable,
			Message: "the node that runs this channel cannot be reached right now; try again", Details: "node " + host})
		return
	}
	if errors.Is(context.Cause(r.Context()), errOwnerStale) {
		n.o.Log.Warn("cluster: owner node stopped answering a forwarded request", "node", host, "path", r.URL.Path)
		httpx.WriteError(w, r, n.o.Log, &httpx.Error{Status: http.StatusServiceUnavailable,
			Message: "the node that runs this channel stopped answering; its channels are moving to another node: try again",
			Details: "node " + host})
		return
	}
	if r.Context().Err() != nil {
		return // the client went away
	}
	n.o.Log.Warn("cluster: forwarded request failed", "node", host, "path", r.URL.Path, "error", err)
	httpx.WriteError(w, r, slog.New(slog.DiscardHandler), &httpx.Error{Status: http.StatusBadGateway,
		Message: "the node that runs this channel did not finish answering; the request may or may not have been applied",
		Details: "node " + host})
}

// InternalPrefix is the path of the node-to-node endpoints.
const InternalPrefix = "/internal/cluster/"

// ServeInternal answers the node-to-node endpoints: GET
// /internal/cluster/node says which node and incarnation answer here (a
// restarted node checks whether its previous run still lives).
func (n *Node) ServeInternal(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != InternalPrefix+"node" {
		httpx.WriteError(w, r, n.o.Log, httpx.Errorf(http.StatusNotFound, "no such cluster endpoint"))
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"node_id": n.o.NodeID, "incarnation": n.inc})
}

// probe asks the node at base which incarnation answers there ("" when
// none does).
func probe(ctx context.Context, base string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+InternalPrefix+"node", nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var v struct {
		Incarnation string `json:"incarnation"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&v) != nil {
		return ""
	}
	return v.Incarnation
}
