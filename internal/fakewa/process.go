package fakewa

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"time"

	"go.mau.fi/whatsmeow/store"
)

// Process mode: the server runs in a child process (wagate bench's hidden
// child command calls ServeProcess on its stdin and stdout), so the 10,000
// clients of a benchmark and the server do not share a process, a
// scheduler or a file descriptor limit. The protocol is JSON lines: the
// child first writes {"endpoint": Endpoint}, then answers each Command
// line with one Reply line, in order. It stops at "quit" or at the end of
// its input.

// Command is one request of the control protocol. Scoped operations act on
// the device Device of account Phone, on the account when Device is nil,
// and on the whole server when Phone is "".
type Command struct {
	Op     string  `json:"op"`
	Phone  string  `json:"phone,omitempty"`
	Device *uint16 `json:"device,omitempty"`
	// Fault is a Fault's text (inject, on_connect).
	Fault string `json:"fault,omitempty"`
	// On is the switch of refuse and mute_pings.
	On bool `json:"on,omitempty"`
	// Code is the error of reject_sends (0 accepts again).
	Code int `json:"code,omitempty"`
	// Version is "2.3000.x" for require_version ("" lifts it), and x alone
	// for latest_version.
	Version string `json:"version,omitempty"`
	// QR is a QR code to scan (scan).
	QR string `json:"qr,omitempty"`
	// Peer and Text are the sender and text of send.
	Peer string `json:"peer,omitempty"`
	Text string `json:"text,omitempty"`
}

// The control protocol's operations.
const (
	OpStats          = "stats"           // Reply.Stats
	OpRefuse         = "refuse"          // On
	OpInject         = "inject"          // scope, Fault
	OpOnConnect      = "on_connect"      // scope, Fault
	OpMutePings      = "mute_pings"      // scope, On
	OpRejectSends    = "reject_sends"    // scope, Code
	OpRequireVersion = "require_version" // scope, Version
	OpLatestVersion  = "latest_version"  // Version
	OpScan           = "scan"            // Phone, QR; Reply.Device
	OpSend           = "send"            // Peer, Phone, Text; Reply.ID
	OpPeer           = "peer"            // Peer: make sure the peer exists
	OpQuit           = "quit"
)

// Reply answers a Command.
type Reply struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Stats  *Stats `json:"stats,omitempty"`
	Device string `json:"device,omitempty"`
	ID     string `json:"id,omitempty"`
}

type hello struct {
	Endpoint Endpoint `json:"endpoint"`
}

// ServeProcess runs a server for a parent process: it starts one, writes
// its Endpoint on out and serves the control protocol from in until "quit",
// the end of in, or ctx's end. Logs go to opts.Logger, never to out.
func ServeProcess(ctx context.Context, in io.Reader, out io.Writer, opts Options) error {
	s, err := Start(opts)
	if err != nil {
		return err
	}
	defer s.Close()
	enc := json.NewEncoder(out)
	if err := enc.Encode(hello{Endpoint: s.Endpoint()}); err != nil {
		return err
	}
	return s.Control(ctx, in, out)
}

// Control serves the control protocol for s: a Reply line on out for each
// Command line from in, until "quit", the end of in or ctx's end.
func (s *Server) Control(ctx context.Context, in io.Reader, out io.Writer) error {
	lines := make(chan []byte)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lines <- append([]byte(nil), sc.Bytes()...):
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	enc := json.NewEncoder(out)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-readErr:
			return err
		case line := <-lines:
			var cmd Command
			var rep Reply
			if err := json.Unmarshal(line, &cmd); err != nil {
				rep.Error = err.Error()
			} else {
				rep = s.do(ctx, cmd)
			}
			if err := enc.Encode(rep); err != nil {
				return err
			}
			if cmd.Op == OpQuit {
				return nil
			}
		}
	}
}

func (s *Server) do(ctx context.Context, cmd Command) Reply {
	rep, err := s.run(ctx, cmd)
	if err != nil {
		return Reply{Error: err.Error()}
	}
	rep.OK = true
	return rep
}

