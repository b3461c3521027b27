package whatsmeow

import (
	"context"
	"fmt"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/wagate/wagate/internal/engine"
)

// fetcher makes the Media.Fetch function of a received file. It must not
// download anything itself: it runs inside whatsmeow's event handler.
type fetcher func(msg wm.DownloadableMessage) func(context.Context) ([]byte, error)

// decodeContent reads a received message's content. ok is false for
// messages that are not reported: protocol internals (key shares, history
// sync notifications ...), encrypted poll votes and reactions, edits
// without their protocol message. Message kinds wagate does not model come
// as KindSystem with a short description in Text.
func decodeContent(e *events.Message, fetch fetcher) (engine.Content, bool) {
	m := e.Message
	if m == nil {
		return engine.Content{}, false
	}
	if pm := m.GetProtocolMessage(); pm != nil {
		return decodeProtocol(pm)
	}
	if e.IsEdit {
		return engine.Content{}, false
	}
	var (
		c  engine.Content
		ci *waE2E.ContextInfo
	)
	switch {
	case m.Conversation != nil:
		c = engine.Content{Kind: engine.KindText, Text: m.GetConversation()}
	case m.ExtendedTextMessage != nil:
		x := m.ExtendedTextMessage
		ci = x.GetContextInfo()
		c = engine.Content{Kind: engine.KindText, Text: x.GetText()}
		if x.GetMatchedText() != "" || x.GetTitle() != "" {
			c.Kind = engine.KindLinkPreview
			c.LinkPreview = &engine.LinkPreview{
				URL:         x.GetMatchedText(),
				Title:       x.GetTitle(),
				Description: x.GetDescription(),
				Thumbnail:   x.GetJPEGThumbnail(),
			}
		}
	case m.ImageMessage != nil:
		x := m.ImageMessage
		ci = x.GetContextInfo()
		c = engine.Content{Kind: engine.KindImage, Text: x.GetCaption(), ViewOnce: x.GetViewOnce()}
		c.Media = received(x, fetch, x.GetMimetype(), "", x.GetFileLength(), x.GetFileSHA256(), 0, x.GetWidth(), x.GetHeight())
	case m.VideoMessage != nil, m.PtvMessage != nil:
		x := m.VideoMessage
		if x == nil {
			x = m.PtvMessage // a round video note
		}
		ci = x.GetContextInfo()
		c = engine.Content{Kind: engine.KindVideo, Text: x.GetCaption(), ViewOnce: x.GetViewOnce()}
		if x.GetGifPlayback() {
			c.Kind = engine.KindGIF
		}
		if m.PtvMessage != nil {
			c.Kind = engine.KindShort
		}
		c.Media = received(x, fetch, x.GetMimetype(), "", x.GetFileLength(), x.GetFileSHA256(), x.GetSeconds(), x.GetWidth(), x.GetHeight())
	case m.AudioMessage != nil:
		x := m.AudioMessage
		ci = x.GetContextInfo()
		c = engine.Content{Kind: engine.KindAudio, ViewOnce: x.GetViewOnce()}
		if x.GetPTT() {
			c.Kind = engine.KindVoice
		}
		c.Media = received(x, fetch, x.GetMimetype(), "", x.GetFileLength(), x.GetFileSHA256(), x.GetSeconds(), 0, 0)
	case m.DocumentMessage != nil:
		x := m.DocumentMessage
		ci = x.GetContextInfo()
		name := x.GetFileName()
		if name == "" {
			name = x.GetTitle()
		}
		c = engine.Content{Kind: engine.KindDocument, Text: x.GetCaption()}
		c.Media = received(x, fetch, x.GetMimetype(), name, x.GetFileLength(), x.GetFileSHA256(), 0, 0, 0)
	case m.StickerMessage != nil:
		x := m.StickerMessage
		ci = x.GetContextInfo()
		c = engine.Content{Kind: engine.KindSticker}
		c.Media = received(x, fetch, x.GetMimetype(), "", x.GetFileLength(), x.GetFileSHA256(), 0, x.GetWidth(), x.GetHeight())
	case m.LocationMessage != nil:
		x := m.LocationMessage
		ci = x.GetContextInfo()
		c = engine.Content{Kind: engine.KindLocation, Location: &engine.Location{
			Latitude: x.GetDegreesLatitude(), Longitude: x.GetDegreesLongitude(),
			Name: x.GetName(), Address: x.GetAddress(), URL: x.GetURL(),
		}}
	case m.LiveLocationMessage != nil:
		x := m.LiveLocationMessage
		ci = x.GetContextInfo()
		c = engine.Content{Kind: engine.KindLiveLocation, Text: x.GetCaption(), LiveLocation: &engine.LiveLocation{
			Latitude: x.GetDegreesLatitude(), Longitude: x.GetDegreesLongitude(), Accuracy: int(x.GetAccuracyInMeters()),
			Speed: float64(x.GetSpeedInMps()), Degrees: int(x.GetDegreesClockwiseFromMagneticNorth()), Caption: x.GetCaption(),
			Sequence: x.GetSequenceNumber(), TimeOffset: int(x.GetTimeOffset()),
		}}
	case m.ContactMessage != nil:
		x := m.ContactMessage
		ci = x.GetContextInfo()
		c = engine.Content{Kind: engine.KindContact, Contact: &engine.ContactCard{Name: x.GetDisplayName(), VCard: x.GetVcard()}}
	case m.ContactsArrayMessage != nil:
		x := m.ContactsArrayMessage
		ci = x.GetContextInfo()
		c = engine.Content{Kind: engine.KindContactList, Contacts: []engine.ContactCard{}}
		for _, ct := range x.GetContacts() {
			c.Contacts = append(c.Contacts, engine.ContactCard{Name: ct.GetDisplayName(), VCard: ct.GetVcard()})
		}
	case m.ButtonsResponseMessage != nil, m.ListResponseMessage != nil, m.InteractiveResponseMessage != nil:
		var r *engine.Reply
		r, ci = replyOf(m) // business.go
		c = engine.Content{Kind: engine.KindReply, Reply: r}
	case m.OrderMessage != nil:
		x := m.OrderMessage
		ci = x.GetContextInfo()
		c = engine.Content{Kind: engine.KindOrder, Order: orderOf(x)} // business.go
	case pollOf(m) != nil:
		x := pollOf(m)
		ci = x.GetContextInfo()
		p := &engine.Poll{Title: x.GetName(), Selectable: int(x.GetSelectableOptionsCount())}
		for _, o := range x.GetOptions() {
			p.Options = append(p.Options, o.GetOptionName())
		}
		c = engine.Content{Kind: engine.KindPoll, Text: x.GetName(), Poll: p}
	case m.ReactionMessage != nil:
		x := m.ReactionMessage
		return engine.Content{Kind: engine.KindReaction, Reaction: &engine.Reaction{
			TargetID: x.GetKey().GetID(), Emoji: x.GetText(),
		}}, true
	default:
		name, ok := unmodelled(m)
		if !ok {
			return engine.Content{}, false
		}
		return engine.Content{Kind: engine.KindSystem, Text: "unsupported message: " + name}, true
	}
	if e.IsViewOnce && engine.IsMedia(c.Kind) {
		c.ViewOnce = true
	}
	if ci != nil {
		c.QuotedID = ci.GetStanzaID()
		if c.QuotedID != "" {
			c.QuotedSender = jidText(ci.GetParticipant())
		}
		for _, j := range ci.GetMentionedJID() {
			if s := jidText(j); s != "" {
				c.Mentions = append(c.Mentions, s)
			}
		}
	}
	return c, true
}

