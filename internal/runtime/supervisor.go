package runtime

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// opTimeout bounds one engine call made by a supervisor (open, connect,
// logout), so a hanging engine stalls only its own channel, and not forever.
const opTimeout = 30 * time.Second

// removeTimeout bounds the logout of a deleted channel.
const removeTimeout = 5 * time.Second

// supervisor owns one channel's session. Everything that changes the session
// runs on its loop goroutine, in the order it was posted; other goroutines
// post work (post, do) and read snapshots under mu.
type supervisor struct {
	m         *Manager
	id        string
	partnerID string

	quit     chan struct{}
	quitOnce sync.Once
	// done is closed when the loop has returned (the session closed).
	done chan struct{}
	wake chan struct{} // signalled when inbox gets work

	// Loop-owned state.
	run          bool
	device       string
	proxy        string
	gen          int // generation of the current session; events of older ones are ignored
	loginRunning bool
	state        State
	attempt      int // automatic retries since the channel was last online
	banAttempt   int // retries of bans without an end, since last online
	retry        *time.Timer
	retryC       <-chan time.Time
	// streamErr is the code of the stream error that ends the current
	// connection, reported with its Disconnected.
	streamErr string
	// ingestFailed is the generation whose failed ingest already asked for
	// a new connection.
	ingestFailed int

	// Shared state, guarded by mu.
	mu        sync.Mutex
	inbox     []func()
	sess      engine.Session
	linked    bool
	health    Health
	changedCh chan struct{}
}

func newSupervisor(m *Manager, ch model.Channel) *supervisor {
	return &supervisor{
		m: m, id: ch.ID, partnerID: ch.PartnerID,
		quit: make(chan struct{}), wake: make(chan struct{}, 1), done: make(chan struct{}),
		device: ch.Device, proxy: ch.Proxy, linked: ch.Device != "", state: StateNotStarted,
		health:    Health{ChannelID: ch.ID, Status: StatusNotInit, State: StateNotStarted, Phone: ch.WAPhone, Name: ch.WAName},
		changedCh: make(chan struct{}),
	}
}

// post queues fn to run on the supervisor's loop and returns at once; it
// reports false when the supervisor has shut down.
func (s *supervisor) post(fn func()) bool {
	select {
	case <-s.quit:
		return false
	default:
	}
	s.mu.Lock()
	s.inbox = append(s.inbox, fn)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// do runs fn on the supervisor's loop and waits for it, bounded by ctx.
// When ctx ends before fn's turn comes, fn does not run: the caller was
// told the channel did not answer.
func (s *supervisor) do(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	if !s.post(func() {
		defer close(done) // the caller is released even if fn panics
		if ctx.Err() == nil {
			fn()
		}
	}) {
		return ErrShuttingDown
	}
	select {
	case <-done:
		return nil
	case <-s.quit:
		return ErrShuttingDown
	case <-ctx.Done():
		return fmt.Errorf("channel %s did not answer: %w", s.id, ctx.Err())
	}
}

func (s *supervisor) shutdown() { s.quitOnce.Do(func() { close(s.quit) }) }

func (s *supervisor) takeInbox() []func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	work := s.inbox
	s.inbox = nil
	return work
}

// loop runs until shutdown. A panic in the channel's code or its engine is
// logged, turns the channel to StateFailed, and the channel is retried after
// a backoff: it never reaches other channels.
func (s *supervisor) loop() {
	for !s.runLoop() {
	}
}

func (s *supervisor) runLoop() (stopped bool) {
	var pending []func()
	defer func() {
		if v := recover(); v != nil {
			s.m.o.Log.Error("channel supervisor panicked; restarting it", "channel_id", s.id, "panic", v, "stack", string(debug.Stack()))
			s.closeSession()
			s.retryLater(StateFailed, fmt.Sprintf("internal error: %v", v), 0, s.m.o.Reconnect)
			// Work queued behind the panicking item still runs.
			if len(pending) > 0 {
				s.mu.Lock()
				s.inbox = append(pending, s.inbox...)
				s.mu.Unlock()
				select {
				case s.wake <- struct{}{}:
				default:
				}
			}
			stopped = false
		}
	}()
	for {
		select {
		case <-s.quit:
			s.closeSession()
			return true
		case <-s.wake:
			pending = s.takeInbox()
			for len(pending) > 0 {
				fn := pending[0]
				pending = pending[1:]
				fn()
			}
		case <-s.retryC:
			s.retry, s.retryC = nil, nil
			s.onRetry()
		}
	}
}

// events is the Events callback of session generation gen: lifecycle
// events go to the loop, tagged, so those of a closed session are ignored.
func (s *supervisor) events(gen int) func(engine.Event) {
	return func(ev engine.Event) {
		s.post(func() {
			if gen == s.gen {
				s.handle(ev)
			}
		})
	}
}

