package apiutil

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/service"
)

// How long a request waits for the answer of another request with its
// Idempotency-Key that is still running, and after how long a key whose
// change committed without its answer being recorded (the server stopped
// in between) is given up on.
const (
	idempotentWait = 15 * time.Second
	answerLost     = 2 * time.Minute
)

// Idempotent makes a money-moving or creating route honor an
// Idempotency-Key header: the same key and body within 24 hours answer
// what the first request answered (status and body, with
// Idempotent-Replayed: true) without doing it again; the same key with
// another method, path or body is 422; keys are per caller (scope). The
// key is recorded in the transaction of the change itself, so two requests
// with one key never both run it (the second waits for the first's answer),
// and a change never commits without its key. Refusals (4xx) are kept too;
// server errors (5xx) and 429 are not: the same key may be retried.
func Idempotent(svc *service.Service, log *slog.Logger, scope func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values, sent := r.Header["Idempotency-Key"]
		if !sent {
			next.ServeHTTP(w, r)
			return
		}
		key := values[0]
		if !validIdempotencyKey(key) || len(values) > 1 {
			httpx.WriteError(w, r, log, httpx.Errorf(http.StatusBadRequest,
				"Idempotency-Key: must be one header of 1 to 255 printable ASCII characters (a UUID is a good one)"))
			return
		}
		body, err := httpx.ReadBody(r, httpx.MaxBodyBytes)
		if err != nil {
			httpx.WriteError(w, r, log, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		req := svc.NewIdempotentRequest(scope(r), key, r.Method, r.URL.Path, body)
		if answerKnown(w, r, svc, log, req, false) {
			return
		}
		buf := &bufferedResponse{header: http.Header{}}
		next.ServeHTTP(buf, r.WithContext(req.Context(r.Context())))
		if req.Taken() { // another request with this key made the change
			answerKnown(w, r, svc, log, req, true)
			return
		}
		if buf.status < 500 && buf.status != http.StatusTooManyRequests {
			if err := svc.IdempotentFinish(r.Context(), req, buf.status, buf.body.Bytes()); err != nil {
				log.ErrorContext(r.Context(), "could not record an idempotent answer", "request_id", httpx.RequestID(r), "error", err)
			}
		}
		buf.writeTo(w)
	})
}

// answerKnown answers from the key's record when there is one: the first
// answer, 422 for another request, or, while the first request runs, its
// answer once it is there (waiting when wait, or when the record is
// pending). It reports whether it answered.
func answerKnown(w http.ResponseWriter, r *http.Request, svc *service.Service, log *slog.Logger, req *service.IdempotentRequest, wait bool) bool {
	deadline := time.Now().Add(idempotentWait)
	for {
		a, found, err := svc.IdempotentLookup(r.Context(), req)
		switch {
		case err != nil:
			httpx.WriteError(w, r, log, err)
			return true
		case !found && !wait:
			return false
		case found && a.Other:
			httpx.WriteError(w, r, log, httpx.Errorf(http.StatusUnprocessableEntity,
				"Idempotency-Key was already used for another request (method, path or body) in the last 24 hours; use a new key for a new request"))
			return true
		case found && !a.Pending:
			h := w.Header()
			h.Set("Content-Type", "application/json; charset=utf-8")
			h.Set("Cache-Control", "no-store")
			h.Set("Idempotent-Replayed", "true")
			w.WriteHeader(a.Status)
			_, _ = w.Write(a.Body)
			return true
		case found && svc.Now().Sub(a.Since) > answerLost:
			httpx.WriteError(w, r, log, &httpx.Error{Status: http.StatusConflict,
				Message: "the request with this Idempotency-Key was carried out, but its answer was not recorded (the server stopped meanwhile)",
				Details: "read the current state (GET) before sending a new request with a new key"})
			return true
		}
		wait = true // pending: the first request is running
		if time.Now().After(deadline) {
			httpx.WriteError(w, r, log, httpx.Errorf(http.StatusConflict,
				"a request with this Idempotency-Key is still in progress; retry it later with the same key"))
			return true
		}
		select {
		case <-r.Context().Done():
			httpx.WriteError(w, r, log, context.Cause(r.Context()))
			return true
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// bufferedResponse holds a handler's answer until its record is written.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

func (b *bufferedResponse) writeTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}
