package whatsmeow

// A fake WhatsApp Web server on loopback, enough to drive the real
// whatsmeow client offline: TLS websocket, the Noise XX handshake with a
// certificate chain under a test root (whatsmeow.WACertPubKey is a variable),
// then encrypted binary nodes both ways. It answers every client IQ with an
// empty result (prekey counts with a count, pairing-code requests with a
// ref, usync queries with existing users, media_conn with one host), lets
// a test answer IQs itself (setIQ), and lets the test push nodes:
// pair-device (QR refs), pair-success, success, failure, stream:error,
// presences, notifications. Its HTTPS side also stands in for WhatsApp's
// media hosts: uploads are kept and can be downloaded again.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.mau.fi/libsignal/ecc"
	wm "go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/proto/waCert"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	"golang.org/x/crypto/curve25519"
	"google.golang.org/protobuf/proto"
)

type fakeWA struct {
	t      *testing.T
	srv    *httptest.Server
	static *keys.KeyPair
	cert   []byte

	conns chan *fakeConn // every handshaken connection, in order

	mu     sync.Mutex
	refuse bool // answer new connections with HTTP 503
	all    []*fakeConn
	iq     func(node *waBinary.Node) (waBinary.Node, bool) // the test's IQ answers
	media  map[string][]byte                               // uploaded files by token
}

// fakeConn is one client connection after the handshake.
type fakeConn struct {
	f       *fakeWA
	ws      *websocket.Conn
	login   bool // client sent a login (not a registration) payload
	payload *waWa6.ClientPayload

	wmu     sync.Mutex
	enc     cipher.AEAD
	wcount  uint32
	dec     cipher.AEAD
	rcount  uint32
	nodes   chan *waBinary.Node // client nodes, after auto-replies
	closed  chan struct{}
	pairRef string
}

// newFakeWA starts the server and points the engine's clients at it.
func newFakeWA(t *testing.T, e *Engine) *fakeWA {
	t.Helper()
	needsSocket(t)
	root := keys.NewKeyPair()
	inter := keys.NewKeyPair()
	f := &fakeWA{t: t, static: keys.NewKeyPair(), conns: make(chan *fakeConn, 16), media: make(map[string][]byte)}
	sign := func(kp *keys.KeyPair, msg []byte) []byte {
		sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*kp.Priv), msg)
		return sig[:]
	}
	interDetails, _ := proto.Marshal(&waCert.CertChain_NoiseCertificate_Details{
		Serial: proto.Uint32(1), IssuerSerial: proto.Uint32(wm.WACertIssuerSerial), Key: inter.Pub[:],
	})
	leafDetails, _ := proto.Marshal(&waCert.CertChain_NoiseCertificate_Details{
		Serial: proto.Uint32(2), IssuerSerial: proto.Uint32(1), Key: f.static.Pub[:],
	})
	f.cert, _ = proto.Marshal(&waCert.CertChain{
		Intermediate: &waCert.CertChain_NoiseCertificate{Details: interDetails, Signature: sign(root, interDetails)},
		Leaf:         &waCert.CertChain_NoiseCertificate{Details: leafDetails, Signature: sign(inter, leafDetails)},
	})
	old := wm.WACertPubKey
	wm.WACertPubKey = *root.Pub

	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.StartTLS()
	addr := f.srv.Listener.Addr().String()
	base := f.srv.Client().Transport.(*http.Transport)
	e.opts.ClientHook = func(cli *wm.Client) {
		tr := base.Clone()
		tr.TLSClientConfig.ServerName = "example.com" // httptest's certificate
		tr.Proxy = nil
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
		hc := &http.Client{Transport: tr}
		cli.SetPreLoginHTTPClient(hc)
		cli.SetWebsocketHTTPClient(hc)
		cli.SetMediaHTTPClient(hc)
	}
	t.Cleanup(func() {
		e.opts.ClientHook = nil
		f.mu.Lock()
		for _, c := range f.all {
			c.ws.CloseNow()
		}
		f.mu.Unlock()
		f.srv.CloseClientConnections()
		f.srv.Close()
		wm.WACertPubKey = old
	})
	return f
}

