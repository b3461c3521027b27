package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything one bench run measured. Sections that did not run
// are null.
type Report struct {
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	Seconds    float64   `json:"seconds"`
	GoVersion  string    `json:"go_version"`
	GOOS       string    `json:"goos"`
	GOARCH     string    `json:"goarch"`
	NumCPU     int       `json:"num_cpu"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	// Database is sqlite or postgres.
	Database string  `json:"database"`
	Options  Options `json:"options"`

	// Storage is the storage reference the send and webhook sections
	// compare with (null when neither ran).
	Storage  *StorageReport `json:"storage"`
	Send     *SendReport    `json:"send"`
	Webhooks *WebhookReport `json:"webhooks"`
	Receive  *ReceiveReport `json:"receive"`
	// Retention is the send while pruning runs.
	Retention *RetentionReport `json:"retention"`
	// Grow is the data that grows section.
	Grow     *GrowReport     `json:"grow"`
	Channels *ChannelsReport `json:"channels"`
	Partner  *PartnerReport  `json:"partner"`
	// Whatsmeow is the real engine against the fake WhatsApp server.
	Whatsmeow *WhatsmeowReport `json:"whatsmeow"`
	// Cluster is three nodes on PostgreSQL (null on SQLite).
	Cluster *ClusterReport `json:"cluster"`

	Goals []Goal   `json:"goals"`
	Notes []string `json:"notes,omitempty"`
	// Statements is PostgreSQL's time per statement in the send, backlog
	// drain and receive windows (when pg_stat_statements is loaded).
	Statements []StatementWindow `json:"pg_statements,omitempty"`
}

// Goal is one of the goals of issue 7 and how the run fared.
type Goal struct {
	Name   string  `json:"name"`
	Target string  `json:"target"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	// Measured is false when the run did not measure it (section not run,
	// or fewer channels); Pass is then false too.
	Measured bool `json:"measured"`
	Pass     bool `json:"pass"`
}

// Goal thresholds.
const (
	GoalSendRatio        = 0.5
	GoalWebhookRatio     = 0.5
	GoalBytesPerChannel  = 100 << 10
	GoalRestartChannels  = 10_000
	GoalRestartSeconds   = 10.0
	goalRestartSecondsTx = "< 10 s"
	// A connected whatsmeow session: half of what a peer gateway on
	// whatsmeow (wuzapi) keeps (issue 18).
	GoalSessionRSS  = 190 << 10
	GoalSessionHeap = 70 << 10
	GoalSessions    = 10_000
	// Issue 17: against the bare handler and the plain loop, per database;
	// against the storage reference; the backlog at full send speed.
	GoalSendRatioSQLite       = 0.25
	GoalSendRatioPostgres     = 0.2
	GoalDeliveryRatioSQLite   = 0.3
	GoalDeliveryRatioPostgres = 0.2
	GoalStorageRatio          = 0.5
	GoalLagSeconds            = 1.0
)

