package simremote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
)

// maxFrame bounds a websocket message: a frame carries at most one media
// file (100 MiB, base64 in JSON).
const maxFrame = 160 << 20

// Options configure an Engine.
type Options struct {
	// Host says where the sim network is hosted now: the base URL of the
	// node hosting it, or the network itself when this node hosts it
	// (then no websocket is used). Both empty: no host right now.
	Host func() (url string, local *sim.Network)
	// Sign authenticates a request to the host (the cluster's signature).
	Sign func(*http.Request)
	Log  *slog.Logger
	// Watch is how often the host is checked for a change (500 ms).
	Watch time.Duration
}

// Engine is the sim engine of a node that may not host the network.
type Engine struct {
	o Options

	mu       sync.Mutex
	conn     *clientConn
	sessions map[uint64]*Session
	// hostURL and hostLocal are where sessions were last opened.
	hostURL   string
	hostLocal *sim.Network
	closed    bool
	nextSID   atomic.Uint64
	stop      chan struct{}
	watchDone chan struct{}
}

var _ engine.Engine = (*Engine)(nil)

// New returns an engine that follows the host Options.Host names.
func New(o Options) *Engine {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Watch <= 0 {
		o.Watch = 500 * time.Millisecond
	}
	e := &Engine{o: o, sessions: map[uint64]*Session{}, stop: make(chan struct{}), watchDone: make(chan struct{})}
	go e.watch()
	return e
}

// Name is the sim engine's.
func (e *Engine) Name() string { return "sim" }

// ValidateProxy is the sim engine's check.
func (e *Engine) ValidateProxy(proxy string) error { return sim.CheckProxy(proxy) }

// Open opens a channel's session on the network's host.
func (e *Engine) Open(ctx context.Context, cfg engine.SessionConfig) (engine.Session, error) {
	if cfg.ChannelID == "" {
		return nil, sim.ErrInvalidChannel
	}
	if err := sim.CheckProxy(cfg.Proxy); err != nil {
		return nil, err
	}
	s := &Session{e: e, sid: e.nextSID.Add(1), cfg: cfg, q: newSerial(), device: cfg.Device, proxy: cfg.Proxy, linked: cfg.Device != ""}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		s.q.stop()
		return nil, sim.ErrClosed
	}
	e.sessions[s.sid] = s
	e.mu.Unlock()
	if _, _, err := s.ensure(ctx); err != nil {
		e.forget(s)
		s.q.stop()
		return nil, err
	}
	return s, nil
}

// Close closes every session and the connection to the host.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	sessions := make([]*Session, 0, len(e.sessions))
	for _, s := range e.sessions {
		sessions = append(sessions, s)
	}
	c := e.conn
	e.conn = nil
	e.mu.Unlock()
	close(e.stop)
	<-e.watchDone
	for _, s := range sessions {
		_ = s.Close()
	}
	if c != nil {
		c.close(websocket.StatusNormalClosure, "closing")
	}
	return nil
}

func (e *Engine) forget(s *Session) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.sessions, s.sid)
}

// NetworkCall makes a phone-side call on the network (AddPhone, LinkQR,
// SendFromPhone...), wherever it is hosted, and fills outs with its
// results.
func (e *Engine) NetworkCall(ctx context.Context, method string, args []any, outs ...any) error {
	if !networkMethods[method] {
		return fmt.Errorf("%w: %s", engine.ErrUnsupported, method)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultCallTimeout)
		defer cancel()
	}
	if net := e.localNetwork(); net != nil {
		return callLocal(ctx, net, method, args, outs)
	}
	c, err := e.connection(ctx)
	if err != nil {
		return err
	}
	f := frame{Op: opNet, Method: method}
	for _, a := range args {
		raw, err := json.Marshal(a)
		if err != nil {
			return err
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
		if i < len(reply.Results) {
			if err := json.Unmarshal(reply.Results[i], out); err != nil {
				return fmt.Errorf("simremote: %s result: %w", method, err)
			}
		}
	}
	return nil
}

