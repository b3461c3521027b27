package wire

import (
	"bytes"
	"encoding/json"
	"testing"
)

// viaMap is how a message was encoded before MarshalJSON appended its
// keys itself: the new encoder must give the same bytes.
func viaMap(m Message) []byte {
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
	raw, err := json.Marshal(out)
	if err != nil {
		panic(err)
	}
	return raw
}

func sample() Message {
	return Message{ID: "3EB0ABC", Type: "text", ChatID: "15550001111@s.whatsapp.net", From: "15550001111", FromName: "Ann <&> \"A\"",
		Source: "mobile", Timestamp: 1765000000, Status: "delivered", Content: json.RawMessage(`{"body":"hello"}`),
		Context: json.RawMessage(`{"quoted_id":"X"}`), Reactions: []Reaction{{Emoji: "👍", Count: 2, T: 1765000001}}, Starred: true, Edited: true}
}

func TestMessageJSONAsBefore(t *testing.T) {
	cases := []Message{sample(), {}, {Type: "image", Content: json.RawMessage(`{"id":"m","timestamp":1}`)}}
	// The content's key lands before, between and after the fixed keys,
	// and takes a fixed key's place when it has its name.
	for _, typ := range []string{"action", "chat_id", "contact", "document", "from_me", "link_preview", "poll", "reply",
		"source", "status", "sticker", "timestamp", "type", "video", "voice", "zz"} {
		m := sample()
		m.Type = typ
		cases = append(cases, m)
		m.Content = json.RawMessage(`{}`)
		cases = append(cases, m)
	}
	for _, s := range []string{"", "plain", "quote \" back \\ slash", "\x00\x01\x1f\b\f\n\r\t", "<script>&amp;</script>",
		"line\u2028para\u2029", "bad \xff\xfe utf8", "emoji 😀 and ß", "\u007f del"} {
		m := sample()
		m.FromName, m.ID, m.Reactions[0].Emoji = s, s, s
		cases = append(cases, m)
	}
	for i, m := range cases {
		got, err := json.Marshal(m) // through the encoder, as the API does
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if want := viaMap(m); !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func FuzzMessageJSONAsBefore(f *testing.F) {
	f.Add("text", "Ann", "id", "👍", int64(1))
	f.Add("\u2028", "<&>", "\xff", "\x00", int64(-5))
	f.Fuzz(func(t *testing.T, typ, name, id, emoji string, ts int64) {
		m := sample()
		m.Type, m.FromName, m.ID, m.Timestamp, m.Reactions[0].Emoji = typ, name, id, ts, emoji
		got, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if want := viaMap(m); !bytes.Equal(got, want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	})
}

// mapMessage encodes itself as before.
type mapMessage Message

func (m mapMessage) MarshalJSON() ([]byte, error) { return viaMap(Message(m)), nil }

// BenchmarkMessageJSON encodes a listing's page of 100 messages: through
// maps (before), MarshalJSON through the encoder, and appended directly.
func BenchmarkMessageJSON(b *testing.B) {
	page := make([]Message, 100)
	old := make([]mapMessage, 100)
	for i := range page {
		page[i] = sample()
		old[i] = mapMessage(page[i])
	}
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(old); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(page); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) { // AppendMessages, as the listing writes it
		b.ReportAllocs()
		for b.Loop() {
			if _, err := AppendMessages(make([]byte, 0, 64+400*len(page)), page); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// AppendMessages writes what an encoder with HTML escaping off (the API's)
// writes for the same messages: the stored content and context compacted,
// their HTML characters left as stored; stored JSON that is not JSON is an
// error, as it is the encoder's.
func TestAppendMessagesAsEncoder(t *testing.T) {
	page := []Message{sample(), {}, {Type: "image", Content: json.RawMessage(" {\"caption\" : \"<b> & </b>\",\n\"id\":\"m\"} "),
		Context: json.RawMessage(`{ "quoted_id" : "Q" }`)}}
	for _, s := range []string{"<script>&amp;</script>", "line\u2028para\u2029", "bad \xff\xfe utf8", "\x00\x1f"} {
		m := sample()
		m.FromName, m.ID = s, s
		page = append(page, m)
	}
	for _, ms := range [][]Message{nil, page[:1], page} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(ms); err != nil {
			t.Fatal(err)
		}
		got, err := AppendMessages([]byte("prefix:"), ms)
		if err != nil {
			t.Fatal(err)
		}
		w := want.Bytes()[:want.Len()-1] // no newline
		if ms == nil {
			w = []byte("[]") // a listing's slice is never nil
		}
		if !bytes.Equal(got, append([]byte("prefix:"), w...)) {
			t.Errorf("%d messages:\n got %s\nwant prefix:%s", len(ms), got, w)
		}
	}
	for _, bad := range []Message{{Type: "text", Content: json.RawMessage(`{"body":`)}, {Context: json.RawMessage(`{x}`)}} {
		if _, err := AppendMessages(nil, []Message{bad}); err == nil {
			t.Errorf("%+v appended without an error", bad)
		}
		if _, err := json.Marshal(bad); err == nil {
			t.Errorf("%+v encoded without an error", bad)
		}
	}
}
