package fakewa

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/session"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// What clients send: messages (fanned out to peers, which decrypt them,
// and to the account's other devices), receipts (which acknowledge
// delivered stanzas or ask for retries) and retry receipts both ways.

// handleMessage routes a client's <message>: every <enc> goes to the
// device it names (<participants><to jid><enc>, or a direct <enc> for the
// message's to, as resends after retries are), then the server acks it.
func (c *Conn) handleMessage(n *waBinary.Node) {
	d := c.onlineDevice()
	id, _ := n.Attrs["id"].(string)
	to, _ := n.Attrs["to"].(types.JID)
	if d == nil || id == "" {
		return
	}
	ack := waBinary.Node{Tag: "ack", Attrs: waBinary.Attrs{"class": "message", "id": id, "t": time.Now().Unix(), "from": to}}
	if code := c.chain().sendError(); code != 0 {
		ack.Attrs["error"] = code
		_ = c.Send(ack)
		return
	}
	type target struct {
		jid types.JID
		enc waBinary.Node
	}
	var targets []target
	for _, e := range n.GetChildrenByTag("enc") {
		targets = append(targets, target{to, e})
	}
	if parts, ok := n.GetOptionalChildByTag("participants"); ok {
		for _, t := range parts.GetChildrenByTag("to") {
			jid, _ := t.Attrs["jid"].(types.JID)
			for _, e := range t.GetChildrenByTag("enc") {
				targets = append(targets, target{jid, e})
			}
		}
	}
	s := c.srv
	for _, t := range targets {
		switch who := s.lookup(t.jid).(type) {
		case *Peer:
			who.receive(d, id, t.enc)
		case *Account:
			other := who.Device(t.jid.Device)
			if who != d.acct || other == nil || other == d {
				continue
			}
			attrs := waBinary.Attrs{"from": d.JID(), "recipient": to, "id": id, "t": time.Now().Unix()}
			if typ, ok := n.Attrs["type"]; ok {
				attrs["type"] = typ
			}
			other.enqueue(waBinary.Node{Tag: "message", Attrs: attrs, Content: []waBinary.Node{t.enc}}, deliverOptions{})
		}
	}
	_ = c.Send(ack)
}

// handleReceipt takes a client's <receipt>: any but a retry receipt
// acknowledges the messages it names; receipts to a peer are the peer's.
func (c *Conn) handleReceipt(n *waBinary.Node) {
	d := c.onlineDevice()
	if d == nil {
		return
	}
	id, _ := n.Attrs["id"].(string)
	typ, _ := n.Attrs["type"].(string)
	ids := []string{id}
	if list, ok := n.GetOptionalChildByTag("list"); ok {
		for _, item := range list.GetChildrenByTag("item") {
			if iid, ok := item.Attrs["id"].(string); ok {
				ids = append(ids, iid)
			}
		}
	}
	if typ == "server-error" { // a media retry request (mediaretry.go)
		c.handleMediaRetry(d, n)
		return
	}
	if typ != "retry" {
		for _, id := range ids {
			d.ack("message", id)
		}
	}
	to, _ := n.Attrs["to"].(types.JID)
	p, ok := c.srv.lookup(to).(*Peer)
	if !ok {
		return
	}
	p.mu.Lock()
	p.clientRc = append(p.clientRc, ClientReceipt{IDs: ids, Type: typ, From: d.JID(), Time: time.Now()})
	if len(p.clientRc) > maxPeerHistory {
		p.clientRc = append(p.clientRc[:0], p.clientRc[maxPeerHistory/2:]...)
	}
	p.mu.Unlock()
	if typ == "retry" {
		p.answerRetry(d, n)
	}
}

