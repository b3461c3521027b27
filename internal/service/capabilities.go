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

// capError maps the errors of the stories, newsletters and communities
// capabilities: their own to 404, an engine's "not possible" to 501 with
// its reason, the rest as actionError does.
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
	case errors.Is(err, engine.ErrUnsupported) && err.Error() != engine.ErrUnsupported.Error():
		return fmt.Errorf("%s: %w", strings.TrimSuffix(err.Error(), ": "+engine.ErrUnsupported.Error()), model.ErrNotImplemented)
	}
	return s.actionError(ch, err)
}
