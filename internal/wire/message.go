package wire

import (
	"encoding/json"
	"sort"

	"github.com/wagate/wagate/internal/model"
)

// Message is a message on the wire (Whapi's Message).
type Message struct {
	ID        string
	Type      string
	Subtype   string
	ChatID    string
	From      string
	FromMe    bool
	FromName  string
	Source    string
	Timestamp int64
	Status    string
	Content   json.RawMessage
	Context   json.RawMessage
	Reactions []Reaction
	Starred   bool
	Edited    bool
}

// Reaction is one emoji's reactions on a message.
type Reaction struct {
	Emoji string `json:"emoji"`
	Count int    `json:"count"`
	T     int64  `json:"t"`
}

// MarshalJSON puts the content under the message's type, as Whapi does
// ("text": {"body": ...}).
func (m Message) MarshalJSON() ([]byte, error) {
	out := map[string]any{
		"id": m.ID, "type": m.Type, "chat_id": m.ChatID, "from_me": m.FromMe, "source": m.Source,
		"timestamp": m.Timestamp, "status": m.Status,
	}
	if m.Subtype != "" {
		out["subtype"] = m.Subtype
	}
	if m.From != "" {
		out["from"] = m.From
	}
	if m.FromName != "" {
		out["from_name"] = m.FromName
	}
	if len(m.Content) > 0 && string(m.Content) != "{}" {
		out[m.Type] = m.Content
	}
	if len(m.Context) > 0 && string(m.Context) != "{}" {
		out["context"] = m.Context
	}
	if len(m.Reactions) > 0 {
		out["reactions"] = m.Reactions
	}
	if m.Starred {
		out["starred"] = true
	}
	if m.Edited {
		out["edited"] = true
	}
	return json.Marshal(out)
}

// NewMessage converts a message for the wire: the author as a phone number
// when it is a user, reactions counted per emoji (sorted by emoji).
func NewMessage(m model.Message) Message {
	from := phoneOf(m.Sender)
	if from == "" {
		from = m.Sender
	}
	out := Message{ID: m.ID, Type: m.Type, Subtype: m.Subtype, ChatID: m.ChatID, From: from, FromMe: m.FromMe, FromName: m.FromName,
		Source: m.Source, Timestamp: m.Time.Unix(), Status: m.Status, Content: m.Content, Context: m.Context,
		Starred: m.Starred, Edited: m.Edited}
	byEmoji := map[string]*Reaction{}
	for _, r := range m.Reactions {
		x := byEmoji[r.Emoji]
		if x == nil {
			x = &Reaction{Emoji: r.Emoji}
			byEmoji[r.Emoji] = x
		}
		x.Count++
		x.T = max(x.T, r.Time)
	}
	for _, r := range byEmoji {
		out.Reactions = append(out.Reactions, *r)
	}
	sort.Slice(out.Reactions, func(i, j int) bool { return out.Reactions[i].Emoji < out.Reactions[j].Emoji })
	out.Content = withMediaTimestamp(m.Type, out.Content, out.Timestamp)
	return out
}

// mediaTypes are the message types whose content is a file (Whapi's
// MediaFile, which requires a timestamp).
var mediaTypes = map[string]bool{"image": true, "video": true, "gif": true, "audio": true, "voice": true,
	"document": true, "sticker": true, "short": true}

// withMediaTimestamp adds "timestamp" to a media message's content object
// when it lacks one.
func withMediaTimestamp(typ string, content json.RawMessage, ts int64) json.RawMessage {
	if !mediaTypes[typ] {
		return content
	}
	obj := map[string]json.RawMessage{}
	if len(content) > 0 {
		if err := json.Unmarshal(content, &obj); err != nil {
			return content
		}
	}
	if _, ok := obj["timestamp"]; ok {
		return content
	}
	obj["timestamp"], _ = json.Marshal(ts)
	out, err := json.Marshal(obj)
	if err != nil {
		return content
	}
	return out
}