// decodeProtocol reads the protocol messages people see: deletes, edits
// and disappearing-message settings. Others are internal.
func decodeProtocol(pm *waE2E.ProtocolMessage) (engine.Content, bool) {
	switch pm.GetType() {
	case waE2E.ProtocolMessage_REVOKE:
		if id := pm.GetKey().GetID(); id != "" {
			return engine.Content{Kind: engine.KindRevoke, RevokedID: id}, true
		}
	case waE2E.ProtocolMessage_MESSAGE_EDIT:
		id := pm.GetKey().GetID()
		if id == "" || pm.GetEditedMessage() == nil {
			break
		}
		return engine.Content{Kind: engine.KindEdit, EditedID: id, Text: textOf(pm.GetEditedMessage())}, true
	case waE2E.ProtocolMessage_EPHEMERAL_SETTING:
		text := "disappearing messages turned off"
		if secs := pm.GetEphemeralExpiration(); secs > 0 {
			text = "disappearing messages set to " + ephemeralText(secs)
		}
		return engine.Content{Kind: engine.KindSystem, Text: text}, true
	}
	return engine.Content{}, false
}

func ephemeralText(secs uint32) string {
	const day = 24 * 60 * 60
	if secs%day == 0 {
		return fmt.Sprintf("%d days", secs/day)
	}
	if secs%3600 == 0 {
		return fmt.Sprintf("%d hours", secs/3600)
	}
	return fmt.Sprintf("%d seconds", secs)
}

