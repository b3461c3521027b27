package app_test

import (
	"encoding/csv"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestAPI drives every endpoint through the real router on each database,
// validating every response against /openapi.json, and finally checks that
// every documented operation was exercised.
func TestAPI(t *testing.T) {
	v := openapitest.New(t)
	scenarios := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"channel lifecycle and billing", testChannelLifecycle},
		{"projects", testProjects},
		{"partner settings", testPartnerSettings},
		{"admin", testAdmin},
		{"bad input changes nothing", testBadInput},
		{"tenancy", testTenancy},
		{"creation rate limit", testRateLimit},
		{"auth", testAuth},
		{"service endpoints", testServiceEndpoints},
		{"gate login, logout, pairing, profile", testGateLogin},
		{"gate settings and limits", testGateSettings},
		{"proxies", testProxies},
		{"expiry, stop, restart, delete", testExpiry},
		{"sim phones", testSimPhones},
		{"groups", testGroups},
		{"contacts", testContacts},
		{"presences", testPresences},
		{"messages, chats, media", testMessages},
		{"trial limits", testTrialLimits},
		{"group messages", testGroupMessages},
		{"webhook log", testWebhookLog},
		{"issue 15: blocklist, LIDs, address book, pins, group admin, newer kinds", testExtras},
		{"calls, polls, received and converted media", testCallsPollsMedia},                         // realwa_media_test.go
		{"stories and statuses", testStories},                                                       // stories_api_test.go
		{"newsletters", testNewsletters},                                                            // newsletters_api_test.go
		{"communities", testCommunities},                                                            // communities_api_test.go
		{"business: profile, catalog, collections, orders, interactive and carousel", testBusiness}, // business_test.go
		{"hosted linking pages", testLinkPages},                                                     // linkpage_test.go
		{"identity: LIDs and numbers, one chat per person", testIdentity},                           // identity_test.go
		{"app state both ways and labels", testAppState},                                            // appstate_test.go
		{"metrics", testMetricsAuth},                                                                // metrics_test.go
		{"audit log", testAuditLog},                                                                 // audit_test.go
	}
	for i, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					// A fresh database per scenario: its own file or schema.
					sc.fn(t, newEnv(t, v, storetest.Backends(t)[i]))
				})
			}
		})
	}
	covered := v.Covered()
	var missing []string
	for _, op := range v.Operations() {
		if covered[op] == 0 {
			missing = append(missing, op)
		}
	}
	if len(missing) > 0 {
		t.Errorf("documented operations never exercised by TestAPI: %v", missing)
	}
}

var (
	channelIDRE    = regexp.MustCompile(`^[A-Z]{6}-[A-Z0-9]{5}$`)
	channelTokenRE = regexp.MustCompile(`^[a-zA-Z0-9]{32}$`)
)

