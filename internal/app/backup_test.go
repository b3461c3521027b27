package app_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/service"
)

// TestBackupUnderLoadAndRestore takes a backup with wagate backup while
// partners are being created (each a transaction of several rows: the
// partner, its project, its ledger entry, its audit entry), restores it
// into another data dir with wagate restore, and compares the databases
// row for row: the restored one equals the backup file, every row of it is
// in the live database, the partners it holds are exactly the first k
// created (no transaction half in: each balance equals its ledger), and k
// is strictly between the count when the backup began and the final one.
func TestBackupUnderLoadAndRestore(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"WAGATE_DATA_DIR": dir}
	cli(t, env, 0, "migrate")
	ctx := context.Background()
	cfg := config.Config{DataDir: dir}
	st, err := app.OpenStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := service.New(st, slog.New(slog.DiscardHandler), service.Options{BcryptCost: 4})

	var created atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the write load
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, _, err := svc.CreatePartner(ctx, service.CreatePartnerInput{Name: fmt.Sprintf("load%05d", i),
				Email: fmt.Sprintf("l%d@load.test", i), Days: int64(i%9 + 1)}, "test")
			if err != nil {
				t.Errorf("load: %v", err)
				return
			}
			created.Add(1)
		}
	}()
	waitFor := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); created.Load() < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("load stalled at %d partners", created.Load())
			}
		}
	}
	waitFor(20)
	before := created.Load()
	file := filepath.Join(t.TempDir(), "wagate-backup.db")
	out := cli(t, env, 0, "backup", file)
	if !strings.Contains(out, "backed up") || !strings.Contains(out, "media") {
		t.Errorf("backup said %q", out)
	}
	waitFor(created.Load() + 20) // writes go on after it
	// A restore over the live database is refused while it is in use.
	if out := cli(t, env, 1, "restore", file); !strings.Contains(out, "may be running") {
		t.Errorf("restore over a database in use said %q", out)
	}
	close(stop)
	wg.Wait()
	final := created.Load()
	cli(t, env, 1, "backup", file) // never over an existing file

	restored := t.TempDir()
	out = cli(t, map[string]string{"WAGATE_DATA_DIR": restored}, 0, "restore", file)
	if !strings.Contains(out, "restored") {
		t.Errorf("restore said %q", out)
	}
	live := dumpDB(t, filepath.Join(dir, "wagate.db"))
	back := dumpDB(t, file)
	got := dumpDB(t, filepath.Join(restored, "wagate.db"))
	rows := 0
	for table, want := range back {
		if !equalRows(got[table], want) {
			t.Errorf("table %s: restored rows differ from the backup's (%d vs %d)", table, len(got[table]), len(want))
		}
		for _, r := range got[table] {
			if !contains(live[table], r) {
				t.Errorf("table %s: restored row %s is not in the live database", table, r)
				break
			}
		}
		rows += len(want)
	}
	if len(got) != len(back) {
		t.Errorf("%d tables restored, %d in the backup", len(got), len(back))
	}
	// Exactly the first k partners, each whole.
	db := openRO(t, filepath.Join(restored, "wagate.db"))
	var names []string
	r, err := db.Query("SELECT name FROM partners ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var n string
		_ = r.Scan(&n)
		names = append(names, n)
	}
	r.Close()
	k := int64(len(names))
	for i, n := range names {
		if n != fmt.Sprintf("load%05d", i) {
			t.Fatalf("restored partners are not the first %d created: %v at %d", k, n, i)
		}
	}
	if k <= before || k >= final {
		t.Errorf("the backup holds %d partners; want more than the %d made before it began and fewer than the %d made in all", k, before, final)
	}
	var unbalanced, audits int
	if err := db.QueryRow(`SELECT COUNT(*) FROM partners p WHERE p.balance <> (SELECT COALESCE(SUM(delta), 0) FROM ledger l WHERE l.partner_id = p.id)`).Scan(&unbalanced); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'partner.create'`).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if unbalanced != 0 || int64(audits) != k {
		t.Errorf("%d partners whose balance is not their ledger's sum; %d audit entries for %d partners", unbalanced, audits, k)
	}
	t.Logf("backup under load: %d partners before, %d in the backup (%d rows in %d tables), %d in the end", before, k, rows, len(back), final)

	// Bad input: no file, not a database, PostgreSQL.
	cli(t, map[string]string{"WAGATE_DATA_DIR": restored}, 2, "restore")
	junk := filepath.Join(t.TempDir(), "junk.db")
	_ = os.WriteFile(junk, []byte("not a database at all, just text"), 0o600)
	if out := cli(t, map[string]string{"WAGATE_DATA_DIR": t.TempDir()}, 1, "restore", junk); !strings.Contains(out, "not a") {
		t.Errorf("restore of junk said %q", out)
	}
	if out := cli(t, map[string]string{"WAGATE_DATABASE_URL": "postgres://u@db/w"}, 1, "backup", file+"2"); !strings.Contains(out, "pg_dump") {
		t.Errorf("backup on PostgreSQL said %q", out)
	}
}

func openRO(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dumpDB reads every table's rows as sorted strings.
func dumpDB(t *testing.T, path string) map[string][]string {
	t.Helper()
	db := openRO(t, path)
	var tables []string
	r, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var n string
		_ = r.Scan(&n)
		tables = append(tables, n)
	}
	r.Close()
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		list := []string{}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			list = append(list, fmt.Sprintf("%q", vals))
		}
		rows.Close()
		sort.Strings(list)
		out[table] = list
	}
	return out
}

func equalRows(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func contains(sorted []string, s string) bool {
	i := sort.SearchStrings(sorted, s)
	return i < len(sorted) && sorted[i] == s
}
