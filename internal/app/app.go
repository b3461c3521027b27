// Package app is wagate's composition root: it builds the logger, store,
// services, background workers and HTTP server from a Config, runs them, and
// shuts them down in order. Nothing imports app but cmd/wagate.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wagate/wagate/internal/api/admin"
	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/api/gate"
	"github.com/wagate/wagate/internal/api/openapi"
	"github.com/wagate/wagate/internal/api/partner"
	"github.com/wagate/wagate/internal/api/simapi"
	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/cluster"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/engine/whatsmeow"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/metrics"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/web"
	"github.com/wagate/wagate/internal/webhook"
)

// Version is set at build time with -ldflags "-X .../internal/app.Version=...".
var Version = "dev"

// NewLogger builds the process logger.
func NewLogger(w io.Writer, cfg config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// OpenStore opens and migrates the configured database.
func OpenStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{URL: cfg.DatabaseURL, SQLitePath: cfg.SQLitePath()})
	if err != nil {
		return nil, err
	}
	n, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if n > 0 {
		log.Info("database migrated", "dialect", st.Dialect(), "applied", n, "version", store.SchemaVersion())
	}
	return st, nil
}

// Server is a running wagate.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	store   *store.Store
	svc     *service.Service
	engine  engine.Engine
	sim     *sim.Network // set when the sim engine runs (in a cluster: hosted here while this node leads)
	simHost *simHost
	// simPhones is the phone side of the network for the dashboard (the
	// network itself, or the host's in a cluster).
	simPhones web.SimNetwork
	rt        *runtime.Manager
	rtReady   atomic.Pointer[runtime.Manager] // rt, once built (for the engine's callbacks)
	hooks     *webhook.Dispatcher
	http      *http.Server
	listener  net.Listener
	// metrics are served at /metrics (metrics.go), and without a token on
	// metricsHTTP when WAGATE_METRICS_ADDR is set.
	metrics     *metrics.Metrics
	metricsHTTP *http.Server
	metricsLn   net.Listener
	ready       atomic.Bool
	workers     sync.WaitGroup
	stop        context.CancelFunc
	// loginLimit tunes the dashboard's login throttle.
	loginLimit service.LoginLimit
	opts       Options
	now        func() time.Time
	// cnode is the cluster membership once started (cluster.go);
	// clusterCtx ends with clusterStop.
	cnode       atomic.Pointer[cluster.Node]
	clusterCtx  context.Context
	clusterStop context.CancelFunc
}

// Options tune a Server for tests and benchmarks.
type Options struct {
	// Now replaces the clock.
	Now func() time.Time
	// BcryptCost lowers password hashing cost (tests).
	BcryptCost int
	// Out receives the one-time admin token notice (never the log); dropped when nil.
	Out io.Writer
	// Sim tunes the simulated network (QR timings) when the sim engine runs.
	Sim sim.Options
	// ProbeProxy replaces the pool proxies' health check (tests).
	ProbeProxy func(ctx context.Context, proxyURL string) error
	// Whatsmeow tunes the whatsmeow engine beyond the configuration: a
	// fake WhatsApp server's client hook and HTTP client, the version
	// refresh (tests and wagate bench only).
	Whatsmeow whatsmeow.Options
	// Reconnect, Outdated and Ban replace the runtime's retry schedules,
	// KeepAliveGrace its keepalive grace (tests).
	Reconnect, Outdated, Ban runtime.Backoff
	KeepAliveGrace           time.Duration
	// OutdatedSpread replaces the time over which channels refused as
	// outdated connect again once a newer version is known (30 s);
	// negative: all at once (tests).
	OutdatedSpread time.Duration
	// WrapIngest wraps the storage of incoming events (tests: failures,
	// delays).
	WrapIngest func(next IngestFunc) IngestFunc
	// LoginLimit tunes the dashboard's login throttle (tests).
	LoginLimit service.LoginLimit
	// LookupHost replaces the resolver of proxy host names (tests).
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// ClusterTTL replaces the configured heartbeat TTL of cluster mode
	// (tests: seconds instead of the 3 s minimum).
	ClusterTTL time.Duration
}

