package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/netguard"
)

// MaxCreditDays bounds one credit or debit by the operator.
const MaxCreditDays = 1_000_000

// CreatePartnerInput is what the operator gives to create a partner.
type CreatePartnerInput struct {
	Name      string
	Email     string
	Password  string // optional: dashboard login
	TrialDays *int   // optional: free days per new channel; nil = operator default
	Days      int64  // optional: initial balance, credited through the ledger
}

// CreatePartner validates the input, creates the partner with its default
// project and initial days, and returns it with its API token (shown once;
// only its hash is stored).
func (s *Service) CreatePartner(ctx context.Context, in CreatePartnerInput, actor string) (_ model.Partner, _ string, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "partner.create", After: audit.JSON(map[string]any{"name": in.Name, "email": in.Email, "days": in.Days, "trialDays": in.TrialDays})})
	defer done(&err)
	var p model.Partner
	if !partnerNameRE.MatchString(in.Name) {
		return p, "", invalid("name", "must be 1-64 characters of letters, digits, '_' or '-'")
	}
	email, err := checkEmail(in.Email)
	if err != nil {
		return p, "", err
	}
	trialDays := -1
	if in.TrialDays != nil {
		if *in.TrialDays < 0 || *in.TrialDays > 365 {
			return p, "", invalid("trial_days", "must be from 0 to 365")
		}
		trialDays = *in.TrialDays
	}
	if in.Days < 0 || in.Days > MaxCreditDays {
		return p, "", invalid("days", "must be from 0 to %d", MaxCreditDays)
	}
	var pwdHash string
	if in.Password != "" {
		if pwdHash, err = s.hashPassword(in.Password); err != nil {
			return p, "", err
		}
	}
	token := ids.PartnerToken()
	p = model.Partner{
		ID: ids.PartnerID(), Name: in.Name, Email: email, TrialDays: trialDays,
		CreatedAt: s.now(), TokenHash: ids.Hash(token), PasswordHash: pwdHash,
	}
	audit.SetPartner(ctx, p.ID)
	if err := s.store.CreatePartner(ctx, p, in.Days, actor); err != nil {
		return p, "", err
	}
	p.Balance = in.Days
	s.log.InfoContext(ctx, "partner created", "partner_id", p.ID, "name", p.Name, "days", in.Days, "actor", actor)
	return p, token, nil
}

func (s *Service) hashPassword(pw string) (string, error) {
	if len(pw) < 8 {
		return "", invalid("password", "must be at least 8 characters")
	}
	if len(pw) > 72 {
		return "", invalid("password", "must be at most 72 bytes")
	}
	cost := s.bcryptCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// dummyPasswordHash is a bcrypt hash at the service's cost, made once.
func (s *Service) dummyPasswordHash() string {
	s.dummyOnce.Do(func() {
		s.dummyHash, _ = s.hashPassword("not-a-password-" + ids.ChannelToken())
	})
	return s.dummyHash
}

// SetPartnerPassword sets a partner's dashboard password.
func (s *Service) SetPartnerPassword(ctx context.Context, partnerID, password string) error {
	h, err := s.hashPassword(password)
	if err != nil {
		return err
	}
	return s.setPasswordHash(ctx, partnerID, h)
}

// setPasswordHash stores a partner's new dashboard password and ends its
// dashboard sessions: whoever knew the old password is logged out.
func (s *Service) setPasswordHash(ctx context.Context, partnerID, hash string) (err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "partner.password", PartnerID: partnerID})
	defer done(&err)
	if err := s.store.SetPartnerPasswordHash(ctx, partnerID, hash); err != nil {
		return err
	}
	n, err := s.store.DeletePartnerSessions(ctx, partnerID)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "partner dashboard password set", "partner_id", partnerID, "sessions_ended", n)
	return nil
}

// PartnerPatch changes a partner's settings held by the operator. TrialDays
// null returns the partner to the operator default.
type PartnerPatch struct {
	TrialDays model.Optional[int] `json:"trial_days"`
	Password  *string             `json:"password"`
}

