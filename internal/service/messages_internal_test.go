package service

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

const (
	itTo   = "+49 151 12345678"
	itChat = "4915112345678@s.whatsapp.net"
)

func itFloat(v float64) *float64 { return &v }
func itInt(v int) *int           { return &v }

// itWantField checks err is a validation error about field.
func itWantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) || !errors.Is(err, model.ErrInvalid) {
		t.Errorf("%s: err = %v, want a FieldError about %q", what, err, field)
		return
	}
	if fe.Field != field {
		t.Errorf("%s: error about %q (%v), want %q", what, fe.Field, err, field)
	}
}

// itValid is a valid request of each kind.
func itValid(kind string) SendRequest {
	r := SendRequest{Kind: kind, To: itTo}
	switch kind {
	case engine.KindText:
		r.Body = "hello"
	case engine.KindLocation:
		r.Latitude, r.Longitude = itFloat(52.52), itFloat(13.405)
	case engine.KindContact:
		r.Name, r.VCard = "Alice", "BEGIN:VCARD\nVERSION:3.0\nFN:Alice\nTEL:+15550000001\nEND:VCARD"
	case engine.KindLinkPreview:
		r.Body, r.Title = "look at https://example.com/page", "Example"
	case engine.KindPoll:
		r.Title, r.Options = "Lunch?", []string{"Pizza", "Sushi"}
	}
	return r
}

var itAllKinds = []string{
	engine.KindText, engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindAudio, engine.KindVoice,
	engine.KindDocument, engine.KindSticker, engine.KindLocation, engine.KindContact, engine.KindLinkPreview, engine.KindPoll,
}

