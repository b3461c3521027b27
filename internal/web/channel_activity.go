package web

import (
	"html/template"
	"net/http"

	"github.com/wagate/wagate/internal/store"
)

// balanceChart draws a partner's balance after each ledger row.
func balanceChart(hist []store.BalancePoint) template.HTML {
	pts := make([]linePoint, len(hist))
	for i, p := range hist {
		pts[i] = linePoint{At: p.At, Value: float64(p.Balance)}
	}
	return stepChart("chart-balance", "Balance over time (days)", "balance", pts)
}

type activityData struct {
	C                    chanView
	Messages, Deliveries template.HTML
}

// activityPage is a channel's "Activity": messages sent and received per
// day and webhook deliveries per day by outcome, over the last 30 days.
func (h *Handler) activityPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.channelOf(r, v)
	if err != nil {
		return err
	}
	msgs, hooks, err := h.svc.ChannelActivity(r.Context(), v.Partner.ID, ch.ID)
	if err != nil {
		return err
	}
	labels := dayLabels(msgs.Days)
	d := activityData{C: h.chanView(ch, h.svc.Now())}
	d.Messages = barChart("chart-messages", "Messages per day, last 30 days", labels, []chartSeries{
		{Name: "sent", Color: palette[0], Values: ints(msgs.Counts["sent"])},
		{Name: "received", Color: palette[1], Values: ints(msgs.Counts["received"])},
	})
	var hs []chartSeries
	for i, k := range []string{"delivered", "failed", "dropped", "pending"} {
		hs = append(hs, chartSeries{Name: k, Color: []string{palette[0], palette[2], palette[3], "#64736c"}[i], Values: ints(hooks.Counts[k])})
	}
	d.Deliveries = barChart("chart-deliveries", "Webhook deliveries per day by outcome, last 30 days", dayLabels(hooks.Days), hs)
	h.render(w, r, http.StatusOK, "activity", page{Title: "Activity of " + ch.Name, Nav: "channels", V: v, Data: d})
	return nil
}
