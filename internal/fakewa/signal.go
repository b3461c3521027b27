package fakewa

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"go.mau.fi/libsignal/ecc"
	groupRecord "go.mau.fi/libsignal/groups/state/record"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/state/store"
	"go.mau.fi/libsignal/util/optional"
	waBinary "go.mau.fi/whatsmeow/binary"
	wastore "go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/util/keys"
)

// serializer is the Signal wire format WhatsApp uses.
var serializer = wastore.SignalProtobufSerializer

// signalStore is an in-memory Signal protocol store: one peer's identity,
// signed prekey, one-time prekeys, and its sessions with other devices.
// Records are kept serialized, so a decryption that fails half-way leaves
// nothing behind (libsignal changes a loaded record before it knows the
// message is good). The owning Peer's lock guards it.
type signalStore struct {
	identity   *keys.KeyPair
	regID      uint32
	signed     *keys.PreKey
	prekeys    map[uint32]*keys.KeyPair
	nextPreKey uint32
	sessions   map[string][]byte
	identities map[string][32]byte
	senderKeys map[string][]byte
}

var _ store.SignalProtocol = (*signalStore)(nil)

func newSignalStore() *signalStore {
	ident := keys.NewKeyPair()
	var reg [2]byte
	_, _ = rand.Read(reg[:])
	return &signalStore{
		identity: ident, regID: uint32(binary.BigEndian.Uint16(reg[:]))%16380 + 1,
		signed: ident.CreateSignedPreKey(1), prekeys: map[uint32]*keys.KeyPair{}, nextPreKey: 1,
		sessions: map[string][]byte{}, identities: map[string][32]byte{}, senderKeys: map[string][]byte{},
	}
}

// newPreKey makes and keeps a one-time prekey.
func (st *signalStore) newPreKey() (uint32, *keys.KeyPair) {
	id := st.nextPreKey
	st.nextPreKey = id%0xFFFFFF + 1
	kp := keys.NewKeyPair()
	st.prekeys[id] = kp
	return id, kp
}

// bundleContent is the key material of a prekey bundle node (a prekey fetch
// answer or a retry receipt's <keys>), with a fresh one-time prekey.
func (st *signalStore) bundleContent() []waBinary.Node {
	id, pk := st.newPreKey()
	return []waBinary.Node{
		{Tag: "type", Content: []byte{ecc.DjbType}},
		{Tag: "identity", Content: st.identity.Pub[:]},
		keyNode("key", id, pk.Pub[:], nil),
		keyNode("skey", st.signed.KeyID, st.signed.Pub[:], st.signed.Signature[:]),
	}
}

func (st *signalStore) GetIdentityKeyPair() *identity.KeyPair {
	return identity.NewKeyPair(identity.NewKey(ecc.NewDjbECPublicKey(*st.identity.Pub)),
		ecc.NewDjbECPrivateKey(*st.identity.Priv))
}

func (st *signalStore) GetLocalRegistrationID() uint32 { return st.regID }

func (st *signalStore) SaveIdentity(_ context.Context, a *protocol.SignalAddress, k *identity.Key) error {
	st.identities[a.String()] = k.PublicKey().PublicKey()
	return nil
}

// IsTrustedIdentity trusts every identity, as whatsmeow does
// (AutoTrustIdentity): a device that was linked anew has a new one.
func (st *signalStore) IsTrustedIdentity(context.Context, *protocol.SignalAddress, *identity.Key) (bool, error) {
	return true, nil
}

func (st *signalStore) LoadPreKey(_ context.Context, id uint32) (*record.PreKey, error) {
	kp, ok := st.prekeys[id]
	if !ok {
		return nil, nil
	}
	return record.NewPreKey(id, ecc.NewECKeyPair(ecc.NewDjbECPublicKey(*kp.Pub), ecc.NewDjbECPrivateKey(*kp.Priv)), nil), nil
}

func (st *signalStore) StorePreKey(context.Context, uint32, *record.PreKey) error {
	return errors.New("fakewa: StorePreKey is not used")
}

func (st *signalStore) ContainsPreKey(_ context.Context, id uint32) (bool, error) {
	_, ok := st.prekeys[id]
	return ok, nil
}

func (st *signalStore) RemovePreKey(_ context.Context, id uint32) error {
	delete(st.prekeys, id)
	return nil
}

func (st *signalStore) LoadSession(_ context.Context, a *protocol.SignalAddress) (*record.Session, error) {
	raw, ok := st.sessions[a.String()]
	if !ok {
		return record.NewSession(serializer.Session, serializer.State), nil
	}
	return record.NewSessionFromBytes(raw, serializer.Session, serializer.State)
}

func (st *signalStore) GetSubDeviceSessions(context.Context, string) ([]uint32, error) {
	return nil, errors.New("fakewa: GetSubDeviceSessions is not used")
}

func (st *signalStore) StoreSession(_ context.Context, a *protocol.SignalAddress, r *record.Session) error {
	st.sessions[a.String()] = r.Serialize()
	return nil
}

