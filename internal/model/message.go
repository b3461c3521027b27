package model

import (
	"encoding/json"
	"time"
)

// Message statuses, in the order they move (failed and deleted aside).
const (
	MessageFailed    = "failed"
	MessagePending   = "pending"
	MessageSent      = "sent"
	MessageDelivered = "delivered"
	MessageRead      = "read"
	MessagePlayed    = "played"
	MessageDeleted   = "deleted"
)

// MessageStatusRank orders statuses: a message's status only moves up.
func MessageStatusRank(status string) int {
	switch status {
	case MessageFailed:
		return 0
	case MessagePending:
		return 1
	case MessageSent:
		return 2
	case MessageDelivered:
		return 3
	case MessageRead:
		return 4
	case MessagePlayed:
		return 5
	case MessageDeleted:
		return 6
	}
	return 0
}

// Message is a message of a channel, sent or received.
type Message struct {
	ChannelID string
	ID        string
	ChatID    string
	Sender    string // JID of the author
	FromMe    bool
	FromName  string
	Type      string // text, image, ..., as the gate API names them
	// Subtype refines Type: "ciphertext" for a message WhatsApp delivered
	// but that could not be decrypted yet (Type "system").
	Subtype string
	Source  string // api, mobile, web, system
	Status  string
	// Body is the text or caption (searchable).
	Body string
	// Content is the object of the message's type, as the gate API shows
	// it (e.g. {"body": "hi"} for text, {"id": ..., "mime_type": ...} for
	// image).
	Content json.RawMessage
	// Context holds the reply and mentions ({"quoted_id": ..., "mentions": [...]}).
	Context   json.RawMessage
	Reactions []MessageReaction
	Starred   bool
	Edited    bool
	Time      time.Time
}

// MessageReaction is one user's reaction to a message.
type MessageReaction struct {
	Emoji string `json:"emoji"`
	From  string `json:"from"`
	Time  int64  `json:"t"` // epoch seconds
}

// Chat is a conversation of a channel: with a user or a group.
type Chat struct {
	ChannelID     string
	ID            string
	Type          string // contact or group
	Name          string
	LastMessageID string
	LastTime      time.Time
	Unread        int
	Archived      bool
	Pinned        bool
	MuteUntil     time.Time
	// LID is the LID of a user's chat (whose ID is the phone-number
	// form), when the channel knows it; read only.
	LID string
}

// MediaFile is a file uploaded to or received by a channel, kept on disk
// until ExpiresAt.
type MediaFile struct {
	ChannelID string
	ID        string
	MimeType  string
	FileName  string
	Size      int64
	SHA256    string // hex
	CreatedAt time.Time
	ExpiresAt time.Time
}
