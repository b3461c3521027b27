package app_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
)

// testBusiness drives Whapi's Business group and the interactive and
// carousel sends on the sim engine end to end: what each changes is
// checked where it shows (the catalog another channel reads, the buyer's
// phone, the order the shop reads back), with bad input, another
// channel's objects, and the trial limits counting the new sends.
func testBusiness(t *testing.T, e *env) {
	_, ptok := e.partner("business", 10)
	const shop, other, buyer, nobody = "15550505050", "15550505051", "15550505052", "15550505059"
	tok, _ := e.linkedChannel(ptok, "Shop", shop)
	tok2, _ := e.linkedChannel(ptok, "Other", other)
	e.simPhone(buyer, "Buyer")
	pic := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngPixel(t))

	// The business profile: kept, shown, checked.
	e.ok(200, "POST", "/business", tok, map[string]any{"address": "1 Main St", "description": "Mugs", "email": "shop@example.com",
		"websites": []string{"https://shop.example"},
		"hours": map[string]any{"timeZone": "Europe/Bucharest", "config": []any{
			map[string]any{"day": "mon", "mode": "specific_hours", "openTime": 540, "closeTime": 1020}}}})
	p := e.ok(200, "GET", "/business", tok, nil)
	if p["id"] != shop || p["address"] != "1 Main St" || p["email"] != "shop@example.com" || !strings.Contains(fmtJSON(p["hours"]), `"openTime":540`) {
		t.Fatalf("business profile = %v", p)
	}
	e.ok(200, "POST", "/business", tok, map[string]any{"description": "Mugs and cups"})
	if p := e.ok(200, "GET", "/business", tok, nil); p["description"] != "Mugs and cups" || p["address"] != "1 Main St" {
		t.Fatalf("profile after a partial change = %v", p)
	}
	e.fail(400, "email", "POST", "/business", tok, map[string]any{"email": "nope"})
	e.fail(400, "websites", "POST", "/business", tok, map[string]any{"websites": []string{"a", "b", "c"}})
	e.fail(400, "hours.config[0].day", "POST", "/business", tok, map[string]any{"hours": map[string]any{"config": []any{map[string]any{"day": "someday", "mode": "open_24h"}}}})
	if code, _, _ := e.raw("POST", "/business", tok, "text/csv", []byte("a")); code != 415 {
		t.Fatalf("POST /business as CSV: %d", code)
	}
	if p := e.ok(200, "GET", "/business", tok2, nil); p["address"] != "" || p["id"] != other {
		t.Fatalf("another channel's profile = %v", p)
	}

	// Products: an uploaded image becomes the channel's media; a hidden
	// product is not shown to others.
	mug := e.ok(200, "POST", "/business/products", tok, map[string]any{"name": "Mug", "description": "A blue mug", "price": 9.5,
		"currency": "USD", "images": []string{pic}, "product_retailer_id": "mug-1", "availability": "in stock"})
	mugID := mug["id"].(string)
	img := mug["images"].([]any)[0].(string)
	mediaID := img[strings.LastIndex(img, "/")+1:]
	if code, body, _ := e.raw("GET", "/media/"+mediaID, tok, "", nil); code != 200 || !strings.HasPrefix(string(body), "\x89PNG") {
		t.Fatalf("the product's image %s: %d", img, code)
	}
	form := url.Values{"name": {"Secret"}, "description": {"Not yet"}, "price": {"3"}, "currency": {"USD"},
		"images": {`["https://img.example/secret.jpg"]`}, "is_hidden": {"true"}}
	code, body, _ := e.raw("POST", "/business/products", tok, "application/x-www-form-urlencoded", []byte(form.Encode()))
	if code != 200 || !strings.Contains(string(body), `"is_hidden":true`) {
		t.Fatalf("a product from a form: %d %s", code, body)
	}
	if l := e.ok(200, "GET", "/business/products", tok, nil); l["total"].(float64) != 2 {
		t.Fatalf("own catalog = %v", l)
	}
	if l := e.ok(200, "GET", "/business/products?count=1&offset=1", tok, nil); len(l["products"].([]any)) != 1 || l["offset"].(float64) != 1 {
		t.Fatalf("second page = %v", l)
	}
	seen := e.ok(200, "GET", "/business/"+shop+"/products", tok2, nil)
	if seen["total"].(float64) != 1 || !strings.Contains(fmtJSON(seen), "A blue mug") || strings.Contains(fmtJSON(seen), "Secret") {
		t.Fatalf("the shop's catalog seen by another channel = %v", seen)
	}
	if l := e.ok(200, "GET", "/admin/sim/phones/"+buyer+"/catalog/"+shop, adminToken, nil); !strings.Contains(fmtJSON(l), "A blue mug") || strings.Contains(fmtJSON(l), "Secret") {
		t.Fatalf("the shop's catalog seen by a phone = %v", l)
	}
	e.fail(404, "not on WhatsApp", "GET", "/admin/sim/phones/"+buyer+"/catalog/"+nobody, adminToken, nil)
	e.fail(400, "business", "GET", "/admin/sim/phones/"+buyer+"/catalog/12ab", adminToken, nil)
	e.fail(404, "not on WhatsApp", "GET", "/business/"+nobody+"/products", tok, nil)
	e.fail(400, "ContactID", "GET", "/business/12ab/products", tok, nil)
	e.fail(404, "not found", "GET", "/business/products/"+mugID, tok2, nil) // another channel's product
	e.fail(404, "not found", "GET", "/business/products/abc", tok, nil)
	e.fail(400, "images", "POST", "/business/products", tok, map[string]any{"name": "x", "description": "x", "price": 1, "currency": "USD"})
	e.fail(400, "currency", "POST", "/business/products", tok, map[string]any{"name": "x", "description": "x", "price": 1, "currency": "dollars", "images": []string{pic}})
	e.fail(400, "name", "POST", "/business/products", tok, map[string]any{"description": "x", "price": 1, "currency": "USD", "images": []string{pic}})
	e.fail(400, "images[0]", "POST", "/business/products", tok, map[string]any{"name": "x", "description": "x", "price": 1, "currency": "USD", "images": []string{"!!"}})
	e.fail(415, "", "POST", "/business/products", tok, map[string]any{"name": "x", "description": "x", "price": 1, "currency": "USD",
		"images": []string{"data:text/plain;base64," + base64.StdEncoding.EncodeToString([]byte("text"))}})
	upd := e.ok(200, "PATCH", "/business/products/"+mugID, tok, map[string]any{"price": 12, "images": []string{"https://img.example/mug.jpg"}})
	if upd["price"].(float64) != 12 || upd["name"] != "Mug" || fmtJSON(upd["images"]) != `["https://img.example/mug.jpg"]` {
		t.Fatalf("changed product = %v", upd)
	}
	e.fail(400, "images", "PATCH", "/business/products/"+mugID, tok, map[string]any{"price": 1})
	e.fail(404, "not found", "PATCH", "/business/products/"+mugID, tok2, map[string]any{"images": []string{pic}})
	if p := e.ok(200, "GET", "/business/products/"+mugID, tok, nil); p["price"].(float64) != 12 {
		t.Fatalf("product after PATCH = %v", p)
	}

	// Collections.
	cup := e.ok(200, "POST", "/business/products", tok, map[string]any{"name": "Cup", "description": "A cup", "price": 4,
		"currency": "USD", "images": []string{"https://img.example/cup.jpg"}})["id"].(string)
	col := e.ok(200, "POST", "/business/collections", tok, map[string]any{"name": "Kitchen", "products": []string{mugID}})
	colID := col["id"].(string)
	e.fail(400, "products", "POST", "/business/collections", tok, map[string]any{"name": "Ghost", "products": []string{"1234567890123"}})
	e.fail(400, "name", "POST", "/business/collections", tok, map[string]any{"products": []string{mugID}})
	e.ok(200, "PATCH", "/business/collections/"+colID, tok, map[string]any{"name": "Kitchenware", "add_products": []string{cup}})
	got := e.ok(200, "GET", "/business/collections/"+colID, tok, nil)
	if got["name"] != "Kitchenware" || len(got["products"].([]any)) != 2 {
		t.Fatalf("collection = %v", got)
	}
	if l := e.ok(200, "GET", "/business/collections/products?products_count=1", tok, nil); len(l["collections"].([]any)[0].(map[string]any)["products"].([]any)) != 1 {
		t.Fatalf("collections with 1 product = %v", l)
	}
	if l := e.ok(200, "GET", "/business/collections", tok, nil); l["total"].(float64) != 1 {
		t.Fatalf("collections = %v", l)
	}
	if l := e.ok(200, "GET", "/business/collections", tok2, nil); l["total"].(float64) != 0 {
		t.Fatalf("another channel's collections = %v", l)
	}
	if l := e.ok(200, "GET", "/business/collections/"+colID+"/products?products_count=1", tok, nil); l["total"].(float64) != 2 || len(l["products"].([]any)) != 1 {
		t.Fatalf("collection products = %v", l)
	}
	e.fail(404, "not found", "GET", "/business/collections/"+colID, tok2, nil)
	e.fail(400, "products_count", "GET", "/business/collections/"+colID+"/products?products_count=0", tok, nil)
	e.ok(200, "PATCH", "/business/collections/"+colID, tok, map[string]any{"remove_products": []string{cup}})
	if got := e.ok(200, "GET", "/business/collections/"+colID, tok, nil); len(got["products"].([]any)) != 1 {
		t.Fatalf("collection after removing = %v", got)
	}
	e.fail(400, "add_products[0]", "PATCH", "/business/collections/"+colID, tok, map[string]any{"add_products": []string{"x"}})

	// Sends reach the buyer's phone.
	e.ok(200, "POST", "/business/products/"+mugID, tok, map[string]any{"to": buyer})
	e.eventually("the product", func() bool { return e.inboxHas(buyer, `"product_id":"`+mugID+`"`) })
	e.fail(400, "catalog_id", "POST", "/business/products/"+mugID, tok, map[string]any{"to": buyer, "catalog_id": other})
	e.fail(400, "to", "POST", "/business/products/"+mugID, tok, map[string]any{})
	e.ok(200, "POST", "/business/catalogs/"+shop, tok, map[string]any{"to": buyer, "body": "Our catalog: %URL%", "title": "Shop"})
	e.eventually("the catalog link", func() bool { return e.inboxHas(buyer, "Our catalog: https://wa.me/c/"+shop) })
	e.fail(404, "not on WhatsApp", "POST", "/business/catalogs/"+nobody, tok, map[string]any{"to": buyer})
	buttonsSent := e.ok(200, "POST", "/messages/interactive", tok, map[string]any{"to": buyer, "header": map[string]any{"text": "Hi"},
		"body": map[string]any{"text": "Pick one"}, "footer": map[string]any{"text": "Shop"}, "media": pic,
		"action": map[string]any{"buttons": []any{
			map[string]any{"type": "quick_reply", "title": "Yes please", "id": "yes"},
			map[string]any{"type": "url", "title": "Website", "id": "web", "url": "https://shop.example"},
			map[string]any{"type": "call", "title": "Call us", "id": "call", "phone_number": shop},
			map[string]any{"type": "copy", "title": "Code", "id": "code", "copy_code": "SAVE10"}}}})
	e.eventually("the buttons", func() bool { return e.inboxHas(buyer, "Yes please") && e.inboxHas(buyer, "SAVE10") })
	// The buyer taps "Yes please": the shop gets a reply quoting the buttons.
	buttonsID := buttonsSent["message"].(map[string]any)["id"].(string)
	e.ok(201, "POST", "/admin/sim/phones/"+buyer+"/messages", adminToken, map[string]any{"to": shop, "type": "reply",
		"quoted_id": buttonsID, "reply": map[string]any{"id": "yes", "title": "Yes please"}})
	e.eventually("the reply", func() bool {
		for _, m := range e.ok(200, "GET", "/messages/list", tok, nil)["messages"].([]any) {
			mm := m.(map[string]any)
			if mm["type"] == "reply" {
				r := mm["reply"].(map[string]any)
				if r["type"] != "buttons_reply" || fmtJSON(r["buttons_reply"]) != `{"id":"yes","title":"Yes please"}` ||
					mm["context"].(map[string]any)["quoted_id"] != buttonsID {
					t.Fatalf("reply = %v", mm)
				}
				return true
			}
		}
		return false
	})
	e.fail(400, "quoted_id", "POST", "/admin/sim/phones/"+buyer+"/messages", adminToken, map[string]any{"to": shop, "type": "reply",
		"reply": map[string]any{"id": "yes", "title": "Yes please"}})
	sentList := e.ok(200, "POST", "/messages/interactive", tok, map[string]any{"to": buyer, "body": map[string]any{"text": "Menu"},
		"action": map[string]any{"list": map[string]any{"label": "Open", "sections": []any{map[string]any{"title": "Drinks",
			"rows": []any{map[string]any{"id": "tea", "title": "Tea", "description": "Hot"}}}}}}})
	if m := sentList["message"].(map[string]any); m["type"] != "interactive" || !strings.Contains(fmtJSON(m["interactive"]), `"label":"Open"`) {
		t.Fatalf("sent list = %v", m)
	}
	e.eventually("the list", func() bool { return e.inboxHas(buyer, `"label":"Open"`) })
	e.ok(200, "POST", "/messages/carousel", tok, map[string]any{"to": buyer, "body": map[string]any{"text": "Look"},
		"cards": []any{map[string]any{"id": "c1", "text": "Card one", "media": map[string]any{"media": pic},
			"buttons": []any{map[string]any{"type": "quick_reply", "title": "Buy", "id": "buy"}}}}})
	e.eventually("the carousel", func() bool { return e.inboxHas(buyer, "Card one") })
	e.ok(200, "POST", "/messages/interactive", tok, map[string]any{"to": buyer, "body": map[string]any{"text": "Our best"},
		"action": map[string]any{"product": map[string]any{"catalog_id": shop, "product_id": mugID}}})
	e.eventually("the interactive product", func() bool {
		return e.inboxHas(buyer, `"currency":"USD","price":12,"product_id":"`+mugID+`","title":"Mug"`)
	})
	e.fail(404, "not found", "POST", "/messages/interactive", tok, map[string]any{"to": buyer,
		"action": map[string]any{"product": map[string]any{"catalog_id": shop, "product_id": "1234567890123"}}})
	e.fail(400, "action.product.catalog_id", "POST", "/messages/interactive", tok, map[string]any{"to": buyer,
		"action": map[string]any{"product": map[string]any{"product_id": mugID}}})
	e.fail(400, "ContactID", "POST", "/business/catalogs/12ab", tok, map[string]any{"to": buyer})
	if code, body, _ := e.raw("POST", "/messages/interactive", tok, "application/x-www-form-urlencoded", []byte(url.Values{"to": {buyer},
		"body": {`{"text":"From a form"}`}, "action": {`{"buttons":[{"type":"quick_reply","title":"OK","id":"ok"}]}`}}.Encode())); code != 200 {
		t.Fatalf("interactive from a form: %d %s", code, body)
	}
	e.eventually("the form's buttons", func() bool { return e.inboxHas(buyer, "From a form") })
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("to", buyer)
	_ = mw.WriteField("body", `{"text":"Multipart"}`)
	_ = mw.WriteField("action", `{"buttons":[{"type":"quick_reply","title":"OK","id":"ok"}]}`)
	_ = mw.WriteField("media", strings.Repeat("A", 70<<10))
	_ = mw.Close()
	if code, body, _ := e.raw("POST", "/messages/interactive", tok, mw.FormDataContentType(), mp.Bytes()); code != 400 || !strings.Contains(string(body), "media: a form field has at most 64 KiB") {
		t.Fatalf("an oversized form field: %d %s", code, body)
	}
	e.fail(400, "action.buttons", "POST", "/messages/interactive", tok, map[string]any{"to": buyer, "body": map[string]any{"text": "x"}, "action": map[string]any{}})
	e.fail(400, "action.buttons[0].url", "POST", "/messages/interactive", tok, map[string]any{"to": buyer, "body": map[string]any{"text": "x"},
		"action": map[string]any{"buttons": []any{map[string]any{"type": "url", "title": "Go", "id": "go"}}}})
	e.fail(400, "body.text", "POST", "/messages/interactive", tok, map[string]any{"to": buyer,
		"action": map[string]any{"buttons": []any{map[string]any{"type": "quick_reply", "title": "Go", "id": "go"}}}})
	e.fail(400, "cards[0].media.media", "POST", "/messages/carousel", tok, map[string]any{"to": buyer,
		"cards": []any{map[string]any{"id": "c1", "buttons": []any{map[string]any{"type": "quick_reply", "title": "Buy", "id": "buy"}}}}})
	e.fail(400, "cards", "POST", "/messages/carousel", tok, map[string]any{"to": buyer})
	e.fail(400, "action", "POST", "/messages/interactive", tok, map[string]any{"to": buyer, "body": map[string]any{"text": "x"},
		"action": map[string]any{"buttons": []any{map[string]any{"type": "quick_reply", "title": "N\u0000UL", "id": "n"}}}})
	if code, _, _ := e.raw("POST", "/messages/carousel", tok, "text/csv", []byte("a")); code != 415 {
		t.Fatalf("carousel as CSV: %d", code)
	}
	e.fail(404, "not on WhatsApp", "POST", "/messages/interactive", tok, map[string]any{"to": nobody, "body": map[string]any{"text": "x"},
		"action": map[string]any{"buttons": []any{map[string]any{"type": "quick_reply", "title": "Go", "id": "go"}}}})

	// The buyer orders two mugs: the shop gets an order message and reads
	// its items with the token; others cannot.
	e.ok(201, "POST", "/admin/sim/phones/"+buyer+"/messages", adminToken, map[string]any{"to": shop, "type": "order",
		"order": map[string]any{"text": "Two please", "items": []any{map[string]any{"product_id": mugID, "quantity": 2}}}})
	var order map[string]any
	e.eventually("the order message", func() bool {
		for _, m := range e.ok(200, "GET", "/messages/list", tok, nil)["messages"].([]any) {
			if mm := m.(map[string]any); mm["type"] == "order" {
				order = mm["order"].(map[string]any)
				return true
			}
		}
		return false
	})
	if order["total_price"].(float64) != 24 || order["item_count"].(float64) != 2 || order["seller"] != shop || order["status"] != "new" {
		t.Fatalf("order message = %v", order)
	}
	oid, otok := order["order_id"].(string), order["token"].(string)
	items := e.ok(200, "GET", "/business/orders/"+oid+"?order_token="+url.QueryEscape(otok), tok, nil)["items"].([]any)
	if it := items[0].(map[string]any); len(items) != 1 || it["id"] != mugID || it["quantity"].(float64) != 2 || it["price"].(float64) != 12 || it["name"] != "Mug" {
		t.Fatalf("order items = %v", items)
	}
	e.fail(403, "order_token", "GET", "/business/orders/"+oid+"?order_token=wrong", tok, nil)
	e.fail(403, "order_token", "GET", "/business/orders/"+oid, tok, nil)
	e.fail(404, "order not found", "GET", "/business/orders/"+oid+"?order_token="+url.QueryEscape(otok), tok2, nil)
	e.fail(404, "order", "GET", "/business/orders/abc?order_token=x", tok, nil)
	e.fail(404, "product", "POST", "/admin/sim/phones/"+buyer+"/messages", adminToken, map[string]any{"to": shop, "type": "order",
		"order": map[string]any{"items": []any{map[string]any{"product_id": "1234567890123"}}}})

	// Deleting: the product leaves its collections.
	e.ok(200, "DELETE", "/business/products/"+mugID, tok, nil)
	if got := e.ok(200, "GET", "/business/collections/"+colID, tok, nil); len(got["products"].([]any)) != 0 {
		t.Fatalf("collection after deleting its product = %v", got)
	}
	e.fail(404, "not found", "DELETE", "/business/products/"+mugID, tok, nil)
	e.fail(404, "not found", "DELETE", "/business/collections/"+colID, tok2, nil)
	e.ok(200, "DELETE", "/business/collections/"+colID, tok, nil)
	e.fail(404, "not found", "GET", "/business/collections/"+colID, tok, nil)

	// The trial limits count interactive messages and carousels.
	e.ok(200, "PATCH", "/admin/settings", adminToken, map[string]any{"limit_messages_per_day": 2})
	defer e.ok(200, "PATCH", "/admin/settings", adminToken, map[string]any{"limit_messages_per_day": 150})
	buttons := map[string]any{"buttons": []any{map[string]any{"type": "quick_reply", "title": "OK", "id": "ok"}}}
	e.ok(200, "POST", "/messages/interactive", tok2, map[string]any{"to": buyer, "body": map[string]any{"text": "one"}, "action": buttons})
	e.ok(200, "POST", "/messages/carousel", tok2, map[string]any{"to": buyer, "cards": []any{map[string]any{"id": "c", "media": map[string]any{"media": pic},
		"buttons": buttons["buttons"]}}})
	e.fail(402, "limit exceeded", "POST", "/messages/interactive", tok2, map[string]any{"to": buyer, "body": map[string]any{"text": "three"}, "action": buttons})
	e.fail(402, "limit exceeded", "POST", "/messages/carousel", tok2, map[string]any{"to": buyer, "cards": []any{map[string]any{"id": "c",
		"media": map[string]any{"media": pic}, "buttons": buttons["buttons"]}}})
}

// pngPixel is a small PNG image.
func pngPixel(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
