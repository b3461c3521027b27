package fakewa

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/coder/websocket"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/util/keys"
	"golang.org/x/crypto/curve25519"
	"google.golang.org/protobuf/proto"
)

// The WhatsApp Web transport, server side: websocket messages carry frames
// with a 3-byte length prefix (the client's first message also starts with
// the "WA" connection header); the first three frames are the Noise XX
// handshake, every later frame is one AES-GCM sealed binary node.

// frameReader splits websocket messages into frames. WhatsApp clients send
// one frame per message, so the common case returns a slice of the message
// without copying or buffering.
type frameReader struct {
	ws     *websocket.Conn
	buf    []byte // bytes of a partial frame, rare
	header bool
}

func (fr *frameReader) next(ctx context.Context) ([]byte, error) {
	for {
		if !fr.header && len(fr.buf) >= len(socket.WAConnHeader) {
			if string(fr.buf[:2]) != "WA" {
				return nil, errors.New("no WA connection header")
			}
			fr.buf = fr.buf[len(socket.WAConnHeader):]
			fr.header = true
		}
		if fr.header && len(fr.buf) >= socket.FrameLengthSize {
			n := int(fr.buf[0])<<16 | int(fr.buf[1])<<8 | int(fr.buf[2])
			if len(fr.buf) >= socket.FrameLengthSize+n {
				frame := fr.buf[socket.FrameLengthSize : socket.FrameLengthSize+n]
				fr.buf = fr.buf[socket.FrameLengthSize+n:]
				if len(fr.buf) == 0 {
					fr.buf = nil
				}
				return frame, nil
			}
		}
		_, data, err := fr.ws.Read(ctx)
		if err != nil {
			return nil, err
		}
		if len(fr.buf) == 0 {
			fr.buf = data
		} else {
			fr.buf = append(fr.buf, data...)
		}
	}
}

func writeFrame(ctx context.Context, ws *websocket.Conn, data []byte) error {
	frame := make([]byte, socket.FrameLengthSize+len(data))
	frame[0], frame[1], frame[2] = byte(len(data)>>16), byte(len(data)>>8), byte(len(data))
	copy(frame[socket.FrameLengthSize:], data)
	return ws.Write(ctx, websocket.MessageBinary, frame)
}

func newGCM(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // keys are always 32 bytes
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return g
}

// nonce is the GCM nonce for the n-th message of a direction.
func nonce(n uint32) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint32(b[8:], n)
	return b
}

// noise is the responder side of Noise_XX_25519_AESGCM_SHA256 as WhatsApp
// uses it (socket.NoiseHandshake is the initiator's).
type noise struct {
	hash, salt []byte
	key        cipher.AEAD
	counter    uint32
}

func (n *noise) start(header []byte) {
	n.hash = []byte(socket.NoiseStartPattern)
	n.salt = n.hash
	n.key = newGCM(n.hash)
	n.authenticate(header)
}

func (n *noise) authenticate(data []byte) {
	h := sha256.New()
	h.Write(n.hash)
	h.Write(data)
	n.hash = h.Sum(nil)
}

func (n *noise) split(secret []byte) (write, read []byte) {
	k, err := hkdf.Key(sha256.New, secret, n.salt, "", 64)
	if err != nil {
		panic(err)
	}
	return k[:32], k[32:]
}

func (n *noise) mix(priv, pub *[32]byte) error {
	secret, err := curve25519.X25519(priv[:], pub[:])
	if err != nil {
		return err
	}
	n.counter = 0
	write, read := n.split(secret)
	n.salt = write
	n.key = newGCM(read)
	return nil
}

func (n *noise) encrypt(p []byte) []byte {
	c := n.key.Seal(nil, nonce(n.counter), p, n.hash)
	n.counter++
	n.authenticate(c)
	return c
}

func (n *noise) decrypt(c []byte) ([]byte, error) {
	p, err := n.key.Open(nil, nonce(n.counter), c, n.hash)
	n.counter++
	if err == nil {
		n.authenticate(c)
	}
	return p, err
}

// handshakeResult is what the handshake learns and the ciphers after it.
type handshakeResult struct {
	payload      *waWa6.ClientPayload
	clientStatic [32]byte // the client's Noise key: a device's identity towards the server
	read, write  cipher.AEAD
}

// handshake runs the server side of the Noise handshake on ws: static is
// the server's Noise key and chain its certificate chain.
func handshake(ctx context.Context, ws *websocket.Conn, fr *frameReader, static *keys.KeyPair, chain []byte) (*handshakeResult, error) {
	first, err := fr.next(ctx)
	if err != nil {
		return nil, err
	}
	var hello waWa6.HandshakeMessage
	if err := proto.Unmarshal(first, &hello); err != nil || len(hello.GetClientHello().GetEphemeral()) != 32 {
		return nil, fmt.Errorf("bad client hello: %v", err)
	}
	clientEph := (*[32]byte)(hello.GetClientHello().GetEphemeral())
	var n noise
	n.start(socket.WAConnHeader)
	n.authenticate(clientEph[:])
	eph := keys.NewKeyPair()
	n.authenticate(eph.Pub[:])
	if err := n.mix(eph.Priv, clientEph); err != nil {
		return nil, err
	}
	staticCT := n.encrypt(static.Pub[:])
	if err := n.mix(static.Priv, clientEph); err != nil {
		return nil, err
	}
	certCT := n.encrypt(chain)
	resp, _ := proto.Marshal(&waWa6.HandshakeMessage{ServerHello: &waWa6.HandshakeMessage_ServerHello{
		Ephemeral: eph.Pub[:], Static: staticCT, Payload: certCT,
	}})
	if err := writeFrame(ctx, ws, resp); err != nil {
		return nil, err
	}
	finishRaw, err := fr.next(ctx)
	if err != nil {
		return nil, err
	}
	var finish waWa6.HandshakeMessage
	if err := proto.Unmarshal(finishRaw, &finish); err != nil {
		return nil, fmt.Errorf("bad client finish: %w", err)
	}
	clientStatic, err := n.decrypt(finish.GetClientFinish().GetStatic())
	if err != nil || len(clientStatic) != 32 {
		return nil, fmt.Errorf("client static key: %v", err)
	}
	if err := n.mix(eph.Priv, (*[32]byte)(clientStatic)); err != nil {
		return nil, err
	}
	payloadRaw, err := n.decrypt(finish.GetClientFinish().GetPayload())
	if err != nil {
		return nil, fmt.Errorf("client payload: %w", err)
	}
	res := &handshakeResult{payload: &waWa6.ClientPayload{}, clientStatic: *(*[32]byte)(clientStatic)}
	if err := proto.Unmarshal(payloadRaw, res.payload); err != nil {
		return nil, fmt.Errorf("client payload: %w", err)
	}
	clientWrite, serverWrite := n.split(nil)
	res.read, res.write = newGCM(clientWrite), newGCM(serverWrite)
	return res, nil
}