func (s *Server) run(ctx context.Context, cmd Command) (Reply, error) {
	faults := &s.Faults
	if cmd.Phone != "" && cmd.Op != OpScan && cmd.Op != OpSend && cmd.Op != OpPeer {
		acct := s.Account(cmd.Phone)
		faults = &acct.Faults
		if cmd.Device != nil {
			d := acct.Device(*cmd.Device)
			if d == nil {
				return Reply{}, fmt.Errorf("fakewa: no device %s:%d", cmd.Phone, *cmd.Device)
			}
			faults = &d.Faults
		}
	}
	switch cmd.Op {
	case OpStats:
		st := s.Stats()
		return Reply{Stats: &st}, nil
	case OpQuit:
		return Reply{}, nil
	case OpRefuse:
		s.Refuse(cmd.On)
	case OpInject, OpOnConnect:
		f, err := ParseFault(cmd.Fault)
		if err != nil {
			return Reply{}, err
		}
		if cmd.Op == OpOnConnect {
			faults.OnConnect(f)
		} else if err := faults.Inject(f); err != nil {
			return Reply{}, err
		}
	case OpMutePings:
		faults.MutePings(cmd.On)
	case OpRejectSends:
		faults.RejectSends(cmd.Code)
	case OpRequireVersion:
		var v store.WAVersionContainer
		if cmd.Version != "" {
			var err error
			if v, err = store.ParseVersion(cmd.Version); err != nil {
				return Reply{}, err
			}
		}
		faults.RequireVersion(v)
	case OpLatestVersion:
		var rev uint32
		if _, err := fmt.Sscan(cmd.Version, &rev); err != nil {
			return Reply{}, fmt.Errorf("fakewa: bad revision %q", cmd.Version)
		}
		s.SetLatestVersion(rev)
	case OpScan:
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		d, err := s.Account(cmd.Phone).ScanQR(ctx, cmd.QR)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Device: d.JID().String()}, nil
	case OpPeer:
		if s.Peer(cmd.Peer) == nil {
			return Reply{}, fmt.Errorf("fakewa: no peer %q", cmd.Peer)
		}
	case OpSend:
		sent, err := s.Peer(cmd.Peer).SendText(s.Account(cmd.Phone), cmd.Text)
		if err != nil {
			return Reply{}, err
		}
		return Reply{ID: sent.ID}, nil
	default:
		return Reply{}, fmt.Errorf("fakewa: unknown op %q", cmd.Op)
	}
	return Reply{}, nil
}

// Child is a server in a child process, seen from the parent.
type Child struct {
	*Remote
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	mu   sync.Mutex
	done chan error

	closeOnce sync.Once
	closeErr  error
}

// StartChild starts cmd, a process that calls ServeProcess on its stdin
// and stdout (StartChild sets them; cmd.Stderr is the caller's), reads the
// server's Endpoint and Attaches to it.
func StartChild(ctx context.Context, cmd *exec.Cmd) (*Child, error) {
	return startChild(ctx, cmd, Attach)
}

func startChild(ctx context.Context, cmd *exec.Cmd, attach func(Endpoint) (*Remote, error)) (*Child, error) {
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("fakewa: start child: %w", err)
	}
	c := &Child{cmd: cmd, in: in, out: bufio.NewScanner(outPipe), done: make(chan error, 1)}
	c.out.Buffer(make([]byte, 64<<10), 1<<20)
	first := make(chan error, 1)
	var h hello
	go func() {
		if !c.out.Scan() {
			first <- fmt.Errorf("fakewa: child said nothing: %v", c.out.Err())
			return
		}
		first <- json.Unmarshal(c.out.Bytes(), &h)
	}()
	select {
	case err = <-first:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		c.Remote, err = attach(h.Endpoint)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	go func() { c.done <- cmd.Wait() }()
	return c, nil
}

// Do sends a command and waits for its reply; a Reply that is not OK comes
// back as an error too.
func (c *Child) Do(ctx context.Context, cmd Command) (Reply, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	line, err := json.Marshal(cmd)
	if err != nil {
		return Reply{}, err
	}
	if _, err := c.in.Write(append(line, '\n')); err != nil {
		return Reply{}, fmt.Errorf("fakewa: child: %w", err)
	}
	got := make(chan error, 1)
	var rep Reply
	go func() {
		if !c.out.Scan() {
			got <- fmt.Errorf("fakewa: child stopped: %v", c.out.Err())
			return
		}
		got <- json.Unmarshal(c.out.Bytes(), &rep)
	}()
	select {
	case err = <-got:
	case <-ctx.Done():
		// The reader goroutine still owns the scanner; the child is
		// unusable from here on.
		_ = c.cmd.Process.Kill()
		return Reply{}, ctx.Err()
	}
	if err == nil && !rep.OK {
		err = errors.New(rep.Error)
	}
	return rep, err
}

// Close asks the child to quit and waits for it (killing it after 10 s).
// Closing again returns the first result.
func (c *Child) Close() error {
	c.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = c.Do(ctx, Command{Op: OpQuit})
		_ = c.in.Close()
		select {
		case c.closeErr = <-c.done:
		case <-ctx.Done():
			_ = c.cmd.Process.Kill()
			c.closeErr = <-c.done
		}
	})
	return c.closeErr
}
