package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wagate/wagate/internal/engine"
)

// Limits of the business kinds, like WhatsApp's.
const (
	maxButtons   = 10 // buttons of an interactive message or a card
	maxListRows  = 10 // rows of a list, all sections together
	maxCards     = 10 // cards of a carousel
	maxBizHeader = 60 // characters of a header or a footer
)

// checkBusinessContent checks an interactive message, a carousel, a
// product, a catalog link or an order, and copies it into out.
func checkBusinessContent(c, out engine.Content) (engine.Content, error) {
	bad := func(format string, args ...any) (engine.Content, error) {
		return c, fmt.Errorf("%w: %s", ErrInvalidContent, fmt.Sprintf(format, args...))
	}
	switch c.Kind {
	case engine.KindInteractive:
		in := c.Interactive
		if in == nil {
			return bad("an interactive message needs Interactive")
		}
		if err := checkText(c.Text); err != nil {
			return c, err
		}
		if err := checkShort("header", in.Header, false); err != nil {
			return c, err
		}
		if err := checkShort("footer", in.Footer, false); err != nil {
			return c, err
		}
		cp := *in
		switch in.Type {
		case engine.InteractiveButton:
			if err := checkButtons(in.Buttons); err != nil {
				return c, err
			}
		case engine.InteractiveList:
			if err := checkShort("list label", in.Label, true); err != nil {
				return c, err
			}
			rows := 0
			for _, sec := range in.Sections {
				rows += len(sec.Rows)
				for _, r := range sec.Rows {
					if r.ID == "" || strings.TrimSpace(r.Title) == "" {
						return bad("a list row needs an ID and a title")
					}
				}
			}
			if len(in.Sections) == 0 || rows == 0 || rows > maxListRows {
				return bad("a list has 1 to %d rows", maxListRows)
			}
			cp.Sections = make([]engine.ListSection, len(in.Sections))
			for i, sec := range in.Sections {
				cp.Sections[i] = engine.ListSection{Title: sec.Title, Rows: slices.Clone(sec.Rows)}
			}
		case engine.InteractiveProduct:
			if in.Product == nil || in.Product.ProductID == "" {
				return bad("a product message names its product")
			}
			p := *in.Product
			cp.Product = &p
		default:
			return bad("interactive type %q", in.Type)
		}
		cp.Buttons = slices.Clone(in.Buttons)
		if in.HeaderMedia != nil {
			m, err := checkMedia(headerKind(in.HeaderMedia.MimeType), in.HeaderMedia)
			if err != nil {
				return c, err
			}
			cp.HeaderMedia = m
		}
		out.Interactive = &cp
		return out, nil
	case engine.KindCarousel:
		cr := c.Carousel
		if cr == nil || len(cr.Cards) == 0 || len(cr.Cards) > maxCards {
			return bad("a carousel has 1 to %d cards", maxCards)
		}
		if err := checkCaption(c.Text); err != nil {
			return c, err
		}
		cp := engine.Carousel{Cards: make([]engine.CarouselCard, len(cr.Cards))}
		for i, card := range cr.Cards {
			if card.ID == "" {
				return bad("card %d has no ID", i+1)
			}
			if err := checkCaption(card.Text); err != nil {
				return c, err
			}
			if err := checkButtons(card.Buttons); err != nil {
				return c, err
			}
			m, err := checkMedia(headerKind(mediaMime(card.Media)), card.Media)
			if err != nil {
				return c, err
			}
			cp.Cards[i] = engine.CarouselCard{ID: card.ID, Text: card.Text, Media: m, Buttons: slices.Clone(card.Buttons)}
		}
		out.Carousel = &cp
		return out, nil
	case engine.KindProduct:
		if c.Product == nil || c.Product.ProductID == "" || c.Product.CatalogID == "" {
			return bad("a product message names its catalog and product")
		}
		p := *c.Product
		out.Product = &p
		return out, checkCaption(c.Text)
	case engine.KindCatalog:
		if c.Catalog == nil || c.Catalog.Owner == "" {
			return bad("a catalog message names the catalog's owner")
		}
		if err := checkText(c.Text); err != nil {
			return c, err
		}
		l := *c.Catalog
		out.Catalog = &l
		return out, nil
	case engine.KindOrder:
		if c.Order == nil || c.Order.ID == "" || c.Order.Token == "" {
			return bad("an order message names its order and token")
		}
		o := *c.Order
		o.Items = slices.Clone(c.Order.Items)
		out.Order = &o
		return out, checkCaption(c.Text)
	case engine.KindReply:
		if c.Reply == nil || c.Reply.ID == "" || strings.TrimSpace(c.Reply.Title) == "" {
			return bad("a reply names the button or row chosen, with its title")
		}
		if c.QuotedID == "" {
			return bad("a reply quotes the interactive message it answers")
		}
		r := *c.Reply
		out.Reply = &r
		return out, checkCaption(c.Text)
	}
	return c, fmt.Errorf("%w: kind %q", ErrInvalidContent, c.Kind)
}

// checkButtons checks the buttons of an interactive message or a card.
func checkButtons(list []engine.Button) error {
	if len(list) == 0 || len(list) > maxButtons {
		return fmt.Errorf("%w: 1 to %d buttons", ErrInvalidContent, maxButtons)
	}
	for i, b := range list {
		if b.ID == "" || strings.TrimSpace(b.Title) == "" {
			return fmt.Errorf("%w: button %d needs an ID and a title", ErrInvalidContent, i+1)
		}
		var missing bool
		switch b.Type {
		case engine.ButtonQuickReply:
		case engine.ButtonCall:
			missing = b.PhoneNumber == ""
		case engine.ButtonCopy:
			missing = b.CopyCode == ""
		case engine.ButtonURL:
			missing = checkURL("button URL", b.URL) != nil
		default:
			return fmt.Errorf("%w: button %d has type %q", ErrInvalidContent, i+1, b.Type)
		}
		if missing {
			return fmt.Errorf("%w: button %d (%s) lacks what its type needs", ErrInvalidContent, i+1, b.Type)
		}
	}
	return nil
}

// headerKind is the kind a header or card file is checked as: a video
// when its MIME type says so, else an image.
func headerKind(mime string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(mime)), "video/") {
		return engine.KindVideo
	}
	return engine.KindImage
}

func mediaMime(m *engine.Media) string {
	if m == nil {
		return ""
	}
	return m.MimeType
}
