package whatsmeow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/netguard"
)

// Pairing-code client shown on the phone while the code is being entered.
const (
	pairClientType = wm.PairClientChrome
	pairClientName = "Chrome (Linux)"
)

// payloadTimeout bounds the lookup of a sent message for a retry receipt.
const payloadTimeout = 5 * time.Second

// client is one whatsmeow.Client and what it was built for. A linked
// session reuses its client for every reconnection while the device and
// proxy stay the same, so that whatsmeow's caches (recent messages for
// retries, group and device caches) survive a lost connection; gen is the
// session generation the client serves now, so that events of an abandoned
// connection are dropped.
type client struct {
	*wm.Client
	gen    atomic.Uint64
	device string // the device it was built for ("" a fresh one)
	proxy  string
	// restart503 is set when WhatsApp ended the current connection's
	// stream with error 503 (see streamWatch); the Disconnected that
	// follows is reported after a StreamError.
	restart503 atomic.Bool
	// announced is the WhatsApp Web version the last Connect announced
	// (a string), which a ClientOutdated reports: the engine may have
	// learned a newer one since.
	announced atomic.Value
}

// Session is one channel on whatsmeow. It is safe for concurrent use.
type Session struct {
	eng       *Engine
	channelID string
	log       *slog.Logger
	sink      func(engine.Event)
	ingest    func(context.Context, engine.Event) error
	sent      func(context.Context, string) ([]byte, error)

	ctx    context.Context // the session's life; cancelled by Close
	cancel context.CancelFunc

	// emitMu serialises event delivery; held while sink and ingest run.
	// Lock order: emitMu, then mu. Nothing calls into whatsmeow holding
	// either.
	emitMu     sync.Mutex
	emitClosed bool

	mu         sync.Mutex
	cli        *client
	gen        uint64 // generation of the current connection; bumped when one is abandoned
	used       bool   // cli has been connected
	connecting bool
	connCancel context.CancelFunc // ends the current connection's context
	device     string             // linked device JID, "" when unlinked
	account    engine.Account
	proxy      string
	flow       uint64 // generation whose QR login flow runs; 0: none
	qrShown    bool   // the running flow has shown a code (PairPhone allowed)
	watchdog   *time.Timer
	closed     bool

	known knownPairs // LID pairs reported (identity.go)
	// wantPresence is the presence last asked for (a types.Presence
	// string; "" none), sent again on connect (presence.go).
	wantPresence atomic.Value
	retries      retryWaiters // downloads waiting for a media retry answer (mediaretry.go)
}

var _ engine.Session = (*Session)(nil)

func newSession(e *Engine, cfg engine.SessionConfig, dev *store.Device) (*Session, error) {
	sink := cfg.Events
	if sink == nil {
		sink = func(engine.Event) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		eng:       e,
		channelID: cfg.ChannelID,
		log:       e.log.With(slog.String("channel_id", cfg.ChannelID)),
		sink:      sink,
		ingest:    cfg.Ingest,
		sent:      cfg.SentPayload,
		ctx:       ctx,
		cancel:    cancel,
		proxy:     cfg.Proxy,
	}
	if dev.ID != nil {
		s.device = dev.ID.String()
		s.account = accountOf(dev)
	}
	cli, err := s.newClient(dev, 1)
	if err != nil {
		cancel()
		return nil, err
	}
	s.cli, s.gen = cli, 1
	return s, nil
}

// accountOf reads a device's account; only for a device no client runs yet.
func accountOf(dev *store.Device) engine.Account {
	a := engine.Account{Phone: dev.ID.User, Name: dev.PushName}
	if a.Name == "" {
		a.Name = dev.BusinessName
	}
	return a
}

