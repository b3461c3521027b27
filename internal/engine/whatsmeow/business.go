package whatsmeow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	wm "go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

// A linked device reads business profiles (whatsmeow's GetBusinessProfile)
// and sends catalog links, interactive messages and carousels. The rest of
// a business account, its catalog, collections and orders, is run by the
// WhatsApp Business app on the phone (and Meta's Commerce Manager):
// whatsmeow has no call for it, and those answer ErrUnsupported with why.

var _ engine.Businesser = (*Session)(nil)

// noCatalog is the error of the catalog operations a linked device cannot do.
func noCatalog(what string) error {
	return fmt.Errorf("whatsmeow has no call to %s; WhatsApp gives a linked device no way to do it (the WhatsApp Business app on the phone does): %w",
		what, engine.ErrUnsupported)
}

// BusinessProfile reads a business's profile ("" : the account's own)
// with whatsmeow's business_profile query. whatsmeow does not return the
// description and websites.
func (s *Session) BusinessProfile(ctx context.Context, user string) (engine.BusinessProfile, error) {
	u, err := parseUser(user)
	if err != nil {
		return engine.BusinessProfile{}, err
	}
	cli, own, _, err := s.online()
	if err != nil {
		return engine.BusinessProfile{}, err
	}
	if u.IsEmpty() {
		u = own
	}
	p, err := cli.GetBusinessProfile(ctx, u)
	if err != nil {
		var iq *wm.IQError
		var missing *wm.ElementMissingError
		if (errors.As(err, &iq) && iq.Code == 404) || errors.As(err, &missing) {
			return engine.BusinessProfile{}, fmt.Errorf("whatsmeow: %s: %w", u, engine.ErrNotBusiness)
		}
		return engine.BusinessProfile{}, fmt.Errorf("whatsmeow: business profile: %w", mapSendErr(err))
	}
	out := engine.BusinessProfile{JID: p.JID.ToNonAD().String(), Address: p.Address, Email: p.Email, TimeZone: p.BusinessHoursTimeZone}
	for _, h := range p.BusinessHours {
		open, _ := strconv.Atoi(h.OpenTime)
		closing, _ := strconv.Atoi(h.CloseTime)
		out.Hours = append(out.Hours, engine.BusinessHours{Day: h.DayOfWeek, Mode: h.Mode, Open: open, Close: closing})
	}
	for _, c := range p.Categories {
		out.Categories = append(out.Categories, c.Name)
	}
	return out, nil
}

// SetBusinessProfile is not possible through whatsmeow.
func (s *Session) SetBusinessProfile(context.Context, engine.BusinessProfileUpdate) error {
	return noCatalog("change a business profile")
}

// Catalog is not possible through whatsmeow.
func (s *Session) Catalog(context.Context, string) ([]engine.Product, error) {
	return nil, noCatalog("read a product catalog")
}

// CreateProduct is not possible through whatsmeow.
func (s *Session) CreateProduct(context.Context, engine.Product) (engine.Product, error) {
	return engine.Product{}, noCatalog("add products to a catalog")
}

// UpdateProduct is not possible through whatsmeow.
func (s *Session) UpdateProduct(context.Context, engine.Product) (engine.Product, error) {
	return engine.Product{}, noCatalog("change a catalog's products")
}

// DeleteProduct is not possible through whatsmeow.
func (s *Session) DeleteProduct(context.Context, string) error {
	return noCatalog("delete a catalog's products")
}

// Collections is not possible through whatsmeow.
func (s *Session) Collections(context.Context) ([]engine.Collection, error) {
	return nil, noCatalog("read a catalog's collections")
}

// CreateCollection is not possible through whatsmeow.
func (s *Session) CreateCollection(context.Context, string, []string) (engine.Collection, error) {
	return engine.Collection{}, noCatalog("create catalog collections")
}

// UpdateCollection is not possible through whatsmeow.
func (s *Session) UpdateCollection(context.Context, string, engine.CollectionUpdate) (engine.Collection, error) {
	return engine.Collection{}, noCatalog("change catalog collections")
}

