// Package service holds wagate's use-cases: validation, tenancy and
// orchestration shared by the JSON APIs, the dashboard and the CLI. Handlers
// reach the store only through it.
package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/blob"
	"github.com/wagate/wagate/internal/convert"
	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/store"
)

// Service is the use-case layer. It is safe for concurrent use.
type Service struct {
	store  *store.Store
	rt     *runtime.Manager // nil in one-shot commands: channels are not run
	now    func() time.Time
	log    *slog.Logger
	apiURL atomic.Pointer[string] // SetAPIURL replaces it once the server listens
	// bcryptCost is lowered by tests.
	bcryptCost int

	dummyOnce sync.Once
	dummyHash string

	probeProxy func(ctx context.Context, proxyURL string) error

	mediaDir     string
	blobs        blob.Store // where media files are kept
	mediaTTL     time.Duration
	fetch        *http.Client
	early        earlyReceipts
	receipts     statusBatcher
	inserts      insertBatcher
	downloads    chan struct{} // bounds concurrent media downloads
	historyWake  chan struct{} // a history chunk was queued (history.go)
	history      historyWorker
	fetching     inflight   // received files being fetched (mediafetch.go)
	labelLocks   labelLocks // one label creation at a time per channel (labels.go)
	conv         *convert.Converter
	allowPrivate bool
	// allowPrivateHooks lets webhooks point to private addresses.
	allowPrivateHooks bool
	// allowPrivateProxies lets partners and channels choose proxies at
	// private addresses.
	allowPrivateProxies bool
	lookupHost          func(ctx context.Context, host string) ([]string, error)

	notify      func()
	version     string
	channelView func(model.Channel) any
	sendTest    func(context.Context, model.WebhookDelivery) (model.WebhookAttempt, error)
	partnerView func(model.Partner) any

	// cache keeps short-lived copies of rows read on every request and
	// event (cache.go).
	cache *readCache

	sentRetention time.Duration
	metrics       Metrics
	orphans       atomic.Int64
	// cluster is set in cluster mode (SetCluster); runnable and applyQueue
	// serve it (cluster.go).
	cluster      atomic.Pointer[Cluster]
	clusterStart func(context.Context) error
	runnable     runnableCache
	sweep        orphanSweep
	applyQueue   *idQueue
}

// Options configure a Service.
type Options struct {
	// APIURL is the public base URL channels report as apiUrl.
	APIURL string
	// Now is the clock; time.Now when nil. Tests pass a fake clock.
	Now func() time.Time
	// BcryptCost for partner passwords; bcrypt.DefaultCost when 0.
	BcryptCost int
	// Runtime runs channels; nil where nothing runs (one-shot commands).
	Runtime *runtime.Manager
	// ProbeProxy checks a pool proxy answers before it is assigned; a TCP
	// dial to its host by default.
	ProbeProxy func(ctx context.Context, proxyURL string) error
	// MediaDir holds media files (uploads and received media); media calls
	// fail without it.
	MediaDir string
	// Media is where media files are kept; nil: in MediaDir (uploads are
	// spooled in MediaDir in any case).
	Media blob.Store
	// FFmpeg is the ffmpeg binary for media conversions ("" from PATH,
	// "off" none; convert.Options.FFmpeg).
	FFmpeg string
	// MediaTTL is how long media files are kept (30 days by default).
	MediaTTL time.Duration
	// AllowPrivateURLs lets media be fetched from private, loopback and
	// link-local addresses (tests, closed networks).
	AllowPrivateURLs bool
	// AllowPrivateWebhooks lets webhook URLs point to private, loopback and
	// link-local addresses (WAGATE_WEBHOOK_ALLOW_PRIVATE; tests).
	AllowPrivateWebhooks bool
	// AllowPrivateProxies lets partners and channels set proxies at
	// private, loopback and link-local addresses (WAGATE_PROXY_ALLOW_PRIVATE);
	// the operator's pool may always hold them.
	AllowPrivateProxies bool
	// LookupHost resolves proxy host names when they are set
	// (net.DefaultResolver by default; tests).
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// Notify wakes the webhook dispatcher after deliveries are committed.
	Notify func()
	// Version is wagate's version, shown in channel health events.
	Version string
	// ChannelView shows a channel as the partner API does, for partner
	// webhooks (without its token).
	ChannelView func(model.Channel) any
	// SendTest makes one webhook attempt outside the outbox (the
	// dispatcher's Send), for POST /settings/webhook_test.
	SendTest func(context.Context, model.WebhookDelivery) (model.WebhookAttempt, error)
	// PartnerView shows a partner as the partner API does, for partner
	// webhooks.
	PartnerView func(model.Partner) any
	// SentRetention is how long sent messages are kept for retry receipts
	// (7 days by default).
	SentRetention time.Duration
	// Metrics counts sends and received messages; nil counts nothing.
	Metrics Metrics
}

