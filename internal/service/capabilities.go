package service

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// capability returns a channel's session as one of the engine's optional
// capabilities (engine.Storyteller, Newsletterer, Communitarian), or 501
// naming what the running engine cannot do.
func capability[T any](s *Service, ch model.Channel, what string) (T, error) {
	var zero T
	sess, err := s.session(ch)
	if err != nil {
		return zero, err
	}
	c, ok := sess.(T)
	if !ok {
		return zero, fmt.Errorf("the %s engine cannot %s: %w", s.EngineName(), what, model.ErrNotImplemented)
	}
	return c, nil
}

// capError maps the errors of the optional capabilities (stories,
// newsletters, communities, the blocklist, LIDs, the address book, pins,
// group settings, join requests, group icons): their own to 404 or 409, an
// engine's "not possible" to 501 with its reason, the rest as actionError
// does.
func (s *Service) capError(ch model.Channel, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, engine.ErrNewsletterNotFound):
		return fmt.Errorf("newsletter not found: %w", model.ErrNotFound)
	case errors.Is(err, engine.ErrNoNewsletterAdmin):
		return fmt.Errorf("%s: %w", strings.TrimPrefix(err.Error(), "engine: "), model.ErrNotFound)
	case errors.Is(err, engine.ErrNotCommunity):
		return fmt.Errorf("%s: %w", strings.TrimPrefix(err.Error(), "engine: "), model.ErrNotFound)
	case errors.Is(err, engine.ErrNoPhoto):
		return fmt.Errorf("no picture is set: %w", model.ErrNotFound)
	case errors.Is(err, engine.ErrBlocked):
		return fmt.Errorf("the channel blocked this user; unblock them first (DELETE /blacklist/{ContactID}): %w", model.ErrConflict)
	case errors.Is(err, engine.ErrJoinRequested):
		return fmt.Errorf("the group's admins must approve joining: the request was sent (GET /groups/{GroupID}/applications lists it): %w", model.ErrConflict)
	case errors.Is(err, engine.ErrInvalidPhone):
		return invalid("ContactID", "%v", err)
	case errors.Is(err, engine.ErrUnsupported):
		// Either "<why>: engine: not supported..." or "engine: not
		// supported...: <what>"; the reason without the sentinel's words.
		msg := err.Error()
		if trimmed, ok := strings.CutSuffix(msg, ": "+engine.ErrUnsupported.Error()); ok {
			msg = trimmed
		} else {
			msg = strings.TrimPrefix(msg, "engine: ")
		}
		return fmt.Errorf("%s: %w", msg, model.ErrNotImplemented)
	}
	return s.actionError(ch, err)
}
