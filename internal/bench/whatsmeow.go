package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/engine/whatsmeow"
	"github.com/wagate/wagate/internal/fakewa"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// The whatsmeow section: the real engine (whatsmeow, end-to-end encryption
// and all) against the fake WhatsApp server, which runs in a child process
// so that its side of the connections is not counted: connected sessions'
// memory and goroutines, the time a new server takes to bring them all
// online, and text messages per second through the real engine next to
// the sim engine's.

// EnvFakeWhatsApp makes the wagate binary (or a test binary whose TestMain
// calls ServeFakeWhatsApp) the bench's fake WhatsApp child process.
const EnvFakeWhatsApp = "WAGATE_BENCH_FAKEWA"

// ServeFakeWhatsApp runs the fake WhatsApp server for a parent bench on in
// and out (fakewa's process protocol). Devices the parent made in its store
// log in without uploading prekeys.
func ServeFakeWhatsApp(ctx context.Context, in io.Reader, out io.Writer) error {
	return fakewa.ServeProcess(ctx, in, out, fakewa.Options{KeepNodes: -1, MaxPreKeys: 50, AutoLinkPreKeys: 50})
}

// WhatsmeowReport is the whatsmeow section.
type WhatsmeowReport struct {
	Seeding string `json:"seeding"`
	// Server is what the server keeps with no session; Levels are beyond it.
	Server Memory         `json:"server"`
	Levels []SessionLevel `json:"levels"`
	// Send is POST /messages/text through the real engine, each message
	// encrypted for and decrypted by a peer of the fake server; SimPerSecond
	// is the send section's figure on the sim engine (0 when it did not
	// run).
	Send         *Load   `json:"send,omitempty"`
	SimPerSecond float64 `json:"sim_per_second"`
}

// SessionLevel is one number of connected whatsmeow sessions.
type SessionLevel struct {
	Sessions int `json:"sessions"`
	// BootSeconds is the server's build and start; OnlineSeconds until
	// every session was AUTH.
	BootSeconds   float64 `json:"boot_seconds"`
	OnlineSeconds float64 `json:"online_seconds"`
	// Per connected session, beyond the server's own, after a forced
	// collection and an idle period.
	RSSBytesPerSession   float64 `json:"rss_bytes_per_session"`
	HeapBytesPerSession  float64 `json:"heap_bytes_per_session"`
	StackBytesPerSession float64 `json:"stack_bytes_per_session"`
	GoroutinesPerSession float64 `json:"goroutines_per_session"`
}

const waSeedingNote = "whatsmeow sessions are seeded with the server down: a device made in whatsmeow's store " +
	"(its own keys, five prekeys marked uploaded) and a linked channel row each, as after a QR scan; the fake " +
	"WhatsApp server (a child process) links such a device on its first login. Memory per session is the " +
	"process's growth (RSS after a forced GC and FreeOSMemory, heap, stacks) once every session is online " +
	"and idle, divided by the sessions"

// sessionLevels are the session counts measured up to limit.
func sessionLevels(limit int) []int {
	var out []int
	for _, n := range []int{1_000, 10_000} {
		if n <= limit {
			out = append(out, n)
		}
	}
	if len(out) == 0 || out[len(out)-1] < limit {
		out = append(out, limit)
	}
	return out
}

// waEnv is the whatsmeow section's own server, database and fake WhatsApp.
type waEnv struct {
	*env
	child                 *fakewa.Child
	sessions              []model.Channel
	partner, partnerToken string
}

// fakeChild is the process's fake WhatsApp child: whatsmeow trusts one
// fake root per process (fakewa.Trust), so every run of a process (tests
// run several) shares it. It ends when this process does (its input
// closes).
var fakeChild struct {
	mu sync.Mutex
	c  *fakewa.Child
}

// fakeWhatsApp returns the fake WhatsApp child process, starting it (and
// pointing this process's whatsmeow at it) on first use.
func (o Options) fakeWhatsApp(ctx context.Context) (*fakewa.Child, error) {
	fakeChild.mu.Lock()
	defer fakeChild.mu.Unlock()
	if fakeChild.c != nil {
		return fakeChild.c, nil
	}
	c, err := o.startFakeWhatsApp(ctx)
	if err != nil {
		return nil, err
	}
	fakeChild.c = c
	return c, nil
}

