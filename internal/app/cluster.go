package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/api/gate"
	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/cluster"
	"github.com/wagate/wagate/internal/engine/simremote"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/web"
)

// Cluster mode is on whenever the database is PostgreSQL: every node on one
// database is a member, a single one owns every shard. The node joins when
// the runtime starts (Start, or StartRuntime in tests), with the address it
// listens on.

// clusterOn reports whether this server runs in cluster mode.
func (s *Server) clusterOn() bool { return s.store.Dialect() == store.Postgres }

// startCluster registers this node and starts following the shards; the
// service then runs only the channels of the shards it holds.
func (s *Server) startCluster(ctx context.Context) error {
	if !s.clusterOn() || s.cnode.Load() != nil {
		return nil
	}
	id, url := s.nodeIdentity()
	ttl := s.cfg.ClusterTTL
	if s.opts.ClusterTTL > 0 {
		ttl = s.opts.ClusterTTL
	}
	if ttl <= 0 {
		ttl = cluster.DefaultTTL
	}
	node, err := cluster.New(cluster.Options{
		Store: s.store, DSN: s.cfg.DatabaseURL, NodeID: id, URL: url, Version: Version,
		TTL: ttl, Heartbeat: ttl / 6, Log: s.log, Now: s.now, Handler: s.svc,
		BeforeLeave: func(ctx context.Context) {
			if s.simHost != nil {
				s.simHost.stop(ctx)
			}
		},
		NodeDead: func(_ context.Context, id string) {
			if s.simHost != nil {
				s.simHost.dropNode(id)
			}
		},
	})
	if err != nil {
		return err
	}
	s.svc.SetCluster(node)
	if err := node.Start(ctx); err != nil {
		return err
	}
	s.cnode.Store(node)
	if s.simHost != nil {
		s.simHost.start(ctx)
	}
	s.workers.Add(2)
	go func() {
		defer s.workers.Done()
		s.svc.RunApplier(s.clusterCtx)
	}()
	go func() {
		defer s.workers.Done()
		s.sweepOrphans(s.clusterCtx, node)
	}()
	return nil
}

// sweepOrphans removes, on the leader, the engine's devices no channel has
// owned for a while (a single node does it at start instead).
func (s *Server) sweepOrphans(ctx context.Context, node *cluster.Node) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if node.Leading() {
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			s.svc.SweepOrphans(sctx)
			cancel()
		}
	}
}

// nodeIdentity is the configured node ID and internal URL, or ones derived
// from the host name and the address this server listens on.
func (s *Server) nodeIdentity() (id, url string) {
	host, port, err := net.SplitHostPort(s.cfg.Addr)
	if err != nil {
		host, port = "", "0"
	}
	if s.listener != nil {
		_, port, _ = net.SplitHostPort(s.listener.Addr().String())
	}
	id = s.cfg.NodeID
	if id == "" {
		name, _ := os.Hostname()
		name = strings.Map(func(r rune) rune {
			if r == '.' || r == '_' || r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
				return r
			}
			return '-'
		}, name)
		if name == "" {
			name = "node"
		}
		id = name + "-" + port
		if len(id) > 64 {
			id = id[len(id)-64:]
		}
	}
	url = s.cfg.InternalURL
	if url == "" {
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = outboundIP()
		}
		url = "http://" + net.JoinHostPort(host, port)
	}
	return id, strings.TrimRight(url, "/")
}

// outboundIP is this machine's first non-loopback address (the loopback one
// when it has no other): what other machines most likely reach it by.
func outboundIP() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// fencedLinks makes the runtime's writes of a channel's link carry its
// shard's epoch in cluster mode: a node that lost the shard cannot write.
type fencedLinks struct {
	st    *store.Store
	now   func() time.Time
	fence func(ctx context.Context, channelID string) (context.Context, bool)
}

func (f fencedLinks) SetChannelLink(ctx context.Context, channelID, device, phone, name string, at time.Time) error {
	ctx, ok := f.fence(ctx, channelID)
	if !ok {
		return fmt.Errorf("channel %s: %w", channelID, store.ErrFenced)
	}
	ctx = f.audited(ctx, channelID, "channel.link", at, map[string]any{"phone": phone})
	return f.st.SetChannelLink(ctx, channelID, device, phone, name, at)
}

// audited makes the link change an audit entry of the system's, written
// in the change's transaction.
func (f fencedLinks) audited(ctx context.Context, channelID, action string, at time.Time, after map[string]any) context.Context {
	e := audit.Entry{At: at, Actor: audit.Actor{Kind: audit.ActorSystem}, ChannelID: channelID, Action: action, After: audit.JSON(after)}
	if ch, err := f.st.ChannelByID(ctx, channelID); err == nil {
		e.PartnerID = ch.PartnerID
		if action == "channel.unlink" {
			e.Before, e.After = audit.JSON(map[string]any{"phone": ch.WAPhone}), nil
		}
	}
	ctx, _ = audit.Record(ctx, e)
	return ctx
}

