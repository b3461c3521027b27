package engine

import (
	"context"
	"errors"
	"time"
)

// App state: what an account's devices share about its chats (archived,
// pinned, muted, marked unread) and its labels (WhatsApp Business), kept in
// sync between the phone and its linked devices. A change made on another
// device arrives as a data event (ChatStateChange, LabelChange,
// LabelChatChange); a session that is a ChatOrganizer or a Labeler makes
// the same changes for the account's other devices to see.

// ChatState is a change of a chat's shared settings; nil fields stay.
type ChatState struct {
	Archived *bool
	Pinned   *bool
	// Muted silences the chat until MuteUntil (zero: until unmuted);
	// false unmutes it.
	Muted     *bool
	MuteUntil time.Time
	// Unread marks the chat unread (true) or read (false).
	Unread *bool
}

// Empty reports whether the change changes nothing.
func (s ChatState) Empty() bool {
	return s.Archived == nil && s.Pinned == nil && s.Muted == nil && s.Unread == nil
}

// ChatStateChange reports a change of a chat's settings made on another
// device of the account (the phone, or another linked device).
type ChatStateChange struct {
	Chat  string // chat JID
	State ChatState
	Time  time.Time
}

// LabelColors are WhatsApp's label colors by index (Label.Color), named as
// Whapi names them.
var LabelColors = []string{"salmon", "lightskyblue", "gold", "plum", "silver", "mediumturquoise", "violet",
	"goldenrod", "cornflowerblue", "greenyellow", "cyan", "lightpink", "mediumaquamarine", "orangered",
	"deepskyblue", "limegreen", "darkorange", "lightsteelblue", "mediumpurple", "rebeccapurple"}

// Label is a label of the account's chats.
type Label struct {
	ID   string // WhatsApp's label ID, decimal digits
	Name string
	// Color is an index into LabelColors.
	Color int
}

// LabelChange reports a label created, edited or deleted on another device
// of the account.
type LabelChange struct {
	Label   Label
	Deleted bool
	Time    time.Time
}

// LabelChatChange reports a chat given a label (Labeled) or losing it, on
// another device of the account.
type LabelChatChange struct {
	Label   string // label ID
	Chat    string // chat JID
	Labeled bool
	Time    time.Time
}

func (ChatStateChange) event() {}
func (LabelChange) event()     {}
func (LabelChatChange) event() {}

// ChatOrganizer is a session that changes a chat's shared settings so that
// the account's other devices (the phone) show them.
type ChatOrganizer interface {
	// SetChatState archives, pins, mutes or marks a chat (a JID) read or
	// unread; nil fields stay.
	SetChatState(ctx context.Context, chat string, st ChatState) error
}

// Labeler is a session that keeps the account's labels.
type Labeler interface {
	// EditLabel creates or changes a label (by its ID), or deletes it.
	EditLabel(ctx context.Context, l Label, deleted bool) error
	// LabelChat gives a chat (a JID) a label (labeled) or takes it away.
	LabelChat(ctx context.Context, label, chat string, labeled bool) error
}

// ErrNoAppStateKeys: the account's phone has not shared the keys that
// app state changes are encrypted with (yet); WhatsApp cannot take the
// change from this device.
var ErrNoAppStateKeys = errors.New("engine: the phone has not shared its app state keys with this device yet")
