package app_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"
)

// storyTexts lists the bodies of a GET /stories answer.
func storyTexts(list map[string]any) []string {
	var out []string
	for _, x := range list["messages"].([]any) {
		m := x.(map[string]any)
		if t, ok := m["text"].(map[string]any); ok {
			out = append(out, t["body"].(string))
			continue
		}
		for _, kind := range []string{"image", "video", "voice", "audio"} {
			if f, ok := m[kind].(map[string]any); ok {
				c, _ := f["caption"].(string)
				out = append(out, kind+":"+c)
			}
		}
	}
	return out
}

// viewsOf maps the viewers of a GET /statuses/{MessageID} answer to their
// status.
func (e *env) viewsOf(token, id string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, x := range e.ok(200, "GET", "/statuses/"+id, token, nil)["statuses"].([]any) {
		v := x.(map[string]any)
		if v["id"] != id {
			e.t.Fatalf("status of another message: %v", v)
		}
		out[v["viewer_id"].(string)] = v["status"].(string)
	}
	return out
}

// testStories posts stories of every kind through both families of paths
// (/stories* and /messages/story*) and checks who sees them: the contacts
// of the account (sim phones' inboxes, another linked channel's GET
// /stories), the named audience only, everyone but the excluded; reposts,
// viewers and their reads, and what another channel cannot see.
func testStories(t *testing.T, e *env) {
	const ann, ben, pia, rex, nobody = "15550707071", "15550707072", "15550707073", "15550707074", "15550707079"
	_, ptok := e.partner("stories", 20)
	tokA, _ := e.linkedChannel(ptok, "Ann", ann)
	tokB, _ := e.linkedChannel(ptok, "Ben", ben)
	_, otherTok := e.partner("outsider", 20)
	tokC, _ := e.linkedChannel(otherTok, "Cid", "15550707075")
	e.simPhone(pia, "Pia")
	e.simPhone(rex, "Rex") // never talks to Ann: not her contact
	// Ann's contacts are those she wrote to.
	e.ok(200, "POST", "/messages/text", tokA, map[string]any{"to": ben, "body": "hi Ben"})
	e.ok(200, "POST", "/messages/text", tokA, map[string]any{"to": pia, "body": "hi Pia"})

	// A text story reaches her contacts, not Rex.
	st := e.ok(200, "POST", "/stories/send/text", tokA, map[string]any{"caption": "Hello from Ann", "background_color": "#FF112233",
		"caption_color": "#FFFFFFFF", "font_type": "SYSTEM_BOLD"})
	msg := st["message"].(map[string]any)
	storyID := msg["id"].(string)
	if st["sent"] != true || msg["chat_id"] != "status@broadcast" || msg["from_me"] != true {
		t.Fatalf("text story = %v", st)
	}
	e.eventually("the story on Pia's phone", func() bool { return e.inboxHas(pia, "Hello from Ann") })
	e.eventually("the story on Ben's channel", func() bool {
		return strings.Contains(fmtJSON(e.ok(200, "GET", "/stories?author="+ann, tokB, nil)), "Hello from Ann")
	})
	if got := e.ok(200, "GET", "/stories/"+storyID, tokA, nil); got["id"] != storyID || !strings.Contains(fmtJSON(got["text"]), "Hello from Ann") {
		t.Fatalf("GET /stories/%s = %v", storyID, got)
	}
	if e.inboxHas(rex, "Hello from Ann") {
		t.Fatal("a story reached someone who is not a contact")
	}

	// Only the named audience; everyone but the excluded.
	only := e.ok(200, "POST", "/stories", tokA, map[string]any{"caption": "only for Pia", "contacts": []string{pia}})
	onlyID := only["message"].(map[string]any)["id"].(string)
	e.ok(200, "POST", "/messages/story", tokA, map[string]any{"caption": "not for Pia", "exclude_contacts": []string{pia}})
	e.eventually("the story for Pia", func() bool { return e.inboxHas(pia, "only for Pia") })
	e.eventually("the story but Pia on Ben's channel", func() bool {
		return strings.Contains(fmtJSON(e.ok(200, "GET", "/stories", tokB, nil)), "not for Pia")
	})
	if e.inboxHas(pia, "not for Pia") {
		t.Fatal("an excluded contact got the story")
	}
	if strings.Contains(fmtJSON(e.ok(200, "GET", "/stories", tokB, nil)), "only for Pia") {
		t.Fatal("a story for Pia only reached Ben")
	}
	e.eventually("Pia's delivery of the story for her", func() bool { return e.viewsOf(tokA, onlyID)[pia] != "" })
	if v := e.viewsOf(tokA, onlyID); len(v) != 1 {
		t.Fatalf("views of the story for Pia = %v", v)
	}
	// Ben's channel does not have it: 404 as for any unknown ID, and no
	// viewers for a story not its own.
	e.fail(404, "", "GET", "/stories/"+onlyID, tokB, nil)
	e.fail(404, "", "GET", "/statuses/"+onlyID, tokB, nil)

	// Media and audio stories, under every path.
	ogg := []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00")
	e.ok(200, "POST", "/stories/send/media", tokA, map[string]any{"media": dataURI("image/png", pngBytes), "caption": "a dot"})
	e.ok(200, "POST", "/stories/send/audio", tokA, map[string]any{"media": dataURI("audio/ogg", ogg)})
	e.ok(200, "POST", "/messages/story/text", tokA, map[string]any{"caption": "text via messages"})
	e.ok(200, "POST", "/messages/story/media", tokA, map[string]any{"media": dataURI("image/png", pngBytes), "caption": "dot via messages"})
	e.ok(200, "POST", "/messages/story/audio", tokA, map[string]any{"media": dataURI("audio/ogg", ogg)})
	e.ok(200, "POST", "/stories", tokA, map[string]any{"media": dataURI("image/png", pngBytes), "caption": "dot via stories"})
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	_ = mw.WriteField("caption", "multipart dot")
	fw, _ := mw.CreateFormFile("media", "dot.png")
	_, _ = fw.Write(pngBytes)
	_ = mw.Close()
	if code, body, _ := e.raw("POST", "/stories/send/media", tokA, mw.FormDataContentType(), form.Bytes()); code != 200 {
		t.Fatalf("multipart story: %d %s", code, body)
	}
	e.eventually("the media stories on Pia's phone", func() bool {
		return e.inboxHas(pia, "a dot") && e.inboxHas(pia, "dot via messages") && e.inboxHas(pia, "multipart dot") &&
			e.inboxHas(pia, "text via messages")
	})
	mine := e.ok(200, "GET", "/stories?from_me=true", tokA, nil)
	if num(mine["total"]) != 10 {
		t.Fatalf("Ann's stories: total %v, want 10: %v", mine["total"], storyTexts(mine))
	}
	texts := strings.Join(storyTexts(mine), "|")
	for _, want := range []string{"Hello from Ann", "only for Pia", "not for Pia", "image:a dot", "image:multipart dot", "image:dot via stories"} {
		if !strings.Contains(texts, want) {
			t.Fatalf("Ann's stories %q lack %q", texts, want)
		}
	}
	if n := strings.Count(texts, "voice:"); n != 2 {
		t.Fatalf("Ann's stories %q: %d voice notes, want 2", texts, n)
	}
	if page := e.ok(200, "GET", "/stories?count=2&offset=1&from_me=true&normal_types=true&author="+ann, tokA, nil); num(page["count"]) != 2 ||
		num(page["total"]) != 10 || num(page["offset"]) != 1 {
		t.Fatalf("a page of stories = %v", page)
	}

	// Viewers: Ben and Pia received it; Pia reads it.
	e.eventually("both deliveries of the story", func() bool { return len(e.viewsOf(tokA, storyID)) == 2 })
	if v := e.viewsOf(tokA, storyID); len(v) != 2 || v[ben] == "" || v[pia] == "" {
		t.Fatalf("views of the story = %v, want Ben and Pia", v)
	}
	e.ok(200, "POST", "/admin/sim/phones/"+pia+"/read", adminToken, map[string]any{"ids": []string{storyID}})
	e.eventually("Pia's read", func() bool { return e.viewsOf(tokA, storyID)[pia] == "read" })
	if v := e.viewsOf(tokA, storyID); v[ben] == "read" {
		t.Fatalf("Ben did not read the story: %v", v)
	}
	// Of a plain message too: statuses are per message, not per story.
	txt := e.ok(200, "POST", "/messages/text", tokA, map[string]any{"to": pia, "body": "read me"})["message"].(map[string]any)["id"].(string)
	e.eventually("the text's delivery", func() bool { return e.viewsOf(tokA, txt)[pia] != "" })
	e.fail(404, "", "GET", "/statuses/"+txt, tokC, nil) // another partner's channel
	e.fail(404, "", "GET", "/statuses/NOPE00000000", tokA, nil)

	// A repost to Rex alone is a new story with the same text; one to the
	// contacts again reaches Pia twice.
	e.ok(201, "PUT", "/stories/"+storyID, tokA, map[string]any{"contacts": []string{rex}})
	e.eventually("the repost on Rex's phone", func() bool { return e.inboxHas(rex, "Hello from Ann") })
	e.ok(201, "PUT", "/stories/"+storyID, tokA, nil)
	e.eventually("the second repost", func() bool {
		return strings.Count(fmtJSON(e.ok(200, "GET", "/stories?from_me=true", tokA, nil)), "Hello from Ann") == 3
	})
	// A media story reposts its file.
	media := e.ok(200, "GET", "/stories?from_me=true&count=100", tokA, nil)
	var dotID string
	for _, x := range media["messages"].([]any) {
		if m := x.(map[string]any); strings.Contains(fmtJSON(m["image"]), "multipart dot") {
			dotID = m["id"].(string)
		}
	}
	e.ok(201, "PUT", "/stories/"+dotID, tokA, map[string]any{"contacts": []string{rex}})
	e.eventually("the reposted image on Rex's phone", func() bool { return e.inboxHas(rex, "multipart dot") })
	// So does a voice story.
	var voiceID string
	for _, x := range media["messages"].([]any) {
		if m := x.(map[string]any); m["type"] == "voice" {
			voiceID = m["id"].(string)
		}
	}
	e.ok(201, "PUT", "/stories/"+voiceID, tokA, map[string]any{"contacts": []string{rex}})
	e.eventually("the reposted voice note on Rex's phone", func() bool {
		return strings.Contains(fmtJSON(e.ok(200, "GET", "/admin/sim/phones/"+rex+"/messages", adminToken, nil)), `"type":"voice"`)
	})
	// Ben reposts the story Ann posted, from his channel.
	e.ok(201, "PUT", "/stories/"+storyID, tokB, map[string]any{"contacts": []string{pia}})
	e.eventually("Ben's repost on Pia's phone", func() bool {
		return strings.Contains(fmtJSON(e.ok(200, "GET", "/admin/sim/phones/"+pia+"/messages", adminToken, nil)), `"from":"`+ben+`"`)
	})

	// A story from a phone reaches the channel.
	e.ok(201, "POST", "/admin/sim/phones/"+pia+"/messages", adminToken, map[string]any{"to": "status@broadcast", "body": "Pia's story"})
	e.eventually("Pia's story on Ann's channel", func() bool {
		l := e.ok(200, "GET", "/stories?author="+pia, tokA, nil)
		return num(l["total"]) == 1 && strings.Contains(fmtJSON(l), "Pia's story")
	})
	theirs := e.ok(200, "GET", "/stories?author="+pia, tokA, nil)["messages"].([]any)[0].(map[string]any)
	if theirs["from_me"] != false || theirs["from"] != pia {
		t.Fatalf("Pia's story = %v", theirs)
	}
	e.fail(403, "not sent by the channel", "GET", "/statuses/"+theirs["id"].(string), tokA, nil)
	// Ann reposts an image story Pia posted to Rex.
	e.ok(201, "POST", "/admin/sim/phones/"+pia+"/messages", adminToken, map[string]any{"to": "status@broadcast", "type": "image",
		"media": base64.StdEncoding.EncodeToString(pngBytes), "mime_type": "image/png", "caption": "Pia's picture"})
	var picID string
	e.eventually("Pia's picture on Ann's channel", func() bool {
		for _, x := range e.ok(200, "GET", "/stories?author="+pia, tokA, nil)["messages"].([]any) {
			if m := x.(map[string]any); m["type"] == "image" {
				picID = m["id"].(string)
			}
		}
		return picID != ""
	})
	e.ok(201, "PUT", "/stories/"+picID, tokA, map[string]any{"contacts": []string{rex}})
	e.eventually("Pia's picture reposted to Rex", func() bool { return e.inboxHas(rex, "Pia's picture") })

	// Another partner's channel sees none of it.
	if l := e.ok(200, "GET", "/stories", tokC, nil); num(l["total"]) != 0 {
		t.Fatalf("an outsider's stories = %v", l)
	}
	e.fail(404, "", "GET", "/stories/"+storyID, tokC, nil)
	e.fail(404, "", "PUT", "/stories/"+storyID, tokC, nil)
	e.fail(404, "", "GET", "/statuses/"+storyID, tokC, nil)
	// A message is not a story.
	e.fail(404, "", "GET", "/stories/"+txt, tokA, nil)
	e.fail(404, "", "PUT", "/stories/"+txt, tokA, nil)

	// Bad input: 400 naming the field (415 for the wrong type), nothing
	// posted.
	before := num(e.ok(200, "GET", "/stories?from_me=true", tokA, nil)["total"])
	for _, c := range []struct {
		path   string
		body   any
		status int
		msg    string
	}{
		{"/stories/send/text", map[string]any{"caption": " "}, 400, "caption"},
		{"/stories/send/text", map[string]any{"caption": "x", "background_color": "red"}, 400, "background_color"},
		{"/stories/send/text", map[string]any{"caption": "x", "caption_color": "#12"}, 400, "caption_color"},
		{"/stories/send/text", map[string]any{"caption": "x", "font_type": "COMIC_SANS"}, 400, "font_type"},
		{"/stories/send/text", map[string]any{"caption": "x", "contacts": []string{"nope"}}, 400, "contacts"},
		{"/stories/send/text", map[string]any{"caption": "x", "contacts": []string{nobody}}, 404, ""},
		{"/stories/send/text", `{"caption": 5}`, 400, "caption"},
		{"/stories/send/text", `{"caption":`, 400, "malformed JSON"},
		{"/messages/story/text", map[string]any{"caption": "x", "media": dataURI("image/png", pngBytes)}, 400, "media"},
		{"/stories/send/media", map[string]any{"caption": "no file"}, 400, "media"},
		{"/messages/story/media", map[string]any{"media": dataURI("audio/ogg", ogg)}, 415, "media"},
		{"/stories/send/audio", map[string]any{"media": dataURI("image/png", pngBytes)}, 415, "media"},
		{"/messages/story/audio", map[string]any{}, 400, "media"},
		{"/stories", map[string]any{"exclude_contacts": "x", "caption": "x"}, 400, "exclude_contacts"},
		{"/messages/story", map[string]any{}, 400, "caption"},
	} {
		e.fail(c.status, c.msg, "POST", c.path, tokA, c.body)
	}
	if code, _, _ := e.raw("POST", "/stories/send/text", tokA, "text/plain", []byte(`{"caption":"x"}`)); code != 415 {
		t.Fatalf("a text story as text/plain: %d", code)
	}
	e.fail(400, "exclude_contacts", "PUT", "/stories/"+storyID, tokA, map[string]any{"exclude_contacts": "x"})
	e.fail(400, "contacts", "PUT", "/stories/"+storyID, tokA, `{"contacts": 7}`)
	if l := e.ok(200, "GET", fmt.Sprintf("/stories?time_to=%d", start.Unix()-1), tokA, nil); num(l["total"]) != 0 {
		t.Fatalf("stories before the first = %v", l)
	}
	if l := e.ok(200, "GET", fmt.Sprintf("/stories?from_me=false&time_from=%d", start.Unix()), tokA, nil); num(l["total"]) != 2 || strings.Contains(fmtJSON(l), "Hello from Ann") {
		t.Fatalf("stories Ann received (Pia's two) = %v", l)
	}
	e.fail(400, "time_to", "GET", fmt.Sprintf("/stories?time_from=%d&time_to=%d", start.Unix(), start.Unix()-1), tokA, nil)
	e.fail(400, "from_me", "GET", "/stories?from_me=maybe", tokA, nil)
	e.fail(400, "author", "GET", "/stories?author=nope", tokA, nil)
	e.fail(400, "time_from", "GET", "/stories?time_from=yesterday", tokA, nil)
	e.fail(400, "count", "GET", "/stories?count=0", tokA, nil)
	if after := num(e.ok(200, "GET", "/stories?from_me=true", tokA, nil)["total"]); after != before {
		t.Fatalf("bad story requests posted %d stories", after-before)
	}
}
