package app_test

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/engine/sim"
)

// One identity per person, on the sim engine through the HTTP API: a
// contact whose messages come by number, then by LID with the number
// beside it, is one chat with one ID showing its LID; a contact who comes
// by LID alone has a chat under the LID until the channel learns the
// number (here by a LID lookup), when that chat merges into the number's.
func testIdentity(t *testing.T, e *env) {
	const owner, bea, cid = "15554440001", "15554440002", "15554440003"
	_, ptok := e.partner("identity", 20)
	tok, _ := e.linkedChannel(ptok, "Identity", owner)
	e.simPhone(bea, "Bea")
	e.simPhone(cid, "Cid")
	send := func(from, body, by string) {
		t.Helper()
		e.ok(201, "POST", "/admin/sim/phones/"+from+"/messages", adminToken, map[string]any{"to": owner, "body": body, "addressing": by})
	}
	chats := func() map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, c := range e.ok(200, "GET", "/chats", tok, nil)["chats"].([]any) {
			m := c.(map[string]any)
			out[m["id"].(string)] = m
		}
		return out
	}
	messagesOf := func(chat string) []any {
		return e.ok(200, "GET", "/messages/list/"+chat, tok, nil)["messages"].([]any)
	}
	beaPN, beaLID := bea+"@s.whatsapp.net", sim.LID(bea)
	send(bea, "by number", "number")
	send(bea, "by LID", "lid")
	e.eventually("Bea's two messages", func() bool { return len(e.ok(200, "GET", "/messages/list", tok, nil)["messages"].([]any)) == 2 })
	cs := chats()
	if len(cs) != 1 || cs[beaPN] == nil || cs[beaPN]["lid"] != beaLID {
		t.Fatalf("chats after Bea's messages = %v", cs)
	}
	for _, m := range messagesOf(beaPN) {
		if mm := m.(map[string]any); mm["chat_id"] != beaPN || mm["from"] != bea {
			t.Fatalf("Bea's message = %v", mm)
		}
	}

	// Cid by LID alone: a chat under the LID, addressable by it.
	cidPN, cidLID := cid+"@s.whatsapp.net", sim.LID(cid)
	send(cid, "hidden number", "lid_only")
	e.eventually("Cid's LID chat", func() bool { return chats()[cidLID] != nil })
	if m := messagesOf(cidLID); len(m) != 1 || m[0].(map[string]any)["from"] != cidLID {
		t.Fatalf("messages of the LID chat = %v", m)
	}
	e.ok(200, "GET", "/chats/"+cidLID, tok, nil)
	e.fail(400, "LID", "GET", "/contacts/lids/12ab@lid", tok, nil)

	// The lookup teaches the pair: one chat, by number, with the LID.
	if got := e.ok(200, "GET", "/contacts/lids/"+cid, tok, nil); got["lid"] != cidLID {
		t.Fatalf("Cid's LID = %v", got)
	}
	cs = chats()
	if cs[cidLID] != nil || cs[cidPN] == nil || cs[cidPN]["lid"] != cidLID || len(cs) != 2 {
		t.Fatalf("chats after the lookup = %v", cs)
	}
	if m := messagesOf(cidPN); len(m) != 1 || m[0].(map[string]any)["from"] != cid {
		t.Fatalf("Cid's merged messages = %v", m)
	}
	// Cid's next LID-only message lands in the number's chat.
	send(cid, "hidden again", "lid_only")
	e.eventually("Cid's second message", func() bool { return len(messagesOf(cidPN)) == 2 })
	if len(chats()) != 2 {
		t.Fatalf("chats = %v", chats())
	}
	// Lookups answer from the kept pairs, both forms of input.
	got := e.ok(200, "GET", "/contacts/lids?ContactIDList="+bea+","+cidPN, tok, nil)
	lidOf := func(v any) any { m, _ := v.(map[string]any); return m["lid"] }
	if lidOf(got[bea]) != beaLID || lidOf(got[cidPN]) != cidLID {
		t.Fatalf("lids = %v", got)
	}
	// A second channel of the same phone, linked with history: the two
	// past chats come by number with their LIDs (history.go's settings:
	// the defaults, shown by GET /settings).
	tok2 := e.channel(ptok, "History")["token"].(string)
	if h := e.ok(200, "GET", "/settings", tok2, nil)["history"].(map[string]any); num(h["messages"]) != 50 || num(h["days"]) != 30 {
		t.Fatalf("default history settings = %v", h)
	}
	e.fail(400, "history.messages", "PATCH", "/settings", tok2, map[string]any{"history": map[string]any{"messages": -1}})
	qr := e.ok(200, "GET", "/users/login", tok2, nil)
	e.ok(200, "POST", "/admin/sim/phones/"+owner+"/link", adminToken, map[string]any{"qr": qr["rowdata"], "history": true})
	e.eventually("the imported chats", func() bool { return len(e.ok(200, "GET", "/chats", tok2, nil)["chats"].([]any)) == 2 })
	for _, c := range e.ok(200, "GET", "/chats", tok2, nil)["chats"].([]any) {
		cm := c.(map[string]any)
		if cm["id"] != beaPN && cm["id"] != cidPN || cm["lid"] == nil {
			t.Fatalf("imported chat = %v", cm)
		}
	}
	if m := e.ok(200, "GET", "/messages/list/"+cidPN, tok2, nil)["messages"].([]any); len(m) != 2 {
		t.Fatalf("Cid's imported messages = %v", m)
	}
	if msg := e.fail(400, "addressing", "POST", "/admin/sim/phones/"+bea+"/messages", adminToken,
		map[string]any{"to": owner, "body": "x", "addressing": "carrier pigeon"}); !strings.Contains(msg, "addressing") {
		t.Fatalf("bad addressing: %s", msg)
	}
}