// DetachAll tells every session its host went away (the network it was
// open on was replaced or moved): active ones get Disconnected, and each
// opens again on its next call.
func (e *Engine) DetachAll(reason string) {
	e.mu.Lock()
	c := e.conn
	e.conn = nil
	sessions := make([]*Session, 0, len(e.sessions))
	for _, s := range e.sessions {
		sessions = append(sessions, s)
	}
	e.mu.Unlock()
	if c != nil {
		c.close(websocket.StatusGoingAway, reason)
	}
	for _, s := range sessions {
		s.detach(reason)
	}
}

// noteHost records where sessions are being opened, so that watch sees a
// change only when the host really changes.
func (e *Engine) noteHost(url string, local *sim.Network) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hostURL, e.hostLocal = url, local
}

// localNetwork is the network when this node hosts it.
func (e *Engine) localNetwork() *sim.Network {
	_, local := e.o.Host()
	return local
}

// watch detaches every session when the host changes, so that each opens
// again on the new one.
func (e *Engine) watch() {
	defer close(e.watchDone)
	t := time.NewTicker(e.o.Watch)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		url, local := e.o.Host()
		e.mu.Lock()
		changed := url != e.hostURL || local != e.hostLocal
		e.hostURL, e.hostLocal = url, local
		var c *clientConn
		if changed {
			c, e.conn = e.conn, nil
		}
		sessions := make([]*Session, 0, len(e.sessions))
		if changed {
			for _, s := range e.sessions {
				sessions = append(sessions, s)
			}
		}
		e.mu.Unlock()
		if !changed {
			continue
		}
		e.o.Log.Info("sim network host changed; sessions connect again", "host", url, "local", local != nil, "sessions", len(sessions))
		if c != nil {
			c.close(websocket.StatusGoingAway, "the sim network moved")
		}
		for _, s := range sessions {
			s.detach("the sim network moved to another node")
		}
	}
}

// connection returns the live websocket to the host, dialling it if needed.
func (e *Engine) connection(ctx context.Context) (*clientConn, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, sim.ErrClosed
	}
	if c := e.conn; c != nil && !c.isDone() {
		e.mu.Unlock()
		return c, nil
	}
	e.mu.Unlock()
	url, local := e.o.Host()
	if local != nil {
		return nil, fmt.Errorf("%w: this node hosts the network now", ErrHostUnreachable)
	}
	if url == "" {
		return nil, fmt.Errorf("%w: no node hosts it right now", ErrHostUnreachable)
	}
	wsURL := "ws" + strings.TrimPrefix(strings.TrimRight(url, "/"), "http") + Path
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(url, "/")+Path, nil)
	if e.o.Sign != nil {
		e.o.Sign(req)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPHeader: req.Header})
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %v", ErrHostUnreachable, url, err)
	}
	ws.SetReadLimit(maxFrame)
	c := newClientConn(e, ws)
	e.mu.Lock()
	if e.conn != nil && !e.conn.isDone() { // another dial won
		other := e.conn
		e.mu.Unlock()
		c.close(websocket.StatusNormalClosure, "duplicate")
		return other, nil
	}
	e.conn = c
	e.hostURL, e.hostLocal = url, nil
	e.mu.Unlock()
	return c, nil
}

// lost is called when a connection ended: its sessions are detached.
func (e *Engine) lost(c *clientConn) {
	e.mu.Lock()
	if e.conn == c {
		e.conn = nil
	}
	e.mu.Unlock()
	for _, s := range c.takeSessions() {
		s.detach("the connection to the sim network's host was lost")
	}
}

// clientConn is one websocket to the host.
type clientConn struct {
	e      *Engine
	ws     *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc
	wmu    sync.Mutex
	nextID atomic.Uint64

	mu       sync.Mutex
	pending  map[uint64]chan frame
	sessions map[uint64]*Session
	done     bool
}

func newClientConn(e *Engine, ws *websocket.Conn) *clientConn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &clientConn{e: e, ws: ws, ctx: ctx, cancel: cancel, pending: map[uint64]chan frame{}, sessions: map[uint64]*Session{}}
	go c.read()
	return c
}

