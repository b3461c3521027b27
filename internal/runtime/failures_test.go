package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/model"
)

// The failure modes real WhatsApp plays, played by the sim engine
// (sim.Network.Inject), and what the runtime makes of each: the state a
// partner sees, whether the link is kept, which lifecycle events go out,
// and how many connection attempts a window sees. The whatsmeow engine is
// put through the same modes against the fake WhatsApp server in the app's
// end-to-end tests.

// simHarness runs a Manager on a sim network with a linked channel.
type simHarness struct {
	*harness
	net   *sim.Network
	ch    model.Channel
	phone string

	mu     sync.Mutex
	stored []engine.Event // what Ingest stored
	fail   error          // Ingest's answer while set
}

func newSimHarness(t *testing.T, mod func(o *Options)) *simHarness {
	t.Helper()
	h := &simHarness{net: sim.New(sim.Options{QRFirst: time.Minute}), phone: "15557770001"}
	t.Cleanup(func() { h.net.Close() })
	h.harness = newHarness(t, func(o *Options) {
		o.Engine = h.net
		o.Ingest = h.ingest
		o.KeepAliveGrace = 200 * time.Millisecond
		if mod != nil {
			mod(o)
		}
	})
	if _, err := h.net.AddPhone(h.phone, "Alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.net.AddPhone("15557770002", "Bob"); err != nil {
		t.Fatal(err)
	}
	h.ch = h.harness.ch("SIMFLT-00001", "")
	h.apply(h.ch)
	hl := h.waitStatus(h.ch.ID, StatusQR)
	if _, err := h.net.LinkQR(h.phone, hl.QR); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(h.ch.ID, StatusAuth)
	links := h.st.setsFor(h.ch.ID)
	if len(links) != 1 {
		t.Fatalf("links stored: %+v", links)
	}
	h.ch.Device, h.ch.WAPhone = links[0].Device, h.phone
	return h
}

func (h *simHarness) ingest(_ context.Context, _ string, ev engine.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail != nil {
		return h.fail
	}
	h.stored = append(h.stored, ev)
	return nil
}

func (h *simHarness) failIngest(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = err
}

