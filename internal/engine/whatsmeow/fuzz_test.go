package whatsmeow

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

// FuzzDecodeContent feeds decodeContent any message WhatsApp could send
// (protobuf bytes): it must not panic, and what it reports has a kind.
func FuzzDecodeContent(f *testing.F) {
	seeds := []*waE2E.Message{
		{Conversation: proto.String("hi")},
		{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("see https://x.example"), MatchedText: proto.String("https://x.example"),
			Title: proto.String("X"), ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("Q1"), Participant: proto.String("1:2@s.whatsapp.net"),
				MentionedJID: []string{"15557654321@s.whatsapp.net", "x@lid", "@", ""}}}},
		{ImageMessage: &waE2E.ImageMessage{Caption: proto.String("c"), Mimetype: proto.String("image/png"), FileLength: proto.Uint64(math.MaxUint64)}},
		{DocumentMessage: &waE2E.DocumentMessage{FileName: proto.String("../../etc/passwd"), Mimetype: proto.String("")}},
		{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(math.NaN()), DegreesLongitude: proto.Float64(math.Inf(1))}},
		{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String("C"), Vcard: proto.String("BEGIN:VCARD\nEND:VCARD")}},
		{PollCreationMessage: &waE2E.PollCreationMessage{Name: proto.String("Q"), SelectableOptionsCount: proto.Uint32(99),
			Options: []*waE2E.PollCreationMessage_Option{{OptionName: proto.String("a")}, nil}}},
		{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String("👍")}},
		{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum()}},
		{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), EditedMessage: &waE2E.Message{}}},
		{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_EPHEMERAL_SETTING.Enum(), EphemeralExpiration: proto.Uint32(math.MaxUint32)}},
		{EphemeralMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{Conversation: proto.String("inner")}}},
	}
	for _, m := range seeds {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, raw []byte, edit bool) {
		var m waE2E.Message
		if proto.Unmarshal(raw, &m) != nil {
			return
		}
		e := (&events.Message{Info: types.MessageInfo{ID: "F1", MessageSource: types.MessageSource{Chat: tBob, Sender: tBob}},
			RawMessage: &m, IsEdit: edit}).UnwrapRaw()
		c, ok := decodeContent(e, nil)
		if ok && c.Kind == "" {
			t.Fatalf("decoded content without a kind: %+v", c)
		}
	})
}

// FuzzSendRoundTrip checks content through checkContent and buildMessage,
// then decodes what a receiving whatsmeow would: it must not panic, and
// text, captions, locations and polls arrive as they were sent.
func FuzzSendRoundTrip(f *testing.F) {
	f.Add(uint8(0), "hello", "", "", 0.0, 0.0)
	f.Add(uint8(1), "see https://l.example/a?b=c", "Title", "", 1.5, 2.5)
	f.Add(uint8(2), "", "Lunch?", "Pizza\nSushi\nSalad", 0.0, 0.0)
	f.Add(uint8(3), "", "Café", "", -90.0, 180.0)
	f.Add(uint8(4), "BEGIN:VCARD\nFN:Ann\nEND:VCARD", "Ann", "", 0.0, 0.0)
	f.Add(uint8(5), "caption \u202e", "", "", 0.0, 0.0)
	f.Add(uint8(2), "", "dup", "a\na", math.NaN(), math.Inf(-1))
	me := tMe
	cli := wm.NewClient(&store.Device{ID: &me}, nil)
	f.Fuzz(func(t *testing.T, which uint8, text, title, options string, lat, long float64) {
		var c engine.Content
		switch which % 6 {
		case 0:
			c = engine.Content{Kind: engine.KindText, Text: text}
		case 1:
			c = engine.Content{Kind: engine.KindLinkPreview, Text: text, LinkPreview: &engine.LinkPreview{URL: firstWord(text), Title: title}}
		case 2:
			c = engine.Content{Kind: engine.KindPoll, Text: title, Poll: &engine.Poll{Title: title, Options: strings.Split(options, "\n")}}
		case 3:
			c = engine.Content{Kind: engine.KindLocation, Location: &engine.Location{Latitude: lat, Longitude: long, Name: title}}
		case 4:
			c = engine.Content{Kind: engine.KindContact, Contact: &engine.ContactCard{Name: title, VCard: text}}
		case 5:
			c = engine.Content{Kind: engine.KindImage, Text: text, Media: &engine.Media{Data: []byte("x"), MimeType: "image/png"}}
		}
		o, err := checkContent(c)
		if err != nil {
			return // refused: fine, as long as it did not panic
		}
		var up *wm.UploadResponse
		if engine.IsMedia(c.Kind) {
			up = &wm.UploadResponse{URL: "https://mmg.example/x", DirectPath: "/x", FileSHA256: []byte("s"), FileLength: 1}
		}
		msg, err := buildMessage(cli, tBob, o, up, nil)
		if err != nil {
			return
		}
		e := (&events.Message{Info: types.MessageInfo{ID: "X"}, RawMessage: msg}).UnwrapRaw()
		got, ok := decodeContent(e, nil)
		if !ok {
			t.Fatalf("%s content was built but does not decode: %v", c.Kind, msg)
		}
		if !utf8.ValidString(text) || !utf8.ValidString(title) || !utf8.ValidString(options) {
			return // protobuf strings are UTF-8: invalid bytes do not come back as they were
		}
		switch c.Kind {
		case engine.KindText, engine.KindImage:
			if got.Kind != c.Kind || got.Text != c.Text {
				t.Fatalf("sent %s %q, received %s %q", c.Kind, c.Text, got.Kind, got.Text)
			}
		case engine.KindLocation:
			if got.Location == nil || got.Location.Latitude != lat || got.Location.Longitude != long {
				t.Fatalf("sent location %v,%v, received %+v", lat, long, got.Location)
			}
		case engine.KindPoll:
			if got.Poll == nil || strings.Join(got.Poll.Options, "\n") != strings.Join(c.Poll.Options, "\n") {
				t.Fatalf("sent poll options %q, received %+v", c.Poll.Options, got.Poll)
			}
		}
	})
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	return w
}
