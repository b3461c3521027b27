package app_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/store/storetest"
)

// testAppState drives chat archive/pin/mute/unread and every Labels
// operation on the sim engine, both ways: what the API does shows on the
// account's phone, what the phone does shows through the API; bad input
// changes nothing and another channel's labels stay invisible.
func testAppState(t *testing.T, e *env) {
	const ida, bob, nobody = "15554440001", "15554440002", "15559999995"
	_, ptok := e.partner("labels", 20)
	tok, _ := e.linkedChannel(ptok, "Labels", ida)
	e.simPhone(bob, "Bob")
	_, otherPtok := e.partner("otherlabels", 20)
	otherTok, _ := e.linkedChannel(otherPtok, "Other", "15554440003")
	bobChat := bob + "@s.whatsapp.net"
	e.ok(201, "POST", "/admin/sim/phones/"+bob+"/messages", adminToken, map[string]any{"to": ida, "body": "hello"})
	e.eventually("bob's chat", func() bool { code, _ := e.do("GET", "/chats/"+bobChat, tok, nil); return code == 200 })

	phoneChat := func() map[string]any {
		for _, c := range e.ok(200, "GET", "/admin/sim/phones/"+ida+"/appstate", adminToken, nil)["chats"].([]any) {
			if m := c.(map[string]any); m["chat"] == bobChat {
				return m
			}
		}
		return map[string]any{}
	}
	phoneLabels := func() []string {
		var out []string
		for _, l := range e.ok(200, "GET", "/admin/sim/phones/"+ida+"/appstate", adminToken, nil)["labels"].([]any) {
			m := l.(map[string]any)
			out = append(out, fmt.Sprintf("%s:%s:%s", m["id"], m["name"], m["color"]))
		}
		return out
	}

	// The API archives, pins, mutes and marks unread: the phone shows it.
	e.ok(200, "POST", "/chats/"+bobChat, tok, map[string]any{"archive": true})
	until := time.Now().Add(time.Hour).UnixMilli()
	e.ok(200, "PATCH", "/chats/"+bobChat, tok, map[string]any{"pin": true, "mute_until": until, "mark_unread": true})
	if pc := phoneChat(); pc["archived"] != true || pc["pinned"] != true || pc["unread"] != true || pc["muted_until"] == nil {
		t.Fatalf("the phone's chat after the API's changes = %v", pc)
	}
	// The phone unarchives, unpins, unmutes and reads: /chats shows it.
	e.ok(200, "PATCH", "/admin/sim/phones/"+ida+"/chats/"+bobChat, adminToken,
		map[string]any{"archive": false, "pin": false, "mute_until": 0, "mark_unread": false})
	e.eventually("the phone's changes in /chats", func() bool {
		c := e.ok(200, "GET", "/chats/"+bobChat, tok, nil)
		return c["archive"] == false && c["pin"] == false && c["mute"] == false && num(c["unread"]) == 0
	})
	e.ok(200, "PATCH", "/admin/sim/phones/"+ida+"/chats/"+bobChat, adminToken, map[string]any{"archive": true})
	e.eventually("archived on the phone", func() bool {
		for _, c := range e.ok(200, "GET", "/chats", tok, nil)["chats"].([]any) {
			if m := c.(map[string]any); m["id"] == bobChat {
				return m["archive"] == true
			}
		}
		return false
	})
	e.fail(400, "body", "PATCH", "/admin/sim/phones/"+ida+"/chats/"+bobChat, adminToken, map[string]any{})
	e.fail(400, "chat", "PATCH", "/admin/sim/phones/"+ida+"/chats/not-a-chat", adminToken, map[string]any{"pin": true})
	e.fail(404, "sim phone", "GET", "/admin/sim/phones/"+nobody+"/appstate", adminToken, nil)

	// Labels through the API: made on WhatsApp (the phone has them).
	if l := e.rawList("GET", "/labels", tok); len(l) != 0 {
		t.Fatalf("labels of a new channel = %v", l)
	}
	e.ok(200, "POST", "/labels", tok, map[string]any{"name": "VIP", "color": "gold"})
	e.ok(200, "POST", "/labels", tok, map[string]any{"id": "7", "name": "Paid", "color": "limegreen"})
	if got := phoneLabels(); !slices.Equal(got, []string{"1:VIP:gold", "7:Paid:limegreen"}) {
		t.Fatalf("the phone's labels = %v", got)
	}
	e.fail(409, "already exists", "POST", "/labels", tok, map[string]any{"id": "7", "name": "Again", "color": "gold"})
	e.fail(400, "name", "POST", "/labels", tok, map[string]any{"name": " ", "color": "gold"})
	e.fail(400, "color", "POST", "/labels", tok, map[string]any{"name": "X", "color": "pink"})
	e.fail(400, "id", "POST", "/labels", tok, map[string]any{"id": "123", "name": "X", "color": "gold"})
	e.fail(400, "id", "POST", "/labels", tok, map[string]any{"id": "07", "name": "X", "color": "gold"})
	e.fail(400, "", "POST", "/labels", tok, `{"name": `)
	if code, _, _ := e.raw("POST", "/labels", tok, "application/xml", []byte(`{"name":"X","color":"gold"}`)); code != 415 {
		t.Fatalf("an XML label: %d", code)
	}
	labels := e.rawList("GET", "/labels", tok)
	if len(labels) != 2 || labels[0].(map[string]any)["name"] != "VIP" || num(labels[0].(map[string]any)["count"]) != 0 {
		t.Fatalf("labels = %v (bad input created some?)", labels)
	}

	// Label associations.
	e.ok(200, "POST", "/labels/1/"+bobChat, tok, nil)
	e.fail(409, "already has", "POST", "/labels/1/"+bob, tok, nil)
	a := e.ok(200, "GET", "/labels/1", tok, nil)
	if chats := a["chats"].([]any); len(chats) != 1 || chats[0].(map[string]any)["id"] != bobChat || len(a["messages"].([]any)) != 0 {
		t.Fatalf("label 1's chats = %v", a)
	}
	if c := e.ok(200, "GET", "/chats/"+bobChat, tok, nil); len(c["labels"].([]any)) != 1 {
		t.Fatalf("chat labels = %v", c["labels"])
	}
	if pc := phoneChat(); fmt.Sprint(pc["labels"]) != "[1]" {
		t.Fatalf("the phone's chat labels = %v", pc["labels"])
	}
	e.fail(404, "label", "GET", "/labels/9", tok, nil)
	e.fail(404, "label", "GET", "/labels/abc", tok, nil)
	e.fail(404, "label", "POST", "/labels/9/"+bobChat, tok, nil)
	e.fail(404, "chat", "POST", "/labels/1/"+nobody, tok, nil)
	e.fail(400, "AssociationID", "POST", "/labels/1/not-a-chat", tok, nil)
	e.ok(200, "DELETE", "/labels/1/"+bobChat, tok, nil)
	e.fail(404, "does not have", "DELETE", "/labels/1/"+bobChat, tok, nil)
	if pc := phoneChat(); fmt.Sprint(pc["labels"]) != "[]" {
		t.Fatalf("the phone's chat labels after the delete = %v", pc["labels"])
	}

	// Labels made on the phone reach the channel.
	l := e.ok(200, "POST", "/admin/sim/phones/"+ida+"/labels", adminToken, map[string]any{"name": "Lead", "color": "cyan"})
	if l["id"] != "8" {
		t.Fatalf("the phone's new label = %v", l)
	}
	e.ok(200, "PATCH", "/admin/sim/phones/"+ida+"/chats/"+bobChat, adminToken, map[string]any{"add_labels": []string{"8", "7"}})
	e.eventually("the phone's label on the chat", func() bool {
		code, raw := e.do("GET", "/labels/8", tok, nil)
		return code == 200 && len(e.ok(200, "GET", "/labels/7", tok, nil)["chats"].([]any)) == 1 && len(raw) > 0 &&
			len(e.ok(200, "GET", "/labels/8", tok, nil)["chats"].([]any)) == 1
	})
	e.fail(404, "no label", "PATCH", "/admin/sim/phones/"+ida+"/chats/"+bobChat, adminToken, map[string]any{"add_labels": []string{"77"}})
	e.fail(400, "color", "POST", "/admin/sim/phones/"+ida+"/labels", adminToken, map[string]any{"name": "X", "color": "nope"})
	e.fail(400, "name", "POST", "/admin/sim/phones/"+ida+"/labels", adminToken, map[string]any{"name": "", "color": "cyan"})
	e.ok(200, "DELETE", "/admin/sim/phones/"+ida+"/labels/8", adminToken, nil)
	e.fail(404, "LabelID", "DELETE", "/admin/sim/phones/"+ida+"/labels/8", adminToken, nil)
	e.eventually("the phone's label deleted", func() bool {
		code, _ := e.do("GET", "/labels/8", tok, nil)
		return code == 404 && len(e.rawList("GET", "/labels", tok)) == 2
	})

	// A chat labeled on the phone before the channel has it shows the
	// label once it comes (and no chats.patch about a chat it lacked).
	const cal = "15554440004"
	e.simPhone(cal, "Cal")
	e.ok(200, "PATCH", "/admin/sim/phones/"+ida+"/chats/"+cal, adminToken, map[string]any{"add_labels": []string{"7"}})
	e.eventually("the label on a chat not there yet", func() bool {
		return num(e.rawList("GET", "/labels", tok)[1].(map[string]any)["count"]) == 2
	})
	e.ok(201, "POST", "/admin/sim/phones/"+cal+"/messages", adminToken, map[string]any{"to": ida, "body": "hi"})
	e.eventually("cal's chat with its label", func() bool {
		code, raw := e.do("GET", "/chats/"+cal+"@s.whatsapp.net", tok, nil)
		return code == 200 && strings.Contains(string(raw), `"name":"Paid"`)
	})

	// Another channel sees none of them.
	if l := e.rawList("GET", "/labels", otherTok); len(l) != 0 {
		t.Fatalf("another channel's labels = %v", l)
	}
	e.fail(404, "label", "GET", "/labels/1", otherTok, nil)
	e.fail(404, "label", "POST", "/labels/7/"+bobChat, otherTok, nil)
}

