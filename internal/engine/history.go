package engine

import (
	"context"
	"errors"
	"time"
)

// History sync: when a device links, the account's phone sends it past
// chats, push names and LID mappings in chunks. The engine reports each
// chunk's notice as a data event (HistoryNotice), which its owner keeps
// durably and fetches later, one at a time, with HistoryFetcher.

// HistoryNotice is a data event: a chunk of history is ready to fetch.
// Ref is opaque to the owner, which gives it back to FetchHistory.
type HistoryNotice struct {
	ID   string
	Ref  []byte
	Time time.Time
}

func (HistoryNotice) event() {}

// HistoryLimits bound what FetchHistory returns of past conversations:
// at most Messages messages per chat (the newest), none older than Since,
// chats with no activity since Since left out. Messages 0 asks for no
// chats or messages at all (mappings and push names only).
type HistoryLimits struct {
	Messages int
	Since    time.Time
	// MaxChats bounds the chats of one chunk (0: no bound); the rest is
	// skipped and counted in History.Skipped.
	MaxChats int
}

// History is one fetched chunk of history.
type History struct {
	// Chats are past conversations, newest first, each with its messages
	// oldest first.
	Chats []HistoryChat
	// Mappings and PushNames are always complete (not bounded by limits).
	Mappings  []LIDPair
	PushNames []PushName
	// Skipped counts chats and messages the limits left out.
	SkippedChats, SkippedMessages int
}

// HistoryChat is one past conversation.
type HistoryChat struct {
	ID       string // chat JID (phone-number form when known)
	LID      string // its LID, when a contact's chat has one
	Name     string
	LastTime time.Time
	Unread   int
	Archived bool
	Pinned   bool
	Messages []Message
}

// PushName is the name a user gave itself, as WhatsApp reported it.
type PushName struct {
	User string
	Name string
}

// ErrHistoryTooLarge: a history chunk is larger than the engine accepts;
// it is skipped.
var ErrHistoryTooLarge = errors.New("engine: history chunk too large")

// HistoryFetcher is a session that can fetch history chunks.
type HistoryFetcher interface {
	// FetchHistory downloads and decodes a chunk announced by a
	// HistoryNotice, within limits.
	FetchHistory(ctx context.Context, ref []byte, limits HistoryLimits) (History, error)
}
