package whatsmeow

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/fakewa"
)

// The business calls against the fake server: the business_profile query
// sent and its answer mapped; interactive messages, carousels and catalog
// links as the recipient decrypts them, with the biz node on the stanza;
// received orders; the catalog operations answer ErrUnsupported.
func TestBusinessOnline(t *testing.T) {
	w := newWorld(t, Options{})
	bobPeer, err := w.srv.AddPeer(fakewa.PeerOptions{Phone: "15557654321", PushName: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	o := w.connectStored("15551234567", 3, engine.SessionConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 6*wait)
	defer cancel()
	bob := bobPeer.JID()
	plain := types.NewJID("15550002222", types.DefaultUserServer)

	var asked []types.JID
	w.srv.HandleIQ(func(_ *fakewa.Conn, n *waBinary.Node) (waBinary.Node, bool) {
		if n.Attrs["xmlns"] != "w:biz" {
			return waBinary.Node{}, false
		}
		prof := n.GetChildByTag("business_profile", "profile")
		jid, _ := prof.Attrs["jid"].(types.JID)
		asked = append(asked, jid)
		if jid == plain {
			return fakewa.IQError(404, "item-not-found"), true
		}
		return fakewa.IQResult(waBinary.Node{Tag: "business_profile", Content: []waBinary.Node{{
			Tag: "profile", Attrs: waBinary.Attrs{"jid": jid}, Content: []waBinary.Node{
				{Tag: "address", Content: []byte("1 Main St")},
				{Tag: "email", Content: []byte("bob@example.com")},
				{Tag: "business_hours", Attrs: waBinary.Attrs{"timezone": "Europe/Berlin"}, Content: []waBinary.Node{
					{Tag: "business_hours_config", Attrs: waBinary.Attrs{"day_of_week": "mon", "mode": "specific_hours", "open_time": "540", "close_time": "1020"}},
				}},
				{Tag: "categories", Content: []waBinary.Node{{Tag: "category", Attrs: waBinary.Attrs{"id": "1"}, Content: []byte("Shopping")}}},
			},
		}}}), true
	})
	p, err := o.BusinessProfile(ctx, bob.String())
	if err != nil || p.JID != bob.String() || p.Address != "1 Main St" || p.Email != "bob@example.com" || p.TimeZone != "Europe/Berlin" ||
		len(p.Hours) != 1 || p.Hours[0] != (engine.BusinessHours{Day: "mon", Mode: "specific_hours", Open: 540, Close: 1020}) ||
		len(p.Categories) != 1 || p.Categories[0] != "Shopping" {
		t.Fatalf("BusinessProfile = %+v, %v", p, err)
	}
	if own, err := o.BusinessProfile(ctx, ""); err != nil || own.JID != "15551234567@s.whatsapp.net" {
		t.Fatalf("own BusinessProfile = %+v, %v", own, err)
	}
	if len(asked) != 2 || asked[0] != bob || asked[1].User != "15551234567" {
		t.Fatalf("business_profile queries for %v", asked)
	}
	if _, err := o.BusinessProfile(ctx, plain.String()); !errors.Is(err, engine.ErrNotBusiness) {
		t.Fatalf("profile of a non-business: %v", err)
	}

	// What a linked device cannot do.
	for name, err := range map[string]error{
		"SetBusinessProfile": o.SetBusinessProfile(ctx, engine.BusinessProfileUpdate{}),
		"DeleteProduct":      o.DeleteProduct(ctx, "1234567890"),
		"DeleteCollection":   o.DeleteCollection(ctx, "1"),
	} {
		if !errors.Is(err, engine.ErrUnsupported) || !strings.Contains(err.Error(), "linked device") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := o.Catalog(ctx, ""); !errors.Is(err, engine.ErrUnsupported) {
		t.Errorf("Catalog: %v", err)
	}
	if _, err := o.Order(ctx, "1234567890", "t"); !errors.Is(err, engine.ErrUnsupported) {
		t.Errorf("Order: %v", err)
	}

	sendBob := func(c engine.Content) (*waE2E.Message, *waBinary.Node) {
		t.Helper()
		sent, err := o.Send(ctx, bob.String(), c)
		if err != nil {
			t.Fatalf("Send %s: %v", c.Kind, err)
		}
		r, err := bobPeer.Wait(ctx, func(r fakewa.Received) bool { return r.ID == sent.ID })
		if err != nil || r.Err != nil {
			t.Fatalf("bob did not decrypt the %s: %v %v", c.Kind, err, r.Err)
		}
		var stanza *waBinary.Node
		for _, conn := range w.srv.Conns() {
			for _, n := range conn.Nodes() {
				if n.Tag == "message" && n.Attrs["id"] == sent.ID {
					stanza = n
				}
			}
		}
		return r.Message, stanza
	}

	// Buttons with a header image.
	m, stanza := sendBob(engine.Content{Kind: engine.KindInteractive, Text: "Pick one", Interactive: &engine.Interactive{
		Type: engine.InteractiveButton, Header: "Hi", Footer: "Shop",
		HeaderMedia: &engine.Media{Data: []byte("\xff\xd8jpeg"), MimeType: "image/jpeg"},
		Buttons: []engine.Button{{Type: engine.ButtonQuickReply, ID: "yes", Title: "Yes"},
			{Type: engine.ButtonURL, ID: "web", Title: "Site", URL: "https://shop.example"},
			{Type: engine.ButtonCopy, ID: "c", Title: "Code", CopyCode: "SAVE10"}},
	}})
	in := m.GetViewOnceMessage().GetMessage().GetInteractiveMessage()
	flow := in.GetNativeFlowMessage()
	if in.GetBody().GetText() != "Pick one" || in.GetFooter().GetText() != "Shop" || in.GetHeader().GetTitle() != "Hi" ||
		in.GetHeader().GetImageMessage().GetMimetype() != "image/jpeg" || len(flow.GetButtons()) != 3 {
		t.Fatalf("interactive = %v", m)
	}
	names := []string{}
	for _, b := range flow.GetButtons() {
		names = append(names, b.GetName())
	}
	var copyParams map[string]string
	if err := json.Unmarshal([]byte(flow.GetButtons()[2].GetButtonParamsJSON()), &copyParams); err != nil || copyParams["copy_code"] != "SAVE10" {
		t.Fatalf("copy button params %q: %v", flow.GetButtons()[2].GetButtonParamsJSON(), err)
	}
	if strings.Join(names, ",") != "quick_reply,cta_url,cta_copy" {
		t.Fatalf("button names %v", names)
	}
	if stanza == nil {
		t.Fatal("the interactive message's stanza was not seen")
	}
	if nf, ok := stanza.GetOptionalChildByTag("biz", "interactive", "native_flow"); !ok || nf.Attrs["name"] != "mixed" {
		t.Fatalf("stanza without the biz node: %s", stanza.XMLString())
	}

	// A list.
	m, _ = sendBob(engine.Content{Kind: engine.KindInteractive, Text: "Menu", QuotedID: "3EB0QUOTED", Interactive: &engine.Interactive{
		Type: engine.InteractiveList, Label: "Open",
		Sections: []engine.ListSection{{Title: "Drinks", Rows: []engine.ListRow{{ID: "tea", Title: "Tea", Description: "Hot"}}}},
	}})
	b := m.GetViewOnceMessage().GetMessage().GetInteractiveMessage().GetNativeFlowMessage().GetButtons()
	if m.GetViewOnceMessage().GetMessage().GetInteractiveMessage().GetContextInfo().GetStanzaID() != "3EB0QUOTED" {
		t.Fatalf("the list does not quote: %v", m)
	}
	if len(b) != 1 || b[0].GetName() != "single_select" || !strings.Contains(b[0].GetButtonParamsJSON(), `"id":"tea"`) {
		t.Fatalf("list = %v", m)
	}

	// A carousel.
	m, _ = sendBob(engine.Content{Kind: engine.KindCarousel, Text: "Look", Carousel: &engine.Carousel{Cards: []engine.CarouselCard{
		{ID: "c1", Text: "One", Media: &engine.Media{Data: []byte("\xff\xd8one"), MimeType: "image/jpeg"},
			Buttons: []engine.Button{{Type: engine.ButtonQuickReply, ID: "buy", Title: "Buy"}}},
		{ID: "c2", Text: "Two", Media: &engine.Media{Data: []byte("video"), MimeType: "video/mp4"},
			Buttons: []engine.Button{{Type: engine.ButtonCall, ID: "call", Title: "Call", PhoneNumber: "15551234567"}}},
	}}})
	cards := m.GetViewOnceMessage().GetMessage().GetInteractiveMessage().GetCarouselMessage().GetCards()
	if len(cards) != 2 || cards[0].GetBody().GetText() != "One" || cards[0].GetHeader().GetImageMessage() == nil ||
		cards[1].GetHeader().GetVideoMessage() == nil || cards[1].GetNativeFlowMessage().GetButtons()[0].GetName() != "cta_call" {
		t.Fatalf("carousel = %v", m)
	}

	// A catalog link.
	m, _ = sendBob(engine.Content{Kind: engine.KindCatalog, Text: "See https://wa.me/c/15551234567",
		Catalog: &engine.CatalogLink{Owner: "15551234567@s.whatsapp.net", URL: "https://wa.me/c/15551234567", Title: "Shop"}})
	if x := m.GetExtendedTextMessage(); x.GetMatchedText() != "https://wa.me/c/15551234567" || x.GetTitle() != "Shop" {
		t.Fatalf("catalog link = %v", m)
	}

	// A product, and an interactive product: the catalog is out of reach.
	if _, err := o.Send(ctx, bob.String(), engine.Content{Kind: engine.KindProduct, Product: &engine.ProductRef{CatalogID: "1", ProductID: "1234567890"}}); !errors.Is(err, engine.ErrUnsupported) {
		t.Fatalf("product: %v", err)
	}
	if _, err := o.Send(ctx, bob.String(), engine.Content{Kind: engine.KindInteractive, Text: "x", Interactive: &engine.Interactive{
		Type: engine.InteractiveProduct, Product: &engine.ProductRef{ProductID: "1"}}}); !errors.Is(err, engine.ErrUnsupported) {
		t.Fatalf("interactive product: %v", err)
	}

	// An order bob sends arrives as an order.
	evi := len(o.rec.all())
	sent, err := bobPeer.Send(o.acct, &waE2E.Message{OrderMessage: &waE2E.OrderMessage{
		OrderID: proto.String("1234567890123456"), Token: proto.String("dG9rZW4="), ItemCount: proto.Int32(2),
		SellerJID: proto.String("15551234567@s.whatsapp.net"), TotalAmount1000: proto.Int64(24000), TotalCurrencyCode: proto.String("USD"),
		OrderTitle: proto.String("Mug"), Message: proto.String("Two please"), Status: waE2E.OrderMessage_INQUIRY.Enum(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := o.rec.wait(t, evi, wait, func(ev engine.Event) bool { m, ok := ev.(engine.Message); return ok && m.ID == sent.ID })
	got := ev.(engine.Message)
	// Bob taps a button of a native-flow message, then a row of a list.
	for _, tc := range []struct {
		msg  *waE2E.Message
		want engine.Reply
	}{
		{&waE2E.Message{InteractiveResponseMessage: &waE2E.InteractiveResponseMessage{
			Body: &waE2E.InteractiveResponseMessage_Body{Text: proto.String("Yes")},
			InteractiveResponseMessage: &waE2E.InteractiveResponseMessage_NativeFlowResponseMessage_{NativeFlowResponseMessage: &waE2E.InteractiveResponseMessage_NativeFlowResponseMessage{
				Name: proto.String("quick_reply"), ParamsJSON: proto.String(`{"id":"yes"}`)}},
			ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("3EB0BUTTONS")}}}, engine.Reply{ID: "yes", Title: "Yes"}},
		{&waE2E.Message{ListResponseMessage: &waE2E.ListResponseMessage{Title: proto.String("Tea"), Description: proto.String("Hot"),
			SingleSelectReply: &waE2E.ListResponseMessage_SingleSelectReply{SelectedRowID: proto.String("tea")},
			ContextInfo:       &waE2E.ContextInfo{StanzaID: proto.String("3EB0BUTTONS")}}}, engine.Reply{List: true, ID: "tea", Title: "Tea", Description: "Hot"}},
	} {
		from := len(o.rec.all())
		in, err := bobPeer.Send(o.acct, tc.msg)
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := o.rec.wait(t, from, wait, func(ev engine.Event) bool { m, ok := ev.(engine.Message); return ok && m.ID == in.ID })
		m := ev.(engine.Message)
		if m.Content.Kind != engine.KindReply || m.Content.Reply == nil || *m.Content.Reply != tc.want || m.Content.QuotedID != "3EB0BUTTONS" {
			t.Fatalf("received reply %+v (%+v)", m.Content, m.Content.Reply)
		}
	}
	if ord := got.Content.Order; got.Content.Kind != engine.KindOrder || ord == nil || ord.ID != "1234567890123456" || ord.TotalPrice != 24 ||
		ord.ItemCount != 2 || ord.Token != "dG9rZW4=" || ord.Status != "new" || ord.Text != "Two please" {
		t.Fatalf("received order = %+v", got.Content)
	}
}
