package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/store/storetest"
)

// linkQRHistory links a channel to a sim phone that sends its history.
func (s *liveServer) linkQRHistory(token, phone string) {
	s.t.Helper()
	for try := 0; ; try++ {
		qr := s.call(200, "GET", "/users/login", token, nil)
		code, body := s.try("POST", "/admin/sim/phones/"+phone+"/link", adminToken, map[string]any{"qr": qr["rowdata"], "history": true})
		if code == 200 {
			return
		}
		if code != 410 || try > 5 {
			s.t.Fatalf("link: %d %s", code, body)
		}
	}
}

// A sim phone linking with history: the channel imports its recent chats
// and messages within its history settings, reported as chats.post and
// messages.put (never messages.post), keeps the names and LID pairs (a
// chat kept under a LID merges into the number's), and a channel whose
// import is off keeps only the pairs and names.
func TestHistorySyncSim(t *testing.T) {
	s := startHooked(t, testConfig(t, storetest.Backends(t)[0]), app.Options{})
	hooks := newReceiver(t)
	const me, ann, ben, cat = "15556660001", "15556660002", "15556660003", "15556660004"
	for _, p := range []struct{ phone, name string }{{me, "Me"}, {ann, "Ann"}, {ben, "Ben"}, {cat, "Cat"}} {
		s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": p.phone, "name": p.name})
	}
	// The phone's past: 3 messages with Ann, 1 with Ben, before any link.
	for _, m := range []struct{ from, to, body string }{{ann, me, "a1"}, {me, ann, "a2"}, {ann, me, "a3"}, {ben, me, "b1"}} {
		s.call(201, "POST", "/admin/sim/phones/"+m.from+"/messages", adminToken, map[string]any{"to": m.to, "body": m.body})
	}
	ptok := s.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "hist", "email": "h@example.test", "days": 20})["token"].(string)
	tok := s.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "Hist"})["token"].(string)
	set := s.call(200, "PATCH", "/settings", tok, map[string]any{"history": map[string]any{"messages": 2},
		"webhooks": []any{map[string]any{"url": hooks.srv.URL + "/h", "events": subscribe("messages.post", "messages.put", "chats.post", "chats.delete")}}})
	if h := set["after_update"].(map[string]any)["history"].(map[string]any); num(h["messages"]) != 2 || num(h["days"]) != 30 {
		t.Fatalf("history settings = %v", h)
	}
	s.linkQRHistory(tok, me)
	put := hooks.wait(t, "messages.put", func(c hookCall) bool { return strings.Contains(string(c.Raw), "a3") })
	msgs := put.Body["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["text"].(map[string]any)["body"] != "a2" {
		t.Fatalf("messages.put = %s", put.Raw)
	}
	hooks.wait(t, "chats.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), ann+"@s.whatsapp.net") })
	hooks.wait(t, "messages.put", func(c hookCall) bool { return strings.Contains(string(c.Raw), "b1") })
	chats := s.call(200, "GET", "/chats", tok, nil)["chats"].([]any)
	if len(chats) != 2 {
		t.Fatalf("chats = %v", chats)
	}
	for _, c := range chats {
		cm := c.(map[string]any)
		if cm["id"] == ann+"@s.whatsapp.net" && (cm["lid"] != sim.LID(ann) || cm["name"] != "Ann") {
			t.Fatalf("Ann's chat = %v", cm)
		}
	}
	if c := s.call(200, "GET", "/contacts/"+ben, tok, nil); c["pushname"] != "Ben" || c["lid"] != sim.LID(ben) {
		t.Fatalf("Ben's contact = %v", c)
	}
	// A live message now is messages.post (by LID alone: in a chat under
	// the LID, Cat being in no history yet); nothing imported was.
	s.call(201, "POST", "/admin/sim/phones/"+cat+"/messages", adminToken, map[string]any{"to": me, "body": "live", "addressing": "lid_only"})
	hooks.wait(t, "messages.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), "live") })
	s.call(200, "GET", "/chats/"+sim.LID(cat), tok, nil)
	// Once the number is learned (a lookup here), the LID's chat is gone
	// and the number's is new, with the message.
	s.call(200, "GET", "/contacts/lids/"+cat, tok, nil)
	hooks.wait(t, "chats.delete", func(c hookCall) bool { return strings.Contains(string(c.Raw), sim.LID(cat)) })
	hooks.wait(t, "chats.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), cat+"@s.whatsapp.net") })
	s.call(404, "GET", "/chats/"+sim.LID(cat), tok, nil)
	if m := s.call(200, "GET", "/messages/list/"+cat, tok, nil)["messages"].([]any); len(m) != 1 {
		t.Fatalf("Cat's messages after the merge = %v", m)
	}
	hooks.mu.Lock()
	for _, c := range hooks.calls {
		if c.Event == "messages.post" && !strings.Contains(string(c.Raw), "live") {
			t.Errorf("an imported message came as messages.post: %s", c.Raw)
		}
	}
	hooks.mu.Unlock()
	hooks.conforms(t, "WebhookPayload")

	// Another channel of the same account with the import off: no chats,
	// the pairs and names all the same.
	tok2 := s.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "Off"})["token"].(string)
	s.call(200, "PATCH", "/settings", tok2, map[string]any{"history": map[string]any{"messages": 0}})
	s.call(400, "PATCH", "/settings", tok2, map[string]any{"history": map[string]any{"days": 366}})
	s.linkQRHistory(tok2, me)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := s.call(200, "GET", "/contacts/"+ann, tok2, nil)
		if c["lid"] == sim.LID(ann) && c["pushname"] == "Ann" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second channel did not keep the pairs and names: %v", c)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if chats := s.call(200, "GET", "/chats", tok2, nil)["chats"].([]any); len(chats) != 0 {
		t.Fatalf("chats imported with the import off: %v", chats)
	}
}