func testChannelLifecycle(t *testing.T, e *env) {
	pid, tok := e.partner("acme", 30)
	me := e.ok(200, "GET", "/partner/partners", tok, nil)
	if me["id"] != pid || num(me["balance"]) != 30 || me["email"] != "acme@example.test" {
		t.Fatalf("GET /partner/partners = %v", me)
	}

	// A new channel: trial, 5 free days (operator default), no balance used.
	ch := e.channel(tok, "Shop")
	id := ch["id"].(string)
	trialEnd := start.Add(5 * day)
	if !channelIDRE.MatchString(id) || !channelTokenRE.MatchString(ch["token"].(string)) {
		t.Fatalf("id %q / token %q have the wrong format", id, ch["token"])
	}
	if ch["mode"] != "trial" || ch["status"] != "active" || ch["stopped"] != false ||
		num(ch["activeTill"]) != ms(trialEnd) || num(ch["trial"]) != ms(trialEnd) ||
		num(ch["creationTS"]) != ms(start) || ch["apiUrl"] != "https://wa.example.test/" ||
		ch["ownerId"] != pid || ch["projectId"] != "default" || num(ch["paidDays"]) != 0 {
		t.Fatalf("new channel = %v", ch)
	}
	if got := e.ok(200, "GET", "/partner/channels/"+id, tok, nil); got["token"] != ch["token"] || got["name"] != "Shop" {
		t.Fatalf("GET channel = %v", got)
	}
	if me := e.ok(200, "GET", "/partner/partners", tok, nil); num(me["balance"]) != 30 {
		t.Fatalf("creating a trial channel used balance: %v", me["balance"])
	}

	// Rename and set the phone.
	up := e.ok(200, "PATCH", "/partner/channels/"+id, tok, map[string]any{"name": "Shop 2", "phone": "15551234567"})
	if c := up["channel"].(map[string]any); c["name"] != "Shop 2" || c["phone"] != "15551234567" || up["success"] != true {
		t.Fatalf("PATCH channel = %v", up)
	}

	// Extend during trial: paid days start after the trial.
	ext := e.ok(200, "POST", "/partner/channels/"+id+"/extend", tok, map[string]any{"days": 10, "comment": "order 42"})
	if num(ext["balance"]) != 20 || num(ext["activeTill"]) != ms(trialEnd.Add(10*day)) {
		t.Fatalf("extend = %v", ext)
	}
	// Short balance: 402 and nothing moves.
	e.fail(402, "not enough days", "POST", "/partner/channels/"+id+"/extend", tok, map[string]any{"days": 21, "comment": "too much"})
	if got := e.ok(200, "GET", "/partner/channels/"+id, tok, nil); num(got["activeTill"]) != ms(trialEnd.Add(10*day)) {
		t.Fatalf("failed extend moved activeTill: %v", got["activeTill"])
	}
	if me := e.ok(200, "GET", "/partner/partners", tok, nil); num(me["balance"]) != 20 {
		t.Fatalf("failed extend moved the balance: %v", me["balance"])
	}

	// One day later, go live: the 4 remaining free days are forfeited.
	e.clock.Advance(day)
	now := start.Add(day)
	live := e.ok(200, "PATCH", "/partner/channels/"+id+"/mode", tok, map[string]any{"mode": "live"})
	lc := live["channel"].(map[string]any)
	if lc["mode"] != "live" || num(lc["activeTill"]) != ms(now.Add(10*day)) || num(lc["paidDays"]) != 10 {
		t.Fatalf("mode live = %v", live)
	}

	// 1.5 days later, stop with saveDays: floor(8.5) = 8 days come back.
	e.clock.Advance(36 * time.Hour)
	now = now.Add(36 * time.Hour)
	stop := e.ok(200, "POST", "/partner/channels/"+id+"/stop", tok, map[string]any{"saveDays": true})
	sc := stop["channel"].(map[string]any)
	if num(stop["daysRefunded"]) != 8 || sc["stopped"] != true || sc["status"] != "stopped" ||
		num(sc["activeTill"]) != ms(now.Add(12*time.Hour)) {
		t.Fatalf("stop saveDays = %v", stop)
	}
	if me := e.ok(200, "GET", "/partner/partners", tok, nil); num(me["balance"]) != 28 {
		t.Fatalf("balance after stop = %v, want 28", me["balance"])
	}
	// Stop without saveDays refunds nothing.
	if st := e.ok(200, "POST", "/partner/channels/"+id+"/stop", tok, nil); num(st["daysRefunded"]) != 0 {
		t.Fatalf("plain stop refunded %v", st["daysRefunded"])
	}

	start1 := e.ok(200, "POST", "/partner/channels/"+id+"/start", tok, nil)
	if c := start1["channel"].(map[string]any); c["stopped"] != false || c["status"] != "active" {
		t.Fatalf("start = %v", start1)
	}
	e.ok(200, "POST", "/partner/channels/"+id+"/restart", tok, nil)

	// Half a day later the channel has run out: stopped, start refused with 402.
	e.clock.Advance(13 * time.Hour)
	now = now.Add(13 * time.Hour)
	if got := e.ok(200, "GET", "/partner/channels/"+id, tok, nil); got["status"] != "expired" || got["stopped"] != true {
		t.Fatalf("expired channel = %v", got)
	}
	e.fail(402, "extend it first", "POST", "/partner/channels/"+id+"/start", tok, nil)
	e.fail(402, "extend it first", "POST", "/partner/channels/"+id+"/restart", tok, nil)

	// Extending an expired channel counts from now.
	ext = e.ok(200, "POST", "/partner/channels/"+id+"/extend", tok, map[string]any{"days": 3, "comment": "renewal"})
	if num(ext["activeTill"]) != ms(now.Add(3*day)) || num(ext["balance"]) != 25 {
		t.Fatalf("extend after expiry = %v", ext)
	}

	// A second channel, and the CSV export of both.
	e.channel(tok, "=HYPERLINK(\"x\")")
	e.channel(tok, "  +cmd")
	code, raw := e.do("GET", "/partner/channels/export", tok, nil)
	if code != 200 {
		t.Fatalf("export: %d %s", code, raw)
	}
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v", err)
	}
	wantHeader := []string{"Name", "ID", "Phone Number", "Work Period", "Status", "Mode", "Created Date", "Billing Status"}
	if len(rows) != 4 || !slices.Equal(rows[0], wantHeader) {
		t.Fatalf("export rows = %q", rows)
	}
	if r := rows[1]; r[0] != "Shop 2" || r[1] != id || r[2] != "15551234567" || r[4] != "active" || r[5] != "live" || r[7] != "Live" ||
		r[6] != "2026-11-02 10:00 UTC" || !strings.HasPrefix(r[3], "2026-11-02 10:00 UTC - ") {
		t.Fatalf("export row = %q", r)
	}
	// The two new channels share a creation time, so their order is by ID.
	names := []string{rows[2][0], rows[3][0]}
	slices.Sort(names)
	if want := []string{"'  +cmd", "'=HYPERLINK(\"x\")"}; !slices.Equal(names, want) || rows[2][7] != "Trial" {
		t.Fatalf("export names = %q, want %q: formulas must be neutralised", names, want)
	}

	// Delete returns the 3 unused paid days.
	del := e.ok(200, "DELETE", "/partner/channels/"+id, tok, nil)
	if del["success"] != true || num(del["daysRefunded"]) != 3 {
		t.Fatalf("delete = %v", del)
	}
	e.fail(404, "channel not found", "GET", "/partner/channels/"+id, tok, nil)
	if me := e.ok(200, "GET", "/partner/partners", tok, nil); num(me["balance"]) != 28 {
		t.Fatalf("balance after delete = %v, want 28", me["balance"])
	}

	// The ledger tells the whole story, newest first, and sums to the balance.
	led := e.ok(200, "GET", "/partner/ledger", tok, nil)
	var reasons []string
	var sum int64
	for _, x := range led["entries"].([]any) {
		row := x.(map[string]any)
		reasons = append(reasons, fmt.Sprintf("%s%+d", row["reason"], num(row["delta"])))
		sum += num(row["delta"])
	}
	want := []string{"refund_delete+3", "extend-3", "refund_stop+8", "extend-10", "credit+30"}
	if !slices.Equal(reasons, want) || sum != 28 || num(led["total"]) != 5 {
		t.Fatalf("ledger = %v (sum %d), want %v", reasons, sum, want)
	}
	if page := e.ok(200, "GET", "/partner/ledger?count=2&offset=1", tok, nil); num(page["count"]) != 2 || num(page["offset"]) != 1 {
		t.Fatalf("ledger page = %v", page)
	}
}

