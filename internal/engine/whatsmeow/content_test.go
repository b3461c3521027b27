package whatsmeow

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

var (
	tMe    = types.JID{User: "15551234567", Device: 7, Server: types.DefaultUserServer}
	tBob   = types.NewJID("15557654321", types.DefaultUserServer)
	tCarol = types.NewJID("15550001111", types.DefaultUserServer)
	tGroup = types.NewJID("120363025246125486", types.GroupServer)
	tUp    = &wm.UploadResponse{
		URL: "https://mmg.whatsapp.net/d/f/x.enc", DirectPath: "/v/t62/x", MediaKey: []byte("key"),
		FileEncSHA256: []byte("enc"), FileSHA256: []byte("sha"), FileLength: 1234,
	}
)

// offlineClient is a client that was never connected, for the builders
// that need one (polls, edits, reactions).
func offlineClient(t *testing.T) *wm.Client {
	t.Helper()
	me := tMe
	return wm.NewClient(&store.Device{ID: &me}, nil)
}

// mediaBase is what every uploaded file's message carries from tUp.
type mediaFields struct {
	URL, DirectPath                     *string
	MediaKey, FileEncSHA256, FileSHA256 []byte
	FileLength                          *uint64
}

func upFields() mediaFields {
	return mediaFields{proto.String(tUp.URL), proto.String(tUp.DirectPath), tUp.MediaKey, tUp.FileEncSHA256, tUp.FileSHA256, proto.Uint64(tUp.FileLength)}
}

// normalize clears what changes from call to call (timestamps, secrets),
// after checking they are set.
func normalize(t *testing.T, m *waE2E.Message) {
	t.Helper()
	clear := func(ts **int64) {
		if *ts == nil || **ts == 0 {
			t.Errorf("media key timestamp not set")
		}
		*ts = nil
	}
	switch {
	case m.ImageMessage != nil:
		clear(&m.ImageMessage.MediaKeyTimestamp)
	case m.VideoMessage != nil:
		clear(&m.VideoMessage.MediaKeyTimestamp)
	case m.AudioMessage != nil:
		clear(&m.AudioMessage.MediaKeyTimestamp)
	case m.StickerMessage != nil:
		clear(&m.StickerMessage.MediaKeyTimestamp)
	case m.DocumentMessage != nil:
		clear(&m.DocumentMessage.MediaKeyTimestamp)
	case m.DocumentWithCaptionMessage != nil:
		clear(&m.DocumentWithCaptionMessage.Message.DocumentMessage.MediaKeyTimestamp)
	case m.PollCreationMessage != nil:
		if len(m.GetMessageContextInfo().GetMessageSecret()) != 32 {
			t.Errorf("poll without a 32-byte message secret")
		}
		m.MessageContextInfo = nil
	case m.EditedMessage != nil:
		pm := m.EditedMessage.Message.ProtocolMessage
		if pm.GetTimestampMS() == 0 {
			t.Errorf("edit without a timestamp")
		}
		pm.TimestampMS = nil
	}
}

