package httpx

import (
	"log/slog"
	"net/http"
)

// Body size limits shared by the API surfaces.
const (
	// SmallBody bounds the JSON body of an operation that takes a few
	// fields: most of the partner and operator APIs, a text send.
	SmallBody = 64 << 10
	// MaxBodyBytes bounds a JSON body read without a smaller route limit.
	MaxBodyBytes = 1 << 20
)

// LimitFunc says how large a request's body may be; it may look at the
// request's headers (multipart or JSON), never at its body.
type LimitFunc func(r *http.Request) int64

// Limit is a LimitFunc of a fixed size.
func Limit(n int64) LimitFunc { return func(*http.Request) int64 { return n } }

// LimitBody bounds the body of the requests next serves to limit(r) bytes
// before anything reads it: a Content-Length over the limit is answered
// 413 at once, without reading the body (net/http then closes the
// connection rather than drain it), and a body without a length (chunked)
// stops with a 413 as soon as it passes the limit. GET and HEAD bodies are
// never read, so they are not checked.
func LimitBody(log *slog.Logger, limit LimitFunc, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		n := limit(r)
		if r.ContentLength > n {
			w.Header().Set("Connection", "close")
			WriteError(w, r, log, tooLarge(r, r.ContentLength, n))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}