// New builds a Service over an open, migrated store.
func New(st *store.Store, log *slog.Logger, o Options) *Service {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	probe := o.ProbeProxy
	if probe == nil {
		probe = dialProxy
	}
	ttl := o.MediaTTL
	if ttl <= 0 {
		ttl = 30 * 24 * time.Hour
	}
	s := &Service{store: st, rt: o.Runtime, now: func() time.Time { return now().UTC() }, log: log,
		bcryptCost: o.BcryptCost, probeProxy: probe,
		mediaDir: o.MediaDir, mediaTTL: ttl, fetch: newFetchClient(o.AllowPrivateURLs), allowPrivate: o.AllowPrivateURLs, allowPrivateHooks: o.AllowPrivateWebhooks,
		notify: o.Notify, version: o.Version, channelView: o.ChannelView, sendTest: o.SendTest, partnerView: o.PartnerView,
		early: earlyReceipts{m: map[string]earlyReceipt{}}, downloads: make(chan struct{}, 4), historyWake: make(chan struct{}, 1)}
	s.SetAPIURL(o.APIURL)
	s.allowPrivateProxies, s.lookupHost = o.AllowPrivateProxies, o.LookupHost
	s.conv = convert.New(convert.Options{FFmpeg: o.FFmpeg, MaxInput: MaxMediaSize})
	if s.lookupHost == nil {
		s.lookupHost = net.DefaultResolver.LookupHost
	}
	s.blobs = o.Media
	if s.blobs == nil && o.MediaDir != "" {
		s.blobs = blob.NewDir(o.MediaDir)
	}
	s.cache = newReadCache(s.now)
	s.metrics = o.Metrics
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	s.applyQueue = newIDQueue()
	s.sentRetention = o.SentRetention
	if s.sentRetention <= 0 {
		s.sentRetention = 7 * 24 * time.Hour
	}
	if st != nil { // nil in tests of parts that use no database
		st.OnChange(s.cache.invalidate)
	}
	return s
}

// Now is the service clock.
func (s *Service) Now() time.Time { return s.now() }

// APIURL is the base URL channels report.
func (s *Service) APIURL() string {
	if u := s.apiURL.Load(); u != nil {
		return *u
	}
	return ""
}

// SetAPIURL replaces the base URL channels report: the server calls it once
// it knows the address it listens on (an ephemeral port is known only then).
func (s *Service) SetAPIURL(u string) { s.apiURL.Store(&u) }

// Store exposes the store for composition (readiness checks, the CLI).
func (s *Service) Store() *store.Store { return s.store }

// FieldError is bad input in one named field. It matches model.ErrInvalid.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string        { return e.Field + ": " + e.Message }
func (e *FieldError) Is(target error) bool { return target == model.ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

var partnerNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// checkText validates a required or optional human-readable text field.
func checkText(field, v string, required bool, maxRunes int) error {
	if required && strings.TrimSpace(v) == "" {
		return invalid(field, "is required")
	}
	if !utf8.ValidString(v) {
		return invalid(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(v); n > maxRunes {
		return invalid(field, "must be at most %d characters (got %d)", maxRunes, n)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return invalid(field, "must not contain control characters")
		}
		// Bidirectional overrides and isolates can make a name display as
		// something else (e.g. in the dashboard or an exported file).
		if (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return invalid(field, "must not contain bidirectional control characters")
		}
	}
	return nil
}

func checkEmail(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", invalid("email", "is required")
	}
	addr, err := mail.ParseAddress(v)
	if err != nil || addr.Address != v || len(v) > 254 {
		return "", invalid("email", "must be a plain address like name@example.com")
	}
	return strings.ToLower(v), nil
}

// AuthenticateAdmin reports whether token is the operator token. Both sides
// are hashed first, so the comparison is constant-time over equal lengths.
func (s *Service) AuthenticateAdmin(ctx context.Context, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	want, ok, err := s.store.AdminTokenHash(ctx)
	if err != nil || !ok {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(ids.Hash(token)), []byte(want)) == 1, nil
}

// EnsureAdminToken makes sure an operator token exists. If configured is set,
// its hash replaces the stored one and "" is returned. Otherwise, on the first
// start, a token is generated, only its hash stored, and the token returned
// so the caller can print it once; later starts return "".
func (s *Service) EnsureAdminToken(ctx context.Context, configured string) (generated string, err error) {
	if configured != "" {
		if len(configured) < 16 {
			return "", errors.New("WAGATE_ADMIN_TOKEN must be at least 16 characters")
		}
		if err := s.store.SetAdminTokenHash(ctx, ids.Hash(configured)); err != nil {
			return "", err
		}
		return "", s.store.SetAdminTokenPinned(ctx, true)
	}
	if err := s.store.SetAdminTokenPinned(ctx, false); err != nil {
		return "", err
	}
	if _, ok, err := s.store.AdminTokenHash(ctx); err != nil || ok {
		return "", err
	}
	token := ids.AdminToken()
	stored, err := s.store.InitAdminTokenHash(ctx, ids.Hash(token))
	if err != nil || !stored {
		return "", err
	}
	return token, nil
}

// ErrAdminTokenPinned refuses to rotate an operator token that
// WAGATE_ADMIN_TOKEN sets: the next start would put it back.
var ErrAdminTokenPinned = fmt.Errorf("the operator token is pinned by WAGATE_ADMIN_TOKEN: %w", model.ErrConflict)

// RotateAdminToken replaces the operator token and returns the new one.
// It is ErrAdminTokenPinned when the server last started with
// WAGATE_ADMIN_TOKEN.
func (s *Service) RotateAdminToken(ctx context.Context) (_ string, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "operator.token_rotate"})
	defer done(&err)
	if pinned, err := s.store.AdminTokenPinned(ctx); err != nil {
		return "", err
	} else if pinned {
		return "", ErrAdminTokenPinned
	}
	token := ids.AdminToken()
	if err := s.store.SetAdminTokenHash(ctx, ids.Hash(token)); err != nil {
		return "", err
	}
	return token, nil
}