// messages returns the IDs of the messages stored, in order.
func (h *simHarness) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ids []string
	for _, ev := range h.stored {
		if m, ok := ev.(engine.Message); ok {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

func (h *simHarness) inject(f sim.Fault) sim.FaultResult {
	h.t.Helper()
	res, err := h.net.Inject(h.ch.ID, f)
	if err != nil {
		h.t.Fatalf("inject %s: %v", f.Kind, err)
	}
	return res
}

// connects counts the channel's connection attempts so far.
func (h *simHarness) connects() int { return len(h.net.ChannelStats(h.ch.ID).Connects) }

// waitState waits until the channel is in state st and returns its health.
func (h *simHarness) waitState(st State) Health {
	h.t.Helper()
	var hl Health
	eventually(h.t, fmt.Sprintf("state %s", st), func() bool {
		hl = h.health(h.ch.ID)
		return hl.State == st
	}, func() string { return fmt.Sprintf("last health %+v", h.health(h.ch.ID)) })
	if hl.Status != st.Status() {
		h.t.Errorf("state %s shows status %s, want %s", st, hl.Status, st.Status())
	}
	return hl
}

// linkKept checks the channel is still linked: no link cleared, no
// unlinked event.
func (h *simHarness) linkKept() {
	h.t.Helper()
	if n := h.st.clearsFor(h.ch.ID); n != 0 {
		h.t.Errorf("the link was cleared %d times", n)
	}
	if evs := h.rec.of(h.ch.ID, EventUnlinked); len(evs) != 0 {
		h.t.Errorf("unlinked events: %+v", evs)
	}
}

// attemptsIn counts the connection attempts within d from now.
func (h *simHarness) attemptsIn(d time.Duration) int {
	before := h.connects()
	time.Sleep(d)
	return h.connects() - before
}

func TestFailureClientOutdated(t *testing.T) {
	h := newSimHarness(t, nil) // Outdated backoff: 100 to 200 ms
	h.inject(sim.Fault{Kind: sim.FaultClientOutdated})
	hl := h.waitState(StateClientOutdated)
	if hl.Code != 405 || !strings.Contains(hl.Error, sim.Version) || hl.NextTry.IsZero() {
		t.Errorf("health %+v", hl)
	}
	// Retried on the outdated schedule (at least 80 ms apart), never in a
	// loop: 240,000 restarts in 2 s before.
	n := h.attemptsIn(time.Second)
	if n < 3 || n > 13 {
		t.Errorf("%d connection attempts in 1 s, want 3 to 13 (a retry every 80 to 240 ms)", n)
	}
	h.linkKept()
	if st := h.health(h.ch.ID); st.State != StateClientOutdated {
		t.Errorf("state %s", st.State)
	}
	// A newer version: the refused channels connect again at once.
	h.inject(sim.Fault{Kind: sim.FaultClear})
	slow := newSimHarness(t, func(o *Options) { o.Outdated = Backoff{Min: time.Hour, Max: time.Hour} })
	slow.inject(sim.Fault{Kind: sim.FaultClientOutdated})
	slow.waitState(StateClientOutdated)
	slow.inject(sim.Fault{Kind: sim.FaultClear})
	if n := slow.m.RetryOutdated(0); n != 1 {
		t.Errorf("RetryOutdated retried %d channels", n)
	}
	slow.waitState(StateOnline)
	slow.linkKept()
	h.waitState(StateOnline)
}

func TestFailureBanWithEnd(t *testing.T) {
	h := newSimHarness(t, nil)
	before := h.connects()
	h.inject(sim.Fault{Kind: sim.FaultBan, Code: 101, Seconds: 1})
	hl := h.waitState(StateBanned)
	// Tried again a little after the end (1 s plus up to 10% later).
	if hl.Code != 101 || hl.Until.IsZero() || hl.NextTry.Before(hl.Until) || hl.NextTry.Sub(hl.Until) > 1200*time.Millisecond {
		t.Errorf("health %+v", hl)
	}
	if n := h.attemptsIn(800 * time.Millisecond); n != 0 || h.connects() != before {
		t.Errorf("%d connection attempts during the ban", n)
	}
	h.waitState(StateOnline)
	h.linkKept()
	if n := h.connects() - before; n != 1 {
		t.Errorf("%d connection attempts to come back, want 1", n)
	}
}

func TestFailureBanWithoutEnd(t *testing.T) {
	h := newSimHarness(t, func(o *Options) { o.Ban = Backoff{Min: 2 * time.Second, Max: 4 * time.Second} })
	h.inject(sim.Fault{Kind: sim.FaultBan, Code: 102})
	hl := h.waitState(StateBanned)
	if !hl.Until.IsZero() || time.Until(hl.NextTry) < time.Second {
		t.Errorf("health %+v: the next try should be the ban backoff away", hl)
	}
	if n := h.attemptsIn(time.Second); n != 0 {
		t.Errorf("%d connection attempts within a second of a ban without an end", n)
	}
	h.linkKept()
}

func TestFailureReplacedDoesNotFightBack(t *testing.T) {
	h := newSimHarness(t, nil)
	h.inject(sim.Fault{Kind: sim.FaultReplaced})
	hl := h.waitState(StateReplaced)
	if !hl.NextTry.IsZero() || !strings.Contains(hl.Error, "does not fight back") {
		t.Errorf("health %+v", hl)
	}
	// Neither time nor a change of the channel's row reconnects it.
	h.apply(h.ch)
	if n := h.attemptsIn(300 * time.Millisecond); n != 0 {
		t.Errorf("%d connection attempts after stream replaced", n)
	}
	h.linkKept()
	// A restart takes the device back.
	if err := h.restart(h.ch); err != nil {
		t.Fatal(err)
	}
	h.waitState(StateOnline)
}

func TestFailureLoggedOutClearsTheLink(t *testing.T) {
	h := newSimHarness(t, nil)
	h.inject(sim.Fault{Kind: sim.FaultLogout})
	eventually(t, "unlinked event", func() bool { return len(h.rec.of(h.ch.ID, EventUnlinked)) == 1 })
	if n := h.st.clearsFor(h.ch.ID); n != 1 {
		t.Errorf("link cleared %d times", n)
	}
	// The new login flow starts after the reconnect backoff, not at once.
	hl := h.waitState(StateLogin)
	if hl.QR == "" || hl.Phone != "" {
		t.Errorf("health %+v", hl)
	}
	if n := len(h.rec.of(h.ch.ID, EventUnlinked)); n != 1 {
		t.Errorf("%d unlinked events", n)
	}
}

func TestFailureStreamErrorReconnects(t *testing.T) {
	h := newSimHarness(t, func(o *Options) { o.Reconnect = Backoff{Min: 300 * time.Millisecond, Max: time.Second} })
	before := h.connects()
	h.inject(sim.Fault{Kind: sim.FaultStreamError, Code: 503})
	hl := h.waitState(StateReconnecting)
	if hl.Code != 503 || !strings.Contains(hl.Error, "503") || hl.Attempt != 1 {
		t.Errorf("health %+v", hl)
	}
	h.waitState(StateOnline)
	if n := h.connects() - before; n != 1 {
		t.Errorf("%d connection attempts, want 1", n)
	}
	h.linkKept()
}

func TestFailureKeepAlive(t *testing.T) {
	h := newSimHarness(t, nil) // grace 200 ms
	before := h.connects()
	// Lost, then restored within the grace: the connection stays.
	h.inject(sim.Fault{Kind: sim.FaultKeepAliveLost})
	hl := h.waitState(StateKeepAliveLost)
	if !strings.Contains(hl.Error, "keepalive") {
		t.Errorf("health %+v", hl)
	}
	h.inject(sim.Fault{Kind: sim.FaultKeepAliveRestored})
	h.waitState(StateOnline)
	if n := h.connects() - before; n != 0 {
		t.Errorf("%d connection attempts for a keepalive that came back", n)
	}
	// Lost for longer than the grace: the connection is made anew, once.
	h.inject(sim.Fault{Kind: sim.FaultKeepAliveLost})
	h.waitState(StateKeepAliveLost)
	eventually(t, "a new connection", func() bool { return h.connects() == before+1 })
	h.waitState(StateOnline)
	if n := h.attemptsIn(300 * time.Millisecond); n != 0 {
		t.Errorf("%d more connection attempts", n)
	}
	h.linkKept()
}

func TestFailureRefusedConnectionsBackOff(t *testing.T) {
	h := newSimHarness(t, func(o *Options) { o.Reconnect = Backoff{Min: 20 * time.Millisecond, Max: 160 * time.Millisecond} })
	h.inject(sim.Fault{Kind: sim.FaultRefuseConnections})
	h.waitState(StateReconnecting)
	eventually(t, "a refused attempt", func() bool { return h.health(h.ch.ID).Attempt >= 2 })
	if hl := h.health(h.ch.ID); !strings.Contains(hl.Error, "did not answer") {
		t.Errorf("health %+v", hl)
	}
	// 20, 40, 80, 160, 160... ms (±20%): about 10 attempts in 1.5 s.
	n := h.attemptsIn(1500 * time.Millisecond)
	if n < 5 || n > 16 {
		t.Errorf("%d connection attempts in 1.5 s, want 5 to 16", n)
	}
	if hl := h.health(h.ch.ID); hl.Attempt < 5 || hl.NextTry.IsZero() {
		t.Errorf("health %+v", hl)
	}
	h.inject(sim.Fault{Kind: sim.FaultClear})
	hl := h.waitState(StateOnline)
	if hl.Attempt != 0 || hl.Error != "" {
		t.Errorf("health once online %+v", hl)
	}
	h.linkKept()
}

func TestFailureProxyUnreachable(t *testing.T) {
	h := newSimHarness(t, nil)
	h.ch.Proxy = "socks5://proxy.example:1080"
	if err := h.setProxy(h.ch); err != nil {
		t.Fatal(err)
	}
	h.waitState(StateOnline)
	h.inject(sim.Fault{Kind: sim.FaultProxyUnreachable})
	hl := h.waitState(StateProxyUnreachable)
	if !strings.Contains(hl.Error, "proxy") || strings.Contains(hl.Error, "proxy.example") || hl.NextTry.IsZero() {
		t.Errorf("health %+v", hl)
	}
	h.linkKept()
	// A direct connection works again.
	h.ch.Proxy = ""
	if err := h.setProxy(h.ch); err != nil {
		t.Fatal(err)
	}
	h.waitState(StateOnline)
}

func TestFailureIngestErrorIsDeliveredAgain(t *testing.T) {
	h := newSimHarness(t, nil)
	h.failIngest(errors.New("database is down"))
	pm, err := h.net.SendFromPhone("15557770002", h.phone, "while the database is down")
	if err != nil {
		t.Fatal(err)
	}
	// Not stored, so not acknowledged: the runtime reconnects and the
	// network delivers it again, until it is stored.
	hl := h.waitState(StateReconnecting)
	if !strings.Contains(hl.Error, "could not be stored") {
		t.Errorf("health %+v", hl)
	}
	time.Sleep(100 * time.Millisecond)
	h.failIngest(nil)
	eventually(t, "the message stored", func() bool { return len(h.messages()) == 1 })
	h.waitState(StateOnline)
	if got := h.messages(); got[0] != pm.ID {
		t.Errorf("stored %q, want %s", got, pm.ID)
	}
	if st := h.net.ChannelStats(h.ch.ID); st.Redelivered < 1 || st.IngestFailures < 1 {
		t.Errorf("stats %+v", st)
	}
	h.linkKept()
}

func TestFailureDeliveredTwice(t *testing.T) {
	h := newSimHarness(t, nil)
	// The connection drops between delivery and acknowledgement.
	h.inject(sim.Fault{Kind: sim.FaultDropBeforeAck})
	pm, err := h.net.SendFromPhone("15557770002", h.phone, "one")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivered again", func() bool { return len(h.messages()) == 2 })
	h.waitState(StateOnline)
	// WhatsApp sends the same message twice.
	h.inject(sim.Fault{Kind: sim.FaultDuplicate})
	pm2, err := h.net.SendFromPhone("15557770002", h.phone, "two")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the duplicate", func() bool { return len(h.messages()) == 4 })
	got := h.messages()
	if got[0] != pm.ID || got[1] != pm.ID || got[2] != pm2.ID || got[3] != pm2.ID {
		t.Errorf("stored %q", got)
	}
	// (The service stores each once: TestIngestOnce in internal/service.)
}

func TestFailureUndecryptable(t *testing.T) {
	h := newSimHarness(t, nil)
	h.inject(sim.Fault{Kind: sim.FaultUndecryptable, From: "15557770002", Seconds: 1})
	pm, err := h.net.SendFromPhone("15557770002", h.phone, "secret")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the undecryptable message", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.stored) > 0
	})
	h.mu.Lock()
	u, ok := h.stored[0].(engine.Undecryptable)
	h.mu.Unlock()
	if !ok || u.ID != pm.ID {
		t.Fatalf("first stored %+v", u)
	}
	eventually(t, "the message itself", func() bool { return len(h.messages()) == 1 })
	if h.messages()[0] != pm.ID {
		t.Errorf("stored %q", h.messages())
	}
}

