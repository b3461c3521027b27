// Package fakewa is a fake WhatsApp Web server on loopback that the real
// whatsmeow client cannot tell from WhatsApp, for tests and benchmarks.
//
// It speaks TLS websocket, the Noise XX handshake (with a certificate chain
// under a test root whatsmeow is made to trust, see Trust) and binary
// nodes both ways. Around that it plays WhatsApp's servers and the people
// on them:
//
//   - accounts (phone numbers) with linked devices, paired by QR code or
//     pairing code, recognised again when they log in later, with the
//     Signal keys they registered;
//   - peers (contacts) that hold real Signal sessions with linked devices:
//     they send end-to-end encrypted messages and decrypt what clients send
//     them, and answer or ask for retries as a real sender does;
//   - an offline queue: what the server sends a device stays pending until
//     the client acknowledges it and is delivered again on its next
//     connection;
//   - failures on demand (Faults): outdated clients, stream errors, bans,
//     logouts, replaced streams, silent keepalives, rejected sends, refused
//     and dropped connections;
//   - the media hosts and web.whatsapp.com's version page.
//
// A Server runs in the test's process (Start), or in a child process for
// wagate bench (ServeProcess, StartChild). Everything is safe for
// concurrent use. The package changes whatsmeow's global certificate root
// only when told to (Trust, Install; Start and Attach call them), so code
// that does not import it talks to the real WhatsApp.
package fakewa

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	wm "go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
)

// Options configure a Server. The zero value is a good default.
type Options struct {
	// Logger receives the server's diagnostics; nil discards them.
	Logger *slog.Logger
	// Addr is the address to listen on; "" is 127.0.0.1:0.
	Addr string
	// LatestVersion is the client_revision web.whatsapp.com announces (the
	// third part of 2.3000.x); 0 is whatsmeow's built-in one.
	LatestVersion uint32
	// QRRefs is how many QR refs a pair-device carries; 0 is 6.
	QRRefs int
	// RejectUnknownDevices answers a login from a device this server never
	// linked with <failure reason="401"/>. By default such a device is
	// linked on its first login, so tests may create devices in the store
	// directly; its keys arrive with its first prekey upload.
	RejectUnknownDevices bool
	// AutoLinkPreKeys is the prekey count the server reports for a device
	// it linked on its first login (made directly in a client's store)
	// until the client uploads keys, so that many such clients do not all
	// generate and upload prekeys (benchmarks). Peers cannot start sessions
	// with such a device until it uploads real ones. 0: the truth (none).
	AutoLinkPreKeys int
	// MaxPreKeys caps the one-time prekeys kept per device (the prekey count
	// answer reports what is kept); 0 keeps all (812 per fresh device).
	MaxPreKeys int
	// KeepNodes is how many client nodes each Conn keeps for Nodes and
	// WaitNode; 0 is 128, negative keeps none. Keepalive pings are never kept.
	KeepNodes int
	// CloseGrace is how long the server lets a client read a failure or
	// stream error before it closes the socket; 0 is 500 ms.
	CloseGrace time.Duration
	// WriteTimeout bounds each write to a client; 0 is 10 s.
	WriteTimeout time.Duration
}

// Server is a fake WhatsApp server: the websocket endpoint, the media hosts
// and web.whatsapp.com, all on one loopback TLS listener. Its embedded
// Faults apply to every connection.
type Server struct {
	Faults

	opts   Options
	log    *slog.Logger
	remote *Remote
	ln     net.Listener
	hs     *http.Server
	static *keys.KeyPair
	chain  []byte
	wg     sync.WaitGroup // the listener's and the sockets' goroutines
	ids    atomic.Uint64
	events signal // any state change, for the Wait* methods

	mu       sync.Mutex
	accounts map[string]*Account // by phone
	lids     map[string]*Account // by LID user
	peers    map[string]*Peer    // by phone
	peerLIDs map[string]*Peer    // by LID user
	absent   map[string]bool     // phones that are not on WhatsApp
	live     map[*Conn]struct{}
	conns    []*Conn // handshaken connections, oldest first, capped
	connBase int     // absolute index of conns[0]
	cursor   int     // NextConn's absolute position
	attempts []Attempt
	qrRefs   map[string]*Conn // pair-device refs of open registrations
	codeRegs map[string]*codeRegistration
	refuse   bool
	closing  bool
	sockets  map[*websocket.Conn]struct{} // every upgraded socket, handshaken or not
	latest   uint32
	iqHook   IQHandler
	media    map[string]*mediaFile
	stats    Stats
	extras   extras // media retries and calls (mediaretry.go, calls.go)
}

