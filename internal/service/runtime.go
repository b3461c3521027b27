package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
)

// Runtime returns the channel runtime (nil in one-shot commands).
func (s *Service) Runtime() *runtime.Manager { return s.rt }

// syncRuntime brings a channel's runtime in line with its row: connected
// while it has days and is not stopped, disconnected otherwise.
func (s *Service) syncRuntime(ctx context.Context, ch model.Channel) {
	// In cluster mode another node may run it: the change reaches it
	// through the cluster's announcement of the write.
	if s.rt != nil && s.runsHere(ch.ID) {
		s.rt.Apply(ctx, ch)
	}
}

// StartRuntime starts every channel that should run (at boot).
func (s *Service) StartRuntime(ctx context.Context) (int, error) {
	if s.rt == nil {
		return 0, nil
	}
	if s.clusterStart != nil {
		// Cluster mode: the cluster starts the channels of the shards it
		// gives this node. Orphaned devices are not removed: another node
		// may be linking one right now.
		return 0, s.clusterStart(ctx)
	}
	s.removeOrphans(ctx)
	chs, err := s.store.RunnableChannels(ctx, s.now())
	if err != nil {
		return 0, err
	}
	s.rt.StartAll(ctx, chs)
	return len(chs), nil
}

// removeOrphans drops the engine's devices no channel owns (left behind by
// a crash, or by a link cleared while the engine kept its device), before
// any channel starts.
func (s *Service) removeOrphans(ctx context.Context) {
	devices, err := s.store.LinkedDevices(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "orphaned devices not checked", "error", err)
		return
	}
	removed, err := s.rt.RemoveOrphans(ctx, devices)
	if err != nil {
		s.log.ErrorContext(ctx, "some orphaned devices could not be removed", "error", err)
	}
	s.orphans.Add(int64(len(removed)))
	if len(removed) > 0 {
		s.log.WarnContext(ctx, "removed engine devices that no channel owns", "count", len(removed), "devices", removed)
	}
}

// OrphansRemoved is how many engine devices no channel owned were removed
// since the process started.
func (s *Service) OrphansRemoved() int64 { return s.orphans.Load() }

// PruneSentPayloads forgets sent messages kept for retry receipts past the
// retention, and returns how many.
func (s *Service) PruneSentPayloads(ctx context.Context) (int, error) {
	return s.store.PruneSentPayloads(ctx, s.now().Add(-s.sentRetention), 1000)
}

// AuthenticateChannel returns the channel owning a gate API token. The lookup
// is by the token's SHA-256, compared again in constant time.
func (s *Service) AuthenticateChannel(ctx context.Context, token string) (model.Channel, error) {
	if token == "" {
		return model.Channel{}, model.ErrChannelNotFound
	}
	h := ids.Hash(token)
	ch, err := s.channelByTokenHash(ctx, h)
	if err != nil {
		return ch, err
	}
	if ids.Hash(ch.Token) != h {
		return model.Channel{}, model.ErrChannelNotFound
	}
	return ch, nil
}

// CheckRunning says why a channel cannot act now: out of days (402) or
// stopped by its partner (409).
func (s *Service) CheckRunning(ch model.Channel) error {
	now := s.now()
	switch {
	case ch.Expired(now):
		return fmt.Errorf("channel %s has no active days left; its partner must extend it: %w", ch.ID, model.ErrExpired)
	case ch.Stopped:
		return fmt.Errorf("channel %s is stopped; its partner must start it: %w", ch.ID, model.ErrStopped)
	case ch.Mode == model.ModeDevArchive:
		return fmt.Errorf("channel %s is archived (mode dev_archive); its partner must switch it back to dev to use it: %w", ch.ID, model.ErrStopped)
	}
	return nil
}

// Health is the runtime status of a channel.
func (s *Service) Health(ch model.Channel) runtime.Health {
	if s.rt == nil {
		return runtime.Health{ChannelID: ch.ID, Status: runtime.StatusNotInit, Phone: ch.WAPhone, Name: ch.WAName}
	}
	if !s.runsHere(ch.ID) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.remoteHealth(ctx, ch)
	}
	return s.rt.Health(ch)
}

