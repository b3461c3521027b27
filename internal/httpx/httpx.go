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
	"strconv"
	"strings"

	"github.com/wagate/wagate/internal/model"
)

// MaxBodyBytes bounds a JSON request body.
const MaxBodyBytes = 1 << 20

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

// JSON writes v with a status.
func JSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":500,"message":"internal error: response could not be encoded"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
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
		return http.StatusUnauthorized, msg, ""
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
// empty body is an error when required.
func Decode(r *http.Request, dst any, required bool) error {
	return DecodeLimit(r, dst, required, MaxBodyBytes)
}

// DecodeLimit is Decode for bodies up to limit bytes (media in base64).
func DecodeLimit(r *http.Request, dst any, required bool, limit int64) error {
	if r.Body == nil || r.Body == http.NoBody {
		if required {
			return Errorf(http.StatusBadRequest, "request body is required (JSON)")
		}
		return nil
	}
	// The body is read as JSON whatever the Content-Type says: `curl -d`
	// sends form encoding by default, and the API has no other body format.
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return Errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", limit)
		}
		return Errorf(http.StatusBadRequest, "could not read request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if required {
			return Errorf(http.StatusBadRequest, "request body is required (JSON)")
		}
		return nil
	}
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