func testProjects(t *testing.T, e *env) {
	_, tok := e.partner("proj", 0)
	list := e.ok(200, "GET", "/partner/projects", tok, nil)
	if num(list["total"]) != 1 || list["projects"].([]any)[0].(map[string]any)["id"] != "default" {
		t.Fatalf("initial projects = %v", list)
	}
	p := e.ok(200, "PUT", "/partner/projects", tok, map[string]any{"name": "Clinic chain"})
	pid := p["id"].(string)
	if !regexp.MustCompile(`^[a-zA-Z0-9]{20}$`).MatchString(pid) || p["name"] != "Clinic chain" {
		t.Fatalf("created project = %v", p)
	}
	ch := e.ok(200, "PUT", "/partner/channels", tok, map[string]any{"name": "Clinic 1", "projectId": pid})
	e.channel(tok, "Elsewhere")
	if got := e.ok(200, "GET", "/partner/projects/"+pid, tok, nil); num(got["channelsCount"]) != 1 {
		t.Fatalf("project = %v", got)
	}
	inProj := e.ok(200, "GET", "/partner/channels/list/"+pid, tok, nil)
	if num(inProj["total"]) != 1 || inProj["channels"].([]any)[0].(map[string]any)["id"] != ch["id"] {
		t.Fatalf("channels of project = %v", inProj)
	}
	if all := e.ok(200, "GET", "/partner/channels/list?count=1&offset=1", tok, nil); num(all["total"]) != 2 || num(all["count"]) != 1 {
		t.Fatalf("paged list = %v", all)
	}
	renamed := e.ok(200, "PATCH", "/partner/projects/"+pid, tok, map[string]any{"name": "Clinics"})
	if renamed["project"].(map[string]any)["name"] != "Clinics" {
		t.Fatalf("rename = %v", renamed)
	}
	e.fail(409, "still has 1 channels", "DELETE", "/partner/projects/"+pid, tok, nil)
	e.fail(409, "default project cannot be deleted", "DELETE", "/partner/projects/default", tok, nil)
	e.ok(200, "PATCH", "/partner/channels/"+ch["id"].(string), tok, map[string]any{"projectId": "default"})
	e.ok(200, "DELETE", "/partner/projects/"+pid, tok, nil)
	e.fail(404, "project not found", "GET", "/partner/projects/"+pid, tok, nil)
	e.fail(404, "project not found", "GET", "/partner/channels/list/"+pid, tok, nil)
	e.fail(400, "projectId", "PUT", "/partner/channels", tok, map[string]any{"name": "x", "projectId": pid})
}

