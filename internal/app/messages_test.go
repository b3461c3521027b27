package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// raw sends a request with a raw body and content type.
func (e *env) raw(method, path, token, contentType string, body []byte) (int, []byte, http.Header) {
	e.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes(), rec.Header()
}

// eventually polls fn until it is true.
func (e *env) eventually(what string, fn func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !fn() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// messageOn waits until the channel has stored message id and returns it.
func (e *env) messageOn(token, id string) map[string]any {
	e.t.Helper()
	var m map[string]any
	e.eventually("message "+id, func() bool {
		code, raw := e.do("GET", "/messages/"+id, token, nil)
		if code != 200 {
			return false
		}
		return json.Unmarshal(raw, &m) == nil
	})
	return m
}

// pngBytes is a valid 1x1 PNG.
var pngBytes, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

func dataURI(mimeType string, b []byte) string {
	return "data:" + mimeType + ";base64," + base64.StdEncoding.EncodeToString(b)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// twoLinked makes a partner with two channels linked to two sim phones.
func (e *env) twoLinked(name, phoneA, phoneB string) (ptok, tokA, tokB string) {
	e.t.Helper()
	_, ptok = e.partner(name, 20)
	tokA = e.channel(ptok, name+" A")["token"].(string)
	tokB = e.channel(ptok, name+" B")["token"].(string)
	e.linkByQR(tokA, phoneA, "Anna "+name)
	e.linkByQR(tokB, phoneB, "Ben "+name)
	return ptok, tokA, tokB
}

// testMessages sends every message kind between two channels linked to two
// sim phones and checks what both sides store.
func testMessages(t *testing.T, e *env) {
	const anna, ben = "15552220001", "15552220002"
	_, tokA, tokB := e.twoLinked("msgs", anna, ben)
	benJID := ben + "@s.whatsapp.net"

	// Text: answered pending, delivered to the phone and to channel B.
	sent := e.ok(200, "POST", "/messages/text", tokA, map[string]any{"to": ben, "body": "hello Ben"})
	msg := sent["message"].(map[string]any)
	id := msg["id"].(string)
	if sent["sent"] != true || msg["status"] != "pending" || msg["chat_id"] != benJID || msg["from_me"] != true ||
		msg["text"].(map[string]any)["body"] != "hello Ben" {
		t.Fatalf("send text = %v", sent)
	}
	got := e.messageOn(tokB, id)
	if got["from_me"] != false || got["from"] != anna || got["chat_id"] != anna+"@s.whatsapp.net" || got["text"].(map[string]any)["body"] != "hello Ben" {
		t.Fatalf("B stored %v", got)
	}
	inbox := e.ok(200, "GET", "/admin/sim/phones/"+ben+"/messages", adminToken, nil)
	if !strings.Contains(fmtJSON(inbox), "hello Ben") {
		t.Fatalf("Ben's phone inbox = %v", inbox)
	}
	// B marks it read: A's copy turns read.
	e.ok(200, "PUT", "/messages/"+id, tokB, nil)
	e.eventually("read status on A", func() bool { return e.messageOn(tokA, id)["status"] == "read" })

	// A reply that quotes, and mentions.
	reply := e.ok(200, "POST", "/messages/text", tokB, map[string]any{"to": anna, "body": "hi @" + anna, "quoted": id, "mentions": []string{anna}})
	rid := reply["message"].(map[string]any)["id"].(string)
	onA := e.messageOn(tokA, rid)
	if ctx, _ := onA["context"].(map[string]any); ctx == nil || ctx["quoted_id"] != id {
		t.Fatalf("reply on A = %v", onA)
	}

	// Media as a data URI: the bytes arrive intact and are served back.
	img := e.ok(200, "POST", "/messages/image", tokA, map[string]any{"to": ben, "media": dataURI("image/png", pngBytes), "caption": "a dot"})
	imgID := img["message"].(map[string]any)["id"].(string)
	onB := e.messageOn(tokB, imgID)
	obj := onB["image"].(map[string]any)
	if obj["caption"] != "a dot" || obj["mime_type"] != "image/png" || obj["sha256"] != sha(pngBytes) {
		t.Fatalf("image on B = %v", onB)
	}
	code, body, hdr := e.raw("GET", "/media/"+obj["id"].(string), tokB, "", nil)
	if code != 200 || !bytes.Equal(body, pngBytes) || hdr.Get("Content-Type") != "image/png" {
		t.Fatalf("GET media on B: %d %s %q", code, hdr.Get("Content-Type"), body)
	}

	// Uploaded first (raw body), then sent by its MediaID as a document.
	code, body, _ = e.raw("POST", "/media", tokA, "application/pdf", []byte("%PDF-1.4 tiny"))
	if code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	var up struct {
		Media []struct {
			ID string `json:"id"`
		} `json:"media"`
	}
	_ = json.Unmarshal(body, &up)
	doc := e.ok(200, "POST", "/messages/document", tokA, map[string]any{"to": ben, "media": up.Media[0].ID, "filename": "offer.pdf", "caption": "the offer"})
	docOnB := e.messageOn(tokB, doc["message"].(map[string]any)["id"].(string))
	if d := docOnB["document"].(map[string]any); d["file_name"] != "offer.pdf" || d["mime_type"] != "application/pdf" {
		t.Fatalf("document on B = %v", docOnB)
	}
	if files := e.ok(200, "GET", "/media", tokA, nil); num(files["total"]) < 2 {
		t.Fatalf("A's media = %v", files)
	}

	// Media from a URL, and as a multipart file.
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/dot.png" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(pngBytes)
	}))
	defer files.Close()
	e.ok(200, "POST", "/messages/image", tokA, map[string]any{"to": ben, "media": files.URL + "/dot.png"})
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("to", ben)
	_ = mw.WriteField("caption", "multipart")
	fw, _ := mw.CreateFormFile("media", "dot.png")
	_, _ = fw.Write(pngBytes)
	_ = mw.Close()
	if code, body, _ := e.raw("POST", "/messages/image", tokA, mw.FormDataContentType(), mp.Bytes()); code != 200 {
		t.Fatalf("multipart image: %d %s", code, body)
	}

	// The other kinds.
	for _, tc := range []struct {
		kind string
		body map[string]any
	}{
		{"video", map[string]any{"media": dataURI("video/mp4", []byte("\x00\x00\x00\x18ftypmp42 video")), "seconds": 3}},
		{"gif", map[string]any{"media": dataURI("video/mp4", []byte("\x00\x00\x00\x18ftypmp42 gif"))}},
		{"audio", map[string]any{"media": dataURI("audio/mpeg", []byte("ID3 audio"))}},
		{"voice", map[string]any{"media": dataURI("audio/ogg", oggVoice)}},
		{"sticker", map[string]any{"media": dataURI("image/webp", webpSticker)}},
		{"location", map[string]any{"latitude": 52.52, "longitude": 13.405, "name": "Office", "address": "Main St 1"}},
		{"contact", map[string]any{"name": "Clara", "vcard": "BEGIN:VCARD\nVERSION:3.0\nFN:Clara\nTEL:+15550009999\nEND:VCARD"}},
		{"link_preview", map[string]any{"body": "see https://example.com/page", "title": "Example"}},
		{"poll", map[string]any{"title": "Lunch?", "options": []string{"Pizza", "Sushi"}, "count": 1}},
	} {
		tc.body["to"] = ben
		res := e.ok(200, "POST", "/messages/"+tc.kind, tokA, tc.body)
		m := res["message"].(map[string]any)
		if m["type"] != tc.kind || m[tc.kind] == nil {
			t.Fatalf("send %s = %v", tc.kind, res)
		}
		onB := e.messageOn(tokB, m["id"].(string))
		if onB["type"] != tc.kind || onB[tc.kind] == nil {
			t.Fatalf("%s on B = %v", tc.kind, onB)
		}
	}

	// A phone sends a picture to channel A.
	e.ok(201, "POST", "/admin/sim/phones/"+ben+"/messages", adminToken, map[string]any{
		"to": anna, "type": "image", "media": base64.StdEncoding.EncodeToString(pngBytes), "mime_type": "image/png", "caption": "from the phone"})
	e.eventually("the phone's picture on A", func() bool {
		l := e.ok(200, "GET", "/messages/list/"+ben+"?count=500", tokA, nil)
		return strings.Contains(fmtJSON(l), "from the phone")
	})

	// Edit, react, star, forward, delete.
	e.ok(200, "POST", "/messages/text", tokA, map[string]any{"to": ben, "body": "hello Ben (edited)", "edit": id})
	e.eventually("the edit on B", func() bool {
		m := e.messageOn(tokB, id)
		return m["text"].(map[string]any)["body"] == "hello Ben (edited)" && m["edited"] == true
	})
	e.ok(200, "PUT", "/messages/"+id+"/reaction", tokB, map[string]any{"emoji": "👍"})
	e.eventually("the reaction on A", func() bool { return strings.Contains(fmtJSON(e.messageOn(tokA, id)["reactions"]), "👍") })
	e.ok(200, "DELETE", "/messages/"+id+"/reaction", tokB, nil)
	e.eventually("the reaction removed on A", func() bool { return e.messageOn(tokA, id)["reactions"] == nil })
	e.fail(404, "no reaction", "DELETE", "/messages/"+id+"/reaction", tokB, nil)
	// Reactions from the phone reach the channel too.
	e.ok(200, "POST", "/admin/sim/phones/"+ben+"/react", adminToken, map[string]any{"id": id, "emoji": "❤"})
	e.eventually("the phone's reaction on A", func() bool { return strings.Contains(fmtJSON(e.messageOn(tokA, id)["reactions"]), "❤") })
	e.ok(200, "PUT", "/messages/"+id+"/star", tokA, map[string]any{"starred": true})
	if e.messageOn(tokA, id)["starred"] != true {
		t.Fatal("star not stored")
	}
	fwd := e.ok(200, "POST", "/messages/"+imgID, tokA, map[string]any{"to": ben})
	if fm := fwd["message"].(map[string]any); fm["type"] != "image" || fm["id"] == imgID {
		t.Fatalf("forward = %v", fwd)
	}
	e.ok(200, "DELETE", "/messages/"+rid, tokB, nil)
	e.eventually("the deletion on A", func() bool { return e.messageOn(tokA, rid)["status"] == "deleted" })
	e.fail(409, "already deleted", "DELETE", "/messages/"+rid, tokB, nil)
	e.fail(403, "own messages", "DELETE", "/messages/"+id, tokB, nil)

	// Lists: chats, paging, filters, order.
	all := e.ok(200, "GET", "/messages/list?count=2&offset=1", tokA, nil)
	if num(all["count"]) != 2 || num(all["offset"]) != 1 || num(all["total"]) < 15 {
		t.Fatalf("paged list = count %v offset %v total %v", all["count"], all["offset"], all["total"])
	}
	mine := e.ok(200, "GET", "/messages/list?from_me=false&count=500", tokA, nil)
	for _, m := range mine["messages"].([]any) {
		if m.(map[string]any)["from_me"] != false {
			t.Fatalf("from_me=false listed %v", m)
		}
	}
	asc := e.ok(200, "GET", "/messages/list/"+ben+"@s.whatsapp.net?sort=asc&count=1", tokA, nil)
	if asc["messages"].([]any)[0].(map[string]any)["id"] != id {
		t.Fatalf("oldest message of the chat = %v, want %s", asc["messages"], id)
	}
	chats := e.ok(200, "GET", "/chats", tokA, nil)
	if num(chats["total"]) != 1 || chats["chats"].([]any)[0].(map[string]any)["id"] != benJID {
		t.Fatalf("A's chats = %v", chats)
	}
	c := e.ok(200, "GET", "/chats/"+ben, tokA, nil)
	if c["type"] != "contact" || c["last_message"] == nil || c["last_message"].(map[string]any)["from_me"] != true {
		t.Fatalf("chat = %v", c)
	}
	e.ok(200, "POST", "/chats/"+ben, tokA, map[string]any{"archive": true})
	until := time.Now().Add(time.Hour).UnixMilli()
	e.ok(200, "PATCH", "/chats/"+ben, tokA, map[string]any{"pin": true, "mute_until": until, "mark_unread": false})
	c = e.ok(200, "GET", "/chats/"+ben, tokA, nil)
	if c["archive"] != true || c["pin"] != true || num(c["unread"]) != 0 {
		t.Fatalf("chat after archive/pin/read = %v", c)
	}

	// Bad input: a 4xx naming the problem, nothing sent or stored.
	before := num(e.ok(200, "GET", "/messages/list", tokA, nil)["total"])
	e.fail(400, "to", "POST", "/messages/text", tokA, map[string]any{"to": "not a number", "body": "x"})
	e.fail(400, "body", "POST", "/messages/text", tokA, map[string]any{"to": ben, "body": "  "})
	e.fail(400, "request body", "POST", "/messages/text", tokA, nil)
	e.fail(400, "options", "POST", "/messages/poll", tokA, map[string]any{"to": ben, "title": "?", "options": []string{"one"}})
	e.fail(400, "latitude", "POST", "/messages/location", tokA, map[string]any{"to": ben, "latitude": 91, "longitude": 0})
	e.fail(400, "media", "POST", "/messages/image", tokA, map[string]any{"to": ben})
	e.fail(400, "media", "POST", "/messages/image", tokA, map[string]any{"to": ben, "media": files.URL + "/missing.png"})
	e.fail(415, "image", "POST", "/messages/image", tokA, map[string]any{"to": ben, "media": dataURI("text/html", []byte("<html>"))})
	e.fail(413, "sticker", "POST", "/messages/sticker", tokA, map[string]any{"to": ben, "media": dataURI("image/webp", make([]byte, 1<<20+1))})
	e.fail(400, "edit", "POST", "/messages/text", tokA, map[string]any{"to": ben, "body": "x", "edit": "NOPE0000"})
	e.fail(404, "message", "GET", "/messages/NOPE0000", tokA, nil)
	e.fail(404, "message", "GET", "/messages/bad%20id", tokA, nil)
	e.fail(404, "chat", "GET", "/chats/15559990000", tokA, nil)
	e.fail(404, "media", "GET", "/media/png-00000000000000000000000000000000", tokA, nil)
	if after := num(e.ok(200, "GET", "/messages/list", tokA, nil)["total"]); after != before {
		t.Fatalf("rejected sends stored messages: %d -> %d", before, after)
	}
	e.ok(200, "DELETE", "/media/"+up.Media[0].ID, tokA, nil)
	e.fail(404, "media", "GET", "/media/"+up.Media[0].ID, tokA, nil)
	e.ok(200, "DELETE", "/chats/"+ben, tokA, nil)
	e.fail(404, "chat", "GET", "/messages/list/"+ben, tokA, nil) // the chat is gone, with its messages
}

