package whatsmeow

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

// Stories are messages to status@broadcast. whatsmeow encrypts them for
// the audience of the account's status privacy setting (WhatsApp's
// "my contacts", "my contacts except..." or "only share with..."), which
// it reads from WhatsApp; it offers no way to choose the audience of one
// story.

var _ engine.Storyteller = (*Session)(nil)

// unsupported is an engine.ErrUnsupported that says what is not possible
// and why.
func unsupported(what string) error {
	return fmt.Errorf("%s is not possible on the whatsmeow engine: whatsmeow, the WhatsApp Web library wagate uses as a linked device, offers no call for it: %w", what, engine.ErrUnsupported)
}

// storyFonts are WhatsApp's story fonts by Whapi's names.
var storyFonts = map[string]waE2E.ExtendedTextMessage_FontType{
	"SYSTEM": waE2E.ExtendedTextMessage_SYSTEM, "SYSTEM_TEXT": waE2E.ExtendedTextMessage_SYSTEM_TEXT,
	"FB_SCRIPT": waE2E.ExtendedTextMessage_FB_SCRIPT, "SYSTEM_BOLD": waE2E.ExtendedTextMessage_SYSTEM_BOLD,
	"MORNINGBREEZE_REGULAR": waE2E.ExtendedTextMessage_MORNINGBREEZE_REGULAR,
	"CALISTOGA_REGULAR":     waE2E.ExtendedTextMessage_CALISTOGA_REGULAR,
	"EXO2_EXTRABOLD":        waE2E.ExtendedTextMessage_EXO2_EXTRABOLD, "COURIERPRIME_BOLD": waE2E.ExtendedTextMessage_COURIERPRIME_BOLD,
}

// argb parses "#RRGGBB" (opaque) or "#AARRGGBB".
func argb(s string) (*uint32, error) {
	if s == "" {
		return nil, nil
	}
	hex := strings.TrimPrefix(s, "#")
	if len(hex) == 6 {
		hex = "FF" + hex
	}
	v, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || len(hex) != 8 || !strings.HasPrefix(s, "#") {
		return nil, fmt.Errorf("%w: color %q is not #RRGGBB or #AARRGGBB", ErrInvalidContent, s)
	}
	c := uint32(v)
	return &c, nil
}

// storyMessage builds a text story.
func storyMessage(p engine.StoryPost) (*waE2E.Message, error) {
	bg, err := argb(p.Style.Background)
	if err != nil {
		return nil, err
	}
	fg, err := argb(p.Style.TextColor)
	if err != nil {
		return nil, err
	}
	t := &waE2E.ExtendedTextMessage{Text: proto.String(p.Content.Text), BackgroundArgb: bg, TextArgb: fg}
	if p.Style.Font != "" {
		f, ok := storyFonts[p.Style.Font]
		if !ok {
			return nil, fmt.Errorf("%w: unknown story font %q", ErrInvalidContent, p.Style.Font)
		}
		t.Font = f.Enum()
	}
	return &waE2E.Message{ExtendedTextMessage: t}, nil
}

// PostStory posts a story to the audience of the account's status privacy
// setting (a story for chosen contacts is engine.ErrUnsupported).
func (s *Session) PostStory(ctx context.Context, p engine.StoryPost) (engine.SentMessage, error) {
	if len(p.Audience) > 0 || len(p.Exclude) > 0 {
		return engine.SentMessage{}, unsupported("choosing who sees one story (contacts, exclude_contacts; " +
			"whatsmeow posts to the audience of the account's status privacy setting, set on the phone)")
	}
	switch p.Content.Kind {
	case engine.KindText, engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindAudio, engine.KindVoice:
	default:
		return engine.SentMessage{}, fmt.Errorf("%w: a story cannot be a %s", ErrInvalidContent, p.Content.Kind)
	}
	o, err := checkContent(p.Content)
	if err != nil {
		return engine.SentMessage{}, err
	}
	var msg *waE2E.Message
	if o.Kind == engine.KindText {
		if msg, err = storyMessage(p); err != nil {
			return engine.SentMessage{}, err
		}
	}
	cli, _, _, err := s.online()
	if err != nil {
		return engine.SentMessage{}, err
	}
	if msg == nil {
		up, err := upload(ctx, cli, o.Media.Data, mediaTypeOf(o.Kind))
		if err != nil {
			return engine.SentMessage{}, fmt.Errorf("whatsmeow: upload story %s: %w", o.Kind, mapSendErr(err))
		}
		if msg, err = buildMessage(cli, types.StatusBroadcastJID, o, &up, nil); err != nil {
			return engine.SentMessage{}, err
		}
	}
	resp, err := cli.SendMessage(ctx, types.StatusBroadcastJID, msg)
	if err != nil {
		return engine.SentMessage{}, fmt.Errorf("whatsmeow: post story: %w", mapSendErr(err))
	}
	payload, _ := proto.Marshal(msg)
	return engine.SentMessage{ID: resp.ID, Chat: engine.StatusBroadcast, Time: resp.Timestamp, Payload: payload}, nil
}
