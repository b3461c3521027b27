package app_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var groupIDRE = regexp.MustCompile(`^120363[0-9]+@g\.us$`)

// waitFor polls cond (events reach the store asynchronously) for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// linkedChannel creates a partner's channel linked to a new sim phone and
// returns its token and ID.
func (e *env) linkedChannel(partnerToken, name, phone string) (token, id string) {
	e.t.Helper()
	ch := e.channel(partnerToken, name)
	token, id = ch["token"].(string), ch["id"].(string)
	e.linkByQR(token, phone, name)
	return token, id
}

func (e *env) simPhone(phone, name string) {
	e.t.Helper()
	e.ok(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": phone, "name": name})
}

// rankOf finds a participant's rank in a group answer ("" when absent).
func rankOf(g map[string]any, phone string) string {
	for _, p := range g["participants"].([]any) {
		if pm := p.(map[string]any); pm["id"] == phone {
			return pm["rank"].(string)
		}
	}
	return ""
}

// storedParticipants reads the participants the channel stored for a group.
func (e *env) storedParticipants(channelID, groupID string) []string {
	e.t.Helper()
	g, err := e.srv.Service().Store().Group(e.t.Context(), channelID, groupID)
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range g.Participants {
		out = append(out, strings.TrimSuffix(p.UserID, "@s.whatsapp.net")+":"+p.Rank)
	}
	return out
}

// testPicture is a PNG of w x h pixels.
func testPicture(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: 128, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testGroups drives the groups API between two linked channels and sim
// phones: create, read, change, invite and join, participants and admins,
// icon, leave, and the changes made by others reaching the store.
func testGroups(t *testing.T, e *env) {
	_, ptok := e.partner("grouper", 10)
	// Not linked yet: 401.
	unlinked := e.channel(ptok, "Unlinked")["token"].(string)
	e.fail(409, "not logged in", "GET", "/groups", unlinked, nil)
	e.fail(409, "not logged in", "POST", "/groups", unlinked, map[string]any{"subject": "x", "participants": []string{"15550101011"}})

	tok, chID := e.linkedChannel(ptok, "Owner", "15550101010")
	e.simPhone("15550101011", "Ann")
	e.simPhone("15550101012", "Ben")
	e.simPhone("15550101013", "Cid")

	if l := e.ok(200, "GET", "/groups", tok, nil); num(l["total"]) != 0 || len(l["groups"].([]any)) != 0 {
		t.Fatalf("groups of a new account = %v", l)
	}

	// Bad input is refused before WhatsApp is asked, and changes nothing.
	for _, c := range []struct {
		body any
		msg  string
	}{
		{map[string]any{"participants": []string{"15550101011"}}, "subject: is required"},
		{map[string]any{"subject": "  ", "participants": []string{"15550101011"}}, "subject: is required"},
		{map[string]any{"subject": strings.Repeat("s", 101), "participants": []string{"15550101011"}}, "subject: must be at most 100"},
		{map[string]any{"subject": "a\u0007b", "participants": []string{"15550101011"}}, "subject: must not contain control"},
		{map[string]any{"subject": "Team"}, "participants: is required"},
		{map[string]any{"subject": "Team", "participants": []string{}}, "participants: is required"},
		{map[string]any{"subject": "Team", "participants": []string{"15550101011", "abc"}}, "participants[1]"},
		{map[string]any{"subject": "Team", "participants": []string{"15550101011", "+1 555 010 1011"}}, "participants[1]: \"+1 555 010 1011\" is the same user as participants[0]"},
		{map[string]any{"subject": "Team", "participants": []string{"15550101010"}}, "participants[0]: \"15550101010\" is the channel's own number"},
		{map[string]any{"subject": "Team", "participants": []string{"120363000000000001@g.us"}}, "participants[0]"},
		{map[string]any{"subject": "Team", "participants": []any{true}}, "participants[0]: must be a phone number or ID"},
		{map[string]any{"subject": "Team", "participants": []any{1.5}}, "participants[0]: must be a phone number or ID"},
		{map[string]any{"subject": "Team", "participants": "15550101011"}, "participants: must be an array"},
		{map[string]any{"subject": 5, "participants": []string{"15550101011"}}, "subject: must be a string"},
		{map[string]any{"subject": "Team", "participants": slices.Repeat([]string{"x"}, 1025)}, "participants: must have at most 1024"},
		{nil, "request body is required"},
		{`{"subject":`, "malformed JSON"},
		{`{"subject":"` + strings.Repeat("a", 2<<20) + `"}`, "larger than"},
	} {
		status := 400
		if c.msg == "larger than" {
			status = 413
		}
		e.fail(status, c.msg, "POST", "/groups", tok, c.body)
	}
	e.fail(400, "count", "GET", "/groups?count=0", tok, nil)
	e.fail(400, "GroupID", "GET", "/groups/not-a-group", tok, nil)
	e.fail(400, "GroupID", "GET", "/groups/15550101011@s.whatsapp.net", tok, nil)
	if l := e.ok(200, "GET", "/groups", tok, nil); num(l["total"]) != 0 {
		t.Fatalf("bad input created a group: %v", l)
	}
	if sg := e.ok(200, "GET", "/admin/sim/phones/15550101011/groups", adminToken, nil); len(sg["groups"].([]any)) != 0 {
		t.Fatalf("bad input reached WhatsApp: %v", sg)
	}

	// Create: participants as strings in any format, or numbers; the one
	// not on WhatsApp is reported, not an error.
	created := e.ok(200, "POST", "/groups", tok, map[string]any{
		"subject": "Team", "participants": []any{"+1 (555) 010-1011", 15550101012, "15550109999@s.whatsapp.net"},
	})
	gid, _ := created["id"].(string)
	if !groupIDRE.MatchString(gid) || created["name"] != "Team" || created["type"] != "group" ||
		fmtJSON(created["unprocessed_participants"]) != `["15550109999"]` || created["created_by"] != "15550101010" ||
		rankOf(created, "15550101010") != "creator" || rankOf(created, "15550101011") != "member" || rankOf(created, "15550101012") != "member" {
		t.Fatalf("created group = %v", created)
	}
	list := e.ok(200, "GET", "/groups", tok, nil)
	if num(list["total"]) != 1 || num(list["count"]) != 1 {
		t.Fatalf("groups = %v", list)
	}
	g := list["groups"].([]any)[0].(map[string]any)
	if g["id"] != gid || num(g["participants_count"]) != 3 || g["restricted"] != true || g["announcements"] != false ||
		num(g["created_at"]) != start.Unix() || num(g["name_at"]) != start.Unix() {
		t.Fatalf("listed group = %v", g)
	}
	if l := e.ok(200, "GET", "/groups?count=1&offset=1", tok, nil); num(l["total"]) != 1 || len(l["groups"].([]any)) != 0 || num(l["offset"]) != 1 {
		t.Fatalf("second page = %v", l)
	}
	// The group's chat is named after it; its participants are contacts.
	if c, err := e.srv.Service().Store().Chat(t.Context(), chID, gid); err != nil || c.Name != "Team" {
		t.Fatalf("group chat = %+v, %v", c, err)
	}
	if cs := e.ok(200, "GET", "/contacts", tok, nil); !strings.Contains(fmtJSON(cs), `"15550101011"`) || !strings.Contains(fmtJSON(cs), `"15550101012"`) {
		t.Fatalf("contacts after creating a group = %v", cs)
	}

	// Read and change the info; the @g.us may be left out of the path.
	if got := e.ok(200, "GET", "/groups/"+strings.TrimSuffix(gid, "@g.us"), tok, nil); got["id"] != gid || got["name"] != "Team" {
		t.Fatalf("GET group = %v", got)
	}
	e.fail(400, "nothing to change", "PUT", "/groups/"+gid, tok, map[string]any{})
	e.fail(400, "subject: is required", "PUT", "/groups/"+gid, tok, map[string]any{"subject": ""})
	e.fail(400, "description: must be at most 2048", "PUT", "/groups/"+gid, tok, map[string]any{"subject": "Ok", "description": strings.Repeat("d", 2049)})
	e.fail(404, "group not found", "PUT", "/groups/120363000000000001@g.us", tok, map[string]any{"subject": "Nope"})
	e.ok(200, "PUT", "/groups/"+gid, tok, map[string]any{"subject": "Team 2", "description": "Line one\nline two"})
	got := e.ok(200, "GET", "/groups/"+gid, tok, nil)
	if got["name"] != "Team 2" || got["description"] != "Line one\nline two" {
		t.Fatalf("group after PUT = %v", got)
	}
	if c, _ := e.srv.Service().Store().Chat(t.Context(), chID, gid); c.Name != "Team 2" {
		t.Fatalf("group chat name after PUT = %q", c.Name)
	}
	if sg := e.ok(200, "GET", "/admin/sim/phones/15550101011/groups", adminToken, nil); !strings.Contains(fmtJSON(sg), `"subject":"Team 2"`) {
		t.Fatalf("Ann's view of the group = %v", sg)
	}

	// Settings: checked, then changed.
	e.fail(400, "setting: must be one of", "PATCH", "/groups/"+gid, tok, map[string]any{"setting": "colour", "policy": "admins"})
	e.fail(400, "policy: must be one of", "PATCH", "/groups/"+gid, tok, map[string]any{"setting": "send_messages"})
	e.ok(200, "PATCH", "/groups/"+gid, tok, map[string]any{"setting": "send_messages", "policy": "admins"})
	if g := e.ok(200, "GET", "/groups/"+gid, tok, nil); g["announcements"] != true {
		t.Fatalf("group after send_messages: admins = %v", g)
	}
	e.ok(200, "PATCH", "/groups/"+gid, tok, map[string]any{"setting": "send_messages", "policy": "anyone"})

	// Invite links: read, preview, revoke; a second channel joins by link.
	inv := e.ok(200, "GET", "/groups/"+gid+"/invite", tok, nil)
	code, _ := inv["invite_code"].(string)
	if len(code) != 22 {
		t.Fatalf("invite = %v", inv)
	}
	if again := e.ok(200, "GET", "/groups/"+gid+"/invite", tok, nil); again["invite_code"] != code {
		t.Fatalf("invite changed without a reset: %v", again)
	}
	if got := e.ok(200, "GET", "/groups/"+gid, tok, nil); got["invite_code"] != code {
		t.Fatalf("group after reading the invite = %v", got)
	}
	pre := e.ok(200, "GET", "/groups/link/"+code, tok, nil)
	if pre["id"] != gid || pre["name"] != "Team 2" || num(pre["participantsCount"]) != 3 || pre["created_by"] != "15550101010" {
		t.Fatalf("preview = %v", pre)
	}
	e.ok(200, "DELETE", "/groups/"+gid+"/invite", tok, nil)
	e.fail(404, "invite code not valid", "GET", "/groups/link/"+code, tok, nil)
	e.fail(400, "InviteCode", "GET", "/groups/link/bad!code", tok, nil)
	code = e.ok(200, "GET", "/groups/"+gid+"/invite", tok, nil)["invite_code"].(string)

	tok2, ch2 := e.linkedChannel(ptok, "Dora", "15550101014")
	e.fail(400, "invite_code: is required", "PUT", "/groups", tok2, map[string]any{})
	e.fail(400, "invite_code", "PUT", "/groups", tok2, map[string]any{"invite_code": "no spaces allowed"})
	e.fail(404, "invite code not valid", "PUT", "/groups", tok2, map[string]any{"invite_code": "AAAAAAAAAAAAAAAAAAAAAA"})
	joined := e.ok(200, "PUT", "/groups", tok2, map[string]any{"invite_code": "https://chat.whatsapp.com/" + code})
	if joined["group_id"] != gid {
		t.Fatalf("join = %v", joined)
	}
	if l := e.ok(200, "GET", "/groups", tok2, nil); num(l["total"]) != 1 || rankOf(l["groups"].([]any)[0].(map[string]any), "15550101014") != "member" {
		t.Fatalf("Dora's groups = %v", l)
	}
	// The owner's channel learns of the join from WhatsApp.
	waitFor(t, "the join to reach the owner's store", func() bool {
		return slices.Contains(e.storedParticipants(chID, gid), "15550101014:member")
	})
	// Dora is no admin: 403.
	e.fail(403, "not an admin", "GET", "/groups/"+gid+"/invite", tok2, nil)
	e.fail(403, "not an admin", "POST", "/groups/"+gid+"/participants", tok2, map[string]any{"participants": []string{"15550101013"}})
	e.fail(403, "not an admin", "PUT", "/groups/"+gid, tok2, map[string]any{"subject": "Dora's now"})

	// Participants: each one's outcome.
	e.fail(400, "participants: is required", "POST", "/groups/"+gid+"/participants", tok, map[string]any{})
	e.fail(400, "participants[0]", "POST", "/groups/"+gid+"/participants", tok, map[string]any{"participants": []string{"x"}})
	e.fail(404, "group not found", "POST", "/groups/120363000000000001@g.us/participants", tok, map[string]any{"participants": []string{"15550101013"}})
	add := e.ok(200, "POST", "/groups/"+gid+"/participants", tok, map[string]any{"participants": []string{"15550101013", "15550101011", "15550109999"}})
	if add["success"] != true || fmtJSON(add["processed"]) != `["15550101013"]` || fmtJSON(add["failed"]) != `["15550101011","15550109999"]` {
		t.Fatalf("add = %v", add)
	}
	none := e.ok(200, "POST", "/groups/"+gid+"/participants", tok, map[string]any{"participants": []string{"15550101013"}})
	if none["success"] != false || fmtJSON(none["processed"]) != `[]` {
		t.Fatalf("adding a member again = %v", none)
	}
	if p := e.ok(200, "PATCH", "/groups/"+gid+"/admins", tok, map[string]any{"participants": []string{"15550101011"}}); p["success"] != true {
		t.Fatalf("promote = %v", p)
	}
	if got := e.ok(200, "GET", "/groups/"+gid, tok, nil); rankOf(got, "15550101011") != "admin" || rankOf(got, "15550101013") != "member" || num(got["participants_count"]) != 5 {
		t.Fatalf("group after add and promote = %v", got)
	}
	e.fail(400, "participants[1]: \"15550101010\" is the channel's own number", "DELETE", "/groups/"+gid+"/admins", tok,
		map[string]any{"participants": []string{"15550101011", "15550101010"}})
	if d := e.ok(200, "DELETE", "/groups/"+gid+"/admins", tok, map[string]any{"participants": []string{"15550101011", "15550109999"}}); fmtJSON(d["failed"]) != `["15550109999"]` {
		t.Fatalf("demote = %v", d)
	}
	if r := e.ok(200, "DELETE", "/groups/"+gid+"/participants", tok, map[string]any{"participants": []string{"15550101013"}}); r["success"] != true {
		t.Fatalf("remove = %v", r)
	}
	if got := e.ok(200, "GET", "/groups/"+gid, tok, nil); rankOf(got, "15550101011") != "member" || rankOf(got, "15550101013") != "" {
		t.Fatalf("group after demote and remove = %v", got)
	}

	// Icon: a PNG as the body, or base64 in JSON; others are refused.
	pic := testPicture(t, 900, 700)
	e.ok(200, "PUT", "/groups/"+gid+"/icon", tok, string(pic))
	e.ok(200, "PUT", "/groups/"+gid+"/icon", tok, map[string]any{"media": "data:image/png;base64," + base64.StdEncoding.EncodeToString(testPicture(t, 64, 64))})
	e.fail(415, "JPEG or PNG", "PUT", "/groups/"+gid+"/icon", tok, "GIF89a\x01\x00\x01\x00\x00\x00\x00;")
	e.fail(413, "at most 5242880 bytes", "PUT", "/groups/"+gid+"/icon", tok, "\x89PNG\r\n\x1a\n"+strings.Repeat("x", 5<<20))
	e.fail(400, "media", "PUT", "/groups/"+gid+"/icon", tok, map[string]any{"media": ""})
	e.fail(400, "does not decode", "PUT", "/groups/"+gid+"/icon", tok, "\x89PNG\r\n\x1a\nnot really")
	e.fail(400, "request body is required", "PUT", "/groups/"+gid+"/icon", tok, nil)
	e.fail(403, "not an admin", "PUT", "/groups/"+gid+"/icon", tok2, string(pic))
	e.ok(200, "DELETE", "/groups/"+gid+"/icon", tok, nil)

	// Changes made by others reach the store: Ann, made admin again,
	// removes Dora, whose channel then forgets the group.
	e.ok(200, "PATCH", "/groups/"+gid+"/admins", tok, map[string]any{"participants": []string{"15550101011"}})
	e.ok(200, "POST", "/admin/sim/phones/15550101011/groups/"+gid+"/participants", adminToken, map[string]any{"remove": []string{"15550101014"}})
	waitFor(t, "Dora's channel to forget the group", func() bool {
		_, err := e.srv.Service().Store().Group(t.Context(), ch2, gid)
		return err != nil
	})
	waitFor(t, "the owner's store to drop Dora", func() bool {
		return !slices.Contains(e.storedParticipants(chID, gid), "15550101014:member")
	})
	e.fail(404, "group not found", "GET", "/groups/"+gid, tok2, nil)
	// A group Ann creates with the owner in it reaches the owner's store
	// without a request.
	e.ok(201, "POST", "/admin/sim/phones/15550101011/groups", adminToken, map[string]any{"subject": "Ann's", "participants": []string{"15550101010"}})
	var annGroup string
	waitFor(t, "Ann's group to reach the owner's store", func() bool {
		gs, _, _ := e.srv.Service().Store().Groups(t.Context(), chID, 10, 0)
		for _, g := range gs {
			if g.Subject == "Ann's" {
				annGroup = g.ID
				return true
			}
		}
		return false
	})
	waitFor(t, "the chat of Ann's group", func() bool {
		c, _ := e.srv.Service().Store().Chat(t.Context(), chID, annGroup)
		return c.Name == "Ann's"
	})
	if l := e.ok(200, "GET", "/groups", tok, nil); num(l["total"]) != 2 || l["groups"].([]any)[0].(map[string]any)["name"] != "Ann's" {
		t.Fatalf("groups with Ann's = %v", l)
	}

	// Leave: the group is gone from the channel.
	e.fail(404, "group not found", "DELETE", "/groups/120363000000000001@g.us", tok, nil)
	e.ok(200, "DELETE", "/groups/"+annGroup, tok, nil)
	e.fail(404, "group not found", "GET", "/groups/"+annGroup, tok, nil)
	if l := e.ok(200, "GET", "/groups", tok, nil); num(l["total"]) != 1 {
		t.Fatalf("groups after leaving = %v", l)
	}

	// Another channel's groups are not this one's.
	if l := e.ok(200, "GET", "/groups", tok2, nil); num(l["total"]) != 0 {
		t.Fatalf("Dora's groups after removal = %v", l)
	}
	_, otherTok := e.partner("other", 5)
	tok3, _ := e.linkedChannel(otherTok, "Eve", "15550101015")
	e.fail(404, "group not found", "GET", "/groups/"+gid, tok3, nil)
	e.fail(404, "group not found", "PUT", "/groups/"+gid, tok3, map[string]any{"subject": "hijack"})
	if got := e.ok(200, "GET", "/groups/"+gid, tok, nil); got["name"] != "Team 2" {
		t.Fatalf("another partner's calls changed the group: %v", got)
	}
}

// testContacts checks numbers, lists what the channel learned, reads
// profiles, and counts checks against the trial limit.
func testContacts(t *testing.T, e *env) {
	_, ptok := e.partner("checker", 10)
	tok, _ := e.linkedChannel(ptok, "Checker", "15550202020")
	e.simPhone("15550202021", "Kim")
	e.simPhone("15550202022", "Lee")

	for _, c := range []struct {
		body any
		msg  string
	}{
		{map[string]any{}, "contacts: is required"},
		{map[string]any{"contacts": []string{}}, "contacts: is required"},
		{map[string]any{"contacts": []string{"15550202021", "12ab"}}, "contacts[1]"},
		{map[string]any{"contacts": []string{"120363000000000001@g.us"}}, "contacts[0]: \"120363000000000001@g.us\" is a group"},
		{map[string]any{"contacts": []any{false}}, "contacts[0]: must be a phone number or ID"},
		{map[string]any{"contacts": slices.Repeat([]string{"15550202021"}, 1001)}, "contacts: must have at most 1000"},
		{map[string]any{"contacts": []string{"15550202021"}, "blocking": "later"}, "blocking: must be wait or no_wait"},
		{map[string]any{"contacts": []string{"15550202021"}, "force_check": "yes"}, "force_check: must be a boolean"},
	} {
		e.fail(400, c.msg, "POST", "/contacts", tok, c.body)
	}
	if cs := e.ok(200, "GET", "/contacts", tok, nil); num(cs["total"]) != 0 {
		t.Fatalf("bad checks stored contacts: %v", cs)
	}

	res := e.ok(200, "POST", "/contacts", tok, map[string]any{
		"blocking": "wait", "contacts": []any{"+1 (555) 020-2021", "15550202099", 15550202022, "15550202021@c.us"},
	})
	want := `[{"input":"+1 (555) 020-2021","status":"valid","wa_id":"15550202021"},{"input":"15550202099","status":"invalid"},` +
		`{"input":"15550202022","status":"valid","wa_id":"15550202022"},{"input":"15550202021@c.us","status":"valid","wa_id":"15550202021"}]`
	if got := fmtJSON(res["contacts"]); got != want {
		t.Fatalf("check = %s\nwant    %s", got, want)
	}
	cs := e.ok(200, "GET", "/contacts", tok, nil)
	if num(cs["total"]) != 2 || fmtJSON(cs["contacts"]) != `[{"id":"15550202021","name":""},{"id":"15550202022","name":""}]` {
		t.Fatalf("contacts = %v", cs)
	}
	if p := e.ok(200, "GET", "/contacts?count=1&offset=1", tok, nil); num(p["count"]) != 1 || p["contacts"].([]any)[0].(map[string]any)["id"] != "15550202022" {
		t.Fatalf("second page = %v", p)
	}

	// HEAD: exists or not (a real server sends no body).
	if code, _ := e.do("HEAD", "/contacts/15550202021", tok, nil); code != 200 {
		t.Fatalf("HEAD existing: %d", code)
	}
	if code, _ := e.do("HEAD", "/contacts/15550202099", tok, nil); code != 404 {
		t.Fatalf("HEAD not on WhatsApp: %d", code)
	}
	if code, _ := e.do("HEAD", "/contacts/12ab", tok, nil); code != 400 {
		t.Fatalf("HEAD malformed: %d", code)
	}

	if c := e.ok(200, "GET", "/contacts/+15550202021", tok, nil); c["id"] != "15550202021" {
		t.Fatalf("contact = %v", c)
	}
	e.fail(404, "not on WhatsApp", "GET", "/contacts/15550202099", tok, nil)
	e.fail(404, "check the number with POST /contacts first", "GET", "/contacts/15550203333", tok, nil)
	e.fail(400, "ContactID", "GET", "/contacts/abc", tok, nil)

	// Profiles: read from WhatsApp; the name is kept as the push name.
	if p := e.ok(200, "GET", "/contacts/15550202021/profile", tok, nil); p["name"] != "Kim" {
		t.Fatalf("profile = %v", p)
	}
	e.fail(404, "not on WhatsApp", "GET", "/contacts/15550202099/profile", tok, nil)
	e.fail(400, "ContactID", "GET", "/contacts/120363000000000001@g.us/profile", tok, nil)
	if c := e.ok(200, "GET", "/contacts/15550202021", tok, nil); c["name"] != "Kim" || c["pushname"] != "Kim" {
		t.Fatalf("contact after reading its profile = %v", c)
	}

	// The daily checks of a trial channel: 3 numbers were asked so far
	// (answers are reused for a day unless forced).
	e.ok(200, "PATCH", "/admin/settings", adminToken, map[string]any{"limit_checks_per_day": 4})
	e.fail(402, "checks per day", "POST", "/contacts", tok, map[string]any{"contacts": []string{"15550202021", "15550202022"}, "force_check": true})
	e.ok(200, "POST", "/contacts", tok, map[string]any{"contacts": []string{"15550202021", "15550202022", "15550202099"}})
	e.ok(200, "POST", "/contacts", tok, map[string]any{"contacts": []string{"15550202021"}, "force_check": true})
	e.fail(402, "checks per day", "POST", "/contacts", tok, map[string]any{"contacts": []string{"15550204444"}})
	if code, _ := e.do("HEAD", "/contacts/15550204444", tok, nil); code != 402 {
		t.Fatalf("HEAD over the limit: %d", code)
	}
	if code, _ := e.do("HEAD", "/contacts/15550202022", tok, nil); code != 200 {
		t.Fatalf("HEAD of a number checked today, over the limit: %d", code)
	}
	// A day later the count starts again.
	e.clock.Advance(day)
	if got := e.ok(200, "POST", "/contacts", tok, map[string]any{"contacts": []string{"15550204444"}}); !strings.Contains(fmtJSON(got), `"invalid"`) {
		t.Fatalf("check the next day = %v", got)
	}
}

// testPresences sets the account's presence, shows typing, subscribes to a
// user and reads the presences WhatsApp reports.
func testPresences(t *testing.T, e *env) {
	_, ptok := e.partner("presence", 10)
	tok, _ := e.linkedChannel(ptok, "Max", "15550303030")
	e.simPhone("15550303031", "Ned")

	e.fail(400, "presence: is required", "PUT", "/presences/me", tok, map[string]any{})
	e.fail(400, "presence: must be online or offline", "PUT", "/presences/me", tok, map[string]any{"presence": "away"})
	e.ok(200, "PUT", "/presences/me", tok, map[string]any{"presence": "online"})
	e.ok(200, "PUT", "/presences/me", tok, map[string]any{"presence": "offline"})

	e.fail(404, "subscribe to it", "GET", "/presences/15550303031", tok, nil)
	e.fail(400, "EntryID", "GET", "/presences/nobody", tok, nil)
	e.fail(400, "is a group", "POST", "/presences/120363000000000001@g.us", tok, nil)
	e.fail(404, "not on WhatsApp", "POST", "/presences/15550309999", tok, nil)
	e.ok(200, "POST", "/presences/15550303031", tok, nil)
	waitFor(t, "Ned's presence", func() bool {
		p := e.ok(200, "GET", "/presences/15550303031", tok, nil)
		return p["contact_id"] == "15550303031" && p["status"] != ""
	})
	e.ok(200, "POST", "/admin/sim/phones/15550303031/presence", adminToken, map[string]any{"state": "online"})
	waitFor(t, "Ned online", func() bool {
		p := e.ok(200, "GET", "/presences/15550303031", tok, nil)
		return p["status"] == "online" && num(p["last_seen"]) == start.Unix()
	})
	e.ok(200, "POST", "/admin/sim/phones/15550303031/presence", adminToken, map[string]any{"state": "typing", "to": "15550303030"})
	waitFor(t, "Ned typing", func() bool { return e.ok(200, "GET", "/presences/15550303031", tok, nil)["status"] == "typing" })
	e.ok(200, "POST", "/admin/sim/phones/15550303031/presence", adminToken, map[string]any{"state": "paused", "to": "15550303030"})
	waitFor(t, "Ned paused", func() bool { return e.ok(200, "GET", "/presences/15550303031", tok, nil)["status"] == "online" })
	e.clock.Advance(time.Hour)
	e.ok(200, "POST", "/admin/sim/phones/15550303031/presence", adminToken, map[string]any{"state": "offline"})
	waitFor(t, "Ned offline", func() bool {
		p := e.ok(200, "GET", "/presences/15550303031", tok, nil)
		return p["status"] == "offline" && num(p["last_seen"]) == start.Add(time.Hour).Unix()
	})
	// Ned is a contact now.
	if c := e.ok(200, "GET", "/contacts/15550303031", tok, nil); c["id"] != "15550303031" {
		t.Fatalf("Ned as a contact = %v", c)
	}

	// Typing in a group: the group's presence says who.
	created := e.ok(201, "POST", "/admin/sim/phones/15550303031/groups", adminToken, map[string]any{"subject": "Chat", "participants": []string{"15550303030"}})
	gid := created["id"].(string)
	e.fail(404, "nobody typed", "GET", "/presences/"+gid, tok, nil)
	e.ok(200, "POST", "/admin/sim/phones/15550303031/presence", adminToken, map[string]any{"state": "recording", "to": gid})
	waitFor(t, "Ned recording in the group", func() bool {
		code, raw := e.do("GET", "/presences/"+gid, tok, nil)
		return code == 200 && strings.Contains(string(raw), `"status":"recording"`) && strings.Contains(string(raw), `"contact_id":"15550303031"`)
	})

	// Typing and recording from the account, with and without a delay.
	for _, c := range []struct {
		body any
		msg  string
	}{
		{map[string]any{}, "presence: is required"},
		{map[string]any{"presence": "dancing"}, "presence: must be typing, recording or pause"},
		{map[string]any{"presence": "typing", "delay": -1}, "delay: must be from 0 to 30"},
		{map[string]any{"presence": "typing", "delay": 31}, "delay: must be from 0 to 30"},
		{map[string]any{"presence": "typing", "delay": "2"}, "delay: must be a number"},
	} {
		e.fail(400, c.msg, "PUT", "/presences/15550303031", tok, c.body)
	}
	e.fail(400, "EntryID", "PUT", "/presences/abc", tok, map[string]any{"presence": "typing"})
	e.fail(404, "not on WhatsApp", "PUT", "/presences/15550309999", tok, map[string]any{"presence": "typing"})
	e.ok(200, "PUT", "/presences/15550303031", tok, map[string]any{"presence": "typing"})
	began := time.Now()
	e.ok(200, "PUT", "/presences/"+gid, tok, map[string]any{"presence": "recording", "delay": 0.05})
	if d := time.Since(began); d < 50*time.Millisecond {
		t.Fatalf("a delay of 0.05 s returned after %v", d)
	}
	e.ok(200, "PUT", "/presences/15550303031", tok, map[string]any{"presence": "pause"})
	if p := e.ok(200, "GET", fmt.Sprintf("/presences/%s", "15550303031"), tok, nil); p["contact_id"] != "15550303031" {
		t.Fatalf("presence = %v", p)
	}
}
