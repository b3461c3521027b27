package openapitest_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/jpeg"
	"mime/multipart"
	"testing"
	"time"
)

// testStoriesNewslettersCommunities drives the stories, statuses,
// newsletters and communities operations (and their usual errors) on the
// sim engine through the validating transport.
func testStoriesNewslettersCommunities(t *testing.T, c *apiClient, ptok, expiredToken string) {
	t.Helper()
	const ann, ben, pia = "15550008881", "15550008882", "15550008883"
	link := func(name, phone string) string { t.Helper(); return c.linkPhone(t, ptok, name, phone) }
	// eventually polls a list until it has at least n entries under key.
	eventually := func(path, tok, key string, n int) map[string]any {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			out := c.call(200, "GET", path, tok, nil)
			if list, _ := out[key].([]any); len(list) >= n {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s stayed under %d: %v", path, key, n, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	tokA := link("Ann", ann)
	tokB := link("Ben", ben)
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": pia, "name": "Pia"})
	// Ann talks with Ben and Pia: they are her contacts, who see her stories.
	c.call(200, "POST", "/messages/text", tokA, map[string]any{"to": ben, "body": "hi Ben"})
	c.call(200, "POST", "/messages/text", tokA, map[string]any{"to": pia, "body": "hi Pia"})

	// Stories.
	c.call(400, "POST", "/stories/send/text", tokA, map[string]any{"caption": " "})
	c.call(400, "POST", "/stories/send/text", tokA, map[string]any{"caption": "x", "background_color": "red"})
	c.call(400, "POST", "/stories/send/text", tokA, map[string]any{"caption": "x", "contacts": []string{"nope"}})
	c.raw(415, "POST", "/stories/send/text", tokA, "text/plain", []byte(`{"caption":"x"}`))
	c.call(402, "POST", "/stories/send/text", expiredToken, map[string]any{"caption": "x"})
	st := c.call(200, "POST", "/stories/send/text", tokA, map[string]any{"caption": "Hello", "background_color": "#FF112233",
		"caption_color": "#FFFFFFFF", "font_type": "SYSTEM_BOLD"})
	storyID := str(st["message"].(map[string]any), "id")
	c.call(400, "POST", "/stories/send/media", tokA, map[string]any{"caption": "no file"})
	c.call(415, "POST", "/stories/send/media", tokA, map[string]any{"media": dataURI("audio/ogg", []byte("OggS\x00\x02"))})
	c.call(200, "POST", "/stories/send/media", tokA, map[string]any{"media": dataURI("image/png", pngDot), "caption": "a dot"})
	c.call(415, "POST", "/stories/send/audio", tokA, map[string]any{"media": dataURI("image/png", pngDot)})
	c.call(200, "POST", "/stories/send/audio", tokA, map[string]any{"media": dataURI("audio/ogg", []byte("OggS\x00\x02\x00\x00"))})
	c.call(200, "POST", "/stories", tokA, map[string]any{"caption": "text via /stories", "contacts": []string{ben}})
	c.call(200, "POST", "/stories", tokA, map[string]any{"media": dataURI("image/png", pngDot), "exclude_contacts": []string{pia}})
	c.call(200, "POST", "/messages/story", tokA, map[string]any{"caption": "via messages"})
	c.call(200, "POST", "/messages/story/text", tokA, map[string]any{"caption": "via messages, text"})
	c.call(200, "POST", "/messages/story/media", tokA, map[string]any{"media": dataURI("image/png", pngDot)})
	c.call(200, "POST", "/messages/story/audio", tokA, map[string]any{"media": dataURI("audio/ogg", []byte("OggS\x00\x02\x00\x00"))})
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	_ = mw.WriteField("caption", "multipart")
	fw, _ := mw.CreateFormFile("media", "dot.png")
	_, _ = fw.Write(pngDot)
	_ = mw.Close()
	c.raw(200, "POST", "/stories/send/media", tokA, mw.FormDataContentType(), form.Bytes())

	c.call(200, "GET", "/stories", tokA, nil)
	c.call(200, "GET", "/stories?count=2&offset=1&from_me=true&normal_types=true&author="+ann, tokA, nil)
	c.call(400, "GET", "/stories?from_me=maybe", tokA, nil)
	c.call(400, "GET", "/stories?author=nope", tokA, nil)
	c.call(200, "GET", "/stories/"+storyID, tokA, nil)
	c.call(404, "GET", "/stories/NOPE0000", tokA, nil)
	c.call(201, "PUT", "/stories/"+storyID, tokA, map[string]any{"contacts": []string{ben}})
	c.call(201, "PUT", "/stories/"+storyID, tokA, nil)
	c.call(404, "PUT", "/stories/NOPE0000", tokA, map[string]any{})
	c.call(400, "PUT", "/stories/"+storyID, tokA, map[string]any{"exclude_contacts": "x"})
	views := c.call(200, "GET", "/statuses/"+storyID, tokA, nil)
	if list, _ := views["statuses"].([]any); len(list) != 2 {
		t.Errorf("story views: %v, want Ben and Pia", views)
	}
	c.call(404, "GET", "/statuses/NOPE0000", tokA, nil)
	// Ben sees Ann's stories, and one Pia posts from her phone.
	got := eventually("/stories?author="+ann, tokB, "messages", 1)
	theirs := str(got["messages"].([]any)[0].(map[string]any), "id")
	c.call(403, "GET", "/statuses/"+theirs, tokB, nil)
	// Another channel's messages are never visible: Ann's text to Pia.
	toPia := c.call(200, "POST", "/messages/text", tokA, map[string]any{"to": pia, "body": "only for Pia"})
	c.call(404, "GET", "/stories/"+str(toPia["message"].(map[string]any), "id"), tokB, nil)
	c.call(404, "GET", "/stories/"+str(toPia["message"].(map[string]any), "id"), tokA, nil) // a message, not a story
	c.call(201, "POST", "/admin/sim/phones/"+pia+"/messages", adminToken, map[string]any{"to": "status@broadcast", "body": "Pia's story"})
	eventually("/stories?author="+pia, tokA, "messages", 1)

	// Newsletters.
	var pic bytes.Buffer
	if err := jpeg.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	c.call(400, "POST", "/newsletters", tokA, map[string]any{"name": ""})
	c.call(415, "POST", "/newsletters", tokA, map[string]any{"name": "N", "newsletter_pic": base64.StdEncoding.EncodeToString(pngDot)})
	c.raw(415, "POST", "/newsletters", tokA, "text/plain", []byte(`{"name":"N"}`))
	nl := c.call(200, "POST", "/newsletters", tokA, map[string]any{"name": "Ann's news", "description": "daily",
		"newsletter_pic": base64.StdEncoding.EncodeToString(pic.Bytes())})
	nlID, code := str(nl, "id"), str(nl, "invite_code")
	c.call(200, "GET", "/newsletters", tokA, nil)
	c.call(400, "GET", "/newsletters?count=0", tokA, nil)
	c.call(200, "GET", "/newsletters/"+nlID+"?user%20role=owner", tokA, nil)
	c.call(404, "GET", "/newsletters/123456789012@newsletter", tokA, nil)
	c.call(404, "GET", "/newsletters/nope", tokA, nil)
	c.call(200, "PATCH", "/newsletters/"+nlID, tokA, map[string]any{"description": "weekly", "reactions": "basic"})
	c.call(400, "PATCH", "/newsletters/"+nlID, tokA, map[string]any{"reactions": "some"})
	c.call(400, "PATCH", "/newsletters/"+nlID, tokA, map[string]any{})
	c.call(403, "PATCH", "/newsletters/"+nlID, tokB, map[string]any{"name": "mine"})
	c.call(404, "PATCH", "/newsletters/123456789012@newsletter", tokA, map[string]any{"name": "x"})
	c.call(200, "GET", "/newsletters/find?search=news&newsletter_field=subscribers&sort=desc&count=1", tokB, nil)
	c.call(400, "GET", "/newsletters/find?newsletter_field=age", tokB, nil)
	c.call(200, "GET", "/newsletters/recommended?country_code=US", tokB, nil)
	c.call(400, "GET", "/newsletters/recommended?country_code=USA", tokB, nil)
	c.call(200, "GET", "/newsletters/link/"+code, tokB, nil)
	c.call(404, "GET", "/newsletters/link/AAAAAAAAAAAAAAAAAAAAAAAA", tokB, nil)
	c.call(400, "GET", "/newsletters/link/short", tokB, nil)
	c.call(200, "POST", "/newsletters/"+nlID+"/subscription", tokB, nil)
	c.call(404, "POST", "/newsletters/123456789012@newsletter/subscription", tokB, nil)
	c.call(200, "POST", "/messages/text", tokA, map[string]any{"to": nlID, "body": "first post"})
	c.call(403, "POST", "/messages/text", tokB, map[string]any{"to": nlID, "body": "not mine"})
	eventually("/messages/list/"+nlID, tokB, "messages", 1)
	c.call(200, "GET", "/newsletters/"+nlID+"/messages?count=10", tokB, nil)
	c.call(400, "GET", "/newsletters/"+nlID+"/messages?before=x", tokB, nil)
	c.call(404, "GET", "/newsletters/123456789012@newsletter/messages", tokB, nil)
	c.call(200, "POST", "/newsletters/"+nlID+"/tracking", tokB, nil)
	c.call(200, "DELETE", "/newsletters/"+nlID+"/subscription", tokB, nil)
	c.call(400, "DELETE", "/newsletters/"+nlID+"/subscription", tokA, nil) // the owner cannot
	c.call(200, "POST", "/newsletters/invite/"+code+"/subscription", tokB, nil)
	c.call(200, "DELETE", "/newsletters/invite/"+code+"/subscription", tokB, nil)
	c.call(404, "POST", "/newsletters/invite/AAAAAAAAAAAAAAAAAAAAAAAA/subscription", tokB, nil)
	c.call(404, "DELETE", "/newsletters/invite/AAAAAAAAAAAAAAAAAAAAAAAA/subscription", tokB, nil)
	c.call(200, "POST", "/newsletters/link/"+code, tokA, map[string]any{"to": pia, "body": "Follow %URL% please"})
	c.call(400, "POST", "/newsletters/link/"+code, tokA, map[string]any{"to": pia, "preview_type": "thumbnail"})
	c.call(404, "POST", "/newsletters/link/AAAAAAAAAAAAAAAAAAAAAAAA", tokA, map[string]any{"to": pia})
	c.call(402, "POST", "/newsletters/link/"+code, expiredToken, map[string]any{"to": pia})
	c.call(200, "POST", "/newsletters/"+nlID+"/invite/"+ben, tokA, map[string]any{"message": "help me run it"})
	c.call(200, "DELETE", "/newsletters/"+nlID+"/invite/"+ben, tokA, nil)
	c.call(404, "DELETE", "/newsletters/"+nlID+"/invite/"+ben, tokA, nil)
	c.call(400, "POST", "/newsletters/"+nlID+"/invite/nope", tokA, nil)
	c.call(403, "POST", "/newsletters/"+nlID+"/invite/"+pia, tokB, nil)
	c.call(200, "POST", "/newsletters/"+nlID+"/invite/"+ben, tokA, nil)
	c.call(404, "PUT", "/newsletters/"+nlID+"/admins/"+ann, tokA, nil) // Ann has no invitation
	c.call(200, "PUT", "/newsletters/"+nlID+"/admins/"+ann, tokB, nil)
	c.call(200, "POST", "/messages/text", tokB, map[string]any{"to": nlID, "body": "an admin's post"})
	c.call(403, "DELETE", "/newsletters/"+nlID+"/admins/"+ann, tokB, nil)
	c.call(200, "DELETE", "/newsletters/"+nlID+"/admins/"+ben, tokA, nil)
	c.call(404, "DELETE", "/newsletters/"+nlID+"/admins/"+ben, tokA, nil)
	c.call(403, "DELETE", "/newsletters/"+nlID, tokB, nil)
	c.call(200, "DELETE", "/newsletters/"+nlID, tokA, nil)
	c.call(404, "DELETE", "/newsletters/"+nlID, tokA, nil)

	// Communities.
	c.call(400, "POST", "/communities", tokA, map[string]any{"subject": ""})
	c.raw(415, "POST", "/communities", tokA, "text/plain", []byte(`{"subject":"x"}`))
	cm := c.call(200, "POST", "/communities", tokA, map[string]any{"subject": "Club", "description": "the club"})
	cid := str(cm, "id")
	g := c.call(200, "POST", "/groups", tokA, map[string]any{"subject": "Side group", "participants": []string{pia}})
	gid := str(g, "id")
	c.call(200, "GET", "/communities", tokA, nil)
	c.call(400, "GET", "/communities?offset=-1", tokA, nil)
	c.call(200, "GET", "/communities/"+cid, tokA, nil)
	c.call(404, "GET", "/communities/"+gid, tokA, nil)
	c.call(404, "GET", "/communities/"+cid, tokB, nil)
	c.call(400, "GET", "/communities/nope", tokA, nil)
	sub := c.call(200, "POST", "/communities/"+cid, tokA, map[string]any{"subject": "Sub one", "participants": []string{pia}})
	c.call(200, "POST", "/communities/"+cid+"/createGroup", tokA, map[string]any{"subject": "Sub two", "participants": []string{pia}, "isHidden": true})
	c.call(400, "POST", "/communities/"+cid, tokA, map[string]any{"subject": ""})
	c.call(404, "POST", "/communities/"+gid, tokA, map[string]any{"subject": "x", "participants": []string{pia}})
	c.call(200, "PUT", "/communities/"+cid+"/"+gid, tokA, nil)
	c.call(200, "DELETE", "/communities/"+cid+"/"+gid, tokA, nil)
	c.call(404, "DELETE", "/communities/"+cid+"/"+gid, tokA, nil)
	subs := c.call(200, "GET", "/communities/"+cid+"/subgroups", tokA, nil)
	announce := str(subs["announceGroupInfo"].(map[string]any), "id")
	c.call(200, "PATCH", "/communities/"+cid+"/settings", tokA, map[string]any{"setting": "member_add_mode", "policy": "admins"})
	c.call(200, "PATCH", "/communities/"+cid+"/settings", tokA, map[string]any{"setting": "modify_groups", "policy": "anyone"})
	c.call(400, "PATCH", "/communities/"+cid+"/settings", tokA, map[string]any{"setting": "colour", "policy": "anyone"})
	c.call(200, "POST", "/communities/"+cid+"/participants", tokA, map[string]any{"participants": []string{ben}})
	c.call(400, "POST", "/communities/"+cid+"/participants", tokA, map[string]any{"participants": []string{}})
	c.call(403, "PATCH", "/communities/"+cid+"/settings", tokB, map[string]any{"setting": "modify_groups", "policy": "admins"})
	c.call(200, "PATCH", "/communities/"+cid+"/admins", tokA, map[string]any{"participants": []string{ben}})
	c.call(200, "DELETE", "/communities/"+cid+"/admins", tokA, map[string]any{"participants": []string{ben}})
	c.call(200, "POST", "/communities/"+cid+"/"+str(sub, "id")+"/join", tokB, nil)
	c.call(404, "POST", "/communities/"+cid+"/"+gid+"/join", tokB, nil)
	c.call(200, "POST", "/communities/event", tokA, map[string]any{"to": announce, "title": "Meetup", "startTime": 1900000000,
		"endTime": 1900003600, "degreesLatitude": 52.5, "degreesLongitude": 13.4, "locationName": "Park"})
	c.call(403, "POST", "/communities/event", tokB, map[string]any{"to": announce, "title": "Mine", "startTime": 1900000000})
	c.call(400, "POST", "/communities/event", tokA, map[string]any{"to": announce, "startTime": 1900000000})
	c.call(402, "POST", "/communities/event", expiredToken, map[string]any{"to": announce, "title": "x", "startTime": 1})
	c.call(403, "DELETE", "/communities/"+cid+"/link", tokB, nil)
	c.call(200, "DELETE", "/communities/"+cid+"/participants", tokA, map[string]any{"participants": []string{ben}})
	c.call(200, "DELETE", "/communities/"+cid+"/link", tokA, nil)
	c.call(404, "DELETE", "/communities/"+cid, tokB, nil)
	c.call(200, "DELETE", "/communities/"+cid, tokA, nil)
	c.call(404, "GET", "/communities/"+cid, tokA, nil)
}
