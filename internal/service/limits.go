package service

import (
	"context"
	"fmt"
	"slices"

	"github.com/wagate/wagate/internal/model"
)

// Kinds of trial limits.
const (
	LimitMessages = "messages" // messages sent per day
	LimitChecks   = "checks"   // numbers checked per day
	LimitRequests = "requests" // gate API requests per month
)

// limitOf is the operator's limit of kind and its period of now (a day or
// a month, in UTC); 0 is no limit.
func (s *Service) limitOf(op model.OperatorSettings, kind string) (limit int, period string) {
	now := s.now().UTC()
	day, month := now.Format("2006-01-02"), now.Format("2006-01")
	switch kind {
	case LimitMessages:
		return op.LimitMessagesPerDay, day
	case LimitChecks:
		return op.LimitChecksPerDay, day
	case LimitRequests:
		return op.LimitRequestsPerMonth, month
	}
	return 0, day
}

// limited reports whether a channel's mode has trial limits.
func limited(ch model.Channel) bool { return ch.Mode != model.ModeLive }

// UseLimit counts n uses of kind for a trial or Sandbox channel, and
// answers 402 "limit exceeded" when that would pass the operator's limit
// (counting nothing then). Live channels have no limits.
func (s *Service) UseLimit(ctx context.Context, ch model.Channel, kind string, n int) error {
	if !limited(ch) {
		return nil
	}
	op, err := s.operatorSettings(ctx)
	if err != nil {
		return err
	}
	limit, period := s.limitOf(op, kind)
	if limit <= 0 {
		return nil
	}
	if n <= 0 {
		return nil
	}
	// All n or none: a batch that does not fit counts nothing.
	_, ok, err := s.store.UseCounterN(ctx, ch.ID, kind, period, n, limit)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s channels may use %d %s per %s; switch the channel to live for no limits: %w",
			ch.Mode, limit, kind, periodName(kind), model.ErrLimitExceeded)
	}
	return nil
}

// releaseLimit takes back n uses of kind that did not happen (WhatsApp
// refused the message); failures are only logged.
func (s *Service) releaseLimit(ctx context.Context, ch model.Channel, kind string, n int) {
	if !limited(ch) {
		return
	}
	op, err := s.operatorSettings(ctx)
	if err != nil {
		return
	}
	limit, period := s.limitOf(op, kind)
	if limit <= 0 {
		return
	}
	if err := s.store.ReleaseCounter(context.WithoutCancel(ctx), ch.ID, kind, period, n); err != nil {
		s.log.WarnContext(ctx, "could not release a trial limit use", "channel_id", ch.ID, "kind", kind, "error", err)
	}
}

// UseChat counts a chat the channel writes to in this month: trial and
// Sandbox channels may start only LimitChatsPerMonth chats (402 beyond).
func (s *Service) UseChat(ctx context.Context, ch model.Channel, chatID string) error {
	if !limited(ch) {
		return nil
	}
	op, err := s.operatorSettings(ctx)
	if err != nil {
		return err
	}
	_, err = s.useChat(ctx, ch, op, chatID)
	return err
}

// useChat is UseChat that also says whether the chat is new this month, and
// returns a function that takes the use back.
func (s *Service) useChat(ctx context.Context, ch model.Channel, op model.OperatorSettings, chatID string) (release func(), err error) {
	release = func() {}
	if !limited(ch) || op.LimitChatsPerMonth <= 0 {
		return release, nil
	}
	period := s.now().UTC().Format("2006-01")
	used, err := s.store.UsedChats(ctx, ch.ID, period)
	if err != nil {
		return release, err
	}
	ok, err := s.store.UseChat(ctx, ch.ID, period, chatID, op.LimitChatsPerMonth)
	if err != nil {
		return release, err
	}
	if ok && !slices.Contains(used, chatID) {
		release = func() {
			if err := s.store.ReleaseChat(context.WithoutCancel(ctx), ch.ID, period, chatID); err != nil {
				s.log.WarnContext(ctx, "could not release a trial chat", "channel_id", ch.ID, "error", err)
			}
		}
	}
	if !ok {
		return release, fmt.Errorf("%s channels may write to %d chats per month; switch the channel to live for no limits: %w",
			ch.Mode, op.LimitChatsPerMonth, model.ErrLimitExceeded)
	}
	return release, nil
}

func periodName(kind string) string {
	if kind == LimitRequests {
		return "month"
	}
	return "day"
}

// LimitsLeft is what a trial or Sandbox channel may still do in the
// current periods.
type LimitsLeft struct {
	Messages int      // messages left today
	Chats    []string // chats used this month
	ChatsMax int      // chats allowed this month (-1: no limit)
	Checks   int      // checks left today
	Requests int      // requests left this month
}

// RemainingLimits reports what is left of a channel's trial limits; ok is
// false for live channels (no limits). A limit of 0 (none) shows as -1.
func (s *Service) RemainingLimits(ctx context.Context, ch model.Channel) (LimitsLeft, bool, error) {
	if !limited(ch) {
		return LimitsLeft{}, false, nil
	}
	op, err := s.operatorSettings(ctx)
	if err != nil {
		return LimitsLeft{}, true, err
	}
	left := func(kind string) (int, error) {
		limit, period := s.limitOf(op, kind)
		if limit <= 0 {
			return -1, nil
		}
		used, err := s.store.Counter(ctx, ch.ID, kind, period)
		return max(limit-used, 0), err
	}
	var out LimitsLeft
	if out.Messages, err = left(LimitMessages); err != nil {
		return out, true, err
	}
	if out.Checks, err = left(LimitChecks); err != nil {
		return out, true, err
	}
	if out.Requests, err = left(LimitRequests); err != nil {
		return out, true, err
	}
	out.ChatsMax = op.LimitChatsPerMonth
	if out.ChatsMax <= 0 {
		out.ChatsMax = -1
	}
	out.Chats, err = s.store.UsedChats(ctx, ch.ID, s.now().UTC().Format("2006-01"))
	return out, true, err
}
