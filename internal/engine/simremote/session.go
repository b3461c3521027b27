package simremote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
)

// ErrHostUnreachable: the node hosting the sim network did not answer (or
// none does right now). It is also engine.ErrNotConnected: the channel
// cannot reach its WhatsApp until the host is back.
var ErrHostUnreachable error = hostUnreachable{}

type hostUnreachable struct{}

func (hostUnreachable) Error() string        { return "simremote: the sim network's host cannot be reached" }
func (hostUnreachable) Is(target error) bool { return target == engine.ErrNotConnected }

// defaultCallTimeout bounds calls whose context has no deadline.
const defaultCallTimeout = 30 * time.Second

// Session is a channel's session on the sim network, wherever it is
// hosted: in this process (the host is this node) or over the host's
// websocket.
type Session struct {
	e   *Engine
	sid uint64
	cfg engine.SessionConfig
	q   *serial

	mu sync.Mutex
	// Where the session is open now: local (this node hosts) or conn (a
	// websocket); neither: to be opened on the next call.
	local  engine.Session
	conn   *clientConn
	device string
	proxy  string
	linked bool
	self   engine.Account
	// active: Connect was called and neither Disconnect nor Close since;
	// such a session is told Disconnected when its host goes away.
	active bool
	closed bool
}

// Linked reports whether the session has a device.
func (s *Session) Linked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.linked
}

// Self is the linked account.
func (s *Session) Self() engine.Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.self
}

// SetProxy changes the proxy for the next Connect.
func (s *Session) SetProxy(proxy string) error {
	if err := sim.CheckProxy(proxy); err != nil {
		return err
	}
	s.mu.Lock()
	s.proxy = proxy
	open := s.local != nil || s.conn != nil
	s.mu.Unlock()
	if !open {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.call(ctx, "SetProxy", []any{proxy})
}

// Disconnect closes the connection and keeps the login.
func (s *Session) Disconnect() {
	s.mu.Lock()
	s.active = false
	open := s.local != nil || s.conn != nil
	s.mu.Unlock()
	if !open {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.call(ctx, "Disconnect", nil)
}

// Close releases the session; the login is kept.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed, s.active = true, false
	local, conn := s.local, s.conn
	s.local, s.conn = nil, nil
	s.mu.Unlock()
	s.e.forget(s)
	var err error
	switch {
	case local != nil:
		err = local.Close()
	case conn != nil:
		err = s.closeOn(conn)
	}
	s.q.stop()
	if errors.Is(err, ErrHostUnreachable) {
		err = nil // its host closes it when the connection ends
	}
	return err
}

// call runs a method of the session where it is open, opening it first
// when needed, and fills outs with its results.
func (s *Session) call(ctx context.Context, method string, args []any, outs ...any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultCallTimeout)
		defer cancel()
	}
	local, conn, err := s.ensure(ctx)
	if err != nil {
		return err
	}
	if local != nil {
		err = callLocal(ctx, local, method, args, outs)
	} else {
		err = s.callRemote(ctx, conn, method, args, outs)
	}
	s.after(method, err)
	return err
}

func (s *Session) callRemote(ctx context.Context, c *clientConn, method string, args []any, outs []any) error {
	f := frame{Op: opCall, SID: s.sid, Method: method}
	if dl, ok := ctx.Deadline(); ok {
		f.TimeoutMS = max(time.Until(dl).Milliseconds(), 1)
	}
	for _, a := range args {
		raw, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("simremote: %s: %w", method, err)
		}
		f.Args = append(f.Args, raw)
	}
	reply, err := c.request(ctx, f)
	if err != nil {
		return err
	}
	if reply.Err != nil {
		return decodeError(reply.Err)
	}
	for i, out := range outs {
		if i >= len(reply.Results) {
			break
		}
		if err := json.Unmarshal(reply.Results[i], out); err != nil {
			return fmt.Errorf("simremote: %s result: %w", method, err)
		}
	}
	return nil
}

// after keeps the cached state in line with what a call did.
func (s *Session) after(method string, err error) {
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch method {
	case "Connect":
		s.active = true
	case "Logout", "Forget":
		s.linked, s.self, s.device = false, engine.Account{}, ""
	}
}

// ensure returns where the session is open, opening it (on this node's
// network when it hosts, else on the host's websocket) when it is not.
func (s *Session) ensure(ctx context.Context) (engine.Session, *clientConn, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, sim.ErrClosed
	}
	if s.local != nil || s.conn != nil {
		defer s.mu.Unlock()
		return s.local, s.conn, nil
	}
	oc := openConfig{ChannelID: s.cfg.ChannelID, Device: s.device, Proxy: s.proxy}
	s.mu.Unlock()

	if net := s.e.localNetwork(); net != nil {
		s.e.noteHost("", net)
		sess, err := net.Open(ctx, engine.SessionConfig{ChannelID: oc.ChannelID, Device: oc.Device, Proxy: oc.Proxy,
			Events: s.onEvent, Ingest: s.onIngest, SentPayload: s.cfg.SentPayload})
		if err != nil {
			return nil, nil, err
		}
		return s.opened(sess, nil, openReply{Linked: sess.Linked(), Self: sess.Self()})
	}
	c, err := s.e.connection(ctx)
	if err != nil {
		return nil, nil, err
	}
	c.addSession(s)
	reply, err := c.request(ctx, frame{Op: opOpen, SID: s.sid, Config: &oc})
	if err == nil && reply.Err != nil {
		err = decodeError(reply.Err)
	}
	var or openReply
	if err == nil {
		err = json.Unmarshal(reply.Data, &or)
	}
	if err != nil {
		c.dropSession(s.sid)
		return nil, nil, err
	}
	return s.opened(nil, c, or)
}