// next waits for the next handshaken connection.
func (f *fakeWA) next(d time.Duration) *fakeConn {
	f.t.Helper()
	select {
	case c := <-f.conns:
		return c
	case <-time.After(d):
		f.t.Fatalf("no client connection within %s", d)
		return nil
	}
}

// setIQ installs the test's IQ answers: answer returns the reply (its id,
// from and, unless set, type "result" are filled in) and true, or false to
// leave the IQ to the defaults.
func (f *fakeWA) setIQ(answer func(node *waBinary.Node) (waBinary.Node, bool)) {
	f.mu.Lock()
	f.iq = answer
	f.mu.Unlock()
}

func (f *fakeWA) iqAnswer(node *waBinary.Node) (waBinary.Node, bool) {
	f.mu.Lock()
	answer := f.iq
	f.mu.Unlock()
	if answer == nil {
		return waBinary.Node{}, false
	}
	return answer(node)
}

// iqError is an IQ error reply.
func iqError(code int, text string) waBinary.Node {
	return waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"type": "error"},
		Content: []waBinary.Node{{Tag: "error", Attrs: waBinary.Attrs{"code": code, "text": text}}}}
}

// iqResult is an IQ result reply.
func iqResult(content ...waBinary.Node) waBinary.Node {
	n := waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{}}
	if len(content) > 0 {
		n.Content = content
	}
	return n
}

func (f *fakeWA) uploaded(token string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, ok := f.media[token]
	return data, ok
}

// serveMedia stands in for the media hosts: POST /mms/<type>/<token>
// uploads, GET /o1/v/t62/<token> downloads. It reports whether it handled
// the request.
func (f *fakeWA) serveMedia(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/mms/"):
		body, err := io.ReadAll(r.Body)
		if err != nil || r.URL.Query().Get("auth") != "fake-auth" {
			http.Error(w, "bad upload", http.StatusBadRequest)
			return true
		}
		token := path.Base(r.URL.Path)
		f.mu.Lock()
		f.media[token] = body
		f.mu.Unlock()
		p := "/o1/v/t62/" + token + "?ccb=9-4"
		_ = json.NewEncoder(w).Encode(map[string]string{"url": "https://mmg.whatsapp.net" + p, "direct_path": p})
		return true
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/o1/v/t62/"):
		data, ok := f.uploaded(path.Base(r.URL.Path))
		if !ok {
			http.NotFound(w, r)
			return true
		}
		_, _ = w.Write(data)
		return true
	}
	return false
}

func (f *fakeWA) serve(w http.ResponseWriter, r *http.Request) {
	if f.serveMedia(w, r) {
		return
	}
	f.mu.Lock()
	refuse := f.refuse
	f.mu.Unlock()
	if refuse {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(socket.FrameMaxSize)
	ctx := context.Background()
	c := &fakeConn{f: f, ws: ws, nodes: make(chan *waBinary.Node, 64), closed: make(chan struct{})}
	f.mu.Lock()
	f.all = append(f.all, c)
	f.mu.Unlock()
	defer close(c.closed)
	fr := &frameReader{ws: ws}
	if err := c.handshake(ctx, fr, f); err != nil {
		ws.CloseNow()
		return
	}
	f.conns <- c
	for {
		frame, err := fr.next(ctx)
		if err != nil {
			return
		}
		plain, err := c.dec.Open(nil, iv(c.rcount), frame, nil)
		c.rcount++
		if err != nil {
			return
		}
		data, err := waBinary.Unpack(plain)
		if err != nil {
			return
		}
		node, err := waBinary.Unmarshal(data)
		if err != nil {
			return
		}
		c.autoReply(node)
		select {
		case c.nodes <- node:
		default:
		}
	}
}

// frameReader splits websocket messages into WhatsApp frames (3-byte length
// prefix); the first client message starts with the "WA" header.
type frameReader struct {
	ws     *websocket.Conn
	buf    []byte
	header bool
}

func (fr *frameReader) next(ctx context.Context) ([]byte, error) {
	for {
		if !fr.header && len(fr.buf) >= len(socket.WAConnHeader) {
			if string(fr.buf[:2]) != "WA" {
				return nil, errors.New("no WA header")
			}
			fr.buf = fr.buf[len(socket.WAConnHeader):]
			fr.header = true
		}
		if fr.header && len(fr.buf) >= 3 {
			n := int(fr.buf[0])<<16 | int(fr.buf[1])<<8 | int(fr.buf[2])
			if len(fr.buf) >= 3+n {
				frame := append([]byte(nil), fr.buf[3:3+n]...)
				fr.buf = fr.buf[3+n:]
				return frame, nil
			}
		}
		_, data, err := fr.ws.Read(ctx)
		if err != nil {
			return nil, err
		}
		fr.buf = append(fr.buf, data...)
	}
}

// noise is the responder side of Noise_XX_25519_AESGCM_SHA256 as WhatsApp
// uses it (socket.NoiseHandshake is the initiator's).
type noise struct {
	hash, salt []byte
	key        cipher.AEAD
	counter    uint32
}

func newGCM(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return g
}

func iv(n uint32) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint32(b[8:], n)
	return b
}

