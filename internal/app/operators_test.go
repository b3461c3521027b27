package app_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/service"
)

// TestOperatorAccounts: an operator creates a named operator with TOTP on
// the dashboard; it logs in with name, password and code, and its changes
// are audited under its name; a code is never taken twice; wrong codes
// count toward the login limit like wrong passwords.
func TestOperatorAccounts(t *testing.T) {
	e := dashEnv(t)
	root := e.browser("198.51.100.1")
	root.loginOperator(adminToken)
	root.get(200, "/ui/admin/operators")
	p := root.post(http.StatusBadRequest, "/ui/admin/operators", "name", "Bad Name!", "password", "long enough pw", "totp", "on")
	mustContain(t, "bad name", p.body, "lower-case letters")
	p = root.post(http.StatusOK, "/ui/admin/operators", "name", "alice", "password", "alice's password", "totp", "on")
	m := regexp.MustCompile(`id="operator-totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no TOTP secret shown:\n%s", p.body)
	}
	secret := m[1]
	mustContain(t, "operators", p.body, "otpauth://totp/wagate:alice?secret="+secret)
	p = root.post(http.StatusConflict, "/ui/admin/operators", "name", "alice", "password", "another password")
	if strings.Contains(root.get(200, "/ui/admin/operators").body, secret) {
		t.Error("the TOTP secret is shown again")
	}

	login := func(b *browser, want int, password, code string) answer {
		t.Helper()
		b.get(200, "/ui/login")
		return b.post(want, "/ui/login", "kind", "operator", "operator", "alice", "password", password, "code", code)
	}
	code, err := service.TOTPCode(secret, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	alice := e.browser("203.0.113.30")
	p = login(alice, http.StatusUnauthorized, "alice's password", "")
	mustContain(t, "no code", p.body, "Wrong operator name, password or code.")
	login(alice, http.StatusSeeOther, "alice's password", code)
	pid, _ := e.partner("byalice", 1)
	alice.get(200, "/ui/admin/partners/"+pid)
	alice.act("/ui/admin/partners/"+pid+"/days", "days", "3", "comment", "from alice")
	_, raw := e.do("GET", "/admin/audit?action=partner.days", adminToken, nil)
	var log struct {
		Entries []struct{ Actor struct{ Kind, ID, IP string } } `json:"entries"`
	}
	_ = json.Unmarshal(raw, &log)
	if len(log.Entries) != 1 || log.Entries[0].Actor.ID != "alice" || log.Entries[0].Actor.IP != "203.0.113.30" {
		t.Errorf("alice's credit audited as %+v", log.Entries)
	}
	_, raw = e.do("GET", "/admin/audit?action=operator.create", adminToken, nil)
	if !strings.Contains(string(raw), `"target":"alice"`) || strings.Contains(string(raw), secret) {
		t.Errorf("operator.create entry: %s", raw)
	}

	// The same code again (a replay, even from another browser) is refused.
	login(e.browser("203.0.113.31"), http.StatusUnauthorized, "alice's password", code)
	// The next step's code is taken.
	e.clock.Advance(30 * time.Second)
	next, _ := service.TOTPCode(secret, e.clock.Now())
	login(e.browser("203.0.113.32"), http.StatusSeeOther, "alice's password", next)

	// Brute force: wrong codes are failed logins; past the limit even the
	// right code is refused from that address.
	guesser := e.browser("192.0.2.99")
	for range service.DefaultLoginLimit.PerAccount {
		login(guesser, http.StatusUnauthorized, "alice's password", "000000")
	}
	e.clock.Advance(30 * time.Second)
	good, _ := service.TOTPCode(secret, e.clock.Now())
	p = login(guesser, http.StatusTooManyRequests, "alice's password", good)
	mustContain(t, "limited", p.body, "Too many failed logins")
	// A wrong password with a right code is refused too.
	login(e.browser("203.0.113.33"), http.StatusUnauthorized, "wrong password", good)
}

// TestOperatorCLI: wagate operator create and list.
func TestOperatorCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"WAGATE_DATA_DIR": dir}
	cli(t, env, 0, "migrate")
	out := cli(t, env, 0, "operator", "create", "--name", "bob", "--password", "bob's password")
	if !strings.Contains(out, "operator bob created") || strings.Contains(out, "TOTP") {
		t.Errorf("create said %q", out)
	}
	env["WAGATE_OPERATOR_PASSWORD"] = "carol's password"
	out = cli(t, env, 0, "operator", "create", "--name", "carol", "--totp")
	if !regexp.MustCompile(`TOTP secret .*: [A-Z2-7]{32}\notpauth://totp/wagate:carol\?secret=`).MatchString(out) {
		t.Errorf("create with TOTP said %q", out)
	}
	cli(t, env, 1, "operator", "create", "--name", "bob", "--password", "again and again")
	cli(t, env, 1, "operator", "create", "--name", "x y", "--password", "long enough pw")
	var list []struct {
		Name      string `json:"name"`
		TOTP      bool   `json:"totp"`
		CreatedBy string `json:"created_by"`
	}
	if err := json.Unmarshal([]byte(cli(t, env, 0, "operator", "list")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "bob" || list[0].TOTP || !list[1].TOTP || list[1].CreatedBy != "cli" {
		t.Errorf("operator list = %+v", list)
	}
	cli(t, env, 2, "operator", "remove")
}
