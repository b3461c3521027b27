package service

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/billing"
	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/wire"
)

var (
	channelIDRE = regexp.MustCompile(`^(?:[A-Z]{6}-[A-Z0-9]{5}|[A-Z0-9]{12})$`)
	projectIDRE = regexp.MustCompile(`^(?:[a-zA-Z0-9]{20}|default)$`)
	phoneRE     = regexp.MustCompile(`^([0-9]{7,15})?$`)
)

// CheckChannelID validates a channel ID from a URL. A malformed ID is
// reported as not found: to a caller it is a channel that does not exist.
func CheckChannelID(id string) error {
	if !channelIDRE.MatchString(id) {
		return model.ErrChannelNotFound
	}
	return nil
}

// CreateChannelInput is what a partner gives to create a channel.
type CreateChannelInput struct {
	Name      string
	ProjectID string // empty: the default project
	Phone     string // optional: the customer's number, digits only
}

// CreateChannel creates a trial channel in one of the partner's projects.
// Free trial days come from the partner's setting or the operator default;
// no balance is used. Over the creation rate limit it is ErrRateLimited.
func (s *Service) CreateChannel(ctx context.Context, partnerID string, in CreateChannelInput) (_ model.Channel, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "channel.create", PartnerID: partnerID})
	defer done(&err)
	var ch model.Channel
	if err := checkText("name", in.Name, true, 100); err != nil {
		return ch, err
	}
	if in.ProjectID == "" {
		in.ProjectID = model.DefaultProjectID
	}
	if !projectIDRE.MatchString(in.ProjectID) {
		return ch, invalid("projectId", "must be \"default\" or a 20-character project ID")
	}
	if !phoneRE.MatchString(in.Phone) {
		return ch, invalid("phone", "must be 7-15 digits, without '+' or spaces")
	}
	partner, err := s.store.Partner(ctx, partnerID)
	if err != nil {
		return ch, err
	}
	op, err := s.operatorSettings(ctx)
	if err != nil {
		return ch, err
	}
	trialDays := op.TrialDays
	if partner.TrialDays >= 0 {
		trialDays = partner.TrialDays
	}
	limit := store.CreateLimit{Max: op.ChannelCreateLimit, Window: time.Duration(op.ChannelCreateWindow) * time.Minute}
	now := s.now()
	for attempt := 0; ; attempt++ {
		token := ids.ChannelToken()
		ch = billing.NewChannel(model.Channel{
			ID: ids.ChannelID(), PartnerID: partnerID, ProjectID: in.ProjectID,
			Name: in.Name, Phone: in.Phone, Token: token,
		}, trialDays, now)
		audit.SetChannel(ctx, ch.ID)
		audit.Describe(ctx, nil, channelAudit(ch))
		err = s.store.CreateChannel(ctx, ch, ids.Hash(token), limit, now)
		if errors.Is(err, model.ErrConflict) && attempt < 3 {
			continue // an ID clash: draw again
		}
		break
	}
	if errors.Is(err, model.ErrProjectNotFound) {
		return ch, invalid("projectId", "no project %q", in.ProjectID)
	}
	if err != nil {
		return ch, err
	}
	s.log.InfoContext(ctx, "channel created", "partner_id", partnerID, "channel_id", ch.ID, "trial_days", trialDays)
	s.syncRuntime(ctx, ch)
	return ch, nil
}

// Channel returns one of a partner's channels.
func (s *Service) Channel(ctx context.Context, partnerID, channelID string) (model.Channel, error) {
	if err := CheckChannelID(channelID); err != nil {
		return model.Channel{}, err
	}
	return s.store.Channel(ctx, partnerID, channelID)
}

// Channels lists a partner's channels, of one project when projectID is set.
func (s *Service) Channels(ctx context.Context, partnerID, projectID string, page Page) ([]model.Channel, int, error) {
	if projectID != "" {
		if !projectIDRE.MatchString(projectID) {
			return nil, 0, model.ErrProjectNotFound
		}
		if _, err := s.store.Project(ctx, partnerID, projectID); err != nil {
			return nil, 0, err
		}
	}
	return s.store.Channels(ctx, partnerID, projectID, page.Count, page.Offset)
}

// ChannelPatch changes a channel's descriptive fields; nil fields stay.
type ChannelPatch struct {
	Name      *string
	Phone     *string
	ProjectID *string
}

