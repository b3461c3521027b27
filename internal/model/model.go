// Package model holds wagate's domain types and sentinel errors. It imports
// nothing but the standard library, so every other package can depend on it.
package model

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors shared by the store, the services and the HTTP surfaces.
// Services wrap them with details (fmt.Errorf("...: %w", ErrNotFound)); the
// HTTP layer maps them to statuses with errors.Is.
var (
	ErrNotFound         = errors.New("not found")
	ErrConflict         = errors.New("conflict")
	ErrInsufficientDays = errors.New("insufficient days")
	ErrInvalid          = errors.New("invalid input")
	ErrRateLimited      = errors.New("rate limited")
	ErrForbidden        = errors.New("forbidden")
	ErrExpired          = errors.New("channel expired")
	// ErrStopped: the channel was stopped by its partner.
	ErrStopped = errors.New("channel is stopped; start it first")
	// ErrNotLoggedIn: the channel has no linked WhatsApp account.
	ErrNotLoggedIn = errors.New("channel is not logged in to WhatsApp")
	// ErrUpstream: WhatsApp (or the engine) failed to do what was asked.
	ErrUpstream = errors.New("WhatsApp did not complete the request")
	// ErrUnavailable: a resource the request needs is not available now.
	ErrUnavailable = errors.New("unavailable")
	// ErrLimitExceeded: a trial or Sandbox channel used up one of its limits.
	ErrLimitExceeded = errors.New("limit exceeded")
	// ErrTooLarge: a file or body is over its size limit.
	ErrTooLarge = errors.New("too large")
	// ErrUnsupportedMedia: a file's type is not accepted where it was sent.
	ErrUnsupportedMedia = errors.New("unsupported media type")
	// ErrNotImplemented: the running engine cannot do this.
	ErrNotImplemented = errors.New("not implemented")
	// ErrIdempotencyKeyTaken: another request recorded the same
	// Idempotency-Key first; this one changed nothing.
	ErrIdempotencyKeyTaken = errors.New("the Idempotency-Key was taken by another request")
)

// Not-found errors naming what is missing; each matches ErrNotFound.
var (
	ErrPartnerNotFound = fmt.Errorf("partner %w", ErrNotFound)
	ErrChannelNotFound = fmt.Errorf("channel %w", ErrNotFound)
	ErrProjectNotFound = fmt.Errorf("project %w", ErrNotFound)
)

// RateLimitError says a limit was reached and when to try again. It matches
// ErrRateLimited.
type RateLimitError struct {
	RetryAfter time.Duration
	Message    string
}

func (e *RateLimitError) Error() string        { return e.Message + ": " + ErrRateLimited.Error() }
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// Mode is a channel's billing mode.
type Mode string

// Channel modes. Trial and Dev carry usage limits; Live has none.
const (
	ModeTrial Mode = "trial"
	ModeDev   Mode = "dev"
	ModeLive  Mode = "live"
	// ModeDevArchive is a Sandbox channel put away: it keeps its data,
	// settings and WhatsApp link but does not run (no connection, gate
	// calls that need it are 409) until it is switched back to another
	// mode. Its days run on as they do for a stopped channel.
	ModeDevArchive Mode = "dev_archive"
)

// Valid reports whether m is one of the modes wagate accepts.
func (m Mode) Valid() bool {
	switch m {
	case ModeTrial, ModeDev, ModeLive, ModeDevArchive:
		return true
	}
	return false
}

// BillingLabel is how the mode is shown to people (CSV export, dashboard).
func (m Mode) BillingLabel() string {
	switch m {
	case ModeTrial:
		return "Trial"
	case ModeDev:
		return "Sandbox (dev)"
	case ModeLive:
		return "Live"
	case ModeDevArchive:
		return "Sandbox (archived)"
	}
	return string(m)
}

// Partner is a reseller that buys days from the operator and creates channels.
type Partner struct {
	ID        string
	Name      string
	Email     string
	Balance   int64 // days
	TrialDays int   // free days each new channel gets; -1 means "operator default"
	CreatedAt time.Time
	// TokenHash and PasswordHash are never serialised to clients.
	TokenHash    string // hex SHA-256 of the API token
	PasswordHash string // bcrypt; empty when the partner has no dashboard password
}

// Project groups a partner's channels. Every partner has the project "default".
type Project struct {
	ID        string
	PartnerID string
	Name      string
	CreatedAt time.Time
}

// DefaultProjectID is the ID of the project every partner starts with.
const DefaultProjectID = "default"

// Channel is one WhatsApp number of one of a partner's customers.
type Channel struct {
	ID         string
	PartnerID  string
	ProjectID  string
	Name       string
	Phone      string
	Token      string
	Mode       Mode
	CreatedAt  time.Time
	TrialUntil time.Time // end of the free trial; equal to CreatedAt when there was none
	ActiveTill time.Time
	Stopped    bool // stopped by the partner (start/stop), independent of expiry
	// ExpiredAt is set by the expiry sweep when the channel ran out of days and
	// cleared by an extend; it records that expiry was acted upon.
	ExpiredAt *time.Time

	// The linked WhatsApp device (engine-specific identity) and account;
	// empty until a phone links the channel.
	Device   string
	WAPhone  string
	WAName   string
	LinkedAt *time.Time
	// Proxy is the channel's proxy URL, empty for a direct connection.
	Proxy string
}

// Linked reports whether a WhatsApp account is linked to the channel.
func (c *Channel) Linked() bool { return c.Device != "" }

