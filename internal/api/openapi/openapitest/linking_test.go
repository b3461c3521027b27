package openapitest_test

import (
	"testing"
	"time"
)

// waitAuth waits until the channel with token tok is linked and online.
func (c *apiClient) waitAuth(t *testing.T, tok string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h := c.call(200, "GET", "/health?wakeup=false", tok, nil)
		if st, _ := h["status"].(map[string]any); st["text"] == "AUTH" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health stayed %v", h["status"])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// linkPhone creates a channel of the partner with token ptok and a sim
// phone, links them by the channel's QR code and returns the channel's
// token once it is online.
func (c *apiClient) linkPhone(t *testing.T, ptok, name, phone string) string {
	t.Helper()
	tok := str(c.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": name}), "token")
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": phone, "name": name})
	qr := c.call(200, "GET", "/users/login", tok, nil)
	c.call(200, "POST", "/admin/sim/phones/"+phone+"/link", adminToken, map[string]any{"qr": str(qr, "rowdata")})
	c.waitAuth(t, tok)
	return tok
}
