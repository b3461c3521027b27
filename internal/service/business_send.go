package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// Limits of interactive messages and carousels, like WhatsApp's.
const (
	MaxButtons       = 10 // buttons of a message or of a card
	MaxListRows      = 10 // rows of a list, all sections together
	MaxCards         = 10 // cards of a carousel
	MaxHeaderLength  = 60 // characters of a header or a footer
	MaxButtonTitle   = 40
	MaxListLabel     = 20
	MaxButtonIDBytes = 256
)

var buttonTypes = []string{engine.ButtonQuickReply, engine.ButtonCall, engine.ButtonCopy, engine.ButtonURL}

// checkButtons checks the buttons of an interactive message or a card.
func checkButtons(field string, list []engine.Button) error {
	if len(list) == 0 || len(list) > MaxButtons {
		return invalid(field, "1 to %d buttons", MaxButtons)
	}
	ids := map[string]bool{}
	for i, b := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !containsString(buttonTypes, b.Type):
			return invalid(f+".type", "must be one of %s", strings.Join(buttonTypes, ", "))
		case strings.TrimSpace(b.ID) == "" || len(b.ID) > MaxButtonIDBytes:
			return invalid(f+".id", "is required (at most %d bytes)", MaxButtonIDBytes)
		case ids[b.ID]:
			return invalid(f+".id", "%q appears twice", b.ID)
		}
		ids[b.ID] = true
		if err := checkText(f+".title", b.Title, true, MaxButtonTitle); err != nil {
			return err
		}
		switch b.Type {
		case engine.ButtonURL:
			if firstURL(b.URL) != b.URL || b.URL == "" {
				return invalid(f+".url", "a url button needs an http:// or https:// link")
			}
			if b.MerchantURL != "" && firstURL(b.MerchantURL) != b.MerchantURL {
				return invalid(f+".merchant_url", "must be an http:// or https:// link")
			}
		case engine.ButtonCall:
			if n := strings.TrimPrefix(b.PhoneNumber, "+"); len(n) < 7 || len(n) > 15 || strings.Trim(n, "0123456789") != "" {
				return invalid(f+".phone_number", "a call button needs a phone number (7 to 15 digits)")
			}
		case engine.ButtonCopy:
			if err := checkText(f+".copy_code", b.CopyCode, true, 256); err != nil {
				return err
			}
		}
	}
	return nil
}

