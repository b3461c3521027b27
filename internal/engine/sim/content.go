package sim

import (
	"crypto/sha256"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine"
)

// Limits of content parts that WhatsApp does not publish; generous.
const (
	maxShortText  = 1024 // characters of a location's name or address, a contact's name, a link title
	maxPollTitle  = 255  // characters of a poll question
	maxPollOption = 100  // characters of a poll option
	maxID         = 128  // bytes of a quoted message ID
	maxEmoji      = 10   // characters of a reaction (emoji sequences take several)
)

// defaultMime is the MIME type of a media kind when the sender gives none.
var defaultMime = map[string]string{
	engine.KindImage:    "image/jpeg",
	engine.KindVideo:    "video/mp4",
	engine.KindGIF:      "video/mp4",
	engine.KindAudio:    "audio/mpeg",
	engine.KindVoice:    "audio/ogg; codecs=opus",
	engine.KindDocument: "application/octet-stream",
	engine.KindSticker:  "image/webp",
}

// checkContent validates a content to send and returns it normalized: Kind
// set, media copied (the network owns its bytes) with Size and SHA256
// computed and a MIME type, slices copied. Media must have its bytes in
// Data (the session fetches them first). With EditedID, only Text (the new
// text) and Mentions count.
func checkContent(c engine.Content) (engine.Content, error) {
	if c.Kind == "" {
		c.Kind = engine.KindText
	}
	if c.Reaction != nil || c.RevokedID != "" {
		return c, fmt.Errorf("%w: Reaction and RevokedID are only received; use React and Revoke", ErrInvalidContent)
	}
	if err := checkRefs(c); err != nil {
		return c, err
	}
	out := engine.Content{Kind: c.Kind, Text: c.Text, QuotedID: c.QuotedID, QuotedSender: c.QuotedSender,
		Mentions: slices.Clone(c.Mentions), ViewOnce: c.ViewOnce, EditedID: c.EditedID}
	if c.EditedID != "" {
		if c.Kind != engine.KindText || c.Media != nil || c.Location != nil || c.Contact != nil || c.LinkPreview != nil || c.Poll != nil {
			return c, fmt.Errorf("%w: an edit (EditedID) carries the new text only", ErrInvalidContent)
		}
		if len(c.EditedID) > maxID {
			return c, fmt.Errorf("%w: EditedID is longer than %d bytes", ErrInvalidContent, maxID)
		}
		if err := checkText(c.Text); err != nil {
			return c, err
		}
		out.QuotedID, out.QuotedSender, out.ViewOnce = "", "", false
		return out, nil
	}
	// Each payload belongs to its kinds.
	kindOf := func(ok bool, field string) error {
		if !ok {
			return fmt.Errorf("%w: a %s message has no %s", ErrInvalidContent, c.Kind, field)
		}
		return nil
	}
	for _, e := range []error{
		kindOf(c.Media == nil || engine.IsMedia(c.Kind), "Media"),
		kindOf(c.Location == nil || c.Kind == engine.KindLocation, "Location"),
		kindOf(c.Contact == nil || c.Kind == engine.KindContact, "Contact"),
		kindOf(c.LinkPreview == nil || c.Kind == engine.KindLinkPreview, "LinkPreview"),
		kindOf(c.Poll == nil || c.Kind == engine.KindPoll, "Poll"),
		kindOf(c.LiveLocation == nil || c.Kind == engine.KindLiveLocation, "LiveLocation"),
		kindOf(c.Contacts == nil || c.Kind == engine.KindContactList, "Contacts"),
		kindOf(c.Interactive == nil || c.Kind == engine.KindInteractive, "Interactive"),
		kindOf(c.Carousel == nil || c.Kind == engine.KindCarousel, "Carousel"),
		kindOf(c.Product == nil || c.Kind == engine.KindProduct, "Product"),
		kindOf(c.Catalog == nil || c.Kind == engine.KindCatalog, "Catalog"),
		kindOf(c.Order == nil || c.Kind == engine.KindOrder, "Order"),
		kindOf(c.Reply == nil || c.Kind == engine.KindReply, "Reply"),
	} {
		if e != nil {
			return c, e
		}
	}
	switch c.Kind {
	case engine.KindText:
		return out, checkText(c.Text)
	case engine.KindLiveLocation, engine.KindContactList:
		return checkExtraContent(c, out)
	case engine.KindInteractive, engine.KindCarousel, engine.KindProduct, engine.KindCatalog, engine.KindOrder, engine.KindReply:
		return checkBusinessContent(c, out) // business_content.go
	case engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindAudio, engine.KindVoice, engine.KindDocument, engine.KindSticker, engine.KindShort:
		m, err := checkMedia(c.Kind, c.Media)
		if err != nil {
			return c, err
		}
		out.Media = m
		switch c.Kind {
		case engine.KindAudio, engine.KindVoice, engine.KindSticker:
			if c.Text != "" {
				return c, fmt.Errorf("%w: a %s message has no caption", ErrInvalidContent, c.Kind)
			}
		default:
			if err := checkCaption(c.Text); err != nil {
				return c, err
			}
		}
		return out, nil
	case engine.KindLocation:
		l := c.Location
		switch {
		case l == nil:
			return c, fmt.Errorf("%w: a location message needs Location", ErrInvalidContent)
		case math.IsNaN(l.Latitude) || l.Latitude < -90 || l.Latitude > 90:
			return c, fmt.Errorf("%w: latitude %v is not within -90 and 90", ErrInvalidContent, l.Latitude)
		case math.IsNaN(l.Longitude) || l.Longitude < -180 || l.Longitude > 180:
			return c, fmt.Errorf("%w: longitude %v is not within -180 and 180", ErrInvalidContent, l.Longitude)
		case c.Text != "":
			return c, fmt.Errorf("%w: a location message has no text; use Location.Name and Address", ErrInvalidContent)
		}
		for _, f := range []struct{ name, v string }{{"location name", l.Name}, {"location address", l.Address}, {"location URL", l.URL}} {
			if err := checkShort(f.name, f.v, false); err != nil {
				return c, err
			}
		}
		if l.URL != "" {
			if err := checkURL("location URL", l.URL); err != nil {
				return c, err
			}
		}
		loc := *l
		out.Location = &loc
		return out, nil
	case engine.KindContact:
		k := c.Contact
		if k == nil {
			return c, fmt.Errorf("%w: a contact message needs Contact", ErrInvalidContent)
		}
		if c.Text != "" {
			return c, fmt.Errorf("%w: a contact message has no text", ErrInvalidContent)
		}
		if err := checkShort("contact name", k.Name, true); err != nil {
			return c, err
		}
		card := *k
		if strings.TrimSpace(card.VCard) == "" {
			card.VCard = "BEGIN:VCARD\nVERSION:3.0\nFN:" + card.Name + "\nEND:VCARD"
		}
		v := strings.ToUpper(strings.TrimSpace(card.VCard))
		switch {
		case len(card.VCard) > MaxVCardLen:
			return c, fmt.Errorf("%w: the vCard is larger than %d bytes", ErrTooLarge, MaxVCardLen)
		case !utf8.ValidString(card.VCard):
			return c, fmt.Errorf("%w: the vCard is not valid UTF-8", ErrInvalidContent)
		case !strings.HasPrefix(v, "BEGIN:VCARD") || !strings.HasSuffix(v, "END:VCARD"):
			return c, fmt.Errorf("%w: the vCard must start with BEGIN:VCARD and end with END:VCARD", ErrInvalidContent)
		}
		out.Contact = &card
		return out, nil
	case engine.KindLinkPreview:
		lp := c.LinkPreview
		if lp == nil {
			return c, fmt.Errorf("%w: a link_preview message needs LinkPreview", ErrInvalidContent)
		}
		if err := checkText(c.Text); err != nil {
			return c, err
		}
		if err := checkURL("link preview URL", lp.URL); err != nil {
			return c, err
		}
		if err := checkShort("link preview title", lp.Title, false); err != nil {
			return c, err
		}
		if utf8.RuneCountInString(lp.Description) > MaxTextLen || !utf8.ValidString(lp.Description) {
			return c, fmt.Errorf("%w: the link preview description must be valid UTF-8 of at most %d characters", ErrInvalidContent, MaxTextLen)
		}
		if len(lp.Thumbnail) > MaxPictureSize {
			return c, fmt.Errorf("%w: the link preview thumbnail is %d bytes, more than %d", ErrTooLarge, len(lp.Thumbnail), MaxPictureSize)
		}
		cp := *lp
		cp.Thumbnail = slices.Clone(lp.Thumbnail)
		out.LinkPreview = &cp
		return out, nil
	case engine.KindPoll:
		p := c.Poll
		if p == nil {
			return c, fmt.Errorf("%w: a poll message needs Poll", ErrInvalidContent)
		}
		if c.Text != "" {
			return c, fmt.Errorf("%w: a poll message has no text; the question is Poll.Title", ErrInvalidContent)
		}
		if strings.TrimSpace(p.Title) == "" || utf8.RuneCountInString(p.Title) > maxPollTitle || !utf8.ValidString(p.Title) {
			return c, fmt.Errorf("%w: the poll title must be 1 to %d characters, not blank", ErrInvalidContent, maxPollTitle)
		}
		if len(p.Options) < 2 || len(p.Options) > MaxPollOptions {
			return c, fmt.Errorf("%w: a poll has 2 to %d options, not %d", ErrInvalidContent, MaxPollOptions, len(p.Options))
		}
		seen := map[string]bool{}
		for i, o := range p.Options {
			if strings.TrimSpace(o) == "" || utf8.RuneCountInString(o) > maxPollOption || !utf8.ValidString(o) {
				return c, fmt.Errorf("%w: poll option %d must be 1 to %d characters, not blank", ErrInvalidContent, i+1, maxPollOption)
			}
			if seen[o] {
				return c, fmt.Errorf("%w: poll option %q is there twice", ErrInvalidContent, o)
			}
			seen[o] = true
		}
		if p.Selectable < 0 || p.Selectable > len(p.Options) {
			return c, fmt.Errorf("%w: Selectable is %d; want 0 (any) to %d", ErrInvalidContent, p.Selectable, len(p.Options))
		}
		cp := *p
		cp.Options = slices.Clone(p.Options)
		out.Poll = &cp
		return out, nil
	case engine.KindReaction, engine.KindRevoke, engine.KindEdit, engine.KindSystem:
		return c, fmt.Errorf("%w: %s messages are only received (use React, Revoke, or Send with EditedID)", ErrInvalidContent, c.Kind)
	}
	return c, fmt.Errorf("%w: unknown kind %q", ErrInvalidContent, c.Kind)
}

