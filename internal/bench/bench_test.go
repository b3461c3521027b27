package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/bench"
	"github.com/wagate/wagate/internal/fakewa/racechild"
	"github.com/wagate/wagate/internal/store/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(bench.EnvFakeWhatsApp) != "" {
		// The fake WhatsApp child of a bench run by these tests.
		if err := bench.ServeFakeWhatsApp(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if spec := os.Getenv(bench.EnvNode); spec != "" {
		// A cluster node of a bench run by these tests.
		if err := bench.ServeNode(context.Background(), spec, app.StartBenchServer, os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// The whatsmeow section connects whatsmeow clients, which trip
	// whatsmeow's known socket race under -race: racechild tolerates that
	// one and no other.
	os.Exit(racechild.Main(m))
}

// fakeWhatsApp is this test binary as the bench's fake WhatsApp child.
func fakeWhatsApp() *exec.Cmd { return exec.Command(os.Args[0], "-test.run=^$") }

// clusterNode is this test binary as a cluster node of the bench.
func clusterNode() *exec.Cmd { return exec.Command(os.Args[0], "-test.run=^$") }

// databases are the databases to run on: SQLite, and PostgreSQL when
// WAGATE_TEST_POSTGRES_URL is set (the bench makes its own schema there).
func databases() map[string]string {
	out := map[string]string{"sqlite": ""}
	if u := os.Getenv(storetest.EnvPostgres); u != "" {
		out["postgres"] = u
	}
	return out
}

// TestRunSmall runs every section with tiny sizes and checks the report is
// complete, sane and survives JSON.
func TestRunSmall(t *testing.T) {
	for name, url := range databases() {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var progress bytes.Buffer
			rep, err := bench.Run(ctx, bench.Options{
				Start: app.StartBenchServer, DatabaseURL: url, TempDir: t.TempDir(),
				Duration: 2 * time.Second, Clients: 2, Channels: 2, MaxChannels: 100,
				MaxSessions: 20, SessionIdle: 100 * time.Millisecond, FakeWhatsApp: fakeWhatsApp, Node: clusterNode,
				GrowMessages: 2000,
				// The cluster section has a test of its own.
				Sections: slices.DeleteFunc(bench.Sections(), func(s string) bool { return s == bench.SectionCluster }),
			}, &progress)
			if err != nil {
				t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
			}
			checkReport(t, rep, name)
			checkStatements(t, rep, name)
			if !strings.Contains(progress.String(), "send: wagate") || !strings.Contains(progress.String(), "partner: create") {
				t.Errorf("progress:\n%s", progress.String())
			}

			raw, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			var back bench.Report
			if err := json.Unmarshal(raw, &back); err != nil {
				t.Fatal(err)
			}
			again, _ := json.Marshal(back)
			if !bytes.Equal(raw, again) {
				t.Errorf("JSON does not round-trip:\n%s\n%s", raw, again)
			}
			for _, key := range []string{`"ratio"`, `"num_cpu"`, `"gomaxprocs"`, `"go_version"`, `"database"`, `"started"`, `"goals"`,
				`"heap_bytes_per_channel"`, `"goroutines_per_channel"`, `"start_seconds"`, `"plain_loop"`, `"export_bytes"`} {
				if !bytes.Contains(raw, []byte(key)) {
					t.Errorf("JSON lacks %s", key)
				}
			}

			var table bytes.Buffer
			if err := rep.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"send POST /messages/text", "webhooks, backlog drained", "idle channels: 100",
				"partner: CSV export of 100 channels", "goal", "note: idle channels are seeded"} {
				if !strings.Contains(table.String(), want) {
					t.Errorf("table lacks %q:\n%s", want, table.String())
				}
			}
		})
	}
}

