package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/wire"
)

// Calls: every call event a channel's session reports is kept (calls
// table) and sent as a "calls" webhook in Whapi's shape; with the
// channel's calls.reject setting an incoming call is rejected at once and,
// with calls.reject_message, the caller gets that text.

// callsKeep is how long a call is kept after its last event.
const callsKeep = 7 * 24 * time.Hour

func applyCallSettings(cur model.CallSettings, p CallSettingsPatch) (model.CallSettings, error) {
	next := cur
	if p.Reject != nil {
		next.Reject = *p.Reject
	}
	if p.RejectMessage != nil {
		msg := strings.TrimSpace(*p.RejectMessage)
		if utf8.RuneCountInString(msg) > MaxTextLength || !utf8.ValidString(msg) || strings.ContainsRune(msg, 0) {
			return cur, invalid("calls.reject_message", "must be valid text of at most %d characters", MaxTextLength)
		}
		next.RejectMessage = msg
	}
	return next, nil
}

// ingestCall records a call event with its webhook and, for an incoming
// call the channel rejects by setting, rejects it off the receive path.
func (s *Service) ingestCall(ctx context.Context, ch model.Channel, e engine.Call) error {
	if e.ID == "" {
		return nil
	}
	settings, err := s.ChannelSettings(ctx, ch)
	if err != nil {
		return err
	}
	now := s.now()
	reject := e.Status == engine.CallOffer && !e.Offline && settings.Calls.Reject
	var fresh bool
	c, err := s.store.UpdateCall(ctx, ch.ID, e.ID, func(c *store.Call, created bool) error {
		fresh = created
		if created {
			c.ChatID, c.Caller, c.Video, c.Group = e.Chat, e.From, e.Video, e.Group
			c.CreatedAt = now
		}
		if c.Caller == "" {
			c.Caller = e.From
		}
		if c.ChatID == "" {
			c.ChatID = e.Chat
		}
		c.Video = c.Video || e.Video
		c.Status, c.UpdatedAt = string(e.Status), now
		if e.Status == engine.CallAccept {
			c.Answered = true
		}
		if reject && !c.Answered {
			c.Rejected = true
		}
		return nil
	}, func(c store.Call) []model.WebhookDelivery {
		return s.deliveries(ctx, ch, wire.TypeCalls, wire.MethodPost, c.ChatID, func() ([]byte, error) {
			return wire.CallsEvent(ch.ID, []wire.CallEvent{wire.NewCallEvent(c, e, c.ChatID, phoneOrJID(c.Caller))})
		})
	})
	if err != nil {
		return err
	}
	s.wake()
	if reject && fresh && c.Rejected {
		go s.autoReject(ch, c, settings.Calls.RejectMessage)
	}
	return nil
}

// autoReject rejects a call by the channel's setting (Ingest must not call
// the session) and sends the rejection text.
func (s *Service) autoReject(ch model.Channel, c store.Call, text string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, err := s.session(ch)
	if err == nil {
		err = sess.RejectCall(ctx, c.Caller, c.ID)
	}
	if err != nil {
		s.log.Warn("could not reject a call", "channel_id", ch.ID, "call_id", c.ID, "error", err)
		return
	}
	s.log.Info("call rejected by the channel's settings", "channel_id", ch.ID, "call_id", c.ID)
	if err := s.markRejected(ctx, ch, c.ID); err != nil {
		s.log.Warn("could not record a rejected call", "channel_id", ch.ID, "call_id", c.ID, "error", err)
	}
	if text == "" || c.Group {
		return
	}
	if _, err := s.Send(ctx, ch, SendRequest{Kind: engine.KindText, To: c.Caller, Body: text}); err != nil {
		s.log.Warn("could not send the call rejection text", "channel_id", ch.ID, "call_id", c.ID, "error", err)
	}
}

// RejectCall rejects a call the channel saw (DELETE /calls/{CallID});
// from, when given, must be its caller.
func (s *Service) RejectCall(ctx context.Context, ch model.Channel, id, from string) error {
	id = strings.TrimSpace(id)
	if id == "" || len(id) > 128 {
		return fmt.Errorf("call %q %w", id, model.ErrNotFound)
	}
	c, err := s.store.Call(ctx, ch.ID, id)
	if err != nil {
		return err
	}
	if strings.TrimSpace(from) != "" {
		caller, err := UserID("callFrom", from)
		if err != nil {
			return err
		}
		if caller != c.Caller {
			return invalid("callFrom", "call %s is from %s, not %s", id, phoneOrJID(c.Caller), phoneOrJID(caller))
		}
	}
	if c.Status != string(engine.CallOffer) {
		return fmt.Errorf("call %s is no longer ringing (%s): %w", id, c.Status, model.ErrConflict)
	}
	sess, err := s.session(ch)
	if err != nil {
		return err
	}
	if err := sess.RejectCall(ctx, c.Caller, c.ID); err != nil {
		return s.callError(ch, err)
	}
	return s.markRejected(ctx, ch, id)
}

// markRejected records that the channel rejected a call: it no longer
// rings (WhatsApp's terminate, when it comes, is reported as usual).
func (s *Service) markRejected(ctx context.Context, ch model.Channel, id string) error {
	_, err := s.store.UpdateCall(ctx, ch.ID, id, func(c *store.Call, _ bool) error {
		if c.Status == string(engine.CallOffer) {
			c.Status = string(engine.CallTerminate)
		}
		c.Rejected, c.UpdatedAt = true, s.now()
		return nil
	}, nil)
	return err
}

// CallLink creates a link to a call (POST /calls, POST /calls/group_link).
func (s *Service) CallLink(ctx context.Context, ch model.Channel, video bool) (string, error) {
	sess, err := s.session(ch)
	if err != nil {
		return "", err
	}
	link, err := sess.CallLink(ctx, video)
	if err != nil {
		return "", s.callError(ch, err)
	}
	return link, nil
}

// callError maps call errors; an engine that cannot do something says why.
func (s *Service) callError(ch model.Channel, err error) error {
	switch {
	case errors.Is(err, engine.ErrCallNotFound):
		return fmt.Errorf("call not found (it ended or never rang): %w", model.ErrNotFound)
	case errors.Is(err, engine.ErrUnsupported):
		return fmt.Errorf("the %s engine cannot do this: %v: %w", s.EngineName(), err, model.ErrNotImplemented)
	}
	return s.actionError(ch, err)
}

// PruneCalls drops calls last seen more than a week ago.
func (s *Service) PruneCalls(ctx context.Context) (int64, error) {
	return s.store.DeleteCallsBefore(ctx, s.now().Add(-callsKeep))
}