func testPartnerSettings(t *testing.T, e *env) {
	_, tok := e.partner("hooks", 0)
	e.partner("other", 0)
	got := e.ok(200, "GET", "/partner/partners/hooks/settings", tok, nil)
	if len(got["webhooks"].([]any)) != 0 || num(got["days_limit"]) != 7 { // Whapi's default, a number
		t.Fatalf("initial settings = %v", got)
	}
	set := e.ok(200, "PATCH", "/partner/partners/hooks/settings", tok, map[string]any{
		"webhooks":   []any{map[string]any{"url": "https://hooks.example.test/wa"}},
		"days_limit": 5,
	})
	hooks := set["settings"].(map[string]any)["webhooks"].([]any)
	h := hooks[0].(map[string]any)
	if set["success"] != true || h["mode"] != "body" || len(h["events"].([]any)) != 1 {
		t.Fatalf("PATCH settings = %v", set)
	}
	got = e.ok(200, "GET", "/partner/partners/hooks/settings", tok, nil)
	if num(got["days_limit"]) != 5 || len(got["webhooks"].([]any)) != 1 {
		t.Fatalf("settings after PATCH = %v", got)
	}
	e.fail(403, "own partner settings", "GET", "/partner/partners/other/settings", tok, nil)
	e.fail(403, "own partner settings", "PATCH", "/partner/partners/other/settings", tok, map[string]any{"days_limit": 1})
	e.fail(400, "webhooks[0].url", "PATCH", "/partner/partners/hooks/settings", tok, map[string]any{
		"webhooks": []any{map[string]any{"url": "ftp://x"}}})
	e.fail(400, "webhooks[0].events[0].type", "PATCH", "/partner/partners/hooks/settings", tok, map[string]any{
		"webhooks": []any{map[string]any{"url": "https://x.test", "events": []any{map[string]any{"type": "nope"}}}}})
	if got := e.ok(200, "GET", "/partner/partners/hooks/settings", tok, nil); num(got["days_limit"]) != 5 {
		t.Fatalf("rejected PATCH changed settings: %v", got)
	}
	e.fail(400, "days_limit: must be a whole number", "PATCH", "/partner/partners/hooks/settings", tok, `{"days_limit":"7"}`)
	// null puts back the default (7); absent fields stay.
	got = e.ok(200, "PATCH", "/partner/partners/hooks/settings", tok, map[string]any{"days_limit": nil})
	if s := got["settings"].(map[string]any); num(s["days_limit"]) != 7 || len(s["webhooks"].([]any)) != 1 { // back to the default
		t.Fatalf("days_limit null = %v", got)
	}
}

