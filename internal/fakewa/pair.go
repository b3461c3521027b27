package fakewa

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mau.fi/libsignal/ecc"
	wm "go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	"golang.org/x/crypto/curve25519"
	"google.golang.org/protobuf/proto"
)

// Linking a new device. An unlinked client registers: the server sends
// pair-device with QR refs and the client shows QR codes (ref, Noise key,
// identity key, adv secret). A phone scans one (Account.ScanQR): the
// server sends pair-success with a device identity the account's key
// signed and the adv secret authenticated; the client answers
// pair-device-sign, the server ends the stream with 515 and the client
// logs in as the new device. With a pairing code (Account.EnterCode) the
// phone and the client first agree on the adv secret through the code
// (link_code_companion_reg), then the same pair-success follows.

// register answers a registration: a fault, or pair-device with QR refs.
func (c *Conn) register() {
	s := c.srv
	if f, ok := c.chain().connectFault(c.payload); ok {
		s.attempt(Attempt{Time: c.started, Result: f.String()})
		c.play(f, true)
		return
	}
	s.attempt(Attempt{Time: c.started, Result: "registration"})
	refs := make([]waBinary.Node, s.opts.QRRefs)
	s.mu.Lock()
	for i := range refs {
		ref := randomRef()
		s.qrRefs[ref] = c
		refs[i] = waBinary.Node{Tag: "ref", Content: []byte(ref)}
	}
	s.mu.Unlock()
	_ = c.Send(waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{
		"from": types.ServerJID, "type": "set", "id": s.newID(),
	}, Content: []waBinary.Node{{Tag: "pair-device", Content: refs}}})
}

func randomRef() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return "2@" + base64.StdEncoding.EncodeToString(b[:])
}

// ErrUnknownQR is returned by ScanQR for a code no open registration shows.
var ErrUnknownQR = errors.New("fakewa: no open registration shows this QR code")

// ScanQR is the account's phone scanning a QR code the client showed
// (events.QR): the registration it belongs to becomes the account's next
// device. ScanQR returns once the client confirmed the pairing; the server
// then restarts the stream (515) and the client logs in as the device.
func (a *Account) ScanQR(ctx context.Context, code string) (*Device, error) {
	parts := strings.Split(code, ",")
	if len(parts) != 4 {
		return nil, fmt.Errorf("fakewa: QR code has %d parts, want 4", len(parts))
	}
	noiseKey, err1 := base64.StdEncoding.DecodeString(parts[1])
	identity, err2 := base64.StdEncoding.DecodeString(parts[2])
	adv, err3 := base64.StdEncoding.DecodeString(parts[3])
	if err := errors.Join(err1, err2, err3); err != nil || len(identity) != 32 || len(noiseKey) != 32 {
		return nil, fmt.Errorf("fakewa: bad QR code: %v", err)
	}
	s := a.srv
	s.mu.Lock()
	c := s.qrRefs[parts[0]]
	s.mu.Unlock()
	if c == nil || c.static != [32]byte(noiseKey) {
		return nil, ErrUnknownQR
	}
	return a.pair(ctx, c, [32]byte(identity), adv)
}