func TestBuildMessage(t *testing.T) {
	f := upFields()
	quoted := &quote{sender: tCarol, msg: &waE2E.Message{Conversation: proto.String("original")}}
	tests := []struct {
		name   string
		chat   types.JID
		in     engine.Content
		quoted *quote
		want   *waE2E.Message
	}{
		{"plain text", tBob, engine.Content{Text: "hello"},
			nil, &waE2E.Message{Conversation: proto.String("hello")}},
		{"text reply with mentions, quote known", tGroup,
			engine.Content{Kind: engine.KindText, Text: "@15557654321 yes", QuotedID: "Q1", Mentions: []string{"15557654321@s.whatsapp.net", "+15550001111"}},
			quoted, &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("@15557654321 yes"), ContextInfo: &waE2E.ContextInfo{
				StanzaID: proto.String("Q1"), Participant: proto.String("15550001111@s.whatsapp.net"), QuotedMessage: quoted.msg,
				MentionedJID: []string{"15557654321@s.whatsapp.net", "15550001111@s.whatsapp.net"},
			}}}},
		{"text reply, quote unknown, sender given", tGroup,
			engine.Content{Text: "ok", QuotedID: "Q2", QuotedSender: "15557654321:3@s.whatsapp.net"},
			nil, &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("ok"), ContextInfo: &waE2E.ContextInfo{
				StanzaID: proto.String("Q2"), Participant: proto.String("15557654321@s.whatsapp.net"),
			}}}},
		{"image", tBob,
			engine.Content{Kind: engine.KindImage, Text: "cap", ViewOnce: true, Media: &engine.Media{Data: []byte("x"), MimeType: "image/png", Width: 640, Height: 480}},
			nil, &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
				URL: f.URL, DirectPath: f.DirectPath, MediaKey: f.MediaKey, FileEncSHA256: f.FileEncSHA256, FileSHA256: f.FileSHA256, FileLength: f.FileLength,
				Mimetype: proto.String("image/png"), Caption: proto.String("cap"), Width: proto.Uint32(640), Height: proto.Uint32(480), ViewOnce: proto.Bool(true),
			}}},
		{"image reply, default mime", tBob,
			engine.Content{Kind: engine.KindImage, QuotedID: "Q3", Media: &engine.Media{Data: []byte("x")}},
			nil, &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
				URL: f.URL, DirectPath: f.DirectPath, MediaKey: f.MediaKey, FileEncSHA256: f.FileEncSHA256, FileSHA256: f.FileSHA256, FileLength: f.FileLength,
				Mimetype: proto.String("image/jpeg"), ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("Q3")},
			}}},
		{"video", tBob,
			engine.Content{Kind: engine.KindVideo, Text: "clip", Media: &engine.Media{Data: []byte("x"), Seconds: 12, Width: 1280, Height: 720}},
			nil, &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
				URL: f.URL, DirectPath: f.DirectPath, MediaKey: f.MediaKey, FileEncSHA256: f.FileEncSHA256, FileSHA256: f.FileSHA256, FileLength: f.FileLength,
				Mimetype: proto.String("video/mp4"), Caption: proto.String("clip"), Seconds: proto.Uint32(12), Width: proto.Uint32(1280), Height: proto.Uint32(720),
			}}},
		{"gif", tBob,
			engine.Content{Kind: engine.KindGIF, Media: &engine.Media{Data: []byte("x"), Seconds: 3}},
			nil, &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
				URL: f.URL, DirectPath: f.DirectPath, MediaKey: f.MediaKey, FileEncSHA256: f.FileEncSHA256, FileSHA256: f.FileSHA256, FileLength: f.FileLength,
				Mimetype: proto.String("video/mp4"), Seconds: proto.Uint32(3), GifPlayback: proto.Bool(true),
			}}},
		{"audio (text dropped)", tBob,
			engine.Content{Kind: engine.KindAudio, Text: "ignored", Media: &engine.Media{Data: []byte("x"), MimeType: "audio/mp4", Seconds: 61}},
			nil, &waE2E.Message{AudioMessage: &waE2E.AudioMessage{
				URL: f.URL, DirectPath: f.DirectPath, MediaKey: f.MediaKey, FileEncSHA256: f.FileEncSHA256, FileSHA256: f.FileSHA256, FileLength: f.FileLength,
				Mimetype: proto.String("audio/mp4"), Seconds: proto.Uint32(61),
			}}},
		{"voice", tBob,
			engine.Content{Kind: engine.KindVoice, Media: &engine.Media{Data: []byte("x"), Seconds: 4}},
			nil, &waE2E.Message{AudioMessage: &waE2E.AudioMessage{
				URL: f.URL, DirectPath: f.DirectPath, MediaKey: f.MediaKey, FileEncSHA256: f.FileEncSHA256, FileSHA256: f.FileSHA256, FileLength: f.FileLength,
				Mimetype: proto.String("audio/ogg; codecs=opus"), Seconds: proto.Uint32(4), PTT: proto.Bool(true),
			}}},
		{"document", tBob,
			engine.Content{Kind: engine.KindDocument, Media: &engine.Media{Data: []byte("x"), MimeType: "application/pdf", FileName: "a.pdf"}},
			nil, &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
				URL: f.URL, DirectPath: f.DirectPath, MediaKey: f.MediaKey, FileEncSHA256: f.FileEncSHA256, FileSHA256: f.FileSHA256, FileLength: f.FileLength,
				Mimetype: proto.String("application/pdf"), FileName: proto.String("a.pdf"), Title: proto.String("a.pdf"),
			}}},
		{"document with caption", tBob,
			engine.Content{Kind: engine.KindDocument, Text: "the report", Media: &engine.Media{Data: []byte("x")}},
			nil, &waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
				URL: f.URL, DirectPath: f.DirectPath, MediaKey: f.MediaKey, FileEncSHA256: f.FileEncSHA256, FileSHA256: f.FileSHA256, FileLength: f.FileLength,
				Mimetype: proto.String("application/octet-stream"), FileName: proto.String("file"), Title: proto.String("file"), Caption: proto.String("the report"),
			}}}}},
		{"sticker", tBob,
			engine.Content{Kind: engine.KindSticker, Media: &engine.Media{Data: []byte("x"), Width: 512, Height: 512}},
			nil, &waE2E.Message{StickerMessage: &waE2E.StickerMessage{
				URL: f.URL, DirectPath: f.DirectPath, MediaKey: f.MediaKey, FileEncSHA256: f.FileEncSHA256, FileSHA256: f.FileSHA256, FileLength: f.FileLength,
				Mimetype: proto.String("image/webp"), Width: proto.Uint32(512), Height: proto.Uint32(512),
			}}},
		{"location", tBob,
			engine.Content{Kind: engine.KindLocation, Location: &engine.Location{Latitude: 52.52, Longitude: 13.405, Name: "Berlin", Address: "Mitte", URL: "https://maps.example"}},
			nil, &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
				DegreesLatitude: proto.Float64(52.52), DegreesLongitude: proto.Float64(13.405), Name: proto.String("Berlin"), Address: proto.String("Mitte"), URL: proto.String("https://maps.example"),
			}}},
		{"contact, name from the vCard", tBob,
			engine.Content{Kind: engine.KindContact, Contact: &engine.ContactCard{VCard: "BEGIN:VCARD\r\nVERSION:3.0\r\nFN;CHARSET=UTF-8:Carol Smith\r\nTEL;waid=15550001111:+1 555 000 1111\r\nEND:VCARD"}},
			nil, &waE2E.Message{ContactMessage: &waE2E.ContactMessage{
				DisplayName: proto.String("Carol Smith"), Vcard: proto.String("BEGIN:VCARD\r\nVERSION:3.0\r\nFN;CHARSET=UTF-8:Carol Smith\r\nTEL;waid=15550001111:+1 555 000 1111\r\nEND:VCARD"),
			}}},
		{"link preview", tBob,
			engine.Content{Kind: engine.KindLinkPreview, Text: "read https://x.example/a", LinkPreview: &engine.LinkPreview{URL: "https://x.example/a", Title: "A", Description: "About A", Thumbnail: []byte{0xff, 0xd8}}},
			nil, &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
				Text: proto.String("read https://x.example/a"), MatchedText: proto.String("https://x.example/a"), Title: proto.String("A"),
				Description: proto.String("About A"), JPEGThumbnail: []byte{0xff, 0xd8}, PreviewType: waE2E.ExtendedTextMessage_NONE.Enum(),
			}}},
		{"link preview adds the link to the text", tBob,
			engine.Content{Kind: engine.KindLinkPreview, Text: "look", LinkPreview: &engine.LinkPreview{URL: "https://x.example/b"}},
			nil, &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
				Text: proto.String("look\nhttps://x.example/b"), MatchedText: proto.String("https://x.example/b"), PreviewType: waE2E.ExtendedTextMessage_NONE.Enum(),
			}}},
		{"poll", tGroup,
			engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "Lunch?", Options: []string{"Pizza", "Sushi", "Salad"}, Selectable: 1}},
			nil, &waE2E.Message{PollCreationMessage: &waE2E.PollCreationMessage{
				Name: proto.String("Lunch?"), SelectableOptionsCount: proto.Uint32(1),
				Options: []*waE2E.PollCreationMessage_Option{{OptionName: proto.String("Pizza")}, {OptionName: proto.String("Sushi")}, {OptionName: proto.String("Salad")}},
			}}},
		{"edit", tBob,
			engine.Content{Text: "fixed", EditedID: "3EB0OLD"},
			nil, &waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
				Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
				Key:           &waCommon.MessageKey{FromMe: proto.Bool(true), ID: proto.String("3EB0OLD"), RemoteJID: proto.String("15557654321@s.whatsapp.net")},
				EditedMessage: &waE2E.Message{Conversation: proto.String("fixed")},
			}}}}},
	}
	cli := offlineClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := checkContent(tt.in)
			if err != nil {
				t.Fatalf("checkContent: %v", err)
			}
			var up *wm.UploadResponse
			if engine.IsMedia(o.Kind) {
				up = tUp
			}
			got, err := buildMessage(cli, tt.chat, o, up, tt.quoted)
			if err != nil {
				t.Fatalf("buildMessage: %v", err)
			}
			normalize(t, got)
			if !proto.Equal(tt.want, got) {
				t.Errorf("message\n got %s\nwant %s", prototext.Format(got), prototext.Format(tt.want))
			}
		})
	}
}

