package fakewa

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// Calls and poll votes from peers. A peer's phone calls an account
// (Peer.Call: a <call><offer/></call> to each linked device) and hangs up
// (Peer.EndCall: <terminate/>); what clients send about calls (a
// <call><reject/></call>) is recorded (Server.ClientCalls). A peer votes on
// a poll a client sent it (Peer.Vote), encrypting the vote with the poll's
// message secret as WhatsApp's apps do.

// ClientCall is a call stanza a client sent (a reject, say).
type ClientCall struct {
	Action  string // the child's tag: "reject", ...
	CallID  string
	To      types.JID
	Creator types.JID
	From    types.JID
	Time    time.Time
}

// ClientCalls returns the call stanzas clients sent, oldest first.
func (s *Server) ClientCalls() []ClientCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ClientCall(nil), s.extras.calls...)
}

// WaitClientCall waits for a call stanza of a client that match accepts.
func (s *Server) WaitClientCall(ctx context.Context, match func(ClientCall) bool) (ClientCall, error) {
	for {
		ch := s.events.c()
		for _, c := range s.ClientCalls() {
			if match == nil || match(c) {
				return c, nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ClientCall{}, ctx.Err()
		}
	}
}

// handleCall records a client's <call> and acks it.
func (c *Conn) handleCall(n *waBinary.Node) {
	d := c.onlineDevice()
	if d == nil || len(n.GetChildren()) == 0 {
		return
	}
	child := n.GetChildren()[0]
	cc := ClientCall{Action: child.Tag, From: d.JID(), Time: time.Now()}
	cc.To, _ = n.Attrs["to"].(types.JID)
	cc.CallID, _ = child.Attrs["call-id"].(string)
	cc.Creator, _ = child.Attrs["call-creator"].(types.JID)
	s := c.srv
	s.mu.Lock()
	s.extras.calls = append(s.extras.calls, cc)
	if len(s.extras.calls) > maxPeerHistory {
		s.extras.calls = s.extras.calls[len(s.extras.calls)-maxPeerHistory/2:]
	}
	s.mu.Unlock()
	if id, ok := n.Attrs["id"].(string); ok {
		_ = c.Send(waBinary.Node{Tag: "ack", Attrs: waBinary.Attrs{"class": "call", "id": id, "from": cc.To}})
	}
}

// Call is the peer's phone calling an account (video or voice); it
// returns the call ID.
func (p *Peer) Call(to *Account, video bool) (string, error) {
	callID := messageID()[4:] + "CA11"
	media := []waBinary.Node{{Tag: "audio", Attrs: waBinary.Attrs{"enc": "opus", "rate": "16000"}}}
	if video {
		media = append(media, waBinary.Node{Tag: "video", Attrs: waBinary.Attrs{"enc": "vp8"}})
	}
	return callID, p.callStanza(to, waBinary.Node{Tag: "offer", Attrs: waBinary.Attrs{"call-id": callID, "call-creator": p.JID()}, Content: media})
}

// EndCall is the peer hanging up (reason: "timeout" when nobody answered,
// "" otherwise).
func (p *Peer) EndCall(to *Account, callID, reason string) error {
	attrs := waBinary.Attrs{"call-id": callID, "call-creator": p.JID()}
	if reason != "" {
		attrs["reason"] = reason
	}
	return p.callStanza(to, waBinary.Node{Tag: "terminate", Attrs: attrs})
}

func (p *Peer) callStanza(to *Account, child waBinary.Node) error {
	devices := to.Devices()
	if len(devices) == 0 {
		return ErrNoDevices
	}
	for _, d := range devices {
		d.enqueue(waBinary.Node{Tag: "call", Attrs: waBinary.Attrs{"from": p.JID(), "id": p.srv.newID(), "t": time.Now().Unix(),
			"platform": "android", "version": "2.25.1"}, Content: []waBinary.Node{child}}, deliverOptions{})
	}
	return nil
}

// Vote is the peer voting on a poll a client of the account sent it
// (poll: the message as the peer received it); options are the names it
// chooses (none withdraws its vote). The vote is encrypted with the poll's
// message secret for the key WhatsApp derives from the poll's ID, its
// author and the voter.
func (p *Peer) Vote(to *Account, poll Received, options []string) (Sent, error) {
	pc := poll.Message.GetPollCreationMessage()
	if pc == nil {
		pc = poll.Message.GetPollCreationMessageV3()
	}
	secret := poll.Message.GetMessageContextInfo().GetMessageSecret()
	if pc == nil || len(secret) == 0 {
		return Sent{}, errors.New("fakewa: not a poll with a message secret")
	}
	vote := &waE2E.PollVoteMessage{}
	for _, o := range options {
		h := sha256.Sum256([]byte(o))
		vote.SelectedOptions = append(vote.SelectedOptions, h[:])
	}
	plain, err := proto.Marshal(vote)
	if err != nil {
		return Sent{}, err
	}
	author := to.JID().String() // the poll's sender as its recipients see it
	voter := p.JID().String()
	enc, iv, err := sealSecret(secret, poll.ID, author, voter, "Poll Vote", fmt.Appendf(nil, "%s\x00%s", poll.ID, voter), plain)
	if err != nil {
		return Sent{}, err
	}
	msg := &waE2E.Message{PollUpdateMessage: &waE2E.PollUpdateMessage{
		PollCreationMessageKey: &waCommon.MessageKey{RemoteJID: proto.String(author), FromMe: proto.Bool(false), ID: proto.String(poll.ID)},
		Vote:                   &waE2E.PollEncValue{EncPayload: enc, EncIV: iv},
		SenderTimestampMS:      proto.Int64(time.Now().UnixMilli()),
	}}
	return p.Send(to, msg)
}

// sealSecret encrypts a modification of a message (a vote, an encrypted
// reaction) as WhatsApp's apps do: AES-GCM with a key derived (HKDF-SHA256)
// from the message's secret, its ID, its author, the modifier and the use
// case.
func sealSecret(secret []byte, id, author, modifier, useCase string, aad, plain []byte) (enc, iv []byte, err error) {
	key, err := hkdf.Key(sha256.New, secret, nil, id+author+modifier+useCase, 32)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, err
	}
	iv = make([]byte, 12)
	_, _ = rand.Read(iv)
	return aead.Seal(nil, iv, plain, aad), iv, nil
}

// ReactEncrypted is the peer reacting to one of its own messages with an
// encrypted reaction (as in community announcement groups): secret is the
// message's secret (the MessageContextInfo.MessageSecret it was sent
// with).
func (p *Peer) ReactEncrypted(to *Account, targetID string, secret []byte, emoji string) (Sent, error) {
	plain, err := proto.Marshal(&waE2E.ReactionMessage{Text: proto.String(emoji), SenderTimestampMS: proto.Int64(time.Now().UnixMilli())})
	if err != nil {
		return Sent{}, err
	}
	me := p.JID().String()
	enc, iv, err := sealSecret(secret, targetID, me, me, "Enc Reaction", nil, plain)
	if err != nil {
		return Sent{}, err
	}
	return p.Send(to, &waE2E.Message{EncReactionMessage: &waE2E.EncReactionMessage{
		TargetMessageKey: &waCommon.MessageKey{RemoteJID: proto.String(to.JID().String()), FromMe: proto.Bool(true), ID: proto.String(targetID)},
		EncPayload:       enc, EncIV: iv}})
}
