// Package httpx is wagate's HTTP plumbing: JSON and error rendering, request
// decoding with clear messages, and middleware (recovery, logging, limits).
// It holds no business logic.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/wagate/wagate/internal/model"
)

// Error is an error with an HTTP status. Message is for people; Details adds
// context when there is some.
type Error struct {
	Status  int
	Message string
	Details string
}

func (e *Error) Error() string { return e.Message }

// Errorf makes an *Error.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// ErrorBody is the JSON shape of every error wagate returns.
type ErrorBody struct {
	Error ErrorObject `json:"error"`
}

// ErrorObject is the inside of ErrorBody.
type ErrorObject struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details string `json:"details,omitempty"`
}

// Marshal encodes v as JSON without escaping <, > and & (answers are JSON,
// never HTML: "\u003c" in an error message only hides what it says), with
// a trailing newline.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// JSON writes v with a status.
func JSON(w http.ResponseWriter, status int, v any) {
	body, err := Marshal(v)
	EncodedJSON(w, status, body, err)
}

// EncodedJSON writes body, JSON encoded by the caller as Marshal would, with
// a status; err is the encoding's (a 500 answer).
func EncodedJSON(w http.ResponseWriter, status int, body []byte, err error) {
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":500,"message":"internal error: response could not be encoded"}}`+"\n")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// statusOf maps an error to its HTTP status and the message to show.
func statusOf(err error) (int, string, string) {
	var he *Error
	if errors.As(err, &he) {
		return he.Status, he.Message, he.Details
	}
	msg := err.Error()
	switch {
	case errors.Is(err, model.ErrInvalid):
		return http.StatusBadRequest, msg, ""
	case errors.Is(err, model.ErrNotFound):
		return http.StatusNotFound, msg, ""
	case errors.Is(err, model.ErrInsufficientDays):
		return http.StatusPaymentRequired, "not enough days on the balance", msg
	case errors.Is(err, model.ErrExpired):
		return http.StatusPaymentRequired, msg, ""
	case errors.Is(err, model.ErrConflict):
		return http.StatusConflict, msg, ""
	case errors.Is(err, model.ErrRateLimited):
		return http.StatusTooManyRequests, "too many channels created; try again later", msg
	case errors.Is(err, model.ErrForbidden):
		return http.StatusForbidden, msg, ""
	case errors.Is(err, model.ErrStopped):
		return http.StatusConflict, msg, ""
	case errors.Is(err, model.ErrNotLoggedIn):
		// 409, not Whapi's 401: a client must tell an unlinked channel
		// from a bad token.
		return http.StatusConflict, msg, "link a WhatsApp account first: GET /users/login"
	case errors.Is(err, model.ErrUpstream):
		return http.StatusBadGateway, msg, ""
	case errors.Is(err, model.ErrUnavailable):
		return http.StatusServiceUnavailable, msg, ""
	case errors.Is(err, model.ErrLimitExceeded):
		return http.StatusPaymentRequired, msg, ""
	case errors.Is(err, model.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, msg, ""
	case errors.Is(err, model.ErrUnsupportedMedia):
		return http.StatusUnsupportedMediaType, msg, ""
	case errors.Is(err, model.ErrIdempotencyKeyTaken):
		return http.StatusConflict, "a request with this Idempotency-Key is in progress or done", msg
	case errors.Is(err, model.ErrNotImplemented):
		return http.StatusNotImplemented, msg, ""
	}
	return http.StatusInternalServerError, "internal error", ""
}

// WriteError renders err as the standard error body. Server errors are logged
// with the cause; the client sees only a generic message.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, msg, details := statusOf(err)
	var rl *model.RateLimitError
	if errors.As(err, &rl) {
		secs := int64(math.Ceil(rl.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		// Unavailable is for now (a channel connecting, moving to another
		// node, the server shutting down): say when to try again.
		w.Header().Set("Retry-After", "2")
	}
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", RequestID(r), "error", err)
		details = referenceOf(r)
	}
	JSON(w, status, ErrorBody{Error: ErrorObject{Code: status, Message: msg, Details: details}})
}

// referenceOf is the details text of a 500: the request ID to quote.
func referenceOf(r *http.Request) string {
	if id := RequestID(r); id != "" {
		return "request id " + id
	}
	return ""
}

// HandlerFunc is an HTTP handler that returns its error for central rendering.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts a HandlerFunc to http.Handler.
func Handle(log *slog.Logger, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, log, err)
		}
	})
}

