package app_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// testAuditLog (a TestAPI scenario): the operator's, a partner's and a
// channel token's changes land in the audit log with who, what, the
// address and the changed fields; the filters and paging of GET
// /admin/audit; only the operator reads it.
func testAuditLog(t *testing.T, e *env) {
	pid, ptok := e.partner("auditco", 30)
	e.ok(200, "POST", "/admin/partners/"+pid+"/days", adminToken, map[string]any{"days": 5, "comment": "invoice 9"})
	e.ok(200, "PATCH", "/admin/settings", adminToken, map[string]any{"trial_days": 4})
	ch := e.channel(ptok, "Shop")
	cid, ctok := ch["id"].(string), ch["token"].(string)
	e.ok(200, "PATCH", "/partner/channels/"+cid, ptok, map[string]any{"name": "Shop 2"})
	e.ok(200, "POST", "/partner/channels/"+cid+"/stop", ptok, nil)
	e.ok(200, "PUT", "/partner/projects", ptok, map[string]any{"name": "Clinics"})
	e.ok(200, "POST", "/partner/channels/"+cid+"/start", ptok, nil)
	e.ok(200, "PATCH", "/settings", ctok, map[string]any{"webhooks": []any{map[string]any{"url": "https://hooks.example.test/in",
		"events": []any{map[string]any{"type": "messages", "method": "post"}}, "secret": "s3cret-value-0123456789"}}})
	// Refused input changes nothing and is not audited.
	e.fail(400, "trial_days", "PATCH", "/admin/settings", adminToken, map[string]any{"trial_days": -1})

	type entry struct {
		ID    int64 `json:"id"`
		At    int64 `json:"at"`
		Actor struct {
			Kind, ID, IP string
		} `json:"actor"`
		PartnerID string          `json:"partner_id"`
		ChannelID string          `json:"channel_id"`
		Action    string          `json:"action"`
		Target    string          `json:"target"`
		Before    json.RawMessage `json:"before"`
		After     json.RawMessage `json:"after"`
	}
	type page struct {
		Entries    []entry `json:"entries"`
		NextBefore *int64  `json:"next_before"`
	}
	list := func(query string) page {
		t.Helper()
		_, raw := e.do("GET", "/admin/audit"+query, adminToken, nil)
		var p page
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("GET /admin/audit%s: %s", query, raw)
		}
		return p
	}
	all := list("")
	want := []struct{ action, kind, id string }{
		{"channel.settings_update", "channel", cid},
		{"channel.start", "partner", pid},
		{"project.create", "partner", pid},
		{"channel.stop", "partner", pid},
		{"channel.update", "partner", pid},
		{"channel.create", "partner", pid},
		{"settings.update", "operator", "admin-token"},
		{"partner.days", "operator", "admin-token"},
		{"partner.create", "operator", "admin-token"},
	}
	if len(all.Entries) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(all.Entries), len(want), all.Entries)
	}
	for i, w := range want {
		got := all.Entries[i]
		if got.Action != w.action || got.Actor.Kind != w.kind || got.Actor.ID != w.id || got.Actor.IP != "192.0.2.1" || got.At != ms(start) {
			t.Errorf("entry %d = %+v, want %s by %s %s from 192.0.2.1", i, got, w.action, w.kind, w.id)
		}
		if got.PartnerID != pid && w.action != "settings.update" {
			t.Errorf("%s: partner %q, want %s", got.Action, got.PartnerID, pid)
		}
	}
	byAction := map[string]entry{}
	for _, en := range all.Entries {
		byAction[en.Action] = en
	}
	for action, want := range map[string][2]string{
		"channel.update":  {`{"name":"Shop"}`, `{"name":"Shop 2"}`},
		"channel.stop":    {`{"stopped":false}`, `{"stopped":true}`},
		"settings.update": {`{"trial_days":5}`, `{"trial_days":4}`},
		"partner.days":    {``, `{"comment":"invoice 9","delta":5}`},
	} {
		en := byAction[action]
		if string(en.Before) != want[0] || string(en.After) != want[1] {
			t.Errorf("%s: before %s after %s, want %s %s", action, en.Before, en.After, want[0], want[1])
		}
		if action != "settings.update" && action != "partner.days" && en.ChannelID != cid {
			t.Errorf("%s: channel %q", action, en.ChannelID)
		}
	}
	if raw, _ := json.Marshal(all); strings.Contains(string(raw), "s3cret-value") {
		t.Error("the audit log shows a webhook secret")
	}
	// Filters.
	for _, tc := range []struct {
		query string
		n     int
	}{
		{"?actor=operator", 3},
		{"?actor=channel&actor_id=" + cid, 1},
		{"?channel=" + cid, 5},
		{"?partner=" + pid + "&action=channel.", 5},
		{"?action=channel.stop", 1},
		{"?action=project.*", 1},
		{fmt.Sprintf("?from=%d&to=%d", ms(start), ms(start)+1), 9},
		{fmt.Sprintf("?from=%d", ms(start)+1), 0},
	} {
		if got := list(tc.query); len(got.Entries) != tc.n {
			t.Errorf("GET /admin/audit%s: %d entries, want %d", tc.query, len(got.Entries), tc.n)
		}
	}
	// Pages of 4: 4, 4, 1.
	var n, pages int
	for q := "?count=4"; ; pages++ {
		p := list(q)
		n += len(p.Entries)
		if p.NextBefore == nil {
			break
		}
		q = fmt.Sprintf("?count=4&before=%d", *p.NextBefore)
	}
	if n != 9 || pages != 2 {
		t.Errorf("paged %d entries in %d pages, want 9 in 3", n, pages+1)
	}
	e.fail(400, "count", "GET", "/admin/audit?count=0", adminToken, nil)
	e.fail(400, "actor", "GET", "/admin/audit?actor=robot", adminToken, nil)
	e.fail(400, "from", "GET", "/admin/audit?from=yesterday", adminToken, nil)
	e.fail(401, "admin token", "GET", "/admin/audit", ptok, nil)
	e.fail(401, "admin token", "GET", "/admin/audit", "", nil)
	if code, _ := e.do("GET", "/admin/audit", ctok, nil); code != http.StatusUnauthorized {
		t.Errorf("a channel token reads the audit log: %d", code)
	}
}

