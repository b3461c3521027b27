package runtime

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
)

func TestStatusString(t *testing.T) {
	want := map[Status]string{
		StatusNotInit: "NOT_INIT", StatusInit: "INIT", StatusLaunch: "LAUNCH", StatusQR: "QR",
		StatusAuth: "AUTH", StatusError: "ERROR", StatusSyncError: "SYNC_ERROR", StatusStop: "STOP",
	}
	for st, s := range want {
		if st.String() != s {
			t.Errorf("Status(%d).String() = %q, want %q", st, st.String(), s)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	m := New(Options{Engine: newFakeEngine(), Store: &fakeStore{}})
	if m.o.Reconnect != DefaultReconnect || m.o.Outdated != DefaultOutdated || m.o.Ban != DefaultBan ||
		m.o.KeepAliveGrace != DefaultKeepAliveGrace || m.o.StartConcurrency != 8 {
		t.Errorf("defaults: %+v", m.o)
	}
	if m.Engine().Name() != "fake" {
		t.Errorf("Engine() = %v", m.Engine())
	}
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestHealthWithoutSupervisor(t *testing.T) {
	h := newHarness(t, nil)
	ch := h.ch("AAAAAA-00001", "dev-1")
	if got := h.m.Health(ch); got.Status != StatusNotInit || got.Phone != ch.WAPhone || got.Name != ch.WAName {
		t.Errorf("running, never applied: %+v", got)
	}
	ch.Stopped = true
	if got := h.m.Health(ch); got.Status != StatusStop {
		t.Errorf("stopped, never applied: %+v", got)
	}
	ch.Stopped = false
	ch.ActiveTill = h.clk.Now()
	if got := h.m.Health(ch); got.Status != StatusStop {
		t.Errorf("expired, never applied: %+v", got)
	}
	// Applying a channel that should not run creates no supervisor.
	h.apply(ch)
	if n := h.m.Channels(); n != 0 {
		t.Errorf("Channels() = %d after applying an expired channel", n)
	}
	if len(h.fe.opensFor(ch.ID)) != 0 {
		t.Error("expired channel was opened")
	}
	if _, err := h.m.Session(ch); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Session of a channel without supervisor: %v", err)
	}
}

func TestLoginFlowQRTimeoutAndNewFlow(t *testing.T) {
	h := newHarness(t, nil)
	ch := h.ch("AAAAAA-00001", "")
	h.apply(ch)

	// Apply returns once the session is opened and Connect was called.
	if got := h.fe.devicesOpened(ch.ID); !slices.Equal(got, []string{""}) {
		t.Fatalf("opened devices %q, want one Open with Device \"\"", got)
	}
	sess := h.fe.session(t, ch.ID, 1)
	if n := sess.count("connect"); n != 1 {
		t.Fatalf("Connect called %d times", n)
	}
	if got := h.health(ch.ID); got.Status != StatusLaunch || got.StartedAt.IsZero() {
		t.Fatalf("after Apply: %+v", got)
	}
	if len(h.rec.of(ch.ID, EventStatus)) == 0 {
		t.Error("no status event for LAUNCH")
	}

	exp := epoch.Add(20 * time.Second)
	sess.emit(engine.QR{Code: "qr-1", Expires: exp})
	hl := h.waitStatus(ch.ID, StatusQR)
	if hl.QR != "qr-1" || !hl.QRExpires.Equal(exp) || hl.LoginTimedOut {
		t.Fatalf("QR health: %+v", hl)
	}
	eventually(t, "EventQR", func() bool { return len(h.rec.of(ch.ID, EventQR)) == 1 })
	if e := h.rec.of(ch.ID, EventQR)[0]; e.Health.QR != "qr-1" || !e.Time.Equal(epoch) {
		t.Errorf("EventQR %+v", e)
	}

	// A rotated code replaces the first.
	sess.emit(engine.QR{Code: "qr-2", Expires: exp.Add(20 * time.Second)})
	eventually(t, "rotated QR", func() bool { return h.health(ch.ID).QR == "qr-2" })

	sess.emit(engine.QRTimeout{})
	hl = h.waitStatus(ch.ID, StatusInit)
	if !hl.LoginTimedOut || hl.QR != "" || !hl.QRExpires.IsZero() {
		t.Fatalf("after QRTimeout: %+v", hl)
	}
	eventually(t, "EventLinkFailed", func() bool { return len(h.rec.of(ch.ID, EventLinkFailed)) == 1 })
	if len(h.fe.sessionsFor(ch.ID)) != 1 || sess.isClosed() {
		t.Fatal("QRTimeout must keep the session open")
	}

	// LoginQR starts a new flow on the same session and returns its QR.
	type result struct {
		h   Health
		err error
	}
	res := make(chan result, 1)
	go func() {
		hl, err := h.loginQR(ch, waitFor)
		res <- result{hl, err}
	}()
	eventually(t, "second Connect", func() bool { return sess.count("connect") == 2 })
	sess.emit(engine.QR{Code: "qr-3", Expires: exp.Add(time.Minute)})
	r := <-res
	if r.err != nil || r.h.QR != "qr-3" || r.h.Status != StatusQR || r.h.LoginTimedOut {
		t.Fatalf("LoginQR = %+v, %v", r.h, r.err)
	}

	// While a flow runs, LoginQR does not start another one.
	if hl, err := h.m.LoginQR(ctxT(t, waitFor), ch); err != nil || hl.QR != "qr-3" {
		t.Fatalf("LoginQR during a flow = %+v, %v", hl, err)
	}
	if n := sess.count("connect"); n != 2 {
		t.Errorf("Connect called %d times, want 2", n)
	}

	// LoginQR bounded by ctx: a new flow whose QR never comes.
	sess.emit(engine.QRTimeout{})
	h.waitStatus(ch.ID, StatusInit)
	start := time.Now()
	_, err := h.m.LoginQR(ctxT(t, 50*time.Millisecond), ch)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LoginQR without QR: %v, want DeadlineExceeded", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("LoginQR took %v past its ctx", time.Since(start))
	}
	if n := sess.count("connect"); n != 3 {
		t.Errorf("Connect called %d times, want 3", n)
	}
}

func TestLoginQRChannelNotRunning(t *testing.T) {
	h := newHarness(t, nil)
	ch := h.ch("AAAAAA-00001", "")
	ch.Stopped = true
	if _, err := h.m.LoginQR(ctxT(t, waitFor), ch); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("LoginQR of a stopped channel: %v", err)
	}
	if _, err := h.m.PairCode(ctxT(t, waitFor), ch, "15550001"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("PairCode of a stopped channel: %v", err)
	}
}

