package app_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/fakewa"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestBusinessWhatsmeow plays the Business group through the fake WhatsApp
// server on the real engine: business profiles read with WhatsApp's
// query, interactive messages and carousels as the recipient decrypts
// them, a catalog link, a received order reported as an order message,
// and the 501s (with why) of what a linked device cannot do.
func TestBusinessWhatsmeow(t *testing.T) {
	fw := fakewa.New(t, fakewa.Options{})
	w := startWA(t, fw, waConfig(t, storetest.Backends(t)[0]), waOptions(fw))
	const own = "15553300001"
	c := w.newChannel(t, "wabiz", own)
	peer, err := fw.AddPeer(fakewa.PeerOptions{Phone: "15553300002", PushName: "Eli"})
	if err != nil {
		t.Fatal(err)
	}
	eli := peer.JID().User
	fw.HandleIQ(func(_ *fakewa.Conn, n *waBinary.Node) (waBinary.Node, bool) {
		if n.Attrs["xmlns"] != "w:biz" {
			return waBinary.Node{}, false
		}
		jid, _ := n.GetChildByTag("business_profile", "profile").Attrs["jid"].(types.JID)
		return fakewa.IQResult(waBinary.Node{Tag: "business_profile", Content: []waBinary.Node{{
			Tag: "profile", Attrs: waBinary.Attrs{"jid": jid}, Content: []waBinary.Node{{Tag: "address", Content: []byte("2 Side St")}},
		}}}), true
	})
	s := w.liveServer
	s.call(200, "PATCH", "/settings", c.tok, map[string]any{"webhooks": []any{map[string]any{"url": c.hooks.srv.URL + "/c",
		"events": subscribe("messages.post")}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if p := s.call(200, "GET", "/business", c.tok, nil); p["address"] != "2 Side St" || p["id"] != own {
		t.Fatalf("GET /business = %v", p)
	}
	for _, op := range []struct{ method, path string }{{"POST", "/business"}, {"GET", "/business/products"},
		{"GET", "/business/" + eli + "/products"}, {"GET", "/business/collections"}, {"GET", "/business/orders/1234567890123?order_token=x"}} {
		if code, body := s.try(op.method, op.path, c.tok, map[string]any{"address": "x"}); code != 501 || !strings.Contains(body, "linked device") {
			t.Fatalf("%s %s on whatsmeow: %d %s", op.method, op.path, code, body)
		}
	}

	// A product's image is not kept when the engine cannot take the product.
	before := s.call(200, "GET", "/media", c.tok, nil)["total"]
	if code, body := s.try("POST", "/business/products", c.tok, map[string]any{"name": "Mug", "description": "x", "price": 1,
		"currency": "EUR", "images": []string{dataURI("image/png", pngBytes)}}); code != 501 || !strings.Contains(body, "catalog") {
		t.Fatalf("POST /business/products on whatsmeow: %d %s", code, body)
	}
	if after := s.call(200, "GET", "/media", c.tok, nil)["total"]; after != before {
		t.Fatalf("media files %v before a refused product, %v after", before, after)
	}

	received := func(id string) *waE2E.Message {
		t.Helper()
		r, err := peer.Wait(ctx, func(r fakewa.Received) bool { return r.ID == id })
		if err != nil || r.Err != nil {
			t.Fatalf("eli did not decrypt %s: %v %v", id, err, r.Err)
		}
		return r.Message
	}
	idOf := func(m map[string]any) string { return m["message"].(map[string]any)["id"].(string) }
	sent := s.call(200, "POST", "/messages/interactive", c.tok, map[string]any{"to": eli, "body": map[string]any{"text": "Pick"},
		"action": map[string]any{"buttons": []any{map[string]any{"type": "quick_reply", "title": "Yes", "id": "yes"}}},
		"media":  dataURI("image/png", pngBytes)})
	in := received(idOf(sent)).GetViewOnceMessage().GetMessage().GetInteractiveMessage()
	if in.GetBody().GetText() != "Pick" || in.GetHeader().GetImageMessage() == nil || in.GetNativeFlowMessage().GetButtons()[0].GetName() != "quick_reply" {
		t.Fatalf("interactive as received: %v", in)
	}
	sent = s.call(200, "POST", "/messages/carousel", c.tok, map[string]any{"to": eli, "cards": []any{map[string]any{"id": "c1", "text": "One",
		"media": map[string]any{"media": dataURI("image/png", pngBytes)}, "buttons": []any{map[string]any{"type": "quick_reply", "title": "Buy", "id": "b"}}}}})
	if cards := received(idOf(sent)).GetViewOnceMessage().GetMessage().GetInteractiveMessage().GetCarouselMessage().GetCards(); len(cards) != 1 {
		t.Fatalf("carousel as received: %v", cards)
	}
	sent = s.call(200, "POST", "/business/catalogs/"+own, c.tok, map[string]any{"to": eli, "body": "Shop: %URL%"})
	if got := received(idOf(sent)).GetExtendedTextMessage().GetText(); got != "Shop: https://wa.me/c/"+own {
		t.Fatalf("catalog link as received: %q", got)
	}
	if code, body := s.try("POST", "/messages/interactive", c.tok, map[string]any{"to": eli, "type": "product",
		"action": map[string]any{"product": map[string]any{"catalog_id": own, "product_id": "1234567890123"}}}); code != 501 {
		t.Fatalf("interactive product on whatsmeow: %d %s", code, body)
	}

	// Eli orders: an order message, whose items a linked device cannot read.
	order, err := peer.Send(c.acct, &waE2E.Message{OrderMessage: &waE2E.OrderMessage{OrderID: proto.String("1234567890123456"),
		Token: proto.String("dG9r"), ItemCount: proto.Int32(1), SellerJID: proto.String(own + "@s.whatsapp.net"),
		TotalAmount1000: proto.Int64(5500), TotalCurrencyCode: proto.String("EUR"), OrderTitle: proto.String("Mug")}})
	if err != nil {
		t.Fatal(err)
	}
	post := c.hooks.wait(t, "messages.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), order.ID) })
	m := post.Body["messages"].([]any)[0].(map[string]any)
	if o, _ := m["order"].(map[string]any); m["type"] != "order" || o["order_id"] != "1234567890123456" || o["total_price"].(float64) != 5.5 {
		t.Fatalf("order webhook = %v", m)
	}
	if code, body := s.try("GET", "/business/orders/1234567890123456?order_token="+url.QueryEscape("dG9r"), c.tok, nil); code != 501 {
		t.Fatalf("order items on whatsmeow: %d %s", code, body)
	}
}
