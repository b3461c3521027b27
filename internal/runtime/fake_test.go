package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// waitFor is how long a test waits for something that must happen.
const waitFor = 3 * time.Second

var errFake = errors.New("fake engine failure")

// --- fake engine

// fakeEngine is a scriptable engine.Engine. It records every Open, lets tests
// hook Open and Connect (fail, panic, block), and can answer Connect like a
// real engine would (Connected for a linked device, a QR for an unlinked one).
type fakeEngine struct {
	mu       sync.Mutex
	sessions map[string][]*fakeSession // by channel, in Open order
	opens    []engine.SessionConfig
	closed   bool

	openHook    func(cfg engine.SessionConfig) error
	connectHook func(ctx context.Context, s *fakeSession) error
	closeHook   func(s *fakeSession)

	// autoConnected: Connect of a linked session emits Connected.
	autoConnected atomic.Bool
	// autoQR: Connect of an unlinked session emits a QR code.
	autoQR atomic.Bool
	// delay: Open and Connect take this long (to measure concurrency).
	delay atomic.Int64
	qrSeq atomic.Int64

	inflight, maxInflight atomic.Int64
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{sessions: map[string][]*fakeSession{}}
}

func (e *fakeEngine) Name() string { return "fake" }

func (e *fakeEngine) ValidateProxy(proxy string) error {
	if strings.HasPrefix(proxy, "bad://") {
		return engine.ErrBadProxy
	}
	return nil
}

func (e *fakeEngine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	return nil
}

func (e *fakeEngine) setOpenHook(f func(cfg engine.SessionConfig) error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.openHook = f
}

func (e *fakeEngine) setCloseHook(f func(s *fakeSession)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closeHook = f
}

func (e *fakeEngine) setConnectHook(f func(ctx context.Context, s *fakeSession) error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.connectHook = f
}

// enter and leave count engine calls in flight (Open and Connect).
func (e *fakeEngine) enter() {
	n := e.inflight.Add(1)
	for {
		m := e.maxInflight.Load()
		if n <= m || e.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	if d := time.Duration(e.delay.Load()); d > 0 {
		time.Sleep(d)
	}
}

func (e *fakeEngine) leave() { e.inflight.Add(-1) }

func (e *fakeEngine) Open(ctx context.Context, cfg engine.SessionConfig) (engine.Session, error) {
	e.enter()
	defer e.leave()
	e.mu.Lock()
	e.opens = append(e.opens, cfg)
	hook := e.openHook
	e.mu.Unlock()
	if hook != nil {
		if err := hook(cfg); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &fakeSession{e: e, cfg: cfg, linked: cfg.Device != "", device: cfg.Device, proxy: cfg.Proxy}
	e.mu.Lock()
	e.sessions[cfg.ChannelID] = append(e.sessions[cfg.ChannelID], s)
	e.mu.Unlock()
	return s, nil
}

// opensFor returns the configs channel id was opened with, in order.
func (e *fakeEngine) opensFor(id string) []engine.SessionConfig {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []engine.SessionConfig
	for _, c := range e.opens {
		if c.ChannelID == id {
			out = append(out, c)
		}
	}
	return out
}

func (e *fakeEngine) devicesOpened(id string) []string {
	var out []string
	for _, c := range e.opensFor(id) {
		out = append(out, c.Device)
	}
	return out
}

func (e *fakeEngine) sessionsFor(id string) []*fakeSession {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.sessions[id])
}

// session waits for the n-th (1-based) session of channel id.
func (e *fakeEngine) session(t testing.TB, id string, n int) *fakeSession {
	t.Helper()
	var s *fakeSession
	eventually(t, fmt.Sprintf("session #%d of %s", n, id), func() bool {
		ss := e.sessionsFor(id)
		if len(ss) >= n {
			s = ss[n-1]
			return true
		}
		return false
	})
	return s
}

// connects counts Connect calls over every session of channel id.
func (e *fakeEngine) connects(id string) int {
	n := 0
	for _, s := range e.sessionsFor(id) {
		n += s.count("connect")
	}
	return n
}

// connectTimes returns when Connect was called on channel id's sessions.
func (e *fakeEngine) connectTimes(id string) []time.Time {
	var out []time.Time
	for _, s := range e.sessionsFor(id) {
		s.mu.Lock()
		out = append(out, s.connectAt...)
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// fakeSession is one channel's scriptable session.
type fakeSession struct {
	engine.Unsupported
	e   *fakeEngine
	cfg engine.SessionConfig

	mu        sync.Mutex
	linked    bool
	device    string
	proxy     string
	closed    bool
	flow      bool // a login flow runs (autoQR showed a code)
	calls     []string
	connectAt []time.Time
	logoutErr error
	forgetErr error
	ingestErr error // what Ingest answered last
}

func (s *fakeSession) record(call string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
	if call == "connect" {
		s.connectAt = append(s.connectAt, time.Now())
	}
}

func (s *fakeSession) count(call string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c == call || strings.HasPrefix(c, call+":") {
			n++
		}
	}
	return n
}

func (s *fakeSession) callList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *fakeSession) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *fakeSession) setLogoutErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logoutErr = err
}

