// Package bench measures a real wagate against the machine's limits: it
// starts the server on the sim engine in a temporary data dir (SQLite, or
// PostgreSQL in a schema of its own), drives it through its HTTP API with
// loopback clients and webhook receivers, and puts every figure next to a
// physical reference measured in the same process a moment before or after:
//
//   - send: POST /messages/text with N clients over M channels, each message
//     going all the way to a sim phone, against a bare net/http handler
//     that decodes the same JSON;
//   - webhooks: messages.post deliveries to a loopback receiver (a backlog
//     drained at full speed, events at the send pipeline's full speed, and
//     events at a steady rate), against a plain loop of POSTs of the same
//     body to the same receiver;
//   - channels: heap, stacks and goroutines per idle linked sim channel at
//     100, 1,000 and 10,000 channels, and the time a freshly started server
//     takes to bring them all to AUTH;
//   - partner: channel creation, extension, listing and CSV export of a
//     partner's 10,000 channels, per second.
//
// Run is what `wagate bench` and BenchmarkGateway call. The server is
// started through Options.Start (app.StartBenchServer), so this package
// does not import app, which imports it for the command line.
package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/engine/whatsmeow"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
)

// Section names, in the order Run measures them.
const (
	SectionSend      = "send"
	SectionWebhooks  = "webhooks"
	SectionReceive   = "receive"
	SectionRetention = "retention"
	SectionGrow      = "grow"
	SectionChannels  = "channels"
	SectionPartner   = "partner"
	SectionWhatsmeow = "whatsmeow"
	SectionCluster   = "cluster"
)

// Sections lists every section in run order.
func Sections() []string {
	return []string{SectionSend, SectionWebhooks, SectionReceive, SectionRetention, SectionGrow, SectionChannels, SectionPartner, SectionCluster, SectionWhatsmeow}
}

// Defaults of Options.
const (
	DefaultDuration    = 60 * time.Second
	DefaultClients     = 8
	DefaultChannels    = 4
	DefaultMaxChannels = 10_000
	DefaultMaxSessions = 10_000
	DefaultSessionIdle = 10 * time.Second
	// Recipients is how many sim phones the send and webhook sections
	// write to, round robin: a channel's messages to one chat are delivered
	// to webhooks one at a time, in order, so the number of chats bounds
	// how many deliveries can be under way.
	Recipients = 64
)

// Server is a running wagate (*app.Server).
type Server interface {
	Addr() string
	Service() *service.Service
	Shutdown(ctx context.Context) error
}

// Starter builds a server from cfg and starts it (listening, workers and
// channels started): app.StartBenchServer. wa, when set, tunes the
// whatsmeow engine (pointing it at the bench's fake WhatsApp server).
type Starter func(ctx context.Context, cfg config.Config, log *slog.Logger, wa *whatsmeow.Options) (Server, error)

// Options say what to measure and how long.
type Options struct {
	// Start starts the server under test. Required.
	Start Starter `json:"-"`
	// DatabaseURL is a PostgreSQL URL; the bench works in a schema of its
	// own there, dropped at the end. Empty: SQLite in a temporary dir.
	DatabaseURL string `json:"-"`
	// Duration bounds the timed measurements; each section gets a share.
	// Setting up (seeding channels, starting servers) comes on top.
	Duration time.Duration `json:"duration_ns"`
	// Clients is the number of concurrent HTTP clients.
	Clients int `json:"clients"`
	// Channels is the number of live channels the send and webhook
	// sections send through.
	Channels int `json:"channels"`
	// MaxChannels is the largest number of idle channels (levels 100,
	// 1,000 and 10,000 up to it, and it); partner listing and export use
	// that many.
	MaxChannels int `json:"max_channels"`
	// MaxSessions is the most connected whatsmeow sessions (levels 1,000
	// and 10,000 up to it, and it); SessionIdle how long they idle before
	// their memory is read.
	MaxSessions int           `json:"max_sessions"`
	SessionIdle time.Duration `json:"session_idle_ns"`
	// GrowMessages is how many messages the data that grows section
	// seeds (over up to 1,000 channels).
	GrowMessages int `json:"grow_messages"`
	// FakeWhatsApp makes the command of the fake WhatsApp child process
	// (the environment is added); nil: this executable's "bench".
	FakeWhatsApp func() *exec.Cmd `json:"-"`
	// Node makes the command of a cluster node child process (the
	// environment is added); nil: this executable's "bench".
	Node func() *exec.Cmd `json:"-"`
	// Sections to run; empty: all.
	Sections []string `json:"sections"`
	// TempDir is where the data dir is made; empty: os.TempDir().
	TempDir string `json:"-"`
	// Log receives the server's log (errors only by default); nil: discarded.
	Log *slog.Logger `json:"-"`
	// ProfileDir, when set, receives CPU profiles of the whole process
	// during wagate's send window (send.pprof), the webhook backlog drain
	// (webhooks.pprof) and the start of the most idle channels
	// (restart.pprof).
	ProfileDir string `json:"-"`
}