func TestLoginQRStartsChannelAndPairCode(t *testing.T) {
	h := newHarness(t, nil)
	h.fe.autoQR.Store(true)
	ch := h.ch("AAAAAA-00001", "")
	// LoginQR on a channel never applied starts it.
	hl, err := h.loginQR(ch, waitFor)
	if err != nil || hl.QR == "" || hl.Status != StatusQR {
		t.Fatalf("LoginQR = %+v, %v", hl, err)
	}
	code, err := h.m.PairCode(ctxT(t, waitFor), ch, "15550001")
	if err != nil || code != "ABCD1234" {
		t.Fatalf("PairCode = %q, %v", code, err)
	}
	sess := h.fe.session(t, ch.ID, 1)
	if sess.count("pair") != 1 || sess.count("connect") != 1 {
		t.Errorf("calls %q", sess.callList())
	}
	if _, err := h.m.Session(ch); !errors.Is(err, ErrNotLinked) {
		t.Errorf("Session of an unlinked channel: %v", err)
	}
}

func TestLinkedThenConnected(t *testing.T) {
	h := newHarness(t, nil)
	h.fe.autoQR.Store(true)
	ch := h.ch("AAAAAA-00001", "")
	if _, err := h.loginQR(ch, waitFor); err != nil {
		t.Fatal(err)
	}
	sess := h.fe.session(t, ch.ID, 1)
	sess.emit(engine.Linked{Device: "dev-1", Account: engine.Account{Phone: "15550001", Name: "Ann"}})
	eventually(t, "EventLinked", func() bool { return len(h.rec.of(ch.ID, EventLinked)) == 1 })
	if got := h.st.setsFor(ch.ID); !slices.Equal(got, []linkCall{{ch.ID, "dev-1", "15550001", "Ann"}}) {
		t.Fatalf("SetChannelLink calls %+v", got)
	}
	if e := h.rec.of(ch.ID, EventLinked)[0]; e.Health.Phone != "15550001" || e.Health.Name != "Ann" || e.Health.QR != "" {
		t.Errorf("EventLinked health %+v", e.Health)
	}
	// Linked but not yet online: LoginQR already says linked.
	if _, err := h.m.LoginQR(ctxT(t, waitFor), ch); !errors.Is(err, ErrLinked) {
		t.Errorf("LoginQR after Linked: %v", err)
	}

	sess.emit(engine.Connected{})
	hl := h.waitStatus(ch.ID, StatusAuth)
	if hl.Phone != "15550001" || hl.Name != "Ann" || hl.QR != "" || hl.Error != "" {
		t.Errorf("AUTH health %+v", hl)
	}
	if _, err := h.m.LoginQR(ctxT(t, waitFor), ch); !errors.Is(err, ErrLinked) {
		t.Errorf("LoginQR when AUTH: %v", err)
	}
	if _, err := h.m.PairCode(ctxT(t, waitFor), ch, "1"); !errors.Is(err, ErrLinked) {
		t.Errorf("PairCode when AUTH: %v", err)
	}
	if got, err := h.m.Session(ch); err != nil || got != engine.Session(sess) {
		t.Errorf("Session = %v, %v", got, err)
	}
	if n := sess.count("connect"); n != 1 {
		t.Errorf("Connect called %d times", n)
	}

	// Stop, then start again: the supervisor remembers the linked device
	// (even though this model.Channel value predates the link).
	stopped := ch
	stopped.Stopped = true
	h.apply(stopped)
	h.waitStatus(ch.ID, StatusStop)
	h.fe.autoConnected.Store(true)
	h.apply(ch)
	h.waitStatus(ch.ID, StatusAuth)
	if got := h.fe.devicesOpened(ch.ID); !slices.Equal(got, []string{"", "dev-1"}) {
		t.Errorf("opened devices %q", got)
	}
}

func TestLinkFailedEvent(t *testing.T) {
	h := newHarness(t, nil)
	h.fe.autoQR.Store(true)
	ch := h.ch("AAAAAA-00001", "")
	h.apply(ch)
	h.waitStatus(ch.ID, StatusQR)
	h.fe.session(t, ch.ID, 1).emit(engine.LinkFailed{Reason: "phone refused"})
	eventually(t, "EventLinkFailed", func() bool { return len(h.rec.of(ch.ID, EventLinkFailed)) == 1 })
	if e := h.rec.of(ch.ID, EventLinkFailed)[0]; e.Reason != "phone refused" {
		t.Errorf("reason %q", e.Reason)
	}
	if got := h.health(ch.ID); got.Status != StatusQR {
		t.Errorf("status after LinkFailed %v", got.Status)
	}
}

