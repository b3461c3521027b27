// Package whatsmeow is wagate's real WhatsApp engine, built on
// go.mau.fi/whatsmeow (WhatsApp Web multi-device). One Engine holds one
// sqlstore.Container on wagate's own database (whatsmeow keeps its tables,
// prefixed whatsmeow_, and its version table whatsmeow_version beside ours);
// every channel is a Session around one whatsmeow.Client.
//
// What the runtime above must know:
//
//   - Lifecycle events go to SessionConfig.Events one at a time per session,
//     in the order the session observes them, from whatsmeow's goroutines;
//     the callback must return quickly. Data events (messages, receipts,
//     group changes, presences, undecryptable messages) go to
//     SessionConfig.Ingest on whatsmeow's receive path, which waits for it:
//     a message is acknowledged to WhatsApp only once Ingest returned nil
//     (whatsmeow's SynchronousAck), so a message Ingest could not store is
//     delivered again by WhatsApp on a later connection, and decrypted again
//     from whatsmeow's event buffer (EnableDecryptedEventBuffer). After
//     Close (and after Disconnect, Logout, Forget for the connection they
//     end) no more events come from that connection.
//   - A session never reconnects by itself (whatsmeow's auto-reconnect is
//     off): after Disconnected, StreamError (then Disconnected),
//     ConnectFailure, ClientOutdated, TemporaryBan or StreamReplaced it stays
//     offline until the next Connect, which reuses the same whatsmeow client
//     (and its caches) while the device and proxy are the same.
//   - KeepAliveLost reports pings WhatsApp stopped answering (the socket
//     may still look open); KeepAliveRestored or Disconnected follows. The
//     owner decides when to give up on the connection (Disconnect, Connect).
//   - Unlinked Connect: QR (repeatedly, first after about 1 s, valid 60 s,
//     then 20 s each), then Linked, then Connected after whatsmeow's
//     post-pairing reconnect; or QRTimeout when all codes expired (the
//     connection is closed); or LinkFailed when pairing failed (connection
//     closed). A lost connection during the flow gives Disconnected.
//   - Linked Connect: Connected, or a final event. LoggedOut is the only
//     event that means the device is gone (whatsmeow deletes it).
//   - No login within Options.LoginTimeout after Connect: the connection is
//     closed and ConnectFailure reported.
//   - Connect returns the dial's error; engine.ErrProxyUnreachable when the
//     session's proxy did not answer or did not carry the connection (the
//     error does not say what answered on the proxy's side).
//   - Logout emits nothing (whatsmeow does not); the session is unlinked when
//     it returns nil. Forget likewise.
//   - Pairing codes keep whatsmeow's format "XXXX-XXXX" (what the phone shows
//     and the user types, dash optional there).
//   - Actions (engine.Actor) check their input first (engine.ErrInvalidPhone
//     for addresses, ErrInvalidContent for content, engine.ErrUnsupported for
//     kinds this engine cannot send), then answer engine.ErrNotLinked or
//     engine.ErrNotConnected at once when offline, uploads and group queries
//     included. whatsmeow's errors stay wrapped inside the engine's; a send
//     WhatsApp refuses with 463 is engine.ErrReachoutLimited.
//   - Sends report their encoded message as SentMessage.Payload; a retry
//     receipt for a message no longer in whatsmeow's memory (after a client
//     rebuild or a restart) is answered from SessionConfig.SentPayload.
//   - Received files come with Media.Fetch, never with Data. Call Fetch off
//     the Ingest callback (it may need an answer from WhatsApp, which
//     arrives on the callback's goroutine). Files WhatsApp dropped (after
//     some weeks) are engine.ErrMessageUnknown.
//   - A reply (Content.QuotedID) carries a copy of the quoted message
//     built from Content.Quoted (texts and file details), as WhatsApp draws
//     the quote bubble from it; without Quoted it goes out by ID only, and
//     phones may then show the reply without the bubble.
//   - SetPresence needs the account's push name, which the phone shares
//     some time after linking; before that it fails.
//
// The WhatsApp Web version every client announces is process-global: the
// engine keeps it (version.go), learned from WhatsApp at start and every few
// hours, stored in the database, refreshed at once when WhatsApp answers
// "client outdated" (405) or "bad user agent" (409), and overridden by
// Options.WAVersion. So is the device name shown on the phone.
package whatsmeow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCompanionReg"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

