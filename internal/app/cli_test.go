package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/store/storetest"
)

// cli runs wagate's command line with the given environment.
func cli(t *testing.T, env map[string]string, want int, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return env[k] }
	if code := app.Main(args, getenv, &stdout, &stderr); code != want {
		t.Fatalf("wagate %v: exit %d, want %d; stdout %s; stderr %s", args, code, want, stdout.String(), stderr.String())
	}
	return stdout.String() + stderr.String()
}

// TestCLIHardening: --help lists the commands; one-shot commands refuse a
// data dir that does not exist (only serve and migrate make one); an empty
// partner list is []; partner credit takes its flags anywhere and refuses
// misspelled ones wherever they are.
func TestCLIHardening(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		out := cli(t, nil, 0, args...)
		for _, cmd := range []string{"serve", "migrate", "partner create", "partner credit", "partner list", "admin rotate-token", "backup", "restore", "bench", "version"} {
			if !strings.Contains(out, cmd) {
				t.Fatalf("wagate %v does not list %q:\n%s", args, cmd, out)
			}
		}
	}

	root := t.TempDir()
	missing := filepath.Join(root, "typo")
	env := map[string]string{"WAGATE_DATA_DIR": missing}
	for _, args := range [][]string{{"partner", "list"}, {"partner", "create", "--name", "a", "--email", "a@b.test"},
		{"partner", "credit", "x", "1"}, {"admin", "rotate-token"}} {
		if out := cli(t, env, 1, args...); !strings.Contains(out, "does not exist") {
			t.Fatalf("wagate %v on a missing data dir printed %q", args, out)
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Fatalf("wagate %v created the missing data dir", args)
		}
	}
	if out := cli(t, nil, 1, "partner", "list", "--data-dir", missing); !strings.Contains(out, "does not exist") {
		t.Fatalf("--data-dir of a missing dir: %q", out)
	}
	cli(t, env, 0, "migrate")
	if out := cli(t, env, 0, "partner", "list"); out != "[]\n" {
		t.Fatalf("empty partner list printed %q, want []", out)
	}

	out := cli(t, env, 0, "partner", "create", "--name", "acme", "--email", "ops@acme.test")
	id := strings.Split(strings.Split(out, `"id": "`)[1], `"`)[0]
	for _, args := range [][]string{
		{"partner", "credit", "--comment", "before", id, "3"},
		{"partner", "credit", id, "--comment", "between", "3"},
		{"partner", "credit", id, "3", "--comment", "after"},
	} {
		cli(t, env, 0, args...)
	}
	if out := cli(t, env, 0, "partner", "list"); !strings.Contains(out, `"balance": 9`) {
		t.Fatalf("after three credits: %s", out)
	}
	for _, args := range [][]string{
		{"partner", "credit", id, "3", "--coment", "typo"},
		{"partner", "credit", "--coment", "typo", id, "3"},
		{"partner", "credit", id, "--coment", "typo", "3"},
	} {
		if out := cli(t, env, 2, args...); !strings.Contains(out, "flag provided but not defined: -coment") {
			t.Fatalf("wagate %v printed %q", args, out)
		}
	}
	for _, args := range [][]string{{"partner", "credit", id}, {"partner", "credit", id, "3", "4"}, {"partner", "credit", id, "three"}} {
		cli(t, env, 1, args...)
	}
	cli(t, env, 1, "partner", "list", "extra")
	if out := cli(t, env, 0, "partner", "list"); !strings.Contains(out, `"balance": 9`) {
		t.Fatalf("a refused credit changed the balance: %s", out)
	}
}

// TestRotatePinnedAdminToken: rotate-token refuses (exit 1, saying why)
// when WAGATE_ADMIN_TOKEN pins the token, in its own environment or where
// the server last started; the printed token would have died at the next
// restart.
func TestRotatePinnedAdminToken(t *testing.T) {
	b := storetest.Backends(t)[0]
	cfg := testConfig(t, b)
	cfg.DataDir = filepath.Dir(b.Options.SQLitePath)
	env := map[string]string{"WAGATE_DATA_DIR": cfg.DataDir}
	start := func(pinned string) {
		t.Helper()
		cfg.AdminToken = pinned
		srv, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{BcryptCost: 4})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	start(adminToken)
	pinned := map[string]string{"WAGATE_DATA_DIR": cfg.DataDir, "WAGATE_ADMIN_TOKEN": adminToken}
	for _, e := range []map[string]string{pinned, env} {
		if out := cli(t, e, 1, "admin", "rotate-token"); !strings.Contains(out, "pinned by WAGATE_ADMIN_TOKEN") || strings.Contains(out, "wga_") {
			t.Fatalf("rotate-token with a pinned token printed %q", out)
		}
	}
	start("") // the pin is gone: the stored token stays, and may be rotated
	if out := cli(t, env, 0, "admin", "rotate-token"); !strings.HasPrefix(out, "wga_") {
		t.Fatalf("rotate-token printed %q", out)
	}
}
