package whatsmeow

import (
	"slices"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/proto/waWeb"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

// A history sync through the fake server: the account's phone announces
// a chunk, the session reports its notice (not downloading it), and
// FetchHistory downloads it and gives the chats by number (a chat kept
// under a LID included) with their newest messages within the limits,
// every mapping and push name, and what the limits skipped; whatsmeow's
// LID store keeps the mappings too.
func TestHistorySyncFetched(t *testing.T) {
	w := newWorld(t, Options{})
	const phone = "15551234567"
	o := w.connectStored(phone, 4, engine.SessionConfig{})
	ctx := ctxT(t)
	now := time.Now().Truncate(time.Second)
	const davePN, daveLID, erinPN = "15550002222@s.whatsapp.net", "987654321098765@lid", "15550003333@s.whatsapp.net"
	msg := func(chat, id, text string, fromMe bool, at time.Time) *waHistorySync.HistorySyncMsg {
		return &waHistorySync.HistorySyncMsg{Message: &waWeb.WebMessageInfo{
			Key:     &waCommon.MessageKey{RemoteJID: proto.String(chat), FromMe: proto.Bool(fromMe), ID: proto.String(id)},
			Message: &waE2E.Message{Conversation: proto.String(text)}, MessageTimestamp: proto.Uint64(uint64(at.Unix())),
		}}
	}
	hs := &waHistorySync.HistorySync{
		SyncType: waHistorySync.HistorySync_INITIAL_BOOTSTRAP.Enum(), ChunkOrder: proto.Uint32(1),
		Conversations: []*waHistorySync.Conversation{
			{ID: proto.String(daveLID), Name: proto.String("Dave"), UnreadCount: proto.Uint32(1), Archived: proto.Bool(true),
				ConversationTimestamp: proto.Uint64(uint64(now.Add(-time.Hour).Unix())),
				Messages: []*waHistorySync.HistorySyncMsg{ // newest first, as phones send them
					msg(daveLID, "H3", "third", false, now.Add(-time.Hour)),
					msg(daveLID, "H2", "second", true, now.Add(-2*time.Hour)),
					msg(daveLID, "H1", "first", false, now.Add(-3*time.Hour)),
				}},
			{ID: proto.String(erinPN), ConversationTimestamp: proto.Uint64(uint64(now.AddDate(0, 0, -40).Unix())),
				Messages: []*waHistorySync.HistorySyncMsg{msg(erinPN, "E1", "old", false, now.AddDate(0, 0, -40))}},
		},
		PhoneNumberToLidMappings: []*waHistorySync.PhoneNumberToLIDMapping{
			{PnJID: proto.String(davePN), LidJID: proto.String(daveLID)},
			{PnJID: proto.String("not a jid@@"), LidJID: proto.String("1@lid")}, // malformed: skipped
		},
		Pushnames: []*waHistorySync.Pushname{{ID: proto.String(erinPN), Pushname: proto.String("Erin")}},
	}
	notice, err := w.srv.HistorySync(hs)
	if err != nil {
		t.Fatal(err)
	}
	n := len(o.rec.all())
	if _, err := w.srv.OwnPhone(o.acct).Send(o.acct, notice); err != nil {
		t.Fatal(err)
	}
	ev, _ := o.rec.wait(t, n, wait, isType[engine.HistoryNotice])
	hn := ev.(engine.HistoryNotice)
	if hn.ID == "" || len(hn.Ref) == 0 {
		t.Fatalf("notice = %+v", hn)
	}

	h, err := o.FetchHistory(ctx, hn.Ref, engine.HistoryLimits{Messages: 2, Since: now.AddDate(0, 0, -30)})
	if err != nil {
		t.Fatalf("FetchHistory: %v", err)
	}
	if len(h.Chats) != 1 || h.SkippedChats != 1 || h.SkippedMessages != 2 {
		t.Fatalf("chats %d, skipped %d chats and %d messages", len(h.Chats), h.SkippedChats, h.SkippedMessages)
	}
	c := h.Chats[0]
	if c.ID != davePN || c.LID != daveLID || c.Name != "Dave" || c.Unread != 1 || !c.Archived {
		t.Fatalf("chat = %+v", c)
	}
	if len(c.Messages) != 2 || c.Messages[0].ID != "H2" || !c.Messages[0].FromMe || c.Messages[1].ID != "H3" ||
		c.Messages[1].Text != "third" || c.Messages[1].Chat != davePN || c.Messages[1].Sender != davePN {
		t.Fatalf("messages = %+v", c.Messages)
	}
	if !slices.Contains(h.Mappings, engine.LIDPair{LID: daveLID, PN: davePN}) || len(h.Mappings) != 1 {
		t.Fatalf("mappings = %+v", h.Mappings)
	}
	if len(h.PushNames) != 1 || h.PushNames[0] != (engine.PushName{User: erinPN, Name: "Erin"}) {
		t.Fatalf("push names = %+v", h.PushNames)
	}
	lid, _ := types.ParseJID(daveLID)
	if pn, err := o.cli.Store.LIDs.GetPNForLID(ctx, lid); err != nil || pn.String() != davePN {
		t.Fatalf("whatsmeow's LID store: %v %v", pn, err)
	}
	// The import off: mappings and names only.
	h, err = o.FetchHistory(ctx, hn.Ref, engine.HistoryLimits{})
	if err != nil || len(h.Chats) != 0 || len(h.Mappings) != 1 || h.SkippedChats != 2 {
		t.Fatalf("import off: %+v %v", h, err)
	}
	// A reference that is no notice is refused.
	if _, err := o.FetchHistory(ctx, []byte("garbage"), engine.HistoryLimits{}); err == nil {
		t.Fatal("a garbage reference was accepted")
	}
}