func containsString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// checkSendBusiness checks an interactive message, a carousel, a product
// or a catalog link to send and fills the content (files are resolved
// later, by businessMedia).
func checkSendBusiness(r SendRequest, c *engine.Content) error {
	if err := businessNULFree(r); err != nil {
		return err
	}
	switch r.Kind {
	case engine.KindInteractive:
		in := r.Interactive
		if in == nil {
			return invalid("action", "is required")
		}
		cp := *in
		if cp.Type == "" {
			switch {
			case len(in.Sections) > 0 || in.Label != "":
				cp.Type = engine.InteractiveList
			case in.Product != nil:
				cp.Type = engine.InteractiveProduct
			default:
				cp.Type = engine.InteractiveButton
			}
		}
		if err := checkText("header.text", in.Header, false, MaxHeaderLength); err != nil {
			return err
		}
		if err := checkText("footer.text", in.Footer, false, MaxHeaderLength); err != nil {
			return err
		}
		switch cp.Type {
		case engine.InteractiveButton:
			if err := checkText("body.text", r.Body, true, MaxTextLength); err != nil {
				return err
			}
			if err := checkButtons("action.buttons", in.Buttons); err != nil {
				return err
			}
		case engine.InteractiveList:
			if err := checkText("body.text", r.Body, true, MaxTextLength); err != nil {
				return err
			}
			if err := checkText("action.list.label", in.Label, true, MaxListLabel); err != nil {
				return err
			}
			if len(in.Sections) == 0 {
				return invalid("action.list.sections", "is required: at least one section with rows")
			}
			rows, ids := 0, map[string]bool{}
			for i, sec := range in.Sections {
				f := fmt.Sprintf("action.list.sections[%d]", i)
				if err := checkText(f+".title", sec.Title, false, MaxButtonTitle); err != nil {
					return err
				}
				if len(sec.Rows) == 0 {
					return invalid(f+".rows", "a section has at least one row")
				}
				for j, row := range sec.Rows {
					rf := fmt.Sprintf("%s.rows[%d]", f, j)
					if strings.TrimSpace(row.ID) == "" || len(row.ID) > MaxButtonIDBytes || ids[row.ID] {
						return invalid(rf+".id", "is required, unique, at most %d bytes", MaxButtonIDBytes)
					}
					ids[row.ID] = true
					if err := checkText(rf+".title", row.Title, true, MaxButtonTitle); err != nil {
						return err
					}
					if err := checkText(rf+".description", row.Description, false, 72); err != nil {
						return err
					}
				}
				rows += len(sec.Rows)
			}
			if rows > MaxListRows {
				return invalid("action.list.sections", "at most %d rows in all", MaxListRows)
			}
			if len(in.Buttons) > 0 {
				return invalid("action.buttons", "a list has no buttons")
			}
		case engine.InteractiveProduct:
			if in.Product == nil || !productIDRE.MatchString(in.Product.ProductID) {
				return invalid("action.product.product_id", "is required: a product ID (10 to 18 digits)")
			}
			if strings.Trim(in.Product.CatalogID, "0123456789") != "" || in.Product.CatalogID == "" {
				return invalid("action.product.catalog_id", "is required: the catalog's ID (the business's number)")
			}
			if err := checkText("body.text", r.Body, false, MaxTextLength); err != nil {
				return err
			}
		default:
			return invalid("type", "must be button, list or product")
		}
		c.Text, c.Interactive = r.Body, &cp
	case engine.KindCarousel:
		cr := r.Carousel
		if cr == nil || len(cr.Cards) == 0 {
			return invalid("cards", "is required: 1 to %d cards", MaxCards)
		}
		if len(cr.Cards) > MaxCards {
			return invalid("cards", "at most %d cards", MaxCards)
		}
		if err := checkText("body.text", r.Body, false, MaxTextLength); err != nil {
			return err
		}
		if len(r.CardMedia) != len(cr.Cards) {
			return invalid("cards", "every card needs its media")
		}
		ids := map[string]bool{}
		for i, card := range cr.Cards {
			f := fmt.Sprintf("cards[%d]", i)
			if strings.TrimSpace(card.ID) == "" || ids[card.ID] {
				return invalid(f+".id", "is required and unique")
			}
			ids[card.ID] = true
			if err := checkText(f+".text", card.Text, false, MaxCaptionLength); err != nil {
				return err
			}
			if err := checkButtons(f+".buttons", card.Buttons); err != nil {
				return err
			}
			if strings.TrimSpace(r.CardMedia[i]) == "" {
				return invalid(f+".media.media", "is required: a URL, base64 or a media ID of an image or a video")
			}
		}
		cp := engine.Carousel{Cards: append([]engine.CarouselCard(nil), cr.Cards...)}
		c.Text, c.Carousel = r.Body, &cp
	case engine.KindProduct:
		if r.Product == nil {
			return invalid("ProductID", "is required")
		}
		p := *r.Product
		c.Product = &p
	case engine.KindCatalog:
		if r.Catalog == nil {
			return invalid("ContactID", "is required")
		}
		l := *r.Catalog
		c.Catalog = &l
		c.Text = r.Body
	}
	return nil
}

// businessNULFree refuses U+0000 in the business kinds' fields (the rule
// of nul.go), naming the part that holds it.
func businessNULFree(r SendRequest) error {
	for _, part := range []struct {
		field string
		v     any
	}{{"action", r.Interactive}, {"cards", r.Carousel}, {"cards", r.CardMedia}, {"title", r.Catalog}} {
		raw, err := json.Marshal(part.v)
		if err == nil && bytes.Contains(raw, []byte(`\u0000`)) {
			return invalid(part.field, "must not contain U+0000 (the NUL character)")
		}
	}
	return nil
}

