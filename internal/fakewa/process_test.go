package fakewa

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/util/keys"
	waLog "go.mau.fi/whatsmeow/util/log"
	"google.golang.org/protobuf/proto"
)

// These tests use a light client (whatsmeow's socket package, without a
// whatsmeow.Client or a store) so that thousands of them fit in one test,
// and so that they can reach a server in a child process: they do not
// check the server's Noise certificate, so whatsmeow need not trust the
// child's root (a process trusts one root, and the test binary's is its
// own).

// lightClient is a logged-in device connection that only answers nothing.
type lightClient struct {
	fs     *socket.FrameSocket
	ns     *socket.NoiseSocket
	nodes  chan *waBinary.Node
	closed chan struct{}
}

// lightLogin connects through hc (which reaches the server) and logs in
// as phone:device; it returns once <success> (or the first other node)
// arrived.
func lightLogin(ctx context.Context, hc *http.Client, phone uint64, device uint32) (*lightClient, *waBinary.Node, error) {
	fs := socket.NewFrameSocket(waLog.Noop, hc)
	if err := fs.Connect(ctx); err != nil {
		return nil, nil, err
	}
	lc := &lightClient{fs: fs, nodes: make(chan *waBinary.Node, 16), closed: make(chan struct{})}
	if err := lc.handshake(ctx, phone, device); err != nil {
		fs.Close(0)
		return nil, nil, err
	}
	select {
	case n := <-lc.nodes:
		return lc, n, nil
	case <-lc.closed:
		return nil, nil, errors.New("closed before login")
	case <-ctx.Done():
		lc.close()
		return nil, nil, ctx.Err()
	}
}

func (lc *lightClient) handshake(ctx context.Context, phone uint64, device uint32) error {
	eph, noiseKey := keys.NewKeyPair(), keys.NewKeyPair()
	nh := socket.NewNoiseHandshake()
	nh.Start(socket.NoiseStartPattern, lc.fs.Header)
	nh.Authenticate(eph.Pub[:])
	hello, _ := proto.Marshal(&waWa6.HandshakeMessage{ClientHello: &waWa6.HandshakeMessage_ClientHello{Ephemeral: eph.Pub[:]}})
	if err := lc.fs.SendFrame(hello); err != nil {
		return err
	}
	var resp []byte
	select {
	case resp = <-lc.fs.Frames:
	case <-ctx.Done():
		return ctx.Err()
	}
	var sh waWa6.HandshakeMessage
	if err := proto.Unmarshal(resp, &sh); err != nil {
		return err
	}
	serverEph := [32]byte(sh.GetServerHello().GetEphemeral())
	nh.Authenticate(serverEph[:])
	if err := nh.MixSharedSecretIntoKey(*eph.Priv, serverEph); err != nil {
		return err
	}
	static, err := nh.Decrypt(sh.GetServerHello().GetStatic())
	if err != nil {
		return err
	}
	if err := nh.MixSharedSecretIntoKey(*eph.Priv, [32]byte(static)); err != nil {
		return err
	}
	if _, err := nh.Decrypt(sh.GetServerHello().GetPayload()); err != nil {
		return err
	}
	encKey := nh.Encrypt(noiseKey.Pub[:])
	if err := nh.MixSharedSecretIntoKey(*noiseKey.Priv, serverEph); err != nil {
		return err
	}
	payload := proto.Clone(store.BaseClientPayload).(*waWa6.ClientPayload)
	payload.Username, payload.Device = proto.Uint64(phone), proto.Uint32(device)
	payload.Passive, payload.Pull = proto.Bool(true), proto.Bool(true)
	raw, _ := proto.Marshal(payload)
	finish, _ := proto.Marshal(&waWa6.HandshakeMessage{ClientFinish: &waWa6.HandshakeMessage_ClientFinish{
		Static: encKey, Payload: nh.Encrypt(raw),
	}})
	if err := lc.fs.SendFrame(finish); err != nil {
		return err
	}
	lc.ns, err = nh.Finish(ctx, lc.fs, func(_ context.Context, frame []byte) {
		data, err := waBinary.Unpack(frame)
		if err != nil {
			return
		}
		if n, err := waBinary.Unmarshal(data); err == nil {
			select {
			case lc.nodes <- n:
			default:
			}
		}
	}, func(context.Context, *socket.NoiseSocket, bool) { close(lc.closed) })
	return err
}

func (lc *lightClient) close() { lc.ns.Stop(true) }

// startTestChild starts this test binary as a fakewa child process (see
// TestMain) without making whatsmeow trust it.
func startTestChild(t testing.TB) *Child {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FAKEWA_TEST_SERVE=1")
	cmd.Stderr = os.Stderr
	child, err := startChild(ctx, cmd, newRemote)
	if err != nil {
		t.Fatalf("start child: %v", err)
	}
	t.Cleanup(func() { _ = child.Close() })
	return child
}