// Defaults for Options.
const (
	DefaultDeviceName     = "wagate"
	DefaultLoginTimeout   = 30 * time.Second
	DefaultVersionRefresh = 6 * time.Hour
)

// proxyMayBePrivate says whether the connections to proxy p skip the dial
// time address check.
func (o *Options) proxyMayBePrivate(p string) bool {
	return o.ProxyAllowPrivate || o.TrustedProxy != nil && o.TrustedProxy(p)
}

// ErrClosed is returned by an engine or session used after Close.
var ErrClosed = errors.New("whatsmeow: closed")

// Options tune the engine. The zero value is usable.
type Options struct {
	// WAVersion pins the WhatsApp Web client version every client announces
	// ("2.3000.1031080782"), overriding what the engine learns from
	// WhatsApp. Empty: learned (see version.go).
	WAVersion string
	// DeviceName is the name the phone shows under "Linked devices" for
	// devices linked from now on. Empty: DefaultDeviceName. Process-global.
	DeviceName string
	// LoginTimeout bounds the wait, after Connect returned, for the first
	// sign of life: a QR code (unlinked) or Connected (linked, also after
	// pairing). When it passes the session disconnects and reports
	// ConnectFailure. 0: DefaultLoginTimeout.
	LoginTimeout time.Duration
	// Versions keeps the learned WhatsApp Web version across restarts
	// (wagate's store); nil: kept in memory only.
	Versions KV
	// VersionRefresh is how often the engine asks WhatsApp for its current
	// web version (DefaultVersionRefresh when 0; negative: never, tests).
	VersionRefresh time.Duration
	// OnVersionChange is called (off the engine's locks) when the engine
	// starts announcing a newer version: the runtime retries the channels
	// WhatsApp refused as outdated.
	OnVersionChange func(engine.ClientVersion)
	// HTTPClient fetches the current version from WhatsApp's web page;
	// nil: a client with a 20 s timeout. Through a channel's proxy when the
	// direct route fails.
	HTTPClient *http.Client
	// ProxyAllowPrivate lets channel proxies be reached at loopback, private
	// and link-local addresses (WAGATE_PROXY_ALLOW_PRIVATE). Otherwise each
	// connection to a proxy is refused when the proxy's address, resolved
	// at that moment, is not public.
	ProxyAllowPrivate bool
	// TrustedProxy says whether a proxy is the operator's own (its pool may
	// hold private addresses): such a proxy is not checked when dialed.
	// nil: none is.
	TrustedProxy func(proxy string) bool
	// ClientHook, when set, adjusts every new whatsmeow client after its
	// proxy is applied (to point it at a fake WhatsApp server: tests and
	// wagate bench only; never set by wagate serve).
	ClientHook func(*wm.Client)
}

// KV keeps small values across restarts (wagate's store.GetKV/SetKV).
type KV interface {
	GetKV(ctx context.Context, key string) (string, time.Time, bool, error)
	SetKV(ctx context.Context, key, value string, at time.Time) error
}

// Engine is the whatsmeow engine. It is safe for concurrent use.
type Engine struct {
	container *sqlstore.Container
	log       *slog.Logger
	opts      Options
	ver       *versionKeeper

	mu       sync.Mutex
	sessions map[*Session]struct{}
	closed   bool
}

var (
	_ engine.Engine     = (*Engine)(nil)
	_ engine.Reconciler = (*Engine)(nil)
	_ engine.Versioned  = (*Engine)(nil)
)

