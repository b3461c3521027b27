package whatsmeow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/internal/engine"
)

// Pairing-code client shown on the phone while the code is being entered.
const (
	pairClientType = wm.PairClientChrome
	pairClientName = "Chrome (Linux)"
)

// Session is one channel on whatsmeow. It is safe for concurrent use.
//
// Every Connect after the first builds a new whatsmeow.Client (for a linked
// session around the device reloaded from the store, for an unlinked one
// around a fresh device), so a proxy change applies and no state of an old
// connection (its reconnect loop, QR channel, handlers) leaks into the new
// one. Events of older clients are dropped by generation.
type Session struct {
	eng       *Engine
	channelID string
	log       *slog.Logger
	sink      func(engine.Event)

	ctx    context.Context // the session's life; cancelled by Close
	cancel context.CancelFunc

	// emitMu serialises event delivery; held while sink runs. Lock order:
	// emitMu, then mu. Nothing calls into whatsmeow holding either.
	emitMu     sync.Mutex
	emitClosed bool

	mu         sync.Mutex
	cli        *wm.Client
	gen        uint64 // generation of cli; bumped when a connection is abandoned
	used       bool   // cli has been connected; the next Connect builds a new one
	connecting bool
	connCancel context.CancelFunc // ends the current connection's context
	device     string             // linked device JID, "" when unlinked
	account    engine.Account
	proxy      string
	flow       uint64 // generation whose QR login flow runs; 0: none
	qrShown    bool   // the running flow has shown a code (PairPhone allowed)
	watchdog   *time.Timer
	failures   int // automatic reconnects failed in a row
	closed     bool

	quotes quoteCache // recent messages, to quote them in replies
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

// newClient builds a client for generation gen. It is not connected, so
// setting its fields and proxy races with nothing.
func (s *Session) newClient(dev *store.Device, gen uint64) (*wm.Client, error) {
	cli := wm.NewClient(dev, newWALogger(s.log, "Client"))
	cli.EnableAutoReconnect = true
	cli.InitialAutoReconnect = false // the first connect's error goes to the caller
	// History sync blobs are held in memory several times over; wagate does
	// not import history yet, so never download them.
	cli.ManualHistorySyncDownload = true
	// Send real delivery receipts (two grey ticks) without announcing the
	// account as online: SendPresence(available) would do both, and while a
	// companion is "online" the phone stops getting notifications.
	cli.SetForceActiveDeliveryReceipts(true)
	cli.AutoReconnectHook = func(err error) bool { return s.reconnectFailed(gen, err) }
	cli.AddEventHandler(func(evt any) { s.handle(gen, evt) })
	if err := s.setTransport(cli, s.proxy); err != nil {
		return nil, err
	}
	return cli, nil
}

// setTransport applies a proxy (and the test hook) to an unconnected client.
func (s *Session) setTransport(cli *wm.Client, proxy string) error {
	if err := applyProxy(cli, proxy); err != nil {
		return err
	}
	if s.eng.clientHook != nil {
		s.eng.clientHook(cli)
	}
	return nil
}

// handle is whatsmeow's event handler. It runs on whatsmeow's goroutines
// (its receive path among them): it updates the session state, maps the
// event and hands it to the sink, nothing slow.
func (s *Session) handle(gen uint64, evt any) {
	out := mapEvent(evt, s.fetcher)
	if m, ok := evt.(*events.Message); ok && m.Message != nil && !m.IsEdit {
		chat, _ := addresses(m.Info.MessageSource)
		s.quotes.put(chat, m.Info.ID, m.Info.Sender, m.Message)
	}
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	if s.emitClosed {
		return
	}
	s.mu.Lock()
	if gen != s.gen {
		s.mu.Unlock()
		return
	}
	device := s.device
	final := s.applyLocked(gen, evt)
	cli := s.cli
	s.mu.Unlock()
	for _, e := range out {
		s.sink(e)
	}
	if final {
		// whatsmeow will not reconnect, but it leaves the socket to the
		// server to close; close it so the next Connect starts afresh.
		go func() {
			s.stop(gen, cli)
			if _, ok := evt.(*events.LoggedOut); ok && device != "" {
				// whatsmeow deletes the device too, with the connection's
				// context that stop just cancelled: make sure it is gone.
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := s.deleteDevice(ctx, device); err != nil {
					s.log.Error("whatsmeow: delete logged-out device", slog.Any("error", err))
				}
			}
		}()
	}
}

// applyLocked updates the session for an event of the current client and
// reports whether the event is final for the connection.
func (s *Session) applyLocked(gen uint64, evt any) (final bool) {
	switch e := evt.(type) {
	case *events.PairSuccess:
		s.device = e.ID.String()
		s.account = engine.Account{Phone: e.ID.User, Name: e.BusinessName}
		s.flow, s.qrShown = 0, false
		s.armLocked(gen) // now wait for the login after whatsmeow's reconnect
	case *events.PairError:
		s.flow, s.qrShown = 0, false
		s.disarmLocked()
	case *events.Connected:
		s.failures = 0
		s.disarmLocked()
	case *events.LoggedOut:
		// whatsmeow deleted the device; a new login needs a fresh one.
		s.device, s.account = "", engine.Account{}
		s.flow, s.qrShown = 0, false
		s.disarmLocked()
		return true
	case *events.StreamReplaced, *events.TemporaryBan, *events.ClientOutdated, *events.ConnectFailure:
		s.flow, s.qrShown = 0, false
		s.disarmLocked()
		return true
	case *events.PushNameSetting:
		if name := e.Action.GetName(); name != "" && s.device != "" {
			s.account.Name = name
		}
	case *events.AppStateSyncComplete:
		// The push name arrives in the critical_block snapshot, applied
		// without events on a full sync; read it on this goroutine, the
		// one that wrote it.
		if e.Name == appstate.WAPatchCriticalBlock && s.device != "" {
			if name := s.cli.Store.PushName; name != "" {
				s.account.Name = name
			}
		}
	}
	return false
}

// emit delivers events that do not come from whatsmeow's handlers (QR
// codes, watchdog, reconnect give-up) if gen is still current and ok, run
// under mu, agrees.
func (s *Session) emit(gen uint64, ok func() bool, evs ...engine.Event) {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	if s.emitClosed {
		return
	}
	s.mu.Lock()
	if gen != s.gen || (ok != nil && !ok()) {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	for _, e := range evs {
		s.sink(e)
	}
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
	cur, used, linked := s.cli, s.used, s.device != ""
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.connecting = false
		s.mu.Unlock()
	}()

	if used && cur.IsConnected() {
		return nil // already connected, or a login flow is running
	}

	cli := cur
	if used {
		// Replace the spent client: reload the linked device, or take a
		// fresh one (a device that was logged out cannot pair again).
		var dev *store.Device
		if linked {
			s.mu.Lock()
			device := s.device
			s.mu.Unlock()
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
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		s.cli, s.gen = cli, gen
		s.mu.Unlock()
	}

	connCtx, connCancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		connCancel()
		return ErrClosed
	}
	gen := s.gen
	s.used = true
	if s.connCancel != nil {
		s.connCancel()
	}
	s.connCancel = connCancel
	if !linked {
		s.flow, s.qrShown = gen, false
	}
	s.failures = 0
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
	stop := context.AfterFunc(ctx, connCancel)
	err := cli.ConnectContext(connCtx)
	if !stop() {
		// ctx ended first; connCancel aborted the dial.
		s.stop(gen, cli)
		return fmt.Errorf("whatsmeow: connect: %w", ctx.Err())
	}
	if err != nil && !errors.Is(err, wm.ErrAlreadyConnected) {
		s.abandon(gen, connCancel)
		return fmt.Errorf("whatsmeow: connect: %w", err)
	}
	return nil
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

// readQR turns whatsmeow's QR channel into QR and QRTimeout events. The
// other final items ("success", "error", "err-...") mirror whatsmeow events
// that handle already reported (Linked, LinkFailed, ConnectFailure ...).
func (s *Session) readQR(ctx context.Context, gen uint64, ch <-chan wm.QRChannelItem) {
	inFlow := func() bool { return s.flow == gen }
	for {
		select {
		case <-ctx.Done():
			s.endFlow(gen)
			return
		case item, ok := <-ch:
			if !ok {
				s.endFlow(gen)
				return
			}
			switch item.Event {
			case wm.QRChannelEventCode:
				qr := engine.QR{Code: item.Code, Expires: time.Now().Add(item.Timeout)}
				s.emit(gen, func() bool {
					if !inFlow() {
						return false
					}
					s.qrShown = true
					s.disarmLocked()
					return true
				}, qr)
			case wm.QRChannelTimeout.Event:
				s.emit(gen, inFlow, engine.QRTimeout{})
				s.endFlow(gen)
			default:
				s.endFlow(gen)
			}
		}
	}
}

func (s *Session) endFlow(gen uint64) {
	s.mu.Lock()
	if s.flow == gen {
		s.flow, s.qrShown = 0, false
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

// reconnectFailed is whatsmeow's AutoReconnectHook: it caps the automatic
// reconnects, whose backoff whatsmeow never caps.
func (s *Session) reconnectFailed(gen uint64, err error) bool {
	max := s.eng.opts.MaxReconnects
	s.mu.Lock()
	if gen != s.gen {
		s.mu.Unlock()
		return false
	}
	s.failures++
	n := s.failures
	cli := s.cli
	s.mu.Unlock()
	if max < 0 || n < max {
		return true
	}
	s.log.Warn("whatsmeow: automatic reconnect gave up", slog.Int("attempts", n), slog.Any("error", err))
	s.emit(gen, nil, engine.ConnectFailure{Reason: fmt.Sprintf("reconnect failed %d times: %v", n, err)})
	go s.stop(gen, cli)
	return false
}

// stop disconnects generation gen's client and drops its further events;
// the next Connect builds a new client.
func (s *Session) stop(gen uint64, cli *wm.Client) {
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

// Logout unlinks the device at WhatsApp, then deletes it locally. It needs
// a connection: offline it fails (engine.ErrNotConnected) and changes
// nothing; use Forget then.
func (s *Session) Logout(ctx context.Context) error {
	s.mu.Lock()
	device, cli, gen := s.device, s.cli, s.gen
	s.mu.Unlock()
	if device == "" {
		return engine.ErrNotLinked
	}
	err := cli.Logout(ctx)
	if err != nil && !strings.HasPrefix(err.Error(), "error deleting data from store") {
		if errors.Is(err, wm.ErrNotConnected) || errors.Is(err, wm.ErrNotLoggedIn) {
			return fmt.Errorf("whatsmeow: logout: %w (%v)", engine.ErrNotConnected, err)
		}
		return fmt.Errorf("whatsmeow: logout: %w", err)
	}
	// WhatsApp has unlinked the device. If whatsmeow could not delete it
	// locally, try once more by JID.
	if err != nil {
		if derr := s.deleteDevice(ctx, device); derr != nil {
			return fmt.Errorf("whatsmeow: logout: unlinked at WhatsApp but not deleted locally: %w", derr)
		}
	}
	s.unlinked(gen, device)
	return nil
}

// Forget deletes the device locally without telling WhatsApp (the phone
// keeps listing it until it is removed there or expires). It works offline
// and is a no-op on an unlinked session.
func (s *Session) Forget(ctx context.Context) error {
	s.mu.Lock()
	device, cli, gen := s.device, s.cli, s.gen
	s.mu.Unlock()
	if device == "" {
		return nil
	}
	s.stop(gen, cli)
	gen++
	if err := s.deleteDevice(ctx, device); err != nil {
		return fmt.Errorf("whatsmeow: forget: %w", err)
	}
	s.unlinked(gen, device)
	return nil
}

// deleteDevice deletes a device's rows by JID (whatsmeow's tables cascade),
// without touching the store.Device a client may still hold.
func (s *Session) deleteDevice(ctx context.Context, device string) error {
	jid, err := parseDevice(device)
	if err != nil {
		return err
	}
	return s.eng.container.DeleteDevice(ctx, &store.Device{ID: &jid})
}

// unlinked records that device is gone: the next Connect starts a login
// flow with a fresh device and client.
func (s *Session) unlinked(gen uint64, device string) {
	s.mu.Lock()
	if s.gen == gen {
		s.gen++
	}
	if s.device == device {
		s.device, s.account = "", engine.Account{}
	}
	s.used = true
	s.flow, s.qrShown = 0, false
	s.disarmLocked()
	if s.connCancel != nil {
		s.connCancel()
		s.connCancel = nil
	}
	s.mu.Unlock()
}

// PairPhone asks for a pairing code for phone while a QR login flow runs
// (after its first QR event). The code keeps whatsmeow's "XXXX-XXXX" form.
func (s *Session) PairPhone(ctx context.Context, phone string) (string, error) {
	p, err := normalizePhone(phone)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	inFlow := s.flow != 0 && s.flow == s.gen && s.qrShown
	cli := s.cli
	s.mu.Unlock()
	if !inFlow {
		return "", engine.ErrNotInLoginFlow
	}
	code, err := cli.PairPhone(ctx, p, true, pairClientType, pairClientName)
	switch {
	case errors.Is(err, wm.ErrPhoneNumberTooShort), errors.Is(err, wm.ErrPhoneNumberIsNotInternational):
		return "", fmt.Errorf("%w: %v", engine.ErrInvalidPhone, err)
	case errors.Is(err, wm.ErrNotConnected):
		return "", engine.ErrNotInLoginFlow
	case err != nil:
		return "", fmt.Errorf("whatsmeow: pair phone: %w", err)
	}
	return code, nil
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
		return s.setTransport(s.cli, proxy)
	}
	return nil
}

// Linked reports whether the session has a device.
func (s *Session) Linked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.device != ""
}

// Self is the linked account: the phone number of the device JID and the
// push name (the business name until the push name is known).
func (s *Session) Self() engine.Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.account
}

// Device is the linked device JID (as in Linked.Device), "" when unlinked.
func (s *Session) Device() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.device
}

// online returns the client and own JID of a linked, logged-in session.
func (s *Session) online() (*wm.Client, types.JID, engine.Account, error) {
	s.mu.Lock()
	device, cli, acc := s.device, s.cli, s.account
	s.mu.Unlock()
	if device == "" {
		return nil, types.JID{}, acc, engine.ErrNotLinked
	}
	jid, err := parseDevice(device)
	if err != nil {
		return nil, types.JID{}, acc, err
	}
	if !cli.IsConnected() || !cli.IsLoggedIn() {
		return nil, types.JID{}, acc, engine.ErrNotConnected
	}
	return cli, jid.ToNonAD(), acc, nil
}

// Profile reads the account's push name (from the store), about text (user
// info status) and profile picture URL ("" when none or hidden).
func (s *Session) Profile(ctx context.Context) (engine.Profile, error) {
	cli, own, acc, err := s.online()
	if err != nil {
		return engine.Profile{}, err
	}
	p := engine.Profile{Name: acc.Name}
	info, err := cli.GetUserInfo(ctx, []types.JID{own})
	if err != nil {
		return engine.Profile{}, fmt.Errorf("whatsmeow: user info: %w", mapSendErr(err))
	}
	p.About = info[own].Status
	pic, err := cli.GetProfilePictureInfo(ctx, own, nil)
	switch {
	case errors.Is(err, wm.ErrProfilePictureNotSet), errors.Is(err, wm.ErrProfilePictureUnauthorized):
	case err != nil:
		return engine.Profile{}, fmt.Errorf("whatsmeow: profile picture: %w", mapSendErr(err))
	case pic != nil:
		p.Picture = pic.URL
	}
	return p, nil
}

// SetProfile sets the about text (SetStatusMessage) and the push name (an
// app-state patch, as WhatsApp Web does; it needs the app-state keys the
// phone shares after linking, so it can fail right after pairing).
func (s *Session) SetProfile(ctx context.Context, u engine.ProfileUpdate) error {
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if u.Name != nil {
		name := strings.TrimSpace(*u.Name)
		if name == "" {
			return errors.New("whatsmeow: empty profile name")
		}
		if err := cli.SendAppState(ctx, appstate.BuildSettingPushName(name)); err != nil {
			return fmt.Errorf("whatsmeow: set name: %w", mapSendErr(err))
		}
		s.mu.Lock()
		if s.device != "" {
			s.account.Name = name
		}
		s.mu.Unlock()
	}
	if u.About != nil {
		if err := cli.SetStatusMessage(ctx, *u.About); err != nil {
			return fmt.Errorf("whatsmeow: set about: %w", mapSendErr(err))
		}
	}
	return nil
}

// SendText sends a text message. to is a phone number (digits) or a JID.
func (s *Session) SendText(ctx context.Context, to, text string) (engine.SentMessage, error) {
	return s.Send(ctx, to, engine.Content{Kind: engine.KindText, Text: text})
}

// MarkRead sends read receipts for messages of one sender in a chat
// (sender is needed in groups, "" in one-to-one chats).
func (s *Session) MarkRead(ctx context.Context, chat, sender string, ids []string) error {
	if len(ids) == 0 {
		return errors.New("whatsmeow: no message IDs")
	}
	c, err := parseChat(chat)
	if err != nil {
		return err
	}
	from, err := parseUser(sender)
	if err != nil {
		return err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if err := cli.MarkRead(ctx, ids, time.Now(), c, from); err != nil {
		return fmt.Errorf("whatsmeow: mark read: %w", mapSendErr(err))
	}
	return nil
}

// fetcher is the session's fetcher: received files are downloaded later,
// by whichever client the session has then.
func (s *Session) fetcher(msg wm.DownloadableMessage) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) { return s.download(ctx, msg) }
}

// download downloads and decrypts a received file. A file with a URL is
// fetched from it (no WhatsApp connection needed); one with only a direct
// path needs the connection, to ask WhatsApp for a media host. It must not
// run in the Events callback: whatsmeow's answers arrive on the goroutine
// that callback runs on. A file WhatsApp no longer has is
// engine.ErrMessageUnknown.
func (s *Session) download(ctx context.Context, msg wm.DownloadableMessage) (data []byte, err error) {
	s.mu.Lock()
	cli, closed := s.cli, s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("whatsmeow: download: %v", r)
		}
	}()
	data, err = cli.Download(ctx, msg)
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, wm.ErrMediaDownloadFailedWith404), errors.Is(err, wm.ErrMediaDownloadFailedWith410),
		errors.Is(err, wm.ErrMediaDownloadFailedWith403), errors.Is(err, wm.ErrNoURLPresent):
		return nil, fmt.Errorf("whatsmeow: download: the file is no longer on WhatsApp's servers: %w: %w", engine.ErrMessageUnknown, err)
	}
	return nil, fmt.Errorf("whatsmeow: download: %w", mapSendErr(err))
}

// Close disconnects and releases the session; the login is kept. No events
// are delivered once it returns.
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