// textOf is the text or caption of a message, "" for none.
func textOf(m *waE2E.Message) string {
	switch {
	case m.Conversation != nil:
		return m.GetConversation()
	case m.ExtendedTextMessage != nil:
		return m.GetExtendedTextMessage().GetText()
	case m.ImageMessage != nil:
		return m.GetImageMessage().GetCaption()
	case m.VideoMessage != nil:
		return m.GetVideoMessage().GetCaption()
	case m.DocumentMessage != nil:
		return m.GetDocumentMessage().GetCaption()
	case m.DocumentWithCaptionMessage != nil:
		return textOf(m.GetDocumentWithCaptionMessage().GetMessage())
	}
	return ""
}

// pollOf is a message's poll creation, whichever version carries it.
func pollOf(m *waE2E.Message) *waE2E.PollCreationMessage {
	for _, p := range []*waE2E.PollCreationMessage{
		m.PollCreationMessage, m.PollCreationMessageV2, m.PollCreationMessageV3, m.PollCreationMessageV5,
	} {
		if p != nil {
			return p
		}
	}
	if inner := m.GetPollCreationMessageV4().GetMessage(); inner != nil && inner.PollCreationMessageV4 == nil {
		return pollOf(inner)
	}
	return nil
}

// received describes a received file; Fetch downloads it later.
func received(msg wm.DownloadableMessage, fetch fetcher, mime, name string, size uint64, sha []byte, secs, width, height uint32) *engine.Media {
	md := &engine.Media{
		MimeType: mime,
		FileName: name,
		Size:     int64(size),
		SHA256:   sha,
		Seconds:  int(secs),
		Width:    int(width),
		Height:   int(height),
	}
	if fetch != nil {
		md.Fetch = fetch(msg)
	}
	md.Ref = encodeRef(msg)
	return md
}

// internalFields are message fields that carry nothing to report on their
// own: encryption plumbing, wrappers already unwrapped, encrypted votes,
// reactions and comments wagate cannot decrypt yet, history bundles.
var internalFields = map[protoreflect.Name]bool{
	"senderKeyDistributionMessage":               true,
	"fastRatchetKeySenderKeyDistributionMessage": true,
	"messageContextInfo":                         true,
	"deviceSentMessage":                          true,
	"ephemeralMessage":                           true,
	"viewOnceMessage":                            true,
	"viewOnceMessageV2":                          true,
	"viewOnceMessageV2Extension":                 true,
	"documentWithCaptionMessage":                 true,
	"editedMessage":                              true,
	"botInvokeMessage":                           true,
	"pollUpdateMessage":                          true,
	"encReactionMessage":                         true,
	"encCommentMessage":                          true,
	"encEventResponseMessage":                    true,
	"secretEncryptedMessage":                     true,
	"keepInChatMessage":                          true,
	"messageHistoryBundle":                       true,
	"messageHistoryNotice":                       true,
	"placeholderMessage":                         true,
	"stickerSyncRmrMessage":                      true,
	"associatedChildMessage":                     true,
}

// unmodelled names the first field of a message that is neither modelled
// nor internal; ok is false when there is none.
func unmodelled(m *waE2E.Message) (name string, ok bool) {
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if internalFields[fd.Name()] {
			return true
		}
		name, ok = string(fd.Name()), true
		return false
	})
	return name, ok
}

// jidText is a JID string without its device part ("" for none; an
// unparsable one as it is).
func jidText(s string) string {
	if s == "" {
		return ""
	}
	j, err := types.ParseJID(s)
	if err != nil {
		return s
	}
	return jidString(j)
}
