package app_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"strings"
	"testing"
)

// inboxHas reports whether a sim phone's inbox holds a message whose JSON
// contains s.
func (e *env) inboxHas(phone, s string) bool {
	e.t.Helper()
	return strings.Contains(fmtJSON(e.ok(200, "GET", "/admin/sim/phones/"+phone+"/messages", adminToken, nil)), s)
}

// testExtras drives the operations of issue 15 on the sim engine end to
// end: what each changes is checked where it shows (the other phone, the
// group, the stored contact), with bad input and another channel's
// objects.
func testExtras(t *testing.T, e *env) {
	_, ptok := e.partner("extras", 10)
	tok, _ := e.linkedChannel(ptok, "Xena", "15550404040")
	tok2, _ := e.linkedChannel(ptok, "Yann", "15550404041")
	const zoe, nobody = "15550404042", "15550404049"
	e.simPhone(zoe, "Zoe")

	// Status text: the about text of the profile.
	e.ok(200, "PUT", "/status", tok, map[string]any{"status": "At the beach"})
	if p := e.ok(200, "GET", "/users/profile", tok, nil); p["about"] != "At the beach" {
		t.Fatalf("profile after PUT /status = %v", p)
	}
	e.fail(400, "status", "PUT", "/status", tok, map[string]any{"status": strings.Repeat("x", 140)})
	if code, _, _ := e.raw("PUT", "/status", tok, "text/csv", []byte("a,b")); code != 415 {
		t.Fatalf("PUT /status as CSV: %d", code)
	}

	// Blocklist: the channel cannot write to Zoe; Zoe's messages do not
	// reach it until it unblocks her (the next one does, alone).
	e.ok(200, "PUT", "/blacklist/"+zoe, tok, nil)
	if l := e.rawList("GET", "/blacklist", tok); fmtJSON(l) != `["`+zoe+`"]` {
		t.Fatalf("blacklist = %v", l)
	}
	e.fail(409, "blocked", "POST", "/messages/text", tok, map[string]any{"to": zoe, "body": "hi"})
	e.ok(201, "POST", "/admin/sim/phones/"+zoe+"/messages", adminToken, map[string]any{"to": "15550404040", "body": "while blocked"})
	e.ok(200, "DELETE", "/blacklist/"+zoe, tok, nil)
	e.ok(201, "POST", "/admin/sim/phones/"+zoe+"/messages", adminToken, map[string]any{"to": "15550404040", "body": "after unblock"})
	e.eventually("the message after unblock", func() bool {
		return strings.Contains(fmtJSON(e.ok(200, "GET", "/messages/list", tok, nil)), "after unblock")
	})
	if strings.Contains(fmtJSON(e.ok(200, "GET", "/messages/list", tok, nil)), "while blocked") {
		t.Fatal("a blocked user's message was delivered")
	}
	if l := e.rawList("GET", "/blacklist", tok); len(l) != 0 {
		t.Fatalf("blacklist after unblock = %v", l)
	}
	e.fail(404, "not on WhatsApp", "PUT", "/blacklist/"+nobody, tok, nil)
	e.fail(400, "ContactID", "DELETE", "/blacklist/12ab", tok, nil)

	// LIDs: the same user has the same LID for every channel.
	a := e.ok(200, "GET", "/contacts/lids?ContactIDList="+zoe+","+nobody, tok, nil)
	b := e.ok(200, "GET", "/contacts/lids/"+zoe, tok2, nil)
	if a[zoe] == nil || fmtJSON(a[zoe]) != fmtJSON(b) || len(a) != 1 {
		t.Fatalf("lids = %v and %v", a, b)
	}
	e.fail(404, "LID", "GET", "/contacts/lids/"+nobody, tok, nil)
	e.fail(400, "ContactIDList", "GET", "/contacts/lids", tok, nil)

	// The address book: saved under a name, renamed, sent, deleted.
	c := e.ok(200, "PUT", "/contacts", tok, map[string]any{"phone": 15550404042, "name": "Zoe Z"})
	if c["name"] != "Zoe Z" || c["id"] != zoe {
		t.Fatalf("saved contact = %v", c)
	}
	e.fail(409, "saved already", "PUT", "/contacts", tok, map[string]any{"phone": zoe, "name": "Again"})
	e.ok(200, "PATCH", "/contacts/"+zoe, tok, map[string]any{"name": "Zoe Zed"})
	if c := e.ok(200, "GET", "/contacts/"+zoe, tok, nil); c["name"] != "Zoe Zed" {
		t.Fatalf("renamed contact = %v", c)
	}
	e.fail(404, "not found", "PATCH", "/contacts/"+zoe, tok2, map[string]any{"name": "x"}) // another channel's contact
	e.fail(400, "name", "PUT", "/contacts", tok, map[string]any{"phone": zoe, "name": " "})
	e.ok(200, "POST", "/contacts/"+zoe, tok, map[string]any{"to": "15550404041"})
	e.eventually("the contact card", func() bool { return e.inboxHas("15550404041", "Zoe Zed") })
	e.ok(200, "DELETE", "/contacts/"+zoe, tok, nil)
	e.fail(404, "not saved", "DELETE", "/contacts/"+zoe, tok, nil)

	// Pins: the channel's own message; another channel's is not found.
	sent := e.ok(200, "POST", "/messages/text", tok, map[string]any{"to": zoe, "body": "pin me"})
	id := sent["message"].(map[string]any)["id"].(string)
	e.ok(200, "POST", "/messages/"+id+"/pin", tok, map[string]any{"time": "day"})
	e.ok(200, "DELETE", "/messages/"+id+"/pin", tok, nil)
	e.fail(404, "", "POST", "/messages/"+id+"/pin", tok2, map[string]any{"time": "day"})
	e.fail(400, "time", "POST", "/messages/"+id+"/pin", tok, map[string]any{"time": "year"})

	// A file as the body; a text as a form.
	var pic bytes.Buffer
	if err := png.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 16, 16))); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := e.raw("POST", "/messages/media/image?to="+zoe+"&caption=Body+file", tok, "image/png", pic.Bytes()); code != 200 {
		t.Fatalf("POST /messages/media/image: %d %s", code, body)
	}
	e.eventually("the image", func() bool { return e.inboxHas(zoe, "Body file") })
	if code, body, _ := e.raw("POST", "/messages/text", tok, "application/x-www-form-urlencoded", []byte("to="+zoe+"&body=from+a+form")); code != 200 {
		t.Fatalf("form text: %d %s", code, body)
	}
	e.eventually("the form text", func() bool { return e.inboxHas(zoe, "from a form") })

	// The newer kinds reach the phone.
	e.ok(200, "POST", "/messages/live_location", tok, map[string]any{"to": zoe, "latitude": 48.1, "longitude": 11.6, "caption": "live here"})
	e.eventually("the live location", func() bool { return e.inboxHas(zoe, "live here") })
	vcard := "BEGIN:VCARD\nVERSION:3.0\nFN:Ann List\nEND:VCARD"
	e.ok(200, "POST", "/messages/contact_list", tok, map[string]any{"to": zoe, "list": []any{map[string]any{"name": "Ann List", "vcard": vcard}}})
	e.eventually("the contact list", func() bool { return e.inboxHas(zoe, "Ann List") })
	mp4 := append([]byte("\x00\x00\x00\x18ftypmp42"), make([]byte, 64)...)
	e.ok(200, "POST", "/messages/short", tok, map[string]any{"to": zoe, "caption": "round one", "media": "data:video/mp4;base64," + base64.StdEncoding.EncodeToString(mp4)})
	e.eventually("the short", func() bool { return e.inboxHas(zoe, "round one") })

	// Groups: approval turns a join into a request, approved by the admin.
	g := e.ok(200, "POST", "/groups", tok, map[string]any{"subject": "Club", "participants": []any{zoe}})
	gid := g["id"].(string)
	e.ok(200, "PATCH", "/groups/"+gid, tok, map[string]any{"setting": "approve_participants", "policy": "admins"})
	code := e.ok(200, "GET", "/groups/"+gid+"/invite", tok, nil)["invite_code"].(string)
	e.fail(409, "approve", "PUT", "/groups", tok2, map[string]any{"invite_code": code})
	apps := e.ok(200, "GET", "/groups/"+gid+"/applications", tok, nil)
	if !strings.Contains(fmtJSON(apps), `"chatId":"15550404041@s.whatsapp.net"`) {
		t.Fatalf("applications = %v", apps)
	}
	e.fail(404, "", "GET", "/groups/"+gid+"/applications", tok2, nil) // not in the group
	if res := e.rawList("POST", "/groups/"+gid+"/applications", tok, map[string]any{"application": "15550404041"}); !strings.Contains(fmtJSON(res), `"success":true`) {
		t.Fatalf("approve = %v", res)
	}
	e.eventually("the approved member", func() bool {
		return strings.Contains(fmtJSON(e.ok(200, "GET", "/groups/"+gid, tok, nil)), "15550404041")
	})
	if res := e.rawList("DELETE", "/groups/"+gid+"/applications", tok, map[string]any{"application": zoe}); !strings.Contains(fmtJSON(res), "no request") {
		t.Fatalf("reject without request = %v", res)
	}
	e.fail(404, "no picture", "GET", "/groups/"+gid+"/icon", tok, nil)
	if code, body, _ := e.raw("PUT", "/groups/"+gid+"/icon", tok, "image/png", pic.Bytes()); code != 200 {
		t.Fatalf("PUT icon: %d %s", code, body)
	}
	if code, body, _ := e.raw("GET", "/groups/"+gid+"/icon", tok, "", nil); code != 200 || !bytes.HasPrefix(body, []byte{0xff, 0xd8}) {
		t.Fatalf("GET icon: %d %q", code, body[:min(len(body), 8)])
	}
	e.ok(200, "POST", "/groups/link/"+code, tok, map[string]any{"to": zoe, "body": "Come: %URL%"})
	e.eventually("the invite", func() bool { return e.inboxHas(zoe, "chat.whatsapp.com/"+code) })
	e.fail(404, "invite", "POST", "/groups/link/AAAAAAAAAAAAAAAAAAAAAA", tok, map[string]any{"to": zoe})

	// Disappearing messages and the profile picture.
	e.ok(200, "PATCH", "/chats/"+zoe+"@s.whatsapp.net", tok, map[string]any{"ephemeral": "week"})
	e.fail(400, "ephemeral", "PATCH", "/chats/"+zoe+"@s.whatsapp.net", tok, map[string]any{"ephemeral": "month"})
	e.ok(200, "PATCH", "/users/profile", tok, map[string]any{"icon": "data:image/png;base64," + base64.StdEncoding.EncodeToString(pic.Bytes())})
}

// rawList sends a request (body: JSON) that must answer 200 with a JSON
// array, and returns it.
func (e *env) rawList(method, path, token string, body ...any) []any {
	e.t.Helper()
	var b any
	if len(body) > 0 {
		b = body[0]
	}
	code, raw := e.do(method, path, token, b)
	if code != 200 {
		e.t.Fatalf("%s %s: status %d: %s", method, path, code, raw)
	}
	var out []any
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatalf("%s %s: not an array: %s", method, path, raw)
	}
	return out
}