// ingest is the Ingest callback of session generation gen: data events go
// straight to the Manager's Ingest (never through the loop, which may be
// busy connecting). A failure makes the loop reconnect, so that WhatsApp
// delivers what was not acknowledged again.
func (s *supervisor) ingest(gen int) func(context.Context, engine.Event) error {
	in := s.m.o.Ingest
	if in == nil {
		return nil
	}
	return func(ctx context.Context, ev engine.Event) error {
		err := in(ctx, s.id, ev)
		if err != nil {
			s.post(func() { s.onIngestFailed(gen, err) })
		}
		return err
	}
}

func (s *supervisor) sentPayload() func(context.Context, string) ([]byte, error) {
	get := s.m.o.SentPayload
	if get == nil {
		return nil
	}
	return func(ctx context.Context, id string) ([]byte, error) { return get(ctx, s.id, id) }
}

// opCtx is a context for one engine call, ended by shutdown or opTimeout.
func (s *supervisor) opCtx() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	go func() {
		select {
		case <-s.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// --- state shared with readers

func (s *supervisor) snapshot() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.health
}

// watch returns the health and a channel closed at its next change, read
// together so that no change between them is missed.
func (s *supervisor) watch() (Health, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.health, s.changedCh
}

func (s *supervisor) session() engine.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sess
}

func (s *supervisor) isLinked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.linked
}

// update changes the shared health and wakes waiters; it returns the new
// snapshot and whether the status or state changed.
func (s *supervisor) update(fn func(h *Health)) (Health, bool) {
	s.mu.Lock()
	before, beforeState := s.health.Status, s.health.State
	fn(&s.health)
	h := s.health
	close(s.changedCh)
	s.changedCh = make(chan struct{})
	s.mu.Unlock()
	return h, h.Status != before || h.State != beforeState
}

// setState moves the channel to st with a reason ("" for none); mod adjusts
// the rest of the health (code, retry, ban end). Details of the previous
// state (code, next try, ban end, QR) are cleared.
func (s *supervisor) setState(st State, reason string, mod func(h *Health)) Health {
	s.state = st
	h, changed := s.update(func(h *Health) {
		h.State, h.Status, h.Error = st, st.Status(), reason
		h.Code, h.NextTry, h.Until = 0, time.Time{}, time.Time{}
		h.Attempt = s.attempt
		h.LoginTimedOut = st == StateLoginExpired
		if st != StateLogin {
			h.QR, h.QRExpires = "", time.Time{}
		}
		if mod != nil {
			mod(h)
		}
	})
	if changed {
		s.emit(EventStatus, h, reason)
	}
	return h
}

func (s *supervisor) emit(kind EventKind, h Health, reason string) {
	s.m.o.OnEvent(Event{ChannelID: s.id, PartnerID: s.partnerID, Kind: kind, Health: h, Reason: reason, Time: s.m.o.Now()})
}

// --- loop-owned actions

// parked reports a state the channel waits in without retrying on its own
// (replaced by another client), or until its retry is due (bans, refused
// versions, failures): a change of the channel's row does not end the wait.
func (s *supervisor) parked() bool {
	return s.state == StateReplaced || s.retry != nil
}

// apply makes the supervisor follow the channel's desired state: stop, or
// run (starting the session unless it runs or waits for a retry), through
// the channel's proxy (a new proxy reconnects at once).
func (s *supervisor) apply(ch model.Channel, run bool) {
	if !run {
		s.proxy = ch.Proxy
		s.run = false
		s.closeSession()
		s.attempt, s.banAttempt = 0, 0
		s.setState(StateStopped, "", nil)
		return
	}
	starting := !s.run
	s.run = true
	sess := s.session()
	switch {
	case sess == nil && (starting || !s.parked()):
		s.proxy = ch.Proxy
		if starting {
			s.attempt, s.banAttempt = 0, 0
		}
		s.start()
	case ch.Proxy != s.proxy:
		s.proxy = ch.Proxy
		if sess != nil {
			if err := sess.SetProxy(ch.Proxy); err != nil {
				// ValidateProxy passed, so the engine changed its mind:
				// reopen the session, which reports the error.
				s.m.o.Log.Warn("channel proxy not applied", "channel_id", s.id, "error", err)
			}
		}
		s.restart()
	}
}