// IngestFunc stores one incoming engine event of a channel.
type IngestFunc func(ctx context.Context, channelID string, ev engine.Event) error

// New opens the store, prepares the admin token and builds the HTTP server.
// It listens when Start is called.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, o Options) (*Server, error) {
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, store: st, loginLimit: o.LoginLimit, opts: o}
	s.clusterCtx, s.clusterStop = context.WithCancel(context.WithoutCancel(ctx))
	if err := s.openEngine(ctx, o); err != nil {
		st.Close()
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	var svc *service.Service // the runtime's callbacks run only after Start
	s.now = now
	dbName := "sqlite"
	if cfg.DatabaseURL != "" {
		dbName = "postgres"
	}
	s.metrics = metrics.New(metrics.Options{DB: st.DB(), DBName: dbName, Now: now,
		Source: metricsSource{svc: func() *service.Service { return svc }, st: st, now: now}})
	var ingest IngestFunc = func(ctx context.Context, channelID string, ev engine.Event) error {
		if !svc.RunsHere(channelID) {
			return errNotOwner
		}
		return svc.Ingest(ctx, channelID, ev)
	}
	if o.WrapIngest != nil {
		ingest = o.WrapIngest(ingest)
	}
	s.rt = runtime.New(runtime.Options{
		Engine: s.engine, Log: log, Now: now,
		Store: fencedLinks{st: st, fence: func(ctx context.Context, id string) (context.Context, bool) { return svc.FenceContext(ctx, id) }},
		OnEvent: func(e runtime.Event) {
			log.Info("channel event", "channel_id", e.ChannelID, "event", e.Kind, "status", e.Health.Status.String(),
				"state", e.Health.State, "reason", e.Reason)
			s.metrics.RuntimeEvent(e)
			svc.HandleRuntimeEvent(e)
		},
		Ingest:      ingest,
		SentPayload: st.SentPayload,
		Reconnect:   o.Reconnect, Outdated: o.Outdated, Ban: o.Ban, KeepAliveGrace: o.KeepAliveGrace,
	})
	s.rtReady.Store(s.rt)
	media, mediaDir, err := s.openMedia(ctx)
	if err != nil {
		s.engine.Close()
		st.Close()
		return nil, fmt.Errorf("media store: %w", err)
	}
	hooks, err := webhook.New(webhook.Options{Store: st, Log: log, Now: o.Now, AllowPrivate: cfg.WebhookAllowPrivate, Node: s.nodeID,
		Metrics: s.metrics})
	if err != nil {
		s.engine.Close()
		st.Close()
		return nil, err
	}
	s.hooks = hooks
	svc = service.New(st, log, service.Options{
		Notify: hooks.Wake, Version: Version, SendTest: hooks.Send,
		PartnerView: func(p model.Partner) any { return apiutil.NewPartner(p) },
		ChannelView: func(ch model.Channel) any {
			c := apiutil.NewChannel(ch, svc.APIURL(), now())
			c.Token = "" // webhooks never carry the channel's token
			return c
		},
		APIURL: cfg.APIURL(), Now: o.Now, BcryptCost: o.BcryptCost, Runtime: s.rt, ProbeProxy: o.ProbeProxy,
		MediaDir: mediaDir, Media: media, FFmpeg: cfg.FFmpeg, AllowPrivateURLs: cfg.MediaAllowPrivate, AllowPrivateWebhooks: cfg.WebhookAllowPrivate,
		SentRetention: cfg.SentRetention, Metrics: s.metrics,
		AllowPrivateProxies: cfg.ProxyAllowPrivate, LookupHost: o.LookupHost,
	})
	s.svc = svc
	if s.clusterOn() {
		svc.SetClusterStarter(s.startCluster)
	}
	token, err := svc.EnsureAdminToken(ctx, cfg.AdminToken)
	if err != nil {
		s.engine.Close()
		st.Close()
		return nil, err
	}
	if token != "" {
		msg := "Generated the operator (admin) token. It is shown only this once; only its hash is stored.\n" +
			"Keep it safe, or set WAGATE_ADMIN_TOKEN to choose your own:\n\n    " + token + "\n\n"
		out := o.Out
		if out == nil {
			out = io.Discard
		}
		fmt.Fprint(out, msg)
	}
	handler, err := s.routes()
	if err != nil {
		s.engine.Close()
		st.Close()
		return nil, err
	}
	s.http = &http.Server{
		Addr:              cfg.Addr,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Service returns the use-case layer (for the CLI and tests).
func (s *Server) Service() *service.Service { return s.svc }

// Handler returns the HTTP handler (for tests through the real router).
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Addr is the address the server listens on, once started.
func (s *Server) Addr() string {
	if s.listener == nil {
		return s.cfg.Addr
	}
	return s.listener.Addr().String()
}

func (s *Server) routes() (http.Handler, error) {
	mux := http.NewServeMux()
	spec, err := openapi.Handler()
	if err != nil {
		return nil, err
	}
	mux.Handle("GET /openapi.json", spec)
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {
		httpx.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metricsHandler())
	mux.Handle("/partner/", partner.NewHandler(s.svc, s.log))
	adminAPI := admin.NewHandler(s.svc, s.log)
	if s.sim != nil {
		simapi.Register(adminAPI.RouteLimit, s.sim)
	}
	mux.Handle("/admin/", adminAPI)
	gateAPI := gate.NewHandler(s.svc, s.log, Version)
	for _, p := range gate.Prefixes {
		mux.Handle(p, gateAPI)
	}
	dash, err := s.dashboard()
	if err != nil {
		return nil, err
	}
	mux.Handle(web.Prefix, dash)
	mux.Handle("GET /docs", dash) // the API reference, rendered by the dashboard
	mux.Handle("GET /{$}", httpx.Handle(s.log, func(w http.ResponseWriter, r *http.Request) error {
		if strings.Contains(r.Header.Get("Accept"), "text/html") { // a browser: the dashboard
			http.Redirect(w, r, web.Prefix, http.StatusSeeOther)
			return nil
		}
		httpx.JSON(w, http.StatusOK, map[string]string{
			"name": "wagate", "version": Version, "openapi": "/openapi.json",
		})
		return nil
	}))
	// Changes are audited with the client's address (behind trusted
	// proxies and cluster forwarding, RemoteAddr is the client's by then).
	routed := httpx.JSONMux(mux, s.log, "wagate")
	withIP := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		routed.ServeHTTP(w, r.WithContext(audit.WithIP(r.Context(), audit.RequestIP(r))))
	})
	h := s.clusterRoutes(withIP)
	h = httpx.Recover(s.log, h)
	h = httpx.SecurityHeaders(h)
	h = httpx.LogRequests(s.log, h)
	h = httpx.WithRequestID(h)
	// Outermost: behind trusted reverse proxies the client's address and
	// scheme are known before anything logs, limits or audits.
	trusted, err := config.ParseTrustedProxies(s.cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	h = httpx.TrustProxies(trusted, h)
	return h, nil
}

// dashboard builds the web dashboard, with the sim panel on the sim engine.
func (s *Server) dashboard() (http.Handler, error) {
	doc, err := openapi.Load()
	if err != nil {
		return nil, err
	}
	o := web.Options{Service: s.svc, Log: s.log, SessionTTL: s.cfg.SessionLifetime, SecureCookies: s.cfg.CookieSecure, Version: Version,
		LoginLimit: s.loginLimit, API: doc}
	switch {
	case s.simPhones != nil:
		o.Sim = s.simPhones
	case s.sim != nil:
		o.Sim = s.sim
	}
	return web.New(o)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		httpx.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readiness: database does not answer", "error", err)
		httpx.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Start listens and serves in the background, and starts the workers.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	s.listener = ln
	if err := s.startMetricsListener(); err != nil {
		_ = ln.Close()
		return err
	}
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.workers.Add(3)
	go func() {
		defer s.workers.Done()
		s.expiryLoop(wctx)
	}()
	go func() {
		defer s.workers.Done()
		s.retentionLoop(wctx)
	}()
	go func() {
		defer s.workers.Done()
		if err := s.hooks.Run(wctx); err != nil && wctx.Err() == nil {
			s.log.Error("webhook dispatcher stopped", "error", err)
		}
	}()
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "error", err)
		}
	}()
	if s.cfg.PublicURL == "" {
		// Without WAGATE_PUBLIC_URL the API URL is the bound address: an
		// ephemeral port (":0") is known only now.
		bound := s.cfg
		bound.Addr = ln.Addr().String()
		s.svc.SetAPIURL(bound.APIURL())
		if host, _, _ := net.SplitHostPort(s.cfg.Addr); host == "" || net.ParseIP(host).IsUnspecified() {
			s.log.Warn("WAGATE_PUBLIC_URL is not set: channels report apiUrl " + s.svc.APIURL() + ", which clients elsewhere cannot reach; set it to this server's public address")
		}
	}
	n, err := s.svc.StartRuntime(ctx)
	if err != nil {
		if errors.Is(err, cluster.ErrNodeIDInUse) {
			s.stop()
			_ = s.http.Close()
			return err
		}
		s.log.Error("starting channels failed", "error", err)
	}
	if s.simHost != nil {
		s.simHost.start(ctx) // a single node saves its network as it changes
	}
	s.svc.StartHistory(wctx) // history chunks queued before a restart (service/history.go)
	s.ready.Store(true)
	s.log.Info("wagate listening", "channels", n, "addr", ln.Addr().String(), "api_url", s.svc.APIURL(),
		"database", s.store.Dialect(), "engine", s.cfg.Engine, "version", Version)
	return nil
}