func TestStopKeepsLoginAndResumes(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	if got := h.fe.opensFor(ch.ID)[0]; got.Device != "dev-1" {
		t.Fatalf("opened with device %q", got.Device)
	}
	if s, err := h.m.Session(ch); err != nil || s != engine.Session(sess) {
		t.Fatalf("Session = %v, %v", s, err)
	}

	stopped := ch
	stopped.Stopped = true
	h.apply(stopped)
	if got := h.health(ch.ID); got.Status != StatusStop {
		t.Fatalf("after stop: %+v", got)
	}
	if !sess.isClosed() {
		t.Fatal("session not closed on stop")
	}
	if sess.count("logout") != 0 || sess.count("forget") != 0 || h.st.clearsFor(ch.ID) != 0 {
		t.Fatalf("stop dropped the login: calls %q, clears %d", sess.callList(), h.st.clearsFor(ch.ID))
	}
	if _, err := h.m.Session(ch); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Session of a stopped channel: %v", err)
	}
	if len(h.rec.of(ch.ID, EventUnlinked)) != 0 {
		t.Error("stop reported the channel unlinked")
	}

	// Start again: same device, AUTH without a QR.
	h.apply(ch)
	h.waitStatus(ch.ID, StatusAuth)
	if got := h.fe.devicesOpened(ch.ID); !slices.Equal(got, []string{"dev-1", "dev-1"}) {
		t.Fatalf("opened devices %q", got)
	}
	if len(h.rec.of(ch.ID, EventQR)) != 0 {
		t.Error("a QR was shown to resume a linked channel")
	}

	// Expiry through the clock: the same channel value, later.
	h.clk.Advance(25 * time.Hour)
	h.apply(ch)
	h.waitStatus(ch.ID, StatusStop)
	sess2 := h.fe.session(t, ch.ID, 2)
	if !sess2.isClosed() || sess2.count("logout") != 0 || sess2.count("forget") != 0 {
		t.Fatalf("expiry: calls %q", sess2.callList())
	}
	if _, err := h.m.LoginQR(ctxT(t, waitFor), ch); !errors.Is(err, ErrNotRunning) {
		t.Errorf("LoginQR of an expired channel: %v", err)
	}
	// Extended: resumes with the stored device again.
	ch.ActiveTill = h.clk.Now().Add(24 * time.Hour)
	h.apply(ch)
	h.waitStatus(ch.ID, StatusAuth)
	if got := h.fe.devicesOpened(ch.ID); len(got) != 3 || got[2] != "dev-1" {
		t.Fatalf("opened devices %q", got)
	}
	if h.st.clearsFor(ch.ID) != 0 {
		t.Error("link cleared")
	}
}

func TestDisconnectedReconnectsWithCappedBackoff(t *testing.T) {
	const minB, maxB = 5 * time.Millisecond, 80 * time.Millisecond
	h := newHarness(t, func(o *Options) { o.Reconnect = Backoff{Min: minB, Max: maxB} })
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")

	// A dropped connection is retried on the same session.
	disc := time.Now()
	sess.emit(engine.Disconnected{Reason: "network"})
	eventually(t, "reconnect", func() bool { return sess.count("connect") == 2 })
	h.waitStatus(ch.ID, StatusAuth)
	if d := time.Since(disc); d < time.Duration(float64(minB)*0.8) {
		t.Errorf("reconnected after %v, before the backoff", d)
	}
	if len(h.fe.sessionsFor(ch.ID)) != 1 {
		t.Error("reconnect opened a new session")
	}

	// Now every Connect fails: retried with growing, capped delays.
	const fails = 8
	h.fe.setConnectHook(func(ctx context.Context, s *fakeSession) error {
		if s.count("connect") < 3+fails {
			return errFake
		}
		return nil
	})
	disc = time.Now()
	sess.emit(engine.Disconnected{})
	h.waitStatus(ch.ID, StatusLaunch)
	eventually(t, "failing reconnects", func() bool { return sess.count("connect") >= 3+fails })
	h.waitStatus(ch.ID, StatusAuth)
	times := append([]time.Time{disc}, h.fe.connectTimes(ch.ID)[2:]...)
	var gaps []time.Duration
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, times[i].Sub(times[i-1]))
	}
	t.Logf("gaps between attempts: %v", gaps)
	for i, g := range gaps {
		want := min(minB<<i, maxB)
		if g < time.Duration(float64(want)*0.8)-time.Millisecond {
			t.Errorf("attempt %d after %v, want at least %v", i+1, g, time.Duration(float64(want)*0.8))
		}
	}
	// Uncapped, the last gaps would be 640 ms and 1.28 s.
	if last := gaps[len(gaps)-1]; last > 500*time.Millisecond {
		t.Errorf("last gap %v: backoff not capped at %v", last, maxB)
	}
	// Connected resets the backoff: the next drop is retried quickly.
	disc = time.Now()
	n := sess.count("connect")
	sess.emit(engine.Disconnected{})
	eventually(t, "quick reconnect", func() bool { return sess.count("connect") == n+1 })
	if d := time.Since(disc); d > maxB/2 {
		t.Errorf("after a success the next retry waited %v (backoff not reset)", d)
	}
}

func TestConnectErrorOnStartIsRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.fe.autoConnected.Store(true)
	h.fe.setConnectHook(func(ctx context.Context, s *fakeSession) error {
		if s.count("connect") == 1 {
			return errFake
		}
		return nil
	})
	ch := h.ch("AAAAAA-00001", "dev-1")
	h.apply(ch)
	if !hasStateEvent(h, ch.ID, StateReconnecting, "could not connect") {
		t.Fatalf("no reconnecting status event for the failing Connect: %+v", h.rec.of(ch.ID, EventStatus))
	}
	h.waitStatus(ch.ID, StatusAuth)
	if got := h.health(ch.ID); got.Error != "" {
		t.Errorf("error kept after success: %q", got.Error)
	}
}

func TestOpenErrorIsRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.fe.autoConnected.Store(true)
	fails := 2
	h.fe.setOpenHook(func(cfg engine.SessionConfig) error {
		if len(h.fe.opensFor(cfg.ChannelID)) <= fails {
			return errFake
		}
		return nil
	})
	ch := h.ch("AAAAAA-00001", "dev-1")
	h.apply(ch)
	if !hasStateEvent(h, ch.ID, StateFailed, "could not be opened") {
		t.Fatalf("no ERROR status event for the failing Open: %+v", h.rec.of(ch.ID, EventStatus))
	}
	h.waitStatus(ch.ID, StatusAuth)
	if got := h.fe.devicesOpened(ch.ID); !slices.Equal(got, []string{"dev-1", "dev-1", "dev-1"}) {
		t.Errorf("opened %q", got)
	}
	if h.st.clearsFor(ch.ID) != 0 {
		t.Error("a failing Open cleared the link")
	}
}

