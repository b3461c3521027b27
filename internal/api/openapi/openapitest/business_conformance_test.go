package openapitest_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"
)

// businessOperations are Whapi's Business group and the interactive and
// carousel sends (issue 15): TestOperations wants them too.
var businessOperations = []string{
	"GET /business",
	"POST /business",
	"GET /business/products",
	"POST /business/products",
	"GET /business/{ContactID}/products",
	"GET /business/products/{ProductID}",
	"POST /business/products/{ProductID}",
	"PATCH /business/products/{ProductID}",
	"DELETE /business/products/{ProductID}",
	"GET /business/orders/{OrderID}",
	"POST /business/catalogs/{ContactID}",
	"POST /business/collections",
	"GET /business/collections",
	"GET /business/collections/products",
	"GET /business/collections/{CollectionID}",
	"PATCH /business/collections/{CollectionID}",
	"DELETE /business/collections/{CollectionID}",
	"GET /business/collections/{CollectionID}/products",
	"POST /messages/interactive",
	"POST /messages/carousel",
	"GET /admin/sim/phones/{phone}/catalog/{business}",
}

// pngPixel is a 1x1 PNG.
var pngPixel, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

// testBusiness drives the Business operations on the sim engine: a
// catalog, collections, a customer's order, and the business sends, with
// their errors.
func testBusiness(t *testing.T, c *apiClient, ptok, expiredToken string) {
	t.Helper()
	const shop, buyer, nobody = "15550004641", "15550004642", "15559999997"
	tok := str(c.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "Shop"}), "token")
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": shop, "name": "Shop"})
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": buyer, "name": "Buyer"})
	qr := c.call(200, "GET", "/users/login", tok, nil)
	c.call(200, "POST", "/admin/sim/phones/"+shop+"/link", adminToken, map[string]any{"qr": str(qr, "rowdata")})
	deadline := time.Now().Add(10 * time.Second)
	for {
		h := c.call(200, "GET", "/health?wakeup=false", tok, nil)
		if st, _ := h["status"].(map[string]any); st["text"] == "AUTH" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health stayed %v", h["status"])
		}
		time.Sleep(10 * time.Millisecond)
	}
	pic := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngPixel)

	// The profile.
	c.call(200, "POST", "/business", tok, map[string]any{"address": "1 Main St", "websites": []string{"https://shop.example"},
		"hours": map[string]any{"timeZone": "Europe/Bucharest", "config": []any{map[string]any{"day": "mon", "mode": "open_24h"}}}})
	c.call(400, "POST", "/business", tok, map[string]any{"email": "not an email"})
	c.raw(415, "POST", "/business", tok, "application/xml", []byte("<x/>"))
	if p := c.call(200, "GET", "/business", tok, nil); p["address"] != "1 Main St" {
		t.Errorf("business profile = %v", p)
	}
	c.call(402, "GET", "/business", expiredToken, nil)

	// Products.
	p := c.call(200, "POST", "/business/products", tok, map[string]any{"name": "Mug", "description": "A mug", "price": 9.5,
		"currency": "USD", "images": []string{pic}, "product_retailer_id": "mug-1"})
	pid := str(p, "id")
	form := url.Values{"name": {"Cup"}, "description": {"A cup"}, "price": {"3"}, "currency": {"USD"}, "images": {`["https://img.example/cup.jpg"]`}}
	c.raw(200, "POST", "/business/products", tok, "application/x-www-form-urlencoded", []byte(form.Encode()))
	c.call(400, "POST", "/business/products", tok, map[string]any{"name": "No images", "description": "x", "price": 1, "currency": "USD"})
	c.call(200, "GET", "/business/products?count=1", tok, nil)
	c.call(400, "GET", "/business/products?count=0", tok, nil)
	c.call(200, "GET", "/business/products/"+pid, tok, nil)
	c.call(404, "GET", "/business/products/1234567890123", tok, nil)
	c.call(200, "PATCH", "/business/products/"+pid, tok, map[string]any{"price": 11, "images": []string{pic}})
	c.call(400, "PATCH", "/business/products/"+pid, tok, map[string]any{"price": -1, "images": []string{pic}})
	c.call(404, "PATCH", "/business/products/1234567890123", tok, map[string]any{"images": []string{pic}})
	c.call(200, "GET", "/business/"+shop+"/products", tok, nil)
	c.call(200, "GET", "/admin/sim/phones/"+buyer+"/catalog/"+shop, adminToken, nil)
	c.call(404, "GET", "/admin/sim/phones/"+buyer+"/catalog/"+nobody, adminToken, nil)
	c.call(400, "GET", "/admin/sim/phones/"+buyer+"/catalog/ab", adminToken, nil)
	c.call(404, "GET", "/business/"+nobody+"/products", tok, nil)
	c.call(400, "GET", "/business/12ab/products", tok, nil)

	// Collections.
	col := str(c.call(200, "POST", "/business/collections", tok, map[string]any{"name": "Kitchen", "products": []string{pid}}), "id")
	c.call(400, "POST", "/business/collections", tok, map[string]any{"name": "Empty"})
	c.raw(415, "POST", "/business/collections", tok, "text/csv", []byte("a"))
	c.call(200, "GET", "/business/collections", tok, nil)
	c.call(200, "GET", "/business/collections/products?products_count=1", tok, nil)
	c.call(400, "GET", "/business/collections/products?products_count=99", tok, nil)
	c.call(200, "GET", "/business/collections/"+col, tok, nil)
	c.call(404, "GET", "/business/collections/999", tok, nil)
	c.call(200, "GET", "/business/collections/"+col+"/products", tok, nil)
	c.call(404, "GET", "/business/collections/999/products", tok, nil)
	c.call(200, "PATCH", "/business/collections/"+col, tok, map[string]any{"name": "Kitchenware"})
	c.call(400, "PATCH", "/business/collections/"+col, tok, map[string]any{})
	c.call(404, "PATCH", "/business/collections/999", tok, map[string]any{"name": "x"})
	c.raw(415, "PATCH", "/business/collections/"+col, tok, "text/csv", []byte("a"))

	// Sends.
	c.call(200, "POST", "/business/products/"+pid, tok, map[string]any{"to": buyer})
	c.call(404, "POST", "/business/products/1234567890123", tok, map[string]any{"to": buyer})
	c.call(400, "POST", "/business/products/"+pid, tok, map[string]any{})
	c.call(402, "POST", "/business/products/"+pid, expiredToken, map[string]any{"to": buyer})
	c.call(200, "POST", "/business/catalogs/"+shop, tok, map[string]any{"to": buyer, "body": "See %URL%"})
	c.call(404, "POST", "/business/catalogs/"+nobody, tok, map[string]any{"to": buyer})
	c.call(400, "POST", "/business/catalogs/"+shop, tok, map[string]any{"to": buyer, "preview_type": "huge"})
	c.raw(415, "POST", "/business/catalogs/"+shop, tok, "text/csv", []byte("a"))
	c.call(200, "POST", "/messages/interactive", tok, map[string]any{"to": buyer, "body": map[string]any{"text": "Pick"},
		"action": map[string]any{"buttons": []any{map[string]any{"type": "quick_reply", "title": "Yes", "id": "y"}}}, "media": pic})
	c.call(400, "POST", "/messages/interactive", tok, map[string]any{"to": buyer, "body": map[string]any{"text": "Pick"}, "action": map[string]any{}})
	c.call(402, "POST", "/messages/interactive", expiredToken, map[string]any{"to": buyer, "action": map[string]any{}})
	c.raw(415, "POST", "/messages/interactive", tok, "text/csv", []byte("a"))
	c.call(200, "POST", "/messages/carousel", tok, map[string]any{"to": buyer, "body": map[string]any{"text": "Look"},
		"cards": []any{map[string]any{"id": "c1", "text": "One", "media": map[string]any{"media": pic},
			"buttons": []any{map[string]any{"type": "url", "title": "Open", "id": "o", "url": "https://shop.example/1"}}}}})
	c.call(400, "POST", "/messages/carousel", tok, map[string]any{"to": buyer, "cards": []any{}})
	c.raw(415, "POST", "/messages/carousel", tok, "text/csv", []byte("a"))

	// An order from the buyer's phone.
	om := c.call(201, "POST", "/admin/sim/phones/"+buyer+"/messages", adminToken, map[string]any{"to": shop, "type": "order",
		"order": map[string]any{"items": []any{map[string]any{"product_id": pid, "quantity": 2}}}})
	order, _ := om["message"].(map[string]any)["order"].(map[string]any)
	oid, otok := str(order, "id"), str(order, "token")
	c.call(200, "GET", "/business/orders/"+oid+"?order_token="+url.QueryEscape(otok), tok, nil)
	c.call(403, "GET", "/business/orders/"+oid+"?order_token=wrong", tok, nil)
	c.call(404, "GET", "/business/orders/1234567890123?order_token=x", tok, nil)
	c.call(404, "POST", "/admin/sim/phones/"+buyer+"/messages", adminToken, map[string]any{"to": shop, "type": "order",
		"order": map[string]any{"items": []any{map[string]any{"product_id": "1234567890123"}}}})

	// Deletes.
	c.call(200, "DELETE", "/business/collections/"+col, tok, nil)
	c.call(404, "DELETE", "/business/collections/"+col, tok, nil)
	c.call(200, "DELETE", "/business/products/"+pid, tok, nil)
	c.call(404, "DELETE", "/business/products/"+pid, tok, nil)
	if len(oid) != 16 || strings.Trim(oid, "0123456789") != "" {
		t.Errorf("order ID %q, want 16 digits", oid)
	}
}
