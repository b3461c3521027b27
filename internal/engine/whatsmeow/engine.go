// Package whatsmeow is wagate's real WhatsApp engine, built on
// go.mau.fi/whatsmeow (WhatsApp Web multi-device). One Engine holds one
// sqlstore.Container on wagate's own database (whatsmeow keeps its tables,
// prefixed whatsmeow_, and its version table whatsmeow_version beside ours);
// every channel is a Session around one whatsmeow.Client.
//
// What the runtime above must know:
//
//   - Events are delivered one at a time per session, in the order the
//     session observes them, from whatsmeow's goroutines; the callback must
//     return quickly. After Close (and after Disconnect, Logout, Forget for
//     the connection they end) no more events come from that connection.
//   - Unlinked Connect: QR (repeatedly, first after about 1 s, valid 60 s,
//     then 20 s each), then Linked, then Connected after whatsmeow's automatic
//     reconnect; or QRTimeout when all codes expired (the connection is
//     closed); or LinkFailed when pairing failed (connection closed). A lost
//     connection during the flow gives Disconnected then QRTimeout.
//   - Linked Connect: Connected, or a final event.
//   - Final events (whatsmeow will not reconnect; the session stays
//     disconnected until the next Connect): LoggedOut (the device is deleted,
//     the session is unlinked), StreamReplaced, TemporaryBan,
//     ConnectFailure{Permanent: true} (includes ClientOutdated, 405), and
//     ConnectFailure{Permanent: false} (whatsmeow gave up: an unknown failure
//     code, automatic reconnects exhausted, or no login within LoginTimeout).
//     A Disconnected may come before any of them.
//   - Disconnected alone means whatsmeow is reconnecting by itself (backoff
//     0 s, 2 s, 4 s, ...): the runtime need not act unless a final event
//     follows. After Options.MaxReconnects failed attempts in a row the
//     session stops and reports ConnectFailure{Permanent: false}, so
//     whatsmeow's uncapped backoff never spins on; the runtime reconnects
//     with its own capped backoff.
//   - Logout emits nothing (whatsmeow does not); the session is unlinked when
//     it returns nil. Forget likewise.
//   - Pairing codes keep whatsmeow's format "XXXX-XXXX" (what the phone shows
//     and the user types, dash optional there).
//   - Actions (engine.Actor) check their input first (engine.ErrInvalidPhone
//     for addresses, ErrInvalidContent for content, engine.ErrUnsupported for
//     kinds this engine cannot send), then answer engine.ErrNotLinked or
//     engine.ErrNotConnected at once when offline, uploads and group queries
//     included. whatsmeow's errors stay wrapped inside the engine's.
//   - Received files come with Media.Fetch, never with Data. Call Fetch off
//     the Events callback (it may need an answer from WhatsApp, which
//     arrives on the callback's goroutine). Files WhatsApp dropped (after
//     some weeks) are engine.ErrMessageUnknown.
//   - A reply (Content.QuotedID) shows the quoted message when the session
//     saw it among its last 256 messages (received or sent since it was
//     opened); older quotes go out by ID only, and phones may then show the
//     reply without the quoted bubble.
//   - SetPresence needs the account's push name, which the phone shares
//     some time after linking; before that it fails.
//
// Process-global whatsmeow settings (New sets them; the last New wins; set
// them before any session connects): the WhatsApp web version and the device
// name shown on the phone.
package whatsmeow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

// Defaults for Options.
const (
	DefaultDeviceName    = "wagate"
	DefaultMaxReconnects = 5
	DefaultLoginTimeout  = 60 * time.Second
)

// ErrClosed is returned by an engine or session used after Close.
var ErrClosed = errors.New("whatsmeow: closed")

// Options tune the engine. The zero value is usable.
type Options struct {
	// WAVersion overrides the WhatsApp web client version whatsmeow
	// announces ("2.3000.1031080782"). Empty keeps whatsmeow's built-in one,
	// which in the pinned release is old enough to be refused with 405
	// (ClientOutdated). Process-global.
	WAVersion string
	// DeviceName is the name the phone shows under "Linked devices" for
	// devices linked from now on. Empty: DefaultDeviceName. Process-global.
	DeviceName string
	// MaxReconnects is how many automatic reconnects in a row may fail
	// before the session stops and reports ConnectFailure{Permanent:false}.
	// 0: DefaultMaxReconnects; negative: never give up (whatsmeow's backoff
	// grows by 2 s per attempt without a cap).
	MaxReconnects int
	// LoginTimeout bounds the wait, after Connect returned, for the first
	// sign of life: a QR code (unlinked) or Connected (linked, also after
	// pairing). When it passes the session disconnects and reports
	// ConnectFailure{Permanent:false}. 0: DefaultLoginTimeout.
	LoginTimeout time.Duration
}

// Engine is the whatsmeow engine. It is safe for concurrent use.
type Engine struct {
	container *sqlstore.Container
	log       *slog.Logger
	opts      Options

	// clientHook, when set (tests only), adjusts every new client after its
	// proxy is applied, e.g. to point it at a fake server.
	clientHook func(*wm.Client)

	mu       sync.Mutex
	sessions map[*Session]struct{}
	closed   bool
}

