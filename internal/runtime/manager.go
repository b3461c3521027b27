package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// LinkStore is where the runtime records which device a channel is linked to.
type LinkStore interface {
	SetChannelLink(ctx context.Context, channelID, device, phone, name string, at time.Time) error
	ClearChannelLink(ctx context.Context, channelID string) error
}

// Errors the runtime returns.
var (
	ErrNotRunning   = errors.New("channel is not running")
	ErrNotLinked    = errors.New("channel is not linked to a WhatsApp account")
	ErrLinked       = errors.New("channel is already linked to a WhatsApp account")
	ErrShuttingDown = errors.New("runtime is shutting down")
)

// Options configure a Manager.
type Options struct {
	Engine engine.Engine
	Store  LinkStore
	Log    *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// OnEvent receives lifecycle events (status, QR, linked, unlinked). It
	// runs on the channel's supervisor and must return quickly.
	OnEvent func(Event)
	// OnEngineEvent receives messages, receipts and group changes.
	OnEngineEvent func(channelID string, ev engine.Event)
	// MinBackoff and MaxBackoff bound reconnect delays (1 s and 60 s by default).
	MinBackoff, MaxBackoff time.Duration
	// StartConcurrency bounds how many channels open and connect at once
	// (boot, bursts of starts); 8 by default.
	StartConcurrency int
	// StartSlotHold is the longest one start keeps its slot (2 s by
	// default): a start that takes longer, like a hanging engine, no longer
	// holds other channels back.
	StartSlotHold time.Duration
}

// Manager owns one supervisor per channel.
type Manager struct {
	o        Options
	mu       sync.Mutex
	sups     map[string]*supervisor
	closed   bool
	startSem chan struct{}
	wg       sync.WaitGroup
}

// New returns a Manager; channels start with Apply or StartAll.
func New(o Options) *Manager {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	if o.StartConcurrency <= 0 {
		o.StartConcurrency = 8
	}
	if o.StartSlotHold <= 0 {
		o.StartSlotHold = 2 * time.Second
	}
	if o.OnEvent == nil {
		o.OnEvent = func(Event) {}
	}
	if o.OnEngineEvent == nil {
		o.OnEngineEvent = func(string, engine.Event) {}
	}
	return &Manager{o: o, sups: map[string]*supervisor{}, startSem: make(chan struct{}, o.StartConcurrency)}
}

// Engine is the engine channels run on.
func (m *Manager) Engine() engine.Engine { return m.o.Engine }

// supervisor returns the channel's supervisor, creating it when create is set.
func (m *Manager) supervisor(ch model.Channel, create bool) (*supervisor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrShuttingDown
	}
	s := m.sups[ch.ID]
	if s == nil && create {
		s = newSupervisor(m, ch)
		m.sups[ch.ID] = s
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			s.loop()
		}()
	}
	if s == nil {
		return nil, ErrNotRunning
	}
	return s, nil
}

func (m *Manager) get(channelID string) (*supervisor, error) {
	return m.supervisor(model.Channel{ID: channelID}, false)
}

// Apply brings a channel's runtime to what the channel says: connected while
// it has days and is not stopped, disconnected (login kept) otherwise. A
// changed proxy reconnects through the new one. It does not wait for the
// connection.
func (m *Manager) Apply(ctx context.Context, ch model.Channel) {
	run := ch.Running(m.o.Now())
	s, err := m.supervisor(ch, run)
	if err != nil {
		return // not running and nothing to stop, or shutting down
	}
	var res error
	if err := s.do(ctx, func() { res = s.apply(ch, run) }); err != nil {
		return
	}
	if res != nil {
		m.o.Log.Warn("channel change not applied", "channel_id", ch.ID, "error", res)
	}
}

// StartAll starts every given channel, at most StartConcurrency connecting at
// once, and returns when all have been started (not connected).
func (m *Manager) StartAll(ctx context.Context, chs []model.Channel) {
	var wg sync.WaitGroup
	for _, ch := range chs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Apply(ctx, ch)
		}()
	}
	wg.Wait()
}

// Restart disconnects and reconnects a running channel.
func (m *Manager) Restart(ctx context.Context, ch model.Channel) error {
	s, err := m.supervisor(ch, ch.Running(m.o.Now()))
	if err != nil {
		return err
	}
	var res error
	if err := s.do(ctx, func() {
		had := s.session() != nil
		res = s.apply(ch, ch.Running(m.o.Now()))
		if had {
			s.restart()
		}
	}); err != nil {
		return err
	}
	return res
}

