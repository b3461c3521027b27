package whatsmeow

import (
	"errors"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/appstate"
	wstore "go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/fakewa"
)

func init() { socketTests = append(socketTests, "TestAppStateBothWays") } // socketrace_test.go

// App state both ways against the fake server: what the phone changes
// (archive, pin, mute, unread, labels) arrives as engine events, the
// first of them through a full sync; what the session changes reaches the
// server as patches the phone decodes (checked mutation by mutation).
func TestAppStateBothWays(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.connectStored("15551234567", 3, engine.SessionConfig{})
	ctx := ctxT(t)
	bob := types.NewJID("15557654321", types.DefaultUserServer)
	yes := true

	// No app state key from the phone yet: nothing can be sent.
	if err := o.SetChatState(ctx, bob.String(), engine.ChatState{Archived: &yes}); !errors.Is(err, engine.ErrNoAppStateKeys) {
		t.Fatalf("archive without keys: %v", err)
	}
	// The phone shares its key.
	id, data := o.acct.AppStateKey()
	cli, _, _, err := o.online()
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Store.AppStateKeys.PutAppStateSyncKey(ctx, id, wstore.AppStateSyncKey{Data: data, Fingerprint: []byte{1}, Timestamp: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}

	// The phone archives bob's chat (the first sync of regular_low is a
	// full one: its events come all the same), mutes it for a day, marks
	// it unread, makes a label and puts it on the chat.
	from := len(o.rec.all())
	mustPush := func(p appstate.PatchInfo) {
		t.Helper()
		if err := o.acct.PushAppState(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	mustPush(appstate.BuildArchive(bob, true, time.Time{}, nil))
	ev, _ := o.rec.wait(t, from, wait, func(e engine.Event) bool {
		c, ok := e.(engine.ChatStateChange)
		return ok && c.State.Archived != nil
	})
	if c := ev.(engine.ChatStateChange); c.Chat != bob.String() || !*c.State.Archived {
		t.Fatalf("archive = %+v", c)
	}
	until := time.Now().Add(24 * time.Hour).Truncate(time.Millisecond)
	end := until.UnixMilli()
	mustPush(appstate.BuildMuteAbs(bob, true, &end))
	ev, _ = o.rec.wait(t, from, wait, func(e engine.Event) bool {
		c, ok := e.(engine.ChatStateChange)
		return ok && c.State.Muted != nil
	})
	if c := ev.(engine.ChatStateChange); !*c.State.Muted || !c.State.MuteUntil.Equal(until) {
		t.Fatalf("mute = %+v", c)
	}
	mustPush(appstate.BuildMarkChatAsRead(bob, false, time.Time{}, nil))
	ev, _ = o.rec.wait(t, from, wait, func(e engine.Event) bool {
		c, ok := e.(engine.ChatStateChange)
		return ok && c.State.Unread != nil
	})
	if c := ev.(engine.ChatStateChange); !*c.State.Unread {
		t.Fatalf("mark unread = %+v", c)
	}
	mustPush(appstate.BuildLabelEdit("3", "VIP", 2, false))
	ev, _ = o.rec.wait(t, from, wait, isType[engine.LabelChange])
	if l := ev.(engine.LabelChange); l.Label != (engine.Label{ID: "3", Name: "VIP", Color: 2}) || l.Deleted {
		t.Fatalf("label = %+v", l)
	}
	mustPush(appstate.BuildLabelChat(bob, "3", true))
	ev, _ = o.rec.wait(t, from, wait, isType[engine.LabelChatChange])
	if l := ev.(engine.LabelChatChange); l.Label != "3" || l.Chat != bob.String() || !l.Labeled {
		t.Fatalf("label chat = %+v", l)
	}

	// The session's changes reach the server, on top of the phone's.
	find := func(what string, match func(fakewa.AppStateMutation) bool) fakewa.AppStateMutation {
		t.Helper()
		m, err := o.acct.WaitAppState(ctx, match)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return m
	}
	no := false
	if err := o.SetChatState(ctx, bob.String(), engine.ChatState{Archived: &no, Unread: &no}); err != nil {
		t.Fatalf("unarchive: %v", err)
	}
	m := find("unarchive", func(m fakewa.AppStateMutation) bool {
		return m.Index[0] == appstate.IndexArchive && m.Index[1] == bob.String()
	})
	if m.Collection != string(appstate.WAPatchRegularLow) || m.Action.GetArchiveChatAction().GetArchived() {
		t.Fatalf("archive mutation = %s %v", m.Collection, m.Action)
	}
	m = find("read", func(m fakewa.AppStateMutation) bool { return m.Index[0] == appstate.IndexMarkChatAsRead })
	if !m.Action.GetMarkChatAsReadAction().GetRead() {
		t.Fatalf("read mutation = %v", m.Action)
	}
	if err := o.SetChatState(ctx, bob.String(), engine.ChatState{Pinned: &yes, Muted: &yes}); err != nil {
		t.Fatalf("pin and mute: %v", err)
	}
	if m := find("pin", func(m fakewa.AppStateMutation) bool {
		return m.Index[0] == appstate.IndexPin && m.Action.GetPinAction().GetPinned()
	}); m.Index[1] != bob.String() {
		t.Fatalf("pin mutation = %v", m.Index)
	}
	if m := find("mute", func(m fakewa.AppStateMutation) bool { return m.Index[0] == appstate.IndexMute }); m.Collection != string(appstate.WAPatchRegularHigh) ||
		!m.Action.GetMuteAction().GetMuted() || m.Action.GetMuteAction().GetMuteEndTimestamp() != -1 {
		t.Fatalf("mute mutation = %s %v", m.Collection, m.Action)
	}
	if err := o.EditLabel(ctx, engine.Label{ID: "4", Name: "Lead", Color: 5}, false); err != nil {
		t.Fatalf("EditLabel: %v", err)
	}
	if m := find("label", func(m fakewa.AppStateMutation) bool {
		return m.Index[0] == appstate.IndexLabelEdit && m.Index[1] == "4"
	}); m.Action.GetLabelEditAction().GetName() != "Lead" || m.Action.GetLabelEditAction().GetColor() != 5 {
		t.Fatalf("label mutation = %v", m.Action)
	}
	if err := o.LabelChat(ctx, "4", bob.String(), true); err != nil {
		t.Fatalf("LabelChat: %v", err)
	}
	if m := find("label chat", func(m fakewa.AppStateMutation) bool {
		return m.Index[0] == appstate.IndexLabelAssociationChat && m.Index[1] == "4"
	}); m.Index[2] != bob.String() || !m.Action.GetLabelAssociationAction().GetLabeled() {
		t.Fatalf("label chat mutation = %v %v", m.Index, m.Action)
	}
	if err := o.EditLabel(ctx, engine.Label{ID: "4"}, true); err != nil {
		t.Fatalf("delete label: %v", err)
	}
	if m := find("label deleted", func(m fakewa.AppStateMutation) bool {
		return m.Index[0] == appstate.IndexLabelEdit && m.Action.GetLabelEditAction().GetDeleted()
	}); m.Index[1] != "4" {
		t.Fatalf("label delete mutation = %v", m.Index)
	}
	if err := o.LabelChat(ctx, "x", bob.String(), true); !errors.Is(err, ErrInvalidContent) {
		t.Fatalf("a malformed label: %v", err)
	}
	if err := o.SetChatState(ctx, "not a chat", engine.ChatState{Pinned: &yes}); err == nil {
		t.Fatal("a malformed chat worked")
	}
}