// start opens the session and starts connecting. It takes one of the
// Manager's start slots, which bound how many channels connect at once, for
// at most StartSlotHold: a channel whose engine hangs keeps its own loop
// busy, never the other channels' starts.
func (s *supervisor) start() {
	s.cancelRetry()
	select {
	case s.m.startSem <- struct{}{}:
	case <-s.quit:
		return
	}
	release := sync.OnceFunc(func() { <-s.m.startSem })
	hold := time.AfterFunc(s.m.o.StartSlotHold, release)
	defer func() {
		hold.Stop()
		release()
	}()
	ctx, cancel := s.opCtx()
	defer cancel()

	s.setState(StateConnecting, "", nil)
	sess, err := s.open(ctx, s.device)
	if errors.Is(err, engine.ErrDeviceNotFound) {
		// The engine lost the device (its store was reset): say so and log in anew.
		s.m.o.Log.Warn("linked device missing from the engine; a new login is needed", "channel_id", s.id, "error", err)
		s.forgetLink(ctx, "the linked device is missing from the engine's store")
		sess, err = s.open(ctx, "")
	}
	if err != nil {
		s.m.o.Log.Warn("channel session could not be opened; retrying", "channel_id", s.id, "error", err)
		s.retryLater(StateFailed, fmt.Sprintf("the session could not be opened: %v", err), 0, s.m.o.Reconnect)
		return
	}
	now := s.m.o.Now()
	s.mu.Lock()
	s.sess = sess
	s.linked = sess.Linked()
	s.mu.Unlock()
	s.update(func(h *Health) { h.StartedAt = now })
	s.connect(ctx)
}

// open opens a session of a new generation for device ("" unlinked).
func (s *supervisor) open(ctx context.Context, device string) (engine.Session, error) {
	s.gen++
	return s.m.o.Engine.Open(ctx, engine.SessionConfig{
		ChannelID: s.id, Device: device, Proxy: s.proxy,
		Events: s.events(s.gen), Ingest: s.ingest(s.gen), SentPayload: s.sentPayload(),
	})
}

func (s *supervisor) connect(ctx context.Context) {
	s.mu.Lock()
	sess, linked := s.sess, s.linked
	s.mu.Unlock()
	if sess == nil {
		return
	}
	s.loginRunning = !linked
	if s.state != StateReconnecting && s.state != StateKeepAliveLost {
		s.setState(StateConnecting, "", nil)
	}
	s.streamErr = ""
	if err := sess.Connect(ctx); err != nil {
		s.loginRunning = false
		s.connectFailed(err)
	}
}

// connectFailed schedules the next attempt after a Connect that failed
// before WhatsApp answered.
func (s *supervisor) connectFailed(err error) {
	s.m.o.Log.Warn("channel connection failed; retrying", "channel_id", s.id, "error", err, "attempt", s.attempt+1)
	if errors.Is(err, engine.ErrProxyUnreachable) {
		s.retryLater(StateProxyUnreachable, "the channel's proxy did not carry the connection to WhatsApp; check the proxy or change it", 0, s.m.o.Reconnect)
		return
	}
	s.retryLater(StateReconnecting, fmt.Sprintf("could not connect to WhatsApp: %v", err), 0, s.m.o.Reconnect)
}

// closeSession closes the session (the login is kept) and ignores its
// remaining events.
func (s *supervisor) closeSession() {
	s.cancelRetry()
	s.mu.Lock()
	sess := s.sess
	s.sess = nil
	s.mu.Unlock()
	s.gen++
	s.loginRunning = false
	if sess != nil {
		if err := closeQuietly(sess); err != nil {
			s.m.o.Log.Warn("closing session failed", "channel_id", s.id, "error", err)
		}
	}
}

// closeQuietly closes a session, turning a panic in the engine's Close into
// an error: closing runs in the panic recovery path too, where a second
// panic would take the whole process down.
func closeQuietly(sess engine.Session) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("close panicked: %v", v)
		}
	}()
	return sess.Close()
}

// disconnectQuietly is Disconnect with a panic turned into a log line.
func (s *supervisor) disconnectQuietly(sess engine.Session) {
	defer func() {
		if v := recover(); v != nil {
			s.m.o.Log.Warn("disconnect panicked", "channel_id", s.id, "panic", v)
		}
	}()
	sess.Disconnect()
}

// restart closes the session and opens a new one at once (an explicit
// request: no backoff).
func (s *supervisor) restart() {
	if !s.run {
		return
	}
	s.closeSession()
	s.attempt, s.banAttempt = 0, 0
	s.start()
}

// retryLater moves the channel to st and schedules the next attempt after
// the backoff b gives for the current attempt (or after wait, when set).
func (s *supervisor) retryLater(st State, reason string, code int, b Backoff) {
	s.retryAfter(b.Delay(s.attempt), st, reason, code, time.Time{})
}

// retryAfter moves the channel to st and schedules the next attempt in d.
func (s *supervisor) retryAfter(d time.Duration, st State, reason string, code int, until time.Time) {
	s.attempt++
	next := s.m.o.Now().Add(d)
	s.setState(st, reason, func(h *Health) { h.Code, h.NextTry, h.Until = code, next, until })
	s.scheduleRetry(d)
}

