package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestWebhookStoriesNewslettersCommunities checks, on the real server with
// the sim engine, the webhook events of stories, newsletters and
// communities in Whapi's shapes: a contact's story arrives as messages.post
// in the chat status@broadcast, a newsletter's post reaches a follower as
// messages.post in the newsletter's chat, a community's creation is
// groups.post for it and its announcement group; a story the channel posts
// counts as a message sent for a trial channel. Every body is checked
// against the document.
func TestWebhookStoriesNewslettersCommunities(t *testing.T) {
	s := startHooked(t, testConfig(t, storetest.Backends(t)[0]), app.Options{})
	hooksA, hooksB := newReceiver(t), newReceiver(t)
	const ann, me, you = "15557710001", "15557710002", "15557710003"
	ptok := s.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "st", "email": "st@example.test", "days": 20})["token"].(string)
	tokA := s.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "A"})["token"].(string)
	tokB := s.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "B"})["token"].(string)
	events := subscribe("messages.post", "groups.post", "groups.put", "statuses.post")
	s.call(200, "PATCH", "/settings", tokA, map[string]any{"webhooks": []any{map[string]any{"url": hooksA.srv.URL, "events": events}}})
	s.call(200, "PATCH", "/settings", tokB, map[string]any{"webhooks": []any{map[string]any{"url": hooksB.srv.URL, "events": events}}})
	for _, p := range []string{ann, me, you} {
		s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": p, "name": "P" + p[len(p)-1:]})
	}
	s.linkQR(tokA, me)
	s.linkQR(tokB, you)

	// Ann writes to the channel, then posts a story: her contact sees it.
	s.call(201, "POST", "/admin/sim/phones/"+ann+"/messages", adminToken, map[string]any{"to": me, "body": "hi"})
	hooksA.wait(t, "messages.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"hi"`) })
	s.call(201, "POST", "/admin/sim/phones/"+ann+"/messages", adminToken, map[string]any{"to": "status@broadcast", "body": "my day"})
	story := hooksA.wait(t, "messages.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"my day"`) })
	if !strings.Contains(string(story.Raw), `"chat_id":"status@broadcast"`) || !strings.Contains(string(story.Raw), `"from":"`+ann+`"`) {
		t.Fatalf("story = %s", story.Raw)
	}
	list := s.call(200, "GET", "/stories?author="+ann, tokA, nil)
	if n, _ := list["total"].(float64); n != 1 {
		t.Fatalf("stories of Ann: %v", list)
	}

	// A newsletter of A, followed by B: A's post reaches B.
	nl := s.call(200, "POST", "/newsletters", tokA, map[string]any{"name": "A's letter"})
	id := nl["id"].(string)
	s.call(200, "POST", "/newsletters/"+id+"/subscription", tokB, nil)
	s.call(200, "POST", "/messages/text", tokA, map[string]any{"to": id, "body": "issue 1"})
	post := hooksB.wait(t, "messages.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"issue 1"`) })
	if !strings.Contains(string(post.Raw), `"chat_id":"`+id+`"`) {
		t.Fatalf("newsletter post = %s", post.Raw)
	}
	chat := s.call(200, "GET", "/chats/"+id, tokB, nil)
	if chat["type"] != "newsletter" || chat["name"] != "A's letter" {
		t.Fatalf("newsletter chat = %v", chat)
	}

	// A community: groups.post for it and for its announcement group.
	c := s.call(200, "POST", "/communities", tokA, map[string]any{"subject": "Club", "description": "the club"})
	cid := c["id"].(string)
	hooksA.wait(t, "groups.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), cid) })
	subs := s.call(200, "GET", "/communities/"+cid+"/subgroups", tokA, nil)
	ann1 := subs["announceGroupInfo"].(map[string]any)["id"].(string)
	hooksA.wait(t, "groups.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), ann1) })
	s.call(200, "POST", "/communities/"+cid+"/participants", tokA, map[string]any{"participants": []string{you}})
	hooksB.wait(t, "groups.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), ann1) })

	// A story of the channel reaches its contacts: Ann, who wrote to it,
	// and B's phone, in its community; their receipts are views.
	sent := s.call(200, "POST", "/stories/send/text", tokA, map[string]any{"caption": "our news"})
	sid := sent["message"].(map[string]any)["id"].(string)
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := s.call(200, "GET", "/statuses/"+sid, tokA, nil)
		if st, _ := v["statuses"].([]any); len(st) == 2 && st[0].(map[string]any)["status"] == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("story views = %v", v)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A trial channel's stories count as messages sent.
	s.call(200, "PATCH", "/admin/settings", adminToken, map[string]any{"limit_messages_per_day": 2})
	for i := 0; ; i++ {
		out, _ := s.try("POST", "/stories/send/text", tokB, map[string]any{"caption": "again"})
		if out == 402 {
			if i == 0 {
				t.Fatal("the first story was refused")
			}
			break
		}
		if out != 200 || i > 3 {
			t.Fatalf("story %d: %d, want 402 past the limit of 2 messages a day", i, out)
		}
	}
	hooksA.conforms(t, "WebhookPayload")
	hooksB.conforms(t, "WebhookPayload")
}
