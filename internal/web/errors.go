package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

// describe turns a service error into a status and a message for people.
// Service messages are written for people already; fields get a label.
func (h *Handler) describe(r *http.Request, err error) (int, string) {
	var fe *service.FieldError
	var rl *model.RateLimitError
	switch {
	case errors.As(err, &fe):
		return http.StatusBadRequest, fieldLabel(fe.Field) + " " + fe.Message + "."
	case errors.As(err, &rl):
		return http.StatusTooManyRequests, capitalize(rl.Message) + "."
	case errors.Is(err, model.ErrInsufficientDays):
		return http.StatusPaymentRequired, "Not enough days on the balance (" + strings.TrimSuffix(err.Error(), ": insufficient days") + "). Nothing was changed."
	case errors.Is(err, model.ErrChannelNotFound):
		return http.StatusNotFound, "There is no such channel in your account."
	case errors.Is(err, model.ErrPartnerNotFound):
		return http.StatusNotFound, "There is no such partner."
	case errors.Is(err, model.ErrNotLoggedIn):
		return http.StatusConflict, "No WhatsApp account is linked to this channel."
	case errors.Is(err, model.ErrInvalid), errors.Is(err, model.ErrNotFound), errors.Is(err, model.ErrConflict),
		errors.Is(err, model.ErrExpired), errors.Is(err, model.ErrStopped), errors.Is(err, model.ErrForbidden),
		errors.Is(err, model.ErrUnavailable), errors.Is(err, model.ErrUpstream), errors.Is(err, model.ErrNotImplemented):
		return statusFor(err), capitalize(tidy(err.Error())) + "."
	}
	return http.StatusInternalServerError, "Something went wrong on our side. Please try again."
}

func statusFor(err error) int {
	switch {
	case errors.Is(err, model.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, model.ErrConflict), errors.Is(err, model.ErrStopped):
		return http.StatusConflict
	case errors.Is(err, model.ErrExpired):
		return http.StatusPaymentRequired
	case errors.Is(err, model.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, model.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, model.ErrUpstream):
		return http.StatusBadGateway
	case errors.Is(err, model.ErrNotImplemented):
		return http.StatusNotImplemented
	}
	return http.StatusBadRequest
}

// tidy drops the sentinel suffix the service wraps messages with.
func tidy(msg string) string {
	for _, s := range []error{model.ErrConflict, model.ErrUnavailable, model.ErrInvalid, model.ErrNotFound} {
		msg = strings.TrimSuffix(msg, ": "+s.Error())
	}
	return strings.TrimSuffix(msg, ".")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// fieldLabel names a service field as the forms do.
func fieldLabel(field string) string {
	labels := map[string]string{
		"name": "Name", "email": "Email", "password": "Password", "days": "Days", "comment": "Comment",
		"trial_days": "Trial days", "phone": "Phone number", "PhoneNumber": "Phone number", "proxy": "Proxy",
		"mode": "Mode", "projectId": "Project",
	}
	if l, ok := labels[field]; ok {
		return l
	}
	if strings.HasPrefix(field, "webhooks[") {
		if _, rest, ok := strings.Cut(field, "]."); ok {
			return "Webhook " + rest
		}
		return "Webhook"
	}
	if strings.HasPrefix(field, "proxies[") {
		return "Proxy"
	}
	return capitalize(strings.ReplaceAll(field, "_", " "))
}

// fail renders an error a handler returned: a friendly message with its
// status; server errors are logged with the cause and shown generically.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	status, msg := h.describe(r, err)
	if status >= 500 && status != http.StatusServiceUnavailable && status != http.StatusBadGateway && status != http.StatusNotImplemented {
		h.log.ErrorContext(r.Context(), "dashboard request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	h.renderError(w, r, v, status, msg)
}