func (s *Session) opened(local engine.Session, c *clientConn, or openReply) (engine.Session, *clientConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		// Closed while it was being opened: what was opened closes too (a
		// session left open on the host would run the channel beside the
		// node that owns it next).
		if local != nil {
			_ = local.Close()
		}
		if c != nil {
			go s.closeOn(c)
		}
		return nil, nil, sim.ErrClosed
	}
	s.local, s.conn = local, c
	s.linked, s.self = or.Linked, or.Self
	return local, c, nil
}

// closeOn closes the session on the host at the end of c.
func (s *Session) closeOn(c *clientConn) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.request(ctx, frame{Op: opCall, SID: s.sid, Method: "Close"})
	c.dropSession(s.sid)
	return err
}

// detach forgets where the session was open (its host went away): an
// active session is told Disconnected, and the next call opens it anew.
func (s *Session) detach(reason string) {
	s.mu.Lock()
	local := s.local
	s.local, s.conn = nil, nil
	tell := s.active && !s.closed
	s.active = false
	s.mu.Unlock()
	if local != nil {
		_ = local.Close()
	}
	if tell {
		s.onEvent(engine.Disconnected{Reason: reason})
	}
}

// onEvent passes a lifecycle event on, in order, after noting what it says
// about the link.
func (s *Session) onEvent(ev engine.Event) {
	s.note(ev)
	if s.cfg.Events != nil {
		s.q.do(func() { s.cfg.Events(ev) })
	}
}

// onIngest passes a data event on and waits for it to be stored.
func (s *Session) onIngest(ctx context.Context, ev engine.Event) error {
	if s.cfg.Ingest == nil {
		return nil
	}
	done := make(chan error, 1)
	if !s.q.do(func() { done <- s.cfg.Ingest(ctx, ev) }) {
		return sim.ErrClosed
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Session) note(ev engine.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e := ev.(type) {
	case engine.Linked:
		s.linked, s.self, s.device = true, e.Account, e.Device
	case engine.LoggedOut:
		s.linked, s.self, s.device = false, engine.Account{}, ""
	}
}

// callLocal calls a method of a session in this process.
func callLocal(ctx context.Context, sess any, method string, args []any, outs []any) error {
	m := reflect.ValueOf(sess).MethodByName(method)
	if !m.IsValid() {
		return fmt.Errorf("%w: %s", engine.ErrUnsupported, method)
	}
	in := []reflect.Value{}
	mt := m.Type()
	if mt.NumIn() > 0 && mt.In(0) == ctxType {
		in = append(in, reflect.ValueOf(ctx))
	}
	for i, a := range args {
		want := mt.In(len(in))
		v := reflect.ValueOf(a)
		if !v.IsValid() {
			v = reflect.Zero(want)
		}
		if !v.Type().AssignableTo(want) {
			return fmt.Errorf("simremote: %s argument %d: %s is not %s", method, i, v.Type(), want)
		}
		in = append(in, v)
	}
	res := m.Call(in)
	var err error
	if n := len(res); n > 0 && mt.Out(n-1) == errType {
		if e := res[n-1].Interface(); e != nil {
			err = e.(error)
		}
		res = res[:n-1]
	}
	for i, out := range outs {
		if i < len(res) {
			reflect.ValueOf(out).Elem().Set(res[i])
		}
	}
	return err
}

var (
	ctxType = reflect.TypeFor[context.Context]()
	errType = reflect.TypeFor[error]()
)

// serial runs functions one at a time, in order, on a goroutine of its
// own: a session's events and acknowledgements keep the host's order.
type serial struct {
	mu      sync.Mutex
	cond    *sync.Cond
	work    []func()
	stopped bool
	done    chan struct{}
}

func newSerial() *serial {
	q := &serial{done: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	go q.run()
	return q
}

func (q *serial) do(fn func()) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return false
	}
	q.work = append(q.work, fn)
	q.cond.Signal()
	return true
}

func (q *serial) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		for len(q.work) == 0 && !q.stopped {
			q.cond.Wait()
		}
		if q.stopped {
			q.work = nil
			q.mu.Unlock()
			return
		}
		fn := q.work[0]
		q.work[0] = nil
		q.work = q.work[1:]
		q.mu.Unlock()
		fn()
	}
}

// stop drops what is queued and waits for the running function.
func (q *serial) stop() {
	q.mu.Lock()
	q.stopped = true
	q.cond.Broadcast()
	q.mu.Unlock()
	<-q.done
}
