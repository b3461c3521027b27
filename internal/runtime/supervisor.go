package runtime

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// opTimeout bounds one engine call made by a supervisor (open, connect,
// logout), so a hanging engine stalls only its own channel, and not forever.
const opTimeout = 30 * time.Second

type command struct {
	fn   func()
	done chan struct{}
}

// queued is an engine event tagged with the session it came from, so events
// of a closed session are ignored.
type queued struct {
	gen int
	ev  engine.Event
}

// supervisor owns one channel's session. Everything that changes the session
// runs on its loop goroutine; other goroutines read snapshots under mu.
type supervisor struct {
	m         *Manager
	id        string
	partnerID string

	cmds     chan command
	quit     chan struct{}
	quitOnce sync.Once

	qmu    sync.Mutex
	queue  []queued
	queued chan struct{} // signalled when queue gets items

	// Loop-owned state.
	run          bool
	device       string
	proxy        string
	gen          int
	loginRunning bool
	attempt      int
	retry        *time.Timer
	retryC       <-chan time.Time

	// Shared state, guarded by mu.
	mu        sync.Mutex
	sess      engine.Session
	linked    bool
	health    Health
	changedCh chan struct{}
}

func newSupervisor(m *Manager, ch model.Channel) *supervisor {
	return &supervisor{
		m: m, id: ch.ID, partnerID: ch.PartnerID,
		cmds: make(chan command), quit: make(chan struct{}), queued: make(chan struct{}, 1),
		device: ch.Device, proxy: ch.Proxy, linked: ch.Device != "",
		health:    Health{ChannelID: ch.ID, Status: StatusNotInit, Phone: ch.WAPhone, Name: ch.WAName},
		changedCh: make(chan struct{}),
	}
}

// do runs fn on the supervisor's loop and waits for it, bounded by ctx.
func (s *supervisor) do(ctx context.Context, fn func()) error {
	c := command{fn: fn, done: make(chan struct{})}
	select {
	case s.cmds <- c:
	case <-s.quit:
		return ErrShuttingDown
	case <-ctx.Done():
		return fmt.Errorf("channel %s is busy: %w", s.id, ctx.Err())
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("channel %s did not answer: %w", s.id, ctx.Err())
	}
}

func (s *supervisor) shutdown() { s.quitOnce.Do(func() { close(s.quit) }) }

// loop runs until shutdown. A panic in the channel's code or its engine is
// logged, turns the status to ERROR, and the channel is retried after a
// backoff: it never reaches other channels.
func (s *supervisor) loop() {
	for !s.runLoop() {
	}
}

func (s *supervisor) runLoop() (stopped bool) {
	defer func() {
		if v := recover(); v != nil {
			s.m.o.Log.Error("channel supervisor panicked; restarting it", "channel_id", s.id, "panic", v, "stack", string(debug.Stack()))
			s.closeSession()
			s.setStatus(StatusError, fmt.Sprintf("internal error: %v", v))
			s.scheduleRetry(s.backoff())
			stopped = false
		}
	}()
	for {
		select {
		case <-s.quit:
			s.closeSession()
			return true
		case c := <-s.cmds:
			func() {
				defer close(c.done) // the caller is released even if fn panics
				c.fn()
			}()
		case <-s.queued:
			for _, q := range s.drain() {
				if q.gen == s.gen {
					s.handle(q.ev)
				}
			}
		case <-s.retryC:
			s.retryC = nil
			s.onRetry()
		}
	}
}

func (s *supervisor) push(gen int) func(engine.Event) {
	return func(ev engine.Event) {
		s.qmu.Lock()
		s.queue = append(s.queue, queued{gen: gen, ev: ev})
		s.qmu.Unlock()
		select {
		case s.queued <- struct{}{}:
		default:
		}
	}
}