func TestDeviceNotFoundStartsNewLogin(t *testing.T) {
	h := newHarness(t, nil)
	h.fe.setOpenHook(func(cfg engine.SessionConfig) error {
		if cfg.Device == "gone" {
			return engine.ErrDeviceNotFound
		}
		return nil
	})
	ch := h.ch("AAAAAA-00001", "gone")
	h.apply(ch)
	if got := h.fe.devicesOpened(ch.ID); !slices.Equal(got, []string{"gone", ""}) {
		t.Fatalf("opened devices %q, want [gone \"\"]", got)
	}
	if n := h.st.clearsFor(ch.ID); n != 1 {
		t.Fatalf("ClearChannelLink called %d times", n)
	}
	ev := h.rec.of(ch.ID, EventUnlinked)
	if len(ev) != 1 || ev[0].Health.Phone != "" || ev[0].Reason == "" {
		t.Fatalf("EventUnlinked %+v", ev)
	}
	sess := h.fe.session(t, ch.ID, 1)
	if sess.count("connect") != 1 || sess.Linked() {
		t.Fatalf("login flow not started: %q", sess.callList())
	}
	if got := h.health(ch.ID); got.Status != StatusLaunch || got.Phone != "" || got.Name != "" {
		t.Fatalf("health %+v", got)
	}
	sess.emit(engine.QR{Code: "qr"})
	h.waitStatus(ch.ID, StatusQR)
	if _, err := h.m.Session(ch); !errors.Is(err, ErrNotLinked) {
		t.Errorf("Session: %v", err)
	}
}

// expectNewLoginFlow checks that channel id, linked before, dropped its link
// and started a new login flow on a new unlinked session.
func expectNewLoginFlow(t *testing.T, h *harness, id string, old *fakeSession, reason string) {
	t.Helper()
	eventually(t, "EventUnlinked", func() bool { return len(h.rec.of(id, EventUnlinked)) == 1 })
	if e := h.rec.of(id, EventUnlinked)[0]; !strings.Contains(e.Reason, reason) {
		t.Errorf("unlinked reason %q, want it to contain %q", e.Reason, reason)
	}
	if n := h.st.clearsFor(id); n != 1 {
		t.Errorf("ClearChannelLink called %d times", n)
	}
	if !old.isClosed() {
		t.Error("old session not closed")
	}
	sess := h.fe.session(t, id, 2)
	if sess.cfg.Device != "" {
		t.Errorf("new session opened with device %q", sess.cfg.Device)
	}
	eventually(t, "Connect of the new session", func() bool { return sess.count("connect") == 1 })
	hl := h.waitStatus(id, StatusLaunch)
	if hl.Phone != "" || hl.Name != "" {
		t.Errorf("account kept after unlink: %+v", hl)
	}
	sess.emit(engine.QR{Code: "new-qr"})
	h.waitStatus(id, StatusQR)
}

func TestLoggedOutEventStartsNewLogin(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	sess.emit(engine.LoggedOut{Reason: "unlinked from the phone"})
	expectNewLoginFlow(t, h, ch.ID, sess, "unlinked from the phone")
	if _, err := h.m.Session(ch); !errors.Is(err, ErrNotLinked) {
		t.Errorf("Session after LoggedOut: %v", err)
	}
}

func TestConnectFailureRetriesKeepingTheLink(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	h.fe.autoConnected.Store(false)
	sess.emit(engine.ConnectFailure{Code: 503, Reason: "503 service unavailable"})
	hl := h.waitStatus(ch.ID, StatusLaunch)
	if hl.State != StateReconnecting || hl.Code != 503 || !strings.Contains(hl.Error, "503 service unavailable") {
		t.Errorf("health %+v", hl)
	}
	eventually(t, "retry", func() bool { return sess.count("connect") == 2 })
	sess.emit(engine.Connected{})
	h.waitStatus(ch.ID, StatusAuth)
	if h.st.clearsFor(ch.ID) != 0 || len(h.rec.of(ch.ID, EventUnlinked)) != 0 || sess.isClosed() {
		t.Error("a temporary failure dropped the link or the session")
	}
}

func TestStreamReplacedIsFinal(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	sess.emit(engine.StreamReplaced{})
	hl := h.waitStatus(ch.ID, StatusError)
	if !strings.Contains(hl.Error, "stream replaced") {
		t.Errorf("error %q", hl.Error)
	}
	if !sess.isClosed() {
		t.Error("session not closed")
	}
	if h.retryPending(ch.ID) {
		t.Error("a retry is scheduled after StreamReplaced")
	}
	if len(h.fe.opensFor(ch.ID)) != 1 || sess.count("connect") != 1 {
		t.Error("reconnected after StreamReplaced")
	}
	if h.st.clearsFor(ch.ID) != 0 {
		t.Error("link cleared")
	}
	// Restart takes the device back.
	if err := h.restart(ch); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(ch.ID, StatusAuth)
	if got := h.fe.devicesOpened(ch.ID); !slices.Equal(got, []string{"dev-1", "dev-1"}) {
		t.Errorf("opened %q", got)
	}
}

func TestTemporaryBanRetriesAfterExpiry(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	const ban = 80 * time.Millisecond
	start := time.Now()
	sess.emit(engine.TemporaryBan{Reason: "spam", Expires: ban})
	hl := h.waitStatus(ch.ID, StatusError)
	if !strings.Contains(hl.Error, "spam") {
		t.Errorf("error %q", hl.Error)
	}
	if !sess.isClosed() {
		t.Error("session not closed on ban")
	}
	eventually(t, "reopen after the ban", func() bool { return len(h.fe.opensFor(ch.ID)) == 2 })
	if d := time.Since(start); d < ban {
		t.Errorf("reopened after %v, before the ban expired (%v)", d, ban)
	}
	h.waitStatus(ch.ID, StatusAuth)
	if got := h.fe.devicesOpened(ch.ID); got[1] != "dev-1" {
		t.Errorf("reopened with %q", got[1])
	}

	// A ban without an expiry waits the ban backoff.
	sess2 := h.fe.session(t, ch.ID, 2)
	start = time.Now()
	sess2.emit(engine.TemporaryBan{Reason: "spam"})
	eventually(t, "reopen after the ban backoff", func() bool { return len(h.fe.opensFor(ch.ID)) == 3 })
	if d := time.Since(start); d < h.m.o.Ban.Min*8/10 {
		t.Errorf("reopened after %v, want at least %v", d, h.m.o.Ban.Min*8/10)
	}
}