// answerRetry is the peer resending a message a device could not decrypt,
// as whatsmeow's handleRetryReceipt does for its own: with a new session
// from the keys in the receipt if there are any, or from the device's
// bundle on the second retry or when the peer has no session; in the
// current session otherwise. The resend has the same id and carries the
// retry count.
func (p *Peer) answerRetry(d *Device, n *waBinary.Node) {
	ctx := context.Background()
	id, _ := n.Attrs["id"].(string)
	count := attrInt(n.GetChildByTag("retry").Attrs["count"])
	addr := address(d)
	p.mu.Lock()
	sent := p.sent[id]
	if sent == nil {
		p.mu.Unlock()
		p.srv.log.Debug("fakewa: retry receipt for a message the peer did not send", slog.String("id", id))
		return
	}
	plain, err := proto.Marshal(sent.msg)
	if err == nil {
		if keys, ok := n.GetOptionalChildByTag("keys"); ok {
			delete(p.store.sessions, addr.String())
			var bundle *prekey.Bundle
			if bundle, err = parseBundle(uint32(d.id), *n, keys); err == nil {
				err = session.NewBuilderFromSignal(p.store, addr, serializer).ProcessBundle(ctx, bundle)
			}
		} else if count >= 2 {
			delete(p.store.sessions, addr.String())
		}
	}
	var enc waBinary.Node
	if err == nil {
		enc, err = p.encryptFor(d, plain)
	}
	if err != nil {
		p.mu.Unlock()
		p.srv.log.Warn("fakewa: peer cannot answer a retry receipt", slog.String("id", id), slog.Any("error", err))
		return
	}
	enc.Attrs["count"] = count
	node := p.messageNode(id, sent.t, sent.msg, enc, sent.by)
	p.mu.Unlock()
	d.enqueue(node, deliverOptions{})
}

// RetryOptions change a peer's retry receipt.
type RetryOptions struct {
	// Count is the retry count; 0 is one more than the peer asked for this
	// message before.
	Count int
	// Keys includes the peer's keys (identity, a fresh prekey, signed
	// prekey), so the client starts a new session. WhatsApp includes them
	// from the second retry on, and so does a count above 1 here.
	Keys bool
	// ResetSession makes the peer forget its session with the device first,
	// as after a reinstall; it implies Keys.
	ResetSession bool
}

// RequestRetry sends a retry receipt from the peer for a message a client
// sent it (found in the peer's inbox by id), to the device that sent it:
// <receipt type="retry"><retry count id t v/><registration/>[<keys>]. The
// client must send the message again (its GetMessageForRetry finds
// messages sent before it restarted); the resend lands in the inbox with
// Retry set to the count.
func (p *Peer) RequestRetry(id string, o RetryOptions) error {
	var from types.JID
	var t time.Time
	for _, r := range p.Inbox() {
		if r.ID == id {
			from, t = r.From, r.Time
		}
	}
	if from.IsEmpty() {
		return fmt.Errorf("fakewa: %s never received %s", p.phone, id)
	}
	acct := p.srv.Account(from.User)
	d := acct.Device(from.Device)
	if d == nil || !d.Linked() {
		return fmt.Errorf("fakewa: %s is no longer linked", from)
	}
	p.mu.Lock()
	count := o.Count
	if count == 0 {
		count = p.retries[id] + 1
	}
	p.retries[id] = count
	content := []waBinary.Node{
		{Tag: "retry", Attrs: waBinary.Attrs{"count": count, "id": id, "t": t.Unix(), "v": 1}},
		{Tag: "registration", Content: regIDBytes(p.store.regID)},
	}
	if o.ResetSession {
		delete(p.store.sessions, address(d).String())
	}
	if o.Keys || o.ResetSession || count > 1 {
		content = append(content, waBinary.Node{Tag: "keys", Content: p.store.bundleContent()})
	}
	p.mu.Unlock()
	d.enqueue(waBinary.Node{Tag: "receipt", Attrs: waBinary.Attrs{
		"from": p.JID(), "id": id, "t": time.Now().Unix(), "type": "retry",
	}, Content: content}, deliverOptions{})
	return nil
}