// Decode reads a JSON body into dst, naming what is wrong: malformed JSON,
// a field of the wrong type, a body that is too large, or trailing data. An
// empty body is an error when required. Unknown fields are ignored (the gate
// API is as lenient as Whapi's); see DecodeStrict.
func Decode(r *http.Request, dst any, required bool) error {
	return decode(r, dst, required, MaxBodyBytes, false)
}

// DecodeStrict is Decode that also refuses fields dst does not have, naming
// every one of them (and the field it may stand for): a misspelled field
// would otherwise be ignored without a word, e.g. {"saveDay": true} on a
// stop that was meant to refund days.
func DecodeStrict(r *http.Request, dst any, required bool) error {
	return decode(r, dst, required, MaxBodyBytes, true)
}

// DecodeLimit is Decode for bodies up to limit bytes.
func DecodeLimit(r *http.Request, dst any, required bool, limit int64) error {
	return decode(r, dst, required, limit, false)
}

// DecodeStrictLimit is DecodeStrict for bodies up to limit bytes.
func DecodeStrictLimit(r *http.Request, dst any, required bool, limit int64) error {
	return decode(r, dst, required, limit, true)
}

// DecodeBytes decodes a body already read, as Decode (strict: as
// DecodeStrict) does.
func DecodeBytes(body []byte, dst any, required, strict bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		if required {
			return Errorf(http.StatusBadRequest, "request body is required (JSON)")
		}
		return nil
	}
	if strict {
		var generic any
		if err := decodeOne(body, &generic); err != nil {
			return err
		}
		if err := checkKnownFields(generic, reflect.TypeOf(dst)); err != nil {
			return err
		}
	}
	return decodeOne(body, dst)
}

func decode(r *http.Request, dst any, required bool, limit int64, strict bool) error {
	if r.Body == nil || r.Body == http.NoBody {
		if required {
			return Errorf(http.StatusBadRequest, "request body is required (JSON)")
		}
		return nil
	}
	// The body is read as JSON whatever the Content-Type says: `curl -d`
	// sends form encoding by default, and the API has no other body format.
	body, err := ReadBody(r, limit)
	if err != nil {
		return err
	}
	return DecodeBytes(body, dst, required, strict)
}

// ReadBody reads a whole request body of at most limit bytes (less when
// LimitBody set a smaller limit on the route). Too large is a 413 that
// says the limit.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, tooLarge(r, r.ContentLength, limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		return nil, BodyError(r, err)
	}
	return body, nil
}

// BodyError turns an error reading a request body into its answer: 413
// naming the limit when the body was too large, 400 otherwise.
func BodyError(r *http.Request, err error) error {
	var tb *http.MaxBytesError
	if errors.As(err, &tb) {
		return tooLarge(r, -1, tb.Limit)
	}
	return Errorf(http.StatusBadRequest, "could not read request body")
}

func tooLarge(r *http.Request, size, limit int64) error {
	what := "this request"
	if r != nil && r.Pattern != "" {
		what = r.Pattern
	}
	msg := fmt.Sprintf("request body is larger than %s, the most %s accepts", formatBytes(limit), what)
	if size > 0 {
		msg = fmt.Sprintf("request body is %s, larger than %s, the most %s accepts", formatBytes(size), formatBytes(limit), what)
	}
	return &Error{Status: http.StatusRequestEntityTooLarge, Message: msg}
}

// formatBytes shows a size in bytes, with KiB or MiB when it is whole.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// decodeOne decodes exactly one JSON value from body into dst.
func decodeOne(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(http.StatusBadRequest, "request body must be a single JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var he *Error
	if errors.As(err, &he) { // from a type's own UnmarshalJSON
		return he
	}
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("malformed JSON at byte %d", syntax.Offset), Details: syntax.Error()}
	case errors.As(err, &typ):
		if typ.Field == "" {
			return Errorf(http.StatusBadRequest, "request body must be a JSON %s", jsonType(typ.Type.Kind().String()))
		}
		return Errorf(http.StatusBadRequest, "%s: must be %s, not %s", typ.Field, withArticle(jsonType(typ.Type.Kind().String())), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, "malformed JSON: unexpected end of body")
	}
	return &Error{Status: http.StatusBadRequest, Message: "invalid JSON body", Details: err.Error()}
}

// jsonType names the JSON type a Go kind decodes from.
func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "whole number"
	case "float32", "float64":
		return "number"
	}
	return goKind
}

// withArticle puts "a" or "an" before a noun.
func withArticle(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}