func (n *noise) start(header []byte) {
	n.hash = []byte(socket.NoiseStartPattern)
	n.salt = n.hash
	n.key = newGCM(n.hash)
	n.auth(header)
}

func (n *noise) auth(data []byte) {
	h := sha256.Sum256(append(append([]byte(nil), n.hash...), data...))
	n.hash = h[:]
}

func (n *noise) split(data []byte) (write, read []byte) {
	k, err := hkdf.Key(sha256.New, data, n.salt, "", 64)
	if err != nil {
		panic(err)
	}
	return k[:32], k[32:]
}

func (n *noise) mix(priv, pub *[32]byte) {
	secret, err := curve25519.X25519(priv[:], pub[:])
	if err != nil {
		panic(err)
	}
	n.counter = 0
	write, read := n.split(secret)
	n.salt = write
	n.key = newGCM(read)
}

func (n *noise) encrypt(p []byte) []byte {
	c := n.key.Seal(nil, iv(n.counter), p, n.hash)
	n.counter++
	n.auth(c)
	return c
}

func (n *noise) decrypt(c []byte) ([]byte, error) {
	p, err := n.key.Open(nil, iv(n.counter), c, n.hash)
	n.counter++
	if err == nil {
		n.auth(c)
	}
	return p, err
}

func (c *fakeConn) handshake(ctx context.Context, fr *frameReader, f *fakeWA) error {
	first, err := fr.next(ctx)
	if err != nil {
		return err
	}
	var hello waWa6.HandshakeMessage
	if err := proto.Unmarshal(first, &hello); err != nil || len(hello.GetClientHello().GetEphemeral()) != 32 {
		return fmt.Errorf("bad client hello: %v", err)
	}
	clientEph := (*[32]byte)(hello.GetClientHello().GetEphemeral())
	var n noise
	n.start(socket.WAConnHeader)
	n.auth(clientEph[:])
	eph := keys.NewKeyPair()
	n.auth(eph.Pub[:])
	n.mix(eph.Priv, clientEph)
	static := n.encrypt(f.static.Pub[:])
	n.mix(f.static.Priv, clientEph)
	cert := n.encrypt(f.cert)
	resp, _ := proto.Marshal(&waWa6.HandshakeMessage{ServerHello: &waWa6.HandshakeMessage_ServerHello{
		Ephemeral: eph.Pub[:], Static: static, Payload: cert,
	}})
	if err := c.writeFrame(ctx, resp); err != nil {
		return err
	}
	finishRaw, err := fr.next(ctx)
	if err != nil {
		return err
	}
	var finish waWa6.HandshakeMessage
	if err := proto.Unmarshal(finishRaw, &finish); err != nil {
		return err
	}
	clientStatic, err := n.decrypt(finish.GetClientFinish().GetStatic())
	if err != nil || len(clientStatic) != 32 {
		return fmt.Errorf("client static: %v", err)
	}
	n.mix(eph.Priv, (*[32]byte)(clientStatic))
	payloadRaw, err := n.decrypt(finish.GetClientFinish().GetPayload())
	if err != nil {
		return fmt.Errorf("client payload: %v", err)
	}
	c.payload = &waWa6.ClientPayload{}
	if err := proto.Unmarshal(payloadRaw, c.payload); err != nil {
		return err
	}
	c.login = c.payload.Username != nil
	write, read := n.split(nil)
	c.dec = newGCM(write) // the client writes with "write"
	c.enc = newGCM(read)
	return nil
}

