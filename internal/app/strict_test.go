package app_test

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/api/openapi"
	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestUnknownFieldsRefused: every partner and operator operation that
// takes a JSON body (found in the OpenAPI document, so a new one is
// covered) refuses a field it does not know with a 400 naming it; the gate
// API stays as lenient as Whapi's.
func TestUnknownFieldsRefused(t *testing.T) {
	v := openapitest.New(t)
	e := newEnv(t, v, storetest.Backends(t)[0])
	pid, ptok := e.partner("strict", 10)
	ch := e.channel(ptok, "Strict")
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{
		"{ChannelID}": ch["id"].(string), "{ProjectID}": "default", "{PartnerName}": "strict", "{id}": pid,
		"{phone}": "15550401001", "{group}": "120363000000000001@g.us", "{DeliveryID}": "whd_x",
	}
	var checked []string
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/partner/") && !strings.HasPrefix(path, "/admin/") {
			continue
		}
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
				continue
			}
			url := path
			for k, val := range params {
				url = strings.ReplaceAll(url, k, val)
			}
			token := ptok
			if strings.HasPrefix(path, "/admin/") {
				token = adminToken
			}
			e.fail(400, `unknown field "bogusField"`, method, url, token, map[string]any{"bogusField": 1})
			checked = append(checked, method+" "+path)
		}
	}
	sort.Strings(checked)
	if len(checked) < 15 {
		t.Fatalf("only %d operations checked: %v", len(checked), checked)
	}

	// The misspelled money field of the issue: nothing is stopped, nothing
	// refunded, and the message says what was meant.
	id := ch["id"].(string)
	e.ok(200, "POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 3})
	msg := e.fail(400, `unknown field "saveDay" (did you mean "saveDays" for "saveDay"?)`, "POST", "/partner/channels/"+id+"/stop", ptok, map[string]any{"saveDay": true})
	if got := e.ok(200, "GET", "/partner/channels/"+id, ptok, nil); got["stopped"] != false || e.balanceOf(ptok) != 7 {
		t.Fatalf("a refused stop changed the channel or the balance: %v (%s)", got, msg)
	}
	e.fail(400, `"webhooks[0].urll"`, "PATCH", "/partner/partners/strict/settings", ptok,
		map[string]any{"webhooks": []map[string]any{{"urll": "https://8.8.8.8/"}}})

	// Fields are taken under the name the API shows them by.
	p := e.ok(200, "PATCH", "/admin/partners/"+pid, adminToken, map[string]any{"trialDays": 0})
	if p["trialDays"] != float64(0) {
		t.Fatalf("PATCH {trialDays: 0} = %v", p)
	}
	p = e.ok(200, "PATCH", "/admin/partners/"+pid, adminToken, map[string]any{"trialDays": nil})
	if p["trialDays"] != nil {
		t.Fatalf("PATCH {trialDays: null} = %v", p)
	}
	p = e.ok(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "camel", "email": "camel@example.test", "trialDays": 2, "balance": 7})
	if p["trialDays"] != float64(2) || p["balance"] != float64(7) {
		t.Fatalf("created with trialDays and balance: %v", p)
	}
	e.fail(400, "trial_days and trialDays", "PATCH", "/admin/partners/"+pid, adminToken, map[string]any{"trialDays": 1, "trial_days": 2})

	// The gate API ignores what it does not know, like Whapi.
	tok := ch["token"].(string)
	if got := e.ok(200, "PATCH", "/settings", tok, map[string]any{"callback_persist": true, "whapi_only_field": 1}); got["after_update"] == nil {
		t.Fatalf("lenient PATCH /settings = %v", got)
	}

	// Answers are JSON, not HTML: < and > are written as they are.
	code, raw := e.do("POST", "/admin/partners", adminToken, `{"<b>name</b>": 1}`)
	if code != http.StatusBadRequest || !strings.Contains(string(raw), `<b>name</b>`) || strings.Contains(string(raw), `\u003c`) {
		t.Fatalf("error body escapes HTML: %d %s", code, raw)
	}
}
