package fakewa

import (
	"encoding/binary"
	"strings"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// deviceKeys are the Signal keys a device registered: identity, signed
// prekey and registration ID (from its registration payload or its first
// prekey upload) and the one-time prekeys it uploaded and nobody took yet.
type deviceKeys struct {
	known     bool
	regID     uint32
	identity  [32]byte
	signedID  uint32
	signedPub [32]byte
	signedSig [64]byte
	prekeys   []oneTimeKey // ascending id
}

type oneTimeKey struct {
	id  uint32
	pub [32]byte
}

// handleIQ answers a client IQ; results and errors go to whoever waits.
func (c *Conn) handleIQ(n *waBinary.Node) {
	typ, _ := n.Attrs["type"].(string)
	id, _ := n.Attrs["id"].(string)
	if typ == "result" || typ == "error" {
		c.mu.Lock()
		ch := c.waiters[id]
		c.mu.Unlock()
		if ch != nil {
			ch <- n
		}
		return
	}
	if (typ != "get" && typ != "set") || id == "" {
		return
	}
	s := c.srv
	s.mu.Lock()
	hook := s.iqHook
	s.mu.Unlock()
	var resp waBinary.Node
	answered := false
	if hook != nil {
		resp, answered = hook(c, n)
	}
	if !answered {
		var reply bool
		resp, reply = c.answerIQ(n)
		if !reply {
			return
		}
	}
	if resp.Attrs == nil {
		resp.Attrs = waBinary.Attrs{}
	}
	resp.Tag = "iq"
	resp.Attrs["id"] = id
	if resp.Attrs["type"] == nil {
		resp.Attrs["type"] = "result"
	}
	if resp.Attrs["from"] == nil {
		resp.Attrs["from"] = types.ServerJID
	}
	_ = c.Send(resp)
}

// IQError is an IQ error answer, for IQHandlers.
func IQError(code int, text string) waBinary.Node {
	return waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"type": "error"},
		Content: []waBinary.Node{{Tag: "error", Attrs: waBinary.Attrs{"code": code, "text": text}}}}
}

// IQResult is an IQ result answer with the given content, for IQHandlers.
func IQResult(content ...waBinary.Node) waBinary.Node {
	n := waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{}}
	if len(content) > 0 {
		n.Content = content
	}
	return n
}

// answerIQ is the server's own answer; reply is false to stay silent.
func (c *Conn) answerIQ(n *waBinary.Node) (resp waBinary.Node, reply bool) {
	xmlns, _ := n.Attrs["xmlns"].(string)
	var child waBinary.Node
	if kids := n.GetChildren(); len(kids) > 0 {
		child = kids[0]
	}
	switch {
	case xmlns == "w:p":
		return IQResult(), !c.chain().mutePings()
	case xmlns == "encrypt" && child.Tag == "count":
		return IQResult(waBinary.Node{Tag: "count", Attrs: waBinary.Attrs{"value": c.preKeyCount()}}), true
	case xmlns == "encrypt" && n.Attrs["type"] == "set":
		if d := c.onlineDevice(); d != nil {
			d.storeUpload(n, c.srv.opts.MaxPreKeys)
		}
		return IQResult(), true
	case xmlns == "encrypt" && child.Tag == "key":
		return IQResult(c.srv.bundles(child)), true
	case xmlns == "w:sync:app:state":
		return c.appStateIQ(n), true
	case xmlns == "usync":
		return IQResult(c.srv.usync(child)), true
	case xmlns == "w:m" && child.Tag == "media_conn":
		return IQResult(waBinary.Node{Tag: "media_conn", Attrs: waBinary.Attrs{
			"auth": mediaAuth, "ttl": 300, "auth_ttl": 3600, "max_buckets": 12,
		}, Content: []waBinary.Node{{Tag: "host", Attrs: waBinary.Attrs{"hostname": mediaHost}}}}), true
	case xmlns == "md" && child.Tag == "link_code_companion_reg":
		return c.linkCode(child)
	case xmlns == "md" && child.Tag == "remove-companion-device":
		if d := c.onlineDevice(); d != nil {
			d.unlink()
			c.closeSoon()
		}
		return IQResult(), true
	case xmlns == "w:profile:picture" && n.Attrs["type"] == "get":
		return IQResult(waBinary.Node{Tag: "picture", Attrs: waBinary.Attrs{
			"id": "1", "url": "https://" + mediaHost + "/v/pic.jpg", "type": "image", "direct_path": "/v/pic.jpg",
		}}), true
	}
	return IQResult(), true
}