// pair links a registration as the account's next device: pair-success,
// the client's pair-device-sign, then 515.
func (a *Account) pair(ctx context.Context, c *Conn, identity [32]byte, advSecret []byte) (*Device, error) {
	s := a.srv
	d := a.newDevice()
	reg := c.payload.GetDevicePairingData()
	d.mu.Lock()
	d.linked, d.noiseKey = true, c.static
	if r, sk := reg.GetERegid(), reg.GetESkeyID(); len(r) == 4 && len(sk) == 3 &&
		len(reg.GetEIdent()) == 32 && len(reg.GetESkeyVal()) == 32 && len(reg.GetESkeySig()) == 64 {
		d.keys = deviceKeys{known: true, regID: binary.BigEndian.Uint32(r),
			identity: [32]byte(reg.GetEIdent()), signedID: uint32(sk[0])<<16 | uint32(sk[1])<<8 | uint32(sk[2]),
			signedPub: [32]byte(reg.GetESkeyVal()), signedSig: [64]byte(reg.GetESkeySig())}
	}
	d.mu.Unlock()
	s.forgetSessions(d)

	a.mu.Lock()
	business := a.business
	a.mu.Unlock()
	resp, err := c.request(ctx, waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"from": types.ServerJID, "type": "set"},
		Content: []waBinary.Node{{Tag: "pair-success", Content: []waBinary.Node{
			{Tag: "device-identity", Content: a.deviceIdentity(d, identity, advSecret)},
			{Tag: "platform", Attrs: waBinary.Attrs{"name": "android"}},
			{Tag: "device", Attrs: waBinary.Attrs{"jid": d.JID(), "lid": d.LID()}},
			{Tag: "biz", Attrs: waBinary.Attrs{"name": business}},
		}}},
	})
	if err == nil && resp.Attrs["type"] != "result" {
		err = fmt.Errorf("fakewa: client refused pairing: %s", resp.XMLString())
	}
	if err != nil {
		d.unlink()
		return nil, err
	}
	c.mu.Lock()
	c.device = d
	c.mu.Unlock()
	s.mu.Lock()
	for ref, rc := range s.qrRefs {
		if rc == c {
			delete(s.qrRefs, ref)
		}
	}
	s.mu.Unlock()
	c.play(StreamError("515"), false)
	s.events.notify()
	return d, nil
}

// deviceIdentity is the pair-success device identity: signed by the
// account's key over the companion's identity key and HMAC'd with the adv
// secret.
func (a *Account) deviceIdentity(d *Device, companionIdentity [32]byte, advSecret []byte) []byte {
	details, _ := proto.Marshal(&waAdv.ADVDeviceIdentity{
		RawID: proto.Uint32(uint32(d.id)), Timestamp: proto.Uint64(uint64(time.Now().Unix())),
		KeyIndex: proto.Uint32(uint32(d.id)),
	})
	msg := make([]byte, 0, 2+len(details)+32)
	msg = append(append(append(msg, wm.AdvAccountSignaturePrefix...), details...), companionIdentity[:]...)
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*a.identity.Priv), msg)
	signed, _ := proto.Marshal(&waAdv.ADVSignedDeviceIdentity{
		Details: details, AccountSignatureKey: a.identity.Pub[:], AccountSignature: sig[:],
	})
	mac := hmac.New(sha256.New, advSecret)
	mac.Write(signed)
	container, _ := proto.Marshal(&waAdv.ADVSignedDeviceIdentityHMAC{Details: signed, HMAC: mac.Sum(nil)})
	return container
}

// codeRegistration is a client waiting for its pairing code to be entered.
type codeRegistration struct {
	conn    *Conn
	ref     string
	wrapped []byte // the companion's ephemeral key, encrypted with the code
	finish  chan waBinary.Node
}

// linkCode answers link_code_companion_reg: companion_hello (the client
// asked for a pairing code) and companion_finish (its key bundle).
func (c *Conn) linkCode(n waBinary.Node) (waBinary.Node, bool) {
	s := c.srv
	phone, _ := n.Attrs["jid"].(types.JID)
	switch n.Attrs["stage"] {
	case "companion_hello":
		wrapped, _ := n.GetChildByTag("link_code_pairing_wrapped_companion_ephemeral_pub").Content.([]byte)
		if len(wrapped) != 80 || c.Login() {
			return IQError(400, "bad-request"), true
		}
		reg := &codeRegistration{conn: c, ref: randomRef(), wrapped: wrapped, finish: make(chan waBinary.Node, 1)}
		s.mu.Lock()
		s.codeRegs[phone.User] = reg
		s.mu.Unlock()
		return IQResult(waBinary.Node{Tag: "link_code_companion_reg", Content: []waBinary.Node{
			{Tag: "link_code_pairing_ref", Content: []byte(reg.ref)},
		}}), true
	case "companion_finish":
		s.mu.Lock()
		reg := s.codeRegs[phone.User]
		s.mu.Unlock()
		if reg == nil || reg.conn != c {
			return IQError(404, "item-not-found"), true
		}
		select {
		case reg.finish <- n:
		default:
		}
		return IQResult(), true
	}
	return IQError(400, "bad-request"), true
}

// ErrNoCodeRequest is returned by EnterCode when no client asked for a
// pairing code for the account's number.
var ErrNoCodeRequest = errors.New("fakewa: no client asked for a pairing code for this number")