func checkReport(t *testing.T, r bench.Report, db string) {
	t.Helper()
	positive := func(what string, v float64) {
		t.Helper()
		if !(v > 0) {
			t.Errorf("%s = %v, want > 0", what, v)
		}
	}
	load := func(what string, l bench.Load) {
		t.Helper()
		if l.Requests == 0 || l.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors (%s)", what, l.Requests, l.Errors, l.FirstError)
		}
		positive(what+" per second", l.PerSecond)
		positive(what+" p50", l.P50ms)
		if l.P99ms < l.P50ms {
			t.Errorf("%s: p99 %v < p50 %v", what, l.P99ms, l.P50ms)
		}
	}
	if r.Database != db || r.NumCPU == 0 || r.GOMAXPROCS == 0 || r.GoVersion == "" || !r.Finished.After(r.Started) {
		t.Errorf("header: %+v", r)
	}
	if s := r.Send; s == nil {
		t.Error("no send report")
	} else {
		load("send", s.Wagate)
		load("bare", s.Bare)
		positive("send ratio", s.Ratio)
		if !s.Delivered || s.Channels != 2 || s.Recipients != bench.Recipients {
			t.Errorf("send: %+v", s)
		}
	}
	if h := r.Webhooks; h == nil {
		t.Error("no webhook report")
	} else {
		load("plain loop", h.Plain)
		positive("webhook ratio", h.Ratio)
		for what, d := range map[string]bench.Deliveries{"backlog": h.Backlog, "max rate": h.MaxRate, "steady": h.Steady} {
			if d.Events == 0 || d.Delivered != d.Events || d.Missing != 0 {
				t.Errorf("webhooks %s: %+v", what, d)
			}
			positive("webhooks "+what+" per second", d.PerSecond)
		}
		positive("webhooks max rate p50", h.MaxRate.P50ms)
		positive("webhooks steady p50", h.Steady.P50ms)
		positive("webhooks steady rate", h.Steady.RatePerSecond)
	}
	if c := r.Channels; c == nil {
		t.Error("no channels report")
	} else {
		if len(c.Levels) != 1 || c.Levels[0].Channels != 100 {
			t.Fatalf("levels: %+v", c.Levels)
		}
		lv := c.Levels[0]
		positive("start seconds", lv.StartSeconds)
		positive("boot seconds", lv.BootSeconds)
		positive("bytes per channel", lv.BytesPerChannel)
		positive("goroutines per channel", lv.GoroutinesPerChannel)
		positive("server heap", float64(c.Server.HeapBytes))
		if lv.BytesPerChannel > 10<<20 || lv.GoroutinesPerChannel > 100 {
			t.Errorf("level: %+v", lv)
		}
	}
	if p := r.Partner; p == nil {
		t.Error("no partner report")
	} else {
		load("create", p.Create)
		load("extend", p.Extend)
		load("list", p.List)
		load("export", p.Export)
		if p.Channels != 100 || p.Bytes == 0 {
			t.Errorf("partner: %+v", p)
		}
	}
	if wa := r.Whatsmeow; wa == nil {
		t.Error("no whatsmeow report")
	} else {
		if len(wa.Levels) != 1 || wa.Levels[0].Sessions != 20 {
			t.Fatalf("whatsmeow levels: %+v", wa.Levels)
		}
		lv := wa.Levels[0]
		positive("whatsmeow online seconds", lv.OnlineSeconds)
		positive("whatsmeow heap per session", lv.HeapBytesPerSession)
		positive("whatsmeow goroutines per session", lv.GoroutinesPerSession)
		if wa.Send == nil {
			t.Error("no whatsmeow send")
		} else {
			load("whatsmeow send", *wa.Send)
		}
		if wa.SimPerSecond != r.Send.Wagate.PerSecond {
			t.Errorf("sim reference %v, want the send section's %v", wa.SimPerSecond, r.Send.Wagate.PerSecond)
		}
	}
	if rc := r.Receive; rc == nil {
		t.Error("no receive report")
	} else {
		load("receive phones", rc.Phone)
		if rc.Stored.Events == 0 || rc.Stored.Delivered != rc.Stored.Events || rc.Stored.Missing != 0 || rc.Channels != 2 {
			t.Errorf("receive: %+v", rc)
		}
		positive("receive per second", rc.Stored.PerSecond)
		positive("receive p50", rc.Stored.P50ms)
		positive("receive vs storage", rc.StorageRatio)
	}
	if rt := r.Retention; rt == nil {
		t.Error("no retention report")
	} else {
		load("send not pruning", rt.Idle)
		load("send while pruning", rt.Pruning)
		if rt.Seeded == 0 || rt.Pruned == 0 || !(rt.P99Ratio > 0) {
			t.Errorf("retention: %+v", rt)
		}
	}
	if g := r.Grow; g == nil {
		t.Error("no grow report")
	} else {
		load("grow list", g.List)
		load("grow chats", g.Chats)
		load("grow send", g.Send)
		if g.Messages != 2000 || g.Channels != 20 || !(g.BytesPerMessage > 0) || !(g.SendP99Ratio > 0) {
			t.Errorf("grow: %+v", g)
		}
	}
	if st := r.Storage; st == nil {
		t.Error("no storage reference")
	} else {
		positive("storage sends per second", st.SendsPerSecond)
		positive("storage deliveries per second", st.DeliveriesPerSecond)
		if st.Batch != bench.StorageBatch || st.Writers < 1 {
			t.Errorf("storage: %+v", st)
		}
	}
	if r.Send != nil {
		positive("send vs storage", r.Send.StorageRatio)
	}
	if r.Webhooks != nil {
		positive("deliveries vs storage", r.Webhooks.StorageRatio)
	}
	if len(r.Goals) != 16 {
		t.Fatalf("goals: %+v", r.Goals)
	}
	for _, g := range append(r.Goals[:3:3], r.Goals[7:14]...) {
		if !g.Measured {
			t.Errorf("goal not measured: %+v", g)
		}
	}
	for _, g := range []bench.Goal{r.Goals[3], r.Goals[4], r.Goals[5], r.Goals[14], r.Goals[15]} { // 10,000 and 1,000,000 were not asked for
		if g.Measured {
			t.Errorf("goal measured below 10,000: %+v", g)
		}
	}
}