func TestFailureRetryReceiptAnsweredFromStore(t *testing.T) {
	var mu sync.Mutex
	kept := map[string][]byte{}
	h := newSimHarness(t, func(o *Options) {
		o.SentPayload = func(_ context.Context, channelID, id string) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			return kept[channelID+"/"+id], nil
		}
	})
	sess, err := h.m.Session(h.ch)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := sess.SendText(context.Background(), "15557770002", "hello")
	if err != nil || sent.Payload == nil {
		t.Fatalf("SendText: %+v, %v", sent, err)
	}
	mu.Lock()
	kept[h.ch.ID+"/"+sent.ID] = sent.Payload
	mu.Unlock()
	// After a restart (a new session: nothing in memory), the recipient's
	// phone asks for the message again.
	if err := h.restart(h.ch); err != nil {
		t.Fatal(err)
	}
	h.waitState(StateOnline)
	if res := h.inject(sim.Fault{Kind: sim.FaultRetryReceipt, ID: sent.ID}); !res.Answered {
		t.Error("retry receipt for a kept message not answered")
	}
	if res := h.inject(sim.Fault{Kind: sim.FaultRetryReceipt, ID: "3EB0NEVERSENT"}); res.Answered {
		t.Error("retry receipt for an unknown message answered")
	}
	if st := h.net.ChannelStats(h.ch.ID); st.RetriesAnswered != 1 || st.RetriesUnanswered != 1 {
		t.Errorf("stats %+v", st)
	}
}

