package whatsmeow

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waServerSync"
	wstore "go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/fakewa"
)

// The optional capabilities against the fake server: the stanzas
// whatsmeow sends for each are checked, and the answers played back are
// mapped to the engine's results and errors.
func TestExtrasOnline(t *testing.T) {
	w := newWorld(t, Options{})
	bobPeer, err := w.srv.AddPeer(fakewa.PeerOptions{Phone: "15557654321", PushName: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	o := w.connectStored("15551234567", 3, engine.SessionConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 6*wait)
	defer cancel()
	bobJID := bobPeer.JID()
	bob := bobJID.String()
	carol := types.NewJID("15550001111", types.DefaultUserServer)
	group := types.NewJID("120363025246125486", types.GroupServer)
	unknown := types.NewJID("120363999999999999", types.GroupServer)

	var (
		mu   sync.Mutex
		iqs  []*waBinary.Node
		list = []types.JID{carol}
	)
	seen := func(match func(*waBinary.Node) bool) *waBinary.Node {
		mu.Lock()
		defer mu.Unlock()
		for i := len(iqs) - 1; i >= 0; i-- {
			if match(iqs[i]) {
				return iqs[i]
			}
		}
		return nil
	}
	listNode := func() waBinary.Node {
		var items []waBinary.Node
		for _, j := range list {
			items = append(items, waBinary.Node{Tag: "item", Attrs: waBinary.Attrs{"jid": j}})
		}
		return waBinary.Node{Tag: "list", Content: items}
	}
	w.srv.HandleIQ(func(_ *fakewa.Conn, n *waBinary.Node) (waBinary.Node, bool) {
		xmlns, _ := n.Attrs["xmlns"].(string)
		typ, _ := n.Attrs["type"].(string)
		to, _ := n.Attrs["to"].(types.JID)
		var child waBinary.Node
		if kids := n.GetChildren(); len(kids) > 0 {
			child = kids[0]
		}
		mu.Lock()
		iqs = append(iqs, n)
		mu.Unlock()
		switch {
		case xmlns == "blocklist" && typ == "get":
			return fakewa.IQResult(listNode()), true
		case xmlns == "blocklist" && typ == "set":
			jid, _ := child.Attrs["jid"].(types.JID)
			mu.Lock()
			if child.Attrs["action"] == "block" {
				list = append(list, jid)
			} else {
				list = []types.JID{carol}
			}
			mu.Unlock()
			return fakewa.IQResult(listNode()), true
		case xmlns == "w:sync:app:state":
			name, _ := child.GetChildByTag("collection").Attrs["name"].(string)
			return fakewa.IQResult(waBinary.Node{Tag: "sync", Content: []waBinary.Node{{Tag: "collection",
				Attrs: waBinary.Attrs{"name": name, "version": 1}}}}), true
		case xmlns == "w:profile:picture" && typ == "set":
			return fakewa.IQResult(waBinary.Node{Tag: "picture", Attrs: waBinary.Attrs{"id": "PIC2"}}), true
		case xmlns == "w:g2" && to == unknown:
			return fakewa.IQError(404, "item-not-found"), true
		case xmlns == "w:g2":
			switch child.Tag {
			case "membership_approval_requests":
				return fakewa.IQResult(waBinary.Node{Tag: "membership_approval_requests", Content: []waBinary.Node{{
					Tag: "membership_approval_request", Attrs: waBinary.Attrs{"jid": bobJID, "request_time": 1700000000}}}}), true
			case "membership_requests_action":
				action := child.GetChildren()[0]
				var res []waBinary.Node
				for _, p := range action.GetChildren() {
					res = append(res, waBinary.Node{Tag: "participant", Attrs: waBinary.Attrs{"jid": p.Attrs["jid"]}})
				}
				return fakewa.IQResult(waBinary.Node{Tag: "membership_requests_action",
					Content: []waBinary.Node{{Tag: action.Tag, Content: res}}}), true
			case "ephemeral", "not_ephemeral":
				return fakewa.IQResult(), true
			}
			return fakewa.IQResult(), true
		}
		return waBinary.Node{}, false
	})

	// Blocklist.
	if got, err := o.Blocklist(ctx); err != nil || !reflect.DeepEqual(got, []string{carol.String()}) {
		t.Fatalf("Blocklist = %v, %v", got, err)
	}
	if err := o.SetBlocked(ctx, bob, true); err != nil {
		t.Fatalf("block: %v", err)
	}
	n := seen(func(n *waBinary.Node) bool { return n.Attrs["xmlns"] == "blocklist" && n.Attrs["type"] == "set" })
	if item := n.GetChildByTag("item"); item.Attrs["action"] != "block" || item.Attrs["jid"] != bobJID {
		t.Fatalf("block stanza %s", n.XMLString())
	}
	if err := o.SetBlocked(ctx, bob, false); err != nil {
		t.Fatalf("unblock: %v", err)
	}
	n = seen(func(n *waBinary.Node) bool { return n.Attrs["xmlns"] == "blocklist" && n.Attrs["type"] == "set" })
	if n.GetChildByTag("item").Attrs["action"] != "unblock" {
		t.Fatalf("unblock stanza %s", n.XMLString())
	}
	if err := o.SetBlocked(ctx, "not a number", true); !errors.Is(err, engine.ErrInvalidPhone) {
		t.Fatalf("block bad number: %v", err)
	}

	// LIDs: dave's comes from WhatsApp (usync), a LID stays itself; bob
	// (no LID) and a number not on WhatsApp are left out.
	davePeer, err := w.srv.AddPeer(fakewa.PeerOptions{Phone: "15552223333", LID: "99887766554433", PushName: "Dave"})
	if err != nil {
		t.Fatal(err)
	}
	w.srv.NotOnWhatsApp("15550000000")
	lids, err := o.LIDs(ctx, []string{davePeer.JID().String(), bob, "15550000000", "123456789@lid"})
	if err != nil {
		t.Fatalf("LIDs: %v", err)
	}
	want := map[string]string{davePeer.JID().String(): "99887766554433@lid", "123456789@lid": "123456789@lid"}
	if !reflect.DeepEqual(lids, want) {
		t.Fatalf("LIDs = %v, want %v", lids, want)
	}

	// The address book: a contact action in the critical_unblock_low
	// collection, encrypted with the account's app state key.
	cli, _, _, err := o.online()
	if err != nil {
		t.Fatal(err)
	}
	if err := o.SaveContact(ctx, bob, "Bob B"); err == nil {
		t.Fatal("SaveContact without app state keys worked")
	}
	keyID := []byte("wagate-key-1")
	if err := cli.Store.AppStateKeys.PutAppStateSyncKey(ctx, keyID, wstore.AppStateSyncKey{Data: bytes.Repeat([]byte{7}, 32),
		Fingerprint: []byte{1}, Timestamp: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}
	if err := o.SaveContact(ctx, bob, "Bob B"); err != nil {
		t.Fatalf("SaveContact: %v", err)
	}
	n = seen(func(n *waBinary.Node) bool {
		c, ok := n.GetOptionalChildByTag("sync", "collection", "patch")
		return n.Attrs["xmlns"] == "w:sync:app:state" && ok && len(c.Content.([]byte)) > 0
	})
	if n == nil {
		t.Fatal("no app state patch sent")
	}
	coll := n.GetChildByTag("sync", "collection")
	var patch waServerSync.SyncdPatch
	if err := proto.Unmarshal(coll.GetChildByTag("patch").Content.([]byte), &patch); err != nil {
		t.Fatal(err)
	}
	if coll.Attrs["name"] != "critical_unblock_low" || len(patch.GetMutations()) != 1 ||
		patch.GetMutations()[0].GetOperation() != waServerSync.SyncdMutation_SET || !bytes.Equal(patch.GetKeyID().GetID(), keyID) {
		t.Fatalf("contact patch: %s %v", coll.XMLString(), &patch)
	}
	if err := o.DeleteContact(ctx, bob); !errors.Is(err, engine.ErrUnsupported) {
		t.Fatalf("DeleteContact: %v", err)
	}

	// Profile picture: the picture IQ without a target.
	if err := o.SetProfilePhoto(ctx, []byte{0xff, 0xd8, 0xff}); err != nil {
		t.Fatalf("SetProfilePhoto: %v", err)
	}
	n = seen(func(n *waBinary.Node) bool {
		return n.Attrs["xmlns"] == "w:profile:picture" && n.Attrs["type"] == "set"
	})
	if _, ok := n.Attrs["target"]; ok || n.GetChildByTag("picture").Attrs["type"] != "image" {
		t.Fatalf("profile picture stanza %s", n.XMLString())
	}

	// Pin a message bob sent, for a week: bob gets a pin-in-chat message.
	if err := o.PinMessage(ctx, bob, bob, "3EB0AAAA", 7*24*time.Hour); err != nil {
		t.Fatalf("PinMessage: %v", err)
	}
	r, err := bobPeer.Wait(ctx, func(r fakewa.Received) bool { return r.Message.GetPinInChatMessage() != nil })
	if err != nil {
		t.Fatal(err)
	}
	pin := r.Message.GetPinInChatMessage()
	if pin.GetType() != waE2E.PinInChatMessage_PIN_FOR_ALL || pin.GetKey().GetID() != "3EB0AAAA" || pin.GetKey().GetFromMe() ||
		r.Message.GetMessageContextInfo().GetMessageAddOnDurationInSecs() != 7*24*3600 {
		t.Fatalf("pin = %v", r.Message)
	}
	if err := o.PinMessage(ctx, bob, "", "3EB0BBBB", 0); err != nil {
		t.Fatalf("unpin: %v", err)
	}
	r, err = bobPeer.Wait(ctx, func(r fakewa.Received) bool {
		return r.Message.GetPinInChatMessage().GetType() == waE2E.PinInChatMessage_UNPIN_FOR_ALL
	})
	if err != nil || !r.Message.GetPinInChatMessage().GetKey().GetFromMe() {
		t.Fatalf("unpin = %v, %v", r.Message, err)
	}

	// Disappearing messages with bob: a protocol message.
	if err := o.SetDisappearing(ctx, bob, 7*24*time.Hour); err != nil {
		t.Fatalf("SetDisappearing: %v", err)
	}
	r, err = bobPeer.Wait(ctx, func(r fakewa.Received) bool {
		return r.Message.GetProtocolMessage().GetType() == waE2E.ProtocolMessage_EPHEMERAL_SETTING
	})
	if err != nil || r.Message.GetProtocolMessage().GetEphemeralExpiration() != 7*24*3600 {
		t.Fatalf("ephemeral = %v, %v", r.Message, err)
	}

	// Group settings: one IQ each, the group's own.
	for _, c := range []struct {
		setting    engine.GroupSetting
		adminsOnly bool
		tag        string
	}{
		{engine.SettingSendMessages, true, "announcement"},
		{engine.SettingSendMessages, false, "not_announcement"},
		{engine.SettingEditInfo, true, "locked"},
		{engine.SettingApprove, true, "membership_approval_mode"},
		{engine.SettingAddParticipants, false, "member_add_mode"},
	} {
		if err := o.SetGroupSetting(ctx, group.String(), c.setting, c.adminsOnly); err != nil {
			t.Fatalf("%s: %v", c.setting, err)
		}
		n := seen(func(n *waBinary.Node) bool { return n.Attrs["xmlns"] == "w:g2" && len(n.GetChildren()) > 0 })
		kid := n.GetChildren()[0]
		if kid.Tag != c.tag || n.Attrs["to"] != group {
			t.Fatalf("%s: stanza %s", c.setting, n.XMLString())
		}
		switch c.tag {
		case "membership_approval_mode":
			if kid.GetChildByTag("group_join").Attrs["state"] != "on" {
				t.Fatalf("approval stanza %s", n.XMLString())
			}
		case "member_add_mode":
			if string(kid.Content.([]byte)) != "all_member_add" {
				t.Fatalf("add mode stanza %s", n.XMLString())
			}
		}
	}
	if err := o.SetGroupSetting(ctx, unknown.String(), engine.SettingEditInfo, true); !errors.Is(err, engine.ErrGroupNotFound) {
		t.Fatalf("setting of an unknown group: %v", err)
	}
	if err := o.SetGroupSetting(ctx, group.String(), "colour", true); !errors.Is(err, engine.ErrUnsupported) {
		t.Fatalf("unknown setting: %v", err)
	}

	// Join requests.
	reqs, err := o.GroupRequests(ctx, group.String())
	if err != nil || len(reqs) != 1 || reqs[0].User != bob || !reqs[0].Time.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("GroupRequests = %+v, %v", reqs, err)
	}
	res, err := o.AnswerGroupRequests(ctx, group.String(), []string{bob}, true)
	if err != nil || len(res) != 1 || res[0].Error != "" || res[0].JID != bob {
		t.Fatalf("AnswerGroupRequests = %+v, %v", res, err)
	}
	n = seen(func(n *waBinary.Node) bool {
		_, ok := n.GetOptionalChildByTag("membership_requests_action")
		return ok
	})
	if n.GetChildByTag("membership_requests_action", "approve", "participant").Attrs["jid"] != bobJID {
		t.Fatalf("approve stanza %s", n.XMLString())
	}
	if _, err := o.GroupRequests(ctx, unknown.String()); !errors.Is(err, engine.ErrGroupNotFound) {
		t.Fatalf("requests of an unknown group: %v", err)
	}

	// The newer kinds, as bob decrypts them.
	sendBob := func(c engine.Content) *waE2E.Message {
		t.Helper()
		sent, err := o.Send(ctx, bob, c)
		if err != nil {
			t.Fatalf("Send %s: %v", c.Kind, err)
		}
		r, err := bobPeer.Wait(ctx, func(r fakewa.Received) bool { return r.ID == sent.ID })
		if err != nil || r.Err != nil {
			t.Fatalf("bob did not decrypt the %s: %v %v", c.Kind, err, r.Err)
		}
		return r.Message
	}
	m := sendBob(engine.Content{Kind: engine.KindShort, Media: &engine.Media{Data: []byte("mp4 bytes"), MimeType: "video/mp4", Seconds: 3}})
	if m.GetPtvMessage().GetMimetype() != "video/mp4" || m.GetPtvMessage().GetSeconds() != 3 || m.GetVideoMessage() != nil {
		t.Fatalf("short = %v", m)
	}
	m = sendBob(engine.Content{Kind: engine.KindLiveLocation, LiveLocation: &engine.LiveLocation{Latitude: 52.5, Longitude: 13.4,
		Accuracy: 10, Degrees: 90, Caption: "On my way", Sequence: 2}})
	if l := m.GetLiveLocationMessage(); l.GetDegreesLatitude() != 52.5 || l.GetAccuracyInMeters() != 10 ||
		l.GetDegreesClockwiseFromMagneticNorth() != 90 || l.GetCaption() != "On my way" || l.GetSequenceNumber() != 2 {
		t.Fatalf("live location = %v", m)
	}
	vcard := "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nEND:VCARD"
	m = sendBob(engine.Content{Kind: engine.KindContactList, Contacts: []engine.ContactCard{{Name: "Ann", VCard: vcard}, {VCard: vcard}}})
	if a := m.GetContactsArrayMessage(); len(a.GetContacts()) != 2 || a.GetContacts()[1].GetDisplayName() != "Ann" ||
		a.GetDisplayName() != "Ann and 1 other contacts" {
		t.Fatalf("contact list = %v", m)
	}
	if _, err := o.Send(ctx, bob, engine.Content{Kind: engine.KindContactList}); !errors.Is(err, engine.ErrInvalidContent) {
		t.Fatalf("empty contact list: %v", err)
	}

	// Group picture: the URL WhatsApp gives, downloaded.
	jpeg := []byte("\xff\xd8\xff\xe0 a picture")
	w.srv.SetProfilePicture(jpeg)
	if pic, err := o.GroupPhoto(ctx, group.String()); err != nil || !bytes.Equal(pic, jpeg) {
		t.Fatalf("GroupPhoto = %q, %v", pic, err)
	}
}
