package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
)

var discard = slog.New(slog.DiscardHandler)

type extendBody struct {
	Days    int64  `json:"days"`
	Comment string `json:"comment"`
	Nested  struct {
		On bool `json:"on"`
	} `json:"nested"`
}

func post(body string) *http.Request {
	return httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
}

// statusOfErr returns the status of err, or 0 when it is not an *Error.
func statusOfErr(err error) int {
	var he *Error
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		req      *http.Request
		required bool
		status   int    // 0: success
		contains string // part of the message
	}{
		{"no body required", httptest.NewRequest(http.MethodPost, "/x", nil), true, 400, "required"},
		{"no body optional", httptest.NewRequest(http.MethodPost, "/x", nil), false, 0, ""},
		{"empty body required", post(""), true, 400, "required"},
		{"empty body optional", post(""), false, 0, ""},
		{"whitespace body required", post("  \n\t "), true, 400, "required"},
		{"whitespace body optional", post(" \n"), false, 0, ""},
		{"ok", post(`{"days": 3, "comment": "x"}`), true, 0, ""},
		{"unknown fields ignored", post(`{"days": 3, "other": [1]}`), true, 0, ""},
		{"malformed names byte offset", post(`{"days": 3,,}`), true, 400, "malformed JSON at byte 12"},
		{"malformed at start", post(`days=3`), true, 400, "malformed JSON at byte 1"},
		{"truncated", post(`{"days": 3`), true, 400, "unexpected end"},
		{"wrong type names field", post(`{"days": "ten"}`), true, 400, "days: must be a whole number"},
		{"fraction for int", post(`{"days": 1.5}`), true, 400, "days: must be a whole number"},
		{"string field", post(`{"comment": 5}`), true, 400, "comment: must be a string"},
		{"nested field", post(`{"nested": {"on": "yes"}}`), true, 400, "nested.on: must be a boolean"},
		{"array for object", post(`[1, 2]`), true, 400, "request body must be"},
		{"trailing value", post(`{"days": 1} {"days": 2}`), true, 400, "single JSON value"},
		{"trailing garbage", post(`{"days": 1} x`), true, 400, "single JSON value"},
		{"too large", post(`{"comment": "` + strings.Repeat("a", MaxBodyBytes) + `"}`), true, 413, "larger than"},
		{"exactly max size", post(`{"comment":"` + strings.Repeat("a", MaxBodyBytes-len(`{"comment":""}`)) + `"}`), true, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dst extendBody
			err := Decode(tc.req, &dst, tc.required)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			if got := statusOfErr(err); got != tc.status {
				t.Fatalf("status %d (err %v), want %d", got, err, tc.status)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("message %q does not contain %q", err.Error(), tc.contains)
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	var dst extendBody
	if err := Decode(post(`{"days": 12, "comment": "héllo", "nested": {"on": true}}`), &dst, true); err != nil {
		t.Fatal(err)
	}
	if dst.Days != 12 || dst.Comment != "héllo" || !dst.Nested.On {
		t.Fatalf("decoded %+v", dst)
	}
	// Numbers are kept exact (UseNumber) when decoded into an interface.
	var m map[string]any
	if err := Decode(post(`{"n": 12345678901234567890}`), &m, true); err != nil {
		t.Fatal(err)
	}
	if n, ok := m["n"].(json.Number); !ok || n.String() != "12345678901234567890" {
		t.Fatalf("n = %#v", m["n"])
	}
}

// A stray closing bracket after the value is trailing data like any other.
func TestDecodeTrailingCloser(t *testing.T) {
	for _, body := range []string{`{"days": 1}}`, `{"days": 1}]`} {
		var dst extendBody
		err := Decode(post(body), &dst, true)
		if err == nil {
			t.Fatalf("httpx.go Decode accepts trailing data %q: dec.More() is false before '}' or ']', so the trailing-data check misses it", body)
		}
		if statusOfErr(err) != 400 {
			t.Errorf("%q: %v, want 400", body, err)
		}
	}
}

// The message for a body of the wrong top-level type reads as English.
func TestDecodeTopLevelTypeMessage(t *testing.T) {
	var dst extendBody
	err := Decode(post(`[1, 2]`), &dst, true)
	if statusOfErr(err) != 400 {
		t.Fatalf("err = %v, want 400", err)
	}
	if want := "request body must be a JSON object"; err.Error() != want {
		t.Fatalf("httpx.go decodeError says %q, want %q", err.Error(), want)
	}
}

// customErr is a type whose UnmarshalJSON returns an *Error.
type customErr struct{}

func (customErr) UnmarshalJSON([]byte) error {
	return Errorf(http.StatusUnprocessableEntity, "custom says no")
}

func TestDecodeKeepsTypesOwnError(t *testing.T) {
	var dst struct {
		C customErr `json:"c"`
	}
	err := Decode(post(`{"c": 1}`), &dst, true)
	if statusOfErr(err) != http.StatusUnprocessableEntity || err.Error() != "custom says no" {
		t.Fatalf("err = %v", err)
	}
}

func decodeErrorBody(t *testing.T, rec *httptest.ResponseRecorder) ErrorObject {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	var body ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	if body.Error.Code != rec.Code {
		t.Errorf("body code %d, status %d", body.Error.Code, rec.Code)
	}
	return body.Error
}

func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		err     error
		status  int
		message string
	}{
		{fmt.Errorf("days: bad: %w", model.ErrInvalid), 400, "days: bad: invalid input"},
		{model.ErrChannelNotFound, 404, "channel not found"},
		{fmt.Errorf("balance is 0 days, 3 needed: %w", model.ErrInsufficientDays), 402, "not enough days on the balance"},
		{fmt.Errorf("no days: %w", model.ErrExpired), 402, "no days: channel expired"},
		{fmt.Errorf("taken: %w", model.ErrConflict), 409, "taken: conflict"},
		{fmt.Errorf("3 created: %w", model.ErrRateLimited), 429, "too many channels created; try again later"},
		{fmt.Errorf("nope: %w", model.ErrForbidden), 403, "nope: forbidden"},
		{fmt.Errorf("150 messages a day: %w", model.ErrLimitExceeded), 402, "150 messages a day: limit exceeded"},
		{fmt.Errorf("file is 20 MB: %w", model.ErrTooLarge), 413, "file is 20 MB: too large"},
		{fmt.Errorf("text/html: %w", model.ErrUnsupportedMedia), 415, "text/html: unsupported media type"},
		{fmt.Errorf("groups: %w", model.ErrNotImplemented), 501, "groups: not implemented"},
		{Errorf(418, "teapot %d", 1), 418, "teapot 1"},
		{fmt.Errorf("wrapped: %w", &Error{Status: 401, Message: "bad token", Details: "d"}), 401, "bad token"},
		{errors.New("pq: password=hunter2 connection refused"), 500, "internal error"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			var logBuf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logBuf, nil))
			rec := httptest.NewRecorder()
			WriteError(rec, httptest.NewRequest(http.MethodGet, "/p", nil), log, tc.err)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			obj := decodeErrorBody(t, rec)
			if obj.Message != tc.message {
				t.Errorf("message %q, want %q", obj.Message, tc.message)
			}
			if tc.status == 500 {
				if strings.Contains(rec.Body.String(), "hunter2") || obj.Details != "" {
					t.Errorf("500 leaks its cause: %s", rec.Body.String())
				}
				if !strings.Contains(logBuf.String(), "hunter2") {
					t.Errorf("500 cause not logged: %q", logBuf.String())
				}
			} else if tc.status < 500 && logBuf.Len() != 0 {
				t.Errorf("client error logged at error level: %q", logBuf.String())
			}
		})
	}
	// The 402 and 429 keep the cause in details.
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), discard, fmt.Errorf("balance is 0 days, 3 needed: %w", model.ErrInsufficientDays))
	if obj := decodeErrorBody(t, rec); !strings.Contains(obj.Details, "3 needed") {
		t.Errorf("402 details %q", obj.Details)
	}
}

func TestWriteErrorRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		after time.Duration
		want  string
	}{
		{1500 * time.Millisecond, "2"},
		{7 * time.Minute, "420"},
		{time.Millisecond, "1"},
		{0, "1"},
	} {
		rec := httptest.NewRecorder()
		err := fmt.Errorf("create: %w", &model.RateLimitError{RetryAfter: tc.after, Message: "3 channels in 10m"})
		WriteError(rec, httptest.NewRequest(http.MethodPost, "/", nil), discard, err)
		if rec.Code != 429 || rec.Header().Get("Retry-After") != tc.want {
			t.Errorf("RetryAfter %v: status %d Retry-After %q, want 429 %q", tc.after, rec.Code, rec.Header().Get("Retry-After"), tc.want)
		}
		if obj := decodeErrorBody(t, rec); !strings.Contains(obj.Details, "3 channels in 10m") {
			t.Errorf("details %q", obj.Details)
		}
	}
	// A plain ErrRateLimited has no Retry-After.
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest(http.MethodPost, "/", nil), discard, model.ErrRateLimited)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "" {
		t.Errorf("plain rate limit: %d %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestRequestID(t *testing.T) {
	var seen string
	h := WithRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = RequestID(r)
		WriteError(w, r, discard, errors.New("db down"))
	}))
	for _, tc := range []struct {
		in   string
		keep bool
	}{
		{"abc-123_X.y", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"has space", false},
		{"new\nline", false},
		{"<script>", false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.in != "" {
			r.Header.Set("X-Request-ID", tc.in)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		got := rec.Header().Get("X-Request-ID")
		if got != seen {
			t.Errorf("%q: header %q, context %q", tc.in, got, seen)
		}
		if tc.keep && got != tc.in {
			t.Errorf("%q: valid ID replaced by %q", tc.in, got)
		}
		if !tc.keep && (got == tc.in || len(got) != 16) {
			t.Errorf("%q: invalid ID not replaced: %q", tc.in, got)
		}
		if obj := decodeErrorBody(t, rec); obj.Details != "request id "+got || strings.Contains(rec.Body.String(), "db down") {
			t.Errorf("500 body %q, want the request id %q and no cause", rec.Body.String(), got)
		}
	}
	// Without the middleware there is no ID and no details.
	if id := RequestID(httptest.NewRequest(http.MethodGet, "/", nil)); id != "" {
		t.Errorf("RequestID without middleware = %q", id)
	}
}

func TestDecodeOptional(t *testing.T) {
	type patch struct {
		TrialDays model.Optional[int] `json:"trial_days"`
		Name      *string             `json:"name"`
	}
	for _, tc := range []struct {
		body  string
		set   bool
		value *int
	}{
		{`{}`, false, nil},
		{`{"name": "x"}`, false, nil},
		{`{"trial_days": null}`, true, nil},
		{`{"trial_days": 7}`, true, func() *int { v := 7; return &v }()},
	} {
		var p patch
		if err := Decode(post(tc.body), &p, true); err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if p.TrialDays.Set != tc.set || (p.TrialDays.Value == nil) != (tc.value == nil) ||
			(tc.value != nil && *p.TrialDays.Value != *tc.value) {
			t.Errorf("%s: %+v", tc.body, p.TrialDays)
		}
	}
	var p patch
	err := Decode(post(`{"trial_days": "seven"}`), &p, true)
	if statusOfErr(err) != 400 || !strings.Contains(err.Error(), "trial_days: must be a whole number") {
		t.Errorf("wrong type in an optional field: %v", err)
	}
}

func TestHandle(t *testing.T) {
	h := Handle(discard, func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Path == "/ok" {
			JSON(w, 201, map[string]int{"a": 1})
			return nil
		}
		return model.ErrProjectNotFound
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ok", nil))
	if rec.Code != 201 || strings.TrimSpace(rec.Body.String()) != `{"a":1}` || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("ok: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/missing", nil))
	if rec.Code != 404 || decodeErrorBody(t, rec).Message != "project not found" {
		t.Errorf("missing: %d %q", rec.Code, rec.Body.String())
	}
}

func TestJSONUnencodable(t *testing.T) {
	rec := httptest.NewRecorder()
	JSON(rec, 200, map[string]any{"f": func() {}})
	if rec.Code != 500 || decodeErrorBody(t, rec).Code != 500 {
		t.Fatalf("%d %q", rec.Code, rec.Body.String())
	}
}

func TestRecover(t *testing.T) {
	var logBuf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logBuf, nil))
	h := Recover(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom secret") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/p", nil))
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	obj := decodeErrorBody(t, rec)
	if obj.Message != "internal error" || strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("body %q", rec.Body.String())
	}
	if !strings.Contains(logBuf.String(), "boom secret") || !strings.Contains(logBuf.String(), "stack") {
		t.Errorf("panic not logged with stack: %q", logBuf.String())
	}

	// http.ErrAbortHandler is passed on for net/http to handle.
	abort := Recover(discard, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) }))
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", v)
			}
		}()
		abort.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()

	// No panic: the response passes through.
	ok := Recover(discard, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	rec = httptest.NewRecorder()
	ok.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 204 {
		t.Errorf("status %d", rec.Code)
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		name, auth, target, want string
	}{
		{"bearer", "Bearer abc", "/", "abc"},
		{"lower case", "bearer abc", "/", "abc"},
		{"upper case", "BEARER abc", "/", "abc"},
		{"trailing space", "Bearer abc  ", "/", "abc"},
		{"query", "", "/?token=xyz", "xyz"},
		{"header wins over query", "Bearer abc", "/?token=xyz", "abc"},
		{"basic ignored", "Basic dXNlcjpwYXNz", "/", ""},
		{"basic does not fall back to query", "Basic dXNlcjpwYXNz", "/?token=xyz", ""},
		{"bearer without token", "Bearer ", "/", ""},
		{"bearer only", "Bearer", "/", ""},
		{"none", "", "/", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			if got := BearerToken(r); got != tc.want {
				t.Errorf("BearerToken = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLogRequestsHidesQuery(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := LogRequests(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "hello")
	}))
	r := httptest.NewRequest(http.MethodGet, "/messages/text?token=secret&x=1", nil)
	h.ServeHTTP(httptest.NewRecorder(), r)
	out := buf.String()
	if strings.Contains(out, "secret") || strings.Contains(out, "token=") {
		t.Fatalf("log line contains the query: %s", out)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", out, err)
	}
	if line["path"] != "/messages/text" || line["method"] != "GET" || line["status"] != float64(418) || line["bytes"] != float64(5) {
		t.Errorf("log line %v", line)
	}
	if line["level"] != "INFO" {
		t.Errorf("level %v, want INFO", line["level"])
	}

	// Probes log at debug; a handler that writes nothing is a 200.
	buf.Reset()
	h = LogRequests(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/livez?token=secret", nil))
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if line["level"] != "DEBUG" || line["status"] != float64(200) || strings.Contains(buf.String(), "secret") {
		t.Errorf("probe log line %v", line)
	}
}

func TestSecurityHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}