// UpdateChannel applies a patch to one of a partner's channels.
func (s *Service) UpdateChannel(ctx context.Context, partnerID, channelID string, p ChannelPatch) (_ model.Channel, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "channel.update", PartnerID: partnerID, ChannelID: channelID})
	defer done(&err)
	if err := CheckChannelID(channelID); err != nil {
		return model.Channel{}, err
	}
	if p.Name != nil {
		if err := checkText("name", *p.Name, true, 100); err != nil {
			return model.Channel{}, err
		}
	}
	if p.Phone != nil && !phoneRE.MatchString(*p.Phone) {
		return model.Channel{}, invalid("phone", "must be 7-15 digits, without '+' or spaces")
	}
	if p.ProjectID != nil && !projectIDRE.MatchString(*p.ProjectID) {
		return model.Channel{}, invalid("projectId", "must be \"default\" or a 20-character project ID")
	}
	ch, _, err := s.store.MutateChannel(ctx, partnerID, channelID, s.now(), func(ch model.Channel) (store.ChannelChange, error) {
		before := ch
		if p.Name != nil {
			ch.Name = *p.Name
		}
		if p.Phone != nil {
			ch.Phone = *p.Phone
		}
		if p.ProjectID != nil {
			ch.ProjectID = *p.ProjectID
		}
		describeChannel(ctx, before, ch)
		return store.ChannelChange{Channel: ch}, nil
	})
	if errors.Is(err, model.ErrProjectNotFound) && p.ProjectID != nil {
		return ch, invalid("projectId", "no project %q", *p.ProjectID)
	}
	return ch, err
}

// ExtendResult reports an extend.
type ExtendResult struct {
	Channel model.Channel
	Balance int64
}

// ExtendChannel moves days from the partner's balance to the channel:
// activeTill = max(now, activeTill) + days. Short of days it is
// ErrInsufficientDays and nothing changes.
func (s *Service) ExtendChannel(ctx context.Context, partnerID, channelID string, days int64, comment, actor string) (_ ExtendResult, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "channel.extend", PartnerID: partnerID, ChannelID: channelID})
	defer done(&err)
	if err := CheckChannelID(channelID); err != nil {
		return ExtendResult{}, err
	}
	if days <= 0 || days > billing.MaxExtendDays {
		return ExtendResult{}, invalid("days", "must be a whole number from 1 to %d", billing.MaxExtendDays)
	}
	if err := checkText("comment", comment, false, 500); err != nil {
		return ExtendResult{}, err
	}
	hooks := s.channelChangeHooks(ctx, partnerID, wire.ChangeExtended)
	ch, bal, err := s.store.MutateChannel(ctx, partnerID, channelID, s.now(), func(ch model.Channel) (store.ChannelChange, error) {
		next, err := billing.Extend(ch, days, s.now())
		describeChannel(ctx, ch, next)
		return store.ChannelChange{Channel: next, Delta: -days, Reason: model.ReasonExtend, Comment: comment, Actor: actor, Hooks: hooks}, err
	})
	if err != nil {
		return ExtendResult{}, err
	}
	if hooks != nil {
		s.wake()
	}
	s.log.InfoContext(ctx, "channel extended", "partner_id", partnerID, "channel_id", channelID, "days", days, "balance", bal)
	s.syncRuntime(ctx, ch) // an expired channel resumes, with its login
	return ExtendResult{Channel: ch, Balance: bal}, nil
}

// DeleteChannel deletes a channel and returns its unused whole paid days to
// the balance; it reports how many.
func (s *Service) DeleteChannel(ctx context.Context, partnerID, channelID, actor string) (_ int64, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "channel.delete", PartnerID: partnerID, ChannelID: channelID})
	defer done(&err)
	if err := CheckChannelID(channelID); err != nil {
		return 0, err
	}
	var refunded int64
	_, _, err = s.store.MutateChannel(ctx, partnerID, channelID, s.now(), func(ch model.Channel) (store.ChannelChange, error) {
		_, refunded = billing.Reclaim(ch, s.now())
		audit.Describe(ctx, channelAudit(ch), map[string]any{"daysRefunded": refunded})
		return store.ChannelChange{Delete: true, Delta: refunded, Reason: model.ReasonRefundDelete,
			Comment: "channel deleted", Actor: actor}, nil
	})
	if err != nil {
		return 0, err
	}
	s.log.InfoContext(ctx, "channel deleted", "partner_id", partnerID, "channel_id", channelID, "days_refunded", refunded)
	if s.rt != nil && s.runsHere(channelID) {
		s.rt.Remove(ctx, channelID) // elsewhere, its node removes it on the announcement
	}
	return refunded, nil
}