const (
	maxConnHistory    = 4096
	maxAttemptHistory = 1 << 16
)

// IQHandler answers a client IQ before the server does: it returns the
// answer (id, from and, unless set, type "result" are filled in) and true,
// or false to leave the IQ to the server.
type IQHandler func(c *Conn, iq *waBinary.Node) (waBinary.Node, bool)

// Attempt is one connection attempt.
type Attempt struct {
	Time time.Time
	// Device is the device that logged in; empty for refused connections,
	// failed handshakes and registrations.
	Device types.JID
	// Result is "refused" (HTTP 503), "handshake failed", "registration",
	// "login", "unknown device" or the fault played ("failure:405", ...).
	Result string
}

// Stats are the server's counters.
type Stats struct {
	Attempts  int // connection attempts, refused ones included
	Logins    int // logins answered with <success>
	Open      int // open connections
	Online    int // devices logged in now
	Delivered int // stanzas written to devices (redeliveries included)
	Received  int // nodes received from clients
	// Replaced counts logins that took a device over from another open
	// connection (the old one got "stream replaced"): two clients ran the
	// same device.
	Replaced int
	// Of the whole process, after a garbage collection: the goroutines and
	// the live heap (clients included when they share the process).
	Goroutines int
	HeapBytes  uint64
}

// Start starts a server on loopback and makes whatsmeow trust it (Install).
func Start(opts Options) (*Server, error) {
	if err := Install(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.QRRefs <= 0 {
		opts.QRRefs = 6
	}
	if opts.KeepNodes == 0 {
		opts.KeepNodes = 128
	}
	if opts.CloseGrace <= 0 {
		opts.CloseGrace = 500 * time.Millisecond
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.LatestVersion == 0 {
		opts.LatestVersion = store.GetWAVersion()[2]
	}
	id := processIdentity()
	s := &Server{
		opts: opts, log: opts.Logger, static: keys.NewKeyPair(), latest: opts.LatestVersion,
		accounts: map[string]*Account{}, lids: map[string]*Account{},
		peers: map[string]*Peer{}, peerLIDs: map[string]*Peer{}, absent: map[string]bool{},
		live: map[*Conn]struct{}{}, qrRefs: map[string]*Conn{}, codeRegs: map[string]*codeRegistration{},
		media: map[string]*mediaFile{}, sockets: map[*websocket.Conn]struct{}{},
	}
	s.chain = id.noiseChain(s.static)
	s.Faults.live = s.liveConns
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("fakewa: listen: %w", err)
	}
	s.ln = ln
	s.hs = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{id.tlsCert}, MinVersion: tls.VersionTLS12},
		// HTTP/1.1 only: websockets need it, and it keeps connections lean.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	s.remote, err = Attach(s.Endpoint())
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.hs.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("fakewa: serve", slog.Any("error", err))
		}
	}()
	return s, nil
}

// Close stops the server: it closes the listener and every connection and
// waits for their goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	sockets := make([]*websocket.Conn, 0, len(s.sockets))
	for ws := range s.sockets {
		sockets = append(sockets, ws)
	}
	s.mu.Unlock()
	err := s.hs.Close() // the listener and connections not yet upgraded
	for _, ws := range sockets {
		ws.CloseNow()
	}
	for _, c := range s.liveConns() {
		c.Close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.log.Warn("fakewa: connections still running after Close")
	}
	s.events.notify()
	return err
}

// Addr is the server's listening address (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Endpoint is what a client needs to reach and trust the server.
func (s *Server) Endpoint() Endpoint {
	id := processIdentity()
	return Endpoint{Addr: s.Addr(), RootKey: *id.root.Pub, CAPEM: id.caPEM}
}

// Configure points a whatsmeow client at the server (see Remote.Configure).
// It has the shape of a client hook: func(*whatsmeow.Client).
func (s *Server) Configure(cli *wm.Client) { s.remote.Configure(cli) }

// HTTPClient returns an HTTP client that sends every https:// request, for
// any host, to the server (for whatsmeow.GetLatestVersion, say).
func (s *Server) HTTPClient() *http.Client { return s.remote.HTTPClient() }

// SetLatestVersion sets the client_revision web.whatsapp.com announces.
func (s *Server) SetLatestVersion(rev uint32) {
	s.mu.Lock()
	s.latest = rev
	s.mu.Unlock()
}

// Refuse makes the server answer new websocket connections with HTTP 503
// (true) or accept them again (false).
func (s *Server) Refuse(on bool) {
	s.mu.Lock()
	s.refuse = on
	s.mu.Unlock()
}