func (s *supervisor) scheduleRetry(d time.Duration) {
	s.cancelRetry()
	s.retry = time.NewTimer(d)
	s.retryC = s.retry.C
	next := s.m.o.Now().Add(d)
	s.update(func(h *Health) { h.NextTry = next })
}

func (s *supervisor) cancelRetry() {
	if s.retry != nil {
		s.retry.Stop()
		s.retry, s.retryC = nil, nil
		s.update(func(h *Health) { h.NextTry = time.Time{} })
	}
}

// onRetry makes the attempt a retry was scheduled for: a new session when
// none is open, otherwise a new connection of the open one.
func (s *supervisor) onRetry() {
	if !s.run {
		return
	}
	sess := s.session()
	if sess == nil {
		s.start()
		return
	}
	if s.state == StateKeepAliveLost {
		// The grace period passed: give up on this connection.
		s.disconnectQuietly(sess)
		s.attempt++
		s.setState(StateReconnecting, fmt.Sprintf("WhatsApp did not answer keepalive pings for %s; reconnecting", s.m.o.KeepAliveGrace), nil)
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	s.connect(ctx)
}

// ensureLogin starts a new login flow when none runs.
func (s *supervisor) ensureLogin() error {
	if s.isLinked() {
		return ErrLinked
	}
	if !s.run {
		return ErrNotRunning
	}
	if s.session() == nil {
		s.attempt = 0
		s.start()
		return nil
	}
	if s.loginRunning {
		s.cancelRetry()
		return nil
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	s.cancelRetry()
	s.attempt = 0
	s.connect(ctx)
	return nil
}

// forgetLink drops the stored link and reports the channel unlinked.
func (s *supervisor) forgetLink(ctx context.Context, reason string) {
	s.device = ""
	s.mu.Lock()
	s.linked = false
	s.mu.Unlock()
	var phone, name string
	h, _ := s.update(func(h *Health) {
		phone, name = h.Phone, h.Name
		h.Phone, h.Name = "", ""
	})
	if err := s.m.o.Store.ClearChannelLink(ctx, s.id); err != nil && !errors.Is(err, model.ErrNotFound) {
		s.m.o.Log.Error("could not clear the channel's link", "channel_id", s.id, "error", err)
	}
	s.m.o.OnEvent(Event{ChannelID: s.id, PartnerID: s.partnerID, Kind: EventUnlinked, Health: h, Reason: reason, Time: s.m.o.Now(), Phone: phone, Name: name})
}

// unlinked handles a device that is gone: forget it and, when the channel
// runs, start a new login flow after the reconnect backoff (never at once:
// a WhatsApp that logs every new device out must not make us spin).
func (s *supervisor) unlinked(reason string) {
	ctx, cancel := s.opCtx()
	defer cancel()
	s.closeSession()
	s.forgetLink(ctx, reason)
	if s.run {
		s.retryLater(StateLoggedOut, reason, 0, s.m.o.Reconnect)
		return
	}
	s.setState(StateStopped, "", nil)
}

func (s *supervisor) logout(ctx context.Context, force bool) error {
	if !s.isLinked() && s.device == "" {
		return ErrNotLinked
	}
	sess := s.session()
	if sess == nil {
		// Stopped (or waiting) channel: open the session just to log it out.
		var err error
		sess, err = s.open(ctx, s.device)
		if err != nil && !errors.Is(err, engine.ErrDeviceNotFound) {
			return fmt.Errorf("open session: %w", err)
		}
		if sess != nil {
			defer closeQuietly(sess)
		}
	}
	reason := "logged out by API"
	if sess != nil {
		if force {
			reason = "hard unlink by API"
			if err := sess.Forget(ctx); err != nil {
				s.m.o.Log.Warn("hard unlink: the engine could not forget the device; dropping the link anyway", "channel_id", s.id, "error", err)
			}
		} else if err := sess.Logout(ctx); err != nil {
			return fmt.Errorf("WhatsApp did not confirm the logout (%w); the partner can hard-unlink the channel (POST /partner/channels/{ChannelID}/logout?force=true), which drops the session locally", err)
		}
	}
	s.unlinked(reason)
	// An explicit logout starts the new login flow at once.
	if s.run && s.retry != nil {
		s.cancelRetry()
		s.attempt = 0
		s.start()
	}
	return nil
}

// remove logs a deleted channel's device out (best effort) and closes it.
func (s *supervisor) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
	defer cancel()
	sess := s.session()
	if sess == nil && s.device != "" {
		sess, _ = s.open(ctx, s.device)
	}
	if sess != nil && sess.Linked() {
		if err := sess.Logout(ctx); err != nil {
			_ = sess.Forget(context.WithoutCancel(ctx))
		}
	}
	if sess != nil && sess != s.session() {
		_ = closeQuietly(sess)
	}
	s.run = false
	s.closeSession()
	s.setState(StateStopped, "channel deleted", nil)
}
