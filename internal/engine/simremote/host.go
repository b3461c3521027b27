package simremote

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
)

// Host serves a sim network to the other nodes' engines. The caller
// authenticates requests before ServeHTTP.
type Host struct {
	net *sim.Network
	log *slog.Logger

	mu     sync.Mutex
	conns  map[*hostConn]struct{}
	closed bool
	gate   func() bool
}

// Gate makes the host serve only while ok says so (the node holds the
// leadership): a call arriving once it no longer does ends its
// connection, so that the node opens its sessions on the new host
// instead of changing a network that is no longer the one kept.
func (h *Host) Gate(ok func() bool) {
	h.mu.Lock()
	h.gate = ok
	h.mu.Unlock()
}

func (h *Host) serving() bool {
	h.mu.Lock()
	ok := h.gate
	h.mu.Unlock()
	return ok == nil || ok()
}

// NewHost serves net.
func NewHost(net *sim.Network, log *slog.Logger) *Host {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Host{net: net, log: log, conns: map[*hostConn]struct{}{}}
}

// ServeHTTP accepts a node's websocket and serves it until it ends.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.ServeNode(w, r, "") }

// ServeNode is ServeHTTP for a connection from the named node, which
// DropNode can end.
func (h *Host) ServeNode(w http.ResponseWriter, r *http.Request, node string) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{})
	if err != nil {
		return // Accept answered
	}
	ws.SetReadLimit(maxFrame)
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	c := &hostConn{h: h, node: node, ws: ws, ctx: ctx, cancel: cancel, sessions: map[uint64]engine.Session{}, pending: map[uint64]chan frame{}}
	c.out = newSerial()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = ws.Close(websocket.StatusTryAgainLater, "this node no longer hosts the sim network")
		c.out.stop()
		return
	}
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	c.serve()
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// Close ends every connection (their sessions are closed, logins kept)
// and refuses new ones.
func (h *Host) Close() {
	h.mu.Lock()
	h.closed = true
	conns := make([]*hostConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.end(websocket.StatusGoingAway, "the sim network moved")
	}
}

// DropNode ends the named node's connections and closes their sessions
// (the node was found dead: it must not keep channels open that another
// node is about to run). It returns how many sessions were closed.
func (h *Host) DropNode(node string) int {
	if node == "" {
		return 0
	}
	h.mu.Lock()
	var conns []*hostConn
	for c := range h.conns {
		if c.node == node {
			conns = append(conns, c)
		}
	}
	h.mu.Unlock()
	closed := 0
	for _, c := range conns {
		closed += c.end(websocket.StatusPolicyViolation, "this node was found dead; its sessions were closed")
	}
	return closed
}

// hostConn is one node's websocket.
type hostConn struct {
	h      *Host
	node   string // the node at the other end, when known
	ws     *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc
	out    *serial // writes, in order, off the network's goroutines
	nextID atomic.Uint64

	mu       sync.Mutex
	sessions map[uint64]engine.Session
	pending  map[uint64]chan frame
	ended    bool
}

func (c *hostConn) serve() {
	defer c.end(websocket.StatusNormalClosure, "")
	for {
		_, raw, err := c.ws.Read(c.ctx)
		if err != nil {
			return
		}
		var f frame
		if err := json.Unmarshal(raw, &f); err != nil {
			c.h.log.Warn("sim host: unreadable frame", "error", err)
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
		case opOpen, opCall, opNet:
			if !c.h.serving() {
				return // the deferred end closes the connection and its sessions
			}
		}
		switch f.Op {
		case opOpen:
			go c.open(f)
		case opCall:
			go c.call(f)
		case opNet:
			go c.netCall(f)
		}
	}
}

// end closes the connection and every session opened on it, and returns
// how many sessions it closed.
func (c *hostConn) end(code websocket.StatusCode, reason string) int {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return 0
	}
	c.ended = true
	sessions := c.sessions
	c.sessions = map[uint64]engine.Session{}
	c.mu.Unlock()
	c.cancel() // pending ingests give up
	for _, s := range sessions {
		_ = s.Close()
	}
	c.out.stop()
	// The close handshake waits for the node (up to seconds when it is
	// frozen): its sessions are closed already.
	go func() { _ = c.ws.Close(code, reason) }()
	return len(sessions)
}

// send queues a frame for the node.
func (c *hostConn) send(f frame) {
	raw, err := json.Marshal(f)
	if err != nil {
		c.h.log.Error("sim host: frame not encoded", "op", f.Op, "error", err)
		return
	}
	c.out.do(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
		defer cancel()
		if err := c.ws.Write(ctx, websocket.MessageText, raw); err != nil && c.ctx.Err() == nil {
			c.h.log.Warn("sim host: write failed; closing the connection", "error", err)
			go c.end(websocket.StatusInternalError, "write failed")
		}
	})
}