// HandleIQ installs h to answer client IQs before the server does; nil
// removes it.
func (s *Server) HandleIQ(h IQHandler) {
	s.mu.Lock()
	s.iqHook = h
	s.mu.Unlock()
}

// NotOnWhatsApp marks phone numbers as not registered: usync contact
// queries answer "out" for them. Every other number is on WhatsApp.
func (s *Server) NotOnWhatsApp(phones ...string) {
	s.mu.Lock()
	for _, p := range phones {
		s.absent[strings.TrimPrefix(p, "+")] = true
	}
	s.mu.Unlock()
}

// Stats returns the server's counters. It runs a garbage collection to
// measure the heap.
func (s *Server) Stats() Stats {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Goroutines, st.HeapBytes = runtime.NumGoroutine(), ms.HeapAlloc
	st.Open = len(s.live)
	for c := range s.live {
		if c.isOnline() {
			st.Online++
		}
	}
	return st
}

// Attempts returns the connection attempts since the server started
// (the most recent 65,536), oldest first.
func (s *Server) Attempts() []Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Attempt(nil), s.attempts...)
}

// NextConn waits for the next connection to finish its handshake, in
// arrival order: each call returns the one after the connection the
// previous call returned (the first call returns the first connection).
func (s *Server) NextConn(ctx context.Context) (*Conn, error) {
	var c *Conn
	err := s.wait(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.cursor < s.connBase {
			s.cursor = s.connBase
		}
		if s.cursor-s.connBase < len(s.conns) {
			c = s.conns[s.cursor-s.connBase]
			s.cursor++
			return true
		}
		return false
	})
	return c, err
}

// Conns returns the open connections.
func (s *Server) Conns() []*Conn { return s.liveConns() }

func (s *Server) liveConns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Conn, 0, len(s.live))
	for c := range s.live {
		out = append(out, c)
	}
	return out
}

// newID is a fresh stanza id.
func (s *Server) newID() string {
	return fmt.Sprintf("FAKE%012X", s.ids.Add(1))
}

// messageID is a fresh message id in WhatsApp's format.
func messageID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "3EB0" + strings.ToUpper(hex.EncodeToString(b[:]))
}

func (s *Server) attempt(a Attempt) {
	s.mu.Lock()
	if len(s.attempts) >= maxAttemptHistory {
		s.attempts = append(s.attempts[:0], s.attempts[len(s.attempts)/2:]...)
	}
	s.attempts = append(s.attempts, a)
	s.stats.Attempts++
	s.mu.Unlock()
	s.events.notify()
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/ws/chat":
		s.serveSocket(w, r)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/mms/"):
		s.serveUpload(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/":
		s.serveWebPage(w)
	case r.Method == http.MethodGet:
		s.serveDownload(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	refuse := s.refuse || s.closing
	s.mu.Unlock()
	if refuse {
		s.attempt(Attempt{Time: time.Now(), Result: "refused"})
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // whatsmeow's Origin is web.whatsapp.com
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return
	}
	ws.SetReadLimit(socket.FrameMaxSize)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ws.CloseNow()
		return
	}
	s.sockets[ws] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sockets, ws)
		s.mu.Unlock()
		s.wg.Done()
	}()
	serveConn(s, ws)
}

// track registers a handshaken connection (open until untrack).
func (s *Server) track(c *Conn) {
	s.mu.Lock()
	s.live[c] = struct{}{}
	if len(s.conns) >= maxConnHistory {
		drop := len(s.conns) / 2
		s.conns = append(s.conns[:0], s.conns[drop:]...)
		s.connBase += drop
	}
	s.conns = append(s.conns, c)
	s.mu.Unlock()
	s.events.notify()
}

func (s *Server) untrack(c *Conn) {
	s.mu.Lock()
	delete(s.live, c)
	for ref, rc := range s.qrRefs {
		if rc == c {
			delete(s.qrRefs, ref)
		}
	}
	for phone, reg := range s.codeRegs {
		if reg.conn == c {
			delete(s.codeRegs, phone)
		}
	}
	s.mu.Unlock()
	s.events.notify()
}

// wait calls cond until it is true, again after every state change, or
// until ctx ends.
func (s *Server) wait(ctx context.Context, cond func() bool) error {
	for {
		ch := s.events.c()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// signal is a broadcast: c returns a channel closed by the next notify.
// Channels are only made when someone waits, so an idle server with 10,000
// clients allocates nothing on its state changes.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (g *signal) c() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
	return g.ch
}

func (g *signal) notify() {
	g.mu.Lock()
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
	g.mu.Unlock()
}
