package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/netguard"
)

// Hosted linking pages. A partner asks for a link to one channel; its
// customer opens it without logging in, sees the rotating QR code (or asks
// for a pairing code) and links a phone. The URL is
// {apiUrl}ui/link/{token}, token = ID.expiry.signature, the signature an
// HMAC-SHA256 of ID and expiry under a secret kept in the database. A link
// is refused (ErrNotFound, telling nothing) when forged, expired, revoked,
// when its channel is gone or stopped for good, and once the channel is
// linked unless the partner asked to keep it.

// Bounds of a linking page's time to live.
const (
	LinkPageDefaultTTL = 24 * time.Hour
	LinkPageMinTTL     = time.Minute
	LinkPageMaxTTL     = 30 * 24 * time.Hour
	// LinkPageAfterLink is how long a page that saw its phone linked still
	// answers its own status poll, so the open page can say "linked".
	LinkPageAfterLink = 2 * time.Minute
)

// LinkPagePath is where linking pages are served, under the API URL.
const LinkPagePath = "ui/link/"

// LinkPageInput is what a partner asks for.
type LinkPageInput struct {
	TTL           time.Duration // 0: LinkPageDefaultTTL
	KeepAfterLink bool
	Name          string // shown as the page's title
	LogoURL       string // https only, on a public host
	Color         string // #rrggbb
}

// IssuedLinkPage is a created linking page with its signed URL.
type IssuedLinkPage struct {
	model.LinkPage
	URL string
}

var brandColorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (in *LinkPageInput) check() error {
	if in.TTL == 0 {
		in.TTL = LinkPageDefaultTTL
	}
	if in.TTL < LinkPageMinTTL || in.TTL > LinkPageMaxTTL {
		return invalid("ttl", "must be between %d and %d seconds", int(LinkPageMinTTL.Seconds()), int(LinkPageMaxTTL.Seconds()))
	}
	in.Name = strings.TrimSpace(in.Name)
	if utf8.RuneCountInString(in.Name) > 100 || strings.ContainsAny(in.Name, "\x00\r\n") {
		return invalid("branding.name", "must be at most 100 characters on one line")
	}
	if in.Color != "" && !brandColorRE.MatchString(in.Color) {
		return invalid("branding.color", "must be a colour written #rrggbb")
	}
	in.Color = strings.ToLower(in.Color)
	if in.LogoURL != "" {
		u, err := url.Parse(in.LogoURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(in.LogoURL) > 2048 {
			return invalid("branding.logoUrl", "must be an https URL")
		}
		if err := netguard.CheckHost(u.Hostname(), false); err != nil {
			return invalid("branding.logoUrl", "must be on a public host (%v)", err)
		}
	}
	return nil
}

// CreateLinkPage issues a linking page for one of the partner's channels.
// A channel already linked is ErrConflict unless the page is kept after
// linking; a stopped or expired channel is refused as the QR code would be.
func (s *Service) CreateLinkPage(ctx context.Context, partnerID, channelID string, in LinkPageInput) (IssuedLinkPage, error) {
	if err := in.check(); err != nil {
		return IssuedLinkPage{}, err
	}
	ch, err := s.Channel(ctx, partnerID, channelID)
	if err != nil {
		return IssuedLinkPage{}, err
	}
	if err := s.CheckRunning(ch); err != nil {
		return IssuedLinkPage{}, err
	}
	if ch.Linked() && !in.KeepAfterLink {
		return IssuedLinkPage{}, fmt.Errorf("the channel is already linked to a phone (set keepAfterLink to share a page anyway): %w", model.ErrConflict)
	}
	now := s.now()
	if _, err := s.store.PruneLinkPages(ctx, now.Add(-LinkPageAfterLink)); err != nil {
		s.log.WarnContext(ctx, "pruning expired linking pages failed", "error", err)
	}
	p := model.LinkPage{ID: ids.ProjectID(), PartnerID: partnerID, ChannelID: ch.ID, CreatedAt: now,
		ExpiresAt: now.Add(in.TTL).Truncate(time.Second), KeepAfterLink: in.KeepAfterLink,
		BrandName: in.Name, BrandLogo: in.LogoURL, BrandColor: in.Color}
	tok, err := s.signLinkPage(ctx, p)
	if err != nil {
		return IssuedLinkPage{}, err
	}
	if err := s.store.PutLinkPage(ctx, p); err != nil {
		return IssuedLinkPage{}, err
	}
	return IssuedLinkPage{LinkPage: p, URL: s.APIURL() + LinkPagePath + tok}, nil
}

// RevokeLinkPage revokes one of the partner's linking pages of a channel;
// the page answers 404 from then on.
func (s *Service) RevokeLinkPage(ctx context.Context, partnerID, channelID, id string) error {
	if _, err := s.Channel(ctx, partnerID, channelID); err != nil {
		return err
	}
	p, err := s.store.LinkPage(ctx, id)
	if errors.Is(err, model.ErrNotFound) || (err == nil && (p.PartnerID != partnerID || p.ChannelID != channelID)) {
		return fmt.Errorf("no such linking page: %w", model.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if p.RevokedAt.IsZero() {
		p.RevokedAt = s.now()
		return s.store.PutLinkPage(ctx, p)
	}
	return nil
}

// LinkPageUse says what a request to a linking page wants.
type LinkPageUse int

// Uses of a linking page.
const (
	// LinkPageView is the page itself or a pairing code: refused once the
	// channel is linked (unless kept).
	LinkPageView LinkPageUse = iota
	// LinkPagePoll is the page's status poll: it still answers for
	// LinkPageAfterLink after the link, so the open page says "linked".
	LinkPagePoll
)

// OpenLinkPage checks a linking page's token and returns the page and its
// channel. Every refusal is the same ErrNotFound.
func (s *Service) OpenLinkPage(ctx context.Context, token string, use LinkPageUse) (model.LinkPage, model.Channel, error) {
	gone := fmt.Errorf("no such linking page: %w", model.ErrNotFound)
	id, exp, sig, ok := splitLinkToken(token)
	if !ok {
		return model.LinkPage{}, model.Channel{}, gone
	}
	key, err := s.store.LinkPageSecret(ctx)
	if err != nil {
		return model.LinkPage{}, model.Channel{}, err
	}
	if !hmac.Equal(sig, linkPageMAC(key, id, exp)) {
		return model.LinkPage{}, model.Channel{}, gone
	}
	now := s.now()
	if !now.Before(time.Unix(exp, 0)) {
		return model.LinkPage{}, model.Channel{}, gone
	}
	p, err := s.store.LinkPage(ctx, id)
	if errors.Is(err, model.ErrNotFound) {
		return model.LinkPage{}, model.Channel{}, gone
	}
	if err != nil {
		return model.LinkPage{}, model.Channel{}, err
	}
	if !p.RevokedAt.IsZero() || p.ExpiresAt.Unix() != exp {
		return model.LinkPage{}, model.Channel{}, gone
	}
	ch, err := s.Channel(ctx, p.PartnerID, p.ChannelID)
	if errors.Is(err, model.ErrNotFound) {
		return model.LinkPage{}, model.Channel{}, gone
	}
	if err != nil {
		return model.LinkPage{}, model.Channel{}, err
	}
	if ch.Linked() && !p.KeepAfterLink {
		if p.LinkedAt.IsZero() {
			p.LinkedAt = now
			if err := s.store.PutLinkPage(ctx, p); err != nil {
				return model.LinkPage{}, model.Channel{}, err
			}
		}
		if use != LinkPagePoll || now.Sub(p.LinkedAt) > LinkPageAfterLink {
			return model.LinkPage{}, model.Channel{}, gone
		}
	}
	return p, ch, nil
}

// signLinkPage returns a page's token: ID.expiry.signature.
func (s *Service) signLinkPage(ctx context.Context, p model.LinkPage) (string, error) {
	key, err := s.store.LinkPageSecret(ctx)
	if err != nil {
		return "", err
	}
	exp := p.ExpiresAt.Unix()
	return p.ID + "." + strconv.FormatInt(exp, 10) + "." + base64.RawURLEncoding.EncodeToString(linkPageMAC(key, p.ID, exp)), nil
}

func linkPageMAC(key []byte, id string, exp int64) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("wagate link page\x00" + id + "\x00" + strconv.FormatInt(exp, 10)))
	return m.Sum(nil)
}

func splitLinkToken(tok string) (id string, exp int64, sig []byte, ok bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] == "" || len(parts[0]) > 64 {
		return "", 0, nil, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || exp <= 0 {
		return "", 0, nil, false
	}
	sig, err = base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != sha256.Size {
		return "", 0, nil, false
	}
	return parts[0], exp, sig, true
}

// LinkPages lists a channel's linking pages that still work (not expired,
// not revoked), newest first, each with its URL.
func (s *Service) LinkPages(ctx context.Context, partnerID, channelID string) ([]IssuedLinkPage, error) {
	ch, err := s.Channel(ctx, partnerID, channelID)
	if err != nil {
		return nil, err
	}
	all, err := s.store.LinkPages(ctx, partnerID, ch.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []IssuedLinkPage
	for _, p := range all {
		if !p.RevokedAt.IsZero() || !now.Before(p.ExpiresAt) || (ch.Linked() && !p.KeepAfterLink) {
			continue
		}
		tok, err := s.signLinkPage(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, IssuedLinkPage{LinkPage: p, URL: s.APIURL() + LinkPagePath + tok})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}