func (s *fakeSession) setForgetErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetErr = err
}

// emit delivers an event through the session's Events callback, as the
// engine would (even after Close, to test that the runtime ignores it).
func (s *fakeSession) emit(ev engine.Event) {
	s.mu.Lock()
	switch e := ev.(type) {
	case engine.Linked:
		s.linked, s.device = true, e.Device
		s.flow = false
	case engine.LoggedOut:
		s.linked, s.device = false, ""
	case engine.QRTimeout, engine.Disconnected:
		s.flow = false
	}
	s.mu.Unlock()
	if engine.IsData(ev) {
		if s.cfg.Ingest != nil {
			s.ingestErr = s.cfg.Ingest(context.Background(), ev)
		}
		return
	}
	s.cfg.Events(ev)
}

func (s *fakeSession) Connect(ctx context.Context) error {
	s.e.enter()
	defer s.e.leave()
	s.record("connect")
	s.e.mu.Lock()
	hook := s.e.connectHook
	s.e.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, s); err != nil {
			return err
		}
	}
	s.mu.Lock()
	linked, flow := s.linked, s.flow
	if !linked && s.e.autoQR.Load() {
		s.flow = true
	}
	s.mu.Unlock()
	switch {
	case linked && s.e.autoConnected.Load():
		s.emit(engine.Connected{})
	case !linked && !flow && s.e.autoQR.Load():
		// (Like the real engines, Connect while a flow runs does nothing.)
		n := s.e.qrSeq.Add(1)
		s.emit(engine.QR{Code: fmt.Sprintf("qr-%d", n), Expires: time.Now().Add(20 * time.Second)})
	}
	return nil
}

func (s *fakeSession) Disconnect() { s.record("disconnect") }

func (s *fakeSession) Logout(ctx context.Context) error {
	s.record("logout")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logoutErr != nil {
		return s.logoutErr
	}
	s.linked, s.device = false, ""
	return nil
}

func (s *fakeSession) Forget(ctx context.Context) error {
	s.record("forget")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.linked, s.device = false, ""
	return s.forgetErr
}

func (s *fakeSession) PairPhone(ctx context.Context, phone string) (string, error) {
	s.record("pair:" + phone)
	return "ABCD1234", nil
}

func (s *fakeSession) SetProxy(proxy string) error {
	s.record("setproxy:" + proxy)
	if strings.HasPrefix(proxy, "bad://") {
		return engine.ErrBadProxy
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proxy = proxy
	return nil
}

func (s *fakeSession) Linked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.linked
}

func (s *fakeSession) Self() engine.Account { return engine.Account{} }

func (s *fakeSession) Profile(ctx context.Context) (engine.Profile, error) {
	return engine.Profile{}, nil
}