// checkStatements: on PostgreSQL each measured window has its statements
// from pg_stat_statements, or a note says why not; SQLite has none.
func checkStatements(t *testing.T, r bench.Report, db string) {
	t.Helper()
	if db != "postgres" {
		if len(r.Statements) != 0 {
			t.Errorf("statements on %s: %+v", db, r.Statements)
		}
		return
	}
	for _, n := range r.Notes {
		if strings.Contains(n, "no PostgreSQL statement statistics") {
			t.Logf("pg_stat_statements not loaded here: %s", n)
			return
		}
	}
	windows := map[string]bool{}
	for _, w := range r.Statements {
		windows[w.Window] = true
		if len(w.Statements) == 0 || w.TotalMS <= 0 || w.Statements[0].Calls == 0 || w.Statements[0].Query == "" {
			t.Errorf("window %s: %+v", w.Window, w)
		}
	}
	for _, want := range []string{"send", "backlog drain", "receive", "grown listing"} {
		if !windows[want] {
			t.Errorf("no statements for the %s window: %+v", want, r.Statements)
		}
	}
}

// TestRunCluster runs the cluster section: three node processes on
// PostgreSQL, forwarded and direct sends, a SIGKILL; on SQLite it is
// skipped with a note.
func TestRunCluster(t *testing.T) {
	for name, url := range databases() {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var progress bytes.Buffer
			rep, err := bench.Run(ctx, bench.Options{
				Start: app.StartBenchServer, DatabaseURL: url, TempDir: t.TempDir(), Duration: 5 * time.Second,
				Clients: 2, Node: clusterNode, Sections: []string{bench.SectionCluster},
			}, &progress)
			if err != nil {
				t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
			}
			var table bytes.Buffer
			if err := rep.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			goal := rep.Goals[6]
			if url == "" {
				if rep.Cluster != nil || goal.Measured || !strings.Contains(table.String(), "cluster: skipped, cluster mode needs PostgreSQL") {
					t.Errorf("SQLite: cluster %+v, goal %+v, table:\n%s", rep.Cluster, goal, table.String())
				}
				return
			}
			c := rep.Cluster
			if c == nil {
				t.Fatalf("no cluster report:\n%s", progress.String())
			}
			for what, l := range map[string]bench.Load{"direct": c.Direct, "forwarded": c.Forwarded, "serial direct": c.SerialDirect, "serial forwarded": c.SerialForwarded} {
				if l.Requests == 0 || l.Errors != 0 || !(l.P50ms > 0) || l.P99ms < l.P50ms {
					t.Errorf("%s: %+v", what, l)
				}
			}
			if c.Nodes != bench.ClusterNodes || c.Channels < 6 || c.KilledChannels < 2 || c.Killed == "" || !(c.FailoverSeconds > 0) || c.TTLSeconds != 6 {
				t.Errorf("cluster: %+v", c)
			}
			if goal.Name != "cluster failover: a SIGKILLed node's channels answer again" || !goal.Measured || goal.Value != c.FailoverSeconds {
				t.Errorf("goal: %+v", goal)
			}
			for _, want := range []string{"cluster: send through another node, forwarded", "forwarding overhead p50 / p99", "until every channel sends again"} {
				if !strings.Contains(table.String(), want) {
					t.Errorf("table lacks %q:\n%s", want, table.String())
				}
			}
		})
	}
}