func TestDisconnectedWhileLoggingIn(t *testing.T) {
	h := newHarness(t, nil)
	h.fe.autoQR.Store(true)
	ch := h.ch("AAAAAA-00001", "")
	h.apply(ch)
	h.waitStatus(ch.ID, StatusQR)
	sess := h.fe.session(t, ch.ID, 1)
	sess.emit(engine.Disconnected{})
	hl := h.waitStatus(ch.ID, StatusInit)
	if !hl.LoginTimedOut || hl.QR != "" {
		t.Errorf("health %+v", hl)
	}
	if h.retryPending(ch.ID) {
		t.Error("an unlinked channel is reconnected without a LoginQR")
	}
	hl, err := h.loginQR(ch, waitFor)
	if err != nil || hl.Status != StatusQR {
		t.Fatalf("LoginQR = %+v, %v", hl, err)
	}
	if n := sess.count("connect"); n != 2 {
		t.Errorf("Connect called %d times", n)
	}
}

func TestLogout(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	if err := h.m.Logout(ctxT(t, waitFor), ch, false); err != nil {
		t.Fatal(err)
	}
	if sess.count("logout") != 1 || sess.count("forget") != 0 {
		t.Errorf("calls %q", sess.callList())
	}
	expectNewLoginFlow(t, h, ch.ID, sess, "logged out by API")
	// Now unlinked: another logout is refused.
	if err := h.m.Logout(ctxT(t, waitFor), ch, false); !errors.Is(err, ErrNotLinked) {
		t.Errorf("second Logout: %v", err)
	}
}

func TestLogoutFailureKeepsLink(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	sess.setLogoutErr(errFake)
	err := h.m.Logout(ctxT(t, waitFor), ch, false)
	if !errors.Is(err, errFake) {
		t.Fatalf("Logout = %v, want the engine's error", err)
	}
	if h.st.clearsFor(ch.ID) != 0 || len(h.rec.of(ch.ID, EventUnlinked)) != 0 {
		t.Error("link dropped although WhatsApp did not confirm the logout")
	}
	if sess.isClosed() || len(h.fe.sessionsFor(ch.ID)) != 1 {
		t.Error("session replaced")
	}
	if got := h.health(ch.ID); got.Status != StatusAuth || got.Phone == "" {
		t.Errorf("health %+v", got)
	}
	if s, err := h.m.Session(ch); err != nil || s != engine.Session(sess) {
		t.Errorf("Session = %v, %v", s, err)
	}
}

func TestLogoutForce(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	sess.setLogoutErr(errFake)
	sess.setForgetErr(errFake) // the link is dropped anyway
	if err := h.m.Logout(ctxT(t, waitFor), ch, true); err != nil {
		t.Fatal(err)
	}
	if sess.count("forget") != 1 || sess.count("logout") != 0 {
		t.Errorf("calls %q", sess.callList())
	}
	expectNewLoginFlow(t, h, ch.ID, sess, "hard unlink")
}

func TestLogoutUnlinked(t *testing.T) {
	h := newHarness(t, nil)
	ch := h.ch("AAAAAA-00001", "")
	h.apply(ch)
	if err := h.m.Logout(ctxT(t, waitFor), ch, false); !errors.Is(err, ErrNotLinked) {
		t.Errorf("Logout: %v", err)
	}
	if err := h.m.Logout(ctxT(t, waitFor), ch, true); !errors.Is(err, ErrNotLinked) {
		t.Errorf("Logout force: %v", err)
	}
	// Never applied, not linked.
	ch2 := h.ch("AAAAAA-00002", "")
	if err := h.m.Logout(ctxT(t, waitFor), ch2, false); !errors.Is(err, ErrNotLinked) {
		t.Errorf("Logout of a never started channel: %v", err)
	}
}

func TestLogoutStoppedChannel(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	stopped := ch
	stopped.Stopped = true
	h.apply(stopped)
	h.waitStatus(ch.ID, StatusStop)
	if !sess.isClosed() {
		t.Fatal("not closed")
	}
	if err := h.m.Logout(ctxT(t, waitFor), stopped, false); err != nil {
		t.Fatal(err)
	}
	// A session was opened with the stored device only to log it out.
	tmp := h.fe.session(t, ch.ID, 2)
	if tmp.cfg.Device != "dev-1" || tmp.count("logout") != 1 || !tmp.isClosed() || tmp.count("connect") != 0 {
		t.Errorf("temporary session: device %q calls %q", tmp.cfg.Device, tmp.callList())
	}
	if h.st.clearsFor(ch.ID) != 1 || len(h.rec.of(ch.ID, EventUnlinked)) != 1 {
		t.Error("link not cleared")
	}
	if got := h.health(ch.ID); got.Status != StatusStop || got.Phone != "" {
		t.Errorf("health %+v", got)
	}
	if len(h.fe.sessionsFor(ch.ID)) != 2 {
		t.Error("a stopped channel started a login flow")
	}
	// Started again: a new login, not the old device.
	h.apply(ch)
	h.waitStatus(ch.ID, StatusLaunch)
	if got := h.fe.devicesOpened(ch.ID); got[len(got)-1] != "" {
		t.Errorf("opened %q after logout", got)
	}
}

func TestLogoutStoppedChannelDeviceGone(t *testing.T) {
	h := newHarness(t, nil)
	h.fe.setOpenHook(func(cfg engine.SessionConfig) error {
		if cfg.Device != "" {
			return engine.ErrDeviceNotFound
		}
		return nil
	})
	ch := h.ch("AAAAAA-00001", "dev-1")
	ch.Stopped = true
	if err := h.m.Logout(ctxT(t, waitFor), ch, false); err != nil {
		t.Fatalf("Logout with the device gone: %v", err)
	}
	if h.st.clearsFor(ch.ID) != 1 {
		t.Error("link not cleared")
	}
	// Any other Open failure is an error and keeps the link.
	h2 := newHarness(t, nil)
	h2.fe.setOpenHook(func(engine.SessionConfig) error { return errFake })
	if err := h2.m.Logout(ctxT(t, waitFor), ch, false); !errors.Is(err, errFake) {
		t.Fatalf("Logout with Open failing: %v", err)
	}
	if h2.st.clearsFor(ch.ID) != 0 {
		t.Error("link cleared although the device could not be opened")
	}
}