func testAdmin(t *testing.T, e *env) {
	pid, tok := e.partner("ops", 5)
	e.fail(409, "already exists", "POST", "/admin/partners", adminToken, map[string]any{"name": "ops", "email": "x@example.test"})
	e.fail(409, "already exists", "POST", "/admin/partners", adminToken, map[string]any{"name": "ops2", "email": "OPS@example.test"})

	list := e.ok(200, "GET", "/admin/partners", adminToken, nil)
	if num(list["total"]) != 1 || list["partners"].([]any)[0].(map[string]any)["id"] != pid {
		t.Fatalf("partners = %v", list)
	}
	got := e.ok(200, "GET", "/admin/partners/"+pid, adminToken, nil)
	if got["name"] != "ops" || num(got["balance"]) != 5 || got["token"] != nil {
		t.Fatalf("partner = %v (must never show a token)", got)
	}
	e.fail(404, "partner not found", "GET", "/admin/partners/nope", adminToken, nil)

	if bal := e.ok(200, "POST", "/admin/partners/"+pid+"/days", adminToken, map[string]any{"days": 100, "comment": "invoice 7"}); num(bal["balance"]) != 105 {
		t.Fatalf("credit = %v", bal)
	}
	if bal := e.ok(200, "POST", "/admin/partners/"+pid+"/days", adminToken, map[string]any{"days": -5, "comment": "correction"}); num(bal["balance"]) != 100 {
		t.Fatalf("debit = %v", bal)
	}
	e.fail(402, "not enough days", "POST", "/admin/partners/"+pid+"/days", adminToken, map[string]any{"days": -101})
	e.fail(404, "partner not found", "POST", "/admin/partners/nope/days", adminToken, map[string]any{"days": 1})
	led := e.ok(200, "GET", "/admin/partners/"+pid+"/ledger", adminToken, nil)
	if num(led["total"]) != 3 {
		t.Fatalf("ledger = %v", led)
	}
	first := led["entries"].([]any)[0].(map[string]any)
	if first["reason"] != "debit" || first["comment"] != "correction" || first["actor"] != "operator" || num(first["balanceAfter"]) != 100 {
		t.Fatalf("newest ledger row = %v", first)
	}

	// Partner trial days override the operator default for new channels.
	up := e.ok(200, "PATCH", "/admin/partners/"+pid, adminToken, map[string]any{"trial_days": 2, "password": "new password 1"})
	if num(up["trialDays"]) != 2 {
		t.Fatalf("PATCH partner = %v", up)
	}
	if ch := e.channel(tok, "two-day trial"); num(ch["activeTill"]) != ms(start.Add(2*day)) {
		t.Fatalf("trial with partner override: activeTill %v", ch["activeTill"])
	}
	if up := e.ok(200, "PATCH", "/admin/partners/"+pid, adminToken, map[string]any{"trial_days": nil}); up["trialDays"] != nil {
		t.Fatalf("trial_days null must reset to the default: %v", up)
	}
	e.fail(400, "trial_days", "PATCH", "/admin/partners/"+pid, adminToken, map[string]any{"trial_days": "x"})
	e.fail(400, "password", "PATCH", "/admin/partners/"+pid, adminToken, map[string]any{"password": "short"})
	// A patch with one bad field changes nothing, not even its good fields.
	e.fail(400, "trial_days", "PATCH", "/admin/partners/"+pid, adminToken, map[string]any{"password": "another password", "trial_days": 400})
	if _, err := e.srv.Service().AuthenticatePartnerPassword(t.Context(), "ops@example.test", "new password 1"); err != nil {
		t.Fatalf("a rejected patch changed the password: %v", err)
	}
	e.fail(404, "partner not found", "PATCH", "/admin/partners/nope", adminToken, map[string]any{"trial_days": 1})

	// Operator settings.
	s := e.ok(200, "GET", "/admin/settings", adminToken, nil)
	if num(s["trial_days"]) != 5 || num(s["channel_create_limit"]) != 20 || num(s["channel_create_window_minutes"]) != 30 {
		t.Fatalf("default settings = %v", s)
	}
	s = e.ok(200, "PATCH", "/admin/settings", adminToken, map[string]any{"trial_days": 3})
	if num(s["trial_days"]) != 3 || num(s["channel_create_limit"]) != 20 {
		t.Fatalf("PATCH settings = %v", s)
	}
	e.fail(400, "trial_days", "PATCH", "/admin/settings", adminToken, map[string]any{"trial_days": -1})
	if ch := e.channel(tok, "three-day trial"); num(ch["activeTill"]) != ms(start.Add(3*day)) {
		t.Fatalf("trial with operator setting 3: activeTill %v", ch["activeTill"])
	}

	// Token rotation: the old token stops working at once.
	rot := e.ok(200, "POST", "/admin/partners/"+pid+"/token", adminToken, nil)
	newTok := rot["token"].(string)
	e.fail(401, "invalid partner token", "GET", "/partner/partners", tok, nil)
	e.ok(200, "GET", "/partner/partners", newTok, nil)
}