// businessMedia checks that an interactive product is in its catalog, and
// resolves the files of an interactive message's header and of a
// carousel's cards: images or videos.
func (s *Service) businessMedia(ctx context.Context, ch model.Channel, r SendRequest, c *engine.Content) error {
	load := func(field, ref, mimeType string) (*engine.Media, error) {
		up, err := s.resolveMedia(ctx, ch, engine.KindVideo, ref, nil, mimeType)
		if err != nil {
			return nil, renameField(err, field)
		}
		defer closeUpload(up)
		kind := engine.KindImage
		if up.MimeType == "" || up.MimeType == "application/octet-stream" {
			up.MimeType = sniff(up)
		}
		if strings.HasPrefix(strings.ToLower(up.MimeType), "video/") {
			kind = engine.KindVideo
		}
		if up, err = checkUpload(kind, up); err != nil {
			return nil, renameField(err, field)
		}
		if err := up.load(); err != nil {
			return nil, err
		}
		return &engine.Media{Data: up.Data, MimeType: up.MimeType, Size: int64(len(up.Data))}, nil
	}
	if in := c.Interactive; in != nil && in.Type == engine.InteractiveProduct && in.Product != nil {
		// The product must be in its catalog; the message shows its name
		// and price.
		b, err := business(s, ch)
		if err != nil {
			return err
		}
		list, err := b.Catalog(ctx, in.Product.CatalogID+"@"+UserServer)
		if err != nil {
			return s.bizError(ch, err)
		}
		i := slices.IndexFunc(list, func(p engine.Product) bool { return p.ID == in.Product.ProductID })
		if i < 0 {
			return fmt.Errorf("product %s not found in catalog %s: %w", in.Product.ProductID, in.Product.CatalogID, model.ErrNotFound)
		}
		p := list[i]
		in.Product.Title, in.Product.Price, in.Product.Currency = p.Name, p.Price, p.Currency
		if len(p.Images) > 0 {
			in.Product.Image = p.Images[0].URL
		}
	}
	switch {
	case c.Interactive != nil && strings.TrimSpace(r.Media) != "":
		m, err := load("media", r.Media, r.MimeType)
		if err != nil {
			return err
		}
		c.Interactive.HeaderMedia = m
	case c.Carousel != nil:
		for i := range c.Carousel.Cards {
			m, err := load(fmt.Sprintf("cards[%d].media.media", i), r.CardMedia[i], "")
			if err != nil {
				return err
			}
			c.Carousel.Cards[i].Media = m
		}
	}
	return nil
}

// sniff guesses a file's MIME type from its first bytes.
func sniff(up Upload) string {
	h := up.head()
	switch {
	case len(h) > 3 && h[0] == 0xFF && h[1] == 0xD8:
		return "image/jpeg"
	case len(h) > 8 && string(h[1:4]) == "PNG":
		return "image/png"
	case len(h) > 12 && string(h[4:8]) == "ftyp":
		return "video/mp4"
	}
	return ""
}

// SendProduct sends a product of the channel's catalog to a chat.
func (s *Service) SendProduct(ctx context.Context, ch model.Channel, productID, to, catalogID string) (model.Message, error) {
	p, err := s.Product(ctx, ch, productID)
	if err != nil {
		return model.Message{}, err
	}
	self := phoneOrJID(s.selfJID(ch))
	if catalogID != "" && catalogID != self {
		return model.Message{}, invalid("catalog_id", "must be the channel's own catalog (%s) or left out", self)
	}
	ref := &engine.ProductRef{CatalogID: self, ProductID: p.ID, Title: p.Name, Price: p.Price, Currency: p.Currency}
	if len(p.Images) > 0 {
		ref.Image = p.Images[0].URL
	}
	return s.Send(ctx, ch, SendRequest{Kind: engine.KindProduct, To: to, Product: ref})
}

// CatalogRequest is POST /business/catalogs/{ContactID}: a link to the
// catalog of ContactID (a business) sent to To.
type CatalogRequest struct {
	To, Title, Description, Body, PreviewType string
}

var previewTypes = []string{"product", "business_profile", "thumbnail", "media", "style1", "style2", "style3", "none"}

// SendCatalog sends a link to a business's catalog to a chat.
func (s *Service) SendCatalog(ctx context.Context, ch model.Channel, contactID string, r CatalogRequest) (model.Message, error) {
	owner, err := UserID("ContactID", contactID)
	if err != nil {
		return model.Message{}, err
	}
	if r.PreviewType != "" && !containsString(previewTypes, r.PreviewType) {
		return model.Message{}, invalid("preview_type", "must be one of %s", strings.Join(previewTypes, ", "))
	}
	if err := checkText("title", r.Title, false, 256); err != nil {
		return model.Message{}, err
	}
	if err := checkText("description", r.Description, false, 1024); err != nil {
		return model.Message{}, err
	}
	if utf8.RuneCountInString(r.Body) > MaxTextLength {
		return model.Message{}, invalid("body", "must be at most %d characters", MaxTextLength)
	}
	b, err := business(s, ch)
	if err != nil {
		return model.Message{}, err
	}
	// The catalog's owner must be on WhatsApp: reading its profile says so.
	prof, err := b.BusinessProfile(ctx, owner)
	if err != nil {
		return model.Message{}, s.bizError(ch, err)
	}
	link := "https://wa.me/c/" + url.PathEscape(phoneOrJID(prof.JID))
	text := r.Body
	switch {
	case text == "":
		text = link
	case strings.Contains(text, "%URL%"):
		text = strings.ReplaceAll(text, "%URL%", link)
	default:
		text += "\n" + link
	}
	return s.Send(ctx, ch, SendRequest{Kind: engine.KindCatalog, To: r.To, Body: text,
		Catalog: &engine.CatalogLink{Owner: owner, Title: r.Title, Description: r.Description, URL: link}})
}