// UpdatePartner validates the whole patch, then applies it.
func (s *Service) UpdatePartner(ctx context.Context, partnerID string, p PartnerPatch) (_ model.Partner, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "partner.update", PartnerID: partnerID})
	defer done(&err)
	trialDays := -1
	if p.TrialDays.Value != nil {
		if *p.TrialDays.Value < 0 || *p.TrialDays.Value > 365 {
			return model.Partner{}, invalid("trial_days", "must be from 0 to 365, or null for the operator default")
		}
		trialDays = *p.TrialDays.Value
	}
	var pwdHash string
	if p.Password != nil {
		var err error
		if pwdHash, err = s.hashPassword(*p.Password); err != nil {
			return model.Partner{}, err
		}
	}
	cur, err := s.store.Partner(ctx, partnerID)
	if err != nil {
		return model.Partner{}, err
	}
	if p.TrialDays.Set {
		audit.Describe(ctx, map[string]any{"trialDays": cur.TrialDays}, map[string]any{"trialDays": trialDays})
		if err := s.store.SetPartnerTrialDays(ctx, partnerID, trialDays); err != nil {
			return model.Partner{}, err
		}
	}
	if p.Password != nil {
		if err := s.setPasswordHash(ctx, partnerID, pwdHash); err != nil {
			return model.Partner{}, err
		}
	}
	return s.store.Partner(ctx, partnerID)
}

// AuthenticatePartner returns the partner owning an API token. The lookup is
// by the token's SHA-256, and the stored hash is compared in constant time.
func (s *Service) AuthenticatePartner(ctx context.Context, token string) (model.Partner, error) {
	if token == "" {
		return model.Partner{}, model.ErrPartnerNotFound
	}
	h := ids.Hash(token)
	p, err := s.store.PartnerByTokenHash(ctx, h)
	if err != nil {
		return p, err
	}
	if subtle.ConstantTimeCompare([]byte(p.TokenHash), []byte(h)) != 1 {
		return model.Partner{}, model.ErrPartnerNotFound
	}
	return p, nil
}

// AuthenticatePartnerPassword checks a dashboard login.
func (s *Service) AuthenticatePartnerPassword(ctx context.Context, email, password string) (model.Partner, error) {
	p, err := s.store.PartnerByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return p, err
	}
	hash := p.PasswordHash
	if hash == "" {
		// Compare against a real hash so unknown emails take as long as known ones.
		hash = s.dummyPasswordHash()
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || p.PasswordHash == "" {
		return model.Partner{}, fmt.Errorf("wrong email or password: %w", model.ErrNotFound)
	}
	return p, nil
}

// RotatePartnerToken gives a partner a new API token; the old one stops working.
func (s *Service) RotatePartnerToken(ctx context.Context, partnerID string) (_ string, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "partner.token_rotate", PartnerID: partnerID})
	defer done(&err)
	token := ids.PartnerToken()
	if err := s.store.SetPartnerTokenHash(ctx, partnerID, ids.Hash(token)); err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "partner token rotated", "partner_id", partnerID)
	return token, nil
}

// Partner returns one partner.
func (s *Service) Partner(ctx context.Context, id string) (model.Partner, error) {
	return s.store.Partner(ctx, id)
}

// Partners lists partners.
func (s *Service) Partners(ctx context.Context, page Page) ([]model.Partner, int, error) {
	return s.store.Partners(ctx, page.Count, page.Offset)
}