func testBadInput(t *testing.T, e *env) {
	_, tok := e.partner("strict", 10)
	id := e.channel(tok, "Target")["id"].(string)
	snapshot := func() string {
		ch := e.ok(200, "GET", "/partner/channels/"+id, tok, nil)
		delete(ch, "connection") // the session's state, not the channel's data
		me := e.ok(200, "GET", "/partner/partners", tok, nil)
		list := e.ok(200, "GET", "/partner/channels/list", tok, nil)
		led := e.ok(200, "GET", "/partner/ledger", tok, nil)
		return fmt.Sprint(ch, me["balance"], list["total"], led["total"])
	}
	before := snapshot()
	long := strings.Repeat("x", 101)
	cases := []struct {
		method, path string
		body         any
		status       int
		msg          string
	}{
		{"PUT", "/partner/channels", `{"name":`, 400, "malformed JSON"},
		{"PUT", "/partner/channels", `{"name": 5}`, 400, "name: must be a string"},
		{"PUT", "/partner/channels", `{}`, 400, "name: is required"},
		{"PUT", "/partner/channels", nil, 400, "request body is required"},
		{"PUT", "/partner/channels", map[string]any{"name": long}, 400, "name: must be at most 100"},
		{"PUT", "/partner/channels", map[string]any{"name": "x", "phone": "+1 555"}, 400, "phone"},
		{"PUT", "/partner/channels", map[string]any{"name": "invoice\u202efdp.exe"}, 400, "bidirectional"},
		{"PUT", "/partner/channels", map[string]any{"name": "next\u0085line"}, 400, "control characters"},
		{"PUT", "/partner/channels", `{"name":"a"}}`, 400, "single JSON value"},
		{"PUT", "/partner/channels", map[string]any{"name": "x", "projectId": "bad id"}, 400, "projectId"},
		{"PUT", "/partner/channels", `{"name":"a"} {"name":"b"}`, 400, "single JSON value"},
		{"PATCH", "/partner/channels/" + id, map[string]any{"name": ""}, 400, "name: is required"},
		{"PATCH", "/partner/channels/" + id, map[string]any{"projectId": "AAAAAAAAAAAAAAAAAAAA"}, 400, "projectId"},
		{"POST", "/partner/channels/" + id + "/extend", map[string]any{"days": 0}, 400, "days"},
		{"POST", "/partner/channels/" + id + "/extend", map[string]any{"days": -3}, 400, "days"},
		{"POST", "/partner/channels/" + id + "/extend", map[string]any{"days": 1.5}, 400, "days: must be a whole number"},
		{"POST", "/partner/channels/" + id + "/extend", `{"days":"5"}`, 400, "days: must be a whole number"},
		{"POST", "/partner/channels/" + id + "/extend", map[string]any{"days": 99999}, 400, "days"},
		{"POST", "/partner/channels/" + id + "/extend", map[string]any{"days": 1, "comment": strings.Repeat("c", 501)}, 400, "comment"},
		{"POST", "/partner/channels/" + id + "/stop", `{"saveDays":"yes"}`, 400, "saveDays: must be a boolean"},
		{"PATCH", "/partner/channels/" + id + "/mode", map[string]any{"mode": "turbo"}, 400, "mode"},
		{"PATCH", "/partner/channels/" + id + "/mode", map[string]any{}, 400, "mode: is required"},
		{"PATCH", "/partner/channels/" + id + "/mode", map[string]any{"mode": "sandbox"}, 400, "mode"},
		{"GET", "/partner/channels/list?count=0", nil, 400, "count"},
		{"GET", "/partner/channels/list?count=501", nil, 400, "count"},
		{"GET", "/partner/channels/list?offset=-1", nil, 400, "offset"},
		{"GET", "/partner/channels/list?count=abc", nil, 400, "count"},
		{"PUT", "/partner/projects", map[string]any{"name": ""}, 400, "name"},
		{"PUT", "/partner/channels", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "larger than"},
		{"GET", "/partner/channels/not-an-id", nil, 404, "channel not found"},
		{"POST", "/admin/partners", map[string]any{"name": "has space", "email": "a@b.test"}, 400, "name"},
		{"POST", "/admin/partners", map[string]any{"name": "ok", "email": "not-an-email"}, 400, "email"},
		{"POST", "/admin/partners", map[string]any{"name": "ok", "email": "a@b.test", "days": -1}, 400, "days"},
		{"POST", "/admin/partners", map[string]any{"name": "ok", "email": "a@b.test", "trial_days": 400}, 400, "trial_days"},
		{"POST", "/admin/partners", map[string]any{"name": strings.Repeat("n", 65), "email": "a@b.test"}, 400, "name"},
	}
	for _, c := range cases {
		token := tok
		if strings.HasPrefix(c.path, "/admin") {
			token = adminToken
		}
		e.fail(c.status, c.msg, c.method, c.path, token, c.body)
	}
	if after := snapshot(); after != before {
		t.Fatalf("bad input changed state:\nbefore %s\nafter  %s", before, after)
	}
	e.unvalidated().fail(404, "no such partner API endpoint", "GET", "/partner/nothing-here", tok, nil)
	e.unvalidated().fail(404, "no such admin API endpoint", "GET", "/admin/nothing-here", adminToken, nil)
	if list := e.ok(200, "GET", "/admin/partners", adminToken, nil); num(list["total"]) != 1 {
		t.Fatalf("bad partner input created partners: %v", list["total"])
	}
}

