package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// DashboardLogin is one attempt to log in to the dashboard.
type DashboardLogin struct {
	// Kind is store.SessionPartner (Email and Password) or
	// store.SessionOperator (Token, the admin token; or Operator, Password
	// and Code, a named operator's TOTP code when it has TOTP).
	Kind     string
	Email    string
	Password string
	Token    string
	Operator string
	Code     string
	// IP is the client's address, for the rate limit.
	IP string
	// Device is the client's device cookie, when it has one: a device the
	// account logged in from before is trusted (login_throttle.go).
	Device string
	// TTL is the session's lifetime.
	TTL   time.Duration
	Limit LoginLimit
}

// DashboardSession is a logged-in dashboard session. Token is the cookie's
// value; only its hash is stored, so Token is set only when the session is
// created.
type DashboardSession struct {
	store.DashboardSession
	Token string
	// Device is the device cookie to set (new, or the one renewed).
	Device string
}

// ErrBadLogin is a wrong email, password or token. It matches ErrNotFound.
var ErrBadLogin = fmt.Errorf("wrong email or password: %w", model.ErrNotFound)

// ErrBadAdminToken is a wrong operator token. It matches ErrNotFound.
var ErrBadAdminToken = fmt.Errorf("wrong operator token: %w", model.ErrNotFound)

// LoginDashboard checks the throttle and the credentials, and opens a
// session (see login_throttle.go for what counts and what it blocks). Over
// a limit it is a *model.RateLimitError, and the credentials are not even
// checked.
func (s *Service) LoginDashboard(ctx context.Context, in DashboardLogin) (DashboardSession, error) {
	limit := in.Limit.withDefaults()
	if in.TTL <= 0 {
		return DashboardSession{}, invalid("ttl", "must be positive")
	}
	account := "operator"
	if in.Kind == store.SessionOperator && in.Operator != "" {
		account = "operator:" + strings.ToLower(strings.TrimSpace(in.Operator))
	}
	if in.Kind == store.SessionPartner {
		account = strings.ToLower(strings.TrimSpace(in.Email))
	} else if in.Kind != store.SessionOperator {
		return DashboardSession{}, invalid("kind", "must be partner or operator")
	}
	now := s.now()
	if _, err := s.store.PurgeDashboard(ctx, now, now.Add(-limit.Window)); err != nil {
		s.log.WarnContext(ctx, "purging dashboard sessions failed", "error", err)
	}
	if err := s.store.PurgeLoginDevices(ctx, now); err != nil {
		s.log.WarnContext(ctx, "purging login devices failed", "error", err)
	}
	t, err := s.throttle(ctx, in, account, limit, now)
	if err != nil {
		return DashboardSession{}, err
	}
	partnerID, operatorID, err := s.checkLogin(ctx, in)
	if errors.Is(err, model.ErrNotFound) {
		if rerr := s.store.RecordLoginFailure(ctx, now, t.failureKeys...); rerr != nil {
			return DashboardSession{}, rerr
		}
		s.log.InfoContext(ctx, "dashboard login failed", "kind", in.Kind, "remote", in.IP, "trusted_device", t.trusted)
		return DashboardSession{}, err
	}
	if err != nil {
		return DashboardSession{}, err
	}
	if err := s.store.ClearLoginFailures(ctx, t.clearKey); err != nil {
		return DashboardSession{}, err
	}
	sess, err := s.newDashboardSession(ctx, in.Kind, partnerID, operatorID, now, in.TTL)
	if err != nil {
		return sess, err
	}
	if sess.Device, err = s.trustDevice(ctx, in.Device, t.trusted, account, now); err != nil {
		return sess, err
	}
	s.log.InfoContext(ctx, "dashboard login", "kind", in.Kind, "partner_id", partnerID, "remote", in.IP)
	return sess, nil
}

// checkLogin returns the partner ID of good credentials, or a named
// operator's ID (both "" for the admin token), or an error matching
// ErrNotFound.
func (s *Service) checkLogin(ctx context.Context, in DashboardLogin) (partnerID, operatorID string, err error) {
	if in.Kind == store.SessionOperator {
		if in.Operator != "" {
			id, err := s.checkOperator(ctx, in.Operator, in.Password, in.Code)
			return "", id, err
		}
		ok, err := s.AuthenticateAdmin(ctx, in.Token)
		if err != nil {
			return "", "", err
		}
		if !ok {
			return "", "", ErrBadAdminToken
		}
		return "", "", nil
	}
	p, err := s.AuthenticatePartnerPassword(ctx, in.Email, in.Password)
	if errors.Is(err, model.ErrNotFound) {
		return "", "", ErrBadLogin
	}
	return p.ID, "", err
}

func roundUp(d time.Duration) string {
	if d <= time.Minute {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
}

func (s *Service) newDashboardSession(ctx context.Context, kind, partnerID, operatorID string, now time.Time, ttl time.Duration) (DashboardSession, error) {
	token := make([]byte, 32)
	secret := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return DashboardSession{}, err
	}
	if _, err := rand.Read(secret); err != nil {
		return DashboardSession{}, err
	}
	out := DashboardSession{Token: base64.RawURLEncoding.EncodeToString(token)}
	out.DashboardSession = store.DashboardSession{
		TokenHash: ids.Hash(out.Token), Kind: kind, PartnerID: partnerID, OperatorID: operatorID, CSRF: hex.EncodeToString(secret),
		CreatedAt: now, ExpiresAt: now.Add(ttl),
	}
	return out, s.store.CreateDashboardSession(ctx, out.DashboardSession)
}

// DashboardSessionOf returns the live session of a cookie value; an
// unknown or expired one is ErrNotFound.
func (s *Service) DashboardSessionOf(ctx context.Context, token string) (DashboardSession, error) {
	if token == "" || len(token) > 128 {
		return DashboardSession{}, fmt.Errorf("session %w", model.ErrNotFound)
	}
	ds, err := s.store.DashboardSession(ctx, ids.Hash(token), s.now())
	if err != nil {
		return DashboardSession{}, err
	}
	return DashboardSession{DashboardSession: ds}, nil
}

// LogoutDashboard ends the session of a cookie value.
func (s *Service) LogoutDashboard(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.store.DeleteDashboardSession(ctx, ids.Hash(token))
}

// ResetPartnerPassword sets a partner's dashboard password (as
// UpdatePartner does) and ends the partner's open dashboard sessions.
func (s *Service) ResetPartnerPassword(ctx context.Context, partnerID, password string) error {
	_, err := s.UpdatePartner(ctx, partnerID, PartnerPatch{Password: &password})
	return err
}