func (o Options) startFakeWhatsApp(ctx context.Context) (*fakewa.Child, error) {
	var cmd *exec.Cmd
	if o.FakeWhatsApp != nil {
		cmd = o.FakeWhatsApp()
	} else {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd = exec.Command(exe, "bench")
	}
	cmd.Env = append(os.Environ(), EnvFakeWhatsApp+"=1")
	cmd.Stderr = io.Discard
	return fakewa.StartChild(ctx, cmd)
}

func (e *env) benchWhatsmeow(ctx context.Context, sim *SendReport) (*WhatsmeowReport, error) {
	rep := &WhatsmeowReport{Seeding: waSeedingNote}
	if sim != nil {
		rep.SimPerSecond = sim.Wagate.PerSecond
	}
	e.prog.stepf("whatsmeow: starting the fake WhatsApp server (a child process)")
	child, err := e.o.fakeWhatsApp(context.WithoutCancel(ctx))
	if err != nil {
		return rep, fmt.Errorf("fake WhatsApp: %w", err)
	}
	sub, err := newEnv(ctx, e.o, nil)
	if err != nil {
		return rep, err
	}
	sub.prog = e.prog
	sub.engine = config.EngineWhatsmeow
	sub.wa = &whatsmeow.Options{ClientHook: child.Configure, HTTPClient: child.HTTPClient(), VersionRefresh: -1}
	w := &waEnv{env: sub, child: child}
	defer w.close()
	if err := w.boot(ctx); err != nil {
		return rep, err
	}
	if err := w.prepare(ctx); err != nil {
		return rep, err
	}
	var p struct{ ID, Token string }
	if err := w.api.call(ctx, "POST", "/admin/partners", w.admin,
		map[string]any{"name": "wa", "email": "wa@example.test", "days": 1_000_000}, &p); err != nil {
		return rep, err
	}
	w.partner, w.partnerToken = p.ID, p.Token
	_, server, err := w.restartWith(ctx, 0)
	if err != nil {
		return rep, err
	}
	rep.Server = server
	for _, n := range sessionLevels(e.o.MaxSessions) {
		lv, mem, err := w.restartWith(ctx, n)
		if err != nil {
			return rep, err
		}
		per := mem.minus(server)
		lv.RSSBytesPerSession = float64(per.RSSBytes) / float64(n)
		lv.HeapBytesPerSession = float64(per.HeapBytes) / float64(n)
		lv.StackBytesPerSession = float64(per.StackBytes) / float64(n)
		lv.GoroutinesPerSession = float64(per.Goroutines) / float64(n)
		rep.Levels = append(rep.Levels, lv)
	}
	if rep.Send, err = w.sendThroughEngine(ctx); err != nil {
		return rep, fmt.Errorf("send: %w", err)
	}
	return rep, nil
}

// restartWith stops the server, seeds sessions up to n, starts a new
// server and measures it once every session is online and idle.
func (w *waEnv) restartWith(ctx context.Context, n int) (SessionLevel, Memory, error) {
	lv := SessionLevel{Sessions: n}
	if err := w.shutdown(ctx); err != nil {
		return lv, Memory{}, err
	}
	if err := w.seed(ctx, n); err != nil {
		return lv, Memory{}, err
	}
	w.prog.stepf("whatsmeow: starting a server with %d sessions", n)
	before := measureMemory(ctx)
	t0 := time.Now()
	if err := w.boot(ctx); err != nil {
		return lv, Memory{}, err
	}
	lv.BootSeconds = time.Since(t0).Seconds()
	timeout := 2*time.Minute + time.Duration(n)*20*time.Millisecond
	err := w.waitAuth(ctx, w.sessions[:n], timeout)
	lv.OnlineSeconds = time.Since(t0).Seconds()
	if err != nil {
		return lv, Memory{}, err
	}
	_ = sleep(ctx, w.o.SessionIdle)
	return lv, measureMemory(ctx).minus(before), nil
}