func TestCheckContentRejects(t *testing.T) {
	media := &engine.Media{Data: []byte("x")}
	bad := map[string]engine.Content{
		"empty text":               {Text: "  "},
		"image without file":       {Kind: engine.KindImage},
		"image with empty file":    {Kind: engine.KindImage, Media: &engine.Media{}},
		"negative seconds":         {Kind: engine.KindVideo, Media: &engine.Media{Data: []byte("x"), Seconds: -1}},
		"location missing":         {Kind: engine.KindLocation},
		"latitude out of range":    {Kind: engine.KindLocation, Location: &engine.Location{Latitude: 91}},
		"longitude out of range":   {Kind: engine.KindLocation, Location: &engine.Location{Longitude: -181}},
		"contact without vcard":    {Kind: engine.KindContact, Contact: &engine.ContactCard{Name: "x"}},
		"link preview without url": {Kind: engine.KindLinkPreview, Text: "x", LinkPreview: &engine.LinkPreview{}},
		"poll without title":       {Kind: engine.KindPoll, Poll: &engine.Poll{Options: []string{"a", "b"}}},
		"poll with one option":     {Kind: engine.KindPoll, Poll: &engine.Poll{Title: "q", Options: []string{"a"}}},
		"poll with 13 options":     {Kind: engine.KindPoll, Poll: &engine.Poll{Title: "q", Options: strings.Split("a b c d e f g h i j k l m", " ")}},
		"poll with duplicates":     {Kind: engine.KindPoll, Poll: &engine.Poll{Title: "q", Options: []string{"a", "a"}}},
		"poll selectable too big":  {Kind: engine.KindPoll, Poll: &engine.Poll{Title: "q", Options: []string{"a", "b"}, Selectable: 3}},
		"reaction":                 {Kind: engine.KindReaction, Reaction: &engine.Reaction{TargetID: "x", Emoji: "👍"}},
		"revoke":                   {Kind: engine.KindRevoke, RevokedID: "x"},
		"edit kind":                {Kind: engine.KindEdit, EditedID: "x", Text: "y"},
		"system":                   {Kind: engine.KindSystem, Text: "x"},
	}
	for name, c := range bad {
		if _, err := checkContent(c); !errors.Is(err, ErrInvalidContent) {
			t.Errorf("%s: %v, want ErrInvalidContent", name, err)
		}
	}
	unsupported := map[string]engine.Content{
		"unknown kind":   {Kind: "carousel", Text: "x"},
		"edit of media":  {Kind: engine.KindImage, Media: media, EditedID: "x"},
		"edit of a poll": {Kind: engine.KindPoll, Poll: &engine.Poll{Title: "q", Options: []string{"a", "b"}}, EditedID: "x"},
	}
	for name, c := range unsupported {
		if _, err := checkContent(c); !errors.Is(err, engine.ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", name, err)
		}
	}
	for name, c := range map[string]engine.Content{
		"bad mention":       {Text: "x", Mentions: []string{"nope"}},
		"group as mention":  {Text: "x", Mentions: []string{"120363025246125486@g.us"}},
		"bad quoted sender": {Text: "x", QuotedID: "Q", QuotedSender: "12"},
	} {
		if _, err := checkContent(c); !errors.Is(err, engine.ErrInvalidPhone) {
			t.Errorf("%s: %v, want ErrInvalidPhone", name, err)
		}
	}
}