func (o Options) withDefaults() (Options, error) {
	if o.Start == nil {
		return o, errors.New("bench: Options.Start is required")
	}
	if o.Duration <= 0 {
		o.Duration = DefaultDuration
	}
	if o.Clients <= 0 {
		o.Clients = DefaultClients
	}
	if o.Channels <= 0 {
		o.Channels = DefaultChannels
	}
	if o.MaxChannels <= 0 {
		o.MaxChannels = DefaultMaxChannels
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.GrowMessages <= 0 {
		o.GrowMessages = DefaultGrowMessages
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = DefaultSessionIdle
	}
	if len(o.Sections) == 0 {
		o.Sections = Sections()
	}
	for _, s := range o.Sections {
		if !slices.Contains(Sections(), s) {
			return o, fmt.Errorf("bench: unknown section %q (want %s)", s, strings.Join(Sections(), ", "))
		}
	}
	if o.Clients > 1024 || o.Channels > 1024 {
		return o, errors.New("bench: at most 1024 clients and 1024 channels")
	}
	if o.GrowMessages > 10_000_000 {
		return o, errors.New("bench: at most 10,000,000 grown messages")
	}
	if o.MaxChannels > 1_000_000 {
		return o, errors.New("bench: at most 1,000,000 idle channels")
	}
	if o.MaxSessions > 15_000 {
		return o, errors.New("bench: at most 15,000 whatsmeow sessions (each holds a socket in this process and in the fake server's)")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

func (o Options) has(section string) bool { return slices.Contains(o.Sections, section) }

// share is the part of Duration a section's timed runs get.
func (o Options) share(section string) time.Duration {
	weights := map[string]float64{SectionSend: 0.35, SectionWebhooks: 0.40, SectionPartner: 0.25, SectionCluster: 0.25, SectionReceive: 0.2, SectionRetention: 0.25, SectionGrow: 0.25}
	total := 0.0
	for _, s := range o.Sections {
		total += weights[s]
	}
	if total == 0 || weights[section] == 0 {
		return 0
	}
	return time.Duration(float64(o.Duration) * weights[section] / total)
}

// Run measures the sections of o and returns the report; progress gets a
// line per step (nil: none). It stops early, with an error, when ctx ends.
func Run(ctx context.Context, o Options, progress io.Writer) (Report, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Report{}, err
	}
	rep := Report{
		Started: time.Now().UTC(), GoVersion: goruntime.Version(), GOOS: goruntime.GOOS, GOARCH: goruntime.GOARCH,
		NumCPU: goruntime.NumCPU(), GOMAXPROCS: goruntime.GOMAXPROCS(0), Database: string(store.SQLite), Options: o,
	}
	if o.DatabaseURL != "" {
		rep.Database = string(store.Postgres)
	}
	e, err := newEnv(ctx, o, progress)
	if err != nil {
		return rep, err
	}
	defer e.close()
	err = e.run(ctx, &rep)
	rep.Finished = time.Now().UTC()
	rep.Seconds = rep.Finished.Sub(rep.Started).Seconds()
	rep.Notes = append(rep.Notes, e.notes...)
	rep.Statements = e.statements
	rep.Storage = e.storage
	rep.Goals = goals(rep)
	return rep, err
}

func (e *env) run(ctx context.Context, rep *Report) error {
	if err := e.boot(ctx); err != nil {
		return err
	}
	if err := e.prepare(ctx); err != nil {
		return err
	}
	var err error
	if e.o.has(SectionSend) {
		if rep.Send, err = e.benchSend(ctx); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	if e.o.has(SectionWebhooks) {
		if rep.Webhooks, err = e.benchWebhooks(ctx); err != nil {
			return fmt.Errorf("webhooks: %w", err)
		}
	}
	if e.o.has(SectionReceive) {
		if rep.Receive, err = e.benchReceive(ctx); err != nil {
			return fmt.Errorf("receive: %w", err)
		}
	}
	if e.o.has(SectionRetention) {
		if rep.Retention, err = e.benchRetention(ctx); err != nil {
			return fmt.Errorf("retention: %w", err)
		}
	}
	if e.o.has(SectionGrow) {
		if rep.Grow, err = e.benchGrow(ctx, rep.Send); err != nil {
			return fmt.Errorf("grow: %w", err)
		}
	}
	if e.o.has(SectionChannels) {
		if rep.Channels, err = e.benchChannels(ctx); err != nil {
			return fmt.Errorf("channels: %w", err)
		}
	}
	if e.o.has(SectionPartner) {
		if rep.Partner, err = e.benchPartner(ctx); err != nil {
			return fmt.Errorf("partner: %w", err)
		}
	}
	if err := e.shutdown(ctx); err != nil {
		return err
	}
	if e.o.has(SectionCluster) {
		if e.o.DatabaseURL == "" {
			e.notes = append(e.notes, "cluster: skipped, cluster mode needs PostgreSQL (run with --database-url)")
		} else if rep.Cluster, err = e.benchCluster(ctx); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	if e.o.has(SectionWhatsmeow) {
		if rep.Whatsmeow, err = e.benchWhatsmeow(ctx, rep.Send); err != nil {
			return fmt.Errorf("whatsmeow: %w", err)
		}
	}
	return nil
}

// env is one bench run's server, database and clients.
type env struct {
	o     Options
	prog  *progress
	dir   string
	dbURL string
	// dropSchema drops the PostgreSQL schema (nil on SQLite).
	dropSchema func()
	admin      string
	api        *apiClient
	srv        Server
	notes      []string
	// engine is the engine the server runs (sim unless set); wa tunes the
	// whatsmeow engine.
	engine string
	wa     *whatsmeow.Options

	// Set by prepare: the partner the send and webhook sections use.
	partnerToken string
	// Set by setupLive: the live linked channels' tokens and the sim
	// phones they write to.
	live       []string
	livePhones []string
	liveIDs    []string
	recipients []string
	// Set by seedIdle: the partner owning the idle channels.
	idlePartner      string
	idlePartnerToken string
	idle             []model.Channel
	// Set by storageRef: the storage reference, measured once.
	storage *StorageReport
	// pg_stat_statements readings of the measured windows (PostgreSQL).
	pgStatsDB  *sql.DB
	pgStatsOff bool
	statements []StatementWindow
}

func newEnv(ctx context.Context, o Options, progress io.Writer) (*env, error) {
	dir, err := os.MkdirTemp(o.TempDir, "wagate-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	e := &env{o: o, prog: newProgress(progress), dir: dir, admin: "wga_bench_" + randHex(16)}
	e.api = newAPIClient(o.Clients)
	if o.DatabaseURL != "" {
		u, drop, err := postgresSchema(ctx, o.DatabaseURL)
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		e.dbURL, e.dropSchema = u, drop
	}
	return e, nil
}

func (e *env) close() {
	if e.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = e.srv.Shutdown(ctx)
		cancel()
		e.srv = nil
	}
	e.api.close()
	if e.pgStatsDB != nil {
		_ = e.pgStatsDB.Close()
	}
	if e.dropSchema != nil {
		e.dropSchema()
	}
	_ = os.RemoveAll(e.dir)
	e.prog.done()
}

// config is the server's configuration: the sim engine (unless the env
// runs another) on a loopback port, loopback webhooks allowed, errors
// logged only.
func (e *env) config() config.Config {
	eng := e.engine
	if eng == "" {
		eng = config.EngineSim
	}
	return config.Config{
		Addr: "127.0.0.1:0", DataDir: e.dir, DatabaseURL: e.dbURL, AdminToken: e.admin,
		Engine: eng, WebhookAllowPrivate: true, LogLevel: slog.LevelError, LogFormat: "text",
		ExpiryInterval: time.Minute, ShutdownTimeout: 30 * time.Second,
	}
}

// boot starts a server on the bench's data dir; there must be none running.
func (e *env) boot(ctx context.Context) error {
	if e.srv != nil {
		return errors.New("bench: a server is already running")
	}
	srv, err := e.o.Start(ctx, e.config(), e.o.Log, e.wa)
	if err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	e.srv = srv
	e.api.base = "http://" + srv.Addr()
	return nil
}

// shutdown stops the running server, if any.
func (e *env) shutdown(ctx context.Context) error {
	if e.srv == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	err := e.srv.Shutdown(sctx)
	e.srv = nil
	e.api.idle()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// prepare lifts the channel creation rate limit and creates the partner
// the send, webhook and partner sections act as.
func (e *env) prepare(ctx context.Context) error {
	if err := e.api.call(ctx, "PATCH", "/admin/settings", e.admin, map[string]any{"channel_create_limit": 0}, nil); err != nil {
		return err
	}
	var p struct{ Token string }
	if err := e.api.call(ctx, "POST", "/admin/partners", e.admin,
		map[string]any{"name": "bench", "email": "bench@example.test", "days": 1_000_000}, &p); err != nil {
		return err
	}
	e.partnerToken = p.Token
	return nil
}

// postgresSchema makes a schema of its own on the server at base and
// returns a URL whose connections use it, and a function dropping it.
func postgresSchema(ctx context.Context, base string) (string, func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, errors.New("bench: the database URL does not parse")
	}
	schema := "wagate_bench_" + randHex(6)
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("bench: postgres: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("bench: postgres: create schema: %w", err)
	}
	drop := func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// profile starts a CPU profile written to ProfileDir/name.pprof when the
// returned function is called; it does nothing without ProfileDir, or when
// the process is being profiled already (go test -cpuprofile). Meanwhile it
// samples where goroutines wait (channels, locks, selects: a pipeline bound
// by latency rather than CPU shows there) and writes that to
// name.block.pprof and the contended mutexes to name.mutex.pprof. Both
// accumulate over the windows profiled so far: compare a window with the
// one before it with go tool pprof -diff_base.
func (e *env) profile(name string) func() {
	if e.o.ProfileDir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(e.o.ProfileDir, name+".pprof"))
	if err != nil {
		e.notes = append(e.notes, "no CPU profile: "+err.Error())
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		_ = os.Remove(f.Name())
		e.notes = append(e.notes, "no CPU profile: "+err.Error())
		return func() {}
	}
	goruntime.SetBlockProfileRate(int(100 * time.Microsecond)) // a wait of 100 µs or more, or one in that many ns
	goruntime.SetMutexProfileFraction(10)
	return func() {
		pprof.StopCPUProfile()
		goruntime.SetBlockProfileRate(0)
		goruntime.SetMutexProfileFraction(0)
		if err := f.Close(); err != nil {
			e.notes = append(e.notes, "CPU profile: "+err.Error())
		}
		for _, p := range []string{"block", "mutex"} {
			if err := writeProfile(filepath.Join(e.o.ProfileDir, name+"."+p+".pprof"), p); err != nil {
				e.notes = append(e.notes, p+" profile: "+err.Error())
			}
		}
	}
}

// writeProfile writes the named runtime profile to path.
func writeProfile(path, name string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