func TestCheckSendValid(t *testing.T) {
	for _, kind := range itAllKinds {
		chat, c, err := checkSend(itValid(kind))
		if err != nil || chat != itChat || c.Kind != kind {
			t.Errorf("%s: chat %q kind %q err %v", kind, chat, c.Kind, err)
		}
	}
	// Groups are chats too.
	r := itValid(engine.KindText)
	r.To = "120363000000000001@g.us"
	if chat, _, err := checkSend(r); err != nil || chat != "120363000000000001@g.us" {
		t.Errorf("group: %q %v", chat, err)
	}

	for _, c := range []struct {
		name string
		r    func(r *SendRequest)
		kind string
		want engine.Content
	}{
		{"text", func(r *SendRequest) {}, engine.KindText, engine.Content{Kind: engine.KindText, Text: "hello"}},
		{"text of the longest", func(r *SendRequest) { r.Body = strings.Repeat("é", MaxTextLength) }, engine.KindText,
			engine.Content{Kind: engine.KindText, Text: strings.Repeat("é", MaxTextLength)}},
		{"image with caption, view once", func(r *SendRequest) { r.Caption, r.ViewOnce = "look", true }, engine.KindImage,
			engine.Content{Kind: engine.KindImage, Text: "look", ViewOnce: true}},
		{"document with the longest caption", func(r *SendRequest) { r.Caption = strings.Repeat("😀", MaxCaptionLength) }, engine.KindDocument,
			engine.Content{Kind: engine.KindDocument, Text: strings.Repeat("😀", MaxCaptionLength)}},
		{"gif", func(r *SendRequest) {}, engine.KindGIF, engine.Content{Kind: engine.KindGIF}},
		{"voice ignores a caption", func(r *SendRequest) { r.Caption = "ignored" }, engine.KindVoice, engine.Content{Kind: engine.KindVoice}},
		{"sticker ignores a body", func(r *SendRequest) { r.Body = "ignored" }, engine.KindSticker, engine.Content{Kind: engine.KindSticker}},
		{"location", func(r *SendRequest) { r.Name, r.Address, r.URL = "Gate", "Pariser Platz", "https://maps.example/x" }, engine.KindLocation,
			engine.Content{Kind: engine.KindLocation, Location: &engine.Location{Latitude: 52.52, Longitude: 13.405, Name: "Gate", Address: "Pariser Platz", URL: "https://maps.example/x"}}},
		{"location at the edges", func(r *SendRequest) { r.Latitude, r.Longitude = itFloat(-90), itFloat(180) }, engine.KindLocation,
			engine.Content{Kind: engine.KindLocation, Location: &engine.Location{Latitude: -90, Longitude: 180}}},
		{"location at the other edges", func(r *SendRequest) { r.Latitude, r.Longitude = itFloat(90), itFloat(-180) }, engine.KindLocation,
			engine.Content{Kind: engine.KindLocation, Location: &engine.Location{Latitude: 90, Longitude: -180}}},
		{"location at zero", func(r *SendRequest) { r.Latitude, r.Longitude = itFloat(0), itFloat(0) }, engine.KindLocation,
			engine.Content{Kind: engine.KindLocation, Location: &engine.Location{}}},
		{"contact", func(r *SendRequest) {}, engine.KindContact,
			engine.Content{Kind: engine.KindContact, Contact: &engine.ContactCard{Name: "Alice", VCard: itValid(engine.KindContact).VCard}}},
		{"contact, lower case and spaced vcard", func(r *SendRequest) { r.VCard = "\r\n begin:vcard\r\nFN:A\r\nend:vcard\r\n" }, engine.KindContact,
			engine.Content{Kind: engine.KindContact, Contact: &engine.ContactCard{Name: "Alice", VCard: "\r\n begin:vcard\r\nFN:A\r\nend:vcard\r\n"}}},
		{"link preview from the body", func(r *SendRequest) { r.Description = "A page" }, engine.KindLinkPreview,
			engine.Content{Kind: engine.KindLinkPreview, Text: "look at https://example.com/page",
				LinkPreview: &engine.LinkPreview{URL: "https://example.com/page", Title: "Example", Description: "A page"}}},
		{"link preview, first link", func(r *SendRequest) { r.Body = "ftp://x.example http://a.example/1 https://b.example/2" }, engine.KindLinkPreview,
			engine.Content{Kind: engine.KindLinkPreview, Text: "ftp://x.example http://a.example/1 https://b.example/2",
				LinkPreview: &engine.LinkPreview{URL: "http://a.example/1", Title: "Example"}}},
		{"link preview, canonical", func(r *SendRequest) { r.Body, r.Canonical = "no link here", "https://example.com/canonical" }, engine.KindLinkPreview,
			engine.Content{Kind: engine.KindLinkPreview, Text: "no link here",
				LinkPreview: &engine.LinkPreview{URL: "https://example.com/canonical", Title: "Example"}}},
		{"poll", func(r *SendRequest) {}, engine.KindPoll,
			engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "Lunch?", Options: []string{"Pizza", "Sushi"}}}},
		{"poll, one choice", func(r *SendRequest) { r.Count = itInt(1) }, engine.KindPoll,
			engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "Lunch?", Options: []string{"Pizza", "Sushi"}, Selectable: 1}}},
		{"poll, any choices, 12 options", func(r *SendRequest) {
			r.Count, r.Options = itInt(0), strings.Split("a b c d e f g h i j k l", " ")
		}, engine.KindPoll,
			engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "Lunch?", Options: strings.Split("a b c d e f g h i j k l", " ")}}},
		{"reply with mentions", func(r *SendRequest) {
			r.Quoted, r.Mentions = "3EB0C767D82A1B2C3D", []string{"+1 555 000 0001", "15550000002@c.us"}
		}, engine.KindText,
			engine.Content{Kind: engine.KindText, Text: "hello", QuotedID: "3EB0C767D82A1B2C3D",
				Mentions: []string{"15550000001@s.whatsapp.net", "15550000002@s.whatsapp.net"}}},
		{"media reply", func(r *SendRequest) { r.Quoted = "PsqXn5SLjOJ4-gNfs1_PqA" }, engine.KindImage,
			engine.Content{Kind: engine.KindImage, QuotedID: "PsqXn5SLjOJ4-gNfs1_PqA"}},
		{"edit", func(r *SendRequest) { r.Edit = "3EB0C767D82A1B2C3D" }, engine.KindText,
			engine.Content{Kind: engine.KindText, Text: "hello", EditedID: "3EB0C767D82A1B2C3D"}},
		{"typing at the longest", func(r *SendRequest) { r.TypingTime = MaxTypingSeconds }, engine.KindText,
			engine.Content{Kind: engine.KindText, Text: "hello"}},
		{"typing a moment", func(r *SendRequest) { r.TypingTime = 0.25 }, engine.KindVoice, engine.Content{Kind: engine.KindVoice}},
	} {
		r := itValid(c.kind)
		c.r(&r)
		chat, got, err := checkSend(r)
		if err != nil || chat != itChat {
			t.Errorf("%s: chat %q, err %v", c.name, chat, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got  %+v\n want %+v", c.name, got, c.want)
		}
	}
}

