package app_test

import (
	"html"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/store/storetest"
)

var markRE = regexp.MustCompile(`<(?:rect|circle) class="mark" data-series="([^"]*)" data-label="([^"]*)" data-value="([^"]*)"`)

// chartMarks reads the marks of one chart on a page: series -> label ->
// value.
func chartMarks(t *testing.T, body, id string) map[string]map[string]float64 {
	t.Helper()
	out := map[string]map[string]float64{}
	i := regexp.MustCompile(`id="` + id + `"`).FindStringIndex(body)
	if i == nil {
		t.Fatalf("no chart %s", id)
	}
	j := regexp.MustCompile(`</figure>`).FindStringIndex(body[i[1]:])
	for _, m := range markRE.FindAllStringSubmatch(body[i[0]:i[1]+j[1]], -1) {
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("mark value %q", m[3])
		}
		s, l := html.UnescapeString(m[1]), html.UnescapeString(m[2])
		if out[s] == nil {
			out[s] = map[string]float64{}
		}
		out[s][l] += v
	}
	return out
}

// chartSeq is one chart's marks in drawing order: [label, value].
func chartSeq(t *testing.T, body, id string) [][2]string {
	t.Helper()
	i := regexp.MustCompile(`id="` + id + `"`).FindStringIndex(body)
	if i == nil {
		t.Fatalf("no chart %s", id)
	}
	j := regexp.MustCompile(`</figure>`).FindStringIndex(body[i[1]:])
	var out [][2]string
	for _, m := range markRE.FindAllStringSubmatch(body[i[0]:i[1]+j[1]], -1) {
		out = append(out, [2]string{html.UnescapeString(m[2]), m[3]})
	}
	return out
}

// TestDashboardCharts seeds a partner's ledger, a channel's messages and
// webhook deliveries on two days, and channels in every status, then checks
// each chart's marks against the seeded figures.
// It runs on every backend: the per-day SQL differs in nothing but must
// group alike on both.
func TestDashboardCharts(t *testing.T) {
	for i, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			testDashboardCharts(t, newEnv(t, openapitest.New(t), storetest.Backends(t)[i]))
		})
	}
}

func testDashboardCharts(t *testing.T, e *env) {
	pid, ptok := e.partner("charts", 20)
	e.ok(200, "POST", "/admin/partners/"+pid+"/days", adminToken, map[string]any{"days": 5, "comment": "bonus"})

	// Day 1 (2 Nov): two sent, one received; day 2 (3 Nov): one sent.
	tok, id := e.linkedChannel(ptok, "Shop", "15550100001")
	e.ok(200, "PATCH", "/settings", tok, map[string]any{"webhooks": []any{map[string]any{"url": "https://hooks.example.test/x",
		"events": []any{map[string]any{"type": "messages", "method": "post"}}}}})
	e.simPhone("15550100002", "Ann")
	e.ok(200, "POST", "/messages/text", tok, map[string]any{"to": "15550100002", "body": "one"})
	e.ok(200, "POST", "/messages/text", tok, map[string]any{"to": "15550100002", "body": "two"})
	e.ok(201, "POST", "/admin/sim/phones/15550100002/messages", adminToken, map[string]any{"to": "15550100001", "body": "hi"})
	e.eventually("the received message is stored", func() bool {
		l := e.ok(200, "GET", "/messages/list?count=10", tok, nil)
		return num(l["total"]) == 3
	})
	e.clock.Advance(24 * time.Hour)
	e.ok(200, "POST", "/messages/text", tok, map[string]any{"to": "15550100002", "body": "three"})
	e.ok(200, "POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 3})

	b := e.browser("203.0.113.40")
	b.loginPartner("charts@example.test", "correct horse")
	p := b.get(200, "/ui/channels/"+id+"/activity")
	msgs := chartMarks(t, p.body, "chart-messages")
	if msgs["sent"]["2 Nov"] != 2 || msgs["received"]["2 Nov"] != 1 || msgs["sent"]["3 Nov"] != 1 || len(msgs["sent"]) != 2 || len(msgs["received"]) != 1 {
		t.Fatalf("messages chart = %v", msgs)
	}
	// Deliveries per day by outcome: what the webhook log lists.
	want := map[string]map[string]float64{}
	log := e.ok(200, "GET", "/partner/channels/"+id+"/webhooks/log?count=500", ptok, nil)
	for _, d := range log["deliveries"].([]any) {
		m := d.(map[string]any)
		at := num(m["created_at"])
		var ts time.Time
		if at > 1e12 {
			ts = time.UnixMilli(at)
		} else {
			ts = time.Unix(at, 0)
		}
		st := m["status"].(string)
		if want[st] == nil {
			want[st] = map[string]float64{}
		}
		want[st][ts.UTC().Format("2 Jan")]++
	}
	hooks := chartMarks(t, p.body, "chart-deliveries")
	if len(want) == 0 || fmtJSON(hooks) != fmtJSON(want) {
		t.Fatalf("deliveries chart = %v, webhook log = %v", hooks, want)
	}

	// The balance chart: one point per ledger row, in order.
	p = b.get(200, "/ui/dashboard")
	led := e.ok(200, "GET", "/partner/ledger?count=100", ptok, nil)["entries"].([]any)
	bal := chartSeq(t, p.body, "chart-balance")
	if len(bal) != len(led) || len(led) != 3 {
		t.Fatalf("balance chart %v for ledger %v", bal, led)
	}
	for i, row := range led { // the ledger is newest first
		m := row.(map[string]any)
		at := num(m["createdAt"])
		ts := time.UnixMilli(at)
		if at < 1e12 {
			ts = time.Unix(at, 0)
		}
		if got := bal[len(bal)-1-i]; got[0] != ts.UTC().Format(time.RFC3339) || got[1] != strconv.FormatInt(num(m["balanceAfter"]), 10) {
			t.Fatalf("balance chart point %v, ledger row %v", got, m)
		}
	}
	if fmtJSON(bal) != fmtJSON([][2]string{{"2026-11-02T10:00:00Z", "20"}, {"2026-11-02T10:00:00Z", "25"}, {"2026-11-03T10:00:00Z", "22"}}) {
		t.Fatalf("balance chart = %v", bal)
	}

	// The operator: channels by status, days sold per partner per month.
	_, other := e.partner("second", 7)
	stopped := e.channel(other, "Stopped")["id"].(string)
	e.ok(200, "POST", "/partner/channels/"+stopped+"/stop", other, nil)
	e.channel(other, "Trial")            // its trial runs out below
	e.clock.Advance(30 * 24 * time.Hour) // 3 Dec
	e.ok(200, "POST", "/admin/partners/"+pid+"/days", adminToken, map[string]any{"days": 4})
	act := e.channel(ptok, "Paid")["id"].(string)
	e.ok(200, "POST", "/partner/channels/"+act+"/extend", ptok, map[string]any{"days": 10})

	op := e.browser("203.0.113.41")
	op.loginOperator(adminToken)
	p = op.get(200, "/ui/admin/overview")
	st := chartMarks(t, p.body, "chart-statuses")["channels"]
	if st["active"] != 1 || st["stopped"] != 1 || st["expired"] != 2 || len(st) != 3 {
		t.Fatalf("channels by status = %v", st)
	}
	sold := chartMarks(t, p.body, "chart-sold")
	if sold["charts"]["2026-11"] != 25 || sold["second"]["2026-11"] != 7 || sold["charts"]["2026-12"] != 4 || len(sold["second"]) != 1 {
		t.Fatalf("days sold = %v", sold)
	}
	mustContain(t, "overview", p.body, `id="nav-overview"`, "4 channels in all")
}