// DeleteCollection is not possible through whatsmeow.
func (s *Session) DeleteCollection(context.Context, string) error {
	return noCatalog("delete catalog collections")
}

// Order is not possible through whatsmeow.
func (s *Session) Order(context.Context, string, string) (engine.Order, error) {
	return engine.Order{}, noCatalog("read an order's items")
}

// isBusinessKind reports the kinds sendBusiness sends.
func isBusinessKind(kind string) bool {
	switch kind {
	case engine.KindInteractive, engine.KindCarousel, engine.KindProduct, engine.KindCatalog:
		return true
	}
	return false
}

// bizNode is the node WhatsApp Web adds to a native-flow interactive
// message's stanza; without it WhatsApp does not show the buttons.
func bizNode() waBinary.Node {
	return waBinary.Node{Tag: "biz", Content: []waBinary.Node{{
		Tag:   "interactive",
		Attrs: waBinary.Attrs{"type": "native_flow", "v": "1"},
		Content: []waBinary.Node{{
			Tag:   "native_flow",
			Attrs: waBinary.Attrs{"v": "9", "name": "mixed"},
		}},
	}}}
}

// sendBusiness sends a catalog link, an interactive message or a
// carousel. Buttons, lists and cards go as WhatsApp's native-flow
// InteractiveMessage in a view-once wrapper, with the biz node WhatsApp
// Web adds; header and card files are uploaded first.
func (s *Session) sendBusiness(ctx context.Context, jid types.JID, c engine.Content) (engine.SentMessage, error) {
	cli, own, _, err := s.online()
	if err != nil {
		return engine.SentMessage{}, err
	}
	ci, err := businessContext(c, own)
	if err != nil {
		return engine.SentMessage{}, err
	}
	var (
		msg   *waE2E.Message
		extra []wm.SendRequestExtra
	)
	switch {
	case c.Kind == engine.KindCatalog && c.Catalog != nil:
		if strings.TrimSpace(c.Text) == "" {
			return engine.SentMessage{}, errf("a catalog link without text")
		}
		msg = &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
			Text: proto.String(c.Text), MatchedText: proto.String(c.Catalog.URL), Title: optString(c.Catalog.Title),
			Description: optString(c.Catalog.Description), PreviewType: waE2E.ExtendedTextMessage_NONE.Enum(), ContextInfo: ci,
		}}
	case c.Kind == engine.KindInteractive && c.Interactive != nil:
		in, err := s.interactive(ctx, cli, c.Text, c.Interactive)
		if err != nil {
			return engine.SentMessage{}, err
		}
		in.ContextInfo = ci
		msg, extra = viewOnce(in), []wm.SendRequestExtra{{AdditionalNodes: &[]waBinary.Node{bizNode()}}}
	case c.Kind == engine.KindCarousel && c.Carousel != nil && len(c.Carousel.Cards) > 0:
		cards := make([]*waE2E.InteractiveMessage, len(c.Carousel.Cards))
		for i, card := range c.Carousel.Cards {
			m, err := s.interactive(ctx, cli, card.Text, &engine.Interactive{Type: engine.InteractiveButton, HeaderMedia: card.Media, Buttons: card.Buttons})
			if err != nil {
				return engine.SentMessage{}, fmt.Errorf("card %d: %w", i+1, err)
			}
			cards[i] = m
		}
		in := &waE2E.InteractiveMessage{
			Body: &waE2E.InteractiveMessage_Body{Text: proto.String(c.Text)},
			InteractiveMessage: &waE2E.InteractiveMessage_CarouselMessage_{CarouselMessage: &waE2E.InteractiveMessage_CarouselMessage{
				Cards: cards, MessageVersion: proto.Int32(1),
			}},
			ContextInfo: ci,
		}
		msg, extra = viewOnce(in), []wm.SendRequestExtra{{AdditionalNodes: &[]waBinary.Node{bizNode()}}}
	case c.Kind == engine.KindProduct:
		return engine.SentMessage{}, fmt.Errorf("a product message carries the product's data from the catalog, which whatsmeow cannot read: %w", engine.ErrUnsupported)
	default:
		return engine.SentMessage{}, errf("a %s message without its content", c.Kind)
	}
	resp, err := cli.SendMessage(ctx, jid, msg, extra...)
	if err != nil {
		return engine.SentMessage{}, fmt.Errorf("whatsmeow: send %s: %w", c.Kind, sendErr(err))
	}
	payload, err := proto.Marshal(msg)
	if err != nil {
		payload = nil
	}
	return engine.SentMessage{ID: resp.ID, Chat: jid.String(), Time: resp.Timestamp, Payload: payload}, nil
}

