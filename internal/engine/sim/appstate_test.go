package sim_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
)

// The phones' chat settings and labels: what the phone changes, with bad
// input refused and nothing changed, and a snapshot keeps them.
func TestAppStateOnThePhone(t *testing.T) {
	n := newNet(t, sim.Options{})
	const a, b = "15551110001", "15551110002"
	for _, p := range []string{a, b} {
		if _, err := n.AddPhone(p, "P"+p[len(p)-1:]); err != nil {
			t.Fatal(err)
		}
	}
	yes, no := true, false
	noErr(t, n.SetChatState(a, b, engine.ChatState{Archived: &yes, Muted: &yes, MuteUntil: time.Now().Add(time.Hour)}))
	wantErr(t, n.SetChatState(a, b, engine.ChatState{}), sim.ErrInvalidContent)
	wantErr(t, n.SetChatState(a, b, engine.ChatState{Muted: &yes, MuteUntil: time.Now().Add(-time.Hour)}), sim.ErrInvalidContent)
	wantErr(t, n.SetChatState(a, "nope", engine.ChatState{Pinned: &yes}), sim.ErrInvalidPhone)
	wantErr(t, n.SetChatState("15559999999", b, engine.ChatState{Pinned: &yes}), sim.ErrPhoneNotFound)
	l, err := n.EditLabel(a, engine.Label{Name: " VIP ", Color: 3}, false)
	noErr(t, err)
	if l.ID != "1" || l.Name != "VIP" {
		t.Fatalf("new label %+v", l)
	}
	_, err = n.EditLabel(a, engine.Label{Name: "x", Color: 20}, false)
	wantErr(t, err, sim.ErrInvalidContent)
	_, err = n.EditLabel(a, engine.Label{ID: "7"}, true)
	wantErr(t, err, sim.ErrLabelNotFound)
	noErr(t, n.LabelChat(a, "1", b, true))
	wantErr(t, n.LabelChat(a, "2", b, true), sim.ErrLabelNotFound)
	noErr(t, n.SetChatState(a, b, engine.ChatState{Archived: &no}))

	before, err := n.AppState(a)
	noErr(t, err)
	if len(before.Chats) != 1 || before.Chats[0].Archived || before.Chats[0].MutedUntil.IsZero() ||
		!reflect.DeepEqual(before.Chats[0].Labels, []string{"1"}) || len(before.Labels) != 1 || before.Labels[0].Color != "plum" {
		t.Fatalf("app state %+v", before)
	}
	if other, err := n.AppState(b); err != nil || len(other.Chats)+len(other.Labels) != 0 {
		t.Fatalf("another phone's app state %+v %v", other, err)
	}

	raw, err := json.Marshal(n.Snapshot())
	noErr(t, err)
	var snap sim.Snapshot
	noErr(t, json.Unmarshal(raw, &snap))
	n2 := newNet(t, sim.Options{})
	n2.Load(snap)
	after, err := n2.AppState(a)
	noErr(t, err)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("after a snapshot %+v, want %+v", after, before)
	}
	_, err = n2.EditLabel(a, engine.Label{ID: "1"}, true)
	noErr(t, err)
	if v, _ := n2.AppState(a); len(v.Labels) != 0 || len(v.Chats[0].Labels) != 0 {
		t.Fatalf("a deleted label stays: %+v", v)
	}
}