func goals(r Report) []Goal {
	send := Goal{Name: "send throughput vs bare handler", Target: fmt.Sprintf(">= %.1f", GoalSendRatio), Unit: "ratio"}
	if r.Send != nil {
		send.Measured, send.Value = true, r.Send.Ratio
		send.Pass = r.Send.Ratio >= GoalSendRatio && r.Send.Wagate.Errors == 0
	}
	hooks := Goal{Name: "webhook deliveries vs plain POST loop", Target: fmt.Sprintf(">= %.1f", GoalWebhookRatio), Unit: "ratio"}
	if r.Webhooks != nil {
		hooks.Measured, hooks.Value = true, r.Webhooks.Ratio
		hooks.Pass = r.Webhooks.Ratio >= GoalWebhookRatio && r.Webhooks.Backlog.Missing == 0
	}
	idle := Goal{Name: "memory per idle channel (heap + stacks)", Target: "< 100 KiB", Unit: "KiB"}
	restart := Goal{Name: "10,000 channels AUTH after a restart", Target: goalRestartSecondsTx, Unit: "s"}
	if r.Channels != nil && len(r.Channels.Levels) > 0 {
		lv := r.Channels.Levels[len(r.Channels.Levels)-1]
		idle.Measured, idle.Value = true, lv.BytesPerChannel/1024
		idle.Pass = lv.BytesPerChannel < GoalBytesPerChannel
		idle.Name += fmt.Sprintf(" at %d channels", lv.Channels)
		for _, lv := range r.Channels.Levels {
			if lv.Channels == GoalRestartChannels {
				restart.Measured, restart.Value = true, lv.StartSeconds
				restart.Pass = lv.StartSeconds < GoalRestartSeconds
			}
		}
	}
	sessRSS := Goal{Name: "RSS per connected whatsmeow session at 10,000", Target: "< 190 KiB", Unit: "KiB"}
	sessHeap := Goal{Name: "heap per connected whatsmeow session at 10,000", Target: "< 70 KiB", Unit: "KiB"}
	if r.Whatsmeow != nil {
		for _, lv := range r.Whatsmeow.Levels {
			if lv.Sessions == GoalSessions {
				sessRSS.Measured, sessRSS.Value = true, lv.RSSBytesPerSession/1024
				sessRSS.Pass = lv.RSSBytesPerSession < GoalSessionRSS
				sessHeap.Measured, sessHeap.Value = true, lv.HeapBytesPerSession/1024
				sessHeap.Pass = lv.HeapBytesPerSession < GoalSessionHeap
			}
		}
	}
	sendMin, delMin := GoalSendRatioSQLite, GoalDeliveryRatioSQLite
	if r.Database == "postgres" {
		sendMin, delMin = GoalSendRatioPostgres, GoalDeliveryRatioPostgres
	}
	send17 := Goal{Name: "send vs bare handler on " + r.Database + " (issue 17)", Target: fmt.Sprintf(">= %.2f", sendMin), Unit: "ratio"}
	sendStore := Goal{Name: "send vs storage reference", Target: fmt.Sprintf(">= %.1f", GoalStorageRatio), Unit: "ratio"}
	if s := r.Send; s != nil {
		send17.Measured, send17.Value, send17.Pass = true, s.Ratio, s.Ratio >= sendMin && s.Wagate.Errors == 0
		sendStore.Measured, sendStore.Value, sendStore.Pass = true, s.StorageRatio, s.StorageRatio >= GoalStorageRatio && s.Wagate.Errors == 0
	}
	del17 := Goal{Name: "webhook deliveries vs plain POST loop on " + r.Database + " (issue 17)", Target: fmt.Sprintf(">= %.2f", delMin), Unit: "ratio"}
	delStore := Goal{Name: "webhook deliveries vs storage reference", Target: fmt.Sprintf(">= %.1f", GoalStorageRatio), Unit: "ratio"}
	lag := Goal{Name: "backlog left when events at full send speed stop", Target: "< 1 s", Unit: "s"}
	if h := r.Webhooks; h != nil {
		del17.Measured, del17.Value, del17.Pass = true, h.Ratio, h.Ratio >= delMin && h.Backlog.Missing == 0
		delStore.Measured, delStore.Value, delStore.Pass = true, h.StorageRatio, h.StorageRatio >= GoalStorageRatio && h.Backlog.Missing == 0
		if h.MaxRate.Delivered > 0 {
			lag.Measured, lag.Value, lag.Pass = true, h.MaxRate.LagSeconds, h.MaxRate.LagSeconds < GoalLagSeconds && h.MaxRate.Missing == 0
		}
	}
	recv := Goal{Name: "receive: stored and posted vs storage reference", Target: fmt.Sprintf(">= %.1f", GoalStorageRatio), Unit: "ratio"}
	if rc := r.Receive; rc != nil && rc.Stored.Delivered > 0 {
		recv.Measured, recv.Value = true, rc.StorageRatio
		recv.Pass = rc.StorageRatio >= GoalStorageRatio && rc.Stored.Missing == 0 && rc.Phone.Errors == 0
	}
	prune := Goal{Name: "send p99 while pruning vs not pruning", Target: fmt.Sprintf("<= %.1f", GoalPruneP99), Unit: "ratio"}
	if rt := r.Retention; rt != nil && rt.Pruned > 0 {
		prune.Measured, prune.Value = true, rt.P99Ratio
		prune.Pass = rt.P99Ratio <= GoalPruneP99 && rt.Pruning.Errors == 0 && rt.Idle.Errors == 0
	}
	list := Goal{Name: "GET /messages/list p99 with 1,000,000 stored messages", Target: fmt.Sprintf("< %.0f ms", GoalListP99ms), Unit: "ms"}
	growSend := Goal{Name: "send p99 with 1,000,000 stored messages vs an emptier database", Target: fmt.Sprintf("<= %.1f", GoalGrowSendP99), Unit: "ratio"}
	if g := r.Grow; g != nil && g.Messages >= DefaultGrowMessages {
		list.Measured, list.Value, list.Pass = true, g.List.P99ms, g.List.P99ms < GoalListP99ms && g.List.Errors == 0
		if g.SendP99Ratio > 0 {
			growSend.Measured, growSend.Value = true, g.SendP99Ratio
			growSend.Pass = g.SendP99Ratio <= GoalGrowSendP99 && g.Send.Errors == 0
		}
	}
	failover := Goal{Name: "cluster failover: a SIGKILLed node's channels answer again", Target: "< 30 s", Unit: "s"}
	if c := r.Cluster; c != nil && c.FailoverSeconds > 0 {
		failover.Measured, failover.Value = true, c.FailoverSeconds
		failover.Pass = c.FailoverSeconds < GoalFailoverSeconds
	}
	return []Goal{send, hooks, idle, restart, sessRSS, sessHeap, failover, send17, sendStore, del17, delStore, lag, recv, prune, list, growSend}
}