// Remove stops a deleted channel for good: it logs the device out of
// WhatsApp when it can (best effort, bounded by ctx) and forgets it.
func (m *Manager) Remove(ctx context.Context, channelID string) {
	m.mu.Lock()
	s := m.sups[channelID]
	delete(m.sups, channelID)
	m.mu.Unlock()
	if s == nil {
		return
	}
	_ = s.do(ctx, func() { s.remove(ctx) })
	s.shutdown()
}

// Logout unlinks the channel's WhatsApp account: through WhatsApp, or with
// force only locally (hard unlink, for a channel that does not answer). The
// channel then starts a new login flow.
func (m *Manager) Logout(ctx context.Context, ch model.Channel, force bool) error {
	s, err := m.supervisor(ch, true)
	if err != nil {
		return err
	}
	var res error
	if err := s.do(ctx, func() {
		if s.session() == nil {
			// A new supervisor (a stopped channel) first takes the
			// channel's state, so that it reports STOP.
			_ = s.apply(ch, ch.Running(m.o.Now()))
		}
		res = s.logout(ctx, ch, force)
	}); err != nil {
		return err
	}
	return res
}

// SetProxy reconnects a channel through proxy ("" for direct).
func (m *Manager) SetProxy(ctx context.Context, ch model.Channel) error {
	ch2 := ch
	s, err := m.supervisor(ch2, ch2.Running(m.o.Now()))
	if errors.Is(err, ErrNotRunning) {
		return nil // applies when it starts
	}
	if err != nil {
		return err
	}
	var res error
	if err := s.do(ctx, func() { res = s.apply(ch2, ch2.Running(m.o.Now())) }); err != nil {
		return err
	}
	return res
}

// Health returns a channel's runtime status. A channel without a supervisor
// is STOP when it should not run, NOT_INIT otherwise.
func (m *Manager) Health(ch model.Channel) Health {
	s, err := m.get(ch.ID)
	if err != nil {
		st := StatusNotInit
		if !ch.Running(m.o.Now()) {
			st = StatusStop
		}
		return Health{ChannelID: ch.ID, Status: st, Phone: ch.WAPhone, Name: ch.WAName}
	}
	return s.snapshot()
}

// LoginQR makes sure a login flow runs for an unlinked channel (starting a
// new one when the last timed out) and waits, bounded by ctx, for its QR.
func (m *Manager) LoginQR(ctx context.Context, ch model.Channel) (Health, error) {
	if !ch.Running(m.o.Now()) {
		return Health{}, ErrNotRunning
	}
	s, err := m.supervisor(ch, true)
	if err != nil {
		return Health{}, err
	}
	var res error
	if err := s.do(ctx, func() {
		if res = s.apply(ch, true); res == nil {
			res = s.ensureLogin()
		}
	}); err != nil {
		return Health{}, err
	}
	if res != nil {
		return Health{}, res
	}
	for {
		h, changed := s.watch()
		switch {
		case h.Status == StatusAuth || s.isLinked():
			return h, ErrLinked
		case h.QR != "":
			return h, nil
		case h.Status == StatusError:
			return h, fmt.Errorf("channel failed to start: %s", h.Error)
		}
		select {
		case <-ctx.Done():
			return h, fmt.Errorf("no QR code yet (status %s): %w", h.Status, ctx.Err())
		case <-changed:
		}
	}
}

// PairCode asks for a pairing code for phone; it starts the login flow first
// when needed.
func (m *Manager) PairCode(ctx context.Context, ch model.Channel, phone string) (string, error) {
	if _, err := m.LoginQR(ctx, ch); err != nil {
		return "", err
	}
	s, err := m.get(ch.ID)
	if err != nil {
		return "", err
	}
	sess := s.session()
	if sess == nil {
		return "", ErrNotRunning
	}
	return sess.PairPhone(ctx, phone)
}

// Session returns the channel's session when it is linked and running, for
// actions (profile, messages).
func (m *Manager) Session(ch model.Channel) (engine.Session, error) {
	s, err := m.get(ch.ID)
	if err != nil {
		return nil, err
	}
	sess := s.session()
	if sess == nil {
		return nil, ErrNotRunning
	}
	if !sess.Linked() {
		return nil, ErrNotLinked
	}
	return sess, nil
}

// Channels reports how many supervisors run.
func (m *Manager) Channels() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sups)
}

// Shutdown stops every supervisor and closes the sessions (logins are kept).
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	sups := make([]*supervisor, 0, len(m.sups))
	for _, s := range m.sups {
		sups = append(sups, s)
	}
	m.sups = map[string]*supervisor{}
	m.mu.Unlock()
	for _, s := range sups {
		s.shutdown()
	}
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("runtime: %d channels did not stop in time: %w", len(sups), ctx.Err())
	}
}