func testTenancy(t *testing.T, e *env) {
	_, tokA := e.partner("alpha", 10)
	_, tokB := e.partner("beta", 10)
	id := e.channel(tokA, "Alpha's")["id"].(string)
	e.ok(200, "POST", "/partner/channels/"+id+"/extend", tokA, map[string]any{"days": 2, "comment": ""})
	before := e.ok(200, "GET", "/partner/channels/"+id, tokA, nil)

	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/partner/channels/" + id, nil},
		{"PATCH", "/partner/channels/" + id, map[string]any{"name": "stolen"}},
		{"DELETE", "/partner/channels/" + id, nil},
		{"POST", "/partner/channels/" + id + "/start", nil},
		{"POST", "/partner/channels/" + id + "/stop", map[string]any{"saveDays": true}},
		{"POST", "/partner/channels/" + id + "/restart", nil},
		{"POST", "/partner/channels/" + id + "/extend", map[string]any{"days": 1, "comment": ""}},
		{"PATCH", "/partner/channels/" + id + "/mode", map[string]any{"mode": "live"}},
	} {
		msg := e.fail(404, "channel not found", c.method, c.path, tokB, c.body)
		if msg != "channel not found" {
			t.Fatalf("%s %s: message %q reveals more than a missing channel", c.method, c.path, msg)
		}
	}
	if list := e.ok(200, "GET", "/partner/channels/list", tokB, nil); num(list["total"]) != 0 {
		t.Fatalf("beta sees alpha's channels: %v", list)
	}
	code, raw := e.do("GET", "/partner/channels/export", tokB, nil)
	if code != 200 || strings.Contains(string(raw), id) {
		t.Fatalf("beta's export shows alpha's channel: %s", raw)
	}
	after := e.ok(200, "GET", "/partner/channels/"+id, tokA, nil)
	delete(before, "connection") // the session's state, not the channel's data
	delete(after, "connection")
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("beta's calls changed alpha's channel:\n%v\n%v", before, after)
	}
	if b := e.ok(200, "GET", "/partner/partners", tokB, nil); num(b["balance"]) != 10 {
		t.Fatalf("beta's balance moved: %v", b["balance"])
	}
}