// CreditDays credits (days > 0) or debits (days < 0) a partner's balance
// through the ledger and returns the new balance. A debit larger than the
// balance is ErrInsufficientDays and changes nothing.
func (s *Service) CreditDays(ctx context.Context, partnerID string, days int64, comment, actor string) (_ int64, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "partner.days", PartnerID: partnerID, After: audit.JSON(map[string]any{"delta": days, "comment": comment})})
	defer done(&err)
	if days == 0 || days > MaxCreditDays || days < -MaxCreditDays {
		return 0, invalid("days", "must be a non-zero whole number from -%d to %d", MaxCreditDays, MaxCreditDays)
	}
	if err := checkText("comment", comment, false, 500); err != nil {
		return 0, err
	}
	reason := model.ReasonCredit
	if days < 0 {
		reason = model.ReasonDebit
	}
	bal, err := s.store.AdjustBalance(ctx, partnerID, days, reason, comment, actor, s.now(), s.balanceHooks(ctx, partnerID)...)
	if err != nil {
		return bal, err
	}
	s.wake()
	s.log.InfoContext(ctx, "partner balance changed", "partner_id", partnerID, "delta", days, "balance", bal, "actor", actor)
	return bal, nil
}

// Ledger lists a partner's balance history, newest first.
func (s *Service) Ledger(ctx context.Context, partnerID string, page Page) ([]model.LedgerEntry, int, error) {
	if _, err := s.store.Partner(ctx, partnerID); err != nil {
		return nil, 0, err
	}
	return s.store.Ledger(ctx, partnerID, page.Count, page.Offset)
}

// PartnerSettings returns a partner's settings.
func (s *Service) PartnerSettings(ctx context.Context, partnerID string) (model.PartnerSettings, error) {
	return s.store.PartnerSettings(ctx, partnerID)
}

// PartnerSettingsPatch changes partner settings; nil fields stay.
type PartnerSettingsPatch struct {
	Webhooks *[]model.PartnerWebhook `json:"webhooks"`
	// DaysLimit null removes the limit.
	DaysLimit model.Optional[int64] `json:"days_limit"`
}

// PartnerEventTypes are the event types a partner webhook can subscribe to.
var PartnerEventTypes = []string{"days", "channel"}

// UpdatePartnerSettings validates and applies a patch, returning the result.
// On a rejected patch it returns the settings as stored, unchanged; the
// caller's patch is never modified.
func (s *Service) UpdatePartnerSettings(ctx context.Context, partnerID string, p PartnerSettingsPatch) (_ model.PartnerSettings, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "partner.settings_update", PartnerID: partnerID})
	defer done(&err)
	stored, err := s.store.PartnerSettings(ctx, partnerID)
	if err != nil {
		return stored, err
	}
	next := stored
	if p.Webhooks != nil {
		hooks := make([]model.PartnerWebhook, len(*p.Webhooks))
		copy(hooks, *p.Webhooks)
		if len(hooks) > 10 {
			return stored, invalid("webhooks", "at most 10 webhooks")
		}
		for i := range hooks {
			hooks[i].Events = append([]model.WebhookEvent(nil), hooks[i].Events...)
			if err := normalizePartnerWebhook(i, &hooks[i], s.allowPrivateHooks); err != nil {
				return stored, err
			}
			secret, err := keepSecret(fmt.Sprintf("webhooks[%d].secret", i), hooks[i].URL, hooks[i].Secret, func(url string) string {
				for _, h := range stored.Webhooks {
					if h.URL == url {
						return h.Secret
					}
				}
				return ""
			})
			if err != nil {
				return stored, err
			}
			hooks[i].Secret = secret
		}
		next.Webhooks = hooks
	}
	if p.DaysLimit.Set {
		if v := p.DaysLimit.Value; v != nil && (*v < 0 || *v > MaxCreditDays) {
			return stored, invalid("days_limit", "must be from 0 to %d, or null for none", MaxCreditDays)
		}
		next.DaysLimit = p.DaysLimit.Value
	}
	b, af := audit.Diff(partnerSettingsAudit(stored), partnerSettingsAudit(next))
	audit.Describe(ctx, b, af)
	if err := s.store.SetPartnerSettings(ctx, partnerID, next); err != nil {
		return stored, err
	}
	return next, nil
}