// request sends a frame and waits for the node's reply.
func (c *hostConn) request(ctx context.Context, f frame) (frame, error) {
	f.ID = c.nextID.Add(1)
	ch := make(chan frame, 1)
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return frame{}, sim.ErrClosed
	}
	c.pending[f.ID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, f.ID)
		c.mu.Unlock()
	}()
	c.send(f)
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return frame{}, ctx.Err()
	case <-c.ctx.Done():
		return frame{}, fmt.Errorf("%w: the node's connection ended", sim.ErrClosed)
	}
}

func (c *hostConn) reply(f frame, r frame) {
	r.Op, r.ID, r.SID = opReply, f.ID, f.SID
	c.send(r)
}

func (c *hostConn) open(f frame) {
	if f.Config == nil {
		c.reply(f, frame{Err: encodeError(sim.ErrInvalidChannel)})
		return
	}
	sid := f.SID
	cfg := engine.SessionConfig{ChannelID: f.Config.ChannelID, Device: f.Config.Device, Proxy: f.Config.Proxy,
		Events: func(ev engine.Event) {
			w, err := encodeEvent(ev)
			if err != nil {
				c.h.log.Error("sim host: event not encoded", "error", err)
				return
			}
			c.send(frame{Op: opEvent, SID: sid, Event: w})
		},
		Ingest: func(ctx context.Context, ev engine.Event) error {
			w, err := encodeEvent(ev)
			if err != nil {
				return err
			}
			r, err := c.request(ctx, frame{Op: opIngest, SID: sid, Event: w})
			if err != nil {
				return err
			}
			return decodeError(r.Err)
		},
		SentPayload: func(ctx context.Context, id string) ([]byte, error) {
			raw, _ := json.Marshal(id)
			r, err := c.request(ctx, frame{Op: opSent, SID: sid, Data: raw})
			if err != nil {
				return nil, err
			}
			if r.Err != nil {
				return nil, decodeError(r.Err)
			}
			var p []byte
			err = json.Unmarshal(r.Data, &p)
			return p, err
		},
	}
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	sess, err := c.h.net.Open(ctx, cfg)
	if err != nil {
		c.reply(f, frame{Err: encodeError(err)})
		return
	}
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		_ = sess.Close()
		return
	}
	old := c.sessions[sid]
	c.sessions[sid] = sess
	c.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	raw, _ := json.Marshal(openReply{Linked: sess.Linked(), Self: sess.Self()})
	c.reply(f, frame{Data: raw})
}

func (c *hostConn) call(f frame) {
	c.mu.Lock()
	sess := c.sessions[f.SID]
	c.mu.Unlock()
	if sess == nil {
		c.reply(f, frame{Err: encodeError(fmt.Errorf("%w: session %d is not open", sim.ErrClosed, f.SID))})
		return
	}
	timeout := time.Duration(f.TimeoutMS) * time.Millisecond
	if timeout <= 0 || timeout > 5*time.Minute {
		timeout = defaultCallTimeout
	}
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	results, err := callByName(ctx, sess, f.Method, f.Args)
	if f.Method == "Close" && err == nil {
		c.mu.Lock()
		delete(c.sessions, f.SID)
		c.mu.Unlock()
	}
	c.reply(f, frame{Results: results, Err: encodeError(err)})
}

func (c *hostConn) netCall(f frame) {
	if !networkMethods[f.Method] {
		c.reply(f, frame{Err: encodeError(fmt.Errorf("%w: %s", engine.ErrUnsupported, f.Method))})
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, defaultCallTimeout)
	defer cancel()
	results, err := callByName(ctx, c.h.net, f.Method, f.Args)
	c.reply(f, frame{Results: results, Err: encodeError(err)})
}

// callByName calls a session's method with JSON arguments and returns its
// results as JSON (the error apart).
func callByName(ctx context.Context, sess any, method string, args []json.RawMessage) ([]json.RawMessage, error) {
	m := reflect.ValueOf(sess).MethodByName(method)
	if !m.IsValid() {
		return nil, fmt.Errorf("%w: %s", engine.ErrUnsupported, method)
	}
	mt := m.Type()
	var in []reflect.Value
	if mt.NumIn() > 0 && mt.In(0) == ctxType {
		in = append(in, reflect.ValueOf(ctx))
	}
	if len(in)+len(args) != mt.NumIn() {
		return nil, fmt.Errorf("%w: %s takes %d arguments, got %d", engine.ErrInvalidContent, method, mt.NumIn()-len(in), len(args))
	}
	for i, raw := range args {
		p := reflect.New(mt.In(len(in)))
		if err := json.Unmarshal(raw, p.Interface()); err != nil {
			return nil, fmt.Errorf("%w: %s argument %d: %v", engine.ErrInvalidContent, method, i+1, err)
		}
		in = append(in, p.Elem())
	}
	res := m.Call(in)
	var err error
	if n := len(res); n > 0 && mt.Out(n-1) == errType {
		if e := res[n-1].Interface(); e != nil {
			err = e.(error)
		}
		res = res[:n-1]
	}
	out := make([]json.RawMessage, 0, len(res))
	for _, v := range res {
		raw, merr := json.Marshal(v.Interface())
		if merr != nil {
			return nil, fmt.Errorf("simremote: %s result: %w", method, merr)
		}
		out = append(out, raw)
	}
	return out, err
}