// Logout of a stopped channel that has no supervisor yet (e.g. after a
// process restart, StartAll only starts runnable channels).
func TestLogoutStoppedChannelWithoutSupervisor(t *testing.T) {
	h := newHarness(t, nil)
	ch := h.ch("AAAAAA-00001", "dev-1")
	ch.Stopped = true
	if err := h.m.Logout(ctxT(t, waitFor), ch, false); err != nil {
		t.Fatal(err)
	}
	tmp := h.fe.session(t, ch.ID, 1)
	if tmp.cfg.Device != "dev-1" || tmp.count("logout") != 1 || !tmp.isClosed() || tmp.count("connect") != 0 {
		t.Errorf("temporary session: device %q calls %q", tmp.cfg.Device, tmp.callList())
	}
	if h.st.clearsFor(ch.ID) != 1 || len(h.rec.of(ch.ID, EventUnlinked)) != 1 {
		t.Error("link not cleared")
	}
	if len(h.fe.sessionsFor(ch.ID)) != 1 {
		t.Error("a stopped channel was started")
	}
}

func TestLogoutStoppedChannelWithoutSupervisorReportsStop(t *testing.T) {
	h := newHarness(t, nil)
	ch := h.ch("AAAAAA-00001", "dev-1")
	ch.Stopped = true
	if got := h.m.Health(ch); got.Status != StatusStop {
		t.Fatalf("before: %v", got.Status)
	}
	if err := h.m.Logout(ctxT(t, waitFor), ch, false); err != nil {
		t.Fatal(err)
	}
	if got := h.m.Health(ch); got.Status != StatusStop {
		t.Errorf("Health after logging out a stopped channel = %v, want STOP", got.Status)
	}
	if ev := h.rec.of(ch.ID, EventUnlinked); len(ev) == 1 && ev[0].Health.Status != StatusStop {
		t.Errorf("EventUnlinked status %v, want STOP", ev[0].Health.Status)
	}
}

func TestRestart(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	if err := h.restart(ch); err != nil {
		t.Fatal(err)
	}
	if !sess.isClosed() {
		t.Error("old session not closed")
	}
	sess2 := h.fe.session(t, ch.ID, 2)
	if sess2.cfg.Device != "dev-1" || sess2.count("connect") != 1 {
		t.Errorf("new session: device %q calls %q", sess2.cfg.Device, sess2.callList())
	}
	h.waitStatus(ch.ID, StatusAuth)
	if len(h.fe.sessionsFor(ch.ID)) != 2 {
		t.Errorf("%d sessions, want 2 (a double restart?)", len(h.fe.sessionsFor(ch.ID)))
	}
	if h.st.clearsFor(ch.ID) != 0 || sess.count("logout") != 0 {
		t.Error("restart dropped the login")
	}

	// Restart of a channel without a supervisor starts it; of one that
	// must not run, it is ErrNotRunning.
	ch2 := h.ch("AAAAAA-00002", "dev-2")
	if err := h.restart(ch2); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(ch2.ID, StatusAuth)
	if n := len(h.fe.sessionsFor(ch2.ID)); n != 1 {
		t.Errorf("%d sessions", n)
	}
	ch3 := h.ch("AAAAAA-00003", "dev-3")
	ch3.Stopped = true
	if err := h.restart(ch3); err != nil || h.sup(ch3.ID) != nil {
		t.Errorf("Restart of a stopped channel without a supervisor: %v, supervisor %v", err, h.sup(ch3.ID))
	}
	// Restart with a stopped channel that has a supervisor: stops it.
	stopped := ch
	stopped.Stopped = true
	if err := h.restart(stopped); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(ch.ID, StatusStop)
}

func TestRestartDuringLoginFlow(t *testing.T) {
	h := newHarness(t, nil)
	h.fe.autoQR.Store(true)
	ch := h.ch("AAAAAA-00001", "")
	h.apply(ch)
	h.waitStatus(ch.ID, StatusQR)
	if err := h.restart(ch); err != nil {
		t.Fatal(err)
	}
	hl := h.waitStatus(ch.ID, StatusQR)
	if got := h.fe.devicesOpened(ch.ID); !slices.Equal(got, []string{"", ""}) {
		t.Errorf("opened %q", got)
	}
	if hl.QR == "" || !h.fe.session(t, ch.ID, 1).isClosed() {
		t.Errorf("after restart: %+v", hl)
	}
}

func TestSetProxy(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	const proxy = "socks5://u:p@proxy:1080"
	ch.Proxy = proxy
	if err := h.setProxy(ch); err != nil {
		t.Fatal(err)
	}
	if sess.count("setproxy") != 1 || !slices.Contains(sess.callList(), "setproxy:"+proxy) {
		t.Errorf("calls %q", sess.callList())
	}
	// Reconnected through the new proxy, same device.
	sess2 := h.fe.session(t, ch.ID, 2)
	if sess2.cfg.Proxy != proxy || sess2.cfg.Device != "dev-1" || sess2.count("connect") != 1 {
		t.Errorf("reconnect: cfg %+v calls %q", sess2.cfg, sess2.callList())
	}
	if !sess.isClosed() {
		t.Error("old connection not closed")
	}
	h.waitStatus(ch.ID, StatusAuth)

	// Unchanged: nothing happens (SetProxy waits for the loop, so the
	// counts are final when it returns).
	if err := h.setProxy(ch); err != nil {
		t.Fatal(err)
	}
	h.apply(ch)
	if n := len(h.fe.sessionsFor(ch.ID)); n != 2 || sess2.count("setproxy") != 0 || sess2.count("connect") != 1 {
		t.Errorf("unchanged proxy: %d sessions, calls %q", n, sess2.callList())
	}

	// Back to direct.
	ch.Proxy = ""
	if err := h.setProxy(ch); err != nil {
		t.Fatal(err)
	}
	if sess3 := h.fe.session(t, ch.ID, 3); sess3.cfg.Proxy != "" {
		t.Errorf("proxy %q", sess3.cfg.Proxy)
	}

	// A channel that does not run: remembered for its next start.
	ch2 := h.ch("AAAAAA-00002", "dev-2")
	ch2.Stopped, ch2.Proxy = true, proxy
	if err := h.setProxy(ch2); err != nil {
		t.Fatal(err)
	}
	if len(h.fe.opensFor(ch2.ID)) != 0 {
		t.Error("SetProxy started a stopped channel")
	}
	// A stopped channel with a supervisor keeps the proxy for its restart.
	stopped := ch
	stopped.Stopped, stopped.Proxy = true, proxy
	if err := h.setProxy(stopped); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(ch.ID, StatusStop)
	stopped.Stopped = false
	h.apply(stopped)
	h.waitStatus(ch.ID, StatusAuth)
	if sess4 := h.fe.session(t, ch.ID, 4); sess4.cfg.Proxy != proxy {
		t.Errorf("restarted with proxy %q", sess4.cfg.Proxy)
	}
}

