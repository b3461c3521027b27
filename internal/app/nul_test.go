package app_test

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestNULCharacter: one rule for U+0000 on both databases. Sent, it is a
// 400 naming the field and nothing is sent; received, it is kept as
// U+FFFD, never dropped (PostgreSQL used to answer 500 after WhatsApp got
// the message, and to drop incoming messages with it).
func TestNULCharacter(t *testing.T) {
	v := openapitest.New(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, v, b)
			_, tokA, tokB := e.twoLinked("nul", "15550301001", "15550301002")
			for _, tc := range []struct {
				path, field string
				body        map[string]any
			}{
				{"/messages/text", "body", map[string]any{"to": "15550301002", "body": "a\x00b"}},
				{"/messages/text", "to", map[string]any{"to": "15550301002\x00", "body": "hi"}},
				{"/messages/image", "caption", map[string]any{"to": "15550301002", "caption": "\x00", "media": dataURI("image/png", pngBytes)}},
				{"/messages/location", "url", map[string]any{"to": "15550301002", "latitude": 1, "longitude": 2, "url": "https://x.example/\x00"}},
				{"/messages/poll", "options[1]", map[string]any{"to": "15550301002", "title": "?", "options": []string{"a", "b\x00"}}},
				{"/messages/contact", "vcard", map[string]any{"to": "15550301002", "name": "N", "vcard": "BEGIN:VCARD\x00END:VCARD"}},
			} {
				msg := e.fail(400, tc.field+": must not contain U+0000", "POST", tc.path, tokA, tc.body)
				if strings.Contains(msg, "\x00") {
					t.Errorf("%s: the message echoes the NUL", tc.path)
				}
			}
			for _, tok := range []string{tokA, tokB} {
				if n := num(e.ok(200, "GET", "/messages/list", tok, nil)["total"]); n != 0 {
					t.Fatalf("a refused send left %d messages", n)
				}
			}

			// Received: kept, with U+FFFD in place of U+0000.
			e.simPhone("15550301003", "Carla")
			m := e.ok(201, "POST", "/admin/sim/phones/15550301003/messages", adminToken, map[string]any{"to": "15550301001", "body": "hi\x00there"})
			id := m["message"].(map[string]any)["id"].(string)
			got := e.messageOn(tokA, id)
			if body := got["text"].(map[string]any)["body"]; body != "hi\uFFFDthere" {
				t.Fatalf("received body = %q, want U+FFFD for U+0000", body)
			}
		})
	}
}
