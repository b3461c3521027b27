package simapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
)

// dan is a phone of testActions (dan stays unknown for the rest of TestSimAPI).
const dan = "15551230004"

// testActions drives the message kinds, reactions, presences and groups of
// the phone side; alice's phone has channel ca linked, bob's one too.
func testActions(t *testing.T, e *env, ca *channel, big []byte) {
	phones := "/admin/sim/phones"
	msgs := phones + "/" + bob + "/messages"
	e.call(201, "POST", phones, map[string]any{"phone": dan, "name": "Dan"})
	message := func(id string) engine.Message {
		return ca.waitFor(t, func(ev engine.Event) bool { m, ok := ev.(engine.Message); return ok && m.ID == id }).(engine.Message)
	}

	// Media: the bytes reach the channel and stay on the phone.
	data := []byte(strings.Repeat("\x89PNG media bytes ", 4000))
	sum := sha256.Sum256(data)
	m := e.call(201, "POST", msgs, map[string]any{"to": alice, "type": "image", "caption": "look", "media": base64.StdEncoding.EncodeToString(data),
		"mime_type": "image/png", "file_name": "a.png", "quoted_id": "3EB0QUOTED", "mentions": []string{alice}})["message"].(map[string]any)
	if m["type"] != "image" || m["caption"] != "look" || m["body"] != "look" || m["quoted_id"] != "3EB0QUOTED" || m["media_base64"] != nil {
		t.Errorf("sent %v", m)
	}
	media := m["media"].(map[string]any)
	if media["sha256"] != hex.EncodeToString(sum[:]) || media["size"] != float64(len(data)) || media["mime_type"] != "image/png" || media["file_name"] != "a.png" {
		t.Errorf("media %v", media)
	}
	got := message(m["id"].(string))
	if got.Content.Kind != engine.KindImage || sha256.Sum256(got.Content.Media.Data) != sum || got.Content.QuotedID != "3EB0QUOTED" ||
		len(got.Content.Mentions) != 1 || got.Content.Mentions[0] != sim.JID(alice) {
		t.Errorf("the channel got %+v", got.Content)
	}
	inbox := e.call(200, "GET", phones+"/"+alice+"/messages?include_media=true", nil)["messages"].([]any)
	last := inbox[len(inbox)-1].(map[string]any)
	if raw, _ := base64.StdEncoding.DecodeString(last["media_base64"].(string)); sha256.Sum256(raw) != sum {
		t.Error("media_base64 is not the file")
	}
	if mentions := last["mentions"].([]any); len(mentions) != 1 || mentions[0] != alice {
		t.Errorf("mentions %v", mentions)
	}
	inbox = e.call(200, "GET", phones+"/"+alice+"/messages?include_media=false", nil)["messages"].([]any)
	if last := inbox[len(inbox)-1].(map[string]any); last["media_base64"] != nil || last["media"] == nil {
		t.Errorf("without include_media: %v", last)
	}
	e.fail(400, "GET", phones+"/"+alice+"/messages?include_media=yes", nil, "include_media: must be true or false")
	// URL-safe base64 without padding works too.
	m = e.call(201, "POST", msgs, map[string]any{"to": alice, "type": "voice", "media": base64.RawURLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xfe})})["message"].(map[string]any)
	if m["media"].(map[string]any)["size"] != float64(3) || m["media"].(map[string]any)["mime_type"] != "audio/ogg; codecs=opus" {
		t.Errorf("voice %v", m)
	}

	// The other kinds.
	m = e.call(201, "POST", msgs, map[string]any{"to": alice, "type": "location", "location": map[string]any{"latitude": 52.52, "longitude": 13.405, "name": "Berlin"}})["message"].(map[string]any)
	if l := m["location"].(map[string]any); l["latitude"] != 52.52 || l["name"] != "Berlin" || m["body"] != "" {
		t.Errorf("location %v", m)
	}
	if got := message(m["id"].(string)); got.Content.Location == nil || got.Content.Location.Longitude != 13.405 {
		t.Errorf("the channel got %+v", got.Content)
	}
	m = e.call(201, "POST", msgs, map[string]any{"to": alice, "type": "contact", "contact": map[string]any{"name": "Carol"}})["message"].(map[string]any)
	if c := m["contact"].(map[string]any); c["name"] != "Carol" || !strings.HasPrefix(c["vcard"].(string), "BEGIN:VCARD") {
		t.Errorf("contact %v", m)
	}
	m = e.call(201, "POST", msgs, map[string]any{"to": alice, "type": "link_preview", "body": "see https://example.com",
		"link_preview": map[string]any{"url": "https://example.com", "title": "Example"}})["message"].(map[string]any)
	if lp := m["link_preview"].(map[string]any); lp["url"] != "https://example.com" || m["body"] != "see https://example.com" {
		t.Errorf("link preview %v", m)
	}
	m = e.call(201, "POST", msgs, map[string]any{"to": alice, "type": "poll", "poll": map[string]any{"title": "Lunch?", "options": []string{"yes", "no"}}})["message"].(map[string]any)
	if p := m["poll"].(map[string]any); p["title"] != "Lunch?" || len(p["options"].([]any)) != 2 || p["selectable"] != float64(0) {
		t.Errorf("poll %v", m)
	}
	pollID := m["id"].(string)
	if got := message(pollID); got.Content.Kind != engine.KindPoll || got.Content.Poll.Options[1] != "no" {
		t.Errorf("the channel got %+v", got.Content)
	}
	for _, c := range []struct {
		body map[string]any
		says string
	}{
		{map[string]any{"to": alice, "type": "hologram"}, "type: must be one of text, image"},
		{map[string]any{"to": alice, "body": "x", "caption": "y"}, "caption: not used with type text"},
		{map[string]any{"to": alice, "type": "image", "body": "x", "media": "AAAA"}, "body: not used with type image"},
		{map[string]any{"to": alice, "type": "voice", "caption": "x", "media": "AAAA"}, "caption: not used with type voice"},
		{map[string]any{"to": alice, "type": "image"}, "media: required for type image"},
		{map[string]any{"to": alice, "type": "image", "media": "%%%"}, "media: not valid base64"},
		{map[string]any{"to": alice, "type": "image", "media": "AAAA", "mime_type": "video/mp4"}, "media: invalid message content"},
		{map[string]any{"to": alice, "type": "image", "media": "AAAA", "caption": strings.Repeat("x", 4097)}, "caption: must be at most 4096"},
		{map[string]any{"to": alice, "type": "location"}, "location: required"},
		{map[string]any{"to": alice, "type": "location", "location": map[string]any{"latitude": 1}}, "location: required"},
		{map[string]any{"to": alice, "type": "location", "location": map[string]any{"latitude": 91, "longitude": 0}}, "location: invalid message content: latitude 91"},
		{map[string]any{"to": alice, "type": "contact", "contact": map[string]any{"name": " "}}, "contact: required"},
		{map[string]any{"to": alice, "type": "contact", "contact": map[string]any{"name": "C", "vcard": "x"}}, "contact: invalid message content"},
		{map[string]any{"to": alice, "type": "poll", "poll": map[string]any{"title": "Q", "options": []string{"a"}}}, "poll: invalid message content: a poll has 2 to 12 options"},
		{map[string]any{"to": alice, "type": "poll"}, "poll: required"},
		{map[string]any{"to": alice, "type": "link_preview", "body": "x"}, "link_preview: required"},
		{map[string]any{"to": alice, "type": "link_preview", "body": "x", "link_preview": map[string]any{"url": "ftp://x"}}, "link_preview: invalid message content"},
		{map[string]any{"to": alice, "type": "text", "location": map[string]any{"latitude": 1, "longitude": 1}}, "location: not used with type text"},
		{map[string]any{"to": alice, "body": "x", "mentions": []string{"+1"}}, "mentions[0]: must be 7 to 15 digits"},
		{map[string]any{"to": "x@g.us", "body": "x"}, `to: "x@g.us" is not a group JID`},
	} {
		e.fail(400, "POST", msgs, c.body, c.says)
	}

	// Groups.
	groups := phones + "/" + bob + "/groups"
	g := e.call(201, "POST", groups, map[string]any{"subject": "Team", "participants": []string{alice, dan, "15559999999"}})
	gid, _ := g["id"].(string)
	if !strings.HasSuffix(gid, "@g.us") || g["owner"] != bob || g["locked"] != true || g["announce"] != false || len(g["participants"].([]any)) != 3 ||
		!equalJSON(g["participants"].([]any)[0].(map[string]any), map[string]any{"phone": bob, "admin": true, "super_admin": true}) {
		t.Errorf("group %v", g)
	}
	if r := g["refused"].([]any); len(r) != 1 || !equalJSON(r[0].(map[string]any), map[string]any{"phone": "15559999999", "error": "not on WhatsApp"}) {
		t.Errorf("refused %v", r)
	}
	ch := ca.waitFor(t, func(ev engine.Event) bool { c, ok := ev.(engine.GroupChange); return ok && c.Group == gid }).(engine.GroupChange)
	if ch.Action != "create" || ch.Actor != sim.JID(bob) || ch.Subject != "Team" {
		t.Errorf("the channel got %+v", ch)
	}
	if list := e.call(200, "GET", phones+"/"+alice+"/groups", nil)["groups"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != gid {
		t.Errorf("alice's groups %v", list)
	}
	if g2 := e.call(201, "POST", groups, map[string]any{"subject": "Solo"}); g2["refused"] != nil || len(g2["participants"].([]any)) != 1 {
		t.Errorf("a group of one: %v", g2)
	}
	e.fail(400, "POST", groups, map[string]any{"subject": " "}, "subject: required")
	e.fail(400, "POST", groups, map[string]any{"subject": strings.Repeat("x", 101)}, "subject: must be at most 100")
	e.fail(400, "POST", groups, map[string]any{"subject": "a\tb"}, "subject: must not contain control")
	e.fail(400, "POST", groups, map[string]any{"subject": "x", "participants": []string{"+1555"}}, "participants[0]: must be 7 to 15 digits")
	e.fail(400, "POST", groups, map[string]any{"subject": "x", "participants": make([]string, 1024)}, "participants: at most 1023")
	e.fail(404, "POST", phones+"/15559999999/groups", map[string]any{"subject": "x"}, "no sim phone")
	e.fail(404, "GET", phones+"/15559999999/groups", nil, "no sim phone")
	e.fail(413, "POST", groups, big)

	// Messages to the group.
	m = e.call(201, "POST", phones+"/"+dan+"/messages", map[string]any{"to": gid, "body": "hi all"})["message"].(map[string]any)
	if m["to"] != gid || m["from"] != dan {
		t.Errorf("group message %v", m)
	}
	if got := message(m["id"].(string)); got.Chat != gid || got.Sender != sim.JID(dan) {
		t.Errorf("the channel got %+v", got)
	}
	if in := e.call(200, "GET", msgs+"?box=inbox", nil)["messages"].([]any); in[len(in)-1].(map[string]any)["to"] != gid {
		t.Errorf("bob's inbox %v", in)
	}
	e.fail(404, "POST", msgs, map[string]any{"to": "120363000000000000@g.us", "body": "x"}, "to: group not found")

	// Participants.
	parts := groups + "/" + gid + "/participants"
	res := e.call(200, "POST", parts, map[string]any{"add": []string{"15559999999", alice}, "remove": []string{dan}, "promote": []string{alice}})
	want := []any{
		map[string]any{"phone": "15559999999", "action": "add", "success": false, "error": "not on WhatsApp"},
		map[string]any{"phone": alice, "action": "add", "success": false, "error": "already a participant"},
		map[string]any{"phone": dan, "action": "remove", "success": true},
		map[string]any{"phone": alice, "action": "promote", "success": true},
	}
	if !equalJSON(map[string]any{"r": res["results"]}, map[string]any{"r": want}) {
		t.Errorf("results %v", res["results"])
	}
	if ps := res["group"].(map[string]any)["participants"].([]any); len(ps) != 2 || ps[1].(map[string]any)["admin"] != true {
		t.Errorf("group after %v", res["group"])
	}
	ca.waitFor(t, func(ev engine.Event) bool { c, ok := ev.(engine.GroupChange); return ok && c.Action == "promote" })
	// The digits alone name the group too; demote, then alice (not admin) gets 403.
	e.call(200, "POST", groups+"/"+strings.TrimSuffix(gid, "@g.us")+"/participants", map[string]any{"demote": []string{alice}})
	e.fail(403, "POST", phones+"/"+alice+"/groups/"+gid+"/participants", map[string]any{"add": []string{dan}}, "group: not a group admin")
	e.fail(404, "POST", phones+"/"+dan+"/groups/"+gid+"/participants", map[string]any{"add": []string{dan}}, "group: group not found")
	e.fail(404, "POST", groups+"/abc/participants", map[string]any{"add": []string{dan}}, "group: no group")
	e.fail(400, "POST", parts, map[string]any{}, "at least one number")
	e.fail(400, "POST", parts, map[string]any{"add": []string{"x"}}, "add[0]: must be 7 to 15 digits")
	e.fail(400, "POST", parts, map[string]any{"add": make([]string, 600), "remove": make([]string, 600)}, "add[0]")
	e.fail(404, "POST", phones+"/15559999999/groups/"+gid+"/participants", map[string]any{"add": []string{dan}}, "no sim phone")
	e.fail(413, "POST", parts, big)
	// Announcement groups: only admins send.
	yes := true
	if err := e.net.SetGroupSettings(bob, gid, sim.GroupSettings{Announce: &yes}); err != nil {
		t.Fatal(err)
	}
	e.fail(403, "POST", phones+"/"+alice+"/messages", map[string]any{"to": gid, "body": "x"}, "to: not a group admin")

	// Reactions.
	react := phones + "/" + bob + "/react"
	if got := e.call(200, "POST", react, map[string]any{"id": pollID, "emoji": "👍"}); !equalJSON(got, map[string]any{"success": true}) {
		t.Errorf("react %v", got)
	}
	r := ca.waitFor(t, func(ev engine.Event) bool {
		m, ok := ev.(engine.Message)
		return ok && m.Content.Kind == engine.KindReaction
	}).(engine.Message)
	if *r.Content.Reaction != (engine.Reaction{TargetID: pollID, Emoji: "👍"}) || r.Sender != sim.JID(bob) {
		t.Errorf("the channel got %+v", r)
	}
	out := e.call(200, "GET", msgs+"?box=sent", nil)["messages"].([]any)
	for _, x := range out {
		if x := x.(map[string]any); x["id"] == pollID {
			if rs := x["reactions"].([]any); len(rs) != 1 || rs[0].(map[string]any)["emoji"] != "👍" || rs[0].(map[string]any)["from"] != bob {
				t.Errorf("reactions %v", rs)
			}
		}
	}
	e.call(200, "POST", react, map[string]any{"id": pollID, "emoji": ""})
	e.fail(400, "POST", react, map[string]any{"emoji": "👍"}, "id: required")
	e.fail(400, "POST", react, map[string]any{"id": pollID}, "emoji: required")
	e.fail(400, "POST", react, map[string]any{"id": pollID, "emoji": "yes"}, "emoji: invalid message content")
	e.fail(404, "POST", react, map[string]any{"id": "NOPE", "emoji": "👍"}, "id: message not found")
	e.fail(404, "POST", phones+"/15559999999/react", map[string]any{"id": pollID, "emoji": "👍"}, "no sim phone")
	e.fail(413, "POST", react, big)

	// Presences.
	presence := phones + "/" + bob + "/presence"
	if got := e.call(200, "POST", presence, map[string]any{"to": alice, "state": "typing"}); !equalJSON(got, map[string]any{"success": true}) {
		t.Errorf("presence %v", got)
	}
	p := ca.waitFor(t, func(ev engine.Event) bool { _, ok := ev.(engine.Presence); return ok }).(engine.Presence)
	if p != (engine.Presence{Chat: sim.JID(bob), User: sim.JID(bob), State: engine.PresenceTyping}) {
		t.Errorf("the channel got %+v", p)
	}
	e.call(200, "POST", presence, map[string]any{"to": gid, "state": "paused"})
	e.call(200, "POST", presence, map[string]any{"state": "online"})
	e.call(200, "POST", presence, map[string]any{"state": "offline"})
	e.fail(400, "POST", presence, map[string]any{"state": "online", "to": alice}, "to: not used with state online")
	e.fail(400, "POST", presence, map[string]any{"state": "typing"}, "to: required")
	e.fail(400, "POST", presence, map[string]any{"to": alice, "state": "dancing"}, "state: must be typing")
	e.fail(400, "POST", presence, map[string]any{"to": bob, "state": "typing"}, "to: cannot send a message to the own number")
	e.fail(404, "POST", presence, map[string]any{"to": "15559999999", "state": "typing"}, "to: number is not on WhatsApp")
	e.fail(404, "POST", phones+"/"+dan+"/presence", map[string]any{"to": gid, "state": "typing"}, "to: group not found")
	e.fail(404, "POST", phones+"/15559999999/presence", map[string]any{"state": "online"}, "no sim phone")
	e.fail(413, "POST", presence, big)
}
