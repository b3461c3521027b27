package whatsmeow

import (
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

// WhatsApp draws the quote of a reply from the quoted message's content
// inside the reply (ContextInfo.QuotedMessage), not from its ID alone. The
// caller gives that content (engine.Content.Quoted, from the stored
// message), and the reply carries a small form of it: texts and captions,
// no files or thumbnails. (Sessions keep no copies of recent messages for
// this: a stored message of any age can be quoted, and an idle session
// holds no cache.)

// quoteTextMax bounds the text a quote carries, in bytes.
const quoteTextMax = 1024

// quote is the quoted message: its author and the copy a reply carries.
type quote struct {
	sender types.JID
	msg    *waE2E.Message
}

// quoteOf is the quote of content c by sender, nil when c is nil or not
// quotable (system notices, reactions...).
func quoteOf(c *engine.Content, sender types.JID) *quote {
	if c == nil {
		return nil
	}
	if stub := quoteStub(c); stub != nil {
		return &quote{sender: sender.ToNonAD(), msg: stub}
	}
	return nil
}

// quoteStub is the part of a message a quote shows.
func quoteStub(c *engine.Content) *waE2E.Message {
	txt := func(s string) *string {
		if s == "" {
			return nil
		}
		return proto.String(truncate(s, quoteTextMax))
	}
	var mime, name *string
	var secs *uint32
	if m := c.Media; m != nil {
		mime, name, secs = optString(m.MimeType), optString(m.FileName), optUint32(m.Seconds)
	}
	switch c.Kind {
	case engine.KindText, "", engine.KindLinkPreview:
		if c.Text == "" {
			return nil
		}
		return &waE2E.Message{Conversation: txt(c.Text)}
	case engine.KindImage:
		return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: txt(c.Text), Mimetype: mime}}
	case engine.KindVideo, engine.KindGIF:
		return &waE2E.Message{VideoMessage: &waE2E.VideoMessage{Caption: txt(c.Text), Mimetype: mime, Seconds: secs,
			GifPlayback: optBool(c.Kind == engine.KindGIF)}}
	case engine.KindAudio, engine.KindVoice:
		return &waE2E.Message{AudioMessage: &waE2E.AudioMessage{Mimetype: mime, Seconds: secs, PTT: optBool(c.Kind == engine.KindVoice)}}
	case engine.KindDocument:
		return &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{Caption: txt(c.Text), Mimetype: mime, FileName: name, Title: name}}
	case engine.KindSticker:
		return &waE2E.Message{StickerMessage: &waE2E.StickerMessage{Mimetype: mime}}
	case engine.KindLocation:
		if l := c.Location; l != nil {
			return &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
				DegreesLatitude: proto.Float64(l.Latitude), DegreesLongitude: proto.Float64(l.Longitude),
				Name: txt(l.Name), Address: txt(l.Address),
			}}
		}
	case engine.KindContact:
		if k := c.Contact; k != nil {
			return &waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: txt(k.Name)}}
		}
	case engine.KindPoll:
		if p := c.Poll; p != nil {
			out := &waE2E.PollCreationMessage{Name: txt(p.Title), SelectableOptionsCount: optUint32(p.Selectable)}
			for _, o := range p.Options {
				out.Options = append(out.Options, &waE2E.PollCreationMessage_Option{OptionName: txt(o)})
			}
			return &waE2E.Message{PollCreationMessage: out}
		}
	}
	return nil
}