// OperatorSettings returns the operator's settings.
func (s *Service) OperatorSettings(ctx context.Context) (model.OperatorSettings, error) {
	return s.operatorSettings(ctx)
}

// OperatorSettingsPatch changes some operator settings; nil fields stay.
type OperatorSettingsPatch struct {
	TrialDays             *int `json:"trial_days"`
	ChannelCreateLimit    *int `json:"channel_create_limit"`
	ChannelCreateWindow   *int `json:"channel_create_window_minutes"`
	LimitMessagesPerDay   *int `json:"limit_messages_per_day"`
	LimitChatsPerMonth    *int `json:"limit_chats_per_month"`
	LimitChecksPerDay     *int `json:"limit_checks_per_day"`
	LimitRequestsPerMonth *int `json:"limit_requests_per_month"`
	RetentionPatch
}

// UpdateOperatorSettings validates and applies a patch. On a rejected patch
// it returns the settings as stored, unchanged.
func (s *Service) UpdateOperatorSettings(ctx context.Context, p OperatorSettingsPatch) (_ model.OperatorSettings, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "settings.update"})
	defer done(&err)
	stored, err := s.store.OperatorSettings(ctx)
	if err != nil {
		return stored, err
	}
	next, err := applyOperatorPatch(stored, p)
	if err != nil {
		return stored, err
	}
	b, af := audit.Diff(audit.Fields(stored), audit.Fields(next))
	audit.Describe(ctx, b, af)
	return next, s.store.SetOperatorSettings(ctx, next)
}

func applyOperatorPatch(cur model.OperatorSettings, p OperatorSettingsPatch) (model.OperatorSettings, error) {
	if p.TrialDays != nil {
		if *p.TrialDays < 0 || *p.TrialDays > 365 {
			return cur, invalid("trial_days", "must be from 0 to 365")
		}
		cur.TrialDays = *p.TrialDays
	}
	if p.ChannelCreateLimit != nil {
		if *p.ChannelCreateLimit < 0 || *p.ChannelCreateLimit > 1_000_000 {
			return cur, invalid("channel_create_limit", "must be from 0 (no limit) to 1000000")
		}
		cur.ChannelCreateLimit = *p.ChannelCreateLimit
	}
	if p.ChannelCreateWindow != nil {
		if *p.ChannelCreateWindow < 1 || *p.ChannelCreateWindow > 7*24*60 {
			return cur, invalid("channel_create_window_minutes", "must be from 1 to 10080")
		}
		cur.ChannelCreateWindow = *p.ChannelCreateWindow
	}
	for _, l := range []struct {
		field string
		in    *int
		out   *int
	}{
		{"limit_messages_per_day", p.LimitMessagesPerDay, &cur.LimitMessagesPerDay},
		{"limit_chats_per_month", p.LimitChatsPerMonth, &cur.LimitChatsPerMonth},
		{"limit_checks_per_day", p.LimitChecksPerDay, &cur.LimitChecksPerDay},
		{"limit_requests_per_month", p.LimitRequestsPerMonth, &cur.LimitRequestsPerMonth},
	} {
		if l.in == nil {
			continue
		}
		if *l.in < 0 || *l.in > 10_000_000 {
			return cur, invalid(l.field, "must be from 0 to 10000000")
		}
		*l.out = *l.in
	}
	if err := p.RetentionPatch.apply(&cur.Retention); err != nil {
		return cur, err
	}
	return cur, nil
}
