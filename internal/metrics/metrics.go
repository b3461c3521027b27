// Package metrics exposes wagate's Prometheus metrics: what the service,
// runtime and webhook layers report through the small interfaces they
// declare (service.Metrics, webhook.Metrics, the runtime's events), what is
// counted from the database at scrape time (channels, the outbox), the
// database pool, and the Go runtime and process.
//
// No metric has a per-channel or per-partner label: every label takes its
// values from a short fixed list (message kinds, webhook outcomes, runtime
// states, channel statuses and modes), so the number of series stays
// bounded whatever the number of channels.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/runtime"
)

// Namespace prefixes every wagate metric.
const Namespace = "wagate"

// ChannelCount is how many channels show one status in one mode.
type ChannelCount struct {
	Status, Mode string
	N            int
}

// OutboxStats is the pending part of the webhook outbox.
type OutboxStats struct {
	Pending, InFlight int
	Oldest            time.Time // zero when nothing is pending
}

// Source answers the figures counted at scrape time.
type Source interface {
	ChannelCensus(ctx context.Context) ([]ChannelCount, error)
	OutboxStats(ctx context.Context) (OutboxStats, error)
}

// Options build a Metrics.
type Options struct {
	// Source counts channels and the outbox at scrape time; nil: those
	// families are left out.
	Source Source
	// DB is the database pool whose figures are shown (go_sql_*); nil: none.
	DB *sql.DB
	// DBName labels the pool's figures (sqlite or postgres).
	DBName string
	// Now is the clock of the outbox's age; time.Now when nil.
	Now func() time.Time
	// ScrapeTimeout bounds the database queries of one scrape (5 s).
	ScrapeTimeout time.Duration
}

// Metrics holds wagate's metric families and their registry.
type Metrics struct {
	reg          *prometheus.Registry
	sent         *prometheus.CounterVec
	sendFailures *prometheus.CounterVec
	received     *prometheus.CounterVec
	sendSeconds  *prometheus.HistogramVec
	deliveries   *prometheus.CounterVec
	hookSeconds  prometheus.Histogram
	reconnects   *prometheus.CounterVec
	failures     *prometheus.CounterVec
}

// Outcomes of webhook attempts (the outcome label).
const (
	OutcomeDelivered = "delivered" // the receiver answered 2xx
	OutcomeRetry     = "retry"     // failed, tried again later
	OutcomeFailed    = "failed"    // failed for good (the receiver refused it as it is)
	OutcomeDropped   = "dropped"   // given up: past the webhook's maximum age
)

// sendBuckets cover a text send on a fast link (a few ms) to a large media
// send through a slow proxy (tens of seconds).
var sendBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// New builds the metrics and registers every family, with the Go runtime
// and process collectors.
func New(o Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.sent = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "messages_sent_total",
		Help: "Messages sent through the API, by kind."}, []string{"kind"})
	m.sendFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "messages_send_failures_total",
		Help: "Sends the engine refused or that failed on the way to WhatsApp, by kind."}, []string{"kind"})
	m.received = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "messages_received_total",
		Help: "Messages received from WhatsApp and stored (each once), by kind; the channel's own messages sent from the phone included."}, []string{"kind"})
	m.sendSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "message_send_duration_seconds",
		Help: "Time the engine took to send a message (the hand-over to WhatsApp), by kind.", Buckets: sendBuckets}, []string{"kind"})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "webhook_deliveries_total",
		Help: "Webhook attempts by outcome: delivered, retry, failed (for good) or dropped (past the maximum age)."}, []string{"outcome"})
	m.hookSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "webhook_request_duration_seconds",
		Help: "Time one webhook request took, answer or not.", Buckets: prometheus.DefBuckets})
	m.reconnects = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "channel_reconnects_total",
		Help: "Times a channel lost its connection and began reconnecting, by reason (the runtime state: reconnecting or keepalive_lost)."}, []string{"reason"})
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "channel_failures_total",
		Help: "Times a channel entered a failed state, by reason (the runtime state: banned, client_outdated, replaced, proxy_unreachable, failed, logged_out)."}, []string{"reason"})
	m.reg.MustRegister(m.sent, m.sendFailures, m.received, m.sendSeconds, m.deliveries, m.hookSeconds, m.reconnects, m.failures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, o := range []string{OutcomeDelivered, OutcomeRetry, OutcomeFailed, OutcomeDropped} {
		m.deliveries.WithLabelValues(o) // present at 0 from the start
	}
	for _, st := range []runtime.State{runtime.StateReconnecting, runtime.StateKeepAliveLost} {
		m.reconnects.WithLabelValues(string(st))
	}
	for _, st := range failureStates {
		m.failures.WithLabelValues(string(st))
	}
	if o.DB != nil {
		m.reg.MustRegister(collectors.NewDBStatsCollector(o.DB, o.DBName))
	}
	if o.Source != nil {
		now := o.Now
		if now == nil {
			now = time.Now
		}
		timeout := o.ScrapeTimeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		m.reg.MustRegister(&scrapeCollector{src: o.Source, now: now, timeout: timeout})
	}
	return m
}

