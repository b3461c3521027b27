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

// LoginLimit bounds failed dashboard logins: at most PerIP failures from one
// address and PerAccount failures for one account (an email, or the
// operator) within Window. Past either, logins from there, or to that
// account, are refused until the oldest failure leaves the window.
type LoginLimit struct {
	PerIP      int
	PerAccount int
	Window     time.Duration
}

// DefaultLoginLimit is the limit used when a LoginLimit is zero.
var DefaultLoginLimit = LoginLimit{PerIP: 20, PerAccount: 5, Window: 15 * time.Minute}

// DashboardLogin is one attempt to log in to the dashboard.
type DashboardLogin struct {
	// Kind is store.SessionPartner (Email and Password) or
	// store.SessionOperator (Token, the admin token).
	Kind     string
	Email    string
	Password string
	Token    string
	// IP is the client's address, for the rate limit.
	IP string
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
}

// ErrBadLogin is a wrong email, password or token. It matches ErrNotFound.
var ErrBadLogin = fmt.Errorf("wrong email or password: %w", model.ErrNotFound)

// ErrBadAdminToken is a wrong operator token. It matches ErrNotFound.
var ErrBadAdminToken = fmt.Errorf("wrong operator token: %w", model.ErrNotFound)

// LoginDashboard checks the rate limit and the credentials, and opens a
// session. Failures count against the client's address and the account;
// a good login clears the account's count. Over the limit it is a
// *model.RateLimitError, and the credentials are not even checked.
func (s *Service) LoginDashboard(ctx context.Context, in DashboardLogin) (DashboardSession, error) {
	limit := in.Limit
	if limit.Window <= 0 || limit.PerIP <= 0 || limit.PerAccount <= 0 {
		limit = DefaultLoginLimit
	}
	if in.TTL <= 0 {
		return DashboardSession{}, invalid("ttl", "must be positive")
	}
	account := "account:operator"
	if in.Kind == store.SessionPartner {
		account = "account:" + strings.ToLower(strings.TrimSpace(in.Email))
	} else if in.Kind != store.SessionOperator {
		return DashboardSession{}, invalid("kind", "must be partner or operator")
	}
	keys := []struct {
		key string
		max int
	}{{"ip:" + in.IP, limit.PerIP}, {account, limit.PerAccount}}
	now := s.now()
	if _, err := s.store.PurgeDashboard(ctx, now, now.Add(-limit.Window)); err != nil {
		s.log.WarnContext(ctx, "purging dashboard sessions failed", "error", err)
	}
	for _, k := range keys {
		n, oldest, err := s.store.LoginFailures(ctx, k.key, now.Add(-limit.Window))
		if err != nil {
			return DashboardSession{}, err
		}
		if n >= k.max {
			wait := max(oldest.Add(limit.Window).Sub(now), time.Second)
			return DashboardSession{}, &model.RateLimitError{RetryAfter: wait,
				Message: fmt.Sprintf("too many failed logins; try again in %s", roundUp(wait))}
		}
	}
	partnerID, err := s.checkLogin(ctx, in)
	if errors.Is(err, model.ErrNotFound) {
		if rerr := s.store.RecordLoginFailure(ctx, now, keys[0].key, keys[1].key); rerr != nil {
			return DashboardSession{}, rerr
		}
		s.log.InfoContext(ctx, "dashboard login failed", "kind", in.Kind, "remote", in.IP)
		return DashboardSession{}, err
	}
	if err != nil {
		return DashboardSession{}, err
	}
	if err := s.store.ClearLoginFailures(ctx, account); err != nil {
		return DashboardSession{}, err
	}
	sess, err := s.newDashboardSession(ctx, in.Kind, partnerID, now, in.TTL)
	if err != nil {
		return sess, err
	}
	s.log.InfoContext(ctx, "dashboard login", "kind", in.Kind, "partner_id", partnerID, "remote", in.IP)
	return sess, nil
}

// checkLogin returns the partner ID of good credentials ("" for the
// operator), or an error matching ErrNotFound.
func (s *Service) checkLogin(ctx context.Context, in DashboardLogin) (string, error) {
	if in.Kind == store.SessionOperator {
		ok, err := s.AuthenticateAdmin(ctx, in.Token)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", ErrBadAdminToken
		}
		return "", nil
	}
	p, err := s.AuthenticatePartnerPassword(ctx, in.Email, in.Password)
	if errors.Is(err, model.ErrNotFound) {
		return "", ErrBadLogin
	}
	return p.ID, err
}

func roundUp(d time.Duration) string {
	if d <= time.Minute {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
}

func (s *Service) newDashboardSession(ctx context.Context, kind, partnerID string, now time.Time, ttl time.Duration) (DashboardSession, error) {
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
		TokenHash: ids.Hash(out.Token), Kind: kind, PartnerID: partnerID, CSRF: hex.EncodeToString(secret),
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