// EnterCode is the account's phone entering the pairing code a client
// showed (whatsmeow's PairPhone result, with or without its dash): the
// phone and the client exchange keys through the code, then pairing goes
// on as with a QR code. A wrong code fails as it would on a phone: the
// client cannot decrypt the phone's key.
func (a *Account) EnterCode(ctx context.Context, code string) (*Device, error) {
	s := a.srv
	s.mu.Lock()
	reg := s.codeRegs[a.phone]
	s.mu.Unlock()
	if reg == nil {
		return nil, ErrNoCodeRequest
	}
	code = strings.ToUpper(strings.ReplaceAll(code, "-", ""))
	companionEph, err := unwrapWithCode(code, reg.wrapped)
	if err != nil {
		return nil, err
	}
	primaryEph := keys.NewKeyPair()
	wrapped, err := wrapWithCode(code, primaryEph.Pub[:])
	if err != nil {
		return nil, err
	}
	reg.conn.srv.devNotify(reg.conn, waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{"type": "link_code_companion_reg"},
		Content: []waBinary.Node{{Tag: "link_code_companion_reg", Attrs: waBinary.Attrs{"stage": "primary_hello"}, Content: []waBinary.Node{
			{Tag: "link_code_pairing_wrapped_primary_ephemeral_pub", Content: wrapped},
			{Tag: "primary_identity_pub", Content: a.identity.Pub[:]},
			{Tag: "link_code_pairing_ref", Content: []byte(reg.ref)},
		}}}})
	var finish waBinary.Node
	select {
	case finish = <-reg.finish:
	case <-reg.conn.closed:
		return nil, ErrNotConnected
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	fin := finish
	bundle, _ := fin.GetChildByTag("link_code_pairing_wrapped_key_bundle").Content.([]byte)
	ephShared, err := curve25519.X25519(primaryEph.Priv[:], companionEph)
	if err != nil || len(bundle) < 32+12+16 {
		return nil, fmt.Errorf("fakewa: bad companion key bundle: %v", err)
	}
	key, err := hkdf.Key(sha256.New, ephShared, bundle[:32], "link_code_pairing_key_bundle_encryption_key", 32)
	if err != nil {
		return nil, err
	}
	plain, err := newGCM(key).Open(nil, bundle[32:44], bundle[44:], nil)
	if err != nil || len(plain) != 96 {
		return nil, fmt.Errorf("fakewa: cannot open the companion key bundle: %v", err)
	}
	companionIdentity, advRandom := [32]byte(plain[:32]), plain[64:96]
	identShared, err := curve25519.X25519(a.identity.Priv[:], companionIdentity[:])
	if err != nil {
		return nil, err
	}
	secret := append(append(append([]byte(nil), ephShared...), identShared...), advRandom...)
	adv, err := hkdf.Key(sha256.New, secret, nil, "adv_secret", 32)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	delete(s.codeRegs, a.phone)
	s.mu.Unlock()
	return a.pair(ctx, reg.conn, companionIdentity, adv)
}

// devNotify sends a registration connection a notification (a
// registration has no device queue).
func (s *Server) devNotify(c *Conn, n waBinary.Node) {
	n.Attrs["id"] = s.newID()
	n.Attrs["t"] = time.Now().Unix()
	n.Attrs["from"] = types.ServerJID
	_ = c.Send(n)
}

// codeKey is the key a pairing code makes with a salt.
func codeKey(code string, salt []byte) (cipher.Block, error) {
	key, err := pbkdf2.Key(sha256.New, code, salt, 2<<16, 32)
	if err != nil {
		return nil, err
	}
	return aes.NewCipher(key)
}

func unwrapWithCode(code string, wrapped []byte) ([]byte, error) {
	block, err := codeKey(code, wrapped[:32])
	if err != nil {
		return nil, err
	}
	pub := make([]byte, 32)
	cipher.NewCTR(block, wrapped[32:48]).XORKeyStream(pub, wrapped[48:80])
	return pub, nil
}

func wrapWithCode(code string, pub []byte) ([]byte, error) {
	out := make([]byte, 80)
	_, _ = rand.Read(out[:48])
	block, err := codeKey(code, out[:32])
	if err != nil {
		return nil, err
	}
	cipher.NewCTR(block, out[32:48]).XORKeyStream(out[48:], pub)
	return out, nil
}
