package app_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wagate/wagate/internal/store/storetest"
)

// testMetricsAuth (a TestAPI scenario): /metrics answers the operator
// token only.
func testMetricsAuth(t *testing.T, e *env) {
	_, ptok := e.partner("metrics", 10)
	e.fail(401, "missing admin token", "GET", "/metrics", "", nil)
	e.fail(401, "invalid admin token", "GET", "/metrics", ptok, nil)
	code, body := e.do("GET", "/metrics", adminToken, nil)
	if code != 200 {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	fams := parseMetrics(t, strings.NewReader(string(body)))
	for _, name := range []string{"wagate_webhook_deliveries_total", "wagate_channel_reconnects_total", "wagate_webhook_outbox_pending", "go_sql_open_connections", "go_goroutines"} {
		if fams[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
	if strings.Contains(string(body), ptok) || strings.Contains(string(body), adminToken) {
		t.Error("the metrics show a token")
	}
}

func parseMetrics(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	return fams
}

// metricValue is the value of the series of family name whose labels
// include want; ok is false when there is none.
func metricValue(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// TestMetricsScripted drives a linked channel through sends, a received
// message, webhook deliveries (one receiver answers 204, another 500) and
// a reconnect, then scrapes /metrics on the token-less listener and on the
// main one, parses both with the Prometheus text parser and checks each
// family's values.
func TestMetricsScripted(t *testing.T) {
	cfg := testConfig(t, storetest.Backends(t)[0])
	cfg.MetricsAddr = "127.0.0.1:0"
	s := startHooked(t, cfg, failureOptions())
	srv := s.srv
	c := newFailureChannel(t, s, "metrics", "15553000001")
	var refused atomic.Int64
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refused.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(bad.Close)
	s.call(200, "PATCH", "/settings", c.tok, map[string]any{"webhooks": []any{
		map[string]any{"url": c.hooks.srv.URL + "/c", "events": subscribe("channel.post", "messages.post", "messages.patch")},
		map[string]any{"url": bad.URL + "/bad", "events": subscribe("messages.post")},
	}})
	bob := "15553000002"
	s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": bob, "name": "Bob"})
	for _, body := range []string{"one", "two", "three"} {
		s.call(200, "POST", "/messages/text", c.tok, map[string]any{"to": bob, "body": body})
	}
	s.call(201, "POST", "/admin/sim/phones/"+bob+"/messages", adminToken, map[string]any{"to": c.phone, "body": "hello channel"})
	c.hooks.wait(t, "messages.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), "hello channel") })
	c.fault("disconnect", nil)
	c.state("reconnecting")
	c.state("online")
	for deadline := time.Now().Add(10 * time.Second); refused.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the refusing receiver was never called")
		}
	}
	ch := s.call(200, "GET", "/partner/channels/"+c.id, c.ptok, nil)
	mode := ch["mode"].(string)

	scrape := func(token string) map[string]*dto.MetricFamily {
		t.Helper()
		base := "http://" + srv.MetricsAddr()
		if token != "" {
			base = s.base
		}
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /metrics: %d", resp.StatusCode)
		}
		return parseMetrics(t, resp.Body)
	}
	// The good receiver's deliveries are all counted once they settle.
	var fams map[string]*dto.MetricFamily
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		fams = scrape("")
		got, _ := metricValue(fams, "wagate_webhook_deliveries_total", map[string]string{"outcome": "delivered"})
		want := len(c.hooks.events()) + len(c.phooks.events())
		if int(got) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered = %v, want %d (the receivers' calls)", got, want)
		}
	}
	expect := []struct {
		name   string
		labels map[string]string
		want   func(float64) bool
		says   string
	}{
		{"wagate_channels", map[string]string{"status": "AUTH", "mode": mode}, eq(1), "1"},
		{"wagate_messages_sent_total", map[string]string{"kind": "text"}, eq(3), "3"},
		{"wagate_message_send_duration_seconds", map[string]string{"kind": "text"}, eq(3), "3 observations"},
		{"wagate_messages_send_failures_total", map[string]string{"kind": "text"}, eq(0), "absent or 0"},
		{"wagate_messages_received_total", map[string]string{"kind": "text"}, eq(1), "1"},
		{"wagate_webhook_deliveries_total", map[string]string{"outcome": "retry"}, atLeast(1), ">= 1"},
		{"wagate_webhook_deliveries_total", map[string]string{"outcome": "failed"}, eq(0), "0"},
		{"wagate_webhook_request_duration_seconds", nil, atLeast(2), ">= 2 observations"},
		{"wagate_webhook_outbox_pending", nil, atLeast(1), ">= 1 (the refused delivery waits)"},
		{"wagate_webhook_outbox_oldest_age_seconds", nil, func(v float64) bool { return v > 0 && v < 60 }, "in (0, 60)"},
		{"wagate_channel_reconnects_total", map[string]string{"reason": "reconnecting"}, eq(1), "1"},
		{"wagate_channel_reconnects_total", map[string]string{"reason": "keepalive_lost"}, eq(0), "0"},
		{"wagate_channel_failures_total", map[string]string{"reason": "banned"}, eq(0), "0"},
		{"wagate_scrape_error", map[string]string{"figure": "channels"}, eq(0), "0"},
		{"go_sql_max_open_connections", map[string]string{"db_name": "sqlite"}, atLeast(1), ">= 1"},
		{"go_sql_open_connections", map[string]string{"db_name": "sqlite"}, atLeast(1), ">= 1"},
		{"go_goroutines", nil, atLeast(1), ">= 1"},
		{"process_resident_memory_bytes", nil, atLeast(1), ">= 1"},
	}
	for _, x := range expect {
		v, ok := metricValue(fams, x.name, x.labels)
		if x.name == "wagate_messages_send_failures_total" && !ok {
			continue // no failure: no series
		}
		if !ok || !x.want(v) {
			t.Errorf("%s%v = %v (present %v), want %s", x.name, x.labels, v, ok, x.says)
		}
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v := l.GetValue(); v == c.id || v == c.tok || v == c.ptok || v == "metrics" {
					t.Errorf("%s has a per-channel or per-partner label %s=%s", f.GetName(), l.GetName(), v)
				}
			}
		}
	}
	// Every family the Grafana dashboard draws is served.
	dash, err := os.ReadFile("../../docs/grafana-wagate.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`\b(?:wagate|go|process)_[a-z_]+`).FindAllString(string(dash), -1) {
		fam := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
		if fams[fam] == nil && fam != "wagate_messages_send_failures_total" { // no failure: no series yet
			t.Errorf("the Grafana dashboard uses %s, which /metrics does not serve", name)
		}
	}
	// The main listener: the same families to the operator token only.
	if main := scrape(adminToken); main["wagate_channels"] == nil {
		t.Error("the main listener's /metrics has no wagate_channels")
	}
	for _, tok := range []string{"", c.ptok, c.tok} {
		req, _ := http.NewRequest("GET", s.base+"/metrics", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("GET /metrics with token %q: %d, want 401", tok, resp.StatusCode)
		}
	}
}

func eq(want float64) func(float64) bool   { return func(v float64) bool { return v == want } }
func atLeast(n float64) func(float64) bool { return func(v float64) bool { return v >= n } }
