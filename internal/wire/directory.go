package wire

import (
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// Chat is a chat on the wire (Whapi's Chat).
type Chat struct {
	ID string `json:"id"`
	// LID is a user's chat's LID, when known (the ID is its number).
	LID         string   `json:"lid,omitempty"`
	Name        string   `json:"name,omitempty"`
	Type        string   `json:"type"`
	Timestamp   int64    `json:"timestamp,omitempty"`
	Pin         bool     `json:"pin"`
	Mute        bool     `json:"mute"`
	MuteUntil   int64    `json:"mute_until,omitempty"`
	Archive     bool     `json:"archive"`
	Unread      int      `json:"unread"`
	LastMessage *Message `json:"last_message,omitempty"`
	// Labels are the chat's labels, where the caller looked them up.
	Labels []Label `json:"labels,omitempty"`
}

// NewChat converts a chat for the wire at time now (muted is whether it is
// muted at now), with its last message when last is not nil.
func NewChat(c model.Chat, last *model.Message, now time.Time) Chat {
	out := Chat{ID: c.ID, LID: c.LID, Name: c.Name, Type: c.Type, Pin: c.Pinned, Archive: c.Archived, Unread: c.Unread}
	if !c.LastTime.IsZero() {
		out.Timestamp = c.LastTime.Unix()
	}
	if c.MuteUntil.After(now) {
		out.Mute, out.MuteUntil = true, c.MuteUntil.Unix()
	}
	if last != nil {
		m := NewMessage(*last)
		out.LastMessage = &m
	}
	return out
}

// GroupParticipant is a member of a group and its rank.
type GroupParticipant struct {
	ID   string `json:"id"`
	Rank string `json:"rank"`
}

// Group is a group as the gate API shows it (Whapi's Group).
type Group struct {
	ID                string             `json:"id"`
	Type              string             `json:"type"`
	Name              string             `json:"name"`
	NameAt            int64              `json:"name_at,omitempty"`
	Description       string             `json:"description,omitempty"`
	Participants      []GroupParticipant `json:"participants"`
	ParticipantsCount int                `json:"participants_count"`
	CreatedAt         int64              `json:"created_at,omitempty"`
	CreatedBy         string             `json:"created_by,omitempty"`
	Restricted        bool               `json:"restricted"`
	Announcements     bool               `json:"announcements"`
	InviteCode        string             `json:"invite_code,omitempty"`
}

// NewGroup converts a stored group for the wire.
func NewGroup(g store.Group) Group {
	participants := make([]GroupParticipant, len(g.Participants))
	for i, p := range g.Participants {
		participants[i] = GroupParticipant{ID: Phone(p.UserID), Rank: p.Rank}
	}
	out := Group{
		ID: g.ID, Type: "group", Name: g.Subject, NameAt: seconds(g.SubjectAt),
		Description: g.Description, Participants: participants, ParticipantsCount: len(g.Participants),
		CreatedAt: seconds(g.CreatedAt), Restricted: g.Locked, Announcements: g.Announce,
		InviteCode: g.InviteCode,
	}
	if g.Owner != "" {
		out.CreatedBy = Phone(g.Owner)
	}
	return out
}

// Contact is a WhatsApp user as the gate API shows it (Whapi's Contact):
// a contact the channel knows, or the account linked to the channel.
type Contact struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Pushname string `json:"pushname,omitempty"`
	// LID is the user's LID, when known.
	LID string `json:"lid,omitempty"`
}

// NewContact converts a stored contact for the wire; its name is the
// user's own (push) name when the channel knows no other.
func NewContact(c store.Contact) Contact {
	name := c.Name
	if name == "" {
		name = c.PushName
	}
	return Contact{ID: Phone(c.ID), Name: name, Pushname: c.PushName, LID: c.LID}
}

// NewUser is the linked account as a Contact: its number and push name.
func NewUser(phone, name string) Contact {
	return Contact{ID: phone, Name: name, Pushname: name}
}

// Presence is Whapi's Presence: last_seen in Unix seconds.
type Presence struct {
	ContactID string `json:"contact_id"`
	Status    string `json:"status"`
	LastSeen  int64  `json:"last_seen,omitempty"`
}

// NewPresence converts a stored presence for the wire.
func NewPresence(p store.Presence) Presence {
	return Presence{ContactID: Phone(p.UserID), Status: p.Status, LastSeen: seconds(p.LastSeen)}
}
