package httpx

import (
	"log/slog"
	"net/http"
	"strings"
)

// missRecorder captures what ServeMux answers for a request no pattern
// serves (its plain-text 404 or 405), so it can be re-rendered as JSON.
type missRecorder struct {
	header http.Header
	status int
}

func (m *missRecorder) Header() http.Header { return m.header }
func (m *missRecorder) WriteHeader(code int) {
	if m.status == 0 {
		m.status = code
	}
}
func (m *missRecorder) Write(b []byte) (int, error) {
	m.WriteHeader(http.StatusOK)
	return len(b), nil
}

// JSONMux serves through mux, but answers the requests no route serves with
// the standard JSON error: 404 for an unknown path, 405 with an Allow header
// for a known path with another method. label names the surface in messages.
func JSONMux(mux *http.ServeMux, log *slog.Logger, label string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &missRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			WriteError(w, r, log, Errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s; allowed: %s",
				r.Method, r.URL.Path, strings.ReplaceAll(allow, ",", ", ")))
		default:
			WriteError(w, r, log, Errorf(http.StatusNotFound, "no such %s endpoint: %s %s", label, r.Method, r.URL.Path))
		}
	})
}
