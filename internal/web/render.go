package web

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

//go:embed templates
var templateFiles embed.FS

// views holds every page, each parsed with the layout and the partials.
type views struct {
	pages map[string]*template.Template
}

// parseViews parses templates/pages/*.html, each with layout.html and
// partials.html. Any error stops the start-up.
func parseViews(a *assets) (*views, error) {
	funcs := template.FuncMap{
		"asset":       a.url,
		"date":        fmtDate,
		"datetime":    fmtDateTime,
		"days":        fmtDays,
		"mode":        func(m model.Mode) string { return m.BillingLabel() },
		"statusClass": statusClass,
		"proxy":       func(p string) string { return service.RedactProxy(p) },
		"json":        prettyJSON,
		"until":       fmtUntil,
		"signed":      func(n int64) string { return fmt.Sprintf("%+d", n) },
		"add":         func(a, b int) int { return a + b },
		"dict":        dict,
		"modes":       modeOptions,
	}
	files, err := fs.Glob(templateFiles, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	v := &views{pages: map[string]*template.Template{}}
	for _, f := range files {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/partials.html", f)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", f, err)
		}
		v.pages[strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	if len(v.pages) == 0 {
		return nil, fmt.Errorf("web: no page templates")
	}
	// Public pages (a hosted linking page) are whole documents of their
	// own: no dashboard layout, no menu.
	public, err := fs.Glob(templateFiles, "templates/public/*.html")
	if err != nil {
		return nil, err
	}
	for _, f := range public {
		t, err := template.New(path.Base(f)).Funcs(funcs).ParseFS(templateFiles, f)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", f, err)
		}
		v.pages["public/"+strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	return v, nil
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string // the active menu entry
	V       *viewer
	Flash   *flash
	Version string
	Sim     bool
	Data    any
}

// render writes one page with a status. It renders to a buffer first, so a
// template error is a clean error page and never half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := h.views.pages[name]
	if !ok {
		h.log.ErrorContext(r.Context(), "dashboard view missing", "view", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.Version, p.Sim = h.version, h.sim != nil
	if p.V != nil && p.Flash == nil {
		p.Flash = h.takeFlash(w, r, p.V)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		h.log.ErrorContext(r.Context(), "dashboard template failed", "view", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError shows an error page.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, v *viewer, status int, msg string) {
	h.render(w, r, status, "error", page{Title: http.StatusText(status), V: v, Flash: &flash{Kind: "error", Msg: msg},
		Data: status})
}

// flash is a one-time message shown after a redirect.
type flash struct {
	Kind string `json:"k"` // ok or error
	Msg  string `json:"m"`
}

// setFlash stores a message for the next page, signed with the session's
// key so no one else can plant one.
func (h *Handler) setFlash(w http.ResponseWriter, r *http.Request, v *viewer, kind, msg string) {
	raw, _ := json.Marshal(flash{Kind: kind, Msg: msg})
	m := hmac.New(sha256.New, v.key("flash"))
	m.Write(raw)
	val := base64.RawURLEncoding.EncodeToString(raw) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	http.SetCookie(w, h.cookie(r, flashCookie, val, 60))
}

// takeFlash reads and clears the pending message, if any.
func (h *Handler) takeFlash(w http.ResponseWriter, r *http.Request, v *viewer) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	http.SetCookie(w, h.cookie(r, flashCookie, "", -1))
	body, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return nil
	}
	raw, err1 := base64.RawURLEncoding.DecodeString(body)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return nil
	}
	m := hmac.New(sha256.New, v.key("flash"))
	m.Write(raw)
	if !hmac.Equal(m.Sum(nil), got) {
		return nil
	}
	var f flash
	if json.Unmarshal(raw, &f) != nil || f.Msg == "" {
		return nil
	}
	return &f
}

// back redirects to a page after an action, with its outcome as a flash:
// err's friendly text, or ok.
func (h *Handler) back(w http.ResponseWriter, r *http.Request, v *viewer, to string, err error, ok string) error {
	if err != nil {
		status, msg := h.describe(r, err)
		if status == http.StatusInternalServerError {
			return err
		}
		h.setFlash(w, r, v, "error", msg)
	} else if ok != "" {
		h.setFlash(w, r, v, "ok", ok)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

const (
	dateLayout     = "2 Jan 2006"
	dateTimeLayout = "2 Jan 2006 15:04 UTC"
)

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(dateLayout)
}

func fmtDateTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(dateTimeLayout)
}

func fmtDays(n int64) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d day", n)
	}
	return fmt.Sprintf("%d days", n)
}

// fmtUntil says how far a moment is from now: "in 3 days", "2 hours ago".
func fmtUntil(now, t time.Time) string {
	d := t.Sub(now)
	suffix, prefix := "", "in "
	if d < 0 {
		d, suffix, prefix = -d, " ago", ""
	}
	var s string
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		s = plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		s = plural(int(d/time.Hour), "hour")
	default:
		s = plural(int(d/(24*time.Hour)), "day")
	}
	return prefix + s + suffix
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// statusClass is the badge style of a status word.
func statusClass(s string) string {
	switch strings.ToLower(s) {
	case "active", "auth", "delivered", "live", "ok":
		return "good"
	case "expired", "error", "failed", "dropped", "stop", "stopped", "sync_error":
		return "bad"
	case "qr", "launch", "init", "pending", "trial", "dev":
		return "warn"
	}
	return "muted"
}

// dict builds a map for a partial: {{template "x" (dict "A" 1 "B" 2)}}.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func prettyJSON(v any) string {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(raw)
}
