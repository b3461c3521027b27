// Package openapitest checks HTTP responses against wagate's OpenAPI document
// (internal/api/openapi/openapi.yaml). It is a test helper: import it only
// from _test.go files.
//
// A Validator finds the documented operation of a request by method and path
// (the document's servers are ignored, so any host and port match), then
// checks the response's status, Content-Type, documented headers and body
// against it. Mismatches are reported with t.Errorf, so a test sees every
// wrong answer, not only the first. Request bodies are not validated: tests
// send bad input on purpose.
//
//	v := openapitest.New(t)
//	srv := httptest.NewServer(v.Wrap(t, handler))        // or
//	client := &http.Client{Transport: v.Transport(t, nil)} // against a real listener
//	...
//	for _, op := range v.Uncovered() { t.Errorf("no test reached %s", op) }
package openapitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/wagate/wagate/internal/api/openapi"
)

// maxShownBody bounds how much of a response body a report quotes.
const maxShownBody = 512

// Validator checks responses against wagate's OpenAPI document. It is safe
// for concurrent use (handlers under test may run in many goroutines).
type Validator struct {
	doc    *openapi3.T
	router routers.Router
	ops    []string
	opts   *openapi3filter.Options

	mu      sync.Mutex
	covered map[string]int
}

// New loads wagate's document (via openapi.Load) and a router; t.Fatal on error.
func New(t testing.TB) *Validator {
	t.Helper()
	doc, err := openapi.Load()
	if err != nil {
		t.Fatalf("openapitest: %v", err)
	}
	// Match on the path only: tests talk to 127.0.0.1:<random port> or to
	// httptest recorders, never to the document's servers.
	doc.Servers = nil
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
		for _, op := range item.Operations() {
			op.Servers = nil
		}
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("openapitest: router: %v", err)
	}
	v := &Validator{
		doc:     doc,
		router:  router,
		covered: map[string]int{},
		opts: &openapi3filter.Options{
			IncludeResponseStatus: true, // an undocumented status is an error
			MultiError:            true, // report every mismatch of a body at once
			SchemaValidationOptions: []openapi3.SchemaValidationOption{
				openapi3.DisableSchemaErrorDetails(), // keep reports short: path and reason
			},
		},
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			v.ops = append(v.ops, method+" "+path)
		}
	}
	sort.Strings(v.ops)
	return v
}

// Check validates one response (status, Content-Type, body) for the given
// request against the document. It reports with t.Errorf when the route or
// the status is not documented or the response does not match.
func (v *Validator) Check(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if err := v.check(req, status, header, body); err != nil {
		t.Errorf("openapi: %s %s -> %d: %v\n\tContent-Type: %q\n\tbody: %s",
			req.Method, req.URL.Path, status, err, header.Get("Content-Type"), shorten(body))
	}
}

func (v *Validator) check(req *http.Request, status int, header http.Header, body []byte) error {
	if header == nil {
		header = http.Header{}
	}
	// GET routes also answer HEAD (net/http's mux does that); the document
	// lists them as GET.
	find := req
	route, params, err := v.router.FindRoute(find)
	if req.Method == http.MethodHead && err != nil { // documented as GET only
		find = req.Clone(context.Background())
		find.Method = http.MethodGet
		route, params, err = v.router.FindRoute(find)
	}
	if err != nil {
		return fmt.Errorf("route not documented (%v)", err)
	}
	responses := route.Operation.Responses
	if responses.Status(status) == nil && responses.Default() == nil {
		return fmt.Errorf("status %d is not documented for %s %s (documented: %s)",
			status, route.Method, route.Path, strings.Join(documentedStatuses(responses), ", "))
	}
	if req.Method != http.MethodHead {
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{
				Request:    find,
				PathParams: params,
				Route:      route,
				Options:    v.opts,
			},
			Status:  status,
			Header:  header,
			Body:    io.NopCloser(bytes.NewReader(body)),
			Options: v.opts,
		}
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			return err
		}
	}
	v.mu.Lock()
	v.covered[route.Method+" "+route.Path]++
	v.mu.Unlock()
	return nil
}

// Wrap returns a handler that serves through h and Checks every response.
func (v *Validator) Wrap(t testing.TB, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == 0 { // nothing written: net/http answers 200
			rec.status = http.StatusOK
			rec.header = w.Header().Clone()
		}
		v.Check(t, r, rec.status, rec.header, rec.body.Bytes())
	})
}

// recorder passes a response through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	status int
	header http.Header // as it was when the status was written
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.header = r.ResponseWriter.Header().Clone()
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the recorder.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Transport returns an http.RoundTripper that Checks every response of real
// HTTP requests (for end-to-end tests against a listening server). base nil
// means http.DefaultTransport. The response body is read fully and handed
// back to the caller unchanged.
func (v *Validator) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{v: v, t: t, base: base}
}

type transport struct {
	v    *Validator
	t    testing.TB
	base http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := tr.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("openapitest: reading the response to %s %s: %w", req.Method, req.URL.Path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	tr.v.Check(tr.t, req, resp.StatusCode, resp.Header, body)
	return resp, nil
}

// Covered returns how many responses validated per operation, keyed
// "METHOD /path/template" like Operations. Operations never reached are absent.
func (v *Validator) Covered() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.covered))
	for k, n := range v.covered {
		out[k] = n
	}
	return out
}

// Operations lists every documented operation as "METHOD /path/template",
// sorted.
func (v *Validator) Operations() []string { return append([]string(nil), v.ops...) }

// Uncovered lists the documented operations no validated response reached yet.
func (v *Validator) Uncovered() []string {
	covered := v.Covered()
	var out []string
	for _, op := range v.ops {
		if covered[op] == 0 {
			out = append(out, op)
		}
	}
	return out
}

func documentedStatuses(r *openapi3.Responses) []string {
	var out []string
	for code := range r.Map() {
		out = append(out, code)
	}
	sort.Strings(out)
	return out
}

func shorten(body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return "(empty)"
	}
	if len(s) > maxShownBody {
		// Cut on a byte boundary, then drop a rune the cut may have split.
		return strings.ToValidUTF8(s[:maxShownBody], "") + "... (" + strconv.Itoa(len(body)) + " bytes)"
	}
	return s
}
