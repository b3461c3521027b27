package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	channelsDesc = prometheus.NewDesc(Namespace+"_channels", "Channels by status (as the gate API shows it: AUTH, QR, LAUNCH, "+
		"ERROR, INIT, NOT_INIT, STOP...) and mode (trial, dev, live, dev_archive). In a cluster each node counts the channels it runs "+
		"and every node counts the stopped ones.", []string{"status", "mode"}, nil)
	outboxPendingDesc = prometheus.NewDesc(Namespace+"_webhook_outbox_pending", "Webhook deliveries waiting in the outbox (in flight included).", nil, nil)
	outboxFlightDesc  = prometheus.NewDesc(Namespace+"_webhook_outbox_in_flight", "Webhook deliveries of the outbox a dispatcher is sending now.", nil, nil)
	outboxAgeDesc     = prometheus.NewDesc(Namespace+"_webhook_outbox_oldest_age_seconds", "Age of the oldest pending webhook delivery (0 when none is).", nil, nil)
	scrapeErrorDesc   = prometheus.NewDesc(Namespace+"_scrape_error", "1 when a figure counted from the database could not be read in this scrape.", []string{"figure"}, nil)
)

// scrapeCollector counts channels and the outbox from the database when
// scraped.
type scrapeCollector struct {
	src     Source
	now     func() time.Time
	timeout time.Duration
}

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- channelsDesc
	ch <- outboxPendingDesc
	ch <- outboxFlightDesc
	ch <- outboxAgeDesc
	ch <- scrapeErrorDesc
}

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	failed := func(figure string, err error) {
		v := 0.0
		if err != nil {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, v, figure)
	}
	counts, err := c.src.ChannelCensus(ctx)
	failed("channels", err)
	if err == nil {
		for _, n := range counts {
			ch <- prometheus.MustNewConstMetric(channelsDesc, prometheus.GaugeValue, float64(n.N), n.Status, n.Mode)
		}
	}
	st, err := c.src.OutboxStats(ctx)
	failed("outbox", err)
	if err == nil {
		age := 0.0
		if !st.Oldest.IsZero() {
			age = max(0, c.now().Sub(st.Oldest).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(outboxPendingDesc, prometheus.GaugeValue, float64(st.Pending))
		ch <- prometheus.MustNewConstMetric(outboxFlightDesc, prometheus.GaugeValue, float64(st.InFlight))
		ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, age)
	}
}
