package web

import (
	"html/template"
	"net/http"
	"sort"

	"github.com/wagate/wagate/internal/store"
)

type overviewData struct {
	Statuses, Sold template.HTML
	Channels       int
}

// overviewPage is the operator's overview: channels by status, and the
// days sold (credited) per partner per month over the last twelve months.
func (h *Handler) overviewPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	st, err := h.svc.ChannelsByStatus(r.Context())
	if err != nil {
		return err
	}
	sold, err := h.svc.DaysSoldPerMonth(r.Context())
	if err != nil {
		return err
	}
	d := overviewData{}
	var labels []string
	var counts []float64
	for _, c := range st {
		labels = append(labels, c.Status)
		counts = append(counts, float64(c.Count))
		d.Channels += c.Count
	}
	d.Statuses = barChart("chart-statuses", "Channels by status", labels, []chartSeries{{Name: "channels", Color: palette[1], Values: counts}})
	d.Sold = soldChart(sold)
	h.render(w, r, http.StatusOK, "overview", page{Title: "Overview", Nav: "overview", V: v, Data: d})
	return nil
}

// soldChart stacks each month's credited days by partner.
func soldChart(sold []store.DaysSold) template.HTML {
	monthIdx := map[string]int{}
	var months []string
	partnerIdx := map[string]int{}
	var partners []string
	for _, s := range sold {
		if _, ok := monthIdx[s.Month]; !ok {
			monthIdx[s.Month] = 0
			months = append(months, s.Month)
		}
		if _, ok := partnerIdx[s.Partner]; !ok {
			partnerIdx[s.Partner] = 0
			partners = append(partners, s.Partner)
		}
	}
	sort.Strings(months)
	sort.Strings(partners)
	for i, m := range months {
		monthIdx[m] = i
	}
	series := make([]chartSeries, len(partners))
	for i, p := range partners {
		partnerIdx[p] = i
		series[i] = chartSeries{Name: p, Color: palette[i%len(palette)], Values: make([]float64, len(months))}
	}
	for _, s := range sold {
		series[partnerIdx[s.Partner]].Values[monthIdx[s.Month]] += float64(s.Days)
	}
	return barChart("chart-sold", "Days sold per partner per month", months, series)
}