// Registry is where the families are registered (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text (or negotiated)
// format. It checks no token: the caller guards it.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Timeout: 30 * time.Second})
}

// kinds are the message kinds with a label of their own; any other is
// counted as "other", so a new engine kind cannot add series unnoticed.
var kinds = map[string]bool{}

func init() {
	for _, k := range []string{engine.KindText, engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindAudio, engine.KindVoice,
		engine.KindDocument, engine.KindSticker, engine.KindLocation, engine.KindContact, engine.KindLinkPreview, engine.KindPoll,
		engine.KindReaction, engine.KindRevoke, engine.KindEdit, engine.KindSystem, engine.KindPollVote, engine.KindEvent,
		engine.KindShort, engine.KindLiveLocation, engine.KindContactList} {
		kinds[k] = true
	}
}

// Kind is the label a message kind is counted under.
func Kind(k string) string {
	if kinds[k] {
		return k
	}
	return "other"
}

// MessageSent counts one send of kind that took took; err is the engine's
// answer (nil: sent).
func (m *Metrics) MessageSent(kind string, took time.Duration, err error) {
	kind = Kind(kind)
	if err != nil {
		m.sendFailures.WithLabelValues(kind).Inc()
		return
	}
	m.sent.WithLabelValues(kind).Inc()
	m.sendSeconds.WithLabelValues(kind).Observe(took.Seconds())
}

// MessageReceived counts one received message of kind.
func (m *Metrics) MessageReceived(kind string) { m.received.WithLabelValues(Kind(kind)).Inc() }

// Delivery counts one webhook attempt's outcome and its duration (zero
// for a delivery dropped without an attempt).
func (m *Metrics) Delivery(outcome string, took time.Duration) {
	switch outcome {
	case OutcomeDelivered, OutcomeRetry, OutcomeFailed, OutcomeDropped:
	default:
		outcome = "other"
	}
	m.deliveries.WithLabelValues(outcome).Inc()
	if took > 0 {
		m.hookSeconds.Observe(took.Seconds())
	}
}

// failureStates are the runtime states counted as failures.
var failureStates = []runtime.State{runtime.StateBanned, runtime.StateClientOutdated, runtime.StateReplaced,
	runtime.StateProxyUnreachable, runtime.StateFailed, runtime.StateLoggedOut}

// RuntimeEvent counts the reconnects and failures among a channel's
// lifecycle events.
func (m *Metrics) RuntimeEvent(e runtime.Event) {
	if e.Kind != runtime.EventStatus {
		return
	}
	switch st := e.Health.State; st {
	case runtime.StateReconnecting, runtime.StateKeepAliveLost:
		m.reconnects.WithLabelValues(string(st)).Inc()
	case runtime.StateBanned, runtime.StateClientOutdated, runtime.StateReplaced, runtime.StateProxyUnreachable,
		runtime.StateFailed, runtime.StateLoggedOut:
		m.failures.WithLabelValues(string(st)).Inc()
	}
}
