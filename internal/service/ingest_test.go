package service_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
)

// svHooked subscribes a channel to every event of its webhook and returns
// a function listing the deliveries enqueued since, as "type.method".
func svHooked(t *testing.T, f *svFixture, ch model.Channel) func() []string {
	t.Helper()
	hooks := []model.ChannelWebhook{{URL: "https://hooks.example/in", Events: []model.WebhookEvent{
		{Type: "messages", Method: "post"}, {Type: "messages", Method: "patch"},
	}}}
	if _, err := f.svc.UpdateChannelSettings(f.ctx, ch, service.ChannelSettingsPatch{Webhooks: &hooks}); err != nil {
		t.Fatal(err)
	}
	return func() []string {
		t.Helper()
		log, _, err := f.st.DeliveryLog(f.ctx, ch.PartnerID, ch.ID, store.DeliveryQuery{Count: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := len(log) - 1; i >= 0; i-- { // oldest first
			out = append(out, log[i].Delivery.Type+"."+log[i].Delivery.Method)
		}
		return out
	}
}

// WhatsApp may deliver a message again (the connection dropped before the
// acknowledgement, or it simply sends it twice): it is stored once and
// reported once.
func TestIngestOnce(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		ch := f.svLinked(t, "15550000001")
		deliveries := svHooked(t, f, ch)
		m := engine.Message{ID: "3EB0DUP", Chat: svUser("15550000002"), Sender: svUser("15550000002"), PushName: "Bob",
			Text: "hello", Time: svT0, Content: engine.Content{Kind: engine.KindText, Text: "hello"}}
		for range 3 {
			mustIngest(t, f.svc, ch.ID, m)
		}
		msgs, _, err := f.st.Messages(f.ctx, ch.ID, store.MessageQuery{Count: 10})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("messages %+v, %v", msgs, err)
		}
		if got := deliveries(); !slices.Equal(got, []string{"messages.post"}) {
			t.Errorf("deliveries %v", got)
		}
	})
}

// A message that could not be decrypted is stored as a placeholder,
// reported and counted; when it arrives decrypted, the placeholder takes its
// content and messages.patch says so.
func TestIngestUndecryptableThenDecrypted(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		ch := f.svLinked(t, "15550000001")
		deliveries := svHooked(t, f, ch)
		bob := svUser("15550000002")
		u := engine.Undecryptable{ID: "3EB0CIPHER", Chat: bob, Sender: bob, PushName: "Bob", Time: svT0}
		mustIngest(t, f.svc, ch.ID, u)
		mustIngest(t, f.svc, ch.ID, u) // counted once
		m, err := f.st.Message(f.ctx, ch.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Type != engine.KindSystem || m.Subtype != service.SubtypeCiphertext || m.Body == "" || m.Sender != bob {
			t.Errorf("placeholder %+v", m)
		}
		counters, err := f.st.ChannelCounters(f.ctx, ch.ID)
		if err != nil || counters[store.CounterUndecryptable].Count != 1 {
			t.Errorf("counters %+v, %v", counters, err)
		}

		mustIngest(t, f.svc, ch.ID, engine.Message{ID: u.ID, Chat: bob, Sender: bob, PushName: "Bob", Text: "the secret",
			Time: svT0, Content: engine.Content{Kind: engine.KindText, Text: "the secret"}})
		m, err = f.st.Message(f.ctx, ch.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Body string }
		_ = json.Unmarshal(m.Content, &body)
		if m.Type != engine.KindText || m.Subtype != "" || m.Body != "the secret" || body.Body != "the secret" {
			t.Errorf("resolved %+v", m)
		}
		if got := deliveries(); !slices.Equal(got, []string{"messages.post", "messages.patch"}) {
			t.Errorf("deliveries %v", got)
		}
		// A third copy changes nothing.
		mustIngest(t, f.svc, ch.ID, engine.Message{ID: u.ID, Chat: bob, Sender: bob, Text: "the secret", Time: svT0})
		if got := deliveries(); len(got) != 2 {
			t.Errorf("deliveries after a duplicate %v", got)
		}
	})
}

// What a channel sent is kept for retry receipts, and pruned after the
// retention.
func TestSentPayloadsKeptAndPruned(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		ch := f.svLinked(t, "15550000001")
		m := model.Message{ChannelID: ch.ID, ID: "3EB0SENT", ChatID: svUser("15550000002"), FromMe: true, Type: "text",
			Source: "api", Status: model.MessagePending, Time: svT0}
		if _, err := f.st.InsertNewMessage(f.ctx, store.NewMessage{Message: m, Payload: []byte("encoded")}); err != nil {
			t.Fatal(err)
		}
		if p, err := f.st.SentPayload(f.ctx, ch.ID, m.ID); err != nil || string(p) != "encoded" {
			t.Fatalf("SentPayload = %q, %v", p, err)
		}
		if p, err := f.st.SentPayload(f.ctx, "OTHERCH-00001", m.ID); err != nil || p != nil {
			t.Errorf("another channel's SentPayload = %q, %v", p, err)
		}
		n, err := f.st.PruneSentPayloads(f.ctx, svT0.Add(-time.Hour), 10)
		if err != nil || n != 0 {
			t.Errorf("prune before: %d, %v", n, err)
		}
		n, err = f.st.PruneSentPayloads(f.ctx, svT0.Add(time.Hour), 10)
		if err != nil || n != 1 {
			t.Errorf("prune after: %d, %v", n, err)
		}
		if p, _ := f.st.SentPayload(f.ctx, ch.ID, m.ID); p != nil {
			t.Errorf("pruned payload still there: %q", p)
		}
	})
}
