package app_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestDashboardProjectsAndStop: a partner creates and renames a project,
// moves a channel into it, lists the project's channels, deletes an empty
// project; stops a channel saving its days and starts it again.
func TestDashboardProjectsAndStop(t *testing.T) {
	e := dashEnv(t)
	_, ptok := e.partner("proj", 40)
	ch := e.channel(ptok, "Clinic 1")
	id := ch["id"].(string)
	b := e.browser("203.0.113.60")
	b.loginPartner("proj@example.test", "correct horse")

	b.get(200, "/ui/projects")
	p := b.act("/ui/projects", "name", "Clinic")
	mustContain(t, "projects", p.body, "Project Clinic created.", `id="project-table"`, ">default<")
	pid := regexp.MustCompile(`<tr data-id="([A-Za-z0-9]{20})">\s*<td>Clinic</td>`).FindStringSubmatch(p.body)
	if pid == nil {
		t.Fatalf("no Clinic row:\n%s", p.body)
	}
	p = b.act("/ui/projects/"+pid[1]+"/rename", "name", "Clinic North")
	mustContain(t, "rename", p.body, "Project renamed to Clinic North.")
	b.act("/ui/projects", "name", "", "x", "") // empty name: refused with a message
	mustContain(t, "empty name", b.last, "Name ")

	b.get(200, "/ui/channels/"+id)
	p = b.act("/ui/channels/"+id+"/project", "project", pid[1])
	mustContain(t, "move", p.body, "moved to project Clinic North.")
	if got := e.ok(200, "GET", "/partner/channels/"+id, ptok, nil)["projectId"]; got != pid[1] {
		t.Fatalf("projectId through the API = %v", got)
	}
	p = b.get(200, "/ui/channels?project="+pid[1])
	mustContain(t, "project filter", p.body, `id="channel-total">(1)`, `data-id="`+id+`"`)
	p = b.get(200, "/ui/projects")
	if row := rowOf(t, p.body, `data-id="`+pid[1]+`"`); !strings.Contains(row, ">1</a>") || strings.Contains(row, "/delete") {
		t.Fatalf("Clinic North row: %s", row)
	}
	p = b.act("/ui/projects", "name", "Spare")
	spare := regexp.MustCompile(`<tr data-id="([A-Za-z0-9]{20})">\s*<td>Spare</td>`).FindStringSubmatch(p.body)
	p = b.act("/ui/projects/" + spare[1] + "/delete")
	mustContain(t, "delete project", p.body, "Project deleted.")
	mustNotContain(t, "after delete", p.body, "Spare")

	// Stop with saveDays: the unused whole paid days go back; then start.
	e.ok(200, "POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 10})
	before := e.balanceOf(ptok)
	b.get(200, "/ui/channels/"+id)
	p = b.act("/ui/channels/"+id+"/stop", "saveDays", "1")
	mustContain(t, "stop", p.body, "stopped; 10 days returned to your balance.", `id="btn-start"`)
	if got := e.balanceOf(ptok); got != before+10 {
		t.Fatalf("balance after stop with saveDays = %d, want %d", got, before+10)
	}
	p = b.act("/ui/channels/" + id + "/start")
	mustContain(t, "start", p.body, "started; active until", `id="btn-stop"`)
	p = b.act("/ui/channels/" + id + "/stop")
	mustContain(t, "stop", p.body, "stopped; its time keeps running out.")
	if got := e.balanceOf(ptok); got != before+10 {
		t.Fatalf("balance after a plain stop = %d", got)
	}
}

// seedChannel is one channel written straight into the database.
type seedChannel struct {
	id, name, project, mode string
	created, activeTill     time.Time
	stopped                 bool
}

// TestDashboardChannelListAtScale: 10,000 channels of one partner; the
// channel list filters by status, mode, project and "expires within N
// days", sorts, and pages, each page answering the right rows, fast.
func TestDashboardChannelListAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 10,000 channels")
	}
	backend := storetest.Backends(t)[0]
	e := newEnvWith(t, openapitest.New(t), backend, func(*config.Config, *app.Options) {})
	pid, ptok := e.partner("big", 5)
	projA := e.ok(200, "PUT", "/partner/projects", ptok, map[string]any{"name": "A"})["id"].(string)
	now := e.clock.Now()

	const n = 10000
	modes := []string{"trial", "dev", "live"}
	var seeded []seedChannel
	for i := range n {
		c := seedChannel{id: fmt.Sprintf("SEED%02d-%05d", i%97, i), name: fmt.Sprintf("Shop %05d", (i*7919)%n),
			project: "default", mode: modes[i%3], created: now.Add(-time.Duration(n-i) * time.Minute),
			activeTill: now.Add(time.Duration(i%41-10) * 24 * time.Hour), stopped: i%13 == 0}
		if i%4 == 0 {
			c.project = projA
		}
		seeded = append(seeded, c)
	}
	db, err := sql.Open("sqlite", "file:"+backend.Options.SQLitePath+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := tx.Prepare(`INSERT INTO channels (id, partner_id, project_id, name, token, token_hash, mode, created_at, trial_until, active_till, stopped)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range seeded {
		if _, err := ins.Exec(c.id, pid, c.project, c.name, "tok"+c.id, "hash"+c.id, c.mode, c.created.UnixMilli(), c.created.UnixMilli(),
			c.activeTill.UnixMilli(), c.stopped); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d channels in %v", n, time.Since(start).Round(time.Millisecond))

	status := func(c seedChannel) string {
		switch {
		case c.stopped:
			return "stopped"
		case !c.activeTill.After(now):
			return "expired"
		}
		return "active"
	}
	b := e.browser("203.0.113.61")
	b.loginPartner("big@example.test", "correct horse")
	rowRE := regexp.MustCompile(`<tr data-id="([A-Z0-9-]+)">`)
	check := func(query string, keep func(seedChannel) bool, less func(a, b seedChannel) int, size, page int) {
		t.Helper()
		var want []seedChannel
		for _, c := range seeded {
			if keep(c) {
				want = append(want, c)
			}
		}
		slices.SortStableFunc(want, less)
		t0 := time.Now()
		p := b.get(200, "/ui/channels?"+query)
		took := time.Since(t0)
		mustContain(t, query, p.body, `id="channel-total">(`+strconv.Itoa(len(want))+`)`)
		var got []string
		for _, m := range rowRE.FindAllStringSubmatch(p.body, -1) {
			got = append(got, m[1])
		}
		from, to := min(len(want), (page-1)*size), min(len(want), page*size)
		var wantIDs []string
		for _, c := range want[from:to] {
			wantIDs = append(wantIDs, c.id)
		}
		if !slices.Equal(got, wantIDs) {
			t.Fatalf("%s: rows %v\nwant %v", query, got, wantIDs)
		}
		t.Logf("%-60s %5d match, page in %v", query, len(want), took.Round(time.Millisecond))
		// 6-54 ms on an idle machine; the bound only catches a page that
		// scans without its index (it stays loose for -race on a busy one).
		if took > 10*time.Second {
			t.Fatalf("%s took %v", query, took)
		}
	}
	// Each order ends with the ID, in the order's direction (as the SQL).
	asc := func(d int, a, b seedChannel) int {
		if d != 0 {
			return d
		}
		return strings.Compare(a.id, b.id)
	}
	desc := func(d int, a, b seedChannel) int { return -asc(d, a, b) }
	byCreated := func(a, b seedChannel) int { return asc(a.created.Compare(b.created), a, b) }
	check("", func(seedChannel) bool { return true }, byCreated, 50, 1)
	check("page=200", func(seedChannel) bool { return true }, byCreated, 50, 200)
	check("sort=-created&size=200&page=3", func(seedChannel) bool { return true }, func(a, b seedChannel) int { return desc(a.created.Compare(b.created), a, b) }, 200, 3)
	check("status=expired&mode=live&sort=-expires&page=2", func(c seedChannel) bool { return status(c) == "expired" && c.mode == "live" },
		func(a, b seedChannel) int { return desc(a.activeTill.Compare(b.activeTill), a, b) }, 50, 2)
	check("status=active&project="+projA+"&sort=name", func(c seedChannel) bool { return status(c) == "active" && c.project == projA },
		func(a, b seedChannel) int { return asc(strings.Compare(a.name, b.name), a, b) }, 50, 1)
	check("expires=3&sort=expires&size=100", func(c seedChannel) bool {
		return !c.stopped && c.activeTill.After(now) && !c.activeTill.After(now.Add(3*24*time.Hour))
	}, func(a, b seedChannel) int { return asc(a.activeTill.Compare(b.activeTill), a, b) }, 100, 1)
	check("status=stopped&mode=trial", func(c seedChannel) bool { return c.stopped && c.mode == "trial" }, byCreated, 50, 1)

	// Bad filters: 400 with the field named, nothing listed.
	for _, q := range []string{"status=nope", "mode=gold", "sort=price", "expires=-4", "expires=x", "project=ZZZZZZZZZZZZZZZZZZZZ"} {
		p := b.do("GET", "/ui/channels?"+q, nil, nil)
		if p.status != http.StatusBadRequest && p.status != http.StatusNotFound {
			t.Fatalf("/ui/channels?%s: %d", q, p.status)
		}
	}
}