func (f fencedLinks) ClearChannelLink(ctx context.Context, channelID string) error {
	ctx, ok := f.fence(ctx, channelID)
	if !ok {
		return fmt.Errorf("channel %s: %w", channelID, store.ErrFenced)
	}
	ctx = f.audited(ctx, channelID, "channel.unlink", f.now(), nil)
	return f.st.ClearChannelLink(ctx, channelID)
}

// errNotOwner refuses an incoming event of a channel this node no longer
// runs: not acknowledged, WhatsApp gives it to the new owner.
var errNotOwner = errors.New("this node no longer runs the channel")

// clusterRoutes serves the node-to-node endpoints and sends each request
// of a channel another node runs to that node. Requests of a channel
// between nodes are served here: reads answer from the database, calls
// that need the session answer 503 with Retry-After.
func (s *Server) clusterRoutes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		node := s.cnode.Load()
		if node == nil {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set(cluster.NodeHeader, node.ID())
		if r.URL.Path == simremote.Path && s.simHost != nil {
			s.simHost.serve(w, r, node)
			return
		}
		if strings.HasPrefix(r.URL.Path, cluster.InternalPrefix) {
			node.ServeInternal(w, r)
			return
		}
		if node.Forwarded(r) {
			next.ServeHTTP(w, r)
			return
		}
		if s.simHost != nil && simRequest(r.URL.Path) {
			// The sim network's phone side is served where it is hosted.
			if url, local := s.simHost.where(); local == nil {
				if url == "" {
					httpx.WriteError(w, r, s.log, httpx.Errorf(http.StatusServiceUnavailable, "no node hosts the sim network right now (the leader is changing); try again"))
					return
				}
				w.Header().Del(cluster.NodeHeader)
				node.Forward(w, r, cluster.Route{URL: url, Node: "sim host"}, func() bool {
					now, local := s.simHost.where()
					return local == nil && now == url
				})
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		id := s.channelOfRequest(r)
		if id == "" {
			next.ServeHTTP(w, r)
			return
		}
		route := node.RouteOf(id)
		if route.Local || route.Unavailable {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Del(cluster.NodeHeader) // the owner sets its own
		node.Forward(w, r, route, func() bool {
			now := node.RouteOf(id)
			return !now.Unavailable && now.Node == route.Node
		})
	})
}

// channelOfRequest is the channel a request acts on, when it acts on one:
// the gate API's by its token, the partner API's and the dashboard's by
// their path.
func (s *Server) channelOfRequest(r *http.Request) string {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/partner/channels/"); ok {
		id, _, _ := strings.Cut(rest, "/")
		if id != "list" && id != "export" && id != "" {
			return id
		}
		return ""
	}
	if rest, ok := strings.CutPrefix(p, web.Prefix+"link/"); ok {
		// A hosted linking page runs the login flow of its channel: on
		// its owner.
		token, _, _ := strings.Cut(rest, "/")
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		return s.svc.LinkPageChannel(ctx, token)
	}
	if rest, ok := strings.CutPrefix(p, web.Prefix+"channels/"); ok {
		id, _, _ := strings.Cut(rest, "/")
		if id != "export" && id != "" {
			return id
		}
		return ""
	}
	for _, prefix := range gate.Prefixes {
		if p == prefix || (strings.HasSuffix(prefix, "/") && strings.HasPrefix(p, prefix)) {
			token := httpx.BearerToken(r)
			if token == "" {
				return ""
			}
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			ch, err := s.svc.AuthenticateChannel(ctx, token)
			if err != nil {
				return "" // answered here: 401
			}
			return ch.ID
		}
	}
	return ""
}

// stopCluster hands this node's shards over (bounded by ctx) and leaves.
func (s *Server) stopCluster(ctx context.Context) error {
	node := s.cnode.Load()
	if node == nil {
		return nil
	}
	err := node.Shutdown(ctx)
	if s.clusterStop != nil {
		s.clusterStop()
	}
	return err
}

// ClusterNode is this server's cluster membership (nil on a single node or
// before the runtime started), for tests and wagate bench.
func (s *Server) ClusterNode() *cluster.Node { return s.cnode.Load() }

// nodeID is this node's cluster ID ("" on a single node or before it
// joined): webhook claims carry it.
func (s *Server) nodeID() string {
	if n := s.cnode.Load(); n != nil {
		return n.ID()
	}
	return ""
}