func TestCommandFlags(t *testing.T) {
	env := func(string) string { return "" }
	var out, errb bytes.Buffer
	if err := bench.Command([]string{"-h"}, env, &out, &errb, app.StartBenchServer); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, flag := range []string{"--database-url", "--duration", "--clients", "--channels", "--json", "--sections", "--max-channels", "--max-sessions", "--session-idle"} {
		if !strings.Contains(errb.String(), strings.TrimLeft(flag, "-")) {
			t.Errorf("usage lacks %s:\n%s", flag, errb.String())
		}
	}
	if err := bench.Command([]string{"--sections", "send,nope"}, env, &out, &errb, app.StartBenchServer); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown section: %v", err)
	}
}

// TestCommandPartnerOnly runs one section through the command line and
// reads its JSON file back.
func TestCommandPartnerOnly(t *testing.T) {
	file := t.TempDir() + "/bench.json"
	var out, errb bytes.Buffer
	err := bench.Command([]string{"--sections", "partner", "--duration", "1s", "--clients", "2", "--max-channels", "50", "--json", file},
		func(string) string { return "" }, &out, &errb, app.StartBenchServer)
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var r bench.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.Partner == nil || r.Partner.Channels != 50 || r.Send != nil || r.Channels != nil || r.Webhooks != nil {
		t.Fatalf("report: %s", raw)
	}
	if !strings.Contains(out.String(), "partner: list 50 channels") || !strings.Contains(errb.String(), "partner: listing") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
}

// BenchmarkGateway runs each section of the bench once per database and
// reports its figures. Sizes: WAGATE_BENCH_DURATION (per section, default
// 20s), WAGATE_BENCH_CLIENTS, WAGATE_BENCH_CHANNELS and
// WAGATE_BENCH_MAX_CHANNELS (default 10000).
// Run: go test -run '^$' -bench Gateway -benchtime 1x ./internal/bench/
func BenchmarkGateway(b *testing.B) {
	o := bench.Options{Start: app.StartBenchServer, Duration: 20 * time.Second, MaxChannels: bench.DefaultMaxChannels,
		FakeWhatsApp: fakeWhatsApp, Node: clusterNode}
	if d, err := time.ParseDuration(os.Getenv("WAGATE_BENCH_DURATION")); err == nil {
		o.Duration = d
	}
	num := func(k string) int { n, _ := strconv.Atoi(os.Getenv(k)); return n }
	o.Clients, o.Channels = num("WAGATE_BENCH_CLIENTS"), num("WAGATE_BENCH_CHANNELS")
	if n := num("WAGATE_BENCH_MAX_CHANNELS"); n > 0 {
		o.MaxChannels = n
	}
	o.GrowMessages = num("WAGATE_BENCH_GROW_MESSAGES")
	for db, url := range databases() {
		for _, section := range bench.Sections() {
			b.Run(db+"/"+section, func(b *testing.B) {
				o := o
				o.DatabaseURL, o.Sections, o.TempDir = url, []string{section}, b.TempDir()
				var r bench.Report
				for b.Loop() {
					var err error
					if r, err = bench.Run(context.Background(), o, io.Discard); err != nil {
						b.Fatal(err)
					}
				}
				reportMetrics(b, r)
			})
		}
	}
}