// TestAppStateWebhooksSim: on the sim engine, what the phone changes comes
// as chats.patch and labels webhooks (post, delete) whose bodies match the
// document, and what the API changes too (but nothing for no change).
func TestAppStateWebhooksSim(t *testing.T) {
	s := startHooked(t, testConfig(t, storetest.Backends(t)[0]), app.Options{})
	hooks := newReceiver(t)
	p := s.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "apphooks", "email": "a@example.test", "days": 20})
	ch := s.call(200, "PUT", "/partner/channels", p["token"].(string), map[string]any{"name": "AppHooks"})
	tok := ch["token"].(string)
	s.call(200, "PATCH", "/settings", tok, map[string]any{"webhooks": []any{map[string]any{"url": hooks.srv.URL + "/h",
		"events": subscribe("messages.post", "chats.patch", "labels.post", "labels.delete")}}})
	const me, kay = "15554450001", "15554450002"
	for _, ph := range []struct{ phone, name string }{{me, "Me"}, {kay, "Kay"}} {
		s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": ph.phone, "name": ph.name})
	}
	s.linkQR(tok, me)
	kayChat := kay + "@s.whatsapp.net"
	s.call(201, "POST", "/admin/sim/phones/"+kay+"/messages", adminToken, map[string]any{"to": me, "body": "hi"})
	hooks.wait(t, "messages.post", nil)

	s.call(200, "PATCH", "/admin/sim/phones/"+me+"/chats/"+kayChat, adminToken, map[string]any{"pin": true, "mute_until": -1})
	pm := hooks.wait(t, "chats.patch", nil)
	if !strings.Contains(string(pm.Raw), `"changes":["mute","mute_until","pin"]`) {
		t.Fatalf("chats.patch of the phone's pin and mute = %s", pm.Raw)
	}
	l := s.call(200, "POST", "/admin/sim/phones/"+me+"/labels", adminToken, map[string]any{"name": "Hot", "color": "orangered"})
	hooks.wait(t, "labels.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"color":"orangered"`) })
	s.call(200, "POST", "/labels/"+l["id"].(string)+"/"+kayChat, tok, nil)
	hooks.wait(t, "chats.patch", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"changes":["labels"]`) })
	s.call(200, "DELETE", "/admin/sim/phones/"+me+"/labels/"+l["id"].(string), adminToken, nil)
	del := hooks.wait(t, "labels.delete", nil)
	if !strings.Contains(string(del.Raw), `"labels_removed":["`+l["id"].(string)+`"]`) {
		t.Fatalf("labels.delete = %s", del.Raw)
	}
	n := len(hooks.events())
	s.call(200, "PATCH", "/chats/"+kayChat, tok, map[string]any{"pin": true}) // already pinned: no event
	s.call(200, "POST", "/chats/"+kayChat, tok, map[string]any{"archive": true})
	hooks.wait(t, "chats.patch", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"changes":["archive"]`) })
	if ev := hooks.events()[n:]; len(ev) != 1 {
		t.Fatalf("events after pin (no change) and archive = %v", ev)
	}
	hooks.conforms(t, "WebhookPayload")

	// Labels created at once get IDs of their own.
	var wg sync.WaitGroup
	codes := make([]int, 6)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = s.try("POST", "/labels", tok, map[string]any{"name": fmt.Sprintf("L%d", i), "color": "cyan"})
		}()
	}
	wg.Wait()
	var labels []map[string]any
	_, raw := s.try("GET", "/labels", tok, nil)
	if err := json.Unmarshal([]byte(raw), &labels); err != nil {
		t.Fatal(err)
	}
	ids := map[any]bool{}
	for _, l := range labels {
		ids[l["id"]] = true
	}
	if len(labels) != len(codes) || len(ids) != len(codes) || slices.ContainsFunc(codes, func(c int) bool { return c != 200 }) {
		t.Fatalf("concurrent labels: answers %v, labels %v", codes, labels)
	}
}