// Wakeup starts a login flow for an unlinked channel whose last one ended
// (GET /health and the login endpoints "launch" the channel).
func (s *Service) Wakeup(ctx context.Context, ch model.Channel) {
	if s.rt == nil || ch.Linked() || !ch.Running(s.now()) || !s.runsHere(ch.ID) {
		return
	}
	if h := s.rt.Health(ch); h.LoginTimedOut || h.Status == runtime.StatusNotInit {
		wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, _ = s.rt.LoginQR(wctx, ch) // only starts it; the QR is not awaited
	}
}

// runtimeError turns runtime errors into the model's.
func (s *Service) runtimeError(ch model.Channel, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, runtime.ErrLinked), errors.Is(err, engine.ErrAlreadyLinked):
		return fmt.Errorf("channel already authenticated: %w", model.ErrConflict)
	case errors.Is(err, runtime.ErrNotLinked), errors.Is(err, engine.ErrNotLinked):
		return model.ErrNotLoggedIn
	case errors.Is(err, runtime.ErrNotRunning):
		if cerr := s.CheckRunning(ch); cerr != nil {
			return cerr
		}
		if !s.runsHere(ch.ID) {
			return fmt.Errorf("channel %s is moving between the cluster's nodes; try again in a few seconds: %w", ch.ID, model.ErrUnavailable)
		}
		return fmt.Errorf("channel is not running yet; try again: %w", model.ErrUnavailable)
	case errors.Is(err, engine.ErrNotInLoginFlow):
		return fmt.Errorf("no login is in progress; ask for a QR code first: %w", model.ErrConflict)
	case errors.Is(err, engine.ErrBadProxy):
		return invalid("proxy", "the WhatsApp engine refused it (%v)", err)
	case errors.Is(err, engine.ErrInvalidPhone):
		return invalid("PhoneNumber", "must be 7-15 digits, without '+' or spaces")
	case errors.Is(err, engine.ErrNotConnected):
		return fmt.Errorf("channel is not connected to WhatsApp right now: %w", model.ErrUnavailable)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the channel did not answer in time (%v): %w", err, model.ErrUnavailable)
	case errors.Is(err, runtime.ErrShuttingDown):
		return fmt.Errorf("the server is shutting down: %w", model.ErrUnavailable)
	}
	return fmt.Errorf("%w: %v", model.ErrUpstream, err)
}

func (s *Service) needRuntime() error {
	if s.rt == nil {
		return fmt.Errorf("channels do not run in this process: %w", model.ErrUnavailable)
	}
	return nil
}

// LoginQR returns the current login QR code of an unlinked channel, starting
// a login flow when none runs and waiting for its first code (bounded by
// ctx). A linked channel is ErrConflict.
func (s *Service) LoginQR(ctx context.Context, ch model.Channel) (runtime.Health, error) {
	if err := s.needRuntime(); err != nil {
		return runtime.Health{}, err
	}
	if err := s.CheckRunning(ch); err != nil {
		return runtime.Health{}, err
	}
	if ch.Linked() {
		return runtime.Health{}, s.runtimeError(ch, runtime.ErrLinked)
	}
	if !s.runsHere(ch.ID) {
		return runtime.Health{}, s.runtimeError(ch, runtime.ErrNotRunning)
	}
	h, err := s.rt.LoginQR(ctx, ch)
	return h, s.runtimeError(ch, err)
}

var digitsRE = regexp.MustCompile(`^[0-9]{7,15}$`)

