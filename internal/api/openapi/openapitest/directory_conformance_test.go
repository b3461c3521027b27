package openapitest_test

import (
	"bytes"
	"image"
	"image/png"
	"strings"
	"testing"
)

// testGroupsContactsPresences drives the groups, contacts and presences
// operations (and their usual errors) through the validating transport.
func testGroupsContactsPresences(t *testing.T, c *apiClient, ptok, expiredToken string) {
	t.Helper()
	const owner, member, other, nobody = "15550005551", "15550005552", "15550005553", "15559999997"
	link := func(name, phone string) string { t.Helper(); return c.linkPhone(t, ptok, name, phone) }
	unlinked := str(c.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "directory, unlinked"}), "token")
	tok := link("Owner", owner)
	tok2 := link("Other", other)
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": member, "name": "Member"})
	big := `{"subject":"` + strings.Repeat("x", 2<<20) + `"}`

	// Groups.
	c.call(409, "GET", "/groups", unlinked, nil)
	c.call(402, "GET", "/groups", expiredToken, nil)
	c.call(200, "GET", "/groups", tok, nil)
	c.call(400, "GET", "/groups?offset=-1", tok, nil)
	c.call(400, "POST", "/groups", tok, map[string]any{"subject": "", "participants": []string{member}})
	c.call(413, "POST", "/groups", tok, big)
	g := c.call(200, "POST", "/groups", tok, map[string]any{"subject": "Team", "participants": []any{member, nobody}})
	gid := str(g, "id")
	c.call(200, "GET", "/groups?count=1", tok, nil)
	c.call(200, "GET", "/groups/"+gid, tok, nil)
	c.call(400, "GET", "/groups/nope", tok, nil)
	c.call(404, "GET", "/groups/120363000000000001@g.us", tok, nil)
	c.call(200, "PUT", "/groups/"+gid, tok, map[string]any{"subject": "Team 2", "description": "about"})
	c.call(400, "PUT", "/groups/"+gid, tok, map[string]any{})
	c.call(404, "PUT", "/groups/120363000000000001@g.us", tok, map[string]any{"subject": "x"})
	c.call(413, "PUT", "/groups/"+gid, tok, big)
	c.call(200, "PATCH", "/groups/"+gid, tok, map[string]any{"setting": "send_messages", "policy": "admins"})
	c.call(400, "PATCH", "/groups/"+gid, tok, map[string]any{"setting": "nope", "policy": "admins"})
	code := str(c.call(200, "GET", "/groups/"+gid+"/invite", tok, nil), "invite_code")
	c.call(200, "GET", "/groups/link/"+code, tok, nil)
	c.call(400, "GET", "/groups/link/no!", tok, nil)
	c.call(404, "GET", "/groups/link/AAAAAAAAAAAAAAAAAAAAAA", tok, nil)
	c.call(404, "PUT", "/groups", tok2, map[string]any{"invite_code": "AAAAAAAAAAAAAAAAAAAAAA"})
	c.call(400, "PUT", "/groups", tok2, map[string]any{"invite_code": ""})
	c.call(200, "PUT", "/groups", tok2, map[string]any{"invite_code": code})
	c.call(403, "GET", "/groups/"+gid+"/invite", tok2, nil)
	c.call(403, "DELETE", "/groups/"+gid+"/invite", tok2, nil)
	c.call(200, "DELETE", "/groups/"+gid+"/invite", tok, nil)
	c.call(200, "POST", "/groups/"+gid+"/participants", tok, map[string]any{"participants": []string{nobody}})
	c.call(400, "POST", "/groups/"+gid+"/participants", tok, map[string]any{"participants": []string{}})
	c.call(403, "POST", "/groups/"+gid+"/participants", tok2, map[string]any{"participants": []string{member}})
	c.call(200, "PATCH", "/groups/"+gid+"/admins", tok, map[string]any{"participants": []string{member}})
	c.call(200, "DELETE", "/groups/"+gid+"/admins", tok, map[string]any{"participants": []string{member}})
	c.call(200, "DELETE", "/groups/"+gid+"/participants", tok, map[string]any{"participants": []string{member}})
	c.call(404, "DELETE", "/groups/120363000000000001@g.us/participants", tok, map[string]any{"participants": []string{member}})
	var pic bytes.Buffer
	if err := png.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 32, 32))); err != nil {
		t.Fatal(err)
	}
	c.call(200, "PUT", "/groups/"+gid+"/icon", tok, pic.Bytes())
	c.call(415, "PUT", "/groups/"+gid+"/icon", tok, "GIF89a\x01\x00\x01\x00\x00\x00\x00;")
	c.call(413, "PUT", "/groups/"+gid+"/icon", tok, "\x89PNG\r\n\x1a\n"+strings.Repeat("x", 5<<20))
	c.call(403, "PUT", "/groups/"+gid+"/icon", tok2, pic.Bytes())
	c.call(200, "DELETE", "/groups/"+gid+"/icon", tok, nil)
	c.call(200, "DELETE", "/groups/"+gid, tok2, nil)
	c.call(404, "DELETE", "/groups/"+gid, tok2, nil)

	// Contacts.
	c.call(200, "POST", "/contacts", tok, map[string]any{"contacts": []any{member, nobody}})
	c.call(400, "POST", "/contacts", tok, map[string]any{"contacts": []string{"x"}})
	c.call(413, "POST", "/contacts", tok, big)
	c.call(402, "POST", "/contacts", expiredToken, map[string]any{"contacts": []string{member}})
	c.call(200, "GET", "/contacts", tok, nil)
	c.call(400, "GET", "/contacts?count=1000", tok, nil)
	c.call(200, "GET", "/contacts/"+member, tok, nil)
	c.call(200, "HEAD", "/contacts/"+member, tok, nil)
	c.call(404, "HEAD", "/contacts/"+nobody, tok, nil)
	c.call(404, "GET", "/contacts/"+nobody, tok, nil)
	c.call(400, "GET", "/contacts/abc", tok, nil)
	c.call(200, "GET", "/contacts/"+member+"/profile", tok, nil)
	c.call(404, "GET", "/contacts/"+nobody+"/profile", tok, nil)

	// Presences.
	c.call(200, "PUT", "/presences/me", tok, map[string]any{"presence": "online"})
	c.call(400, "PUT", "/presences/me", tok, map[string]any{"presence": "away"})
	c.call(413, "PUT", "/presences/me", tok, big)
	c.call(404, "GET", "/presences/"+member, tok, nil)
	c.call(200, "POST", "/presences/"+member, tok, nil)
	c.call(404, "POST", "/presences/"+nobody, tok, nil)
	c.call(400, "POST", "/presences/"+gid, tok, nil)
	c.call(200, "GET", "/presences/"+member, tok, nil)
	c.call(200, "PUT", "/presences/"+member, tok, map[string]any{"presence": "typing"})
	c.call(400, "PUT", "/presences/"+member, tok, map[string]any{"presence": "typing", "delay": 99})
	c.call(404, "PUT", "/presences/"+nobody, tok, map[string]any{"presence": "recording"})
	c.call(413, "PUT", "/presences/"+member, tok, big)
}