// businessContext is the reply and mention part of a business message,
// as checkContent and contextInfo make it for the other kinds.
func businessContext(c engine.Content, own types.JID) (*waE2E.ContextInfo, error) {
	o := outgoing{Content: c}
	if c.QuotedSender != "" {
		jid, err := parseUser(c.QuotedSender)
		if err != nil {
			return nil, err
		}
		o.quotedSender = jid
	}
	for _, m := range c.Mentions {
		jid, err := parseUser(m)
		if err != nil {
			return nil, err
		}
		if !jid.IsEmpty() {
			o.mentions = append(o.mentions, jid.String())
		}
	}
	var q *quote
	if c.QuotedID != "" {
		q = quoteOf(c.Quoted, own)
	}
	return o.contextInfo(q), nil
}

// viewOnce wraps an interactive message as WhatsApp Web sends it.
func viewOnce(in *waE2E.InteractiveMessage) *waE2E.Message {
	return &waE2E.Message{ViewOnceMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
		MessageContextInfo: &waE2E.MessageContextInfo{DeviceListMetadata: &waE2E.DeviceListMetadata{}, DeviceListMetadataVersion: proto.Int32(2)},
		InteractiveMessage: in,
	}}}
}

// interactive builds a native-flow interactive message: buttons or a
// list, its header (a text, an uploaded image or video), body and footer.
func (s *Session) interactive(ctx context.Context, cli *wm.Client, body string, in *engine.Interactive) (*waE2E.InteractiveMessage, error) {
	var buttons []*waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton
	switch in.Type {
	case engine.InteractiveButton:
		if len(in.Buttons) == 0 {
			return nil, errf("an interactive message without buttons")
		}
		for _, b := range in.Buttons {
			name, params := nativeButton(b)
			raw, err := json.Marshal(params)
			if err != nil {
				return nil, err
			}
			buttons = append(buttons, &waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton{Name: proto.String(name), ButtonParamsJSON: proto.String(string(raw))})
		}
	case engine.InteractiveList:
		type row struct {
			ID          string `json:"id"`
			Title       string `json:"title"`
			Description string `json:"description,omitempty"`
		}
		type section struct {
			Title string `json:"title,omitempty"`
			Rows  []row  `json:"rows"`
		}
		params := struct {
			Title    string    `json:"title"`
			Sections []section `json:"sections"`
		}{Title: in.Label}
		for _, sec := range in.Sections {
			out := section{Title: sec.Title}
			for _, r := range sec.Rows {
				out.Rows = append(out.Rows, row{ID: r.ID, Title: r.Title, Description: r.Description})
			}
			params.Sections = append(params.Sections, out)
		}
		raw, err := json.Marshal(params)
		if err != nil {
			return nil, err
		}
		buttons = append(buttons, &waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton{Name: proto.String("single_select"), ButtonParamsJSON: proto.String(string(raw))})
	default:
		return nil, fmt.Errorf("an interactive %s message carries the product's data from the catalog, which whatsmeow cannot read: %w", in.Type, engine.ErrUnsupported)
	}
	m := &waE2E.InteractiveMessage{
		Body: &waE2E.InteractiveMessage_Body{Text: proto.String(body)},
		InteractiveMessage: &waE2E.InteractiveMessage_NativeFlowMessage_{NativeFlowMessage: &waE2E.InteractiveMessage_NativeFlowMessage{
			Buttons: buttons, MessageVersion: proto.Int32(1),
		}},
	}
	if in.Footer != "" {
		m.Footer = &waE2E.InteractiveMessage_Footer{Text: proto.String(in.Footer)}
	}
	if in.Header != "" || in.HeaderMedia != nil {
		m.Header = &waE2E.InteractiveMessage_Header{Title: optString(in.Header), HasMediaAttachment: proto.Bool(in.HeaderMedia != nil)}
	}
	if f := in.HeaderMedia; f != nil {
		if len(f.Data) == 0 {
			return nil, errf("a header file without bytes")
		}
		kind := engine.KindImage
		if strings.HasPrefix(f.MimeType, "video/") {
			kind = engine.KindVideo
		}
		up, err := upload(ctx, cli, f.Data, mediaTypeOf(kind))
		if err != nil {
			return nil, fmt.Errorf("whatsmeow: upload the header %s: %w", kind, mapSendErr(err))
		}
		media := mediaMessage(outgoing{Content: engine.Content{Kind: kind, Media: f}}, &up, nil)
		if kind == engine.KindVideo {
			m.Header.Media = &waE2E.InteractiveMessage_Header_VideoMessage{VideoMessage: media.GetVideoMessage()}
		} else {
			m.Header.Media = &waE2E.InteractiveMessage_Header_ImageMessage{ImageMessage: media.GetImageMessage()}
		}
	}
	return m, nil
}

// nativeButton is a button's native-flow name and parameters.
func nativeButton(b engine.Button) (string, map[string]string) {
	switch b.Type {
	case engine.ButtonURL:
		p := map[string]string{"display_text": b.Title, "id": b.ID, "url": b.URL}
		if b.MerchantURL != "" {
			p["merchant_url"] = b.MerchantURL
		}
		return "cta_url", p
	case engine.ButtonCall:
		return "cta_call", map[string]string{"display_text": b.Title, "id": b.ID, "phone_number": b.PhoneNumber}
	case engine.ButtonCopy:
		return "cta_copy", map[string]string{"display_text": b.Title, "id": b.ID, "copy_code": b.CopyCode}
	}
	return "quick_reply", map[string]string{"display_text": b.Title, "id": b.ID}
}

// orderOf is a received order (a cart a customer sent the account).
func orderOf(x *waE2E.OrderMessage) *engine.Order {
	status := "new"
	switch x.GetStatus() {
	case waE2E.OrderMessage_ACCEPTED:
		status = "accepted"
	case waE2E.OrderMessage_DECLINED:
		status = "canceled"
	}
	return &engine.Order{ID: x.GetOrderID(), Seller: x.GetSellerJID(), Title: x.GetOrderTitle(), Text: x.GetMessage(),
		Token: x.GetToken(), ItemCount: int(x.GetItemCount()), Currency: x.GetTotalCurrencyCode(),
		TotalPrice: float64(x.GetTotalAmount1000()) / 1000, Status: status}
}

// replyOf is a tap on a button or a list row: an answer to buttons, to a
// list, or to a native-flow interactive message (its parameters carry the
// button's id).
func replyOf(m *waE2E.Message) (*engine.Reply, *waE2E.ContextInfo) {
	switch {
	case m.ButtonsResponseMessage != nil:
		x := m.ButtonsResponseMessage
		return &engine.Reply{ID: x.GetSelectedButtonID(), Title: x.GetSelectedDisplayText()}, x.GetContextInfo()
	case m.ListResponseMessage != nil:
		x := m.ListResponseMessage
		return &engine.Reply{List: true, ID: x.GetSingleSelectReply().GetSelectedRowID(), Title: x.GetTitle(),
			Description: x.GetDescription()}, x.GetContextInfo()
	}
	x := m.InteractiveResponseMessage
	flow := x.GetNativeFlowResponseMessage()
	var params struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description"`
	}
	_ = json.Unmarshal([]byte(flow.GetParamsJSON()), &params) // a reply without parameters keeps its text
	r := &engine.Reply{List: flow.GetName() == "single_select" || strings.Contains(flow.GetName(), "list"), ID: params.ID,
		Title: x.GetBody().GetText(), Description: params.Description}
	if params.Title != "" {
		r.Title = params.Title
	}
	return r, x.GetContextInfo()
}