func TestCheckSendInvalid(t *testing.T) {
	for _, c := range []struct {
		name  string
		kind  string
		r     func(r *SendRequest)
		field string
	}{
		{"no recipient", engine.KindText, func(r *SendRequest) { r.To = "" }, "to"},
		{"bad recipient", engine.KindText, func(r *SendRequest) { r.To = "alice" }, "to"},
		{"bad recipient before bad type", "bogus", func(r *SendRequest) { r.To = "12" }, "to"},
		{"no type", "", func(r *SendRequest) { r.Body = "hi" }, "type"},
		{"unknown type", "bogus", func(r *SendRequest) {}, "type"},
		{"type in capitals", "TEXT", func(r *SendRequest) { r.Body = "hi" }, "type"},
		{"incoming-only type", engine.KindReaction, func(r *SendRequest) {}, "type"},
		{"incoming-only edit", engine.KindEdit, func(r *SendRequest) {}, "type"},
		{"incoming-only revoke", engine.KindRevoke, func(r *SendRequest) {}, "type"},
		{"system", engine.KindSystem, func(r *SendRequest) {}, "type"},

		{"text, no body", engine.KindText, func(r *SendRequest) { r.Body = "" }, "body"},
		{"text, blank body", engine.KindText, func(r *SendRequest) { r.Body = " \n\t " }, "body"},
		{"text too long", engine.KindText, func(r *SendRequest) { r.Body = strings.Repeat("a", MaxTextLength+1) }, "body"},
		{"text not UTF-8", engine.KindText, func(r *SendRequest) { r.Body = "bad \xff byte" }, "body"},
		{"caption too long", engine.KindImage, func(r *SendRequest) { r.Caption = strings.Repeat("a", MaxCaptionLength+1) }, "caption"},
		{"video caption too long", engine.KindVideo, func(r *SendRequest) { r.Caption = strings.Repeat("a", MaxCaptionLength+1) }, "caption"},
		{"caption not UTF-8", engine.KindDocument, func(r *SendRequest) { r.Caption = "\xc3" }, "caption"},

		{"location, no latitude", engine.KindLocation, func(r *SendRequest) { r.Latitude = nil }, "latitude"},
		{"location, no longitude", engine.KindLocation, func(r *SendRequest) { r.Longitude = nil }, "latitude"},
		{"latitude over 90", engine.KindLocation, func(r *SendRequest) { r.Latitude = itFloat(90.000001) }, "latitude"},
		{"latitude under -90", engine.KindLocation, func(r *SendRequest) { r.Latitude = itFloat(-91) }, "latitude"},
		{"latitude NaN", engine.KindLocation, func(r *SendRequest) { r.Latitude = itFloat(math.NaN()) }, "latitude"},
		{"latitude infinite", engine.KindLocation, func(r *SendRequest) { r.Latitude = itFloat(math.Inf(1)) }, "latitude"},
		{"longitude over 180", engine.KindLocation, func(r *SendRequest) { r.Longitude = itFloat(180.5) }, "longitude"},
		{"longitude under -180", engine.KindLocation, func(r *SendRequest) { r.Longitude = itFloat(-180.000001) }, "longitude"},
		{"longitude NaN", engine.KindLocation, func(r *SendRequest) { r.Longitude = itFloat(math.NaN()) }, "longitude"},
		{"longitude infinite", engine.KindLocation, func(r *SendRequest) { r.Longitude = itFloat(math.Inf(-1)) }, "longitude"},
		{"location name too long", engine.KindLocation, func(r *SendRequest) { r.Name = strings.Repeat("n", 257) }, "name"},
		{"location address too long", engine.KindLocation, func(r *SendRequest) { r.Address = strings.Repeat("n", 513) }, "address"},

		{"contact, no name", engine.KindContact, func(r *SendRequest) { r.Name = " " }, "name"},
		{"contact name too long", engine.KindContact, func(r *SendRequest) { r.Name = strings.Repeat("n", 257) }, "name"},
		{"contact, no vcard", engine.KindContact, func(r *SendRequest) { r.VCard = "" }, "vcard"},
		{"contact, not a vcard", engine.KindContact, func(r *SendRequest) { r.VCard = "FN:Alice\nTEL:+15550000001" }, "vcard"},
		{"contact, vcard not at the start", engine.KindContact, func(r *SendRequest) { r.VCard = "x BEGIN:VCARD\nEND:VCARD" }, "vcard"},
		{"contact, vcard not ended", engine.KindContact, func(r *SendRequest) { r.VCard = "BEGIN:VCARD\nFN:Alice" }, "vcard"},
		{"contact, vcard too long", engine.KindContact, func(r *SendRequest) {
			r.VCard = "BEGIN:VCARD\n" + strings.Repeat("x", 10000) + "\nEND:VCARD"
		}, "vcard"},

		{"link preview, no body", engine.KindLinkPreview, func(r *SendRequest) { r.Body = "" }, "body"},
		{"link preview, no title", engine.KindLinkPreview, func(r *SendRequest) { r.Title = "" }, "title"},
		{"link preview title too long", engine.KindLinkPreview, func(r *SendRequest) { r.Title = strings.Repeat("t", 257) }, "title"},
		{"link preview description too long", engine.KindLinkPreview, func(r *SendRequest) { r.Description = strings.Repeat("d", 1025) }, "description"},
		{"link preview, no link", engine.KindLinkPreview, func(r *SendRequest) { r.Body = "no link at all" }, "body"},
		{"link preview, not a web link", engine.KindLinkPreview, func(r *SendRequest) { r.Body = "ftp://example.com/file mailto:a@example.com" }, "body"},
		{"link preview, link without host", engine.KindLinkPreview, func(r *SendRequest) { r.Body = "see http:// now" }, "body"},
		{"link preview, canonical not a web link", engine.KindLinkPreview, func(r *SendRequest) { r.Canonical = "javascript:alert(1)" }, "canonical"},
		{"link preview, canonical not a URL", engine.KindLinkPreview, func(r *SendRequest) { r.Canonical = "example dot com" }, "canonical"},

		{"poll, no title", engine.KindPoll, func(r *SendRequest) { r.Title = "" }, "title"},
		{"poll title too long", engine.KindPoll, func(r *SendRequest) { r.Title = strings.Repeat("t", 256) }, "title"},
		{"poll, one option", engine.KindPoll, func(r *SendRequest) { r.Options = []string{"only"} }, "options"},
		{"poll, no options", engine.KindPoll, func(r *SendRequest) { r.Options = nil }, "options"},
		{"poll, 13 options", engine.KindPoll, func(r *SendRequest) { r.Options = strings.Split("a b c d e f g h i j k l m", " ") }, "options"},
		{"poll, blank option", engine.KindPoll, func(r *SendRequest) { r.Options = []string{"a", " "} }, "options[1]"},
		{"poll, option too long", engine.KindPoll, func(r *SendRequest) { r.Options = []string{strings.Repeat("o", 101), "b"} }, "options[0]"},
		{"poll, same option twice", engine.KindPoll, func(r *SendRequest) { r.Options = []string{"a", "b", "a"} }, "options[2]"},
		{"poll, count 2", engine.KindPoll, func(r *SendRequest) { r.Count = itInt(2) }, "count"},
		{"poll, negative count", engine.KindPoll, func(r *SendRequest) { r.Count = itInt(-1) }, "count"},

		{"quoted, bad characters", engine.KindText, func(r *SendRequest) { r.Quoted = "3EB0 ABC" }, "quoted"},
		{"quoted too short", engine.KindText, func(r *SendRequest) { r.Quoted = "3EB" }, "quoted"},
		{"quoted too long", engine.KindImage, func(r *SendRequest) { r.Quoted = strings.Repeat("A", 81) }, "quoted"},
		{"quoted with a slash", engine.KindText, func(r *SendRequest) { r.Quoted = "../../etc" }, "quoted"},
		{"edit of media", engine.KindImage, func(r *SendRequest) { r.Edit = "3EB0C767D82A1B2C3D" }, "edit"},
		{"edit of a poll", engine.KindPoll, func(r *SendRequest) { r.Edit = "3EB0C767D82A1B2C3D" }, "edit"},
		{"edit, bad ID", engine.KindText, func(r *SendRequest) { r.Edit = "3EB0?" }, "edit"},
		{"mention not a number", engine.KindText, func(r *SendRequest) { r.Mentions = []string{"alice"} }, "mentions[0]"},
		{"mention of a group", engine.KindText, func(r *SendRequest) {
			r.Mentions = []string{"15550000001", "120363000000000001@g.us"}
		}, "mentions[1]"},
		{"mention empty", engine.KindImage, func(r *SendRequest) { r.Mentions = []string{""} }, "mentions[0]"},
		{"typing negative", engine.KindText, func(r *SendRequest) { r.TypingTime = -0.1 }, "typing_time"},
		{"typing too long", engine.KindText, func(r *SendRequest) { r.TypingTime = MaxTypingSeconds + 0.01 }, "typing_time"},
		{"typing NaN", engine.KindText, func(r *SendRequest) { r.TypingTime = math.NaN() }, "typing_time"},
		{"typing infinite", engine.KindText, func(r *SendRequest) { r.TypingTime = math.Inf(1) }, "typing_time"},
	} {
		r := itValid(c.kind)
		c.r(&r)
		_, _, err := checkSend(r)
		itWantField(t, c.name, err, c.field)
	}
}