func (s *fakeSession) SetProfile(ctx context.Context, p engine.ProfileUpdate) error { return nil }

func (s *fakeSession) SendText(ctx context.Context, to, text string) (engine.SentMessage, error) {
	return engine.SentMessage{}, engine.ErrNotConnected
}

func (s *fakeSession) MarkRead(ctx context.Context, chat, sender string, ids []string) error {
	return nil
}

func (s *fakeSession) Close() error {
	s.record("close")
	s.e.mu.Lock()
	hook := s.e.closeHook
	s.e.mu.Unlock()
	if hook != nil {
		hook(s)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// --- fake link store

type linkCall struct {
	ChannelID, Device, Phone, Name string
}

type fakeStore struct {
	panicOnSet atomic.Bool
	failClear  atomic.Bool

	mu     sync.Mutex
	sets   []linkCall
	clears []string
}

func (f *fakeStore) SetChannelLink(ctx context.Context, channelID, device, phone, name string, at time.Time) error {
	if f.panicOnSet.Load() {
		panic("store exploded")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sets = append(f.sets, linkCall{channelID, device, phone, name})
	return nil
}

func (f *fakeStore) ClearChannelLink(ctx context.Context, channelID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clears = append(f.clears, channelID)
	if f.failClear.Load() {
		return errFake
	}
	return nil
}

func (f *fakeStore) setsFor(id string) []linkCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []linkCall
	for _, c := range f.sets {
		if c.ChannelID == id {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeStore) clearsFor(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.clears {
		if c == id {
			n++
		}
	}
	return n
}

// --- event recorder

type engineEvent struct {
	ChannelID string
	Ev        engine.Event
}

type recorder struct {
	mu        sync.Mutex
	events    []Event
	engine    []engineEvent
	ingestErr error // Ingest's answer
}

func (r *recorder) failIngest(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ingestErr = err
}

func (r *recorder) onEvent(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) ingest(_ context.Context, id string, ev engine.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ingestErr != nil {
		return r.ingestErr
	}
	r.engine = append(r.engine, engineEvent{id, ev})
	return nil
}

// of returns channel id's lifecycle events of kind ("" for all).
func (r *recorder) of(id string, kind EventKind) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.ChannelID == id && (kind == "" || e.Kind == kind) {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) engineEvents() []engineEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.engine)
}

// --- harness

type harness struct {
	t   testing.TB
	m   *Manager
	fe  *fakeEngine
	st  *fakeStore
	rec *recorder
	clk *clock.Fake
}

var epoch = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// newHarness returns a Manager on a fake engine with small backoffs and a
// fake clock; mod may change the options. The Manager is shut down at the
// end of the test.
func newHarness(t testing.TB, mod func(o *Options)) *harness {
	t.Helper()
	h := &harness{t: t, fe: newFakeEngine(), st: &fakeStore{}, rec: &recorder{}, clk: clock.NewFake(epoch)}
	o := Options{
		Engine: h.fe, Store: h.st, Now: h.clk.Now,
		OnEvent: h.rec.onEvent, Ingest: h.rec.ingest,
		Reconnect: Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Outdated:  Backoff{Min: 100 * time.Millisecond, Max: 200 * time.Millisecond},
		Ban:       Backoff{Min: 100 * time.Millisecond, Max: 200 * time.Millisecond},
	}
	if mod != nil {
		mod(&o)
	}
	h.m = New(o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.m.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return h
}

// ch is a running channel (active for a day), optionally linked to device.
func (h *harness) ch(id, device string) model.Channel {
	c := model.Channel{ID: id, Mode: model.ModeLive, CreatedAt: epoch, ActiveTill: h.clk.Now().Add(24 * time.Hour), Device: device}
	if device != "" {
		c.WAPhone, c.WAName = "15550000001", "Stored Name"
	}
	return c
}

// apply is Apply, then waits until the channel's supervisor applied it
// (Apply itself returns at once).
func (h *harness) apply(ch model.Channel) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	h.m.Apply(ctx, ch)
	h.settle(ch.ID)
}

// settle waits until channel id's supervisor did the work posted so far
// (nothing when it has none).
func (h *harness) settle(id string) {
	h.t.Helper()
	if h.sup(id) != nil {
		h.onLoop(id, func(*supervisor) {})
	}
}

// restart is Restart, then waits until the supervisor did it.
func (h *harness) restart(ch model.Channel) error {
	h.t.Helper()
	err := h.m.Restart(ctxT(h.t, waitFor), ch)
	h.settle(ch.ID)
	return err
}

// setProxy is SetProxy, then waits until the supervisor applied it.
func (h *harness) setProxy(ch model.Channel) error {
	h.t.Helper()
	err := h.m.SetProxy(ctxT(h.t, waitFor), ch)
	h.settle(ch.ID)
	return err
}

// remove is Remove, then waits until the removed supervisor is done.
func (h *harness) remove(id string) {
	h.t.Helper()
	s := h.sup(id)
	h.m.Remove(ctxT(h.t, waitFor), id)
	if s != nil {
		select {
		case <-s.quit:
		case <-time.After(waitFor):
			h.t.Fatalf("supervisor of %s not done %s after Remove", id, waitFor)
		}
	}
}

func (h *harness) health(id string) Health {
	return h.m.Health(model.Channel{ID: id, ActiveTill: h.clk.Now().Add(time.Hour)})
}

// waitStatus waits until channel id has status st and returns its health.
func (h *harness) waitStatus(id string, st Status) Health {
	h.t.Helper()
	var hl Health
	eventually(h.t, fmt.Sprintf("%s status %s", id, st), func() bool {
		hl = h.health(id)
		return hl.Status == st
	}, func() string { return fmt.Sprintf("last health %+v", h.health(id)) })
	return hl
}

// sup returns channel id's supervisor (nil when there is none).
func (h *harness) sup(id string) *supervisor {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	return h.m.sups[id]
}

// onLoop runs fn on channel id's supervisor loop and waits for it.
func (h *harness) onLoop(id string, fn func(s *supervisor)) {
	h.t.Helper()
	s := h.sup(id)
	if s == nil {
		h.t.Fatalf("no supervisor for %s", id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := s.do(ctx, func() { fn(s) }); err != nil {
		h.t.Fatalf("do on %s: %v", id, err)
	}
}

// retryPending reports whether channel id has a retry timer armed.
func (h *harness) retryPending(id string) bool {
	h.t.Helper()
	var p bool
	h.onLoop(id, func(s *supervisor) { p = s.retryC != nil })
	return p
}

// linkedAuth starts channel id linked to device and waits for AUTH.
func (h *harness) linkedAuth(id, device string) (model.Channel, *fakeSession) {
	h.t.Helper()
	h.fe.autoConnected.Store(true)
	ch := h.ch(id, device)
	h.apply(ch)
	h.waitStatus(id, StatusAuth)
	return ch, h.fe.session(h.t, id, 1)
}

// loginQR is LoginQR for a test that expects a QR. LoginQR can miss the
// wakeup of a QR that arrives as it starts waiting (TestLoginQRNeverMissesAnArrivedQR,
// about 1 call in 2,000 under -race); then a second call returns the QR the
// flow shows (it starts no new flow while one runs). It calls again, within
// total, when a call ends with its own short deadline.
func (h *harness) loginQR(ch model.Channel, total time.Duration) (Health, error) {
	deadline := time.Now().Add(total)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), min(250*time.Millisecond, time.Until(deadline)))
		hl, err := h.m.LoginQR(ctx, ch)
		cancel()
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || time.Now().After(deadline) {
			return hl, err
		}
	}
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t testing.TB, what string, cond func() bool, detail ...func() string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			for _, d := range detail {
				msg += "; " + d()
			}
			t.Fatalf("timed out waiting for %s%s", what, msg)
		}
		time.Sleep(time.Millisecond)
	}
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
