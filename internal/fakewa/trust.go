package fakewa

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"

	"go.mau.fi/libsignal/ecc"
	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCert"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"
)

// The process's test identity: the Noise certificate root whatsmeow is made
// to trust (whatsmeow.WACertPubKey) and a TLS CA with one leaf certificate.
// Both are generated the first time a server starts in this process; nothing
// outside this package can reach them, and whatsmeow is only changed by
// Trust (Start calls it), so code that never imports fakewa keeps WhatsApp's
// real root.

// tlsName is the server name clients verify, whatever host they ask for.
const tlsName = "fakewa.test"

type testIdentity struct {
	root    *keys.KeyPair
	caPEM   []byte
	tlsCert tls.Certificate
}

var processIdentity = sync.OnceValue(func() *testIdentity {
	id, err := newIdentity()
	if err != nil {
		panic(fmt.Sprintf("fakewa: test identity: %v", err)) // crypto/rand failed
	}
	return id
})

func newIdentity() (*testIdentity, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fakewa test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: tlsName},
		DNSNames: []string{tlsName, "localhost", "web.whatsapp.com", "*.whatsapp.com",
			"*.whatsapp.net", "*.cdn.whatsapp.net"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	return &testIdentity{
		root:    keys.NewKeyPair(),
		caPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tlsCert: tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey},
	}, nil
}

// noiseChain is a Noise certificate chain for a server's static key: an
// intermediate signed by the process root, then the leaf.
func (id *testIdentity) noiseChain(static *keys.KeyPair) []byte {
	inter := keys.NewKeyPair()
	sign := func(kp *keys.KeyPair, msg []byte) []byte {
		sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*kp.Priv), msg)
		return sig[:]
	}
	interDetails, _ := proto.Marshal(&waCert.CertChain_NoiseCertificate_Details{
		Serial: proto.Uint32(1), IssuerSerial: proto.Uint32(wm.WACertIssuerSerial), Key: inter.Pub[:],
	})
	leafDetails, _ := proto.Marshal(&waCert.CertChain_NoiseCertificate_Details{
		Serial: proto.Uint32(2), IssuerSerial: proto.Uint32(1), Key: static.Pub[:],
	})
	chain, _ := proto.Marshal(&waCert.CertChain{
		Intermediate: &waCert.CertChain_NoiseCertificate{Details: interDetails, Signature: sign(id.root, interDetails)},
		Leaf:         &waCert.CertChain_NoiseCertificate{Details: leafDetails, Signature: sign(inter, leafDetails)},
	})
	return chain
}

var trust struct {
	mu  sync.Mutex
	set bool
	key [32]byte
}

// ErrOtherRoot is returned by Trust when whatsmeow already trusts another
// fake root in this process.
var ErrOtherRoot = errors.New("fakewa: whatsmeow already trusts another test root in this process")

// Trust makes whatsmeow trust the Noise certificate root root, by setting
// whatsmeow.WACertPubKey. It does so once per process: calling it again
// with the same key is a no-op (so several servers of one process share the
// root), and with another key fails with ErrOtherRoot. Call it before any
// whatsmeow client of the process connects; Start and Attach do.
func Trust(root [32]byte) error {
	trust.mu.Lock()
	defer trust.mu.Unlock()
	if trust.set {
		if trust.key != root {
			return ErrOtherRoot
		}
		return nil
	}
	wm.WACertPubKey = root
	trust.key, trust.set = root, true
	return nil
}

// Install makes whatsmeow trust this process's test root (the one every
// in-process server's certificate chains up to). It is Trust for that key.
func Install() error {
	return Trust(*processIdentity().root.Pub)
}

// Endpoint is what a client needs to reach and trust a fake server: its
// address, its Noise certificate root and its TLS CA certificate (PEM). An
// in-process server gives its own (Server.Endpoint); a server in a child
// process prints it (ServeProcess), and the parent Attaches to it.
type Endpoint struct {
	Addr    string   `json:"addr"`
	RootKey [32]byte `json:"root_key"`
	CAPEM   []byte   `json:"ca_pem"`
}

// Remote is a trusted way to a fake server: HTTP clients that reach it
// whatever host they ask for and a hook for whatsmeow clients.
type Remote struct {
	ep        Endpoint
	transport *http.Transport
}

// Attach trusts e's root (see Trust) and CA and returns the way to it.
func Attach(e Endpoint) (*Remote, error) {
	if err := Trust(e.RootKey); err != nil {
		return nil, err
	}
	return newRemote(e)
}

// newRemote trusts e's CA only: enough for HTTP, not for whatsmeow.
func newRemote(e Endpoint) (*Remote, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(e.CAPEM) {
		return nil, errors.New("fakewa: no CA certificate in endpoint")
	}
	addr := e.Addr
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: pool, ServerName: tlsName, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Remote{ep: e, transport: tr}, nil
}

// Endpoint is the endpoint r reaches.
func (r *Remote) Endpoint() Endpoint { return r.ep }

// HTTPClient returns a new HTTP client that sends every request, for any
// https:// host (web.whatsapp.com, media hosts...), to the fake server.
// All of them share one transport.
func (r *Remote) HTTPClient() *http.Client { return &http.Client{Transport: r.transport} }

// Configure points a whatsmeow client at the fake server: its pre-login,
// websocket and media HTTP clients become HTTPClients (so a proxy set on it
// before is dropped). Call it before Connect. Each client gets HTTP clients
// of its own (whatsmeow's SetProxy replaces their transport in place) over
// one shared transport, which keeps 10,000 clients cheap.
func (r *Remote) Configure(cli *wm.Client) {
	cli.SetPreLoginHTTPClient(r.HTTPClient())
	cli.SetWebsocketHTTPClient(r.HTTPClient())
	cli.SetMediaHTTPClient(r.HTTPClient())
}
