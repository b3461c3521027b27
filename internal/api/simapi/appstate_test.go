package simapi_test

import (
	"context"
	"testing"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
)

// testAppStatePhone drives a phone's chat settings and labels and what
// channel ca (linked to alice's phone) sees of them, and the other way:
// what the channel's session changes shows on the phone.
func testAppStatePhone(t *testing.T, e *env, ca *channel) {
	phones := "/admin/sim/phones"
	bobChat := sim.JID(bob)
	e.call(200, "PATCH", phones+"/"+alice+"/chats/"+bob, map[string]any{"archive": true, "mute_until": -1})
	ev := ca.waitFor(t, func(ev engine.Event) bool { _, ok := ev.(engine.ChatStateChange); return ok }).(engine.ChatStateChange)
	if ev.Chat != bobChat || ev.State.Archived == nil || !*ev.State.Archived || ev.State.Muted == nil || !*ev.State.Muted || ev.State.Pinned != nil {
		t.Fatalf("chat state event %+v", ev)
	}
	l := e.call(200, "POST", phones+"/"+alice+"/labels", map[string]any{"name": "VIP", "color": "gold"})
	if l["id"] != "1" || l["color"] != "gold" {
		t.Fatalf("label %v", l)
	}
	le := ca.waitFor(t, func(ev engine.Event) bool { _, ok := ev.(engine.LabelChange); return ok }).(engine.LabelChange)
	if le.Label != (engine.Label{ID: "1", Name: "VIP", Color: 2}) || le.Deleted {
		t.Fatalf("label event %+v", le)
	}
	e.call(200, "PATCH", phones+"/"+alice+"/chats/"+bob, map[string]any{"add_labels": []string{"1"}})
	lc := ca.waitFor(t, func(ev engine.Event) bool { _, ok := ev.(engine.LabelChatChange); return ok }).(engine.LabelChatChange)
	if lc.Label != "1" || lc.Chat != bobChat || !lc.Labeled {
		t.Fatalf("label chat event %+v", lc)
	}
	e.fail(404, "PATCH", phones+"/"+alice+"/chats/"+bob, map[string]any{"add_labels": []string{"9"}}, "no label")
	e.fail(400, "PATCH", phones+"/"+alice+"/chats/"+bob, map[string]any{"add_labels": []string{"1"}, "remove_labels": []string{"1"}}, "both")
	e.fail(400, "PATCH", phones+"/"+alice+"/chats/"+bob, map[string]any{"mute_until": -5}, "mute_until")
	e.fail(400, "POST", phones+"/"+alice+"/labels", map[string]any{"id": "100", "name": "X", "color": "gold"}, "1 to 99")
	e.fail(404, "GET", phones+"/15559999999/appstate", nil, "no sim phone")

	// The channel's session changes show on the phone.
	yes := true
	ctx := context.Background()
	if err := ca.s.(engine.ChatOrganizer).SetChatState(ctx, bob, engine.ChatState{Pinned: &yes, Unread: &yes}); err != nil {
		t.Fatal(err)
	}
	if err := ca.s.(engine.Labeler).EditLabel(ctx, engine.Label{ID: "5", Name: "Lead", Color: 15}, false); err != nil {
		t.Fatal(err)
	}
	if err := ca.s.(engine.Labeler).LabelChat(ctx, "5", bob, true); err != nil {
		t.Fatal(err)
	}
	v := e.call(200, "GET", phones+"/"+alice+"/appstate", nil)
	chats := v["chats"].([]any)
	c := chats[0].(map[string]any)
	if len(chats) != 1 || c["chat"] != bobChat || c["archived"] != true || c["pinned"] != true || c["unread"] != true ||
		c["muted_until"] == nil || len(c["labels"].([]any)) != 2 {
		t.Fatalf("phone app state %v", v)
	}
	if labels := v["labels"].([]any); len(labels) != 2 || labels[1].(map[string]any)["color"] != "limegreen" {
		t.Fatalf("phone labels %v", labels)
	}
	e.call(200, "DELETE", phones+"/"+alice+"/labels/1", nil)
	if de := ca.waitFor(t, func(ev engine.Event) bool { l, ok := ev.(engine.LabelChange); return ok && l.Deleted }).(engine.LabelChange); de.Label.ID != "1" {
		t.Fatalf("label deleted event %+v", de)
	}
	e.fail(404, "DELETE", phones+"/"+alice+"/labels/1", nil, "no label")
	e.fail(404, "DELETE", phones+"/"+alice+"/labels/abc", nil, "")
}