// businessContent is the stored content of the business kinds.
func businessContent(obj kindObject, c engine.Content) {
	buttons := func(list []engine.Button) []map[string]string {
		out := make([]map[string]string, len(list))
		for i, b := range list {
			m := map[string]string{"type": b.Type, "id": b.ID, "title": b.Title}
			for k, v := range map[string]string{"copy_code": b.CopyCode, "phone_number": b.PhoneNumber, "url": b.URL, "merchant_url": b.MerchantURL} {
				if v != "" {
					m[k] = v
				}
			}
			out[i] = m
		}
		return out
	}
	switch {
	case c.Interactive != nil:
		in := c.Interactive
		obj["type"] = in.Type
		obj["body"] = map[string]string{"text": c.Text}
		if in.Header != "" {
			obj["header"] = map[string]string{"text": in.Header}
		}
		if in.Footer != "" {
			obj["footer"] = map[string]string{"text": in.Footer}
		}
		action := map[string]any{}
		switch in.Type {
		case engine.InteractiveList:
			sections := make([]map[string]any, len(in.Sections))
			for i, sec := range in.Sections {
				rows := make([]map[string]string, len(sec.Rows))
				for j, r := range sec.Rows {
					rows[j] = map[string]string{"id": r.ID, "title": r.Title, "description": r.Description}
				}
				sections[i] = map[string]any{"title": sec.Title, "rows": rows}
			}
			action["list"] = map[string]any{"label": in.Label, "sections": sections}
		case engine.InteractiveProduct:
			if in.Product != nil {
				action["product"] = map[string]string{"catalog_id": in.Product.CatalogID, "product_id": in.Product.ProductID}
			}
		default:
			action["buttons"] = buttons(in.Buttons)
		}
		obj["action"] = action
		if m := in.HeaderMedia; m != nil {
			obj["mime_type"], obj["file_size"] = m.MimeType, m.Size
		}
	case c.Carousel != nil:
		obj["body"] = map[string]string{"text": c.Text}
		cards := make([]map[string]any, len(c.Carousel.Cards))
		for i, card := range c.Carousel.Cards {
			m := map[string]any{"id": card.ID, "text": card.Text, "buttons": buttons(card.Buttons)}
			if card.Media != nil {
				m["media"] = map[string]any{"mime_type": card.Media.MimeType, "file_size": card.Media.Size}
			}
			cards[i] = m
		}
		obj["cards"] = cards
	case c.Product != nil:
		obj["catalog_id"], obj["product_id"] = c.Product.CatalogID, c.Product.ProductID
		if c.Product.Title != "" {
			obj["title"] = c.Product.Title
		}
		if c.Product.Currency != "" {
			obj["currency"], obj["price"] = c.Product.Currency, c.Product.Price
		}
	case c.Catalog != nil:
		obj["body"], obj["url"] = c.Text, c.Catalog.URL
		obj["title"] = c.Catalog.Title
		if c.Catalog.Description != "" {
			obj["description"] = c.Catalog.Description
		}
	case c.Order != nil:
		o := c.Order
		obj["order_id"], obj["seller"], obj["token"], obj["item_count"], obj["status"] = o.ID, phoneOrJID(o.Seller), o.Token, o.ItemCount, o.Status
		obj["title"], obj["currency"], obj["total_price"] = o.Title, o.Currency, o.TotalPrice
		if o.Text != "" {
			obj["text"] = o.Text
		}
	case c.Reply != nil:
		r := map[string]string{"id": c.Reply.ID, "title": c.Reply.Title}
		key := "buttons_reply"
		if c.Reply.List {
			key = "list_reply"
			if c.Reply.Description != "" {
				r["description"] = c.Reply.Description
			}
		}
		obj["type"], obj[key] = key, r
	default:
		obj["body"] = c.Text
	}
}