// PairCode returns an 8-character code to link phone (digits only) to an
// unlinked channel, starting a login flow when needed.
func (s *Service) PairCode(ctx context.Context, ch model.Channel, phone string) (string, error) {
	if !digitsRE.MatchString(phone) {
		return "", invalid("PhoneNumber", "must be 7-15 digits, without '+' or spaces")
	}
	if err := s.needRuntime(); err != nil {
		return "", err
	}
	if err := s.CheckRunning(ch); err != nil {
		return "", err
	}
	if ch.Linked() {
		return "", s.runtimeError(ch, runtime.ErrLinked)
	}
	if !s.runsHere(ch.ID) {
		return "", s.runtimeError(ch, runtime.ErrNotRunning)
	}
	code, err := s.rt.PairCode(ctx, ch, phone)
	return code, s.runtimeError(ch, err)
}

// Logout unlinks a channel's WhatsApp account; force drops it locally
// without asking WhatsApp (hard unlink). Not linked is ErrConflict ("already
// logged out"). The channel then starts a new login flow.
func (s *Service) Logout(ctx context.Context, ch model.Channel, force bool) (err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "channel.logout", PartnerID: ch.PartnerID, ChannelID: ch.ID, After: audit.JSON(map[string]any{"force": force})})
	defer done(&err)
	if err := s.needRuntime(); err != nil {
		return err
	}
	if !ch.Linked() {
		return fmt.Errorf("channel already logged out: %w", model.ErrConflict)
	}
	if !s.runsHere(ch.ID) {
		return s.runtimeError(ch, runtime.ErrNotRunning)
	}
	err = s.rt.Logout(ctx, ch, force)
	if errors.Is(err, runtime.ErrNotLinked) {
		return fmt.Errorf("channel already logged out: %w", model.ErrConflict)
	}
	if err != nil {
		return s.runtimeError(ch, err)
	}
	s.log.InfoContext(ctx, "channel logged out", "channel_id", ch.ID, "force", force)
	return nil
}

// LogoutChannel is Logout for one of a partner's channels.
func (s *Service) LogoutChannel(ctx context.Context, partnerID, channelID string, force bool) error {
	ch, err := s.Channel(ctx, partnerID, channelID)
	if err != nil {
		return err
	}
	return s.Logout(ctx, ch, force)
}

// session returns the linked, running session of a channel.
func (s *Service) session(ch model.Channel) (engine.Session, error) {
	if err := s.needRuntime(); err != nil {
		return nil, err
	}
	if err := s.CheckRunning(ch); err != nil {
		return nil, err
	}
	if !s.runsHere(ch.ID) {
		return nil, s.runtimeError(ch, runtime.ErrNotRunning)
	}
	sess, err := s.rt.Session(ch)
	if err != nil {
		if !ch.Linked() || errors.Is(err, runtime.ErrNotLinked) {
			return nil, model.ErrNotLoggedIn
		}
		return nil, s.runtimeError(ch, err)
	}
	return sess, nil
}

// Profile reads the linked account's profile.
func (s *Service) Profile(ctx context.Context, ch model.Channel) (engine.Profile, error) {
	sess, err := s.session(ch)
	if err != nil {
		return engine.Profile{}, err
	}
	p, err := sess.Profile(ctx)
	return p, s.runtimeError(ch, err)
}

// UpdateProfile changes the linked account's name (3-25 characters) and/or
// about text (1-139).
func (s *Service) UpdateProfile(ctx context.Context, ch model.Channel, u engine.ProfileUpdate) error {
	if u.Name != nil {
		if err := checkText("name", *u.Name, true, 25); err != nil {
			return err
		}
		if n := len([]rune(*u.Name)); n < 3 {
			return invalid("name", "must be 3-25 characters")
		}
	}
	if u.About != nil {
		if err := checkText("about", *u.About, true, 139); err != nil {
			return err
		}
	}
	sess, err := s.session(ch)
	if err != nil {
		return err
	}
	return s.runtimeError(ch, sess.SetProfile(ctx, u))
}

// EngineName is the name of the engine channels run on ("" when none runs).
func (s *Service) EngineName() string {
	if s.rt == nil || s.rt.Engine() == nil {
		return ""
	}
	return s.rt.Engine().Name()
}