func testRateLimit(t *testing.T, e *env) {
	_, tok := e.partner("busy", 0)
	e.ok(200, "PATCH", "/admin/settings", adminToken, map[string]any{"channel_create_limit": 2, "channel_create_window_minutes": 30})
	first := e.channel(tok, "one")
	e.channel(tok, "two")
	e.fail(429, "too many channels", "PUT", "/partner/channels", tok, map[string]any{"name": "three"})
	// Deleting does not give the slot back within the window.
	e.ok(200, "DELETE", "/partner/channels/"+first["id"].(string), tok, nil)
	e.fail(429, "limit is 2", "PUT", "/partner/channels", tok, map[string]any{"name": "three"})
	// The first slot opens 30 minutes after the first creation.
	e.clock.Advance(10 * time.Minute)
	req := httptest.NewRequest("PUT", "/partner/channels", strings.NewReader(`{"name":"three"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1200" {
		t.Fatalf("429 with Retry-After %q (status %d), want 1200 s", rec.Header().Get("Retry-After"), rec.Code)
	}
	e.clock.Advance(21 * time.Minute)
	e.channel(tok, "three")
	// 0 turns the limit off.
	e.ok(200, "PATCH", "/admin/settings", adminToken, map[string]any{"channel_create_limit": 0})
	for i := range 5 {
		e.channel(tok, fmt.Sprint("more ", i))
	}
}

func testAuth(t *testing.T, e *env) {
	_, tok := e.partner("authy", 0)
	e.fail(401, "missing partner token", "GET", "/partner/partners", "", nil)
	e.fail(401, "invalid partner token", "GET", "/partner/partners", "wgp_nope", nil)
	e.fail(401, "invalid partner token", "GET", "/partner/channels/list", adminToken, nil)
	e.fail(401, "missing admin token", "GET", "/admin/partners", "", nil)
	e.fail(401, "invalid admin token", "GET", "/admin/partners", tok, nil)
	e.fail(401, "invalid admin token", "POST", "/admin/partners/x/days", "wrong-admin-token-xxxxx", map[string]any{"days": 1})
	// ?token= works as well as the header (Whapi clients use both).
	e.ok(200, "GET", "/partner/partners?token="+tok, "", nil)
	// An unknown route under /partner still needs a token first.
	e.unvalidated().fail(401, "missing partner token", "GET", "/partner/whatever", "", nil)
}

func testServiceEndpoints(t *testing.T, e *env) {
	if got := e.ok(200, "GET", "/livez", "", nil); got["status"] != "ok" {
		t.Fatalf("livez = %v", got)
	}
	// Not started: not ready yet.
	e.ok(503, "GET", "/readyz", "", nil)
	if got := e.ok(200, "GET", "/", "", nil); got["name"] != "wagate" {
		t.Fatalf("index = %v", got)
	}
	code, raw := e.do("GET", "/openapi.json", "", nil)
	if code != 200 || !strings.Contains(string(raw), `"/partner/channels/{ChannelID}/extend"`) {
		t.Fatalf("openapi.json: %d", code)
	}
	e.unvalidated().fail(404, "no such wagate endpoint", "GET", "/nope", "", nil)
	// A known path with another method is 405 with the allowed methods.
	req := httptest.NewRequest("POST", "/partner/channels/list", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Fatalf("unauthenticated 405 probe: %d", rec.Code)
	}
	_, tok := e.partner("methods", 0)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec = httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != 405 || !strings.Contains(rec.Header().Get("Allow"), "GET") || !strings.Contains(rec.Body.String(), `"code":405`) {
		t.Fatalf("POST on a GET route: %d Allow=%q %s", rec.Code, rec.Header().Get("Allow"), rec.Body.String())
	}
}
