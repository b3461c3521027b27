package whatsmeow

import (
	"sync"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// WhatsApp draws the quote of a reply from the quoted message's content
// inside the reply (ContextInfo.QuotedMessage), not from its ID alone.
// engine.Content only names the quoted message, so each session remembers
// the last quoteCacheSize messages it received or sent in a small form
// (text and captions, no files or thumbnails) to quote them.
const (
	quoteCacheSize = 256
	quoteTextMax   = 1024 // bytes of text kept per message
)

// quote is a remembered message.
type quote struct {
	sender types.JID
	msg    *waE2E.Message
}

// quoteCache is a fixed-size FIFO of quotes keyed by chat and message ID.
type quoteCache struct {
	mu   sync.Mutex
	m    map[quoteKey]quote
	ring [quoteCacheSize]quoteKey
	next int
}

type quoteKey struct{ chat, id string }

func (q *quoteCache) put(chat, id string, sender types.JID, full *waE2E.Message) {
	stub := quoteStub(full)
	if stub == nil || id == "" {
		return
	}
	k := quoteKey{chat, id}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.m == nil {
		q.m = make(map[quoteKey]quote, quoteCacheSize)
	}
	if _, ok := q.m[k]; !ok {
		if old := q.ring[q.next]; old.id != "" {
			delete(q.m, old)
		}
		q.ring[q.next] = k
		q.next = (q.next + 1) % quoteCacheSize
	}
	q.m[k] = quote{sender: sender.ToNonAD(), msg: stub}
}

func (q *quoteCache) get(chat, id string) *quote {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.m[quoteKey{chat, id}]
	if !ok {
		return nil
	}
	// A copy: the message it goes into may be changed while it is sent.
	e.msg = proto.Clone(e.msg).(*waE2E.Message)
	return &e
}

// quoteStub is the part of a message a quote shows; nil for messages that
// are not quotable (reactions, protocol messages ...).
func quoteStub(m *waE2E.Message) *waE2E.Message {
	if m == nil {
		return nil
	}
	txt := func(s string) *string {
		if s == "" {
			return nil
		}
		return proto.String(truncate(s, quoteTextMax))
	}
	switch {
	case m.Conversation != nil:
		return &waE2E.Message{Conversation: txt(m.GetConversation())}
	case m.ExtendedTextMessage != nil:
		return &waE2E.Message{Conversation: txt(m.GetExtendedTextMessage().GetText())}
	case m.ImageMessage != nil:
		x := m.ImageMessage
		return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: txt(x.GetCaption()), Mimetype: x.Mimetype}}
	case m.VideoMessage != nil:
		x := m.VideoMessage
		return &waE2E.Message{VideoMessage: &waE2E.VideoMessage{Caption: txt(x.GetCaption()), Mimetype: x.Mimetype, Seconds: x.Seconds, GifPlayback: x.GifPlayback}}
	case m.AudioMessage != nil:
		x := m.AudioMessage
		return &waE2E.Message{AudioMessage: &waE2E.AudioMessage{Mimetype: x.Mimetype, Seconds: x.Seconds, PTT: x.PTT}}
	case m.DocumentMessage != nil:
		x := m.DocumentMessage
		return &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{Caption: txt(x.GetCaption()), Mimetype: x.Mimetype, FileName: x.FileName, Title: x.Title}}
	case m.DocumentWithCaptionMessage != nil:
		return quoteStub(m.GetDocumentWithCaptionMessage().GetMessage())
	case m.StickerMessage != nil:
		return &waE2E.Message{StickerMessage: &waE2E.StickerMessage{Mimetype: m.StickerMessage.Mimetype}}
	case m.LocationMessage != nil:
		x := m.LocationMessage
		return &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
			DegreesLatitude: x.DegreesLatitude, DegreesLongitude: x.DegreesLongitude, Name: txt(x.GetName()), Address: txt(x.GetAddress()),
		}}
	case m.ContactMessage != nil:
		return &waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: txt(m.ContactMessage.GetDisplayName())}}
	case pollOf(m) != nil:
		x := pollOf(m)
		p := &waE2E.PollCreationMessage{Name: txt(x.GetName()), SelectableOptionsCount: x.SelectableOptionsCount}
		for _, o := range x.GetOptions() {
			p.Options = append(p.Options, &waE2E.PollCreationMessage_Option{OptionName: txt(o.GetOptionName())})
		}
		return &waE2E.Message{PollCreationMessage: p}
	}
	return nil
}