func reportMetrics(b *testing.B, r bench.Report) {
	m := b.ReportMetric
	m(0, "ns/op")
	if s := r.Send; s != nil {
		m(s.Wagate.PerSecond, "msgs/s")
		m(s.Wagate.P50ms, "p50-ms")
		m(s.Wagate.P99ms, "p99-ms")
		m(s.Bare.PerSecond, "bare-req/s")
		m(s.Ratio, "ratio")
	}
	if h := r.Webhooks; h != nil {
		m(h.Backlog.PerSecond, "deliveries/s")
		m(h.Plain.PerSecond, "plain-POST/s")
		m(h.Ratio, "ratio")
		m(h.MaxRate.PerSecond, "max-rate-deliveries/s")
		m(h.MaxRate.P50ms, "max-rate-p50-ms")
		m(h.MaxRate.P99ms, "max-rate-p99-ms")
		m(h.Steady.P50ms, "steady-p50-ms")
		m(h.Steady.P99ms, "steady-p99-ms")
	}
	if c := r.Channels; c != nil {
		for _, lv := range c.Levels {
			m(lv.BytesPerChannel, fmt.Sprintf("B/channel@%d", lv.Channels))
			m(lv.GoroutinesPerChannel, fmt.Sprintf("goroutines/channel@%d", lv.Channels))
			m(lv.StartSeconds, fmt.Sprintf("start-s@%d", lv.Channels))
		}
	}
	if wa := r.Whatsmeow; wa != nil {
		for _, lv := range wa.Levels {
			m(lv.RSSBytesPerSession, fmt.Sprintf("RSS-B/session@%d", lv.Sessions))
			m(lv.HeapBytesPerSession, fmt.Sprintf("heap-B/session@%d", lv.Sessions))
			m(lv.GoroutinesPerSession, fmt.Sprintf("goroutines/session@%d", lv.Sessions))
			m(lv.OnlineSeconds, fmt.Sprintf("online-s@%d", lv.Sessions))
		}
		if wa.Send != nil {
			m(wa.Send.PerSecond, "encrypted-msgs/s")
		}
	}
	if st := r.Storage; st != nil {
		m(st.SendsPerSecond, "storage-sends/s")
		m(st.DeliveriesPerSecond, "storage-deliveries/s")
	}
	if rc := r.Receive; rc != nil {
		m(rc.Stored.PerSecond, "received-msgs/s")
		m(rc.Stored.P99ms, "receive-p99-ms")
	}
	if rt := r.Retention; rt != nil {
		m(rt.P99Ratio, "pruning-p99-ratio")
	}
	if g := r.Grow; g != nil {
		m(g.List.P99ms, "grown-list-p99-ms")
		m(g.BytesPerMessage, "B/message")
	}
	if c := r.Cluster; c != nil {
		m(c.OverheadP50ms, "forward-overhead-p50-ms")
		m(c.OverheadP99ms, "forward-overhead-p99-ms")
		m(c.FailoverSeconds, "failover-s")
	}
	if p := r.Partner; p != nil {
		m(p.Create.PerSecond, "creates/s")
		m(p.Extend.PerSecond, "extends/s")
		m(p.List.PerSecond, "listings/s")
		m(p.Export.PerSecond, "exports/s")
	}
}