// pruneEvery is how often kept sent messages past their retention are
// pruned.
const pruneEvery = time.Hour

// expiryLoop stops channels whose days ran out, every ExpiryInterval, and
// prunes what is kept for a limited time.
func (s *Server) expiryLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.ExpiryInterval)
	defer t.Stop()
	var pruned time.Time
	for {
		if time.Since(pruned) >= pruneEvery {
			pruned = time.Now()
			if n, err := s.svc.PruneSentPayloads(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("pruning kept sent messages failed", "error", err)
			} else if n > 0 {
				s.log.Info("kept sent messages pruned", "messages", n)
			}
		}
		if _, err := s.svc.ExpireDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("expiry sweep failed", "error", err)
		}
		if _, err := s.svc.PruneIdempotencyKeys(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("pruning idempotency keys failed", "error", err)
		}
		if n, err := s.svc.ExpireMedia(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("media expiry failed", "error", err)
		} else if n > 0 {
			s.log.Info("expired media removed", "files", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Shutdown stops in order: readiness off, HTTP drained (bounded by ctx),
// workers stopped, database closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	// A cluster node first hands its channels over, serving (and
	// forwarding) requests meanwhile, within half the budget.
	if s.cnode.Load() != nil {
		cctx := ctx
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			cctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/2))
			defer cancel()
		}
		if err := s.stopCluster(cctx); err != nil {
			s.log.Warn("cluster: leaving the cluster did not finish cleanly", "error", err)
		}
	}
	err := s.http.Shutdown(ctx)
	if s.metricsHTTP != nil {
		_ = s.metricsHTTP.Shutdown(ctx)
	}
	if s.stop != nil {
		s.stop()
	}
	if s.clusterStop != nil {
		s.clusterStop()
	}
	s.workers.Wait()
	s.svc.StopHistory() // before the sessions it fetches from close
	if rerr := s.rt.Shutdown(ctx); err == nil {
		err = rerr
	}
	if s.simHost != nil && s.cnode.Load() == nil {
		s.simHost.stop(ctx) // a single node's final save, its sessions closed
	}
	if eerr := s.engine.Close(); err == nil {
		err = eerr
	}
	if cerr := s.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// Run starts the server and blocks until ctx ends, then shuts down.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, o Options) error {
	s, err := New(ctx, cfg, log, o)
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		s.store.Close()
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