// WriteTable prints the report as a table.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	p := func(cols ...string) { fmt.Fprintln(tw, strings.Join(cols, "\t")) }
	fmt.Fprintf(tw, "wagate bench: %s, %s/%s, %d CPUs (GOMAXPROCS %d), %s, %s, %.0f s\n\n",
		r.Started.Format(time.RFC3339), r.GOOS, r.GOARCH, r.NumCPU, r.GOMAXPROCS, r.GoVersion, r.Database, r.Seconds)
	p("figure", "wagate", "reference", "ratio")
	if st := r.Storage; st != nil {
		p(fmt.Sprintf("storage reference: a send's rows, bare loop (writers %d, %d rows a transaction)", st.Writers, st.Batch),
			"", fmt.Sprintf("%.0f sends/s", st.SendsPerSecond), "")
		p(fmt.Sprintf("storage reference: a delivery's rows, bare loop (writers %d, %d rows a transaction)", st.Writers, st.Batch),
			"", fmt.Sprintf("%.0f deliveries/s", st.DeliveriesPerSecond), "")
	}
	if s := r.Send; s != nil {
		p(fmt.Sprintf("send POST /messages/text (%d clients, %d channels)", s.Wagate.Clients, s.Channels),
			fmt.Sprintf("%.0f msg/s", s.Wagate.PerSecond), fmt.Sprintf("%.0f req/s bare handler", s.Bare.PerSecond), fmt.Sprintf("%.2f", s.Ratio))
		p("  latency p50 / p99", ms2(s.Wagate.P50ms, s.Wagate.P99ms), ms2(s.Bare.P50ms, s.Bare.P99ms), "")
		if r.Storage != nil {
			p("  send vs storage reference", fmt.Sprintf("%.0f msg/s", s.Wagate.PerSecond), fmt.Sprintf("%.0f sends/s", r.Storage.SendsPerSecond), fmt.Sprintf("%.2f", s.StorageRatio))
		}
		if s.Wagate.Errors > 0 {
			p("  errors", fmt.Sprint(s.Wagate.Errors), s.Wagate.FirstError, "")
		}
	}
	if h := r.Webhooks; h != nil {
		p(fmt.Sprintf("webhooks, backlog drained (%d chats, %d per receiver)", h.Chats, h.PerReceiver),
			fmt.Sprintf("%.0f deliveries/s", h.Backlog.PerSecond), fmt.Sprintf("%.0f POST/s plain loop", h.Plain.PerSecond), fmt.Sprintf("%.2f", h.Ratio))
		p("  plain loop POST latency p50 / p99", "", ms2(h.Plain.P50ms, h.Plain.P99ms), "")
		if r.Storage != nil {
			p("  backlog vs storage reference", fmt.Sprintf("%.0f deliveries/s", h.Backlog.PerSecond), fmt.Sprintf("%.0f deliveries/s", r.Storage.DeliveriesPerSecond), fmt.Sprintf("%.2f", h.StorageRatio))
		}
		p("webhooks, events at full send speed", fmt.Sprintf("%.0f deliveries/s", h.MaxRate.PerSecond), "", "")
		p("  event-to-POST p50 / p99 from the send's request", ms2(h.MaxRate.P50ms, h.MaxRate.P99ms), "", "")
		p("  event-to-POST p50 / p99 from the send's answer", ms2(h.MaxRate.AnswerP50ms, h.MaxRate.AnswerP99ms), fmt.Sprintf("%d arrived before the answer", h.MaxRate.Early), "")
		p("  backlog when the events stopped", fmt.Sprintf("%.2f s", h.MaxRate.LagSeconds), "", "")
		p(fmt.Sprintf("webhooks, events at a steady %.0f/s", h.Steady.RatePerSecond), fmt.Sprintf("%d delivered", h.Steady.Delivered), "", "")
		p("  event-to-POST p50 / p99 from the send's request", ms2(h.Steady.P50ms, h.Steady.P99ms), "", "")
		p("  event-to-POST p50 / p99 from the send's answer", ms2(h.Steady.AnswerP50ms, h.Steady.AnswerP99ms), fmt.Sprintf("%d arrived before the answer", h.Steady.Early), "")
		if m := h.Backlog.Missing + h.MaxRate.Missing + h.Steady.Missing; m > 0 {
			p("  deliveries missing", fmt.Sprint(m), "", "")
		}
	}
	if rc := r.Receive; rc != nil {
		ref := ""
		if r.Storage != nil {
			ref = fmt.Sprintf("%.0f sends/s storage reference", r.Storage.SendsPerSecond)
		}
		p(fmt.Sprintf("receive: %d sim phone senders to %d channels, each waiting for its POST", rc.Phone.Clients, rc.Channels),
			fmt.Sprintf("%.0f msgs/s stored and posted", rc.Stored.PerSecond), ref, fmt.Sprintf("%.2f", rc.StorageRatio))
		p("  event-to-POST p50 / p99 from the phone's send", ms2(rc.Stored.P50ms, rc.Stored.P99ms), "", "")
		if rc.Stored.Missing > 0 || rc.Phone.Errors > 0 {
			p("  missing / errors", fmt.Sprintf("%d / %d", rc.Stored.Missing, rc.Phone.Errors), rc.Phone.FirstError, "")
		}
	}
	if rt := r.Retention; rt != nil {
		p(fmt.Sprintf("retention: send while pruning %d old messages (%d clients)", rt.Seeded, rt.Pruning.Clients),
			fmt.Sprintf("p50 / p99 %s", ms2(rt.Pruning.P50ms, rt.Pruning.P99ms)), fmt.Sprintf("p50 / p99 %s not pruning", ms2(rt.Idle.P50ms, rt.Idle.P99ms)),
			fmt.Sprintf("%.2f", rt.P99Ratio))
		p("  pruned", fmt.Sprintf("%d messages in %.1f s (whole window: %v)", rt.Pruned, rt.PruneSeconds, rt.Busy),
			fmt.Sprintf("%.0f / %.0f msg/s sent", rt.Pruning.PerSecond, rt.Idle.PerSecond), "")
		if n := rt.Pruning.Errors + rt.Idle.Errors; n > 0 {
			p("  errors", fmt.Sprint(n), firstOf(rt.Idle.FirstError, rt.Pruning.FirstError), "")
		}
	}
	if g := r.Grow; g != nil {
		p(fmt.Sprintf("grow: %d messages over %d channels, seeded in %.1f s", g.Messages, g.Channels, g.SeedSeconds),
			fmt.Sprintf("%.0f bytes on disk per message", g.BytesPerMessage), "", "")
		p("  GET /messages/list?count=100 p50 / p99", ms2(g.List.P50ms, g.List.P99ms), fmt.Sprintf("%.0f listings/s", g.List.PerSecond), "")
		p("  GET /chats?count=100 p50 / p99", ms2(g.Chats.P50ms, g.Chats.P99ms), fmt.Sprintf("%.0f listings/s", g.Chats.PerSecond), "")
		ref := ""
		if r.Send != nil {
			ref = "p99 " + fmt.Sprintf("%.2f ms", r.Send.Wagate.P99ms) + " in the send section"
		}
		p("  send on top: p50 / p99", ms2(g.Send.P50ms, g.Send.P99ms), ref, fmt.Sprintf("%.2f", g.SendP99Ratio))
		if n := g.List.Errors + g.Chats.Errors + g.Send.Errors; n > 0 {
			p("  errors", fmt.Sprint(n), firstOf(g.List.FirstError, g.Chats.FirstError, g.Send.FirstError), "")
		}
	}
	if c := r.Channels; c != nil {
		p("server without idle channels", fmt.Sprintf("%s heap, %s stacks, %d goroutines",
			kib(float64(c.Server.HeapBytes)), kib(float64(c.Server.StackBytes)), c.Server.Goroutines), "", "")
		for _, lv := range c.Levels {
			p(fmt.Sprintf("idle channels: %d", lv.Channels),
				fmt.Sprintf("%s/channel (%s heap + %s stacks), %.2f goroutines/channel",
					kib(lv.BytesPerChannel), kib(lv.HeapBytesPerChannel), kib(lv.StackBytesPerChannel), lv.GoroutinesPerChannel), "", "")
			p("  start after a restart: all AUTH", fmt.Sprintf("%.2f s (boot %.2f s)", lv.StartSeconds, lv.BootSeconds), "", "")
		}
	}
	if pr := r.Partner; pr != nil {
		p(fmt.Sprintf("partner: create channel (%d clients)", pr.Create.Clients),
			fmt.Sprintf("%.0f ops/s, p50 / p99 %s", pr.Create.PerSecond, ms2(pr.Create.P50ms, pr.Create.P99ms)), "", "")
		p(fmt.Sprintf("partner: extend (%d clients)", pr.Extend.Clients),
			fmt.Sprintf("%.0f ops/s, p50 / p99 %s", pr.Extend.PerSecond, ms2(pr.Extend.P50ms, pr.Extend.P99ms)), "", "")
		p(fmt.Sprintf("partner: list %d channels (%d a page)", pr.Channels, pr.PageSize),
			fmt.Sprintf("%.2f listings/s, %.0f ms each", pr.List.PerSecond, pr.List.P50ms), "", "")
		p(fmt.Sprintf("partner: CSV export of %d channels", pr.Channels),
			fmt.Sprintf("%.2f exports/s, %.0f ms each, %s", pr.Export.PerSecond, pr.Export.P50ms, kib(float64(pr.Bytes))), "", "")
	}
	if c := r.Cluster; c != nil {
		p(fmt.Sprintf("cluster: send through another node, forwarded (%d nodes, %d channels, %d clients)", c.Nodes, c.Channels, c.Forwarded.Clients),
			fmt.Sprintf("%.0f msg/s, p50 / p99 %s", c.Forwarded.PerSecond, ms2(c.Forwarded.P50ms, c.Forwarded.P99ms)),
			fmt.Sprintf("%.0f msg/s, p50 / p99 %s to the owner", c.Direct.PerSecond, ms2(c.Direct.P50ms, c.Direct.P99ms)),
			fmt.Sprintf("%.2f", ratio(c.Forwarded.PerSecond, c.Direct.PerSecond)))
		p("  forwarding overhead p50 / p99", ms2(c.OverheadP50ms, c.OverheadP99ms), "", "")
		p("cluster: the same with one client, forwarded", ms2(c.SerialForwarded.P50ms, c.SerialForwarded.P99ms),
			ms2(c.SerialDirect.P50ms, c.SerialDirect.P99ms)+" to the owner", "")
		p("  forwarding overhead p50 / p99", ms2(c.SerialOverheadP50ms, c.SerialOverheadP99ms), "", "")
		if n := c.Direct.Errors + c.Forwarded.Errors + c.SerialDirect.Errors + c.SerialForwarded.Errors; n > 0 {
			p("  errors", fmt.Sprint(n), firstOf(c.Direct.FirstError, c.Forwarded.FirstError, c.SerialDirect.FirstError, c.SerialForwarded.FirstError), "")
		}
		if c.FailoverSeconds > 0 {
			p(fmt.Sprintf("cluster: SIGKILL of %s (%d channels, leader %v), heartbeat TTL %.0f s", c.Killed, c.KilledChannels, c.KilledLeader, c.TTLSeconds),
				fmt.Sprintf("%.2f s until every channel sends again", c.FailoverSeconds), "", "")
		}
	}
	if wa := r.Whatsmeow; wa != nil {
		p("whatsmeow server without sessions", fmt.Sprintf("%s RSS, %s heap, %s stacks, %d goroutines",
			kib(float64(wa.Server.RSSBytes)), kib(float64(wa.Server.HeapBytes)), kib(float64(wa.Server.StackBytes)), wa.Server.Goroutines), "", "")
		for _, lv := range wa.Levels {
			p(fmt.Sprintf("whatsmeow sessions connected: %d", lv.Sessions),
				fmt.Sprintf("%s RSS, %s heap, %s stacks, %.2f goroutines per session",
					kib(lv.RSSBytesPerSession), kib(lv.HeapBytesPerSession), kib(lv.StackBytesPerSession), lv.GoroutinesPerSession), "", "")
			p("  start after a restart: all online", fmt.Sprintf("%.2f s (boot %.2f s)", lv.OnlineSeconds, lv.BootSeconds), "", "")
		}
		if s := wa.Send; s != nil {
			ref, ratio := "", ""
			if wa.SimPerSecond > 0 {
				ref, ratio = fmt.Sprintf("%.0f msg/s on the sim engine", wa.SimPerSecond), fmt.Sprintf("%.2f", s.PerSecond/wa.SimPerSecond)
			}
			p(fmt.Sprintf("whatsmeow send POST /messages/text (%d clients), encrypted", s.Clients), fmt.Sprintf("%.0f msg/s", s.PerSecond), ref, ratio)
			p("  latency p50 / p99", ms2(s.P50ms, s.P99ms), "", "")
			if s.Errors > 0 {
				p("  errors", fmt.Sprint(s.Errors), s.FirstError, "")
			}
		}
	}
	fmt.Fprintln(tw)
	p("goal", "target", "reached", "")
	for _, g := range r.Goals {
		v := "not measured"
		if g.Measured {
			mark := "FAIL"
			if g.Pass {
				mark = "pass"
			}
			v = fmt.Sprintf("%.2f %s  %s", g.Value, g.Unit, mark)
		}
		p(g.Name, g.Target, v, "")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writeStatements(w, r.Statements); err != nil {
		return err
	}
	for _, n := range r.Notes {
		if _, err := fmt.Fprintf(w, "\nnote: %s\n", n); err != nil {
			return err
		}
	}
	return nil
}

func ms2(p50, p99 float64) string { return fmt.Sprintf("%.2f / %.2f ms", p50, p99) }

func kib(b float64) string {
	if b >= 10<<20 || b <= -(10<<20) {
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", b/1024)
}

// firstOf is the first of ss that is not empty.
func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