// newClient builds a client serving generation gen. It is not connected,
// so setting its fields and proxy races with nothing.
func (s *Session) newClient(dev *store.Device, gen uint64) (*client, error) {
	c := &client{proxy: s.proxy}
	c.Client = wm.NewClient(dev, streamWatch{Logger: newWALogger(s.log, "Client"), c: c})
	if dev.ID != nil {
		c.device = dev.ID.String()
	}
	c.gen.Store(gen)
	cli := c.Client
	// The runtime owns reconnection (with its own capped, jittered
	// backoff): whatsmeow never reconnects by itself.
	cli.EnableAutoReconnect = false
	cli.InitialAutoReconnect = false
	// Acknowledge a message only once Ingest stored it; keep the decrypted
	// plaintext until then, so that a message WhatsApp delivers again can
	// still be decrypted (the Signal ratchet has moved on).
	cli.SynchronousAck = true
	cli.EnableDecryptedEventBuffer = true
	// A message that cannot be decrypted: besides the retry receipt to the
	// sender, ask the account's phone for it.
	cli.AutomaticMessageRerequestFromPhone = true
	// Retry receipts for messages no longer in whatsmeow's memory are
	// answered from what the channel kept.
	cli.GetMessageForRetry = s.messageForRetry
	// History sync blobs are held in memory several times over: whatsmeow
	// never downloads them by itself; the owner keeps each notice and
	// fetches chunks one at a time (history.go).
	cli.ManualHistorySyncDownload = true
	// Report the app state of a full sync too (appstate.go).
	emitFullSync(cli)
	// Send real delivery receipts (two grey ticks) without announcing the
	// account as online: SendPresence(available) would do both, and while a
	// companion is "online" the phone stops getting notifications.
	cli.SetForceActiveDeliveryReceipts(true)
	cli.AddEventHandlerWithSuccessStatus(func(evt any) bool { return s.handle(c, evt) })
	if err := applyProxy(cli, s.proxy, s.eng.opts.proxyMayBePrivate(s.proxy)); err != nil {
		return nil, err
	}
	if h := s.eng.opts.ClientHook; h != nil {
		h(cli)
	}
	return c, nil
}

// messageForRetry is whatsmeow's GetMessageForRetry: the message a
// recipient asks for again, from what the channel kept (by ID, whatever
// address form the receipt uses).
func (s *Session) messageForRetry(requester, to types.JID, id types.MessageID) *waE2E.Message {
	if s.sent == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, payloadTimeout)
	defer cancel()
	p, err := s.sent(ctx, id)
	if err != nil || p == nil {
		s.log.Warn("whatsmeow: a retry receipt asks for a message the channel no longer has",
			slog.String("message_id", id), slog.Any("error", err))
		return nil
	}
	var m waE2E.Message
	if err := proto.Unmarshal(p, &m); err != nil {
		s.log.Warn("whatsmeow: a kept message could not be decoded", slog.String("message_id", id), slog.Any("error", err))
		return nil
	}
	return &m
}

// Connect connects; see engine.Session. It returns once the websocket and
// the Noise handshake are up (or failed); the login result comes as events.
// ctx bounds only this call, not the connection.
func (s *Session) Connect(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.connecting {
		s.mu.Unlock()
		return nil
	}
	s.connecting = true
	cur, used, device, proxy := s.cli, s.used, s.device, s.proxy
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.connecting = false
		s.mu.Unlock()
	}()
	linked := device != ""

	if used && cur.IsConnected() {
		return nil // already connected, or a login flow is running
	}

	cli := cur
	if used && (!linked || cur.device != device || cur.proxy != proxy) {
		// Replace the client: reload the linked device (for a new proxy),
		// or take a fresh one (a device that was logged out cannot pair
		// again).
		var dev *store.Device
		if linked {
			jid, err := parseDevice(device)
			if err != nil {
				return err
			}
			dev, err = s.eng.container.GetDevice(ctx, jid)
			if err != nil {
				return fmt.Errorf("whatsmeow: load device: %w", err)
			}
			if dev == nil {
				s.mu.Lock()
				if s.device == device {
					s.device, s.account = "", engine.Account{}
				}
				s.mu.Unlock()
				return fmt.Errorf("%w: %s", engine.ErrDeviceNotFound, device)
			}
		} else {
			dev = s.eng.container.NewDevice()
		}
		s.mu.Lock()
		gen := s.gen + 1
		s.mu.Unlock()
		var err error
		if cli, err = s.newClient(dev, gen); err != nil {
			return err
		}
	}

	connCtx, connCancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		connCancel()
		return ErrClosed
	}
	s.gen++
	gen := s.gen
	cli.gen.Store(gen)
	s.cli, s.used = cli, true
	if s.connCancel != nil {
		s.connCancel()
	}
	s.connCancel = connCancel
	if !linked {
		s.flow, s.qrShown = gen, false
	}
	// Armed before dialling: the first QR or Connected may beat the return.
	s.armLocked(gen)
	s.mu.Unlock()

	if !linked {
		ch, err := cli.GetQRChannel(connCtx)
		if err != nil {
			s.abandon(gen, connCancel)
			return fmt.Errorf("whatsmeow: start login: %w", err)
		}
		go s.readQR(connCtx, gen, ch)
	}
	cli.restart503.Store(false) // a 503 of an earlier connection is no news
	stop := context.AfterFunc(ctx, connCancel)
	versionMu.RLock() // the client payload is built from the global version
	cli.announced.Store(store.GetWAVersion().String())
	err := cli.ConnectContext(connCtx)
	versionMu.RUnlock()
	if !stop() {
		// ctx ended first; connCancel aborted the dial.
		s.stop(gen, cli)
		return fmt.Errorf("whatsmeow: connect: %w", ctx.Err())
	}
	if err != nil && !errors.Is(err, wm.ErrAlreadyConnected) {
		s.abandon(gen, connCancel)
		return s.dialError(proxy, err)
	}
	return nil
}