// msgEvent wraps a message as whatsmeow delivers it from bob.
func msgEvent(m *waE2E.Message) *events.Message {
	return &events.Message{
		Info:    types.MessageInfo{MessageSource: types.MessageSource{Chat: tBob, Sender: tBob}, ID: "IN1", Timestamp: time.Unix(1700000000, 0)},
		Message: m, RawMessage: m,
	}
}

func TestDecodeContent(t *testing.T) {
	ci := &waE2E.ContextInfo{StanzaID: proto.String("Q1"), Participant: proto.String("15550001111:2@s.whatsapp.net"),
		MentionedJID: []string{"15557654321@s.whatsapp.net", "99887766@lid"}}
	reply := func(c engine.Content) engine.Content {
		c.QuotedID, c.QuotedSender = "Q1", "15550001111@s.whatsapp.net"
		c.Mentions = []string{"15557654321@s.whatsapp.net", "99887766@lid"}
		return c
	}
	sha := []byte("sha")
	tests := []struct {
		name string
		in   *events.Message
		want engine.Content
		skip bool
	}{
		{"conversation", msgEvent(&waE2E.Message{Conversation: proto.String("hi")}), engine.Content{Kind: engine.KindText, Text: "hi"}, false},
		{"extended text reply with mentions", msgEvent(&waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("@bob yes"), ContextInfo: ci}}),
			reply(engine.Content{Kind: engine.KindText, Text: "@bob yes"}), false},
		{"link preview", msgEvent(&waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
			Text: proto.String("see https://x.example"), MatchedText: proto.String("https://x.example"), Title: proto.String("X"),
			Description: proto.String("the X"), JPEGThumbnail: []byte{1, 2},
		}}), engine.Content{Kind: engine.KindLinkPreview, Text: "see https://x.example", LinkPreview: &engine.LinkPreview{
			URL: "https://x.example", Title: "X", Description: "the X", Thumbnail: []byte{1, 2}}}, false},
		{"image reply", msgEvent(&waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			Caption: proto.String("pic"), Mimetype: proto.String("image/jpeg"), FileLength: proto.Uint64(2048), FileSHA256: sha,
			Width: proto.Uint32(800), Height: proto.Uint32(600), ContextInfo: ci,
		}}), reply(engine.Content{Kind: engine.KindImage, Text: "pic", Media: &engine.Media{MimeType: "image/jpeg", Size: 2048, SHA256: sha, Width: 800, Height: 600}}), false},
		{"view-once image", func() *events.Message {
			e := msgEvent(&waE2E.Message{ImageMessage: &waE2E.ImageMessage{Mimetype: proto.String("image/jpeg")}})
			e.IsViewOnce = true
			return e
		}(), engine.Content{Kind: engine.KindImage, ViewOnce: true, Media: &engine.Media{MimeType: "image/jpeg"}}, false},
		{"video", msgEvent(&waE2E.Message{VideoMessage: &waE2E.VideoMessage{
			Caption: proto.String("clip"), Mimetype: proto.String("video/mp4"), Seconds: proto.Uint32(9), FileLength: proto.Uint64(99), Width: proto.Uint32(1), Height: proto.Uint32(2),
		}}), engine.Content{Kind: engine.KindVideo, Text: "clip", Media: &engine.Media{MimeType: "video/mp4", Seconds: 9, Size: 99, Width: 1, Height: 2}}, false},
		{"gif", msgEvent(&waE2E.Message{VideoMessage: &waE2E.VideoMessage{Mimetype: proto.String("video/mp4"), GifPlayback: proto.Bool(true), Seconds: proto.Uint32(2)}}),
			engine.Content{Kind: engine.KindGIF, Media: &engine.Media{MimeType: "video/mp4", Seconds: 2}}, false},
		{"video note", msgEvent(&waE2E.Message{PtvMessage: &waE2E.VideoMessage{Mimetype: proto.String("video/mp4"), Seconds: proto.Uint32(5)}}),
			engine.Content{Kind: engine.KindShort, Media: &engine.Media{MimeType: "video/mp4", Seconds: 5}}, false},
		{"audio", msgEvent(&waE2E.Message{AudioMessage: &waE2E.AudioMessage{Mimetype: proto.String("audio/mpeg"), Seconds: proto.Uint32(180), FileLength: proto.Uint64(5)}}),
			engine.Content{Kind: engine.KindAudio, Media: &engine.Media{MimeType: "audio/mpeg", Seconds: 180, Size: 5}}, false},
		{"voice", msgEvent(&waE2E.Message{AudioMessage: &waE2E.AudioMessage{Mimetype: proto.String("audio/ogg; codecs=opus"), Seconds: proto.Uint32(3), PTT: proto.Bool(true)}}),
			engine.Content{Kind: engine.KindVoice, Media: &engine.Media{MimeType: "audio/ogg; codecs=opus", Seconds: 3}}, false},
		{"document", msgEvent(&waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
			Mimetype: proto.String("application/pdf"), FileName: proto.String("a.pdf"), Caption: proto.String("report"), FileLength: proto.Uint64(10),
		}}), engine.Content{Kind: engine.KindDocument, Text: "report", Media: &engine.Media{MimeType: "application/pdf", FileName: "a.pdf", Size: 10}}, false},
		{"document named by title", msgEvent(&waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{Title: proto.String("b.txt")}}),
			engine.Content{Kind: engine.KindDocument, Media: &engine.Media{FileName: "b.txt"}}, false},
		{"sticker", msgEvent(&waE2E.Message{StickerMessage: &waE2E.StickerMessage{Mimetype: proto.String("image/webp"), Width: proto.Uint32(512), Height: proto.Uint32(512)}}),
			engine.Content{Kind: engine.KindSticker, Media: &engine.Media{MimeType: "image/webp", Width: 512, Height: 512}}, false},
		{"location", msgEvent(&waE2E.Message{LocationMessage: &waE2E.LocationMessage{
			DegreesLatitude: proto.Float64(-33.86), DegreesLongitude: proto.Float64(151.2), Name: proto.String("Opera"), Address: proto.String("Sydney"), URL: proto.String("https://o.example"),
		}}), engine.Content{Kind: engine.KindLocation, Location: &engine.Location{Latitude: -33.86, Longitude: 151.2, Name: "Opera", Address: "Sydney", URL: "https://o.example"}}, false},
		{"live location", msgEvent(&waE2E.Message{LiveLocationMessage: &waE2E.LiveLocationMessage{
			DegreesLatitude: proto.Float64(1.5), DegreesLongitude: proto.Float64(2.5), Caption: proto.String("on my way"),
		}}), engine.Content{Kind: engine.KindLiveLocation, Text: "on my way", LiveLocation: &engine.LiveLocation{Latitude: 1.5, Longitude: 2.5, Caption: "on my way"}}, false},
		{"contact", msgEvent(&waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String("Carol"), Vcard: proto.String("BEGIN:VCARD\nFN:Carol\nEND:VCARD")}}),
			engine.Content{Kind: engine.KindContact, Contact: &engine.ContactCard{Name: "Carol", VCard: "BEGIN:VCARD\nFN:Carol\nEND:VCARD"}}, false},
		{"contacts array", msgEvent(&waE2E.Message{ContactsArrayMessage: &waE2E.ContactsArrayMessage{Contacts: []*waE2E.ContactMessage{
			{DisplayName: proto.String("A"), Vcard: proto.String("BEGIN:VCARD\nFN:A\nEND:VCARD\n")},
			{DisplayName: proto.String("B"), Vcard: proto.String("BEGIN:VCARD\nFN:B\nEND:VCARD")},
		}}}), engine.Content{Kind: engine.KindContactList, Contacts: []engine.ContactCard{{Name: "A", VCard: "BEGIN:VCARD\nFN:A\nEND:VCARD\n"}, {Name: "B", VCard: "BEGIN:VCARD\nFN:B\nEND:VCARD"}}}, false},
		{"poll", msgEvent(&waE2E.Message{PollCreationMessageV3: &waE2E.PollCreationMessage{
			Name: proto.String("Lunch?"), SelectableOptionsCount: proto.Uint32(1),
			Options: []*waE2E.PollCreationMessage_Option{{OptionName: proto.String("Pizza")}, {OptionName: proto.String("Sushi")}},
		}}), engine.Content{Kind: engine.KindPoll, Text: "Lunch?", Poll: &engine.Poll{Title: "Lunch?", Options: []string{"Pizza", "Sushi"}, Selectable: 1}}, false},
		{"reaction", msgEvent(&waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
			Key: &waCommon.MessageKey{ID: proto.String("T1"), FromMe: proto.Bool(true)}, Text: proto.String("👍"),
		}}), engine.Content{Kind: engine.KindReaction, Reaction: &engine.Reaction{TargetID: "T1", Emoji: "👍"}}, false},
		{"reaction removed", msgEvent(&waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
			Key: &waCommon.MessageKey{ID: proto.String("T1")}, Text: proto.String(""),
		}}), engine.Content{Kind: engine.KindReaction, Reaction: &engine.Reaction{TargetID: "T1"}}, false},
		{"revoke", msgEvent(&waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type: waE2E.ProtocolMessage_REVOKE.Enum(), Key: &waCommon.MessageKey{ID: proto.String("GONE")},
		}}), engine.Content{Kind: engine.KindRevoke, RevokedID: "GONE"}, false},
		{"edit", func() *events.Message {
			e := msgEvent(&waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
				Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), Key: &waCommon.MessageKey{ID: proto.String("OLD")},
				EditedMessage: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("new text")}},
			}})
			e.IsEdit = true
			return e
		}(), engine.Content{Kind: engine.KindEdit, EditedID: "OLD", Text: "new text"}, false},
		{"caption edit", msgEvent(&waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), Key: &waCommon.MessageKey{ID: proto.String("IMG")},
			EditedMessage: &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: proto.String("better caption")}},
		}}), engine.Content{Kind: engine.KindEdit, EditedID: "IMG", Text: "better caption"}, false},
		{"disappearing messages on", msgEvent(&waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type: waE2E.ProtocolMessage_EPHEMERAL_SETTING.Enum(), EphemeralExpiration: proto.Uint32(7 * 24 * 3600),
		}}), engine.Content{Kind: engine.KindSystem, Text: "disappearing messages set to 7 days"}, false},
		{"disappearing messages off", msgEvent(&waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type: waE2E.ProtocolMessage_EPHEMERAL_SETTING.Enum(),
		}}), engine.Content{Kind: engine.KindSystem, Text: "disappearing messages turned off"}, false},
		{"unmodelled kind", msgEvent(&waE2E.Message{
			SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{GroupID: proto.String("g")},
			RequestPaymentMessage:        &waE2E.RequestPaymentMessage{},
		}), engine.Content{Kind: engine.KindSystem, Text: "unsupported message: requestPaymentMessage"}, false},

		{"key share skipped", msgEvent(&waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_APP_STATE_SYNC_KEY_SHARE.Enum()}}), engine.Content{}, true},
		{"revoke without id skipped", msgEvent(&waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum()}}), engine.Content{}, true},
		{"sender key only skipped", msgEvent(&waE2E.Message{
			SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{GroupID: proto.String("g")},
			MessageContextInfo:           &waE2E.MessageContextInfo{},
		}), engine.Content{}, true},
		{"poll vote skipped", msgEvent(&waE2E.Message{PollUpdateMessage: &waE2E.PollUpdateMessage{}}), engine.Content{}, true},
		{"encrypted reaction skipped", msgEvent(&waE2E.Message{EncReactionMessage: &waE2E.EncReactionMessage{}}), engine.Content{}, true},
		{"empty message skipped", msgEvent(&waE2E.Message{}), engine.Content{}, true},
		{"nil message skipped", &events.Message{}, engine.Content{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := decodeContent(tt.in, nil)
			if ok == tt.skip {
				t.Fatalf("decodeContent ok = %v, want %v (%+v)", ok, !tt.skip, got)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decodeContent\n got %#v\nwant %#v", got, tt.want)
				if got.Media != nil && tt.want.Media != nil {
					t.Errorf("media got %#v\nwant %#v", *got.Media, *tt.want.Media)
				}
			}
		})
	}
}

