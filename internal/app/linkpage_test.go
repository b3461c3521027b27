package app_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// linkPath is the path of a linking page's URL as the API answered it.
func linkPath(t *testing.T, lp map[string]any) string {
	t.Helper()
	raw, _ := lp["url"].(string)
	if !strings.HasPrefix(raw, "https://wa.example.test/ui/link/") {
		t.Fatalf("link page url = %q", raw)
	}
	return strings.TrimPrefix(raw, "https://wa.example.test")
}

// testLinkPages: a partner shares a hosted linking page; its customer
// opens it without a token, links a phone by the QR code it shows, and the
// link stops working then; forged, tampered, revoked and expired links are
// the same 404 that tells nothing about the channel.
func testLinkPages(t *testing.T, e *env) {
	_, ptok := e.partner("linker", 20)
	ch := e.channel(ptok, "Flower shop")
	chTok, id := ch["token"].(string), ch["id"].(string)
	base := "/partner/channels/" + id + "/link-page"

	// Bad input: 400, and nothing is made.
	e.fail(400, "ttl", "POST", base, ptok, map[string]any{"ttl": 10})
	e.fail(400, "ttl", "POST", base, ptok, map[string]any{"ttl": 31 * 24 * 3600})
	e.fail(400, "branding.logoUrl", "POST", base, ptok, map[string]any{"branding": map[string]any{"logoUrl": "http://cdn.example.com/l.png"}})
	e.fail(400, "branding.logoUrl", "POST", base, ptok, map[string]any{"branding": map[string]any{"logoUrl": "https://127.0.0.1/l.png"}})
	e.fail(400, "branding.logoUrl", "POST", base, ptok, map[string]any{"branding": map[string]any{"logoUrl": "https://localhost/l.png"}})
	e.fail(400, "branding.color", "POST", base, ptok, map[string]any{"branding": map[string]any{"color": "red"}})
	e.fail(400, "nope", "POST", base, ptok, map[string]any{"nope": true})
	e.fail(404, "", "POST", "/partner/channels/ZZZZZZ-99999/link-page", ptok, nil)
	_, other := e.partner("other", 5)
	e.fail(404, "", "POST", base, other, nil)

	lp := e.ok(201, "POST", base, ptok, map[string]any{"ttl": 3600,
		"branding": map[string]any{"name": "Acme Flowers", "logoUrl": "https://cdn.example.com/logo.png", "color": "#AA3300"}})
	path := linkPath(t, lp)
	if lp["channelId"] != id || num(lp["expiresAt"]) != e.clock.Now().Add(time.Hour).Unix() || lp["keepAfterLink"] != false {
		t.Fatalf("link page = %v", lp)
	}
	if raw, _ := json.Marshal(lp); strings.Contains(string(raw), chTok) || strings.Contains(string(raw), ptok) {
		t.Fatalf("the link page answer holds a token: %s", raw)
	}

	// The customer's page: branded, with the QR code, and no token.
	b := e.browser("198.51.100.7")
	p := b.get(200, path)
	mustContain(t, "linking page", p.body, "Acme Flowers", `src="https://cdn.example.com/logo.png"`, `id="qr-image"`,
		"data:image/png;base64,", "--brand: #aa3300", path+"/state.json", "Link with a phone number instead")
	mustNotContain(t, "linking page", p.body, chTok, ptok, "csrf")
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://cdn.example.com;") ||
		!strings.Contains(csp, "'nonce-") || p.header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("linking page headers: %v", p.header)
	}
	st := b.get(200, path+"/state.json")
	mustContain(t, "state", st.body, `"state":"qr"`)
	mustNotContain(t, "state", st.body, chTok)

	// Forged and tampered links: 404, and not a word about the channel.
	parts := strings.Split(strings.TrimPrefix(path, "/ui/link/"), ".")
	sig := []byte(parts[2])
	sig[3] ^= 1
	for _, bad := range []string{
		parts[0] + "." + parts[1] + "." + string(sig),                          // signature
		parts[0] + "." + strconvI(num(lp["expiresAt"])+86400) + "." + parts[2], // later expiry
		"AAAAAAAAAAAAAAAAAAAA." + parts[1] + "." + parts[2],                    // another ID
		"nonsense", parts[0] + "." + parts[1], url.PathEscape(parts[0] + "/" + parts[1]), // shapes
	} {
		for _, sub := range []string{"", "/state.json"} {
			p := b.do("GET", "/ui/link/"+bad+sub, nil, nil)
			if p.status != 404 {
				t.Fatalf("GET forged link %q%s: %d", bad, sub, p.status)
			}
			mustNotContain(t, "forged link", p.body, "Acme", id, "Flower", "cdn.example.com")
		}
		if p := b.do("POST", "/ui/link/"+bad+"/pair", url.Values{"phone": {"15550001111"}}, nil); p.status != 404 && p.status != 405 {
			t.Fatalf("POST forged pair %q: %d", bad, p.status)
		}
	}

	// The pairing-code alternative: a bad number says so, a good one gets
	// a code.
	p = b.do("POST", path+"/pair", url.Values{"phone": {"12"}}, nil)
	mustContain(t, "bad pairing number", p.body, `id="pair-error"`, "Phone number")
	e.simPhone("15550002222", "Bob")
	p = b.do("POST", path+"/pair", url.Values{"phone": {"+1 555 000 2222"}}, nil)
	if p.status != 200 || !strings.Contains(p.body, `id="pair-code"`) {
		t.Fatalf("pairing code on the linking page: %d\n%s", p.status, p.body)
	}

	// Revoke: 404 from then on; revoking again is fine; unknown IDs and
	// other partners are 404.
	lp2 := e.ok(201, "POST", base, ptok, nil)
	path2 := linkPath(t, lp2)
	b.get(200, path2)
	e.fail(404, "", "DELETE", base+"/"+lp2["id"].(string), other, nil)
	e.ok(200, "DELETE", base+"/"+lp2["id"].(string), ptok, nil)
	e.ok(200, "DELETE", base+"/"+lp2["id"].(string), ptok, nil)
	e.fail(404, "linking page", "DELETE", base+"/nosuchpage", ptok, nil)
	b.get(404, path2)
	b.get(404, path2+"/state.json")

	// A phone links: the open page's poll says so, then the link refuses.
	lp = e.ok(201, "POST", base, ptok, map[string]any{"ttl": 3600})
	path = linkPath(t, lp)
	b.get(200, path)
	e.linkByQR(chTok, "15550003333", "Carol")
	st = b.get(200, path+"/state.json")
	mustContain(t, "state after linking", st.body, `"state":"linked"`, "15550003333")
	b.get(404, path)
	if p := b.do("POST", path+"/pair", url.Values{"phone": {"15550002222"}}, nil); p.status != 404 {
		t.Fatalf("pair after linking: %d", p.status)
	}
	e.clock.Advance(3 * time.Minute)
	b.get(404, path+"/state.json")

	// A linked channel gets a page only when asked to keep it.
	e.fail(409, "already linked", "POST", base, ptok, nil)
	kept := e.ok(201, "POST", base, ptok, map[string]any{"keepAfterLink": true})
	p = b.get(200, linkPath(t, kept))
	mustContain(t, "kept page", p.body, "✓ Linked", "15550003333")

	// Expiry: a one-minute link works, then does not.
	lp3 := e.ok(201, "POST", base, ptok, map[string]any{"ttl": 60, "keepAfterLink": true})
	path3 := linkPath(t, lp3)
	b.get(200, path3)
	b.get(200, path3+"/state.json")
	e.clock.Advance(61 * time.Second)
	b.get(404, path3)
	b.get(404, path3+"/state.json")
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }
