package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Command is `wagate bench`: it parses args (the environment is not read), runs the bench with start,
// prints progress to stderr and the table to stdout, and writes the JSON
// report when --json is given.
func Command(args []string, _ func(string) string, stdout, stderr io.Writer, start Starter) error {
	if os.Getenv(EnvFakeWhatsApp) != "" {
		// The fake WhatsApp child of a running bench (whatsmeow section).
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return ServeFakeWhatsApp(ctx, os.Stdin, stdout)
	}
	if spec := os.Getenv(EnvNode); spec != "" {
		// A cluster node of a running bench (cluster section).
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return ServeNode(ctx, spec, start, os.Stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet("wagate bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := Options{Start: start}
	// No default from WAGATE_DATABASE_URL: the bench writes to the
	// database it is given, so it must be named on purpose.
	fs.StringVar(&o.DatabaseURL, "database-url", "",
		"PostgreSQL URL: measure on PostgreSQL, in a schema of the bench's own (dropped after); empty: SQLite in a temporary dir")
	fs.DurationVar(&o.Duration, "duration", DefaultDuration, "time for the timed measurements, shared by the sections (setting up comes on top)")
	fs.IntVar(&o.Clients, "clients", DefaultClients, "concurrent HTTP clients")
	fs.IntVar(&o.Channels, "channels", DefaultChannels, "live channels the send and webhook sections send through")
	fs.IntVar(&o.MaxChannels, "max-channels", DefaultMaxChannels, "most idle channels: levels 100, 1000 and 10000 up to it; partner listing and export use that many")
	fs.IntVar(&o.MaxSessions, "max-sessions", DefaultMaxSessions, "most connected whatsmeow sessions: levels 1000 and 10000 up to it")
	fs.DurationVar(&o.SessionIdle, "session-idle", DefaultSessionIdle, "how long connected whatsmeow sessions idle before their memory is read")
	fs.IntVar(&o.GrowMessages, "grow-messages", DefaultGrowMessages, "messages the data that grows section seeds, over up to 1000 channels")
	sections := fs.String("sections", strings.Join(Sections(), ","), "sections to run, comma-separated: "+strings.Join(Sections(), ", "))
	jsonFile := fs.String("json", "", "also write the full report as JSON to this file")
	fs.StringVar(&o.ProfileDir, "cpuprofile", "", "write CPU profiles of the send window, the webhook backlog drain, the receive window, the grow section's listing and the largest restart to this directory (send.pprof, webhooks.pprof, receive.pprof, grow-list.pprof, restart.pprof)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: wagate bench [flags]\n\n"+
			"Starts wagate on the simulated WhatsApp network with a temporary database and measures it next\n"+
			"to physical references: send, webhooks, idle channels and restart, partner operations; then on\n"+
			"the real whatsmeow engine against a fake WhatsApp server in a child process: connected sessions,\n"+
			"restart, sends through end-to-end encryption. On PostgreSQL, also three cluster nodes in child\n"+
			"processes: forwarded sends next to direct ones, and failover after a SIGKILL.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.Sections = nil
	for s := range strings.SplitSeq(*sections, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.Sections = append(o.Sections, s)
		}
	}
	o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, o, stderr)
	if rep.Started.IsZero() {
		return err
	}
	if terr := rep.WriteTable(stdout); err == nil {
		err = terr
	}
	if *jsonFile != "" {
		raw, jerr := json.MarshalIndent(rep, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(*jsonFile, append(raw, '\n'), 0o644)
		}
		if err == nil {
			err = jerr
		}
	}
	return err
}
