package app_test

import (
	"slices"
	"strings"
	"testing"
)

// subGroupTitles lists the titles of a GET /communities/{id}/subgroups
// answer: the announcement group's, then the others'.
func subGroupTitles(subs map[string]any) (announce string, other []string) {
	for _, x := range subs["otherGroups"].([]any) {
		other = append(other, x.(map[string]any)["title"].(string))
	}
	a, _ := subs["announceGroupInfo"].(map[string]any)["title"].(string)
	return a, other
}

// testCommunities runs a community from one linked channel with another
// channel and a sim phone as members: created and listed, groups created
// in it (one hidden), an existing group linked and unlinked, members and
// admins added and removed (and mirrored in its announcement group), a
// group joined, settings changed, the invite link reset, an event
// announced to the members' phones, and the community deactivated;
// another partner's channel sees none of it, bad input is refused.
func testCommunities(t *testing.T, e *env) {
	const ann, ben, pia = "15550909091", "15550909092", "15550909093"
	const unknownID = "120363999999999999@g.us"
	_, ptok := e.partner("comm", 20)
	tokA, _ := e.linkedChannel(ptok, "Ann", ann)
	tokB, _ := e.linkedChannel(ptok, "Ben", ben)
	_, otherTok := e.partner("commoutsider", 20)
	tokC, _ := e.linkedChannel(otherTok, "Cid", "15550909095")
	e.simPhone(pia, "Pia")

	// Bad input creates nothing.
	e.fail(400, "subject", "POST", "/communities", tokA, map[string]any{"subject": ""})
	e.fail(400, "subject", "POST", "/communities", tokA, `{"subject": 5}`)
	e.fail(400, "malformed JSON", "POST", "/communities", tokA, `{"subject":`)
	e.fail(400, "description", "POST", "/communities", tokA, map[string]any{"subject": "x", "description": strings.Repeat("d", 2049)})
	if code, _, _ := e.raw("POST", "/communities", tokA, "text/plain", []byte(`{"subject":"x"}`)); code != 415 {
		t.Fatalf("POST /communities as text/plain: %d", code)
	}
	if l := e.ok(200, "GET", "/communities", tokA, nil); num(l["total"]) != 0 {
		t.Fatalf("bad input created communities: %v", l)
	}

	cm := e.ok(200, "POST", "/communities", tokA, map[string]any{"subject": "Club", "description": "the club"})
	cid := cm["id"].(string)
	if !groupIDRE.MatchString(cid) || cm["is_parent"] != true || cm["name"] != "Club" || cm["adminAddMemberMode"] != true {
		t.Fatalf("created community = %v", cm)
	}
	if l := e.ok(200, "GET", "/communities", tokA, nil); num(l["total"]) != 1 || l["groups"].([]any)[0].(map[string]any)["id"] != cid {
		t.Fatalf("Ann's communities = %v", l)
	}
	if got := e.ok(200, "GET", "/communities/"+cid, tokA, nil); got["id"] != cid || got["description"] != "the club" || rankOf(got, ann) != "creator" {
		t.Fatalf("GET community = %v", got)
	}
	subs := e.ok(200, "GET", "/communities/"+cid+"/subgroups", tokA, nil)
	announce := subs["announceGroupInfo"].(map[string]any)["id"].(string)
	if a, other := subGroupTitles(subs); a != "Club" || len(other) != 0 || announce == cid {
		t.Fatalf("a new community's groups = %v", subs)
	}
	// Not a member: Ben and another partner's channel do not see it.
	for _, tok := range []string{tokB, tokC} {
		e.fail(404, "", "GET", "/communities/"+cid, tok, nil)
		e.fail(404, "", "GET", "/communities/"+cid+"/subgroups", tok, nil)
		if l := e.ok(200, "GET", "/communities", tok, nil); num(l["total"]) != 0 {
			t.Fatalf("a non-member's communities = %v", l)
		}
	}
	e.fail(404, "", "GET", "/communities/"+unknownID, tokA, nil)
	e.fail(400, "CommunityID", "GET", "/communities/nope", tokA, nil)
	e.fail(400, "offset", "GET", "/communities?offset=-1", tokA, nil)

	// Groups in it: created there (one hidden from non-members), and an
	// existing group linked, then unlinked.
	g := e.ok(200, "POST", "/groups", tokA, map[string]any{"subject": "Side group", "participants": []string{pia}})
	gid := g["id"].(string)
	e.fail(404, "", "GET", "/communities/"+gid, tokA, nil) // a group, not a community
	sub := e.ok(200, "POST", "/communities/"+cid, tokA, map[string]any{"subject": "Sub one", "participants": []string{pia}})
	subID := sub["id"].(string)
	if sub["name"] != "Sub one" || !groupIDRE.MatchString(subID) {
		t.Fatalf("community group = %v", sub)
	}
	hidden := e.ok(200, "POST", "/communities/"+cid+"/createGroup", tokA, map[string]any{"subject": "Sub two", "participants": []string{pia}, "isHidden": true})
	e.ok(200, "PUT", "/communities/"+cid+"/"+gid, tokA, nil)
	if _, other := subGroupTitles(e.ok(200, "GET", "/communities/"+cid+"/subgroups", tokA, nil)); !slices.Equal(other, []string{"Side group", "Sub one", "Sub two"}) {
		t.Fatalf("the community's groups = %v", other)
	}
	e.fail(400, "", "PUT", "/communities/"+cid+"/"+gid, tokA, nil) // linked already
	e.ok(200, "DELETE", "/communities/"+cid+"/"+gid, tokA, nil)
	if _, other := subGroupTitles(e.ok(200, "GET", "/communities/"+cid+"/subgroups", tokA, nil)); !slices.Equal(other, []string{"Sub one", "Sub two"}) {
		t.Fatalf("the community's groups after unlinking = %v", other)
	}
	if got := e.ok(200, "GET", "/groups/"+gid, tokA, nil); got["name"] != "Side group" {
		t.Fatalf("the unlinked group = %v", got)
	}
	e.fail(404, "", "DELETE", "/communities/"+cid+"/"+gid, tokA, nil)
	e.fail(400, "subject", "POST", "/communities/"+cid, tokA, map[string]any{"subject": ""})
	e.fail(400, "participants", "POST", "/communities/"+cid+"/createGroup", tokA, map[string]any{"subject": "x", "participants": []string{"nope"}})
	e.fail(404, "", "POST", "/communities/"+gid, tokA, map[string]any{"subject": "x", "participants": []string{pia}})
	e.fail(404, "", "POST", "/communities/"+cid+"/createGroup", tokC, map[string]any{"subject": "x", "participants": []string{pia}})
	e.fail(404, "", "PUT", "/communities/"+cid+"/"+gid, tokC, nil)
	e.fail(400, "GroupID", "PUT", "/communities/"+cid+"/nope", tokA, nil)

	// Members: Ben added, in its announcement group too; promoted and
	// demoted.
	add := e.ok(200, "POST", "/communities/"+cid+"/participants", tokA, map[string]any{"participants": []string{ben}})
	if add["success"] != true || fmtJSON(add["processed"]) != `["`+ben+`"]` {
		t.Fatalf("add to community = %v", add)
	}
	if got := e.ok(200, "GET", "/communities/"+cid, tokA, nil); rankOf(got, ben) != "member" {
		t.Fatalf("community after adding Ben = %v", got)
	}
	e.eventually("Ben in the announcement group", func() bool {
		code, raw := e.do("GET", "/groups/"+announce, tokB, nil)
		return code == 200 && strings.Contains(string(raw), ben)
	})
	if l := e.ok(200, "GET", "/communities", tokB, nil); num(l["total"]) != 1 {
		t.Fatalf("Ben's communities = %v", l)
	}
	// Hidden groups show only to their members.
	if _, other := subGroupTitles(e.ok(200, "GET", "/communities/"+cid+"/subgroups", tokB, nil)); !slices.Equal(other, []string{"Sub one"}) {
		t.Fatalf("the community's groups as Ben sees them = %v (hidden %v)", other, hidden["id"])
	}
	e.fail(403, "", "PATCH", "/communities/"+cid+"/settings", tokB, map[string]any{"setting": "modify_groups", "policy": "admins"})
	e.fail(403, "", "DELETE", "/communities/"+cid, tokB, nil) // only its creator deactivates it
	e.fail(403, "", "POST", "/communities/"+cid+"/participants", tokB, map[string]any{"participants": []string{pia}})
	// A number not on WhatsApp fails alone.
	mixed := e.ok(200, "POST", "/communities/"+cid+"/participants", tokA, map[string]any{"participants": []string{pia, "15550909099"}})
	if fmtJSON(mixed["processed"]) != `["`+pia+`"]` || fmtJSON(mixed["failed"]) != `["15550909099"]` {
		t.Fatalf("add Pia and a number not on WhatsApp = %v", mixed)
	}
	if got := e.ok(200, "GET", "/communities/"+cid, tokA, nil); rankOf(got, pia) != "member" || rankOf(got, "15550909099") != "" {
		t.Fatalf("community after adding Pia = %v", got)
	}
	e.fail(403, "", "DELETE", "/communities/"+cid+"/link", tokB, nil)
	e.ok(200, "PATCH", "/communities/"+cid+"/admins", tokA, map[string]any{"participants": []string{ben}})
	if got := e.ok(200, "GET", "/communities/"+cid, tokB, nil); rankOf(got, ben) != "admin" {
		t.Fatalf("community after promoting Ben = %v", got)
	}
	e.ok(200, "DELETE", "/communities/"+cid+"/admins", tokA, map[string]any{"participants": []string{ben}})
	if got := e.ok(200, "GET", "/communities/"+cid, tokB, nil); rankOf(got, ben) != "member" {
		t.Fatalf("community after demoting Ben = %v", got)
	}
	e.fail(400, "participants", "POST", "/communities/"+cid+"/participants", tokA, map[string]any{"participants": []string{}})
	e.fail(400, "participants", "PATCH", "/communities/"+cid+"/admins", tokA, map[string]any{"participants": "x"})
	e.fail(400, "participants", "DELETE", "/communities/"+cid+"/admins", tokA, map[string]any{})
	e.fail(400, "participants", "DELETE", "/communities/"+cid+"/participants", tokA, map[string]any{"participants": []string{"x"}})
	e.fail(404, "", "POST", "/communities/"+unknownID+"/participants", tokA, map[string]any{"participants": []string{pia}})
	e.fail(404, "", "PATCH", "/communities/"+cid+"/admins", tokC, map[string]any{"participants": []string{ben}})

	// Ben joins a group of the community; not an unlinked one.
	e.ok(200, "POST", "/communities/"+cid+"/"+subID+"/join", tokB, nil)
	e.eventually("Ben in Sub one", func() bool {
		code, raw := e.do("GET", "/groups/"+subID, tokB, nil)
		return code == 200 && strings.Contains(string(raw), ben)
	})
	e.fail(404, "", "POST", "/communities/"+cid+"/"+gid+"/join", tokB, nil)
	e.fail(404, "", "POST", "/communities/"+cid+"/"+subID+"/join", tokC, nil)
	e.fail(400, "GroupID", "POST", "/communities/"+cid+"/x/join", tokB, nil)

	// Settings.
	e.ok(200, "PATCH", "/communities/"+cid+"/settings", tokA, map[string]any{"setting": "member_add_mode", "policy": "anyone"})
	if got := e.ok(200, "GET", "/communities/"+cid, tokA, nil); got["adminAddMemberMode"] != false {
		t.Fatalf("member_add_mode anyone = %v", got)
	}
	e.ok(200, "PATCH", "/communities/"+cid+"/settings", tokA, map[string]any{"setting": "member_add_mode", "policy": "admins"})
	if got := e.ok(200, "GET", "/communities/"+cid, tokA, nil); got["adminAddMemberMode"] != true {
		t.Fatalf("member_add_mode admins = %v", got)
	}
	// modify_groups anyone: Ben, a member, may create a group in it.
	e.ok(200, "PATCH", "/communities/"+cid+"/settings", tokA, map[string]any{"setting": "modify_groups", "policy": "anyone"})
	e.ok(200, "POST", "/communities/"+cid, tokB, map[string]any{"subject": "Ben's corner", "participants": []string{pia}})
	e.ok(200, "PATCH", "/communities/"+cid+"/settings", tokA, map[string]any{"setting": "modify_groups", "policy": "admins"})
	e.fail(403, "", "POST", "/communities/"+cid, tokB, map[string]any{"subject": "Another", "participants": []string{pia}})
	e.fail(400, "setting", "PATCH", "/communities/"+cid+"/settings", tokA, map[string]any{"setting": "colour", "policy": "anyone"})
	e.fail(400, "policy", "PATCH", "/communities/"+cid+"/settings", tokA, map[string]any{"setting": "modify_groups", "policy": "nobody"})
	e.fail(404, "", "PATCH", "/communities/"+unknownID+"/settings", tokA, map[string]any{"setting": "modify_groups", "policy": "anyone"})

	// The invite link reset: a new code.
	before := e.ok(200, "GET", "/groups/"+cid+"/invite", tokA, nil)["invite_code"]
	e.ok(200, "DELETE", "/communities/"+cid+"/link", tokA, nil)
	if after := e.ok(200, "GET", "/groups/"+cid+"/invite", tokA, nil)["invite_code"]; after == before || after == "" {
		t.Fatalf("invite code %v after the reset, was %v", after, before)
	}
	e.fail(404, "", "DELETE", "/communities/"+cid+"/link", tokC, nil)
	e.fail(404, "", "DELETE", "/communities/"+gid+"/link", tokA, nil)

	// An event in the announcement group reaches the members; only admins
	// post there.
	e.ok(200, "POST", "/communities/event", tokA, map[string]any{"to": announce, "title": "Meetup", "description": "bring cake",
		"startTime": 1900000000, "endTime": 1900003600, "degreesLatitude": 52.5, "degreesLongitude": 13.4, "locationName": "Park"})
	e.eventually("the event on Ben's phone", func() bool { return e.inboxHas(ben, "Meetup") })
	e.eventually("the event in Ben's chat", func() bool {
		code, raw := e.do("GET", "/messages/list/"+announce, tokB, nil) // 404 until the chat is stored
		return code == 200 && strings.Contains(string(raw), "Meetup")
	})
	// The channel stores the event it sent.
	mine := e.ok(200, "GET", "/messages/list/"+announce, tokA, nil)["messages"].([]any)
	if ev := mine[0].(map[string]any); ev["type"] != "event" || ev["from_me"] != true || !strings.Contains(fmtJSON(ev), "Meetup") {
		t.Fatalf("the event in Ann's chat = %v", ev)
	}
	e.fail(403, "", "POST", "/communities/event", tokB, map[string]any{"to": announce, "title": "Mine", "startTime": 1900000000})
	e.fail(400, "title", "POST", "/communities/event", tokA, map[string]any{"to": announce, "startTime": 1900000000})
	e.fail(400, "startTime", "POST", "/communities/event", tokA, map[string]any{"to": announce, "title": "x"})
	e.fail(400, "endTime", "POST", "/communities/event", tokA, map[string]any{"to": announce, "title": "x", "startTime": 1900000000, "endTime": 1})
	e.fail(400, "degreesLatitude", "POST", "/communities/event", tokA, map[string]any{"to": announce, "title": "x", "startTime": 1900000000, "degreesLatitude": 1})
	e.fail(400, "to", "POST", "/communities/event", tokA, map[string]any{"to": "nope", "title": "x", "startTime": 1900000000})
	e.fail(404, "", "POST", "/communities/event", tokC, map[string]any{"to": announce, "title": "x", "startTime": 1900000000})

	// Ben removed: out of the community and its announcement group.
	e.ok(200, "DELETE", "/communities/"+cid+"/participants", tokA, map[string]any{"participants": []string{ben}})
	e.fail(404, "", "GET", "/communities/"+cid, tokB, nil)
	if got := e.ok(200, "GET", "/groups/"+announce, tokA, nil); strings.Contains(fmtJSON(got["participants"]), ben) {
		t.Fatalf("the announcement group after removing Ben = %v", got)
	}

	// Deactivated by its creator only: gone, its groups stay groups.
	e.fail(404, "", "DELETE", "/communities/"+cid, tokB, nil)
	e.fail(404, "", "DELETE", "/communities/"+cid, tokC, nil)
	e.ok(200, "DELETE", "/communities/"+cid, tokA, nil)
	e.fail(404, "", "GET", "/communities/"+cid, tokA, nil)
	e.fail(404, "", "DELETE", "/communities/"+cid, tokA, nil)
	if l := e.ok(200, "GET", "/communities", tokA, nil); num(l["total"]) != 0 {
		t.Fatalf("communities after deactivating = %v", l)
	}
	if got := e.ok(200, "GET", "/groups/"+subID, tokA, nil); got["name"] != "Sub one" {
		t.Fatalf("a former community group = %v", got)
	}
}