func TestCheckMessageIDAndFirstURL(t *testing.T) {
	for _, id := range []string{"3EB0C767D82A1B2C3D", "ABCD", "PsqXn5SLjOJ4-gNfs1_PqA", "wamid.HBgM:1-2", strings.Repeat("a", 80)} {
		if err := CheckMessageID(id); err != nil {
			t.Errorf("CheckMessageID(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", "abc", strings.Repeat("a", 81), "a b c d", "abc/def", "../..", "ab\ncd", "ünïcode", "false_4915112345678@c.us_3EB0"} {
		if err := CheckMessageID(id); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("CheckMessageID(%q) = %v, want not found", id, err)
		}
	}
	for in, want := range map[string]string{
		"":                                     "",
		"no link":                              "",
		"https://example.com":                  "https://example.com",
		"a http://x.example/p?q=1#f b":         "http://x.example/p?q=1#f",
		"HTTPS://EXAMPLE.COM/UP":               "HTTPS://EXAMPLE.COM/UP",
		"mailto:x@example.com www.example.com": "",
		"http:/broken https://ok.example":      "https://ok.example",
	} {
		if got := firstURL(in); got != want {
			t.Errorf("firstURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// itJSON compares a stored JSON object with the expected value.
func itJSON(t *testing.T, what string, got json.RawMessage, want any) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %s is not JSON: %v", what, got, err)
	}
	b, _ := json.Marshal(want)
	_ = json.Unmarshal(b, &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got  %s\n want %s", what, got, b)
	}
}

func TestNewMessage(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	s := New(nil, slog.New(slog.DiscardHandler), Options{APIURL: "http://wagate.test/", Now: func() time.Time { return now }})
	ch := model.Channel{ID: "CHANNL-00001"}
	at := time.Date(2025, 3, 9, 8, 0, 0, 0, time.FixedZone("X", 5*3600))
	media := &model.MediaFile{ID: "jpeg-00112233aabbccdd", MimeType: "image/jpeg", Size: 2048, SHA256: "ab12", FileName: "cat.jpg"}

	type obj = map[string]any
	for _, c := range []struct {
		name    string
		c       engine.Content
		media   *model.MediaFile
		typ     string
		content any
		context any
	}{
		{"text", engine.Content{Kind: engine.KindText, Text: "hi"}, nil, "text", obj{"body": "hi"}, obj{}},
		{"no kind is text", engine.Content{Text: "hi"}, nil, "text", obj{"body": "hi"}, obj{}},
		{"stored image", engine.Content{Kind: engine.KindImage, Text: "a cat", ViewOnce: true,
			Media: &engine.Media{MimeType: "image/png", Size: 1, Seconds: 0}}, media, "image",
			obj{"id": media.ID, "mime_type": "image/jpeg", "file_size": 2048, "sha256": "ab12", "file_name": "cat.jpg",
				"link": "http://wagate.test/media/" + media.ID, "caption": "a cat", "view_once": true}, obj{}},
		{"stored voice, no name", engine.Content{Kind: engine.KindVoice, Media: &engine.Media{Seconds: 7}},
			&model.MediaFile{ID: "ogg-00112233", MimeType: "audio/ogg", Size: 10, SHA256: "cd"}, "voice",
			obj{"id": "ogg-00112233", "mime_type": "audio/ogg", "file_size": 10, "sha256": "cd", "link": "http://wagate.test/media/ogg-00112233", "seconds": 7}, obj{}},
		{"received video not downloaded", engine.Content{Kind: engine.KindVideo,
			Media: &engine.Media{MimeType: "video/mp4", Size: 99, FileName: "clip.mp4", Seconds: 12}}, nil, "video",
			obj{"mime_type": "video/mp4", "file_size": 99, "file_name": "clip.mp4", "seconds": 12}, obj{}},
		{"document without anything", engine.Content{Kind: engine.KindDocument}, nil, "document", obj{}, obj{}},
		{"location", engine.Content{Kind: engine.KindLocation, Location: &engine.Location{Latitude: 1.5, Longitude: -2.25, Name: "Here"}}, nil, "location",
			obj{"latitude": 1.5, "longitude": -2.25, "name": "Here"}, obj{}},
		{"full location", engine.Content{Kind: engine.KindLocation, Location: &engine.Location{Latitude: 0, Longitude: 0, Name: "N", Address: "A", URL: "U"}}, nil, "location",
			obj{"latitude": 0, "longitude": 0, "name": "N", "address": "A", "url": "U"}, obj{}},
		{"contact", engine.Content{Kind: engine.KindContact, Contact: &engine.ContactCard{Name: "Alice", VCard: "BEGIN:VCARD\nEND:VCARD"}}, nil, "contact",
			obj{"name": "Alice", "vcard": "BEGIN:VCARD\nEND:VCARD"}, obj{}},
		{"link preview", engine.Content{Kind: engine.KindLinkPreview, Text: "see https://x.example",
			LinkPreview: &engine.LinkPreview{URL: "https://x.example", Title: "X", Description: "about x"}}, nil, "link_preview",
			obj{"body": "see https://x.example", "url": "https://x.example", "title": "X", "description": "about x"}, obj{}},
		{"link preview, no description", engine.Content{Kind: engine.KindLinkPreview, Text: "t",
			LinkPreview: &engine.LinkPreview{URL: "https://x.example", Title: "X"}}, nil, "link_preview",
			obj{"body": "t", "url": "https://x.example", "title": "X"}, obj{}},
		{"poll", engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "Q", Options: []string{"a", "b"}, Selectable: 1}}, nil, "poll",
			obj{"title": "Q", "options": []string{"a", "b"}, "total": 0, "results": []obj{
				{"id": "0", "name": "a", "count": 0, "voters": []string{}},
				{"id": "1", "name": "b", "count": 0, "voters": []string{}},
			}}, obj{}},
		{"system", engine.Content{Kind: engine.KindSystem, Text: "created the group"}, nil, "system", obj{"body": "created the group"}, obj{}},
		{"reply with mentions", engine.Content{Kind: engine.KindText, Text: "@1 hi", QuotedID: "Q1", QuotedSender: "15550000001@s.whatsapp.net",
			Mentions: []string{"15550000001@s.whatsapp.net"}}, nil, "text", obj{"body": "@1 hi"},
			obj{"quoted_id": "Q1", "quoted_author": "15550000001", "mentions": []string{"15550000001"}}}, // users by number, as Whapi
		{"reply to a non-user JID", engine.Content{Kind: engine.KindText, Text: "x", QuotedID: "Q3", QuotedSender: "123@lid",
			Mentions: []string{"15550000002@s.whatsapp.net", "456@lid"}}, nil, "text", obj{"body": "x"},
			obj{"quoted_id": "Q3", "quoted_author": "123@lid", "mentions": []string{"15550000002", "456@lid"}}},
		{"reply to self", engine.Content{Kind: engine.KindImage, QuotedID: "Q2"}, nil, "image", obj{}, obj{"quoted_id": "Q2"}},
	} {
		m := s.newMessage(ch, "ID1", itChat, true, "4912345678@s.whatsapp.net", "Me", "api", model.MessagePending, c.c, c.media, at)
		if m.ChannelID != ch.ID || m.ID != "ID1" || m.ChatID != itChat || !m.FromMe || m.Sender != "4912345678@s.whatsapp.net" ||
			m.FromName != "Me" || m.Source != "api" || m.Status != model.MessagePending || m.Type != c.typ || m.Body != c.c.Text {
			t.Errorf("%s: message %+v", c.name, m)
		}
		if !m.Time.Equal(at) || m.Time.Location() != time.UTC {
			t.Errorf("%s: time %v, want %v in UTC", c.name, m.Time, at)
		}
		itJSON(t, c.name+" content", m.Content, c.content)
		itJSON(t, c.name+" context", m.Context, c.context)
	}
	// No time: now.
	m := s.newMessage(ch, "ID2", itChat, false, itChat, "Alice", "mobile", model.MessageDelivered, engine.Content{Text: "x"}, nil, time.Time{})
	if !m.Time.Equal(now) || m.FromMe {
		t.Errorf("message with no time: %+v", m)
	}
}

func TestQuotedContent(t *testing.T) {
	img := model.Message{Type: "image", Body: "look", Content: json.RawMessage(`{"id":"m1","mime_type":"image/jpeg","file_name":"a.jpg","caption":"look"}`)}
	if c := quotedContent(img); c.Kind != "image" || c.Text != "look" || c.Media == nil || c.Media.MimeType != "image/jpeg" || c.Media.Data != nil {
		t.Errorf("image: %+v", c)
	}
	loc := model.Message{Type: "location", Content: json.RawMessage(`{"latitude":1.5,"longitude":-2,"name":"Here"}`)}
	if c := quotedContent(loc); c.Location == nil || c.Location.Latitude != 1.5 || c.Location.Name != "Here" {
		t.Errorf("location: %+v", c)
	}
	poll := model.Message{Type: "poll", Content: json.RawMessage(`{"title":"Lunch?","options":["a","b"],"total":0}`)}
	if c := quotedContent(poll); c.Poll == nil || c.Poll.Title != "Lunch?" || len(c.Poll.Options) != 2 {
		t.Errorf("poll: %+v", c)
	}
	if c := quotedContent(model.Message{Type: "text", Body: "hi", Content: json.RawMessage(`{"body":"hi"}`)}); c.Text != "hi" {
		t.Errorf("text: %+v", c)
	}
}
