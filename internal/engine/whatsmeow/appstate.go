package whatsmeow

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/internal/engine"
)

// App state: WhatsApp keeps how the account organizes its chats (archive,
// pin, mute, read/unread) and its labels in encrypted "app state"
// collections its devices share. Changes the phone (or another device)
// makes arrive as whatsmeow events and become engine events; the session
// makes the same changes as app state patches (engine.ChatOrganizer,
// engine.Labeler). Patches are encrypted with keys only the phone hands out
// (shortly after linking): without one, a change is
// engine.ErrNoAppStateKeys.

// mapAppState maps whatsmeow's app state events, those of a full sync
// included (the labels the account already has arrive that way).
func mapAppState(evt any) (engine.Event, bool) {
	yes := func(b bool) *bool { return &b }
	switch e := evt.(type) {
	case *events.Archive:
		return engine.ChatStateChange{Chat: chatJID(e.JID.String()), Time: e.Timestamp,
			State: engine.ChatState{Archived: yes(e.Action.GetArchived())}}, true
	case *events.Pin:
		return engine.ChatStateChange{Chat: chatJID(e.JID.String()), Time: e.Timestamp,
			State: engine.ChatState{Pinned: yes(e.Action.GetPinned())}}, true
	case *events.Mute:
		st := engine.ChatState{Muted: yes(e.Action.GetMuted())}
		if end := e.Action.GetMuteEndTimestamp(); e.Action.GetMuted() && end > 0 {
			st.MuteUntil = time.UnixMilli(end).UTC() // -1: until unmuted
		}
		return engine.ChatStateChange{Chat: chatJID(e.JID.String()), Time: e.Timestamp, State: st}, true
	case *events.MarkChatAsRead:
		return engine.ChatStateChange{Chat: chatJID(e.JID.String()), Time: e.Timestamp,
			State: engine.ChatState{Unread: yes(!e.Action.GetRead())}}, true
	case *events.LabelEdit:
		a := e.Action
		return engine.LabelChange{Label: engine.Label{ID: e.LabelID, Name: a.GetName(), Color: labelColor(a.GetColor())},
			Deleted: a.GetDeleted(), Time: e.Timestamp}, true
	case *events.LabelAssociationChat:
		return engine.LabelChatChange{Label: e.LabelID, Chat: chatJID(e.JID.String()),
			Labeled: e.Action.GetLabeled(), Time: e.Timestamp}, true
	}
	return nil, false
}

// chatJID is a chat's JID without a device part.
func chatJID(s string) string {
	if user, server, ok := strings.Cut(s, "@"); ok {
		if u, _, dev := strings.Cut(user, ":"); dev {
			return u + "@" + server
		}
	}
	return s
}

// labelColor keeps a color WhatsApp added after engine.LabelColors to the
// first one.
func labelColor(c int32) int {
	if c < 0 || int(c) >= len(engine.LabelColors) {
		return 0
	}
	return int(c)
}

// sendAppState sends a patch once the account's phone has shared the keys
// it is encrypted with.
func (s *Session) sendAppState(ctx context.Context, what string, patch appstate.PatchInfo) error {
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if key, err := cli.Store.AppStateKeys.GetLatestAppStateSyncKeyID(ctx); err != nil {
		return fmt.Errorf("whatsmeow: %s: app state keys: %w", what, err)
	} else if key == nil {
		return fmt.Errorf("whatsmeow: %s: %w", what, engine.ErrNoAppStateKeys)
	}
	if err := cli.SendAppState(ctx, patch); err != nil {
		return fmt.Errorf("whatsmeow: %s: %w", what, mapSendErr(err))
	}
	return nil
}

// SetChatState archives, pins, mutes or marks a chat read or unread for
// the account's devices (engine.ChatOrganizer): one patch per change.
func (s *Session) SetChatState(ctx context.Context, chat string, st engine.ChatState) error {
	jid, err := parseChat(chat)
	if err != nil {
		return err
	}
	var patches []appstate.PatchInfo
	if st.Archived != nil {
		// Archiving also unpins, as on the phone.
		patches = append(patches, appstate.BuildArchive(jid, *st.Archived, time.Time{}, nil))
	}
	if st.Pinned != nil {
		patches = append(patches, appstate.BuildPin(jid, *st.Pinned))
	}
	if st.Muted != nil {
		var end *int64
		if *st.Muted && !st.MuteUntil.IsZero() {
			ms := st.MuteUntil.UnixMilli()
			end = &ms
		}
		patches = append(patches, appstate.BuildMuteAbs(jid, *st.Muted, end))
	}
	if st.Unread != nil {
		patches = append(patches, appstate.BuildMarkChatAsRead(jid, !*st.Unread, time.Time{}, nil))
	}
	for _, p := range patches {
		if err := s.sendAppState(ctx, "chat "+p.Mutations[0].Index[0], p); err != nil {
			return err
		}
	}
	return nil
}

// EditLabel creates, changes or deletes a label (engine.Labeler).
func (s *Session) EditLabel(ctx context.Context, l engine.Label, deleted bool) error {
	if _, err := strconv.Atoi(l.ID); err != nil {
		return fmt.Errorf("%w: label ID %q is not a number", ErrInvalidContent, l.ID)
	}
	if l.Color < 0 || l.Color >= len(engine.LabelColors) {
		return fmt.Errorf("%w: label color %d", ErrInvalidContent, l.Color)
	}
	return s.sendAppState(ctx, "edit label", appstate.BuildLabelEdit(l.ID, l.Name, int32(l.Color), deleted))
}

// LabelChat gives a chat a label or takes it away (engine.Labeler).
func (s *Session) LabelChat(ctx context.Context, label, chat string, labeled bool) error {
	jid, err := parseChat(chat)
	if err != nil {
		return err
	}
	if _, err := strconv.Atoi(label); err != nil {
		return fmt.Errorf("%w: label ID %q is not a number", ErrInvalidContent, label)
	}
	return s.sendAppState(ctx, "label chat", appstate.BuildLabelChat(jid, label, labeled))
}

// emitFullSync makes whatsmeow report the app state a full sync brings
// (the account's labels and chat settings as they are when it links).
func emitFullSync(cli *wm.Client) { cli.EmitAppStateEventsOnFullSync = true }