func TestRemove(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	other, otherSess := h.linkedAuth("AAAAAA-00002", "dev-2")
	if n := h.m.Channels(); n != 2 {
		t.Fatalf("Channels() = %d", n)
	}
	s := h.sup(ch.ID)
	h.remove(ch.ID)
	if n := h.m.Channels(); n != 1 {
		t.Errorf("Channels() = %d after Remove", n)
	}
	if sess.count("logout") != 1 || sess.count("forget") != 0 || !sess.isClosed() {
		t.Errorf("calls %q", sess.callList())
	}
	if got := h.m.Health(ch); got.Status != StatusNotInit {
		t.Errorf("Health after Remove: %v", got.Status)
	}
	if err := s.do(ctxT(t, waitFor), func() {}); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("removed supervisor still answers: %v", err)
	}
	if _, err := h.m.Session(ch); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Session after Remove: %v", err)
	}
	// Lifecycle events of the removed session go nowhere; data it still
	// delivers is stored (Ingest drops what belongs to no channel).
	sess.emit(engine.Message{ID: "late"})
	sess.emit(engine.LoggedOut{})
	// The other channel is untouched.
	if got := h.health(other.ID); got.Status != StatusAuth || otherSess.isClosed() {
		t.Errorf("other channel: %+v", got)
	}
	// Removing an unknown channel is a no-op.
	h.m.Remove(ctxT(t, waitFor), "NOSUCH-00000")
	if n := h.m.Channels(); n != 1 {
		t.Errorf("Channels() = %d", n)
	}
	if n := h.st.clearsFor(ch.ID); n != 0 {
		t.Errorf("a removed channel's LoggedOut cleared its link (%d)", n)
	}
}

func TestRemoveLogoutFailsForgets(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	sess.setLogoutErr(errFake)
	h.remove(ch.ID)
	if sess.count("logout") != 1 || sess.count("forget") != 1 || !sess.isClosed() {
		t.Errorf("calls %q", sess.callList())
	}
	if h.m.Channels() != 0 {
		t.Error("supervisor left")
	}
}

func TestRemoveUnlinkedAndStopped(t *testing.T) {
	h := newHarness(t, nil)
	// Unlinked: nothing to log out.
	h.fe.autoQR.Store(true)
	ch := h.ch("AAAAAA-00001", "")
	h.apply(ch)
	sess := h.fe.session(t, ch.ID, 1)
	h.remove(ch.ID)
	if sess.count("logout") != 0 || sess.count("forget") != 0 || !sess.isClosed() {
		t.Errorf("unlinked: calls %q", sess.callList())
	}
	// Stopped and linked: the device is opened to log it out.
	ch2, _ := h.linkedAuth("AAAAAA-00002", "dev-2")
	ch2.Stopped = true
	h.apply(ch2)
	h.waitStatus(ch2.ID, StatusStop)
	h.remove(ch2.ID)
	tmp := h.fe.session(t, ch2.ID, 2)
	if tmp.cfg.Device != "dev-2" || tmp.count("logout") != 1 || !tmp.isClosed() || tmp.count("connect") != 0 {
		t.Errorf("stopped: device %q calls %q", tmp.cfg.Device, tmp.callList())
	}
	if h.m.Channels() != 0 {
		t.Errorf("Channels() = %d", h.m.Channels())
	}
}

func TestOldSessionEventsIgnoredAfterRestart(t *testing.T) {
	h := newHarness(t, nil)
	ch, old := h.linkedAuth("AAAAAA-00001", "dev-1")
	if err := h.restart(ch); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(ch.ID, StatusAuth)
	cur := h.fe.session(t, ch.ID, 2)
	nEvents := len(h.rec.of(ch.ID, ""))

	// The closed session still talks (a misbehaving engine); then the
	// current one sends a marker. Events are handled in order, so once the
	// marker is through, the old events were dropped.
	old.emit(engine.LoggedOut{Reason: "old"})
	old.emit(engine.StreamReplaced{})
	old.emit(engine.QR{Code: "old-qr"})
	old.emit(engine.Disconnected{})
	// Data is never dropped: a message a closed session still delivers is
	// stored (the engine did not acknowledge it otherwise).
	old.emit(engine.Message{ID: "old-msg"})
	cur.emit(engine.Message{ID: "marker"})
	h.onLoop(ch.ID, func(*supervisor) {}) // the lifecycle events before it were handled
	if got := h.rec.engineEvents(); len(got) != 2 || got[1].Ev.(engine.Message).ID != "marker" {
		t.Errorf("forwarded %+v", got)
	}
	if got := h.health(ch.ID); got.Status != StatusAuth || got.QR != "" {
		t.Errorf("health changed by an old session: %+v", got)
	}
	if n := len(h.rec.of(ch.ID, "")); n != nEvents {
		t.Errorf("old session caused %d lifecycle events", n-nEvents)
	}
	if h.st.clearsFor(ch.ID) != 0 || cur.isClosed() || len(h.fe.sessionsFor(ch.ID)) != 2 {
		t.Error("old session's LoggedOut acted on the channel")
	}
}