func (c *fakeConn) writeFrame(ctx context.Context, data []byte) error {
	frame := make([]byte, 3+len(data))
	frame[0], frame[1], frame[2] = byte(len(data)>>16), byte(len(data)>>8), byte(len(data))
	copy(frame[3:], data)
	return c.ws.Write(ctx, websocket.MessageBinary, frame)
}

// send encrypts and sends a node to the client.
func (c *fakeConn) send(node waBinary.Node) error {
	data, err := waBinary.Marshal(node)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ct := c.enc.Seal(nil, iv(c.wcount), data, nil)
	c.wcount++
	return c.writeFrame(context.Background(), ct)
}

// autoReply answers client IQs so nothing waits for whatsmeow's 75 s timeout.
func (c *fakeConn) autoReply(node *waBinary.Node) {
	if node.Tag == "message" {
		// The server acknowledges every message it accepts.
		id, _ := node.Attrs["id"].(string)
		_ = c.send(waBinary.Node{Tag: "ack", Attrs: waBinary.Attrs{
			"class": "message", "id": id, "t": time.Now().Unix(), "from": node.Attrs["to"],
		}})
		return
	}
	if node.Tag != "iq" {
		return
	}
	typ, _ := node.Attrs["type"].(string)
	id, _ := node.Attrs["id"].(string)
	if (typ != "get" && typ != "set") || id == "" {
		return
	}
	if resp, ok := c.f.iqAnswer(node); ok {
		if resp.Attrs == nil {
			resp.Attrs = waBinary.Attrs{}
		}
		resp.Attrs["id"] = id
		if resp.Attrs["type"] == nil {
			resp.Attrs["type"] = "result"
		}
		if resp.Attrs["from"] == nil {
			resp.Attrs["from"] = node.Attrs["to"]
		}
		_ = c.send(resp)
		return
	}
	resp := waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"id": id, "type": "result", "from": types.ServerJID}}
	children := node.GetChildren()
	if len(children) > 0 {
		switch children[0].Tag {
		case "media_conn":
			resp.Content = []waBinary.Node{{Tag: "media_conn", Attrs: waBinary.Attrs{
				"auth": "fake-auth", "ttl": 300, "auth_ttl": 3600, "max_buckets": 12,
			}, Content: []waBinary.Node{{Tag: "host", Attrs: waBinary.Attrs{"hostname": "mmg.whatsapp.net"}}}}}
		case "count":
			resp.Content = []waBinary.Node{{Tag: "count", Attrs: waBinary.Attrs{"value": 100}}}
		case "usync":
			// Every queried user exists, with an about text and no devices;
			// numbers queried by phone exist unless they end in 0000.
			var users []waBinary.Node
			list := children[0].GetChildByTag("list")
			for _, u := range list.GetChildren() {
				if q := contentString(u.GetChildByTag("contact").Content); q != "" && u.Attrs["jid"] == nil {
					phone := strings.TrimPrefix(strings.TrimSuffix(q, "@"+types.LegacyUserServer), "+")
					in := "in"
					if strings.HasSuffix(phone, "0000") {
						in = "out"
					}
					users = append(users, waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": types.NewJID(phone, types.DefaultUserServer)}, Content: []waBinary.Node{
						{Tag: "contact", Attrs: waBinary.Attrs{"type": in}, Content: []byte(q)},
					}})
					continue
				}
				users = append(users, waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": u.Attrs["jid"]}, Content: []waBinary.Node{
					{Tag: "status", Content: []byte(fakeAbout)},
					{Tag: "picture", Attrs: waBinary.Attrs{"id": "1"}},
					{Tag: "devices", Content: []waBinary.Node{{Tag: "device-list"}}},
					{Tag: "contact", Attrs: waBinary.Attrs{"type": "in"}},
				}})
			}
			resp.Content = []waBinary.Node{{Tag: "usync", Content: []waBinary.Node{{Tag: "list", Content: users}}}}
		case "picture":
			resp.Content = []waBinary.Node{{Tag: "picture", Attrs: waBinary.Attrs{
				"id": "1", "url": fakePicture, "type": "image", "direct_path": "/v/pic",
			}}}
		case "link_code_companion_reg":
			c.pairRef = "fake-pairing-ref"
			resp.Content = []waBinary.Node{{Tag: "link_code_companion_reg", Content: []waBinary.Node{
				{Tag: "link_code_pairing_ref", Content: []byte(c.pairRef)},
			}}}
		}
	}
	_ = c.send(resp)
}

