package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Recover turns a panic in a handler into a 500 JSON error and a logged stack,
// so no panic reaches a client or takes the server down.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", r.URL.Path,
					"request_id", RequestID(r), "panic", v, "stack", string(debug.Stack()))
				JSON(w, http.StatusInternalServerError, ErrorBody{Error: ErrorObject{Code: 500, Message: "internal error",
					Details: referenceOf(r)}})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the request's ID, set by WithRequestID.
func RequestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey).(string)
	return id
}

// WithRequestID gives every request an ID: the caller's X-Request-ID when it
// is a short token, a new random one otherwise. It is echoed in the response
// header, logged, and quoted in 500 errors so a report can be matched to logs.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			var b [8]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// LogRequests logs one line per request: method, path (never the query
// string, which may carry ?token=), status, size and duration.
func LogRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		level := slog.LevelInfo
		if r.URL.Path == "/livez" || r.URL.Path == "/readyz" {
			level = slog.LevelDebug
		}
		log.Log(r.Context(), level, "http request",
			"method", r.Method, "path", logPath(r.URL.Path), "status", status, "bytes", rec.bytes,
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "remote", r.RemoteAddr,
			"request_id", RequestID(r))
	})
}

// logPath is a request path as the log shows it: a hosted linking page's
// signed token is a credential, so it is left out.
func logPath(p string) string {
	rest, ok := strings.CutPrefix(p, "/ui/link/")
	if !ok {
		return p
	}
	if _, tail, ok := strings.Cut(rest, "/"); ok {
		return "/ui/link/[token]/" + tail
	}
	return "/ui/link/[token]"
}

// SecurityHeaders sets headers every response should carry.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// BearerToken returns the token of "Authorization: Bearer X", or the
// ?token= query parameter (Whapi clients use both).
func BearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		const prefix = "bearer "
		if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
			return strings.TrimSpace(h[len(prefix):])
		}
		return ""
	}
	return r.URL.Query().Get("token")
}
