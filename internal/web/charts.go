package web

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// Charts drawn on the server as inline SVG: no script, no CDN. Every mark
// carries its figures as data-* attributes and a <title> tooltip, so the
// numbers are there for tests, screen readers and people hovering.

const (
	chartW, chartH         = 720, 220
	padL, padR, padT, padB = 44, 12, 12, 34
)

// chartSeries is one named, coloured run of values (one per label).
type chartSeries struct {
	Name, Color string
	Values      []float64
}

var palette = []string{"#0f8a5f", "#1f6fb2", "#b42318", "#9a6400", "#6d4bb3", "#0b7285", "#c2255c", "#5c940d"}

// niceMax rounds a chart's top value up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fnum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// barChart draws stacked bars, one per label, with a legend.
func barChart(id, title string, labels []string, series []chartSeries) template.HTML {
	var top float64
	for i := range labels {
		var sum float64
		for _, s := range series {
			sum += s.Values[i]
		}
		top = math.Max(top, sum)
	}
	top = niceMax(top)
	var b strings.Builder
	open(&b, id, title)
	axes(&b, top)
	plotW := float64(chartW - padL - padR)
	slot := plotW / float64(max(1, len(labels)))
	barW := math.Min(56, math.Max(1, slot*0.75))
	for i, l := range labels {
		x := float64(padL) + slot*float64(i) + (slot-barW)/2
		base := float64(chartH - padB)
		for _, s := range series {
			v := s.Values[i]
			h := v / top * float64(chartH-padT-padB)
			if v > 0 {
				fmt.Fprintf(&b, `<rect class="mark" data-series="%s" data-label="%s" data-value="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
					esc(s.Name), esc(l), fnum(v), x, base-h, barW, h, s.Color, esc(l), esc(s.Name), fnum(v))
			}
			base -= h
		}
	}
	xLabels(&b, labels, slot)
	return finish(&b, series)
}

// linePoint is one point of a line chart.
type linePoint struct {
	At    time.Time
	Value float64
}

// stepChart draws a value that holds until the next point (a balance).
func stepChart(id, title, name string, pts []linePoint) template.HTML {
	var top float64
	for _, p := range pts {
		top = math.Max(top, p.Value)
	}
	top = niceMax(top)
	var b strings.Builder
	open(&b, id, title)
	axes(&b, top)
	if len(pts) > 0 {
		t0, t1 := pts[0].At, pts[len(pts)-1].At
		span := t1.Sub(t0).Seconds()
		xOf := func(t time.Time) float64 {
			if span <= 0 {
				return float64(padL) + float64(chartW-padL-padR)/2
			}
			return float64(padL) + t.Sub(t0).Seconds()/span*float64(chartW-padL-padR)
		}
		yOf := func(v float64) float64 { return float64(chartH-padB) - v/top*float64(chartH-padT-padB) }
		var path strings.Builder
		for i, p := range pts {
			x, y := xOf(p.At), yOf(p.Value)
			if i == 0 {
				fmt.Fprintf(&path, "M%.1f %.1f", x, y)
			} else {
				fmt.Fprintf(&path, " H%.1f V%.1f", x, y)
			}
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`, path.String(), palette[0])
		for _, p := range pts {
			fmt.Fprintf(&b, `<circle class="mark" data-series="%s" data-label="%s" data-value="%s" cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %s</title></circle>`,
				esc(name), p.At.UTC().Format(time.RFC3339), fnum(p.Value), xOf(p.At), yOf(p.Value), palette[0], p.At.UTC().Format(dateTimeLayout), fnum(p.Value))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="axis">%s</text>`, padL, chartH-10, esc(t0.UTC().Format(dateLayout)))
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="axis" text-anchor="end">%s</text>`, chartW-padR, chartH-10, esc(t1.UTC().Format(dateLayout)))
	}
	return finish(&b, []chartSeries{{Name: name, Color: palette[0]}})
}

func open(b *strings.Builder, id, title string) {
	fmt.Fprintf(b, `<figure class="chart" id="%s"><figcaption>%s</figcaption><svg viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		esc(id), esc(title), chartW, chartH, esc(title))
}

func axes(b *strings.Builder, top float64) {
	for _, f := range []float64{0, 0.5, 1} {
		y := float64(chartH-padB) - f*float64(chartH-padT-padB)
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" class="axis" text-anchor="end">%s</text>`,
			padL, chartW-padR, y, y, padL-6, y+4, fnum(top*f))
	}
}

// xLabels writes at most about eight labels under the bars.
func xLabels(b *strings.Builder, labels []string, slot float64) {
	step := max(1, (len(labels)+7)/8)
	for i := 0; i < len(labels); i += step {
		x := float64(padL) + slot*float64(i) + slot/2
		fmt.Fprintf(b, `<text x="%.1f" y="%d" class="axis" text-anchor="middle">%s</text>`, x, chartH-12, esc(labels[i]))
	}
}

func finish(b *strings.Builder, series []chartSeries) template.HTML {
	b.WriteString(`</svg><ul class="legend">`)
	for _, s := range series {
		var sum float64
		for _, v := range s.Values {
			sum += v
		}
		total := ""
		if len(s.Values) > 0 {
			total = " (" + fnum(sum) + ")"
		}
		fmt.Fprintf(b, `<li><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="%s"/></svg> %s%s</li>`, s.Color, esc(s.Name), total)
	}
	b.WriteString(`</ul></figure>`)
	return template.HTML(b.String()) //nolint:gosec // built from escaped text and numbers
}

func esc(s string) string { return html.EscapeString(s) }

// dayLabels writes days as "2 Jan".
func dayLabels(days []time.Time) []string {
	out := make([]string, len(days))
	for i, d := range days {
		out[i] = d.Format("2 Jan")
	}
	return out
}

func ints(v []int) []float64 {
	out := make([]float64, len(v))
	for i, n := range v {
		out[i] = float64(n)
	}
	return out
}