// TestDashboardAuditLog: what the operator and a partner change on the
// dashboard is in the audit log as theirs, from their address; the
// operator's audit page lists and filters it, and pages back; a partner
// cannot open it.
func TestDashboardAuditLog(t *testing.T) {
	e := dashEnv(t)
	op := e.browser("198.51.100.20")
	op.loginOperator(adminToken)
	op.get(200, "/ui/admin/partners")
	op.post(http.StatusOK, "/ui/admin/partners", "name", "dashco", "email", "ops@dashco.test", "password", "long enough pw", "days", "12")
	var pid string
	for _, p := range e.ok(200, "GET", "/admin/partners", adminToken, nil)["partners"].([]any) {
		pid = p.(map[string]any)["id"].(string)
	}
	op.get(200, "/ui/admin/partners/"+pid)
	op.act("/ui/admin/partners/"+pid+"/days", "days", "8", "comment", "invoice 7")
	partner := e.browser("203.0.113.9")
	partner.loginPartner("ops@dashco.test", "long enough pw")

	_, raw := e.do("GET", "/admin/audit?partner="+pid, adminToken, nil)
	var got struct {
		Entries []struct {
			Action string `json:"action"`
			Actor  struct{ Kind, ID, IP string }
		} `json:"entries"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Entries) != 2 || got.Entries[0].Action != "partner.days" || got.Entries[1].Action != "partner.create" {
		t.Fatalf("entries %+v", got.Entries)
	}
	for _, en := range got.Entries {
		if en.Actor.Kind != "operator" || en.Actor.ID != "dashboard" || en.Actor.IP != "198.51.100.20" {
			t.Errorf("%s by %+v, want the operator's dashboard from 198.51.100.20", en.Action, en.Actor)
		}
	}

	p := op.get(200, "/ui/admin/audit")
	mustContain(t, "audit page", p.body, `id="audit-table"`, "partner.days", "partner.create", "198.51.100.20", `&#34;delta&#34;:8`)
	p = op.get(200, "/ui/admin/audit?action=partner.days")
	mustContain(t, "filtered audit page", p.body, "partner.days")
	mustNotContain(t, "filtered audit page", p.body, "partner.create")
	p = op.get(200, "/ui/admin/audit?actor=system")
	mustContain(t, "no match", p.body, "No change matches.")
	op.get(http.StatusBadRequest, "/ui/admin/audit?from=yesterday")
	partner.get(http.StatusForbidden, "/ui/admin/audit")
	// Paging: more entries than a page holds.
	for i := 0; i < 55; i++ {
		e.ok(200, "POST", "/admin/partners/"+pid+"/days", adminToken, map[string]any{"days": 1, "comment": fmt.Sprintf("bulk %d", i)})
	}
	p = op.get(200, "/ui/admin/audit?partner="+pid)
	m := regexp.MustCompile(`href="(/ui/admin/audit\?[^"]+)" class="btn" id="audit-older"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no link to older entries:\n%s", p.body)
	}
	p = op.get(200, html.UnescapeString(m[1]))
	mustContain(t, "older page", p.body, "partner.create")
	mustNotContain(t, "older page", p.body, `id="audit-older"`)
}