// StopChannel stops a channel; with saveDays its unused whole paid days go
// back to the balance. It reports how many.
func (s *Service) StopChannel(ctx context.Context, partnerID, channelID string, saveDays bool, actor string) (_ model.Channel, _ int64, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "channel.stop", PartnerID: partnerID, ChannelID: channelID})
	defer done(&err)
	if err := CheckChannelID(channelID); err != nil {
		return model.Channel{}, 0, err
	}
	var refunded int64
	hooks := s.channelChangeHooks(ctx, partnerID, wire.ChangeStopped)
	ch, _, err := s.store.MutateChannel(ctx, partnerID, channelID, s.now(), func(ch model.Channel) (store.ChannelChange, error) {
		var next model.Channel
		next, refunded = billing.Stop(ch, saveDays, s.now())
		describeChannel(ctx, ch, next)
		change := store.ChannelChange{Channel: next, Delta: refunded, Reason: model.ReasonRefundStop,
			Comment: "channel stopped with saveDays", Actor: actor}
		if !ch.Stopped {
			change.Hooks = hooks
		}
		return change, nil
	})
	if err != nil {
		return ch, 0, err
	}
	s.wake()
	s.log.InfoContext(ctx, "channel stopped", "partner_id", partnerID, "channel_id", channelID, "days_refunded", refunded)
	s.syncRuntime(ctx, ch)
	return ch, refunded, nil
}

// StartChannel starts a stopped channel. Without active days it is
// ErrExpired: extend first.
func (s *Service) StartChannel(ctx context.Context, partnerID, channelID string) (_ model.Channel, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "channel.start", PartnerID: partnerID, ChannelID: channelID})
	defer done(&err)
	if err := CheckChannelID(channelID); err != nil {
		return model.Channel{}, err
	}
	hooks := s.channelChangeHooks(ctx, partnerID, wire.ChangeStarted)
	ch, _, err := s.store.MutateChannel(ctx, partnerID, channelID, s.now(), func(ch model.Channel) (store.ChannelChange, error) {
		next, err := billing.Start(ch, s.now())
		describeChannel(ctx, ch, next)
		change := store.ChannelChange{Channel: next}
		if ch.Stopped {
			change.Hooks = hooks
		}
		return change, err
	})
	if err == nil {
		s.wake()
		s.syncRuntime(ctx, ch)
	}
	return ch, err
}

// RestartChannel disconnects and reconnects a channel (its login is kept).
// Without active days it is ErrExpired. A manually stopped channel is started.
func (s *Service) RestartChannel(ctx context.Context, partnerID, channelID string) (_ model.Channel, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "channel.restart", PartnerID: partnerID, ChannelID: channelID})
	defer done(&err)
	ch, err := s.StartChannel(ctx, partnerID, channelID)
	if err != nil {
		return ch, err
	}
	if s.rt != nil {
		if !s.runsHere(ch.ID) {
			return ch, s.runtimeError(ch, runtime.ErrNotRunning)
		}
		if err := s.rt.Restart(ctx, ch); err != nil {
			return ch, s.runtimeError(ch, err)
		}
	}
	s.log.InfoContext(ctx, "channel restarted", "partner_id", partnerID, "channel_id", channelID)
	return ch, nil
}

// ChangeMode switches a channel between trial, dev, dev_archive and live.
// Going live forfeits the unused free trial time; dev_archive puts the
// channel away (it disconnects, keeping its link) until another mode.
func (s *Service) ChangeMode(ctx context.Context, partnerID, channelID string, mode model.Mode) (_ model.Channel, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "channel.mode", PartnerID: partnerID, ChannelID: channelID})
	defer done(&err)
	if err := CheckChannelID(channelID); err != nil {
		return model.Channel{}, err
	}
	if !mode.Valid() {
		return model.Channel{}, invalid("mode", "must be one of trial, dev, dev_archive, live")
	}
	ch, _, err := s.store.MutateChannel(ctx, partnerID, channelID, s.now(), func(ch model.Channel) (store.ChannelChange, error) {
		next, err := billing.ChangeMode(ch, mode, s.now())
		describeChannel(ctx, ch, next)
		return store.ChannelChange{Channel: next}, err
	})
	if err != nil {
		return ch, err
	}
	s.log.InfoContext(ctx, "channel mode changed", "partner_id", partnerID, "channel_id", channelID, "mode", mode)
	// The limits a mode sets are checked here, not by the connection: a
	// running channel keeps its connection (one that got days starts).
	s.syncRuntime(ctx, ch)
	return ch, nil
}

// ExpireDue marks channels whose days ran out and returns them, each once.
func (s *Service) ExpireDue(ctx context.Context) ([]model.Channel, error) {
	chs, err := s.store.MarkExpired(ctx, s.now(), 500, s.expiryHooks(ctx))
	if len(chs) > 0 {
		s.wake()
	}
	for _, ch := range chs {
		s.log.InfoContext(ctx, "channel expired", "partner_id", ch.PartnerID, "channel_id", ch.ID)
		s.syncRuntime(ctx, ch) // disconnects; the login is kept for an extend
	}
	return chs, err
}
