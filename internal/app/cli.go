package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/bench"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/engine/whatsmeow"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
)

const usage = `wagate - self-hosted WhatsApp API gateway with a partner (white-label) program

Usage:
  wagate [serve] [flags]        run the server (see 'wagate serve -h' for flags)
  wagate migrate                apply database migrations and exit
  wagate partner create --name NAME --email EMAIL [--password PW] [--days N] [--trial-days N]
  wagate partner credit PARTNER_ID DAYS --comment TEXT   (negative DAYS debits)
  wagate partner list
  wagate admin rotate-token     replace the operator token and print the new one
  wagate backup FILE            copy the SQLite database online, consistently, to FILE (PostgreSQL: says how)
  wagate restore FILE [--force] put a backup in place of the database (the server stopped)
  wagate bench [flags]          measure this machine: send, webhooks, idle channels, partner API (see 'wagate bench -h')
  wagate version

Every command reads WAGATE_DATA_DIR (default ./data) or WAGATE_DATABASE_URL
(PostgreSQL) to find the database; one-shot commands also take --data-dir and
--database-url, anywhere on the line. Only serve and migrate create a data
dir that does not exist.
`

// Main runs the wagate command line and returns the exit code.
func Main(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			fmt.Fprint(stdout, usage)
			return 0
		}
		if len(args[0]) == 0 || args[0][0] != '-' {
			cmd, args = args[0], args[1:]
		}
	}
	var err error
	switch cmd {
	case "serve":
		err = runServe(args, getenv, stderr)
	case "migrate":
		err = runMigrate(args, getenv, stdout, stderr)
	case "partner":
		err = runPartner(args, getenv, stdout, stderr)
	case "admin":
		err = runAdmin(args, getenv, stdout, stderr)
	case "backup":
		err = runBackup(args, getenv, stdout, stderr)
	case "restore":
		err = runRestore(args, getenv, stdout, stderr)
	case "bench":
		err = bench.Command(args, getenv, stdout, stderr, StartBenchServer)
	case "version":
		fmt.Fprintf(stdout, "wagate %s (schema %d)\n", Version, store.SchemaVersion())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "wagate: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "wagate %s: %v\n", cmd, err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

// usageError is a command line that does not parse (exit status 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func runServe(args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := NewLogger(stderr, cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return Run(ctx, cfg, log, Options{Out: stderr})
}

// oneShot parses the database flags of a one-shot command plus its own
// flags (added by more), anywhere among its positional arguments (which
// it returns), then opens and migrates the store. Only migrate
// (createDir) makes a data dir that does not exist; the others refuse it,
// so a mistyped --data-dir never leaves an empty database behind.
func oneShot(name string, args []string, getenv func(string) string, stderr io.Writer, createDir bool, more func(*flag.FlagSet)) (*service.Service, []string, func(), error) {
	fs := flag.NewFlagSet("wagate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(k, d string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return d
	}
	var cfg config.Config
	fs.StringVar(&cfg.DataDir, "data-dir", env("WAGATE_DATA_DIR", "./data"), "data directory (WAGATE_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", env("WAGATE_DATABASE_URL", ""), "PostgreSQL URL (WAGATE_DATABASE_URL)")
	if more != nil {
		more(fs)
	}
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, nil, nil, err
	}
	if cfg.DatabaseURL == "" && !createDir {
		if st, err := os.Stat(cfg.DataDir); err != nil || !st.IsDir() {
			return nil, nil, nil, fmt.Errorf("data dir %s does not exist: start the server (wagate serve) or run wagate migrate there first, or give the right --data-dir", cfg.DataDir)
		}
	}
	cfg.LogLevel = slog.LevelWarn // warnings and errors only: one-shot output is the result
	cfg.LogFormat = "text"
	log := NewLogger(stderr, cfg)
	ctx := context.Background()
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, nil, nil, err
	}
	svc := service.New(st, log, service.Options{})
	return svc, positional, func() { st.Close() }, nil
}

// parseInterleaved parses flags placed anywhere among positional
// arguments (the flag package stops at the first positional one), so
// "credit ID 5 --comment x" and "credit --comment x ID 5" are the same and
// a misspelled flag is refused wherever it is. A negative number is a
// positional argument (a debit), unless it is a flag's value; "--" ends
// the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' || isNegativeNumber(a) {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil && i+1 < len(args) {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
			flags = append(flags, args[i+1])
			i++
		}
	}
	if err := fs.Parse(flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	return append(positional, fs.Args()...), nil
}

func isNegativeNumber(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil && strings.HasPrefix(s, "-")
}

// noArgs refuses positional arguments a command does not take.
func noArgs(positional []string) error {
	if len(positional) > 0 {
		return fmt.Errorf("unexpected argument %q", positional[0])
	}
	return nil
}

