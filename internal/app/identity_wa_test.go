package app_test

import (
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/proto/waWeb"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/fakewa"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestIdentityHistoryWhatsmeow plays identity and history sync through the
// fake WhatsApp server and the whole server: a contact arriving by
// number, by LID with the number and by LID alone is one chat with one ID
// and its LID; a history sync fills chats, messages (messages.put, never
// messages.post), names and mappings.
func TestIdentityHistoryWhatsmeow(t *testing.T) {
	fw := fakewa.New(t, fakewa.Options{})
	w := startWA(t, fw, waConfig(t, storetest.Backends(t)[0]), waOptions(fw))
	c := w.newChannel(t, "waident", "15553400001")
	dave, err := fw.AddPeer(fakewa.PeerOptions{Phone: "15553400002", LID: "912345678901234", PushName: "Dave"})
	if err != nil {
		t.Fatal(err)
	}
	s := w.liveServer
	s.call(200, "PATCH", "/settings", c.tok, map[string]any{"webhooks": []any{map[string]any{"url": c.hooks.srv.URL + "/c",
		"events": subscribe("messages.post", "messages.put", "chats.post")}}})
	davePN, daveLID := dave.JID().String(), dave.LID().String()
	for _, by := range []string{"", fakewa.AddressLID, fakewa.AddressLIDOnly} {
		in, err := dave.SendWith(c.acct, &waE2E.Message{Conversation: proto.String("by " + by)}, fakewa.SendOptions{Addressing: by})
		if err != nil {
			t.Fatal(err)
		}
		post := c.hooks.wait(t, "messages.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), in.ID) })
		m := post.Body["messages"].([]any)[0].(map[string]any)
		if m["chat_id"] != davePN || m["from"] != dave.JID().User {
			t.Fatalf("message by %q = %v", by, m)
		}
	}
	chats := s.call(200, "GET", "/chats", c.tok, nil)["chats"].([]any)
	if len(chats) != 1 || chats[0].(map[string]any)["id"] != davePN || chats[0].(map[string]any)["lid"] != daveLID {
		t.Fatalf("chats = %v", chats)
	}
	if got := s.call(200, "GET", "/contacts/lids/"+dave.JID().User, c.tok, nil); got["lid"] != daveLID {
		t.Fatalf("Dave's LID = %v", got)
	}

	// History: Erin's chat (by LID in the chunk, the mapping beside it)
	// with 2 messages, and a push name.
	const erinPN, erinLID = "15553400003@s.whatsapp.net", "812345678901234@lid"
	now := time.Now().Truncate(time.Second)
	hmsg := func(id, text string, fromMe bool, at time.Time) *waHistorySync.HistorySyncMsg {
		return &waHistorySync.HistorySyncMsg{Message: &waWeb.WebMessageInfo{
			Key:     &waCommon.MessageKey{RemoteJID: proto.String(erinLID), FromMe: proto.Bool(fromMe), ID: proto.String(id)},
			Message: &waE2E.Message{Conversation: proto.String(text)}, MessageTimestamp: proto.Uint64(uint64(at.Unix())),
		}}
	}
	notice, err := fw.HistorySync(&waHistorySync.HistorySync{
		SyncType: waHistorySync.HistorySync_INITIAL_BOOTSTRAP.Enum(), ChunkOrder: proto.Uint32(1),
		Conversations: []*waHistorySync.Conversation{{ID: proto.String(erinLID), Name: proto.String("Erin"),
			ConversationTimestamp: proto.Uint64(uint64(now.Add(-time.Hour).Unix())),
			Messages:              []*waHistorySync.HistorySyncMsg{hmsg("HE2", "see you", true, now.Add(-time.Hour)), hmsg("HE1", "hello from the past", false, now.Add(-2*time.Hour))}}},
		PhoneNumberToLidMappings: []*waHistorySync.PhoneNumberToLIDMapping{{PnJID: proto.String(erinPN), LidJID: proto.String(erinLID)}},
		Pushnames:                []*waHistorySync.Pushname{{ID: proto.String(erinPN), Pushname: proto.String("Erin E.")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.OwnPhone(c.acct).Send(c.acct, notice); err != nil {
		t.Fatal(err)
	}
	put := c.hooks.wait(t, "messages.put", func(h hookCall) bool { return strings.Contains(string(h.Raw), "HE1") })
	if msgs := put.Body["messages"].([]any); len(msgs) != 2 || msgs[0].(map[string]any)["chat_id"] != erinPN {
		t.Fatalf("messages.put = %s", put.Raw)
	}
	c.hooks.wait(t, "chats.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), erinPN) })
	if ct := s.call(200, "GET", "/contacts/"+strings.TrimSuffix(erinPN, "@s.whatsapp.net"), c.tok, nil); ct["pushname"] != "Erin E." || ct["lid"] != erinLID {
		t.Fatalf("Erin's contact = %v", ct)
	}
	c.hooks.mu.Lock()
	for _, h := range c.hooks.calls {
		if h.Event == "messages.post" && (strings.Contains(string(h.Raw), `"id":"HE1"`) || strings.Contains(string(h.Raw), `"id":"HE2"`)) {
			t.Errorf("an imported message came as messages.post: %s", h.Raw)
		}
	}
	c.hooks.mu.Unlock()
	c.hooks.conforms(t, "WebhookPayload")
}