// An incoming event the store refused was not acknowledged: the runtime
// makes a new connection (with backoff) so that WhatsApp delivers it again,
// once per connection however many events failed.
func TestIngestFailureReconnectsOncePerConnection(t *testing.T) {
	h := newHarness(t, nil)
	ch, sess := h.linkedAuth("AAAAAA-00001", "dev-1")
	h.rec.failIngest(errors.New("database is down"))
	sess.emit(engine.Message{ID: "m1"})
	sess.emit(engine.Message{ID: "m2"})
	if !errors.Is(sess.ingestErr, h.rec.ingestErr) {
		t.Fatalf("Ingest answered %v", sess.ingestErr)
	}
	eventually(t, "the new connection", func() bool { return sess.count("connect") == 2 })
	h.waitStatus(ch.ID, StatusAuth)
	if n := sess.count("disconnect"); n != 1 {
		t.Errorf("%d disconnects for two failed events, want 1", n)
	}
	if n := sess.count("connect"); n != 2 {
		t.Errorf("%d connects, want 2", n)
	}
	h.rec.failIngest(nil)
	sess.emit(engine.Message{ID: "m1"})
	if got := h.rec.engineEvents(); len(got) != 1 || got[0].Ev.(engine.Message).ID != "m1" {
		t.Errorf("stored %+v", got)
	}
	if h.st.clearsFor(ch.ID) != 0 {
		t.Error("the link was cleared")
	}
}