func (c *clientConn) isDone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done
}

func (c *clientConn) addSession(s *Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions[s.sid] = s
}

func (c *clientConn) dropSession(sid uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sessions, sid)
}

func (c *clientConn) takeSessions() []*Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Session, 0, len(c.sessions))
	for _, s := range c.sessions {
		out = append(out, s)
	}
	c.sessions = map[uint64]*Session{}
	return out
}

func (c *clientConn) write(ctx context.Context, f frame) error {
	raw, err := json.Marshal(f)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.Write(ctx, websocket.MessageText, raw); err != nil {
		return fmt.Errorf("%w: %v", ErrHostUnreachable, err)
	}
	return nil
}

// request sends a frame and waits for its reply.
func (c *clientConn) request(ctx context.Context, f frame) (frame, error) {
	f.ID = c.nextID.Add(1)
	ch := make(chan frame, 1)
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return frame{}, fmt.Errorf("%w: connection closed", ErrHostUnreachable)
	}
	c.pending[f.ID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, f.ID)
		c.mu.Unlock()
	}()
	if err := c.write(ctx, f); err != nil {
		return frame{}, err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return frame{}, ctx.Err()
	case <-c.ctx.Done():
		return frame{}, fmt.Errorf("%w: connection lost", ErrHostUnreachable)
	}
}

// read dispatches the host's frames until the connection ends.
func (c *clientConn) read() {
	defer c.close(websocket.StatusGoingAway, "")
	for {
		_, raw, err := c.ws.Read(c.ctx)
		if err != nil {
			if c.ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				c.e.o.Log.Warn("connection to the sim network's host lost", "error", err)
			}
			return
		}
		var f frame
		if err := json.Unmarshal(raw, &f); err != nil {
			c.e.o.Log.Warn("sim host sent an unreadable frame", "error", err)
			continue
		}
		switch f.Op {
		case opReply:
			c.mu.Lock()
			ch := c.pending[f.ID]
			c.mu.Unlock()
			if ch != nil {
				ch <- f
			}
		case opEvent, opIngest, opSent:
			c.mu.Lock()
			s := c.sessions[f.SID]
			c.mu.Unlock()
			c.inbound(s, f)
		}
	}
}

// inbound hands a session's event on; ingests and payload requests are
// answered once done.
func (c *clientConn) inbound(s *Session, f frame) {
	reply := func(r frame) {
		r.Op, r.ID, r.SID = opReply, f.ID, f.SID
		if err := c.write(c.ctx, r); err != nil && c.ctx.Err() == nil {
			c.e.o.Log.Warn("sim host reply not sent", "error", err)
		}
	}
	if s == nil {
		if f.Op != opEvent {
			reply(frame{Err: encodeError(fmt.Errorf("%w: session %d is not open here", sim.ErrClosed, f.SID))})
		}
		return
	}
	switch f.Op {
	case opEvent:
		ev, err := decodeEvent(f.Event)
		if err != nil {
			c.e.o.Log.Warn("sim host sent an unreadable event", "error", err)
			return
		}
		s.onEvent(ev)
	case opIngest:
		ev, err := decodeEvent(f.Event)
		if err != nil {
			reply(frame{Err: encodeError(err)})
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(c.ctx, defaultCallTimeout)
			defer cancel()
			reply(frame{Err: encodeError(s.onIngest(ctx, ev))})
		}()
	case opSent:
		var id string
		_ = json.Unmarshal(f.Data, &id)
		go func() {
			if s.cfg.SentPayload == nil {
				reply(frame{})
				return
			}
			ctx, cancel := context.WithTimeout(c.ctx, defaultCallTimeout)
			defer cancel()
			p, err := s.cfg.SentPayload(ctx, id)
			raw, _ := json.Marshal(p)
			reply(frame{Data: raw, Err: encodeError(err)})
		}()
	}
}

// close ends the connection; its sessions are detached.
func (c *clientConn) close(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	c.done = true
	c.mu.Unlock()
	_ = c.ws.Close(code, reason)
	c.cancel()
	c.e.lost(c)
}
