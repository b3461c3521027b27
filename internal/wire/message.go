package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"

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
// ("text": {"body": ...}). Keys come in sorted order, the content's among
// them, as a map's would (a listing of 100 messages spent a quarter of its
// CPU building and encoding maps); the content and context are stored JSON,
// checked by the encoder this is called from.
func (m Message) MarshalJSON() ([]byte, error) {
	return m.appendJSON(make([]byte, 0, 160+len(m.Content)+len(m.Context)), false)
}

// AppendJSON appends m to b as an encoder with HTML escaping off writes it
// (httpx.Marshal): MarshalJSON's bytes, the stored content and context
// checked and compacted here rather than by the encoder, which would check
// and copy the whole message again (13% of a listing's CPU).
func (m Message) AppendJSON(b []byte) ([]byte, error) { return m.appendJSON(b, true) }

// AppendMessages appends ms as a JSON array of AppendJSON's.
func AppendMessages(b []byte, ms []Message) ([]byte, error) {
	b = append(b, '[')
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = m.AppendJSON(b); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendRaw appends stored JSON, compacted and checked when check is set.
func appendRaw(b []byte, raw json.RawMessage, check bool) ([]byte, error) {
	if !check {
		return append(b, raw...), nil
	}
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, raw); err != nil {
		return nil, fmt.Errorf("wire: stored JSON of a message: %w", err)
	}
	return buf.Bytes(), nil
}

func (m Message) appendJSON(b []byte, check bool) (_ []byte, err error) {
	b = append(b, '{')
	content := len(m.Content) > 0 && string(m.Content) != "{}"
	first := true
	key := func(k string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, ':')
	}
	str := func(k, v string, always bool) {
		if always || v != "" {
			key(k)
			b = appendString(b, v)
		}
	}
	flag := func(k string, v bool) {
		if v {
			key(k)
			b = append(b, "true"...)
		}
	}
	for _, k := range messageKeys {
		if content && m.Type <= k {
			key(m.Type)
			if b, err = appendRaw(b, m.Content, check); err != nil {
				return nil, err
			}
			content = false
			if m.Type == k {
				continue // the content takes the key's place, as in a map
			}
		}
		switch k {
		case "chat_id":
			str(k, m.ChatID, true)
		case "context":
			if len(m.Context) > 0 && string(m.Context) != "{}" {
				key(k)
				if b, err = appendRaw(b, m.Context, check); err != nil {
					return nil, err
				}
			}
		case "edited":
			flag(k, m.Edited)
		case "from":
			str(k, m.From, false)
		case "from_me":
			key(k)
			b = strconv.AppendBool(b, m.FromMe)
		case "from_name":
			str(k, m.FromName, false)
		case "id":
			str(k, m.ID, true)
		case "reactions":
			if len(m.Reactions) > 0 {
				key(k)
				b = append(b, '[')
				for i, r := range m.Reactions {
					if i > 0 {
						b = append(b, ',')
					}
					b = append(b, `{"emoji":`...)
					b = appendString(b, r.Emoji)
					b = append(b, `,"count":`...)
					b = strconv.AppendInt(b, int64(r.Count), 10)
					b = append(b, `,"t":`...)
					b = strconv.AppendInt(b, r.T, 10)
					b = append(b, '}')
				}
				b = append(b, ']')
			}
		case "source":
			str(k, m.Source, true)
		case "starred":
			flag(k, m.Starred)
		case "status":
			str(k, m.Status, true)
		case "subtype":
			str(k, m.Subtype, false)
		case "timestamp":
			key(k)
			b = strconv.AppendInt(b, m.Timestamp, 10)
		case "type":
			str(k, m.Type, true)
		}
	}
	if content {
		key(m.Type)
		if b, err = appendRaw(b, m.Content, check); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// messageKeys are a message's own keys, sorted.
var messageKeys = []string{"chat_id", "context", "edited", "from", "from_me", "from_name", "id", "reactions",
	"source", "starred", "status", "subtype", "timestamp", "type"}

// appendString appends s as a JSON string, escaped as encoding/json does
// (HTML characters, U+2028 and U+2029 too; invalid UTF-8 as U+FFFD).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
	if len(m.Reactions) == 0 {
		out.Content = withMediaTimestamp(m.Type, out.Content, out.Timestamp)
		return out
	}
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