// testTrialLimits runs a trial channel into its limits: 402 past them,
// /limits counting down, none once live.
func testTrialLimits(t *testing.T, e *env) {
	const cara, dan, eve = "15552230001", "15552230002", "15552230003"
	ptok, tokA, _ := e.twoLinked("limits", cara, dan)
	e.ok(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": eve, "name": "Eve"})
	e.ok(200, "PATCH", "/admin/settings", adminToken, map[string]any{"limit_messages_per_day": 3, "limit_chats_per_month": 1})
	defer e.ok(200, "PATCH", "/admin/settings", adminToken, map[string]any{"limit_messages_per_day": 150, "limit_chats_per_month": 5})

	lim := e.ok(200, "GET", "/limits", tokA, nil)
	if num(lim["messages"]) != 3 || len(lim["chats"].([]any)) != 0 {
		t.Fatalf("limits before = %v", lim)
	}
	// A message WhatsApp refuses uses nothing up.
	e.fail(404, "not on WhatsApp", "POST", "/messages/text", tokA, map[string]any{"to": "15552239999", "body": "hi"})
	if lim := e.ok(200, "GET", "/limits", tokA, nil); num(lim["messages"]) != 3 || len(lim["chats"].([]any)) != 0 {
		t.Fatalf("limits after a refused message = %v", lim)
	}
	for range 3 {
		e.ok(200, "POST", "/messages/text", tokA, map[string]any{"to": dan, "body": "hi"})
	}
	e.fail(402, "limit exceeded", "POST", "/messages/text", tokA, map[string]any{"to": dan, "body": "one too many"})
	lim = e.ok(200, "GET", "/limits", tokA, nil)
	if num(lim["messages"]) != 0 || fmtJSON(lim["chats"]) != `["`+dan+`@s.whatsapp.net"]` || num(lim["requests"]) >= 1000 {
		t.Fatalf("limits after = %v", lim)
	}
	e.ok(200, "PATCH", "/admin/settings", adminToken, map[string]any{"limit_messages_per_day": 150})
	e.fail(402, "chats", "POST", "/messages/text", tokA, map[string]any{"to": eve, "body": "a second chat"})

	// Live: no limits.
	chID := e.ok(200, "GET", "/health", tokA, nil)["channel_id"].(string)
	e.ok(200, "POST", "/partner/channels/"+chID+"/extend", ptok, map[string]any{"days": 2, "comment": ""})
	e.ok(200, "PATCH", "/partner/channels/"+chID+"/mode", ptok, map[string]any{"mode": "live"})
	e.waitHealth(tokA, "AUTH")
	if code, _ := e.do("GET", "/limits", tokA, nil); code != http.StatusNoContent {
		t.Fatalf("live limits: %d", code)
	}
	e.ok(200, "POST", "/messages/text", tokA, map[string]any{"to": eve, "body": "live now"})
}

// testGroupMessages forms a group of two channels and a phone, talks in it,
// and checks what each member stores and receives.
func testGroupMessages(t *testing.T, e *env) {
	const gia, hal, ivy = "15552240001", "15552240002", "15552240003"
	_, tokA, tokB := e.twoLinked("grpmsg", gia, hal)
	e.ok(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": ivy, "name": "Ivy"})
	g := e.ok(200, "POST", "/groups", tokA, map[string]any{"subject": "Shop team", "participants": []string{hal, ivy}})
	gid := g["id"].(string)

	// A writes to the group: B (a member's linked channel) and Ivy's phone get it.
	sent := e.ok(200, "POST", "/messages/text", tokA, map[string]any{"to": gid, "body": "hello team"})
	id := sent["message"].(map[string]any)["id"].(string)
	onB := e.messageOn(tokB, id)
	if onB["chat_id"] != gid || onB["from"] != gia || onB["from_me"] != false {
		t.Fatalf("group message on B = %v", onB)
	}
	if inbox := e.ok(200, "GET", "/admin/sim/phones/"+ivy+"/messages", adminToken, nil); !strings.Contains(fmtJSON(inbox), "hello team") {
		t.Fatalf("Ivy's inbox = %v", inbox)
	}
	// B answers with a picture; A stores it in the group chat.
	pic := e.ok(200, "POST", "/messages/image", tokB, map[string]any{"to": gid, "media": dataURI("image/png", pngBytes), "quoted": id})
	onA := e.messageOn(tokA, pic["message"].(map[string]any)["id"].(string))
	if onA["chat_id"] != gid || onA["image"].(map[string]any)["sha256"] != sha(pngBytes) {
		t.Fatalf("group picture on A = %v", onA)
	}
	// The phone writes too.
	e.ok(201, "POST", "/admin/sim/phones/"+ivy+"/messages", adminToken, map[string]any{"to": gid, "body": "from Ivy"})
	e.eventually("Ivy's message on A and B", func() bool {
		a := e.ok(200, "GET", "/messages/list/"+gid, tokA, nil)
		b := e.ok(200, "GET", "/messages/list/"+gid, tokB, nil)
		return num(a["total"]) == 3 && num(b["total"]) == 3 && strings.Contains(fmtJSON(a), "from Ivy")
	})
	// The group chat carries the group's name; when every member read A's
	// message, it turns read.
	if c := e.ok(200, "GET", "/chats/"+gid, tokA, nil); c["type"] != "group" || c["name"] != "Shop team" {
		t.Fatalf("group chat on A = %v", c)
	}
	e.ok(200, "PUT", "/messages/"+id, tokB, nil)
	e.ok(200, "POST", "/admin/sim/phones/"+ivy+"/read", adminToken, map[string]any{"ids": []string{id}})
	e.eventually("the group message read on A", func() bool { return e.messageOn(tokA, id)["status"] == "read" })
}