// Expired reports whether the channel has no active time left at now.
func (c *Channel) Expired(now time.Time) bool { return !now.Before(c.ActiveTill) }

// Running reports whether the channel should be connected at now.
func (c *Channel) Running(now time.Time) bool {
	return !c.Stopped && !c.Expired(now) && c.Mode != ModeDevArchive
}

// Status is the channel's billing state as shown in the partner API.
func (c *Channel) Status(now time.Time) string {
	switch {
	case c.Expired(now):
		return "expired"
	case c.Stopped:
		return "stopped"
	case c.Mode == ModeDevArchive:
		return "archived"
	}
	return "active"
}

// LedgerReason says why a balance changed.
type LedgerReason string

// Ledger reasons.
const (
	ReasonCredit       LedgerReason = "credit"        // operator added days
	ReasonDebit        LedgerReason = "debit"         // operator removed days
	ReasonExtend       LedgerReason = "extend"        // days moved to a channel
	ReasonRefundStop   LedgerReason = "refund_stop"   // unused days returned on stop
	ReasonRefundDelete LedgerReason = "refund_delete" // unused days returned on delete
)

// LedgerEntry is one append-only row of a partner's balance history.
type LedgerEntry struct {
	ID           int64
	PartnerID    string
	ChannelID    string // empty when not about a channel
	Delta        int64  // days, positive credits the balance
	BalanceAfter int64
	Reason       LedgerReason
	Comment      string
	Actor        string
	CreatedAt    time.Time
}

// PartnerWebhook is a partner-level webhook target.
type PartnerWebhook struct {
	URL    string         `json:"url"`
	Events []WebhookEvent `json:"events"`
	Mode   string         `json:"mode"`
	// Secret signs deliveries (HMAC-SHA256); answers show RedactedSecret.
	Secret string `json:"secret,omitempty"`
}

// Redacted is the settings as answers show them: webhook secrets hidden.
func (s PartnerSettings) Redacted() PartnerSettings {
	hooks := make([]PartnerWebhook, len(s.Webhooks))
	for i, h := range s.Webhooks {
		if h.Secret != "" {
			h.Secret = RedactedSecret
		}
		hooks[i] = h
	}
	s.Webhooks = hooks
	return s
}

// WebhookEvent selects an event type and the HTTP method used to deliver it.
type WebhookEvent struct {
	Type   string `json:"type"`
	Method string `json:"method"`
}

// PartnerSettings are the partner's own settings (webhooks for partner events).
type PartnerSettings struct {
	Webhooks  []PartnerWebhook `json:"webhooks"`
	DaysLimit *int64           `json:"days_limit,omitempty"`
}

// DefaultDaysLimit is the days_limit of a partner that set none: Whapi's
// "days" event fires when fewer than 7 days remain.
const DefaultDaysLimit int64 = 7

// EffectiveDaysLimit is the partner's days_limit, or DefaultDaysLimit when
// it set none.
func (s PartnerSettings) EffectiveDaysLimit() int64 {
	if s.DaysLimit != nil {
		return *s.DaysLimit
	}
	return DefaultDaysLimit
}

// OperatorSettings are the operator's knobs, stored in the database.
type OperatorSettings struct {
	TrialDays           int `json:"trial_days"`           // free days for new channels
	ChannelCreateLimit  int `json:"channel_create_limit"` // per window; 0 = unlimited
	ChannelCreateWindow int `json:"channel_create_window_minutes"`
	// Limits of trial and dev (sandbox) channels; live channels have none.
	LimitMessagesPerDay   int `json:"limit_messages_per_day"`
	LimitChatsPerMonth    int `json:"limit_chats_per_month"`
	LimitChecksPerDay     int `json:"limit_checks_per_day"`
	LimitRequestsPerMonth int `json:"limit_requests_per_month"`
	// Retention of every channel's data, in days (0: kept until deleted,
	// and delivered webhook records for the server's default); a channel's
	// own settings may say otherwise.
	Retention
}

// Retention says how long a channel's stored data is kept, in days; 0
// sets no limit of its own (a channel's 0: the operator's setting).
// Pruning runs in the background, in small batches.
type Retention struct {
	// RetainMessagesDays: messages older than that are deleted.
	RetainMessagesDays int `json:"retain_messages_days"`
	// RetainMediaDays: stored media files older than that are deleted.
	RetainMediaDays int `json:"retain_media_days"`
	// RetainWebhookDays: finished (delivered, dropped, failed) webhook
	// deliveries and their attempts older than that are deleted.
	RetainWebhookDays int `json:"retain_webhook_records_days"`
}

// MaxRetentionDays bounds every retention setting (10 years).
const MaxRetentionDays = 3650

// Over is r with the zero fields taken from base: a channel's retention
// over the operator's.
func (r Retention) Over(base Retention) Retention {
	if r.RetainMessagesDays == 0 {
		r.RetainMessagesDays = base.RetainMessagesDays
	}
	if r.RetainMediaDays == 0 {
		r.RetainMediaDays = base.RetainMediaDays
	}
	if r.RetainWebhookDays == 0 {
		r.RetainWebhookDays = base.RetainWebhookDays
	}
	return r
}

// DefaultOperatorSettings are used until the operator changes them.
func DefaultOperatorSettings() OperatorSettings {
	return OperatorSettings{
		TrialDays: 5, ChannelCreateLimit: 20, ChannelCreateWindow: 30,
		LimitMessagesPerDay: 150, LimitChatsPerMonth: 5, LimitChecksPerDay: 100, LimitRequestsPerMonth: 1000,
	}
}
