package sim_test

import (
	"encoding/json"
	"testing"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
)

// A business's catalog, collections and orders: what others see of it, an
// order a phone sends, the business kinds delivered, and all of it kept
// through a snapshot.
func TestBusiness(t *testing.T) {
	n := newNet(t, sim.Options{})
	a, b, c := number(1), number(2), number(3)
	for _, p := range []string{a, b, c} {
		addPhone(t, n, p, "P"+p[len(p)-1:])
	}
	ca, cb := link(t, n, "A", a), link(t, n, "B", b)
	ba, bb := ca.s.(engine.Businesser), cb.s.(engine.Businesser)

	addr := "1 Main St"
	noErr(t, ba.SetBusinessProfile(ctx, engine.BusinessProfileUpdate{Address: &addr}))
	if p := val(bb.BusinessProfile(ctx, sim.JID(a))).get(t); p.Address != addr || p.JID != sim.JID(a) {
		t.Fatalf("A's profile seen by B: %+v", p)
	}
	_, err := bb.BusinessProfile(ctx, "15559999999")
	wantErr(t, err, sim.ErrNotOnWhatsApp)

	img := []engine.ProductImage{{URL: "https://img.example/1.jpg"}}
	mug := val(ba.CreateProduct(ctx, engine.Product{Name: "Mug", Price: 5, Currency: "EUR", Images: img})).get(t)
	secret := val(ba.CreateProduct(ctx, engine.Product{Name: "Secret", Price: 1, Currency: "EUR", Images: img, Hidden: true})).get(t)
	if len(mug.ID) != 16 || mug.Review != "approved" || mug.Availability != "in stock" {
		t.Fatalf("created product %+v", mug)
	}
	_, err = ba.CreateProduct(ctx, engine.Product{Name: "No image", Currency: "EUR"})
	wantErr(t, err, sim.ErrInvalidContent)
	if own := val(ba.Catalog(ctx, "")).get(t); len(own) != 2 {
		t.Fatalf("own catalog %+v", own)
	}
	if seen := val(bb.Catalog(ctx, sim.JID(a))).get(t); len(seen) != 1 || seen[0].ID != mug.ID {
		t.Fatalf("A's catalog seen by B: %+v", seen)
	}
	_, err = bb.UpdateProduct(ctx, mug) // B has no such product
	wantErr(t, err, engine.ErrProductNotFound)

	col := val(ba.CreateCollection(ctx, "All", []string{mug.ID, secret.ID})).get(t)
	_, err = ba.CreateCollection(ctx, "Ghost", []string{"1234567890123"})
	wantErr(t, err, engine.ErrProductNotFound)
	noErr(t, ba.DeleteProduct(ctx, secret.ID))
	if cols := val(ba.Collections(ctx)).get(t); len(cols) != 1 || len(cols[0].Products) != 1 || cols[0].ID != col.ID {
		t.Fatalf("collections after deleting a product: %+v", cols)
	}

	// C orders three mugs; A reads the order with its token.
	m := val(n.SendOrder(c, a, "For the office", []sim.OrderLine{{ProductID: mug.ID, Quantity: 3}})).get(t)
	var got engine.Message
	for {
		if ev, ok := ca.ev.next(t).(engine.Message); ok && ev.ID == m.ID {
			got = ev
			break
		}
	}
	o := got.Content.Order
	if got.Content.Kind != engine.KindOrder || o == nil || o.TotalPrice != 15 || o.ItemCount != 3 || o.Seller != sim.JID(a) || o.Text != "For the office" {
		t.Fatalf("order message %+v", got.Content)
	}
	full := val(ba.Order(ctx, o.ID, o.Token)).get(t)
	if len(full.Items) != 1 || full.Items[0].Quantity != 3 || full.Items[0].Price != 5 || full.Items[0].Image != img[0].URL {
		t.Fatalf("order %+v", full)
	}
	_, err = ba.Order(ctx, o.ID, "wrong")
	wantErr(t, err, engine.ErrOrderToken)
	_, err = bb.Order(ctx, o.ID, o.Token)
	wantErr(t, err, engine.ErrOrderNotFound)
	_, err = n.SendOrder(c, a, "", []sim.OrderLine{{ProductID: secret.ID, Quantity: 1}})
	wantErr(t, err, engine.ErrProductNotFound)

	// Interactive messages and carousels reach the phone with their files.
	pic := &engine.Media{Data: []byte("\xff\xd8\xff jpeg"), MimeType: "image/jpeg"}
	val(ca.s.Send(ctx, sim.JID(c), engine.Content{Kind: engine.KindInteractive, Text: "Pick", Interactive: &engine.Interactive{
		Type: engine.InteractiveButton, HeaderMedia: pic, Buttons: []engine.Button{{Type: engine.ButtonQuickReply, ID: "y", Title: "Yes"}}}})).get(t)
	_, err = ca.s.Send(ctx, sim.JID(c), engine.Content{Kind: engine.KindInteractive, Text: "Pick", Interactive: &engine.Interactive{
		Type: engine.InteractiveButton, Buttons: []engine.Button{{Type: engine.ButtonURL, ID: "u", Title: "Go"}}}})
	wantErr(t, err, sim.ErrInvalidContent)
	val(ca.s.Send(ctx, sim.JID(c), engine.Content{Kind: engine.KindCarousel, Carousel: &engine.Carousel{Cards: []engine.CarouselCard{
		{ID: "1", Media: pic, Buttons: []engine.Button{{Type: engine.ButtonQuickReply, ID: "b", Title: "Buy"}}}}}})).get(t)
	inbox := val(n.Inbox(c)).get(t)
	last := inbox[len(inbox)-1].Content
	if last.Kind != engine.KindCarousel || len(last.Carousel.Cards) != 1 || last.Carousel.Cards[0].Media.Size != int64(len(pic.Data)) {
		t.Fatalf("carousel in the inbox: %+v", last)
	}

	// A snapshot keeps the business data and leaves the files' bytes out.
	snap := n.Snapshot()
	raw, err := json.Marshal(snap)
	noErr(t, err)
	var back sim.Snapshot
	noErr(t, json.Unmarshal(raw, &back))
	for _, m := range back.Messages {
		if in := m.Content.Interactive; in != nil && in.HeaderMedia != nil && len(in.HeaderMedia.Data) > 0 {
			t.Fatal("a snapshot keeps a header file's bytes")
		}
	}
	n2 := newNet(t, sim.Options{})
	n2.Load(back)
	ca2 := open(t, n2, "A", ca.dev)
	noErr(t, ca2.s.Connect(ctx))
	next[engine.Connected](t, ca2.ev)
	ba2 := ca2.s.(engine.Businesser)
	if cat := val(ba2.Catalog(ctx, "")).get(t); len(cat) != 1 || cat[0].ID != mug.ID {
		t.Fatalf("catalog after a snapshot: %+v", cat)
	}
	if p := val(ba2.BusinessProfile(ctx, "")).get(t); p.Address != addr {
		t.Fatalf("profile after a snapshot: %+v", p)
	}
	val(ba2.Order(ctx, o.ID, o.Token)).get(t)
}
