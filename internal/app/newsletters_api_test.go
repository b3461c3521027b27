package app_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/jpeg"
	"strings"
	"testing"
	"time"
)

// newsletterIn finds a newsletter by ID in a list answer (nil when absent).
func newsletterIn(list map[string]any, id string) map[string]any {
	for _, x := range list["newsletters"].([]any) {
		if n := x.(map[string]any); n["id"] == id {
			return n
		}
	}
	return nil
}

// testNewsletters runs a newsletter (WhatsApp channel) from one linked
// channel and follows it from another: created, found in the directory,
// edited, followed and unfollowed by ID and by invite code, its posts
// reaching followers, its invite link sent to a phone, an admin invited,
// the invitation taken back, accepted, the admin posting and demoted, and
// the newsletter deleted; what the others may not do and bad input.
func testNewsletters(t *testing.T, e *env) {
	const ann, ben, pia = "15550808081", "15550808082", "15550808083"
	const unknownID, unknownCode = "123456789012@newsletter", "AAAAAAAAAAAAAAAAAAAAAAAA"
	_, ptok := e.partner("news", 20)
	tokA, _ := e.linkedChannel(ptok, "Ann", ann)
	tokB, _ := e.linkedChannel(ptok, "Ben", ben)
	_, otherTok := e.partner("newsoutsider", 20)
	tokC, _ := e.linkedChannel(otherTok, "Cid", "15550808085")
	e.simPhone(pia, "Pia")

	var pic bytes.Buffer
	if err := jpeg.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	// Bad input creates nothing.
	e.fail(400, "name", "POST", "/newsletters", tokA, map[string]any{"name": ""})
	e.fail(400, "name", "POST", "/newsletters", tokA, `{"name": 5}`)
	e.fail(400, "malformed JSON", "POST", "/newsletters", tokA, `{"name":`)
	e.fail(400, "description", "POST", "/newsletters", tokA, map[string]any{"name": "N", "description": strings.Repeat("d", 2049)})
	e.fail(415, "JPEG", "POST", "/newsletters", tokA, map[string]any{"name": "N", "newsletter_pic": base64.StdEncoding.EncodeToString(pngBytes)})
	e.fail(400, "newsletter_pic", "POST", "/newsletters", tokA, map[string]any{"name": "N", "newsletter_pic": "not base64!"})
	if code, _, _ := e.raw("POST", "/newsletters", tokA, "text/plain", []byte(`{"name":"N"}`)); code != 415 {
		t.Fatalf("POST /newsletters as text/plain: %d", code)
	}
	if l := e.ok(200, "GET", "/newsletters", tokA, nil); num(l["total"]) != 0 {
		t.Fatalf("bad input created newsletters: %v", l)
	}

	nl := e.ok(200, "POST", "/newsletters", tokA, map[string]any{"name": "Ann's news", "description": "daily",
		"newsletter_pic": base64.StdEncoding.EncodeToString(pic.Bytes())})
	id, code := nl["id"].(string), nl["invite_code"].(string)
	if !strings.HasSuffix(id, "@newsletter") || len(code) != 24 || nl["role"] != "owner" || nl["name"] != "Ann's news" ||
		nl["description"] != "daily" || num(nl["subscribers_count"]) != 1 || nl["preview"] == nil {
		t.Fatalf("created newsletter = %v", nl)
	}
	if l := e.ok(200, "GET", "/newsletters", tokA, nil); num(l["total"]) != 1 || newsletterIn(l, id)["role"] != "owner" {
		t.Fatalf("Ann's newsletters = %v", l)
	}
	// Ben neither runs nor follows it: not in his list, a guest when he
	// reads it (newsletters are public).
	if l := e.ok(200, "GET", "/newsletters", tokB, nil); newsletterIn(l, id) != nil {
		t.Fatalf("Ben's newsletters = %v", l)
	}
	if got := e.ok(200, "GET", "/newsletters/"+id+"?user%20role=owner", tokB, nil); got["role"] != "guest" || got["name"] != "Ann's news" {
		t.Fatalf("the newsletter as Ben sees it = %v", got)
	}

	// Edited by the owner; not by Ben, nor by another partner's channel.
	up := e.ok(200, "PATCH", "/newsletters/"+id, tokA, map[string]any{"description": "weekly", "reactions": "basic"})
	if up["description"] != "weekly" || up["name"] != "Ann's news" {
		t.Fatalf("PATCH newsletter = %v", up)
	}
	e.fail(403, "", "PATCH", "/newsletters/"+id, tokB, map[string]any{"name": "mine"})
	e.fail(403, "", "PATCH", "/newsletters/"+id, tokC, map[string]any{"name": "mine"})
	e.fail(400, "reactions", "PATCH", "/newsletters/"+id, tokA, map[string]any{"reactions": "some"})
	e.fail(400, "nothing to change", "PATCH", "/newsletters/"+id, tokA, map[string]any{})
	e.fail(400, "name", "PATCH", "/newsletters/"+id, tokA, map[string]any{"name": " "})
	e.fail(404, "", "PATCH", "/newsletters/"+unknownID, tokA, map[string]any{"name": "x"})
	if got := e.ok(200, "GET", "/newsletters/"+id, tokC, nil); got["description"] != "weekly" || got["name"] != "Ann's news" {
		t.Fatalf("the newsletter after the refused edits = %v", got)
	}
	e.fail(404, "", "GET", "/newsletters/"+unknownID, tokA, nil)
	e.fail(404, "", "GET", "/newsletters/nope", tokA, nil)
	e.fail(400, "user role", "GET", "/newsletters/"+id+"?user%20role=king", tokA, nil)

	// Found in the directory, by its description.
	e.clock.Advance(time.Minute) // Cid's is newer
	other := e.ok(200, "POST", "/newsletters", tokC, map[string]any{"name": "Cid's recipes"})["id"].(string)
	found := e.ok(200, "GET", "/newsletters/find?search=WEEKLY", tokB, nil)
	if len(found["newsletters"].([]any)) != 1 || newsletterIn(found, id) == nil {
		t.Fatalf("find weekly = %v", found)
	}
	if all := e.ok(200, "GET", "/newsletters/find?newsletter_field=creation_time&sort=desc&count=1", tokB, nil); newsletterIn(all, other) == nil ||
		all["page_info"].(map[string]any)["next_page"] != true {
		t.Fatalf("the newest newsletter, a page of 1 = %v", all)
	}
	if next := e.ok(200, "GET", "/newsletters/find?newsletter_field=creation_time&sort=desc&count=1&cursor=1", tokB, nil); newsletterIn(next, id) == nil ||
		next["page_info"].(map[string]any)["next_page"] != false || next["page_info"].(map[string]any)["previous_page"] != true {
		t.Fatalf("the next page = %v", next)
	}
	e.fail(400, "cursor", "GET", "/newsletters/find?cursor=x", tokB, nil)
	e.fail(400, "newsletter_field", "GET", "/newsletters/find?newsletter_field=age", tokB, nil)
	e.fail(400, "sort", "GET", "/newsletters/find?sort=up", tokB, nil)
	e.fail(400, "count", "GET", "/newsletters/find?count=0", tokB, nil)
	e.fail(400, "country_code", "GET", "/newsletters/recommended?country_code=USA", tokB, nil)
	if got := e.ok(200, "GET", "/newsletters/link/"+code, tokB, nil); got["id"] != id {
		t.Fatalf("by invite = %v", got)
	}
	e.fail(404, "", "GET", "/newsletters/link/"+unknownCode, tokB, nil)
	e.fail(400, "NewsletterInviteCode", "GET", "/newsletters/link/short", tokB, nil)

	// Followed by ID: counted, recommended first, listed by Ben; the
	// owner's posts reach him.
	e.ok(200, "POST", "/newsletters/"+id+"/subscription", tokB, nil)
	if got := e.ok(200, "GET", "/newsletters/"+id, tokB, nil); got["role"] != "subscriber" || num(got["subscribers_count"]) != 2 {
		t.Fatalf("followed newsletter = %v", got)
	}
	if l := e.ok(200, "GET", "/newsletters", tokB, nil); newsletterIn(l, id)["role"] != "subscriber" {
		t.Fatalf("Ben's newsletters = %v", l)
	}
	if rec := e.ok(200, "GET", "/newsletters/recommended?country_code=US", tokB, nil); rec["newsletters"].([]any)[0].(map[string]any)["id"] != id {
		t.Fatalf("recommended (most followed first) = %v", rec)
	}
	e.fail(404, "", "POST", "/newsletters/"+unknownID+"/subscription", tokB, nil)
	e.ok(200, "POST", "/newsletters/"+id+"/tracking", tokB, nil)
	e.fail(404, "", "POST", "/newsletters/"+unknownID+"/tracking", tokB, nil)
	e.ok(200, "POST", "/messages/text", tokA, map[string]any{"to": id, "body": "first post"})
	e.fail(403, "", "POST", "/messages/text", tokB, map[string]any{"to": id, "body": "not mine"})
	e.eventually("the post in Ben's chat", func() bool {
		code, raw := e.do("GET", "/messages/list/"+id, tokB, nil) // 404 until the chat is stored
		return code == 200 && strings.Contains(string(raw), "first post")
	})
	posts := e.ok(200, "GET", "/newsletters/"+id+"/messages?count=10", tokB, nil)
	if num(posts["count"]) != 1 || !strings.Contains(fmtJSON(posts), "first post") {
		t.Fatalf("posts = %v", posts)
	}
	if p := posts["messages"].([]any)[0].(map[string]any); p["chat_id"] != id || p["from_me"] != false {
		t.Fatalf("a post as a follower reads it = %v", p)
	}
	if mine := e.ok(200, "GET", "/newsletters/"+id+"/messages", tokA, nil); mine["messages"].([]any)[0].(map[string]any)["from_me"] != true {
		t.Fatalf("a post as its owner reads it = %v", mine)
	}
	if before := e.ok(200, "GET", "/newsletters/"+id+"/messages?before=1", tokB, nil); num(before["count"]) != 0 {
		t.Fatalf("posts before the first = %v", before)
	}
	e.fail(400, "before", "GET", "/newsletters/"+id+"/messages?before=x", tokB, nil)
	e.fail(400, "count", "GET", "/newsletters/"+id+"/messages?count=0", tokB, nil)
	e.fail(404, "", "GET", "/newsletters/"+unknownID+"/messages", tokB, nil)

	// Unfollowed: not counted, not listed; the owner cannot unfollow.
	e.ok(200, "DELETE", "/newsletters/"+id+"/subscription", tokB, nil)
	if got := e.ok(200, "GET", "/newsletters/"+id, tokB, nil); got["role"] != "guest" || num(got["subscribers_count"]) != 1 {
		t.Fatalf("unfollowed newsletter = %v", got)
	}
	if l := e.ok(200, "GET", "/newsletters", tokB, nil); newsletterIn(l, id) != nil {
		t.Fatalf("Ben's newsletters after unfollowing = %v", l)
	}
	e.fail(400, "cannot unfollow", "DELETE", "/newsletters/"+id+"/subscription", tokA, nil)
	e.fail(404, "", "DELETE", "/newsletters/"+unknownID+"/subscription", tokB, nil)

	// The same by invite code.
	e.ok(200, "POST", "/newsletters/invite/"+code+"/subscription", tokB, nil)
	if got := e.ok(200, "GET", "/newsletters/"+id, tokB, nil); got["role"] != "subscriber" {
		t.Fatalf("followed by invite = %v", got)
	}
	e.ok(200, "DELETE", "/newsletters/invite/"+code+"/subscription", tokB, nil)
	if got := e.ok(200, "GET", "/newsletters/"+id, tokB, nil); got["role"] != "guest" {
		t.Fatalf("unfollowed by invite = %v", got)
	}
	e.fail(404, "", "POST", "/newsletters/invite/"+unknownCode+"/subscription", tokB, nil)
	e.fail(404, "", "DELETE", "/newsletters/invite/"+unknownCode+"/subscription", tokB, nil)
	e.fail(400, "NewsletterInviteCode", "POST", "/newsletters/invite/bad/subscription", tokB, nil)

	// The invite link, sent to a phone.
	sent := e.ok(200, "POST", "/newsletters/link/"+code, tokA, map[string]any{"to": pia, "body": "Follow %URL% please"})
	if sent["sent"] != true {
		t.Fatalf("invite link = %v", sent)
	}
	e.eventually("the invite link on Pia's phone", func() bool {
		return e.inboxHas(pia, "Follow https://whatsapp.com/channel/"+code+" please")
	})
	e.fail(400, "preview_type", "POST", "/newsletters/link/"+code, tokA, map[string]any{"to": pia, "preview_type": "thumbnail"})
	e.fail(400, "to", "POST", "/newsletters/link/"+code, tokA, map[string]any{"body": "no one"})
	e.fail(404, "", "POST", "/newsletters/link/"+unknownCode, tokA, map[string]any{"to": pia})

	// An admin: invited (a message to Ben's phone), taken back, invited
	// again and accepted; he posts; demoted by the owner, he cannot.
	inv := e.ok(200, "POST", "/newsletters/"+id+"/invite/"+ben, tokA, map[string]any{"message": "help me run it"})
	e.eventually("the admin invitation on Ben's phone", func() bool { return e.inboxHas(ben, "help me run it") })
	// It is a message the channel sent: stored in its chat with Ben.
	if m := e.messageOn(tokA, inv["message"].(map[string]any)["id"].(string)); m["chat_id"] != ben+"@s.whatsapp.net" || m["from_me"] != true ||
		!strings.Contains(fmtJSON(m), "help me run it") {
		t.Fatalf("the stored invitation = %v", m)
	}
	e.ok(200, "DELETE", "/newsletters/"+id+"/invite/"+ben, tokA, nil)
	e.fail(404, "", "PUT", "/newsletters/"+id+"/admins/"+ann, tokB, nil) // taken back
	e.fail(404, "", "DELETE", "/newsletters/"+id+"/invite/"+ben, tokA, nil)
	e.fail(400, "ContactID", "POST", "/newsletters/"+id+"/invite/nope", tokA, nil)
	e.fail(403, "", "POST", "/newsletters/"+id+"/invite/"+pia, tokB, nil) // Ben does not run it
	e.fail(404, "", "POST", "/newsletters/"+unknownID+"/invite/"+ben, tokA, nil)
	e.fail(400, "message", "POST", "/newsletters/"+id+"/invite/"+ben, tokA, `{"message": 5}`)
	e.ok(200, "POST", "/newsletters/"+id+"/invite/"+ben, tokA, nil)
	e.fail(404, "", "PUT", "/newsletters/"+id+"/admins/"+ann, tokA, nil) // Ann has no invitation
	e.fail(400, "ContactID", "PUT", "/newsletters/"+id+"/admins/x", tokB, nil)
	e.ok(200, "PUT", "/newsletters/"+id+"/admins/"+ann, tokB, nil)
	if got := e.ok(200, "GET", "/newsletters/"+id, tokB, nil); got["role"] != "admin" || num(got["subscribers_count"]) != 2 {
		t.Fatalf("the newsletter as its new admin sees it = %v", got)
	}
	e.ok(200, "PATCH", "/newsletters/"+id, tokB, map[string]any{"name": "Ann and Ben's news"})
	e.ok(200, "POST", "/messages/text", tokB, map[string]any{"to": id, "body": "an admin's post"})
	if p := e.ok(200, "GET", "/newsletters/"+id+"/messages", tokA, nil); num(p["count"]) != 2 || !strings.Contains(fmtJSON(p), "an admin's post") {
		t.Fatalf("posts after the admin's = %v", p)
	}
	e.fail(403, "", "DELETE", "/newsletters/"+id+"/admins/"+ann, tokB, nil) // only the owner demotes
	e.fail(403, "", "DELETE", "/newsletters/"+id, tokB, nil)                // only the owner deletes
	e.ok(200, "DELETE", "/newsletters/"+id+"/admins/"+ben, tokA, nil)
	if got := e.ok(200, "GET", "/newsletters/"+id, tokB, nil); got["role"] != "subscriber" || got["name"] != "Ann and Ben's news" {
		t.Fatalf("the newsletter as its demoted admin sees it = %v", got)
	}
	e.fail(403, "", "POST", "/messages/text", tokB, map[string]any{"to": id, "body": "no longer"})
	e.fail(404, "", "DELETE", "/newsletters/"+id+"/admins/"+ben, tokA, nil)
	e.fail(400, "ContactID", "DELETE", "/newsletters/"+id+"/admins/x", tokA, nil)

	// Deleted by the owner: gone for everyone.
	e.fail(403, "", "DELETE", "/newsletters/"+id, tokC, nil)
	e.ok(200, "DELETE", "/newsletters/"+id, tokA, nil)
	e.fail(404, "", "DELETE", "/newsletters/"+id, tokA, nil)
	e.fail(404, "", "GET", "/newsletters/"+id, tokB, nil)
	e.fail(404, "", "GET", "/newsletters/link/"+code, tokB, nil)
	for _, tok := range []string{tokA, tokB} {
		if l := e.ok(200, "GET", "/newsletters", tok, nil); newsletterIn(l, id) != nil {
			t.Fatalf("a deleted newsletter is listed: %v", l)
		}
	}
	if l := e.ok(200, "GET", "/newsletters?count=1&offset=0", tokC, nil); num(l["total"]) != 1 || newsletterIn(l, other) == nil {
		t.Fatalf("Cid's newsletters = %v", l)
	}
	e.fail(400, "count", "GET", "/newsletters?count=0", tokA, nil)
}