// contentString is a node's content as text, however the binary decoder
// returned it.
func contentString(c any) string {
	switch v := c.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case types.JID:
		return v.String()
	}
	return ""
}

const (
	fakeAbout   = "Hello from the fake server"
	fakePicture = "https://pps.example/pic.jpg"
)

// waitNode waits for a client node with the given tag whose first child has
// the given tag ("" for any).
func (c *fakeConn) waitNode(t *testing.T, tag, child string, d time.Duration) *waBinary.Node {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case n := <-c.nodes:
			if n.Tag == tag && (child == "" || len(n.GetChildren()) > 0 && n.GetChildren()[0].Tag == child) {
				return n
			}
		case <-deadline:
			t.Fatalf("no <%s><%s> from the client within %s", tag, child, d)
			return nil
		}
	}
}

func pairDeviceNode(refs ...string) waBinary.Node {
	var children []waBinary.Node
	for _, r := range refs {
		children = append(children, waBinary.Node{Tag: "ref", Content: []byte(r)})
	}
	return waBinary.Node{
		Tag:     "iq",
		Attrs:   waBinary.Attrs{"from": types.ServerJID, "type": "set", "id": "pair-1"},
		Content: []waBinary.Node{{Tag: "pair-device", Content: children}},
	}
}

// pairSuccessNode is what the server sends once a phone scanned qr: a
// device identity signed by a made-up phone key for the companion's identity
// key and HMAC'd with its adv secret, both taken from the QR code.
func pairSuccessNode(t *testing.T, qr string, device, lid types.JID) waBinary.Node {
	t.Helper()
	parts := strings.Split(qr, ",")
	if len(parts) != 4 {
		t.Fatalf("QR code %q has %d parts", qr, len(parts))
	}
	identity, err1 := base64.StdEncoding.DecodeString(parts[2])
	adv, err2 := base64.StdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(identity) != 32 {
		t.Fatalf("QR code parts: %v %v", err1, err2)
	}
	phone := keys.NewKeyPair()
	details, _ := proto.Marshal(&waAdv.ADVDeviceIdentity{
		RawID: proto.Uint32(1), Timestamp: proto.Uint64(uint64(time.Now().Unix())), KeyIndex: proto.Uint32(1),
	})
	msg := append(append(append([]byte(nil), wm.AdvAccountSignaturePrefix...), details...), identity...)
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*phone.Priv), msg)
	signed, _ := proto.Marshal(&waAdv.ADVSignedDeviceIdentity{
		Details: details, AccountSignatureKey: phone.Pub[:], AccountSignature: sig[:],
	})
	mac := hmac.New(sha256.New, adv)
	mac.Write(signed)
	container, _ := proto.Marshal(&waAdv.ADVSignedDeviceIdentityHMAC{Details: signed, HMAC: mac.Sum(nil)})
	return waBinary.Node{
		Tag:   "iq",
		Attrs: waBinary.Attrs{"from": types.ServerJID, "type": "set", "id": "pair-2"},
		Content: []waBinary.Node{{Tag: "pair-success", Content: []waBinary.Node{
			{Tag: "device-identity", Content: container},
			{Tag: "platform", Attrs: waBinary.Attrs{"name": "android"}},
			{Tag: "device", Attrs: waBinary.Attrs{"jid": device, "lid": lid}},
			{Tag: "biz", Attrs: waBinary.Attrs{"name": "Acme"}},
		}}},
	}
}

func successNode() waBinary.Node {
	return waBinary.Node{Tag: "success", Attrs: waBinary.Attrs{"t": time.Now().Unix(), "props": "1", "abprops": "1", "location": "fake"}}
}

func streamError(code, conflict string) waBinary.Node {
	n := waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{}}
	if code != "" {
		n.Attrs["code"] = code
	}
	if conflict != "" {
		n.Content = []waBinary.Node{{Tag: "conflict", Attrs: waBinary.Attrs{"type": conflict}}}
	}
	return n
}