func runMigrate(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	svc, positional, done, err := oneShot("migrate", args, getenv, stderr, true, nil)
	if err != nil {
		return err
	}
	defer done()
	if err := noArgs(positional); err != nil {
		return err
	}
	v, err := svc.Store().Version(context.Background())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database (%s) at schema version %d\n", svc.Store().Dialect(), v)
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // a terminal, not a web page: < stays <
	return enc.Encode(v)
}

func runPartner(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: create, credit or list")
	}
	// Changes made here are the operator's, from this machine.
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: audit.ActorOperator, ID: "cli"})
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		var (
			name, email, password string
			days                  int64
			trialDays             = -1
		)
		svc, positional, done, err := oneShot("partner create", rest, getenv, stderr, false, func(fs *flag.FlagSet) {
			fs.StringVar(&name, "name", "", "partner name: letters, digits, '_' or '-' (required)")
			fs.StringVar(&email, "email", "", "partner email, the dashboard login (required)")
			fs.StringVar(&password, "password", "", "dashboard password (optional, at least 8 characters)")
			fs.Int64Var(&days, "days", 0, "initial balance in days")
			fs.IntVar(&trialDays, "trial-days", -1, "free trial days per new channel (default: the operator setting)")
		})
		if err != nil {
			return err
		}
		defer done()
		if err := noArgs(positional); err != nil {
			return err
		}
		in := service.CreatePartnerInput{Name: name, Email: email, Password: password, Days: days}
		if trialDays >= 0 {
			in.TrialDays = &trialDays
		}
		p, token, err := svc.CreatePartner(ctx, in, "cli")
		if err != nil {
			return err
		}
		return printJSON(stdout, struct {
			apiutil.Partner
			Token string `json:"token"`
		}{apiutil.NewPartner(p), token})
	case "credit":
		var comment string
		svc, positional, done, err := oneShot("partner credit", rest, getenv, stderr, false, func(fs *flag.FlagSet) {
			fs.StringVar(&comment, "comment", "", "why the balance changes (recorded in the ledger)")
		})
		if err != nil {
			return err
		}
		defer done()
		if len(positional) != 2 {
			return errors.New("usage: wagate partner credit PARTNER_ID DAYS --comment TEXT (negative DAYS debits)")
		}
		id := positional[0]
		days, err := strconv.ParseInt(positional[1], 10, 64)
		if err != nil {
			return fmt.Errorf("DAYS %q: want a whole number (negative debits)", positional[1])
		}
		bal, err := svc.CreditDays(ctx, id, days, comment, "cli")
		if err != nil {
			return err
		}
		return printJSON(stdout, map[string]int64{"balance": bal})
	case "list":
		svc, positional, done, err := oneShot("partner list", rest, getenv, stderr, false, nil)
		if err != nil {
			return err
		}
		defer done()
		if err := noArgs(positional); err != nil {
			return err
		}
		all := []apiutil.Partner{} // none is [], not null
		for offset := 0; ; offset += apiutil.MaxPage {
			ps, total, err := svc.Partners(ctx, service.Page{Count: apiutil.MaxPage, Offset: offset})
			if err != nil {
				return err
			}
			for _, p := range ps {
				all = append(all, apiutil.NewPartner(p))
			}
			if offset+apiutil.MaxPage >= total {
				break
			}
		}
		return printJSON(stdout, all)
	default:
		return fmt.Errorf("unknown subcommand %q: want create, credit or list", sub)
	}
}

func runAdmin(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate-token" {
		return errors.New("usage: wagate admin rotate-token")
	}
	if getenv("WAGATE_ADMIN_TOKEN") != "" {
		return errPinnedToken
	}
	svc, positional, done, err := oneShot("admin rotate-token", args[1:], getenv, stderr, false, nil)
	if err != nil {
		return err
	}
	defer done()
	if err := noArgs(positional); err != nil {
		return err
	}
	token, err := svc.RotateAdminToken(audit.WithActor(context.Background(), audit.Actor{Kind: audit.ActorOperator, ID: "cli"}))
	if errors.Is(err, service.ErrAdminTokenPinned) {
		return errPinnedToken
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}

// errPinnedToken refuses a rotation that the next start would undo.
var errPinnedToken = errors.New("the operator token is pinned by WAGATE_ADMIN_TOKEN (here, or where the server last started): " +
	"a new one would work only until the next restart. Change WAGATE_ADMIN_TOKEN and restart the server instead, " +
	"or unset it and restart before rotating")

// StartBenchServer builds and starts a server for wagate bench (and its
// Go benchmark and tests): the real server, on the config the bench gives.
func StartBenchServer(ctx context.Context, cfg config.Config, log *slog.Logger, wa *whatsmeow.Options) (bench.Server, error) {
	var o Options
	if wa != nil {
		o.Whatsmeow = *wa
	}
	s, err := New(ctx, cfg, log, o)
	if err != nil {
		return nil, err
	}
	if err := s.Start(ctx); err != nil {
		_ = s.Shutdown(ctx)
		return nil, err
	}
	return s, nil
}
