package whatsmeow

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

// ErrInvalidContent is returned by Send for content that cannot be sent: a
// missing text, file, location, contact, link or poll, an incoming-only
// kind, coordinates out of range, a poll with too few or duplicate options.
var ErrInvalidContent = fmt.Errorf("whatsmeow: %w", engine.ErrInvalidContent)

// Poll limits WhatsApp applies.
const (
	pollMinOptions = 2
	pollMaxOptions = 12
)

// Default MIME types when the caller gives none.
var defaultMime = map[string]string{
	engine.KindImage:    "image/jpeg",
	engine.KindVideo:    "video/mp4",
	engine.KindGIF:      "video/mp4",
	engine.KindAudio:    "audio/mpeg",
	engine.KindVoice:    "audio/ogg; codecs=opus",
	engine.KindDocument: "application/octet-stream",
	engine.KindSticker:  "image/webp",
	engine.KindShort:    "video/mp4",
}

// mediaTypeOf is whatsmeow's upload (encryption key) type of a media kind.
func mediaTypeOf(kind string) wm.MediaType {
	switch kind {
	case engine.KindImage, engine.KindSticker:
		return wm.MediaImage
	case engine.KindVideo, engine.KindGIF, engine.KindShort:
		return wm.MediaVideo
	case engine.KindAudio, engine.KindVoice:
		return wm.MediaAudio
	case engine.KindDocument:
		return wm.MediaDocument
	}
	return ""
}

// outgoing is a checked Content to send.
type outgoing struct {
	engine.Content
	quotedSender types.JID
	mentions     []string
}

// checkContent validates a Content for Send and normalizes it (kind,
// JIDs of the quote and mentions). It does not touch the network.
func checkContent(c engine.Content) (outgoing, error) {
	if c.Kind == "" {
		c.Kind = engine.KindText
	}
	o := outgoing{Content: c}
	bad := func(format string, args ...any) (outgoing, error) {
		return outgoing{}, fmt.Errorf("%w: %s", ErrInvalidContent, fmt.Sprintf(format, args...))
	}
	switch c.Kind {
	case engine.KindText:
		if strings.TrimSpace(c.Text) == "" {
			return bad("empty text")
		}
	case engine.KindLiveLocation, engine.KindContactList:
		if err := checkExtra(c); err != nil {
			return outgoing{}, err
		}
	case engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindAudio, engine.KindVoice, engine.KindDocument, engine.KindSticker, engine.KindShort:
		if c.Media == nil || len(c.Media.Data) == 0 {
			return bad("%s without a file", c.Kind)
		}
		if c.Media.Seconds < 0 || c.Media.Width < 0 || c.Media.Height < 0 {
			return bad("negative media dimensions")
		}
	case engine.KindLocation:
		l := c.Location
		if l == nil {
			return bad("location without coordinates")
		}
		if math.IsNaN(l.Latitude) || math.IsNaN(l.Longitude) || l.Latitude < -90 || l.Latitude > 90 || l.Longitude < -180 || l.Longitude > 180 {
			return bad("coordinates out of range (%v, %v)", l.Latitude, l.Longitude)
		}
	case engine.KindContact:
		if c.Contact == nil || !strings.Contains(strings.ToUpper(c.Contact.VCard), "BEGIN:VCARD") {
			return bad("contact without a vCard")
		}
	case engine.KindLinkPreview:
		if c.LinkPreview == nil || strings.TrimSpace(c.LinkPreview.URL) == "" {
			return bad("link preview without a URL")
		}
	case engine.KindPoll:
		p := c.Poll
		if p == nil || strings.TrimSpace(p.Title) == "" {
			return bad("poll without a title")
		}
		if len(p.Options) < pollMinOptions || len(p.Options) > pollMaxOptions {
			return bad("a poll has %d to %d options, got %d", pollMinOptions, pollMaxOptions, len(p.Options))
		}
		seen := make(map[string]bool, len(p.Options))
		for _, opt := range p.Options {
			if strings.TrimSpace(opt) == "" || seen[opt] {
				return bad("poll options must be non-empty and distinct")
			}
			seen[opt] = true
		}
		if p.Selectable < 0 || p.Selectable > len(p.Options) {
			return bad("poll selectable count %d out of range", p.Selectable)
		}
	case engine.KindReaction, engine.KindRevoke, engine.KindEdit, engine.KindSystem:
		return bad("%s messages are received only (use React, Revoke or EditedID)", c.Kind)
	default:
		return outgoing{}, fmt.Errorf("%w: message kind %q", engine.ErrUnsupported, c.Kind)
	}
	if c.EditedID != "" && c.Kind != engine.KindText && c.Kind != engine.KindLinkPreview {
		return outgoing{}, fmt.Errorf("%w: only text can be edited, not %s", engine.ErrUnsupported, c.Kind)
	}
	if c.QuotedSender != "" {
		jid, err := parseUser(c.QuotedSender)
		if err != nil {
			return outgoing{}, err
		}
		o.quotedSender = jid
	}
	for _, m := range c.Mentions {
		jid, err := parseUser(m)
		if err != nil {
			return outgoing{}, err
		}
		if jid.IsEmpty() {
			continue
		}
		o.mentions = append(o.mentions, jid.String())
	}
	return o, nil
}

