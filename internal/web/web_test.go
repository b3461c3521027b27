package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

func TestViewsParse(t *testing.T) {
	a, err := loadAssets()
	if err != nil {
		t.Fatal(err)
	}
	v, err := parseViews(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"login", "error", "dashboard", "channels", "channel", "status", "qr", "settings",
		"webhooks", "ledger", "partners", "partner", "proxies", "opsettings"} {
		if v.pages[name] == nil {
			t.Errorf("view %s is missing", name)
		}
	}
}

func TestAssetsAreFingerprinted(t *testing.T) {
	a, err := loadAssets()
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.url("app.css")
	if err != nil || !strings.HasPrefix(u, "/ui/static/") {
		t.Fatalf("url = %q, %v", u, err)
	}
	if _, err := a.url("nope.css"); err == nil {
		t.Fatal("a missing asset has a URL")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui/static/{sum}/{name}", a.serve)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", u, nil))
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") || !strings.Contains(rec.Body.String(), "--brand") {
		t.Fatalf("asset: %d %v", rec.Code, rec.Header())
	}
	stale := strings.Replace(u, a.files["app.css"].sum, "000000000000", 1)
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", stale, nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("a stale checksum is served: %d", rec.Code)
	}
}

func TestFlashIsSignedPerSession(t *testing.T) {
	h := &Handler{}
	v := &viewer{sess: service.DashboardSession{}}
	v.sess.CSRF = "secret-one"
	rec := httptest.NewRecorder()
	h.setFlash(rec, httptest.NewRequest("POST", "/ui/x", nil), v, "ok", "Saved <b>now</b>")
	c := rec.Result().Cookies()[0]
	if !c.HttpOnly || c.Path != "/ui/" || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("flash cookie = %+v", c)
	}
	read := func(v *viewer, value string) *flash {
		req := httptest.NewRequest("GET", "/ui/y", nil)
		req.AddCookie(&http.Cookie{Name: flashCookie, Value: value})
		rec := httptest.NewRecorder()
		f := h.takeFlash(rec, req, v)
		if cl := rec.Result().Cookies(); len(cl) != 1 || cl[0].MaxAge >= 0 {
			t.Fatalf("the flash cookie is not cleared: %v", cl)
		}
		return f
	}
	if f := read(v, c.Value); f == nil || f.Kind != "ok" || f.Msg != "Saved <b>now</b>" {
		t.Fatalf("flash = %+v", f)
	}
	other := &viewer{}
	other.sess.CSRF = "secret-two"
	if f := read(other, c.Value); f != nil {
		t.Fatalf("another session reads the flash: %+v", f)
	}
	body, sig, _ := strings.Cut(c.Value, ".")
	for _, bad := range []string{body + "." + sig + "x", "eyJrIjoiZXJyb3IiLCJtIjoiaGkifQ." + sig, "garbage", body} {
		if f := read(v, bad); f != nil {
			t.Fatalf("a forged flash %q is shown: %+v", bad, f)
		}
	}
}

func TestSameToken(t *testing.T) {
	for _, tc := range []struct {
		want, got string
		ok        bool
	}{
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
		{"", "", false},
		{"abc", "", false},
	} {
		if sameToken(tc.want, tc.got) != tc.ok {
			t.Errorf("sameToken(%q, %q) = %v", tc.want, tc.got, !tc.ok)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/ui/channels?id=X":    "/ui/channels?id=X",
		"/ui/":                 "/ui/",
		"https://evil.example": "",
		"//evil.example/ui/":   "",
		"/ui\\..\\evil":        "",
		"/admin/partners":      "",
		"/ui/x\r\nSet-Cookie:": "",
		"":                     "",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDescribe(t *testing.T) {
	h := &Handler{}
	r := httptest.NewRequest("GET", "/ui/", nil)
	for _, tc := range []struct {
		err    error
		status int
		msg    string
	}{
		{&service.FieldError{Field: "days", Message: "must be a whole number"}, 400, "Days must be a whole number."},
		{&service.FieldError{Field: "webhooks[0].url", Message: "must be an absolute http:// or https:// URL"}, 400, "Webhook url must be"},
		{fmt.Errorf("balance is 3 days, 10 needed: %w", model.ErrInsufficientDays), 402, "Not enough days on the balance (balance is 3 days, 10 needed). Nothing was changed."},
		{model.ErrChannelNotFound, 404, "There is no such channel in your account."},
		{fmt.Errorf("channel already logged out: %w", model.ErrConflict), 409, "Channel already logged out."},
		{&model.RateLimitError{RetryAfter: time.Minute, Message: "too many failed logins; try again in a minute"}, 429, "Too many failed logins; try again in a minute."},
		{fmt.Errorf("channel is not connected to WhatsApp right now: %w", model.ErrUnavailable), 503, "Channel is not connected to WhatsApp right now."},
		{errors.New("pq: connection refused to 10.0.0.5"), 500, "Something went wrong on our side. Please try again."},
	} {
		status, msg := h.describe(r, tc.err)
		if status != tc.status || !strings.HasPrefix(msg, tc.msg) {
			t.Errorf("describe(%v) = %d %q, want %d %q", tc.err, status, msg, tc.status, tc.msg)
		}
	}
}

func TestFormatting(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{now.Add(30 * time.Second), "now"},
		{now.Add(5 * time.Minute), "in 5 minutes"},
		{now.Add(-time.Hour), "1 hour ago"},
		{now.Add(30 * time.Hour), "in 30 hours"},
		{now.Add(72 * time.Hour), "in 3 days"},
		{now.Add(-24 * 10 * time.Hour), "10 days ago"},
	} {
		if got := fmtUntil(now, tc.t); got != tc.want {
			t.Errorf("fmtUntil(%v) = %q, want %q", tc.t.Sub(now), got, tc.want)
		}
	}
	if fmtDays(1) != "1 day" || fmtDays(0) != "0 days" || fmtDays(-1) != "-1 day" || fmtDays(12) != "12 days" {
		t.Error("fmtDays")
	}
	if groupCode("ABCD1234") != "ABCD-1234" || groupCode("ABCD-1234") != "ABCD-1234" || groupCode("ABC") != "ABC" {
		t.Error("groupCode")
	}
	if fmtDateTime(time.Time{}) != "-" || fmtDate(now) != "1 May 2026" {
		t.Error("dates")
	}
	if n := simNumber("ABCDEF-12345"); len(n) != 11 || n != simNumber("ABCDEF-12345") || n == simNumber("ABCDEF-12346") {
		t.Errorf("simNumber = %q", n)
	}
}

func TestDict(t *testing.T) {
	m, err := dict("A", 1, "B", "x")
	if err != nil || m["A"] != 1 || m["B"] != "x" {
		t.Fatalf("dict = %v, %v", m, err)
	}
	if _, err := dict("A"); err == nil {
		t.Fatal("odd dict accepted")
	}
	if _, err := dict(1, 2); err == nil {
		t.Fatal("non-string key accepted")
	}
}