func (st *signalStore) ContainsSession(_ context.Context, a *protocol.SignalAddress) (bool, error) {
	_, ok := st.sessions[a.String()]
	return ok, nil
}

func (st *signalStore) DeleteSession(_ context.Context, a *protocol.SignalAddress) error {
	delete(st.sessions, a.String())
	return nil
}

func (st *signalStore) DeleteAllSessions(context.Context) error {
	clear(st.sessions)
	return nil
}

func (st *signalStore) LoadSignedPreKey(_ context.Context, id uint32) (*record.SignedPreKey, error) {
	if id != st.signed.KeyID {
		return nil, nil
	}
	return record.NewSignedPreKey(id, 0, ecc.NewECKeyPair(ecc.NewDjbECPublicKey(*st.signed.Pub),
		ecc.NewDjbECPrivateKey(*st.signed.Priv)), *st.signed.Signature, nil), nil
}

func (st *signalStore) LoadSignedPreKeys(ctx context.Context) ([]*record.SignedPreKey, error) {
	r, err := st.LoadSignedPreKey(ctx, st.signed.KeyID)
	return []*record.SignedPreKey{r}, err
}

func (st *signalStore) StoreSignedPreKey(context.Context, uint32, *record.SignedPreKey) error {
	return errors.New("fakewa: StoreSignedPreKey is not used")
}

func (st *signalStore) ContainsSignedPreKey(_ context.Context, id uint32) (bool, error) {
	return id == st.signed.KeyID, nil
}

func (st *signalStore) RemoveSignedPreKey(context.Context, uint32) error {
	return errors.New("fakewa: RemoveSignedPreKey is not used")
}

func (st *signalStore) StoreSenderKey(_ context.Context, n *protocol.SenderKeyName, r *groupRecord.SenderKey) error {
	st.senderKeys[n.GroupID()+"|"+n.Sender().String()] = r.Serialize()
	return nil
}

func (st *signalStore) LoadSenderKey(_ context.Context, n *protocol.SenderKeyName) (*groupRecord.SenderKey, error) {
	raw, ok := st.senderKeys[n.GroupID()+"|"+n.Sender().String()]
	if !ok {
		return groupRecord.NewSenderKey(serializer.SenderKeyRecord, serializer.SenderKeyState), nil
	}
	return groupRecord.NewSenderKeyFromBytes(raw, serializer.SenderKeyRecord, serializer.SenderKeyState)
}

// bundle is a device's prekey bundle from what it registered; take takes
// one of its one-time prekeys into it.
func (d *Device) bundle(take bool) (*prekey.Bundle, error) {
	n := d.bundleNode(d.JID(), take)
	return parseBundle(uint32(d.id), n, n)
}

// parseBundle reads a prekey bundle: the registration ID from reg, the
// keys from keysNode (a fetch answer's <user>, or a retry receipt and its
// <keys>).
func parseBundle(deviceID uint32, reg, keysNode waBinary.Node) (*prekey.Bundle, error) {
	if e, ok := keysNode.GetOptionalChildByTag("error"); ok {
		return nil, fmt.Errorf("fakewa: no prekeys: %s", e.XMLString())
	}
	regID, _ := reg.GetChildByTag("registration").Content.([]byte)
	ident, _ := keysNode.GetChildByTag("identity").Content.([]byte)
	skID, skPub, skSig := parseKeyNode(keysNode.GetChildByTag("skey"))
	if len(regID) != 4 || len(ident) != 32 || skPub == nil || len(skSig) != 64 {
		return nil, errors.New("fakewa: incomplete prekey bundle")
	}
	preKeyID, preKey := optional.NewEmptyUint32(), ecc.ECPublicKeyable(nil)
	if k, ok := keysNode.GetOptionalChildByTag("key"); ok {
		id, pub, _ := parseKeyNode(k)
		if pub != nil {
			preKeyID, preKey = optional.NewOptionalUint32(id), ecc.NewDjbECPublicKey([32]byte(pub))
		}
	}
	return prekey.NewBundle(binary.BigEndian.Uint32(regID), deviceID, preKeyID, skID, preKey,
		ecc.NewDjbECPublicKey([32]byte(skPub)), [64]byte(skSig),
		identity.NewKey(ecc.NewDjbECPublicKey([32]byte(ident)))), nil
}

// pad adds WhatsApp's random padding (1 to 15 bytes of the pad length).
func pad(p []byte) []byte {
	var b [1]byte
	_, _ = rand.Read(b[:])
	n := b[0] & 0xf
	if n == 0 {
		n = 0xf
	}
	return append(p, bytes.Repeat([]byte{n}, int(n))...)
}

// unpad strips the padding pad added.
func unpad(p []byte) ([]byte, error) {
	if len(p) == 0 {
		return nil, errors.New("fakewa: empty plaintext")
	}
	n := int(p[len(p)-1])
	if n == 0 || n > len(p) || !bytes.Equal(p[len(p)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		return nil, errors.New("fakewa: plaintext without padding")
	}
	return p[:len(p)-n], nil
}