// contextInfo is the reply and mention part of a message, nil when there
// is neither. quoted is the quoted message's content when known (WhatsApp
// renders the quote from it).
func (o *outgoing) contextInfo(quoted *quote) *waE2E.ContextInfo {
	if o.QuotedID == "" && len(o.mentions) == 0 {
		return nil
	}
	ci := &waE2E.ContextInfo{MentionedJID: o.mentions}
	if o.QuotedID != "" {
		ci.StanzaID = proto.String(o.QuotedID)
		sender := o.quotedSender
		if quoted != nil {
			if sender.IsEmpty() {
				sender = quoted.sender
			}
			ci.QuotedMessage = quoted.msg
		}
		if !sender.IsEmpty() {
			ci.Participant = proto.String(sender.ToNonAD().String())
		}
	}
	return ci
}

// buildMessage turns checked content into the message to send. up is the
// upload of a media kind's file (nil for other kinds); cli builds polls and
// edits (it needs no connection for that).
func buildMessage(cli *wm.Client, chat types.JID, o outgoing, up *wm.UploadResponse, quoted *quote) (*waE2E.Message, error) {
	ci := o.contextInfo(quoted)
	var msg *waE2E.Message
	switch o.Kind {
	case engine.KindText:
		if ci == nil {
			msg = &waE2E.Message{Conversation: proto.String(o.Text)}
		} else {
			msg = &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String(o.Text), ContextInfo: ci}}
		}
	case engine.KindLinkPreview:
		lp := o.LinkPreview
		url := strings.TrimSpace(lp.URL)
		text := o.Text
		if !strings.Contains(text, url) {
			// The preview belongs to a link in the text; make sure it is there.
			text = strings.TrimSpace(text + "\n" + url)
		}
		msg = &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
			Text:          proto.String(text),
			MatchedText:   proto.String(url),
			Title:         optString(lp.Title),
			Description:   optString(lp.Description),
			JPEGThumbnail: lp.Thumbnail,
			PreviewType:   waE2E.ExtendedTextMessage_NONE.Enum(),
			ContextInfo:   ci,
		}}
	case engine.KindLiveLocation, engine.KindContactList:
		msg = extraMessage(o, ci)
	case engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindAudio, engine.KindVoice, engine.KindDocument, engine.KindSticker, engine.KindShort:
		if up == nil {
			return nil, fmt.Errorf("%w: %s not uploaded", ErrInvalidContent, o.Kind)
		}
		msg = mediaMessage(o, up, ci)
	case engine.KindLocation:
		l := o.Location
		msg = &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
			DegreesLatitude:  proto.Float64(l.Latitude),
			DegreesLongitude: proto.Float64(l.Longitude),
			Name:             optString(l.Name),
			Address:          optString(l.Address),
			URL:              optString(l.URL),
			ContextInfo:      ci,
		}}
	case engine.KindContact:
		name := o.Contact.Name
		if name == "" {
			name = vcardName(o.Contact.VCard)
		}
		msg = &waE2E.Message{ContactMessage: &waE2E.ContactMessage{
			DisplayName: proto.String(name),
			Vcard:       proto.String(o.Contact.VCard),
			ContextInfo: ci,
		}}
	case engine.KindPoll:
		p := o.Poll
		msg = cli.BuildPollCreation(p.Title, p.Options, p.Selectable)
		msg.PollCreationMessage.ContextInfo = ci
	default:
		return nil, fmt.Errorf("%w: message kind %q", engine.ErrUnsupported, o.Kind)
	}
	if o.EditedID != "" {
		msg = cli.BuildEdit(chat, o.EditedID, msg)
	}
	return msg, nil
}