var _ engine.Engine = (*Engine)(nil)

// New opens whatsmeow's device store on db, which wagate's store already
// opened (dialect "sqlite" with foreign keys on, or "postgres"), and upgrades
// its schema. It never closes db.
func New(ctx context.Context, db *sql.DB, dialect string, log *slog.Logger, opts Options) (*Engine, error) {
	if db == nil {
		return nil, errors.New("whatsmeow: no database")
	}
	if dialect != "sqlite" && dialect != "postgres" {
		return nil, fmt.Errorf("whatsmeow: unsupported dialect %q", dialect)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("engine", "whatsmeow"))
	if opts.DeviceName == "" {
		opts.DeviceName = DefaultDeviceName
	}
	if opts.MaxReconnects == 0 {
		opts.MaxReconnects = DefaultMaxReconnects
	}
	if opts.LoginTimeout <= 0 {
		opts.LoginTimeout = DefaultLoginTimeout
	}
	if err := setGlobals(opts); err != nil {
		return nil, err
	}
	// dbutil looks the version table up in information_schema without a
	// schema filter, so on PostgreSQL a whatsmeow_version in another schema
	// of the same database (tests, several tenants) would be taken for ours.
	// Creating ours first, in the search_path schema, makes the check hold.
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS whatsmeow_version (version INTEGER, compat INTEGER)`); err != nil {
		return nil, fmt.Errorf("whatsmeow: create version table: %w", err)
	}
	container := sqlstore.NewWithDB(db, dialect, newWALogger(log, "Database"))
	if err := container.Upgrade(ctx); err != nil {
		return nil, fmt.Errorf("whatsmeow: upgrade store: %w", err)
	}
	log.Debug("whatsmeow store ready", slog.String("wa_version", store.GetWAVersion().String()))
	return &Engine{container: container, log: log, opts: opts, sessions: make(map[*Session]struct{})}, nil
}

var globalsMu sync.Mutex

// setGlobals applies the process-global settings, writing only what changes
// (so a second New with the same options touches nothing a running client
// reads).
func setGlobals(opts Options) error {
	globalsMu.Lock()
	defer globalsMu.Unlock()
	if opts.WAVersion != "" {
		v, err := store.ParseVersion(opts.WAVersion)
		if err != nil || v.IsZero() {
			return fmt.Errorf("whatsmeow: bad WhatsApp web version %q", opts.WAVersion)
		}
		if store.GetWAVersion() != v {
			store.SetWAVersion(v)
		}
		// SetWAVersion in this release updates the version hash sent when
		// pairing but not the version in the client payload, which was
		// copied at init; set that too or WhatsApp still sees the old one.
		if ua := store.BaseClientPayload.UserAgent; !sameVersion(ua.GetAppVersion(), v) {
			ua.AppVersion = v.ProtoAppVersion()
		}
	}
	if store.DeviceProps.GetOs() != opts.DeviceName {
		store.DeviceProps.Os = proto.String(opts.DeviceName)
	}
	return nil
}

func sameVersion(a interface {
	GetPrimary() uint32
	GetSecondary() uint32
	GetTertiary() uint32
}, v store.WAVersionContainer) bool {
	return a.GetPrimary() == v[0] && a.GetSecondary() == v[1] && a.GetTertiary() == v[2]
}

// Name is "whatsmeow".
func (e *Engine) Name() string { return "whatsmeow" }

// Open prepares a session without touching the network. cfg.Device ""
// prepares a new device (nothing is written until pairing succeeds);
// otherwise the stored device with that JID is loaded, and a missing or
// malformed one is engine.ErrDeviceNotFound: a new device is never made up
// in its place. A bad cfg.Proxy is engine.ErrBadProxy.
func (e *Engine) Open(ctx context.Context, cfg engine.SessionConfig) (engine.Session, error) {
	if err := checkProxy(cfg.Proxy); err != nil {
		return nil, err
	}
	var dev *store.Device
	if cfg.Device == "" {
		dev = e.container.NewDevice()
	} else {
		jid, err := parseDevice(cfg.Device)
		if err != nil {
			return nil, err
		}
		dev, err = e.container.GetDevice(ctx, jid)
		if err != nil {
			return nil, fmt.Errorf("whatsmeow: load device %s: %w", cfg.Device, err)
		}
		if dev == nil {
			return nil, fmt.Errorf("%w: %s", engine.ErrDeviceNotFound, cfg.Device)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	s, err := newSession(e, cfg, dev)
	if err != nil {
		return nil, err
	}
	e.sessions[s] = struct{}{}
	return s, nil
}

// Close closes every open session. It does not close the database.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.closed = true
	sessions := make([]*Session, 0, len(e.sessions))
	for s := range e.sessions {
		sessions = append(sessions, s)
	}
	e.mu.Unlock()
	for _, s := range sessions {
		_ = s.Close()
	}
	return nil
}

func (e *Engine) forget(s *Session) {
	e.mu.Lock()
	delete(e.sessions, s)
	e.mu.Unlock()
}