// Every kind Send builds reads back as the same content: what one wagate
// sends, another receives as sent.
func TestContentRoundTrip(t *testing.T) {
	cli := offlineClient(t)
	media := func(mime string) *engine.Media {
		return &engine.Media{Data: []byte("file"), MimeType: mime}
	}
	vcard := "BEGIN:VCARD\nVERSION:3.0\nFN:Carol\nEND:VCARD"
	in := []engine.Content{
		{Kind: engine.KindText, Text: "hi"},
		{Kind: engine.KindText, Text: "reply", QuotedID: "Q", QuotedSender: "15550001111@s.whatsapp.net", Mentions: []string{"15557654321@s.whatsapp.net"}},
		{Kind: engine.KindImage, Text: "cap", ViewOnce: true, Media: &engine.Media{Data: []byte("file"), MimeType: "image/png", Width: 2, Height: 3}},
		{Kind: engine.KindVideo, Text: "v", Media: &engine.Media{Data: []byte("file"), MimeType: "video/mp4", Seconds: 5, Width: 2, Height: 3}},
		{Kind: engine.KindGIF, Media: &engine.Media{Data: []byte("file"), MimeType: "video/mp4", Seconds: 1}},
		{Kind: engine.KindAudio, Media: &engine.Media{Data: []byte("file"), MimeType: "audio/mpeg", Seconds: 100}},
		{Kind: engine.KindVoice, Media: &engine.Media{Data: []byte("file"), MimeType: "audio/ogg; codecs=opus", Seconds: 2}},
		{Kind: engine.KindDocument, Text: "doc caption", Media: &engine.Media{Data: []byte("file"), MimeType: "application/pdf", FileName: "x.pdf"}},
		{Kind: engine.KindDocument, Media: &engine.Media{Data: []byte("file"), MimeType: "text/plain", FileName: "y.txt"}},
		{Kind: engine.KindSticker, Media: media("image/webp")},
		{Kind: engine.KindLocation, Location: &engine.Location{Latitude: 1, Longitude: 2, Name: "n", Address: "a", URL: "https://u.example"}},
		{Kind: engine.KindContact, Contact: &engine.ContactCard{Name: "Carol", VCard: vcard}},
		{Kind: engine.KindLinkPreview, Text: "https://l.example", LinkPreview: &engine.LinkPreview{URL: "https://l.example", Title: "L", Description: "d", Thumbnail: []byte{9}}},
		{Kind: engine.KindPoll, Text: "Q?", Poll: &engine.Poll{Title: "Q?", Options: []string{"a", "b"}, Selectable: 0}},
	}
	for _, c := range in {
		t.Run(c.Kind, func(t *testing.T) {
			o, err := checkContent(c)
			if err != nil {
				t.Fatal(err)
			}
			var up *wm.UploadResponse
			if engine.IsMedia(c.Kind) {
				up = &wm.UploadResponse{URL: "https://mmg.example/x", DirectPath: "/x", FileSHA256: []byte("s"), FileLength: 4}
			}
			msg, err := buildMessage(cli, tBob, o, up, nil)
			if err != nil {
				t.Fatal(err)
			}
			// What the receiving whatsmeow does: unwrap, then decode.
			e := (&events.Message{Info: types.MessageInfo{ID: "X"}, RawMessage: msg}).UnwrapRaw()
			got, ok := decodeContent(e, nil)
			if !ok {
				t.Fatal("not decoded")
			}
			want := c
			if want.Media != nil {
				md := *want.Media
				md.Data, md.Size, md.SHA256 = nil, 4, []byte("s")
				want.Media = &md
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip\n got %#v\nwant %#v", got, want)
			}
		})
	}
}

