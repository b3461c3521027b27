package app_test

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestOpsPagesBrowser drives the operator's Operators and Audit log pages
// in headless Chromium: the admin-token operator creates a named operator
// with TOTP and a partner; the named operator logs in with name, password
// and the authenticator's code, credits days, and finds both operators'
// changes in the audit log, filtered by action. It writes the screenshots
// operators.png and audit-log.png (to WAGATE_SCREENSHOTS when set).
func TestOpsPagesBrowser(t *testing.T) {
	chrome := chromium(t)
	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := testConfig(t, storetest.Backends(t)[0])
	cfg.PublicURL = ""
	srv := startServer(t, cfg, app.Options{BcryptCost: 4})
	ctx := browserTab(t, chrome)
	u := &ui{t: t, ctx: ctx, base: "http://" + srv.Addr(), dir: dir}

	u.open("/ui/login")
	u.fill("#login-token", adminToken)
	u.click("#login-operator-submit")
	u.waitText("h1", "Partners")
	u.fill("#partner-name", "acme")
	u.fill("#partner-email", "ops@acme.test")
	u.fill("#partner-password", "correct horse")
	u.fill("#partner-days", "30")
	u.submit("#btn-create-partner", "Partner acme created with 30 days.")
	api := &liveServer{t: t, base: u.base, client: &http.Client{Timeout: 10 * time.Second}}
	pid := api.call(200, "GET", "/admin/partners", adminToken, nil)["partners"].([]any)[0].(map[string]any)["id"].(string)

	u.click("#nav-operators")
	u.waitText("h1", "Operators")
	u.fill("#operator-name", "alice")
	u.fill("#operator-password", "alice's password")
	u.submit("#btn-create-operator", "Operator alice created.")
	secret := strings.TrimSpace(u.textOf("#operator-totp-secret"))
	if !regexp.MustCompile(`^[A-Z2-7]{32}$`).MatchString(secret) {
		t.Fatalf("TOTP secret on the page: %q", secret)
	}
	u.waitText("#operator-table", "alice")
	u.shot("operators")
	u.click("#logout")
	u.waitText("h1", "Log in to wagate")

	code, err := service.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u.fill("#login-operator-name", "alice")
	u.fill("#login-operator-password", "alice's password")
	u.fill("#login-operator-code", code)
	u.click("#login-operator-account-submit")
	u.waitText("h1", "Partners")
	u.open("/ui/admin/partners/" + pid)
	u.fill("#credit-days", "5")
	u.fill("#credit-comment", "from alice")
	u.submit("#btn-credit", "Credited 5 days. Balance: 35 days.")

	u.click("#nav-audit")
	u.waitText("h1", "Audit log")
	table := u.waitText("#audit-table", "partner.days")
	for _, want := range []string{"alice", "partner.days", "operator.create", "partner.create", "dashboard", "127.0.0.1"} {
		if !strings.Contains(table, want) {
			t.Errorf("the audit log does not show %q:\n%s", want, table)
		}
	}
	u.shot("audit-log")
	u.fill("#audit-action", "operator.")
	u.click("#btn-audit-filter")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		table := u.textOf("#audit-table")
		if strings.Contains(table, "operator.create") && !strings.Contains(table, "partner.") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the action filter shows:\n%s", table)
		}
	}
}