func (s *supervisor) drain() []queued {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	q := s.queue
	s.queue = nil
	return q
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
// snapshot and whether the status changed.
func (s *supervisor) update(fn func(h *Health)) (Health, bool) {
	s.mu.Lock()
	before := s.health.Status
	fn(&s.health)
	h := s.health
	close(s.changedCh)
	s.changedCh = make(chan struct{})
	s.mu.Unlock()
	return h, h.Status != before
}

func (s *supervisor) setStatus(st Status, errText string) {
	h, changed := s.update(func(h *Health) {
		h.Status = st
		h.Error = errText
		if st != StatusQR {
			h.QR, h.QRExpires = "", time.Time{}
		}
	})
	if changed {
		s.emit(EventStatus, h, errText)
	}
}

func (s *supervisor) emit(kind EventKind, h Health, reason string) {
	s.m.o.OnEvent(Event{ChannelID: s.id, PartnerID: s.partnerID, Kind: kind, Health: h, Reason: reason, Time: s.m.o.Now()})
}

// --- loop-owned actions

// apply makes the supervisor follow the channel's desired state. A proxy
// the engine rejects changes nothing (the session keeps its proxy) and is
// returned.
func (s *supervisor) apply(ch model.Channel, run bool) error {
	if !run {
		s.proxy = ch.Proxy
		s.run = false
		s.closeSession()
		s.setStatus(StatusStop, "")
		return nil
	}
	s.run = true
	s.mu.Lock()
	sess := s.sess
	s.mu.Unlock()
	switch {
	case sess == nil:
		s.proxy = ch.Proxy
		s.start()
	case ch.Proxy != s.proxy:
		if err := sess.SetProxy(ch.Proxy); err != nil {
			return fmt.Errorf("proxy: %w", err)
		}
		s.proxy = ch.Proxy
		s.restart()
	}
	return nil
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

	s.gen++
	sess, err := s.m.o.Engine.Open(ctx, engine.SessionConfig{ChannelID: s.id, Device: s.device, Proxy: s.proxy, Events: s.push(s.gen)})
	if errors.Is(err, engine.ErrDeviceNotFound) {
		// The engine lost the device (its store was reset): say so and log in anew.
		s.m.o.Log.Warn("linked device missing from the engine; a new login is needed", "channel_id", s.id, "error", err)
		s.forgetLink(ctx, "the linked device is missing from the engine's store")
		sess, err = s.m.o.Engine.Open(ctx, engine.SessionConfig{ChannelID: s.id, Proxy: s.proxy, Events: s.push(s.gen)})
	}
	if err != nil {
		s.fail(fmt.Errorf("open session: %w", err))
		return
	}
	now := s.m.o.Now()
	s.mu.Lock()
	s.sess = sess
	s.linked = sess.Linked()
	s.mu.Unlock()
	s.update(func(h *Health) { h.StartedAt = now; h.LoginTimedOut = false })
	s.connect(ctx)
}

func (s *supervisor) connect(ctx context.Context) {
	s.mu.Lock()
	sess, linked := s.sess, s.linked
	s.mu.Unlock()
	if sess == nil {
		return
	}
	s.loginRunning = !linked
	s.setStatus(StatusLaunch, "")
	if err := sess.Connect(ctx); err != nil {
		s.loginRunning = false
		s.fail(fmt.Errorf("connect: %w", err))
	}
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

func (s *supervisor) restart() {
	if !s.run {
		return
	}
	s.closeSession()
	s.attempt = 0
	s.start()
}

// fail records an error and schedules a retry with backoff.
func (s *supervisor) fail(err error) {
	s.m.o.Log.Warn("channel connection failed; retrying", "channel_id", s.id, "error", err)
	s.setStatus(StatusError, err.Error())
	s.scheduleRetry(s.backoff())
}

// backoff is MinBackoff * 2^attempt, capped at MaxBackoff, with ±20% jitter.
func (s *supervisor) backoff() time.Duration {
	d := s.m.o.MinBackoff << min(s.attempt, 16)
	if d <= 0 || d > s.m.o.MaxBackoff {
		d = s.m.o.MaxBackoff
	}
	s.attempt++
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func (s *supervisor) scheduleRetry(d time.Duration) {
	s.cancelRetry()
	s.retry = time.NewTimer(d)
	s.retryC = s.retry.C
}

func (s *supervisor) cancelRetry() {
	if s.retry != nil {
		s.retry.Stop()
		s.retry, s.retryC = nil, nil
	}
}

func (s *supervisor) onRetry() {
	if !s.run {
		return
	}
	s.mu.Lock()
	sess := s.sess
	s.mu.Unlock()
	if sess == nil {
		s.start()
		return
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
// runs, start a new login flow.
func (s *supervisor) unlinked(reason string) {
	ctx, cancel := s.opCtx()
	defer cancel()
	s.closeSession()
	s.forgetLink(ctx, reason)
	if s.run {
		s.start()
	}
}

func (s *supervisor) logout(ctx context.Context, ch model.Channel, force bool) error {
	if !s.isLinked() && s.device == "" {
		return ErrNotLinked
	}
	sess := s.session()
	if sess == nil {
		// Stopped channel: open the session just to log it out.
		var err error
		s.gen++
		sess, err = s.m.o.Engine.Open(ctx, engine.SessionConfig{ChannelID: s.id, Device: s.device, Proxy: s.proxy, Events: s.push(s.gen)})
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
	return nil
}

// remove logs a deleted channel's device out (best effort) and closes it.
func (s *supervisor) remove(ctx context.Context) {
	sess := s.session()
	if sess == nil && s.device != "" {
		s.gen++
		sess, _ = s.m.o.Engine.Open(ctx, engine.SessionConfig{ChannelID: s.id, Device: s.device, Proxy: s.proxy, Events: s.push(s.gen)})
	}
	if sess != nil && sess.Linked() {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := sess.Logout(lctx); err != nil {
			_ = sess.Forget(ctx)
		}
		cancel()
	}
	if sess != nil && sess != s.session() {
		_ = closeQuietly(sess)
	}
	s.run = false
	s.closeSession()
	s.setStatus(StatusStop, "channel deleted")
}

// handle reacts to one engine event of the current session.
func (s *supervisor) handle(ev engine.Event) {
	switch e := ev.(type) {
	case engine.QR:
		s.loginRunning = true
		s.cancelRetry() // a login flow runs: reconnecting would end it
		h, changed := s.update(func(h *Health) {
			h.Status, h.Error, h.QR, h.QRExpires, h.LoginTimedOut = StatusQR, "", e.Code, e.Expires, false
		})
		if changed {
			s.emit(EventStatus, h, "")
		}
		s.emit(EventQR, h, "")
	case engine.QRTimeout:
		s.loginRunning = false
		h, changed := s.update(func(h *Health) {
			h.Status, h.QR, h.QRExpires, h.LoginTimedOut = StatusInit, "", time.Time{}, true
		})
		if changed {
			s.emit(EventStatus, h, "")
		}
		s.emit(EventLinkFailed, h, "the QR code expired before a phone scanned it")
	case engine.LinkFailed:
		s.emit(EventLinkFailed, s.snapshot(), e.Reason)
	case engine.Linked:
		s.loginRunning = false
		s.device = e.Device
		s.mu.Lock()
		s.linked = true
		s.mu.Unlock()
		h, _ := s.update(func(h *Health) { h.Phone, h.Name, h.QR, h.QRExpires = e.Account.Phone, e.Account.Name, "", time.Time{} })
		ctx, cancel := s.opCtx()
		if err := s.m.o.Store.SetChannelLink(ctx, s.id, e.Device, e.Account.Phone, e.Account.Name, s.m.o.Now()); err != nil {
			s.m.o.Log.Error("could not store the channel's link", "channel_id", s.id, "error", err)
		}
		cancel()
		s.emit(EventLinked, h, "")
	case engine.Connected:
		s.attempt = 0
		s.cancelRetry()
		s.setStatus(StatusAuth, "")
	case engine.Disconnected:
		if !s.run {
			return
		}
		if s.isLinked() {
			s.setStatus(StatusLaunch, "")
			s.scheduleRetry(s.backoff())
			return
		}
		s.loginRunning = false
		s.update(func(h *Health) { h.LoginTimedOut = true })
		s.setStatus(StatusInit, "")
	case engine.LoggedOut:
		reason := "logged out"
		if e.Reason != "" {
			reason += ": " + e.Reason
		}
		s.unlinked(reason)
	case engine.StreamReplaced:
		s.closeSession()
		s.setStatus(StatusError, "another client connected with this device (stream replaced); restart the channel to take it back")
	case engine.TemporaryBan:
		s.closeSession()
		s.setStatus(StatusError, "temporarily banned by WhatsApp: "+e.Reason)
		wait := e.Expires
		if wait <= 0 {
			wait = s.m.o.MaxBackoff
		}
		s.scheduleRetry(wait)
	case engine.ConnectFailure:
		if e.Permanent {
			s.unlinked("WhatsApp refused the connection: " + e.Reason)
			return
		}
		s.setStatus(StatusError, "WhatsApp refused the connection: "+e.Reason)
		s.scheduleRetry(s.backoff())
	case engine.Message, engine.Receipt, engine.GroupChange, engine.Presence:
		s.m.o.OnEngineEvent(s.id, ev)
	}
}