// Received files get a Fetch that runs later, not while mapping.
func TestDecodeContentFetch(t *testing.T) {
	var asked []wm.DownloadableMessage
	fetch := func(msg wm.DownloadableMessage) func(context.Context) ([]byte, error) {
		asked = append(asked, msg)
		return func(context.Context) ([]byte, error) { return []byte("data of " + string(wm.GetMediaType(msg))), nil }
	}
	img := &waE2E.ImageMessage{DirectPath: proto.String("/img")}
	doc := &waE2E.DocumentMessage{DirectPath: proto.String("/doc")}
	for _, tc := range []struct {
		m    *waE2E.Message
		part wm.DownloadableMessage
	}{
		{&waE2E.Message{ImageMessage: img}, img},
		{&waE2E.Message{DocumentMessage: doc}, doc},
	} {
		c, ok := decodeContent(msgEvent(tc.m), fetch)
		if !ok || c.Media == nil || c.Media.Fetch == nil {
			t.Fatalf("no Fetch: %+v", c)
		}
		if asked[len(asked)-1] != tc.part {
			t.Fatalf("Fetch for the wrong part")
		}
		data, err := c.Media.Fetch(context.Background())
		if err != nil || !strings.HasPrefix(string(data), "data of WhatsApp") {
			t.Fatalf("Fetch = %q, %v", data, err)
		}
	}
	if c, _ := decodeContent(msgEvent(&waE2E.Message{Conversation: proto.String("x")}), fetch); c.Media != nil || len(asked) != 2 {
		t.Fatal("text got a fetcher")
	}
}

