package fakewa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waMmsRetry"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// Media retries, as a phone answers them: a client that finds a received
// file expired on the media hosts sends a <receipt type="server-error">
// to its own account, encrypted with the file's media key, naming the
// message (<rmr jid=chat participant=sender>). The sender's phone (a Peer
// that sent the message) uploads the file again and answers with a
// <notification type="mediaretry"> whose payload, encrypted with the same
// key, names the new direct path; a phone that no longer has the file
// (Peer.DeleteMedia) answers with <error code="2"/>.

// mediaRetryInfo is the HKDF info of the media retry key.
const mediaRetryInfo = "WhatsApp Media Retry Notification"

// MediaRetry is a media retry receipt a client sent, as the server saw it.
type MediaRetry struct {
	MessageID string
	Chat      types.JID
	From      types.JID // the client's device
	// Answered: the sender's phone uploaded the file again (false: it no
	// longer had it, or no peer sent the message).
	Answered bool
	Time     time.Time
}

// extras is the server state of media retries and calls.
type extras struct {
	retries []MediaRetry
	deleted map[string]bool // "phone/message id": the phone deleted the file
	calls   []ClientCall
}

// DeleteMedia makes the peer's phone no longer have the file of a message
// it sent: a media retry for it fails (gone everywhere once the media
// host's copy expired too).
func (p *Peer) DeleteMedia(id string) {
	s := p.srv
	s.mu.Lock()
	if s.extras.deleted == nil {
		s.extras.deleted = map[string]bool{}
	}
	s.extras.deleted[p.phone+"/"+id] = true
	s.mu.Unlock()
}

// MediaRetries returns the media retry receipts clients sent, oldest
// first.
func (s *Server) MediaRetries() []MediaRetry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]MediaRetry(nil), s.extras.retries...)
}

// mediaKeyOf is the media key of a message's file.
func mediaKeyOf(m *waE2E.Message) []byte {
	for _, k := range [][]byte{m.GetImageMessage().GetMediaKey(), m.GetVideoMessage().GetMediaKey(), m.GetAudioMessage().GetMediaKey(),
		m.GetDocumentMessage().GetMediaKey(), m.GetStickerMessage().GetMediaKey(), m.GetPtvMessage().GetMediaKey()} {
		if len(k) > 0 {
			return k
		}
	}
	return nil
}

// directPathOf is the direct path of a message's file.
func directPathOf(m *waE2E.Message) string {
	for _, p := range []string{m.GetImageMessage().GetDirectPath(), m.GetVideoMessage().GetDirectPath(), m.GetAudioMessage().GetDirectPath(),
		m.GetDocumentMessage().GetDirectPath(), m.GetStickerMessage().GetDirectPath(), m.GetPtvMessage().GetDirectPath()} {
		if p != "" {
			return p
		}
	}
	return ""
}

func retryCipher(mediaKey []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, mediaKey, nil, mediaRetryInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// handleMediaRetry answers a client's media retry receipt from the phone
// that sent the message.
func (c *Conn) handleMediaRetry(d *Device, n *waBinary.Node) {
	s := c.srv
	id, _ := n.Attrs["id"].(string)
	rmr, ok := n.GetOptionalChildByTag("rmr")
	if !ok || id == "" {
		return
	}
	chat, _ := rmr.Attrs["jid"].(types.JID)
	sender, hasSender := rmr.Attrs["participant"].(types.JID)
	if !hasSender {
		sender = chat
	}
	rec := MediaRetry{MessageID: id, Chat: chat, From: d.JID(), Time: time.Now()}
	answer := waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{"id": id, "type": "mediaretry", "from": d.acct.JID(), "t": time.Now().Unix()},
		Content: []waBinary.Node{{Tag: "rmr", Attrs: rmr.Attrs}}}
	payload, err := s.reupload(sender, id, n)
	switch {
	case err == nil:
		rec.Answered = true
		answer.Content = append(answer.Content.([]waBinary.Node), waBinary.Node{Tag: "encrypt", Content: []waBinary.Node{
			{Tag: "enc_p", Content: payload.ciphertext}, {Tag: "enc_iv", Content: payload.iv}}})
	default:
		s.log.Debug("fakewa: media retry not answered with a new upload", slog.String("id", id), slog.Any("reason", err))
		answer.Content = append(answer.Content.([]waBinary.Node), waBinary.Node{Tag: "error", Attrs: waBinary.Attrs{"code": "2"}})
	}
	s.mu.Lock()
	s.extras.retries = append(s.extras.retries, rec)
	if len(s.extras.retries) > maxPeerHistory {
		s.extras.retries = s.extras.retries[len(s.extras.retries)-maxPeerHistory/2:]
	}
	s.mu.Unlock()
	d.enqueue(answer, deliverOptions{})
}

type retryPayload struct{ ciphertext, iv []byte }

var errNoFile = errors.New("fakewa: the sender's phone does not have the file")

// reupload is the sender's phone decrypting the retry request, uploading
// the file again under a new path and encrypting the answer.
func (s *Server) reupload(sender types.JID, id string, n *waBinary.Node) (retryPayload, error) {
	p, ok := s.lookup(sender).(*Peer)
	if !ok {
		return retryPayload{}, fmt.Errorf("%w: %s is no peer", errNoFile, sender)
	}
	p.mu.Lock()
	sent := p.sent[id]
	p.mu.Unlock()
	s.mu.Lock()
	deleted := s.extras.deleted[p.phone+"/"+id]
	s.mu.Unlock()
	if sent == nil || deleted {
		return retryPayload{}, errNoFile
	}
	key, path := mediaKeyOf(sent.msg), directPathOf(sent.msg)
	if key == nil || path == "" {
		return retryPayload{}, fmt.Errorf("%w: message %s has no file", errNoFile, id)
	}
	aead, err := retryCipher(key)
	if err != nil {
		return retryPayload{}, err
	}
	encP, _ := n.GetChildByTag("encrypt", "enc_p").Content.([]byte)
	encIV, _ := n.GetChildByTag("encrypt", "enc_iv").Content.([]byte)
	plain, err := aead.Open(nil, encIV, encP, []byte(id))
	if err != nil {
		return retryPayload{}, fmt.Errorf("fakewa: media retry receipt does not decrypt with the file's key: %w", err)
	}
	var req waMmsRetry.ServerErrorReceipt
	if err := proto.Unmarshal(plain, &req); err != nil || req.GetStanzaID() != id {
		return retryPayload{}, fmt.Errorf("fakewa: media retry receipt names %q, not %q", req.GetStanzaID(), id)
	}
	data, ok := s.Media(path)
	if !ok {
		return retryPayload{}, fmt.Errorf("%w: the media host never had it", errNoFile)
	}
	// A new upload: the same encrypted file under a new token.
	tok := make([]byte, 32)
	_, _ = rand.Read(tok)
	token := base64.URLEncoding.EncodeToString(tok)
	s.putMedia(token, data)
	notif, err := proto.Marshal(&waMmsRetry.MediaRetryNotification{StanzaID: proto.String(id), DirectPath: proto.String(directPath(token)),
		Result: waMmsRetry.MediaRetryNotification_SUCCESS.Enum()})
	if err != nil {
		return retryPayload{}, err
	}
	iv := make([]byte, 12)
	_, _ = rand.Read(iv)
	return retryPayload{ciphertext: aead.Seal(nil, iv, notif, []byte(id)), iv: iv}, nil
}
