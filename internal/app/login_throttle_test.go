package app_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestDashboardLoginRateLimit: failed logins cannot be turned into a
// lockout of the account's owner. Guesses from one address lock that
// address out of that account (and, past 20, out of every account);
// guesses from many addresses only slow the next untrusted attempts down;
// a browser that logged in to the account before is counted apart and
// never waits (login_throttle.go).
func TestDashboardLoginRateLimit(t *testing.T) {
	const delay = 150 * time.Millisecond
	e := newEnvWith(t, openapitest.New(t), storetest.Backends(t)[0], func(_ *config.Config, o *app.Options) {
		o.LoginLimit = service.LoginLimit{Delay: delay, MaxDelay: delay}
	})
	e.partner("rl", 1)
	e.partner("rl2", 1)
	limit := service.DefaultLoginLimit
	// The owner logged in from this browser before: it is trusted.
	owner := e.browser("198.51.100.7")
	owner.loginPartner("rl@example.test", "correct horse")
	if owner.cookies["wagate_device"] == nil {
		t.Fatal("a good login set no device cookie")
	}
	fail := func(b *browser, email string) {
		t.Helper()
		b.get(200, "/ui/login")
		b.post(http.StatusUnauthorized, "/ui/login", "kind", "partner", "email", email, "password", "guess guess")
	}
	timed := func(b *browser, want int, fields ...string) (answer, time.Duration) {
		t.Helper()
		b.get(200, "/ui/login")
		start := time.Now()
		p := b.post(want, "/ui/login", fields...)
		return p, time.Since(start)
	}

	// Guesses from one address lock that address out of the account...
	attacker := e.browser("192.0.2.30")
	for range limit.PerAccount {
		fail(attacker, "rl@example.test")
	}
	p, _ := timed(attacker, http.StatusTooManyRequests, "kind", "partner", "email", "rl@example.test", "password", "correct horse")
	mustContain(t, "limited login", p.body, "Too many failed logins; try again in 15 minutes")
	if p.header.Get("Retry-After") == "" || attacker.cookies["wagate_session"] != nil {
		t.Fatalf("limited login: headers %v cookies %v", p.header, attacker.cookies)
	}
	// ...not out of another account, and not the owner from elsewhere.
	e.browser("192.0.2.30").loginPartner("rl2@example.test", "correct horse")
	e.browser("192.0.2.99").loginPartner("rl@example.test", "correct horse")

	// Guesses from many addresses: past SlowAfter, untrusted attempts wait
	// (even with the right password), and still get in; the owner's
	// browser does not wait.
	for i := range 3 {
		b := e.browser(fmt.Sprintf("203.0.113.%d", i+1))
		for range limit.PerAccount {
			fail(b, "rl@example.test")
		}
	}
	newcomer := e.browser("192.0.2.100")
	_, took := timed(newcomer, http.StatusSeeOther, "kind", "partner", "email", "rl@example.test", "password", "correct horse")
	if took < delay {
		t.Fatalf("an untrusted login under attack took %s, want at least %s", took, delay)
	}
	delete(owner.cookies, "wagate_session") // logged out; the device cookie stays
	_, took = timed(owner, http.StatusSeeOther, "kind", "partner", "email", "rl@example.test", "password", "correct horse")
	if took >= delay {
		t.Fatalf("the owner's trusted browser waited %s", took)
	}
	owner.get(200, "/ui/dashboard")
	if owner.cookies["wagate_device"].Value == newcomer.cookies["wagate_device"].Value {
		t.Fatal("two browsers share a device cookie")
	}

	// The address's own limit covers guesses across accounts.
	ip := e.browser("192.0.2.32")
	for i := range limit.PerIP {
		fail(ip, "nobody"+string(rune('a'+i))+"@example.test")
	}
	timed(ip, http.StatusTooManyRequests, "kind", "operator", "token", adminToken)
	// Operator guesses lock the guessing address only.
	op := e.browser("192.0.2.33")
	for range limit.PerAccount {
		op.get(200, "/ui/login")
		p := op.post(http.StatusUnauthorized, "/ui/login", "kind", "operator", "token", "not-the-token-at-all")
		mustContain(t, "bad token", p.body, "Wrong operator token.")
	}
	timed(op, http.StatusTooManyRequests, "kind", "operator", "token", adminToken)
	e.browser("192.0.2.34").loginOperator(adminToken)

	// The window passes: the locked addresses may log in again.
	e.clock.Advance(limit.Window)
	attacker.loginPartner("rl@example.test", "correct horse")
	attacker.get(200, "/ui/dashboard")
	op.loginOperator(adminToken)
	op.get(200, "/ui/admin/partners")
}