func TestQuoteOf(t *testing.T) {
	if quoteOf(nil, tBob) != nil || quoteOf(&engine.Content{Kind: engine.KindSystem, Text: "joined"}, tBob) != nil {
		t.Fatal("a quote of nothing, or of a notice")
	}
	long := strings.Repeat("é", quoteTextMax)
	q := quoteOf(&engine.Content{Kind: engine.KindText, Text: long}, types.JID{User: tBob.User, Device: 3, Server: tBob.Server})
	if q == nil || q.sender != tBob || len(q.msg.GetConversation()) != quoteTextMax || !strings.HasSuffix(q.msg.GetConversation(), "é") {
		t.Fatalf("text quote %+v", q)
	}
	img := quoteOf(&engine.Content{Kind: engine.KindImage, Text: "c", Media: &engine.Media{MimeType: "image/jpeg", Data: []byte{1}}}, tCarol)
	if m := img.msg.GetImageMessage(); m == nil || m.GetCaption() != "c" || m.GetMimetype() != "image/jpeg" || m.URL != nil || m.JPEGThumbnail != nil {
		t.Fatalf("image quote %+v", img)
	}
	voice := quoteOf(&engine.Content{Kind: engine.KindVoice, Media: &engine.Media{MimeType: "audio/ogg", Seconds: 7}}, tCarol)
	if m := voice.msg.GetAudioMessage(); m == nil || !m.GetPTT() || m.GetSeconds() != 7 {
		t.Fatalf("voice quote %+v", voice)
	}
	poll := quoteOf(&engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "Lunch?", Options: []string{"a", "b"}}}, tCarol)
	if m := poll.msg.GetPollCreationMessage(); m == nil || m.GetName() != "Lunch?" || len(m.GetOptions()) != 2 {
		t.Fatalf("poll quote %+v", poll)
	}
}

func TestVcardName(t *testing.T) {
	for in, want := range map[string]string{
		"BEGIN:VCARD\nFN:Ann\nEND:VCARD":                    "Ann",
		"BEGIN:VCARD\r\nfn;CHARSET=UTF-8: Bo \r\nEND:VCARD": "Bo",
		"BEGIN:VCARD\nN:Smith;Al\nEND:VCARD":                "",
	} {
		if got := vcardName(in); got != want {
			t.Errorf("vcardName(%q) = %q, want %q", in, got, want)
		}
	}
}