func TestChildProcess(t *testing.T) {
	child := startTestChild(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := child.Do(ctx, Command{Op: OpLatestVersion, Version: "1031777777"}); err != nil {
		t.Fatal(err)
	}
	if v, err := wm.GetLatestVersion(ctx, child.HTTPClient()); err != nil || v[2] != 1031777777 {
		t.Fatalf("GetLatestVersion through the child: %v, %v", v, err)
	}
	lc, n, err := lightLogin(ctx, child.HTTPClient(), 15550009999, 3)
	if err != nil || n.Tag != "success" {
		t.Fatalf("login at the child: %v, %v", n, err)
	}
	rep, err := child.Do(ctx, Command{Op: OpStats})
	if err != nil || rep.Stats.Online != 1 || rep.Stats.Logins != 1 {
		t.Fatalf("stats %+v: %v", rep.Stats, err)
	}
	dev := uint16(3)
	if _, err := child.Do(ctx, Command{Op: OpInject, Phone: "15550009999", Device: &dev, Fault: "stream:503"}); err != nil {
		t.Fatal(err)
	}
	for n := (*waBinary.Node)(nil); n == nil || n.Tag != "stream:error"; { // <ib><offline/> comes first
		select {
		case n = <-lc.nodes:
		case <-ctx.Done():
			t.Fatal("no stream error")
		}
		if n.Tag == "stream:error" && n.Attrs["code"] != "503" {
			t.Fatalf("after inject: %s", n.XMLString())
		}
	}
	select {
	case <-lc.closed:
	case <-ctx.Done():
		t.Fatal("the child did not close the connection after the stream error")
	}
	for {
		rep, err := child.Do(ctx, Command{Op: OpStats})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Stats.Open == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := child.Do(ctx, Command{Op: OpInject, Fault: "drop"}); err == nil || err.Error() != ErrNotConnected.Error() {
		t.Fatalf("inject with nobody connected: %v", err)
	}
	if _, err := child.Do(ctx, Command{Op: "fly"}); err == nil {
		t.Fatal("unknown op accepted")
	}
}

func TestControlProtocol(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.Control(context.Background(), inR, outW) }()
	c := &Child{in: inW, done: make(chan error, 1)}
	c.out = bufio.NewScanner(outR)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, cmd := range []Command{
		{Op: OpRefuse, On: true},
		{Op: OpOnConnect, Phone: "15550001", Fault: "ban:101:60"},
		{Op: OpMutePings, Phone: "15550001", On: true},
		{Op: OpRejectSends, Code: 463},
		{Op: OpRequireVersion, Version: "2.3000.1"},
		{Op: OpRequireVersion},
	} {
		if _, err := c.Do(ctx, cmd); err != nil {
			t.Fatalf("%+v: %v", cmd, err)
		}
	}
	for _, bad := range []Command{{Op: OpInject, Fault: "nonsense"}, {Op: OpScan, Phone: "1555", QR: "x,y,z,w"}, {Op: OpLatestVersion, Version: "x"}} {
		if _, err := c.Do(ctx, bad); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
	if _, err := c.Do(ctx, Command{Op: OpQuit}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Control: %v", err)
	}
	if f, _ := s.Account("15550001").popOnConnect(); f.String() != "ban:101:60" {
		t.Fatalf("queued fault %v", f)
	}
}

// idleClients logs in n light clients at once (64 at a time) against the
// server hc reaches.
func idleClients(ctx context.Context, hc *http.Client, n int) ([]*lightClient, error) {
	clients := make([]*lightClient, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	errs := make(chan error, n)
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			lc, node, err := lightLogin(ctx, hc, 16000000000+uint64(i), 1)
			if err == nil && node.Tag != "success" {
				err = fmt.Errorf("login answered with %s", node.XMLString())
			}
			if err != nil {
				errs <- err
				return
			}
			clients[i] = lc
		}()
	}
	wg.Wait()
	close(errs)
	return clients, <-errs
}

func TestManyIdleClients(t *testing.T) {
	s, err := Start(Options{KeepNodes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 100
	clients, err := idleClients(ctx, s.HTTPClient(), n)
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Online != n || st.Logins != n {
		t.Fatalf("stats %+v", st)
	}
	for _, lc := range clients {
		lc.close()
	}
}

// BenchmarkIdleClients logs in FAKEWA_CLIENTS (default 1,000) idle light
// clients at a server in a child process and reports what the server
// spends per connection. FAKEWA_CLIENTS=10000 is wagate bench's size.
func BenchmarkIdleClients(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("FAKEWA_CLIENTS")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		child := startTestChild(b)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		before, err := child.Do(ctx, Command{Op: OpStats})
		if err != nil {
			b.Fatal(err)
		}
		start, cpu0 := time.Now(), processCPU(child.cmd.Process.Pid)
		clients, err := idleClients(ctx, child.HTTPClient(), n)
		if err != nil {
			b.Fatal(err)
		}
		elapsed, cpu := time.Since(start), processCPU(child.cmd.Process.Pid)-cpu0
		time.Sleep(2 * time.Second) // settle
		after, err := child.Do(ctx, Command{Op: OpStats})
		if err != nil || after.Stats.Online != n {
			b.Fatalf("stats %+v: %v", after.Stats, err)
		}
		b.ReportMetric(float64(elapsed.Milliseconds()), "ms/login-all")
		if cpu > 0 {
			b.ReportMetric(float64(cpu.Microseconds())/float64(n), "server-cpu-us/login")
		}
		b.ReportMetric(float64(after.Stats.HeapBytes-before.Stats.HeapBytes)/float64(n)/1024, "server-KiB/conn")
		b.ReportMetric(float64(after.Stats.Goroutines-before.Stats.Goroutines)/float64(n), "server-goroutines/conn")
		for _, lc := range clients {
			lc.close()
		}
		cancel()
		_ = child.Close()
	}
}

// processCPU is a process's user and system CPU time (Linux; 0 elsewhere).
func processCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks (100 per second).
	rest := string(raw[strings.LastIndexByte(string(raw), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return time.Duration(u+s) * 10 * time.Millisecond
}