// checkRefs checks the quote and mentions of a content.
func checkRefs(c engine.Content) error {
	if len(c.QuotedID) > maxID {
		return fmt.Errorf("%w: QuotedID is longer than %d bytes", ErrInvalidContent, maxID)
	}
	if c.QuotedSender != "" {
		if _, err := parseRecipient(c.QuotedSender); err != nil {
			return fmt.Errorf("%w: QuotedSender: %v", ErrInvalidContent, err)
		}
	}
	if len(c.Mentions) > MaxGroupSize {
		return fmt.Errorf("%w: at most %d mentions", ErrInvalidContent, MaxGroupSize)
	}
	for _, m := range c.Mentions {
		if _, err := parseRecipient(m); err != nil {
			return fmt.Errorf("%w: mention: %v", ErrInvalidContent, err)
		}
	}
	return nil
}

// checkMedia validates a media file to send and returns the network's copy.
func checkMedia(kind string, m *engine.Media) (*engine.Media, error) {
	switch {
	case m == nil:
		return nil, fmt.Errorf("%w: a %s message needs Media", ErrInvalidContent, kind)
	case len(m.Data) == 0:
		return nil, fmt.Errorf("%w: the %s has no bytes (Media.Data)", ErrInvalidContent, kind)
	case len(m.Data) > MaxMediaSize:
		return nil, fmt.Errorf("%w: the %s is %d bytes, more than %d (100 MiB)", ErrTooLarge, kind, len(m.Data), MaxMediaSize)
	case m.Seconds < 0 || m.Width < 0 || m.Height < 0:
		return nil, fmt.Errorf("%w: negative Seconds, Width or Height", ErrInvalidContent)
	}
	mime := strings.TrimSpace(m.MimeType)
	if mime == "" {
		mime = defaultMime[kind]
	}
	major, sub, ok := strings.Cut(strings.ToLower(strings.TrimSpace(strings.SplitN(mime, ";", 2)[0])), "/")
	if !ok || major == "" || sub == "" || strings.ContainsFunc(mime, unicode.IsControl) || len(mime) > 255 {
		return nil, fmt.Errorf("%w: %q is not a MIME type", ErrInvalidContent, m.MimeType)
	}
	var fits bool
	switch kind {
	case engine.KindImage:
		fits = major == "image"
	case engine.KindVideo, engine.KindShort:
		fits = major == "video"
	case engine.KindGIF:
		fits = major == "video" || mime == "image/gif"
	case engine.KindAudio, engine.KindVoice:
		fits = major == "audio"
	case engine.KindSticker:
		fits = major == "image" // WhatsApp stickers are WebP; PNG ones are converted
	default:
		fits = true
	}
	if !fits {
		return nil, fmt.Errorf("%w: a %s cannot be %s", ErrInvalidContent, kind, mime)
	}
	if err := checkShort("file name", m.FileName, false); err != nil {
		return nil, err
	}
	if strings.ContainsAny(m.FileName, `/\`) {
		return nil, fmt.Errorf("%w: the file name %q has a path separator", ErrInvalidContent, m.FileName)
	}
	sum := sha256.Sum256(m.Data)
	return &engine.Media{Data: slices.Clone(m.Data), MimeType: mime, FileName: m.FileName, Size: int64(len(m.Data)),
		SHA256: sum[:], Seconds: m.Seconds, Width: m.Width, Height: m.Height,
		Waveform: slices.Clone(m.Waveform), Thumbnail: slices.Clone(m.Thumbnail)}, nil
}

// checkCaption accepts an empty caption or a text (checkText).
func checkCaption(s string) error {
	if s == "" {
		return nil
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: caption is not valid UTF-8", ErrInvalidText)
	}
	if utf8.RuneCountInString(s) > MaxTextLen {
		return fmt.Errorf("%w: caption is longer than %d characters", ErrInvalidText, MaxTextLen)
	}
	return nil
}

// checkShort checks a short text field: valid UTF-8, at most maxShortText
// characters, no control characters; required: not blank.
func checkShort(field, v string, required bool) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return fmt.Errorf("%w: %s is required", ErrInvalidContent, field)
	case !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxShortText:
		return fmt.Errorf("%w: %s must be valid UTF-8 of at most %d characters", ErrInvalidContent, field, maxShortText)
	case strings.ContainsFunc(v, unicode.IsControl):
		return fmt.Errorf("%w: %s must not contain control characters", ErrInvalidContent, field)
	}
	return nil
}

// checkURL accepts absolute http and https URLs.
func checkURL(field, v string) error {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(v) > 2048 {
		return fmt.Errorf("%w: %s %q is not an http(s) URL", ErrInvalidContent, field, v)
	}
	return nil
}

// checkEmoji accepts "" (no reaction) and short texts without letters,
// digits, spaces or control characters: emoji and their sequences.
func checkEmoji(e string) error {
	if e == "" {
		return nil
	}
	ascii := !strings.ContainsFunc(e, func(r rune) bool { return r >= 0x80 })
	if ascii || !utf8.ValidString(e) || utf8.RuneCountInString(e) > maxEmoji || strings.ContainsFunc(e, func(r rune) bool {
		return unicode.IsLetter(r) || unicode.IsSpace(r) || unicode.IsControl(r) || r < 0x80 && r != '#' && r != '*' && !unicode.IsDigit(r)
	}) {
		return fmt.Errorf("%w: a reaction is one emoji (or \"\" to remove it), not %q", ErrInvalidContent, e)
	}
	return nil
}