// mediaMessage is the message of an uploaded file. The caption is the text
// for images, videos, GIFs and documents; audio, voice notes and stickers
// have none (a text given with them is not sent).
func mediaMessage(o outgoing, up *wm.UploadResponse, ci *waE2E.ContextInfo) *waE2E.Message {
	m := o.Media
	mime := m.MimeType
	if mime == "" {
		mime = defaultMime[o.Kind]
	}
	caption := optString(o.Text)
	viewOnce := optBool(o.ViewOnce)
	ts := proto.Int64(time.Now().Unix())
	switch o.Kind {
	case engine.KindImage:
		return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			MediaKeyTimestamp: ts, Mimetype: proto.String(mime), Caption: caption,
			Width: optUint32(m.Width), Height: optUint32(m.Height), ViewOnce: viewOnce, ContextInfo: ci,
			JPEGThumbnail: m.Thumbnail,
		}}
	case engine.KindShort: // a round video note
		return &waE2E.Message{PtvMessage: &waE2E.VideoMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			MediaKeyTimestamp: ts, Mimetype: proto.String(mime), Caption: caption,
			Seconds: optUint32(m.Seconds), Width: optUint32(m.Width), Height: optUint32(m.Height), ContextInfo: ci,
		}}
	case engine.KindVideo, engine.KindGIF:
		return &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			MediaKeyTimestamp: ts, Mimetype: proto.String(mime), Caption: caption,
			Seconds: optUint32(m.Seconds), Width: optUint32(m.Width), Height: optUint32(m.Height),
			GifPlayback: optBool(o.Kind == engine.KindGIF), ViewOnce: viewOnce, ContextInfo: ci,
			JPEGThumbnail: m.Thumbnail,
		}}
	case engine.KindAudio, engine.KindVoice:
		return &waE2E.Message{AudioMessage: &waE2E.AudioMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			MediaKeyTimestamp: ts, Mimetype: proto.String(mime),
			Seconds: optUint32(m.Seconds), PTT: optBool(o.Kind == engine.KindVoice), ViewOnce: viewOnce, ContextInfo: ci,
			Waveform: m.Waveform,
		}}
	case engine.KindSticker:
		return &waE2E.Message{StickerMessage: &waE2E.StickerMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			MediaKeyTimestamp: ts, Mimetype: proto.String(mime),
			Width: optUint32(m.Width), Height: optUint32(m.Height), ContextInfo: ci,
		}}
	}
	// Document.
	name := m.FileName
	if name == "" {
		name = "file"
	}
	doc := &waE2E.DocumentMessage{
		URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		MediaKeyTimestamp: ts, Mimetype: proto.String(mime),
		FileName: proto.String(name), Title: proto.String(name), Caption: caption, ContextInfo: ci,
		JPEGThumbnail: m.Thumbnail,
	}
	if caption != nil {
		// As WhatsApp's own clients send captioned documents.
		return &waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{
			Message: &waE2E.Message{DocumentMessage: doc},
		}}
	}
	return &waE2E.Message{DocumentMessage: doc}
}

// vcardName is the FN (formatted name) of a vCard, "" when it has none.
func vcardName(vcard string) string {
	for _, line := range strings.Split(strings.ReplaceAll(vcard, "\r\n", "\n"), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if k, _, _ := strings.Cut(key, ";"); strings.EqualFold(strings.TrimSpace(k), "FN") {
			return strings.TrimSpace(val)
		}
	}
	return ""
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return proto.String(s)
}

func optBool(b bool) *bool {
	if !b {
		return nil
	}
	return proto.Bool(true)
}

func optUint32(n int) *uint32 {
	if n <= 0 {
		return nil
	}
	if int64(n) > math.MaxUint32 {
		return proto.Uint32(math.MaxUint32)
	}
	return proto.Uint32(uint32(n))
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