// New opens whatsmeow's device store on db, which wagate's store already
// opened (dialect "sqlite" with foreign keys on, or "postgres"), upgrades
// its schema, and sets the WhatsApp Web version clients announce: the
// pinned one, or the last one learned (then asks WhatsApp for the current
// one in the background, and every VersionRefresh). It never closes db.
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
	setSignalLogger(log)
	if opts.DeviceName == "" {
		opts.DeviceName = DefaultDeviceName
	}
	if opts.LoginTimeout <= 0 {
		opts.LoginTimeout = DefaultLoginTimeout
	}
	if opts.VersionRefresh == 0 {
		opts.VersionRefresh = DefaultVersionRefresh
	}
	if opts.WAVersion != "" {
		if v, err := store.ParseVersion(opts.WAVersion); err != nil || v.IsZero() {
			return nil, fmt.Errorf("whatsmeow: bad WhatsApp web version %q", opts.WAVersion)
		}
	}
	setDeviceName(opts.DeviceName)
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
	// LID to phone-number lookups happen for nearly every event: load the
	// mappings into whatsmeow's cache once (mautrix does the same).
	if err := container.LIDMap.FillCache(ctx); err != nil {
		log.Warn("whatsmeow: could not load the LID mappings; they are read as needed", slog.Any("error", err))
	}
	e := &Engine{container: container, log: log, opts: opts, sessions: make(map[*Session]struct{})}
	e.ver = newVersionKeeper(e)
	if err := e.ver.start(ctx); err != nil {
		return nil, err
	}
	log.Debug("whatsmeow store ready", slog.String("wa_version", store.GetWAVersion().String()))
	return e, nil
}

var globalsMu sync.Mutex

// setDeviceName sets the process-global device name, writing only when it
// changes (a second New with the same options touches nothing a running
// client reads).
func setDeviceName(name string) {
	globalsMu.Lock()
	defer globalsMu.Unlock()
	if store.DeviceProps.GetOs() != name {
		store.DeviceProps.Os = proto.String(name)
	}
	// The phone lists the device as a browser (the pairing code names it
	// "Chrome (Linux)" too) rather than as an unknown platform.
	if store.DeviceProps.GetPlatformType() != waCompanionReg.DeviceProps_CHROME {
		store.DeviceProps.PlatformType = waCompanionReg.DeviceProps_CHROME.Enum()
	}
}

// Name is "whatsmeow".
func (e *Engine) Name() string { return "whatsmeow" }

// ValidateProxy checks a proxy URL as Open and SetProxy will.
func (e *Engine) ValidateProxy(proxy string) error { return checkProxy(proxy) }

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

// Devices lists every device whatsmeow's store keeps, as Linked.Device
// strings.
func (e *Engine) Devices(ctx context.Context) ([]string, error) {
	devs, err := e.container.GetAllDevices(ctx)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: list devices: %w", err)
	}
	out := make([]string, 0, len(devs))
	for _, d := range devs {
		if d.ID != nil {
			out = append(out, d.ID.String())
		}
	}
	return out, nil
}

// RemoveDevice deletes a device from whatsmeow's store (its keys and
// sessions cascade), without telling WhatsApp. A device an open session
// uses is refused.
func (e *Engine) RemoveDevice(ctx context.Context, device string) error {
	jid, err := types.ParseJID(device)
	if err != nil || jid.Device == 0 {
		return fmt.Errorf("whatsmeow: remove device: %w: %q", ErrMalformedDevice, device)
	}
	e.mu.Lock()
	for s := range e.sessions {
		if s.Device() == device {
			e.mu.Unlock()
			return fmt.Errorf("whatsmeow: remove device %s: a session uses it", device)
		}
	}
	e.mu.Unlock()
	return e.container.DeleteDevice(ctx, &store.Device{ID: &jid})
}

// Close closes every open session and stops the version refresh. It does
// not close the database.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.closed = true
	sessions := make([]*Session, 0, len(e.sessions))
	for s := range e.sessions {
		sessions = append(sessions, s)
	}
	e.mu.Unlock()
	e.ver.stop()
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

// proxies lists the distinct proxies of the open sessions.
func (e *Engine) proxies() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for s := range e.sessions {
		if p := s.proxyURL(); p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