// seed brings the section's sessions up to n; the server must be down.
func (w *waEnv) seed(ctx context.Context, n int) error {
	if len(w.sessions) >= n {
		return nil
	}
	st, err := store.Open(ctx, store.Options{URL: w.dbURL, SQLitePath: w.config().SQLitePath()})
	if err != nil {
		return err
	}
	defer st.Close()
	container := sqlstore.NewWithDB(st.DB(), string(st.Dialect()), nil)
	from := len(w.sessions)
	w.prog.stepf("whatsmeow: seeding %d sessions", n-from)
	workers := 1
	if w.dbURL != "" {
		workers = 8
	}
	out := make([]model.Channel, n-from)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		done  int
	)
	jobs := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				ch, err := seedSession(ctx, st, container, w.partner, from+i)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				out[i] = ch
				if done++; done%500 == 0 {
					w.prog.tickf("%d", done)
				}
				mu.Unlock()
			}
		})
	}
	for i := range out {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	if first != nil {
		return fmt.Errorf("seed sessions: %w", first)
	}
	w.sessions = append(w.sessions, out...)
	return nil
}

// seedSession makes session i: a whatsmeow device with five prekeys marked
// uploaded, and a live channel linked to it.
func seedSession(ctx context.Context, st *store.Store, c *sqlstore.Container, partnerID string, i int) (model.Channel, error) {
	phone := fmt.Sprintf("1557%07d", i)
	dev := c.NewDevice()
	jid := types.JID{User: phone, Device: 1, Server: types.DefaultUserServer}
	dev.ID = &jid
	dev.PushName, dev.Platform = "Session "+strconv.Itoa(i), "android"
	dev.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte{1}, AccountSignature: make([]byte, 64),
		AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64)}
	if err := dev.Save(ctx); err != nil {
		return model.Channel{}, fmt.Errorf("save device: %w", err)
	}
	q := `INSERT INTO whatsmeow_pre_keys (jid, key_id, key, uploaded) VALUES ($1, $2, $3, true)`
	for k := 1; k <= 5; k++ {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		if _, err := st.DB().ExecContext(ctx, q, jid.String(), k, key); err != nil {
			return model.Channel{}, fmt.Errorf("save prekey: %w", err)
		}
	}
	ch, err := seedChannel(ctx, st, partnerID, i)
	if err != nil {
		return ch, err
	}
	ch.Device, ch.WAPhone = jid.String(), phone
	return ch, st.SetChannelLink(ctx, ch.ID, ch.Device, phone, dev.PushName, time.Now())
}

// sendThroughEngine sends texts from the first channels to peers of the
// fake server at full speed, through whatsmeow's encryption.
func (w *waEnv) sendThroughEngine(ctx context.Context) (*Load, error) {
	if len(w.sessions) == 0 {
		return nil, errors.New("no sessions")
	}
	senders := min(w.o.Channels, len(w.sessions))
	tokens := make([]string, senders)
	for i := range tokens {
		tokens[i] = w.sessions[i].Token
		// Paid days, then live: no trial limits (the change reconnects the
		// channel).
		if err := w.api.call(ctx, "POST", "/partner/channels/"+w.sessions[i].ID+"/extend", w.partnerToken,
			map[string]any{"days": 30, "comment": "bench"}, nil); err != nil {
			return nil, err
		}
		if err := w.api.call(ctx, "PATCH", "/partner/channels/"+w.sessions[i].ID+"/mode", w.partnerToken,
			map[string]any{"mode": "live"}, nil); err != nil {
			return nil, err
		}
	}
	if err := w.waitAuth(ctx, w.sessions[:senders], time.Minute); err != nil {
		return nil, err
	}
	peers := make([]string, Recipients)
	for i := range peers {
		peers[i] = fmt.Sprintf("1557900%04d", i)
		if _, err := w.child.Do(ctx, fakewa.Command{Op: fakewa.OpPeer, Peer: peers[i]}); err != nil {
			return nil, err
		}
	}
	d := w.o.share(SectionSend)
	if d == 0 {
		d = w.o.Duration / 3
	}
	w.prog.stepf("whatsmeow: sending through the real engine for %s (%d clients, %d channels)", d.Round(time.Second), w.o.Clients, senders)
	l := Drive(ctx, w.o.Clients, d, 0, func(ctx context.Context, worker, n int) error {
		code, raw, err := w.api.do(ctx, "POST", "/messages/text", tokens[worker%senders], sendBody(peers[n%len(peers)], worker, n))
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("POST /messages/text: HTTP %d: %.200s", code, raw)
		}
		return nil
	}, func(done int) { w.prog.tickf("%d", done) })
	return &l, nil
}
