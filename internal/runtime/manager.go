package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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

// Backoff is a retry schedule: Min doubled at every attempt, capped at Max,
// each delay jittered by ±20% so that channels that failed together do not
// retry together.
type Backoff struct{ Min, Max time.Duration }

// Delay is the wait before retry number attempt (0-based).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Min << min(max(attempt, 0), 30)
	if d <= 0 || d > b.Max {
		d = b.Max
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func (b Backoff) orDefault(def Backoff) Backoff {
	if b.Min <= 0 {
		b.Min = def.Min
	}
	if b.Max <= 0 {
		b.Max = max(def.Max, b.Min)
	}
	return b
}

// Default retry schedules.
var (
	// DefaultReconnect: lost connections, refused or failed connects,
	// failed starts.
	DefaultReconnect = Backoff{Min: time.Second, Max: time.Minute}
	// DefaultOutdated: WhatsApp refuses the client version; a newer version
	// retries at once (Manager.RetryOutdated), so this only bounds how
	// often the same version is tried again.
	DefaultOutdated = Backoff{Min: 10 * time.Minute, Max: 2 * time.Hour}
	// DefaultBan: a temporary ban without an end WhatsApp told.
	DefaultBan = Backoff{Min: time.Hour, Max: 8 * time.Hour}
)

// DefaultKeepAliveGrace is how long keepalives may go unanswered before the
// connection is made anew.
const DefaultKeepAliveGrace = 90 * time.Second

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
	// Ingest stores a channel's data events (messages, receipts, group
	// changes, presences, undecryptable messages). The engine calls it on
	// its receive path and acknowledges the event to WhatsApp only when it
	// returns nil; after an error the supervisor reconnects (with backoff)
	// so that WhatsApp delivers the event again. Nil: data is dropped.
	Ingest func(ctx context.Context, channelID string, ev engine.Event) error
	// SentPayload returns the payload of a message a channel sent (see
	// engine.SessionConfig.SentPayload); nil: none is kept.
	SentPayload func(ctx context.Context, channelID, messageID string) ([]byte, error)
	// Reconnect, Outdated and Ban are the retry schedules (DefaultReconnect,
	// DefaultOutdated, DefaultBan when zero).
	Reconnect, Outdated, Ban Backoff
	// KeepAliveGrace is how long keepalives may fail before the connection
	// is made anew (DefaultKeepAliveGrace when zero).
	KeepAliveGrace time.Duration
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
	o.Reconnect = o.Reconnect.orDefault(DefaultReconnect)
	o.Outdated = o.Outdated.orDefault(DefaultOutdated)
	o.Ban = o.Ban.orDefault(DefaultBan)
	if o.KeepAliveGrace <= 0 {
		o.KeepAliveGrace = DefaultKeepAliveGrace
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
			defer close(s.done)
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
// changed proxy reconnects through the new one. It returns at once: the
// channel's supervisor applies the change after what it is doing.
func (m *Manager) Apply(ctx context.Context, ch model.Channel) {
	run := ch.Running(m.o.Now())
	s, err := m.supervisor(ch, run)
	if err != nil {
		return // not running and nothing to stop, or shutting down
	}
	s.post(func() { s.apply(ch, run) })
}

// StartAll starts every given channel (at most StartConcurrency connect at
// once) and returns without waiting for them.
func (m *Manager) StartAll(ctx context.Context, chs []model.Channel) {
	for _, ch := range chs {
		m.Apply(ctx, ch)
	}
}

// Restart disconnects and reconnects a running channel, whatever its state
// (a channel replaced by another client takes its device back, a banned or
// outdated one tries again now). It returns at once.
func (m *Manager) Restart(ctx context.Context, ch model.Channel) error {
	run := ch.Running(m.o.Now())
	s, err := m.supervisor(ch, run)
	if err != nil {
		if errors.Is(err, ErrNotRunning) {
			return nil
		}
		return err
	}
	s.post(func() {
		had := s.session() != nil
		s.apply(ch, run)
		if had || s.parked() {
			s.restart()
		}
	})
	return nil
}

// Remove stops a deleted channel for good: its supervisor logs the device
// out of WhatsApp when it can (best effort, within 5 s) and forgets it. It
// returns at once.
func (m *Manager) Remove(ctx context.Context, channelID string) {
	m.mu.Lock()
	s := m.sups[channelID]
	delete(m.sups, channelID)
	m.mu.Unlock()
	if s == nil {
		return
	}
	s.post(func() {
		s.remove()
		s.shutdown()
	})
}

// Logout unlinks the channel's WhatsApp account: through WhatsApp, or with
// force only locally (hard unlink, for a channel that does not answer). The
// channel then starts a new login flow. It waits for the result, bounded by
// ctx.
func (m *Manager) Logout(ctx context.Context, ch model.Channel, force bool) error {
	s, err := m.supervisor(ch, true)
	if err != nil {
		return err
	}
	var res error
	if err := s.do(ctx, func() {
		if s.session() == nil && !s.run {
			// A new supervisor (a stopped channel) first takes the
			// channel's state, so that it reports STOP.
			s.apply(ch, ch.Running(m.o.Now()))
		}
		res = s.logout(ctx, force)
	}); err != nil {
		return err
	}
	return res
}

// SetProxy reconnects a channel through its proxy ("" for direct). A proxy
// the engine cannot use is engine.ErrBadProxy and changes nothing;
// otherwise it returns at once.
func (m *Manager) SetProxy(ctx context.Context, ch model.Channel) error {
	if err := m.o.Engine.ValidateProxy(ch.Proxy); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	m.Apply(ctx, ch)
	return nil
}

// RetryOutdated tries again, now, every channel WhatsApp refused for its
// client version: call it when the engine learned a newer one. The retries
// are spread over spread so that they do not all connect at once.
func (m *Manager) RetryOutdated(spread time.Duration) int {
	m.mu.Lock()
	sups := make([]*supervisor, 0, len(m.sups))
	for _, s := range m.sups {
		sups = append(sups, s)
	}
	m.mu.Unlock()
	n := 0
	for _, s := range sups {
		if s.snapshot().State != StateClientOutdated {
			continue
		}
		n++
		d := time.Duration(0)
		if spread > 0 {
			d = rand.N(spread)
		}
		s.post(func() {
			if s.state == StateClientOutdated && s.run {
				s.attempt = 0
				s.scheduleRetry(d)
			}
		})
	}
	return n
}

// Health returns a channel's runtime status. A channel without a supervisor
// is STOP when it should not run, NOT_INIT otherwise.
func (m *Manager) Health(ch model.Channel) Health {
	s, err := m.get(ch.ID)
	if err != nil {
		st := StateNotStarted
		if !ch.Running(m.o.Now()) {
			st = StateStopped
		}
		return Health{ChannelID: ch.ID, Status: st.Status(), State: st, Phone: ch.WAPhone, Name: ch.WAName}
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
		s.apply(ch, true)
		res = s.ensureLogin()
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

// RemoveOrphans drops the engine's devices that no channel owns (owned
// lists every channel's device, running or not): devices whose link was
// cleared while the engine kept them, or that a crash left behind. It
// returns what it removed. Engines that keep no devices of their own do
// nothing. Call it before channels start.
func (m *Manager) RemoveOrphans(ctx context.Context, owned []string) ([]string, error) {
	r, ok := m.o.Engine.(engine.Reconciler)
	if !ok {
		return nil, nil
	}
	all, err := r.Devices(ctx)
	if err != nil {
		return nil, fmt.Errorf("runtime: list the engine's devices: %w", err)
	}
	keep := make(map[string]bool, len(owned))
	for _, d := range owned {
		keep[d] = true
	}
	var removed []string
	var errs []error
	for _, d := range all {
		if keep[d] {
			continue
		}
		if err := r.RemoveDevice(ctx, d); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", d, err))
			continue
		}
		removed = append(removed, d)
	}
	return removed, errors.Join(errs...)
}

// Release stops channels another node runs from now on (cluster mode):
// their sessions are closed, their logins kept, nothing is told to
// WhatsApp. It waits until every session is closed, bounded by ctx.
func (m *Manager) Release(ctx context.Context, channelIDs []string) error {
	m.mu.Lock()
	sups := make([]*supervisor, 0, len(channelIDs))
	for _, id := range channelIDs {
		if s := m.sups[id]; s != nil {
			delete(m.sups, id)
			sups = append(sups, s)
		}
	}
	m.mu.Unlock()
	for _, s := range sups {
		s.shutdown()
	}
	for i, s := range sups {
		select {
		case <-s.done:
		case <-ctx.Done():
			return fmt.Errorf("runtime: %d of %d channels did not stop in time: %w", len(sups)-i, len(sups), ctx.Err())
		}
	}
	return nil
}

// Running lists the channels that have a supervisor.
func (m *Manager) Running() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.sups))
	for id := range m.sups {
		out = append(out, id)
	}
	return out
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