// dialError names a failed dial. Through a proxy, a dial that failed before
// WhatsApp answered (no HTTP status from WhatsApp's websocket endpoint, no
// Noise handshake) is engine.ErrProxyUnreachable: the proxy did not answer
// or did not carry the connection. The proxy's own error is only logged at
// debug: it could tell what answered on the proxy's side.
func (s *Session) dialError(proxy string, err error) error {
	msg := err.Error()
	var ne *netguard.Error
	if proxy != "" && errors.As(err, &ne) {
		s.log.Warn("whatsmeow: the proxy's address is not public now; connection refused")
		return fmt.Errorf("whatsmeow: connect: %w: its address is %s, not public (refused when dialing)", engine.ErrProxyUnreachable, ne.Class)
	}
	if proxy != "" && !strings.Contains(msg, "noise handshake") && !strings.Contains(msg, "status code") {
		s.log.Debug("whatsmeow: connect through the proxy failed", slog.Any("error", err))
		return fmt.Errorf("whatsmeow: connect: %w", engine.ErrProxyUnreachable)
	}
	return fmt.Errorf("whatsmeow: connect: %w", err)
}

// abandon ends the connection of generation gen after a failed Connect.
func (s *Session) abandon(gen uint64, connCancel context.CancelFunc) {
	connCancel()
	s.mu.Lock()
	if gen == s.gen {
		s.flow, s.qrShown = 0, false
		s.disarmLocked()
	}
	s.mu.Unlock()
}

// armLocked starts the login watchdog for generation gen.
func (s *Session) armLocked(gen uint64) {
	s.disarmLocked()
	s.watchdog = time.AfterFunc(s.eng.opts.LoginTimeout, func() { s.loginTimedOut(gen) })
}

func (s *Session) disarmLocked() {
	if s.watchdog != nil {
		s.watchdog.Stop()
		s.watchdog = nil
	}
}

// loginTimedOut stops a connection that showed no QR code and no login in
// time, and reports it.
func (s *Session) loginTimedOut(gen uint64) {
	s.mu.Lock()
	if gen != s.gen || s.watchdog == nil {
		s.mu.Unlock()
		return
	}
	s.watchdog = nil
	cli := s.cli
	s.mu.Unlock()
	s.emit(gen, nil, engine.ConnectFailure{Reason: fmt.Sprintf("no login within %s", s.eng.opts.LoginTimeout)})
	s.stop(gen, cli)
}

// stop disconnects generation gen's client and drops its further events.
func (s *Session) stop(gen uint64, cli *client) {
	s.mu.Lock()
	if gen != s.gen {
		s.mu.Unlock()
		return
	}
	s.gen++
	s.used = true
	s.flow, s.qrShown = 0, false
	s.disarmLocked()
	cancel := s.connCancel
	s.connCancel = nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	cli.Disconnect()
}

// Disconnect closes the connection and keeps the login. No further events
// come from that connection.
func (s *Session) Disconnect() {
	s.mu.Lock()
	gen, cli := s.gen, s.cli
	s.mu.Unlock()
	s.stop(gen, cli)
}

// SetProxy changes the proxy ("" direct); it applies on the next Connect.
func (s *Session) SetProxy(proxy string) error {
	if err := checkProxy(proxy); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proxy = proxy
	if !s.used && !s.connecting {
		// The client never connected: nothing else touches it yet.
		if err := applyProxy(s.cli.Client, proxy, s.eng.opts.proxyMayBePrivate(proxy)); err != nil {
			return err
		}
		s.cli.proxy = proxy
		if h := s.eng.opts.ClientHook; h != nil {
			h(s.cli.Client)
		}
	}
	return nil
}

func (s *Session) proxyURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proxy
}

// Close disconnects and releases the session; the login is kept. No events
// are delivered once it returns (it waits for one being delivered).
func (s *Session) Close() error {
	s.emitMu.Lock()
	s.emitClosed = true
	s.emitMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	gen, cli := s.gen, s.cli
	s.mu.Unlock()
	s.stop(gen, cli)
	s.cancel()
	s.eng.forget(s)
	return nil
}