func TestOldSessionEventsIgnoredAfterStop(t *testing.T) {
	h := newHarness(t, nil)
	ch, old := h.linkedAuth("AAAAAA-00001", "dev-1")
	stopped := ch
	stopped.Stopped = true
	h.apply(stopped)
	old.emit(engine.Connected{})
	old.emit(engine.LoggedOut{})
	// Work runs on the loop in the order it was posted: once this is
	// through, the events were handled.
	h.onLoop(ch.ID, func(*supervisor) {})
	if got := h.health(ch.ID); got.Status != StatusStop {
		t.Errorf("status %v after events of a closed session", got.Status)
	}
	if h.st.clearsFor(ch.ID) != 0 {
		t.Error("link cleared by a closed session's event")
	}
}

func TestEngineEventsForwarded(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	ch2, sess2 := h.linkedAuth("AAAAAA-00002", "dev-2")
	now := time.Now()
	evs := []engine.Event{
		engine.Message{ID: "m1", Chat: "1@s.whatsapp.net", Text: "hi", Time: now},
		engine.Receipt{IDs: []string{"m0"}, Type: engine.ReceiptRead, Time: now},
		engine.GroupChange{Group: "g@g.us", Action: "join", Participants: []string{"1"}},
	}
	for _, ev := range evs {
		sess.emit(ev)
	}
	sess2.emit(engine.Message{ID: "other"})
	eventually(t, "forwarded events", func() bool { return len(h.rec.engineEvents()) == 4 })
	var mine []engine.Event
	for _, e := range h.rec.engineEvents() {
		switch e.ChannelID {
		case ch.ID:
			mine = append(mine, e.Ev)
		case ch2.ID:
			if e.Ev.(engine.Message).ID != "other" {
				t.Errorf("channel 2 got %+v", e.Ev)
			}
		default:
			t.Errorf("unknown channel %q", e.ChannelID)
		}
	}
	if len(mine) != 3 {
		t.Fatalf("channel 1 got %d events", len(mine))
	}
	if m := mine[0].(engine.Message); m.ID != "m1" || m.Text != "hi" {
		t.Errorf("message %+v", m)
	}
	if r := mine[1].(engine.Receipt); r.Type != engine.ReceiptRead {
		t.Errorf("receipt %+v", r)
	}
	if g := mine[2].(engine.GroupChange); g.Action != "join" {
		t.Errorf("group change %+v", g)
	}
	// They are not lifecycle events and change no status.
	if got := h.health(ch.ID); got.Status != StatusAuth {
		t.Errorf("status %v", got.Status)
	}
}

func TestStatusEvents(t *testing.T) {
	h := newHarness(t, nil)
	h.fe.autoQR.Store(true)
	ch := h.ch("AAAAAA-00001", "")
	h.apply(ch)
	h.waitStatus(ch.ID, StatusQR)
	sess := h.fe.session(t, ch.ID, 1)
	sess.emit(engine.Linked{Device: "d", Account: engine.Account{Phone: "1"}})
	sess.emit(engine.Connected{})
	h.waitStatus(ch.ID, StatusAuth)
	var got []Status
	for _, e := range h.rec.of(ch.ID, EventStatus) {
		got = append(got, e.Health.Status)
		if e.ChannelID != ch.ID || !e.Time.Equal(epoch) {
			t.Errorf("event %+v", e)
		}
	}
	if want := []Status{StatusLaunch, StatusQR, StatusAuth}; !slices.Equal(got, want) {
		t.Errorf("status events %v, want %v", got, want)
	}
	var kinds []EventKind
	for _, e := range h.rec.of(ch.ID, "") {
		kinds = append(kinds, e.Kind)
	}
	if want := []EventKind{EventStatus, EventStatus, EventQR, EventLinked, EventStatus}; !slices.Equal(kinds, want) {
		t.Errorf("events %v, want %v", kinds, want)
	}
}

// hasErrorEvent reports whether channel id reported status ERROR with an
// error containing text.
// hasStateEvent reports a status event of channel id to state st whose
// error (and reason) contain text.
func hasStateEvent(h *harness, id string, st State, text string) bool {
	for _, e := range h.rec.of(id, EventStatus) {
		if e.Health.State == st && e.Health.Status == st.Status() && strings.Contains(e.Health.Error, text) && e.Reason == e.Health.Error {
			return true
		}
	}
	return false
}

func TestSetProxyRejected(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	ch.Proxy = "bad://proxy"
	if err := h.setProxy(ch); err == nil || !strings.Contains(err.Error(), "proxy: ") {
		t.Errorf("SetProxy with a rejected proxy: %v", err)
	}
	// The session keeps running through its old proxy.
	if hl := h.health(ch.ID); hl.Status != StatusAuth || hl.Error != "" {
		t.Errorf("health after a rejected proxy: %+v", hl)
	}
	if sess.isClosed() || len(h.fe.sessionsFor(ch.ID)) != 1 {
		t.Error("reconnected although the proxy was rejected")
	}
}

func TestSetProxyRejectedUpFront(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	ch.Proxy = "bad://proxy"
	if err := h.setProxy(ch); !errors.Is(err, engine.ErrBadProxy) {
		t.Errorf("SetProxy with a proxy the engine rejects: %v", err)
	}
	if n := sess.count("setproxy"); n != 0 {
		t.Errorf("the rejected proxy reached the session (%d SetProxy calls)", n)
	}
}

func TestLoginQROpenFails(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Reconnect = Backoff{Min: time.Second, Max: time.Second} })
	h.fe.setOpenHook(func(engine.SessionConfig) error { return errFake })
	ch := h.ch("AAAAAA-00001", "")
	_, err := h.m.LoginQR(ctxT(t, waitFor), ch)
	if err == nil || !strings.Contains(err.Error(), "channel failed to start") || !strings.Contains(err.Error(), errFake.Error()) {
		t.Fatalf("LoginQR with Open failing: %v", err)
	}
	// apply and ensureLogin each try to start: two Opens for one call.
	t.Logf("Opens for one LoginQR: %d", len(h.fe.opensFor(ch.ID)))
	if got := h.health(ch.ID); got.Status != StatusError {
		t.Errorf("status %v", got.Status)
	}
}

func TestClearLinkFailureStillUnlinks(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	h.st.failClear.Store(true)
	sess.emit(engine.LoggedOut{Reason: "phone"})
	expectNewLoginFlow(t, h, ch.ID, sess, "phone")
}
