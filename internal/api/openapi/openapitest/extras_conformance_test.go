package openapitest_test

import (
	"bytes"
	"image"
	"image/png"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
)

// testExtras drives the operations of the engines' optional capabilities
// (status text, blocklist, LIDs, address book, pins, files as the body,
// group settings, join requests, group icons and invites) on the sim
// engine, with their usual errors.
func testExtras(t *testing.T, c *apiClient, ptok, expiredToken string) {
	t.Helper()
	const owner, member, joiner, nobody = "15550006661", "15550006662", "15550006663", "15559999996"
	link := func(name, phone string) string { t.Helper(); return c.linkPhone(t, ptok, name, phone) }
	tok := link("Extras owner", owner)
	tok2 := link("Extras joiner", joiner)
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": member, "name": "Member"})

	// Status text.
	c.call(200, "PUT", "/status", tok, map[string]any{"status": "Open 9-5"})
	c.call(400, "PUT", "/status", tok, map[string]any{"status": ""})
	c.call(400, "PUT", "/status", tok, map[string]any{})
	c.raw(415, "PUT", "/status", tok, "application/xml", []byte("<status/>"))
	c.raw(200, "PUT", "/status", tok, "application/x-www-form-urlencoded", []byte(url.Values{"status": {"From a form"}}.Encode()))
	c.call(402, "PUT", "/status", expiredToken, map[string]any{"status": "x"})

	// Blocklist: a blocked user's messages are not delivered, and the
	// channel cannot write to them.
	c.call(200, "GET", "/blacklist", tok, nil)
	c.call(200, "PUT", "/blacklist/"+member, tok, nil)
	c.call(404, "PUT", "/blacklist/"+nobody, tok, nil)
	c.call(400, "PUT", "/blacklist/abc", tok, nil)
	if got := c.callList(200, "GET", "/blacklist", tok); len(got) != 1 || got[0] != member {
		t.Errorf("blacklist = %v, want [%s]", got, member)
	}
	c.call(409, "POST", "/messages/text", tok, map[string]any{"to": member, "body": "hi"})
	c.call(200, "DELETE", "/blacklist/"+member, tok, nil)
	c.call(404, "DELETE", "/blacklist/"+nobody, tok, nil)

	// LIDs.
	lids := c.call(200, "GET", "/contacts/lids?ContactIDList="+member+","+nobody, tok, nil)
	if _, ok := lids[member]; !ok || len(lids) != 1 {
		t.Errorf("lids = %v", lids)
	}
	c.call(400, "GET", "/contacts/lids", tok, nil)
	c.call(400, "GET", "/contacts/lids?ContactIDList=abc", tok, nil)
	lid := c.call(200, "GET", "/contacts/lids/"+member, tok, nil)
	if !strings.HasSuffix(str(lid, "lid"), "@lid") {
		t.Errorf("lid = %v", lid)
	}
	c.call(404, "GET", "/contacts/lids/"+nobody, tok, nil)
	c.call(200, "GET", "/contacts/"+member+"/profile", tok, nil)

	// The address book, and sending a contact.
	saved := c.call(200, "PUT", "/contacts", tok, map[string]any{"phone": 15550006662, "name": "Mem Ber"})
	if str(saved, "name") != "Mem Ber" {
		t.Errorf("saved contact = %v", saved)
	}
	c.call(409, "PUT", "/contacts", tok, map[string]any{"phone": member, "name": "Again"})
	c.call(400, "PUT", "/contacts", tok, map[string]any{"phone": member})
	c.call(400, "PUT", "/contacts", tok, map[string]any{"phone": 1.5, "name": "x"})
	c.raw(415, "PUT", "/contacts", tok, "text/csv", []byte("phone,name"))
	c.call(200, "PATCH", "/contacts/"+member, tok, map[string]any{"name": "Member M"})
	c.call(404, "PATCH", "/contacts/"+nobody, tok, map[string]any{"name": "x"})
	c.call(400, "PATCH", "/contacts/"+member, tok, map[string]any{})
	card := c.call(200, "POST", "/contacts/"+member, tok, map[string]any{"to": joiner})
	if msg, _ := card["message"].(map[string]any); str(msg, "type") != "contact" {
		t.Errorf("contact card = %v", card)
	}
	c.call(404, "POST", "/contacts/"+nobody, tok, map[string]any{"to": joiner})
	c.call(400, "POST", "/contacts/"+member, tok, map[string]any{})
	c.call(200, "HEAD", "/contacts/"+member, tok, nil)
	c.call(200, "DELETE", "/contacts/"+member, tok, nil)
	c.call(404, "DELETE", "/contacts/"+member, tok, nil)

	// Pins.
	sent := c.call(200, "POST", "/messages/text", tok, map[string]any{"to": member, "body": "pin me"})
	msgID := str(sent["message"].(map[string]any), "id")
	c.call(200, "POST", "/messages/"+msgID+"/pin", tok, map[string]any{"time": "week"})
	c.call(200, "POST", "/messages/"+msgID+"/pin", tok, nil)
	c.call(400, "POST", "/messages/"+msgID+"/pin", tok, map[string]any{"time": "year"})
	c.call(404, "POST", "/messages/NOPE0000000000/pin", tok, map[string]any{"time": "day"})
	c.call(200, "DELETE", "/messages/"+msgID+"/pin", tok, nil)
	c.call(404, "DELETE", "/messages/NOPE0000000000/pin", tok, nil)

	// A file as the body; a text as multipart/form-data.
	var pic bytes.Buffer
	if err := png.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 32, 32))); err != nil {
		t.Fatal(err)
	}
	c.raw(200, "POST", "/messages/media/image?to="+member+"&caption=Hi", tok, "image/png", pic.Bytes())
	c.raw(400, "POST", "/messages/media/image?to="+member, tok, "image/png", nil)
	c.raw(400, "POST", "/messages/media/hologram?to="+member, tok, "image/png", pic.Bytes())
	c.raw(404, "POST", "/messages/media/image?to="+nobody, tok, "image/png", pic.Bytes())
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	_ = mw.WriteField("to", member)
	_ = mw.WriteField("body", "from a form")
	_ = mw.Close()
	c.raw(200, "POST", "/messages/text", tok, mw.FormDataContentType(), form.Bytes())

	// The newer kinds: a round video, a live location, a contact list.
	mp4 := append([]byte("\x00\x00\x00\x18ftypmp42"), make([]byte, 64)...)
	short := c.call(200, "POST", "/messages/short", tok, map[string]any{"to": member, "media": dataURI("video/mp4", mp4)})
	if msg, _ := short["message"].(map[string]any); str(msg, "type") != "short" {
		t.Errorf("short = %v", short)
	}
	c.call(415, "POST", "/messages/short", tok, map[string]any{"to": member, "media": dataURI("image/png", onePixelPNG(t))})
	live := c.call(200, "POST", "/messages/live_location", tok, map[string]any{"to": member, "latitude": 52.5, "longitude": 13.4,
		"accuracy": 10, "speed": 1.5, "degrees": 90, "caption": "On my way", "sequence_number": 1})
	if msg, _ := live["message"].(map[string]any); str(msg, "type") != "live_location" {
		t.Errorf("live_location = %v", live)
	}
	c.call(400, "POST", "/messages/live_location", tok, map[string]any{"to": member, "latitude": 95, "longitude": 13.4})
	c.call(400, "POST", "/messages/live_location", tok, map[string]any{"to": member, "latitude": 52.5, "longitude": 13.4, "degrees": 400})
	vcard := "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nTEL;waid=15550001234:+15550001234\nEND:VCARD"
	list := c.call(200, "POST", "/messages/contact_list", tok, map[string]any{"to": member,
		"list": []any{map[string]any{"name": "Ann", "vcard": vcard}, map[string]any{"name": "Ann 2", "vcard": vcard}}})
	if msg, _ := list["message"].(map[string]any); str(msg, "type") != "contact_list" {
		t.Errorf("contact_list = %v", list)
	}
	c.call(400, "POST", "/messages/contact_list", tok, map[string]any{"to": member, "list": []any{}})
	c.call(400, "POST", "/messages/contact_list", tok, map[string]any{"to": member, "list": []any{map[string]any{"name": "x", "vcard": "nope"}}})
	c.call(200, "GET", "/messages/list/"+member+"?count=5", tok, nil)

	// Disappearing messages.
	c.call(200, "PATCH", "/chats/"+member+"@s.whatsapp.net", tok, map[string]any{"ephemeral": "week"})
	c.call(200, "PATCH", "/chats/"+member+"@s.whatsapp.net", tok, map[string]any{"ephemeral": "none", "pin": true})
	c.call(400, "PATCH", "/chats/"+member+"@s.whatsapp.net", tok, map[string]any{"ephemeral": "year"})
	c.call(404, "PATCH", "/chats/"+nobody+"@s.whatsapp.net", tok, map[string]any{"ephemeral": "day"})

	// Group settings, join requests, the icon and the invite.
	g := c.call(200, "POST", "/groups", tok, map[string]any{"subject": "Extras", "participants": []any{member}})
	gid := str(g, "id")
	c.call(200, "PATCH", "/groups/"+gid, tok, map[string]any{"setting": "send_messages", "policy": "admins"})
	c.call(200, "PATCH", "/groups/"+gid, tok, map[string]any{"setting": "send_messages", "policy": "anyone"})
	c.call(200, "PATCH", "/groups/"+gid, tok, map[string]any{"setting": "approve_participants", "policy": "admins"})
	c.call(400, "PATCH", "/groups/"+gid, tok, map[string]any{"setting": "approve_participants", "policy": "nobody"})
	c.call(404, "PATCH", "/groups/120363000000000001@g.us", tok, map[string]any{"setting": "edit_group_info", "policy": "admins"})
	code := str(c.call(200, "GET", "/groups/"+gid+"/invite", tok, nil), "invite_code")
	c.call(409, "PUT", "/groups", tok2, map[string]any{"invite_code": code}) // waits for approval
	apps := c.call(200, "GET", "/groups/"+gid+"/applications", tok, nil)
	if list, _ := apps["applications"].([]any); len(list) != 1 {
		t.Errorf("applications = %v", apps)
	}
	c.call(404, "GET", "/groups/"+gid+"/applications", tok2, nil) // not a member
	c.call(404, "GET", "/groups/120363000000000001@g.us/applications", tok, nil)
	c.callList(200, "POST", "/groups/"+gid+"/applications", tok, map[string]any{"application": joiner})
	c.callList(200, "DELETE", "/groups/"+gid+"/applications", tok, map[string]any{"application": joiner})
	c.call(400, "POST", "/groups/"+gid+"/applications", tok, map[string]any{})
	c.call(404, "GET", "/groups/"+gid+"/icon", tok, nil)
	c.call(200, "PUT", "/groups/"+gid+"/icon", tok, pic.Bytes())
	c.call(200, "GET", "/groups/"+gid+"/icon", tok, nil)
	c.call(200, "POST", "/groups/link/"+code, tok, map[string]any{"to": member, "body": "Join: %URL%"})
	c.call(404, "POST", "/groups/link/AAAAAAAAAAAAAAAAAAAAAA", tok, map[string]any{"to": member})
	c.call(400, "POST", "/groups/link/"+code, tok, map[string]any{})
}

// onePixelPNG is a small PNG picture.
func onePixelPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