// normalizePartnerWebhook checks one webhook and fills its defaults (events:
// days by POST; mode: body). The URL must be absolute http(s) without
// credentials; address policy (private ranges) is enforced on delivery.
func normalizePartnerWebhook(i int, h *model.PartnerWebhook, allowPrivate bool) error {
	field := fmt.Sprintf("webhooks[%d]", i)
	if err := checkWebhookURL(field+".url", h.URL, allowPrivate); err != nil {
		return err
	}
	mode, err := checkWebhookMode(field+".mode", h.Mode)
	if err != nil {
		return err
	}
	h.Mode = mode
	if len(h.Events) == 0 {
		h.Events = []model.WebhookEvent{{Type: "days", Method: "post"}}
	}
	for j := range h.Events {
		e := &h.Events[j]
		ok := false
		for _, t := range PartnerEventTypes {
			ok = ok || e.Type == t
		}
		if !ok {
			return invalid(fmt.Sprintf("%s.events[%d].type", field, j), "must be one of %s", strings.Join(PartnerEventTypes, ", "))
		}
		if e.Method == "" {
			e.Method = "post"
		}
		if e.Method != "post" {
			return invalid(fmt.Sprintf("%s.events[%d].method", field, j), "must be post")
		}
	}
	return nil
}

// keepSecret checks a webhook secret (16 to 256 printable characters, or
// none); the redacted form keeps the secret of the stored webhook with the
// same URL.
func keepSecret(field, url, secret string, stored func(url string) string) (string, error) {
	if secret == model.RedactedSecret {
		old := stored(url)
		if old == "" {
			return "", invalid(field, "%q stands for a stored secret, but no webhook with this URL has one", secret)
		}
		return old, nil
	}
	if secret == "" {
		return "", nil
	}
	if n := len(secret); n < 16 || n > 256 {
		return "", invalid(field, "must be 16 to 256 characters")
	}
	for _, r := range secret {
		if r < 0x21 || r > 0x7e {
			return "", invalid(field, "must be printable ASCII without spaces")
		}
	}
	return secret, nil
}

// checkWebhookURL accepts an absolute http(s) URL without credentials. A
// host that is a private, loopback or link-local address (or localhost) is
// refused unless allowPrivate; names that resolve to such addresses are
// refused when delivering.
func checkWebhookURL(field, raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > 2048 {
		return invalid(field, "must be an absolute http:// or https:// URL")
	}
	if u.User != nil {
		return invalid(field, "must not contain credentials; use headers instead")
	}
	if err := netguard.CheckHost(u.Hostname(), allowPrivate); err != nil {
		var ne *netguard.Error
		if errors.As(err, &ne) {
			return invalid(field, "the host is %s; webhooks must reach a public address (the operator can allow private ones with WAGATE_WEBHOOK_ALLOW_PRIVATE=true)", ne.Class)
		}
		return invalid(field, "%v", err)
	}
	return nil
}

// checkWebhookMode returns the mode, body by default.
func checkWebhookMode(field, mode string) (string, error) {
	switch mode {
	case "":
		return "body", nil
	case "body", "path", "method":
		return mode, nil
	}
	return "", invalid(field, "must be body, path or method")
}

// LedgerAudit returns balance and ledger sum; they must be equal.
func (s *Service) LedgerAudit(ctx context.Context, partnerID string) (int64, int64, error) {
	return s.store.LedgerAudit(ctx, partnerID)
}

// Page is a validated window of a list.
type Page struct {
	Count  int
	Offset int
}

// partnerSettingsAudit is what the audit log shows of partner settings
// (webhook secrets and headers left out).
func partnerSettingsAudit(ps model.PartnerSettings) map[string]any {
	hooks := make([]map[string]any, len(ps.Webhooks))
	for i, h := range ps.Webhooks {
		hooks[i] = map[string]any{"url": h.URL, "events": h.Events}
	}
	return map[string]any{"daysLimit": ps.DaysLimit, "webhooks": hooks}
}