func (c *Conn) preKeyCount() int {
	d := c.onlineDevice()
	if d == nil {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := len(d.keys.prekeys); n > 0 || !d.auto {
		return n
	}
	return c.srv.opts.AutoLinkPreKeys
}

// storeUpload keeps what a prekey upload (<iq xmlns="encrypt" type="set">)
// carries: registration ID, identity, signed prekey and one-time prekeys.
func (d *Device) storeUpload(n *waBinary.Node, max int) {
	reg, _ := n.GetChildByTag("registration").Content.([]byte)
	ident, _ := n.GetChildByTag("identity").Content.([]byte)
	skID, skPub, skSig := parseKeyNode(n.GetChildByTag("skey"))
	var keys []oneTimeKey
	list := n.GetChildByTag("list")
	for _, k := range list.GetChildren() {
		id, pub, _ := parseKeyNode(k)
		if pub != nil {
			keys = append(keys, oneTimeKey{id: id, pub: [32]byte(pub)})
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(reg) == 4 && len(ident) == 32 && len(skPub) == 32 && len(skSig) == 64 {
		d.keys.known = true
		d.keys.regID = binary.BigEndian.Uint32(reg)
		d.keys.identity = [32]byte(ident)
		d.keys.signedID, d.keys.signedPub, d.keys.signedSig = skID, [32]byte(skPub), [64]byte(skSig)
	}
	d.keys.prekeys = append(d.keys.prekeys, keys...)
	if max > 0 && len(d.keys.prekeys) > max {
		d.keys.prekeys = d.keys.prekeys[:max:max]
	}
}

// parseKeyNode reads a <key> or <skey>: 3-byte id, value, signature.
func parseKeyNode(n waBinary.Node) (id uint32, pub, sig []byte) {
	idb, _ := n.GetChildByTag("id").Content.([]byte)
	pub, _ = n.GetChildByTag("value").Content.([]byte)
	sig, _ = n.GetChildByTag("signature").Content.([]byte)
	if len(idb) == 3 {
		id = uint32(idb[0])<<16 | uint32(idb[1])<<8 | uint32(idb[2])
	}
	if len(pub) != 32 {
		pub = nil
	}
	return id, pub, sig
}

func keyNode(tag string, id uint32, pub []byte, sig []byte) waBinary.Node {
	content := []waBinary.Node{
		{Tag: "id", Content: []byte{byte(id >> 16), byte(id >> 8), byte(id)}},
		{Tag: "value", Content: pub},
	}
	if sig != nil {
		content = append(content, waBinary.Node{Tag: "signature", Content: sig})
	}
	return waBinary.Node{Tag: tag, Content: content}
}

func regIDBytes(id uint32) []byte {
	return binary.BigEndian.AppendUint32(nil, id)
}

// bundleNode is a <user> of a prekey fetch answer; take takes one of the
// one-time prekeys into it (it goes without one when none is left).
func (d *Device) bundleNode(jid types.JID, take bool) waBinary.Node {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.linked || !d.keys.known {
		return userError(jid, 404, "item-not-found")
	}
	k := &d.keys
	content := []waBinary.Node{
		{Tag: "registration", Content: regIDBytes(k.regID)},
		{Tag: "type", Content: []byte{ecc.DjbType}},
		{Tag: "identity", Content: k.identity[:]},
		keyNode("skey", k.signedID, k.signedPub[:], k.signedSig[:]),
	}
	if take && len(k.prekeys) > 0 {
		pk := k.prekeys[0]
		k.prekeys = k.prekeys[1:]
		content = append(content, keyNode("key", pk.id, pk.pub[:], nil))
	}
	return waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}, Content: content}
}

func userError(jid types.JID, code int, text string) waBinary.Node {
	return waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid},
		Content: []waBinary.Node{{Tag: "error", Attrs: waBinary.Attrs{"code": code, "text": text}}}}
}

