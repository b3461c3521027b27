package web

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/store"
)

func TestMarkdownEscapes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Send `Authorization: Bearer <token>` **now**.", "<p>Send <code>Authorization: Bearer &lt;token&gt;</code> <strong>now</strong>.</p>"},
		{"<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{"* one\n* two `x`\n  continued", "<ul><li>one</li><li>two <code>x</code> continued</li></ul>"},
		{"a\nb\n\nc", "<p>a b</p><p>c</p>"},
		{"[docs](https://example.com/x) and [bad](javascript:alert(1))", `<p><a href="https://example.com/x" rel="noopener noreferrer">docs</a> and [bad](javascript:alert(1))</p>`},
		{"", ""},
	} {
		if got := string(markdown(c.in)); got != c.want {
			t.Errorf("markdown(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRangesAndNiceMax(t *testing.T) {
	if got := ranges([]int{0, 1, 2, 3, 7, 9, 10}); got != "0-3, 7, 9-10" {
		t.Fatalf("ranges = %q", got)
	}
	for in, want := range map[float64]float64{0: 1, 1: 1, 3: 5, 7: 10, 12: 20, 45: 50, 90: 100, 101: 200} {
		if got := niceMax(in); got != want {
			t.Errorf("niceMax(%v) = %v, want %v", in, got, want)
		}
	}
}

var rectRE = regexp.MustCompile(`<rect class="mark" data-series="([^"]+)" data-label="([^"]+)" data-value="([^"]+)" x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)"`)

// TestBarChartStacks: bars stack per label, zero values draw nothing, the
// tallest stack reaches the nice top, and names are escaped.
func TestBarChartStacks(t *testing.T) {
	svg := string(barChart("c", "T <1>", []string{"a", "b"}, []chartSeries{
		{Name: "x<y", Color: "#000", Values: []float64{3, 0}},
		{Name: "z", Color: "#111", Values: []float64{2, 1}},
	}))
	if strings.Contains(svg, "x<y") || !strings.Contains(svg, "x&lt;y") || !strings.Contains(svg, "T &lt;1&gt;") {
		t.Fatalf("names not escaped: %s", svg)
	}
	m := rectRE.FindAllStringSubmatch(svg, -1)
	if len(m) != 3 {
		t.Fatalf("%d bars, want 3 (a zero draws none): %s", len(m), svg)
	}
	// a: 3 + 2 = 5 = the top, so the stack's top is the plot's top.
	if m[0][2] != "a" || m[0][3] != "3" || m[1][2] != "a" || m[1][3] != "2" || m[2][2] != "b" || m[2][3] != "1" {
		t.Fatalf("bars = %v", m)
	}
	if m[1][4] != "12.0" {
		t.Fatalf("the tallest stack tops at y=%s, want 12.0 (padT)", m[1][4])
	}
	if !strings.Contains(svg, "x&lt;y (3)") || !strings.Contains(svg, "z (3)") {
		t.Fatalf("legend totals missing: %s", svg)
	}
}

func TestStepChart(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	svg := string(balanceChart([]store.BalancePoint{{At: t0, Balance: 20}, {At: t0.Add(time.Hour), Balance: 25}, {At: t0.Add(2 * time.Hour), Balance: 5}}))
	pts := regexp.MustCompile(`<circle class="mark" data-series="balance" data-label="([^"]+)" data-value="([^"]+)" cx="([^"]+)"`).FindAllStringSubmatch(svg, -1)
	if len(pts) != 3 || pts[0][1] != "2026-11-02T10:00:00Z" || pts[1][2] != "25" || pts[2][2] != "5" {
		t.Fatalf("points = %v", pts)
	}
	if pts[0][3] != "44.0" || pts[2][3] != "708.0" || pts[1][3] != "376.0" {
		t.Fatalf("x positions = %v", pts)
	}
	if empty := string(balanceChart(nil)); strings.Contains(empty, "<circle") || !strings.Contains(empty, "chart-balance") {
		t.Fatalf("empty chart = %s", empty)
	}
}