// bundles answers <iq xmlns="encrypt" type="get"><key><user jid=../>..:
// peers' bundles and linked devices' registered keys.
func (s *Server) bundles(key waBinary.Node) waBinary.Node {
	var users []waBinary.Node
	for _, u := range key.GetChildren() {
		jid, ok := u.Attrs["jid"].(types.JID)
		if u.Tag != "user" || !ok {
			continue
		}
		switch who := s.lookup(jid).(type) {
		case *Peer:
			users = append(users, who.bundleNode(jid))
		case *Account:
			if d := who.Device(jid.Device); d != nil {
				users = append(users, d.bundleNode(jid, true))
			} else {
				users = append(users, userError(jid, 404, "item-not-found"))
			}
		default:
			users = append(users, userError(jid, 404, "item-not-found"))
		}
	}
	return waBinary.Node{Tag: "list", Content: users}
}

// lookup finds the peer or account of a phone-number or LID JID (nil).
func (s *Server) lookup(jid types.JID) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch jid.Server {
	case types.DefaultUserServer:
		if p := s.peers[jid.User]; p != nil {
			return p
		}
		if a := s.accounts[jid.User]; a != nil {
			return a
		}
	case types.HiddenUserServer:
		if p := s.peerLIDs[jid.User]; p != nil {
			return p
		}
		if a := s.lids[jid.User]; a != nil {
			return a
		}
	}
	return nil
}

// usync answers a usync query: devices, contact, LID, status and picture
// of each user, as the query asks.
func (s *Server) usync(q waBinary.Node) waBinary.Node {
	want := map[string]bool{}
	query, list := q.GetChildByTag("query"), q.GetChildByTag("list")
	for _, k := range query.GetChildren() {
		want[k.Tag] = true
	}
	var users []waBinary.Node
	for _, u := range list.GetChildren() {
		jid, hasJID := u.Attrs["jid"].(types.JID)
		var content []waBinary.Node
		if !hasJID {
			// A phone-number lookup: <contact>+1555...@c.us</contact>.
			query := nodeText(u.GetChildByTag("contact").Content)
			phone := strings.TrimPrefix(strings.TrimSuffix(query, "@"+types.LegacyUserServer), "+")
			jid = types.NewJID(phone, types.DefaultUserServer)
			s.mu.Lock()
			in := "in"
			if s.absent[phone] || phone == "" {
				in = "out"
			}
			s.mu.Unlock()
			content = append(content, waBinary.Node{Tag: "contact", Attrs: waBinary.Attrs{"type": in}, Content: []byte(query)})
		} else if want["contact"] {
			content = append(content, waBinary.Node{Tag: "contact", Attrs: waBinary.Attrs{"type": "in"}})
		}
		who := s.lookup(jid)
		if want["devices"] {
			var list []waBinary.Node
			for _, id := range deviceIDs(who) {
				list = append(list, waBinary.Node{Tag: "device", Attrs: waBinary.Attrs{"id": int(id)}})
			}
			content = append(content, waBinary.Node{Tag: "devices", Content: []waBinary.Node{{Tag: "device-list", Content: list}}})
		}
		if want["lid"] {
			if lid := lidOf(who); !lid.IsEmpty() {
				content = append(content, waBinary.Node{Tag: "lid", Attrs: waBinary.Attrs{"val": lid}})
			} else {
				content = append(content, waBinary.Node{Tag: "lid"})
			}
		}
		if want["status"] {
			content = append(content, waBinary.Node{Tag: "status", Content: []byte(aboutOf(who))})
		}
		if want["picture"] {
			content = append(content, waBinary.Node{Tag: "picture", Attrs: waBinary.Attrs{"id": "1"}})
		}
		users = append(users, waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}, Content: content})
	}
	return waBinary.Node{Tag: "usync", Content: []waBinary.Node{{Tag: "list", Content: users}}}
}

func deviceIDs(who any) []uint16 {
	switch w := who.(type) {
	case *Peer:
		return []uint16{0}
	case *Account:
		var ids []uint16
		for _, d := range w.Devices() {
			ids = append(ids, d.id)
		}
		return ids
	}
	return nil
}

func lidOf(who any) types.JID {
	switch w := who.(type) {
	case *Peer:
		return w.LID()
	case *Account:
		return w.LID()
	}
	return types.EmptyJID
}

func aboutOf(who any) string {
	if p, ok := who.(*Peer); ok {
		return p.about
	}
	return ""
}

// nodeText is a node's content as text, however the decoder returned it.
func nodeText(content any) string {
	switch v := content.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case types.JID:
		return v.String()
	}
	return ""
}
