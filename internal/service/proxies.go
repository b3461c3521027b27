package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/netguard"
	"github.com/wagate/wagate/internal/store"
)

// MaxProxies bounds the operator's pool.
const MaxProxies = 1000

// checkProxy validates a proxy URL: socks5://, http:// or https:// with a
// host and a port, credentials optional. "" means a direct connection.
// socks5h is refused: WhatsApp's client resolves names itself.
func checkProxy(field, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", invalid(field, "must be a proxy URL like socks5://user:password@host:port")
	}
	switch u.Scheme {
	case "socks5", "http", "https":
	case "socks5h":
		return "", invalid(field, "socks5h is not supported; use socks5://")
	default:
		return "", invalid(field, "scheme must be socks5, http or https")
	}
	if port, err := strconv.Atoi(u.Port()); err != nil || port < 1 || port > 65535 {
		return "", invalid(field, "port must be 1-65535")
	}
	u.Path = ""
	return u.String(), nil
}

// RedactProxy hides a proxy URL's password, for showing and logging.
func RedactProxy(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// dialProxy checks that a proxy accepts TCP connections.
func dialProxy(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return err
	}
	return conn.Close()
}

// Proxies lists the operator's proxy pool.
func (s *Service) Proxies(ctx context.Context) ([]store.Proxy, error) {
	return s.store.Proxies(ctx)
}

// ReplaceProxies validates and stores the operator's whole proxy pool.
func (s *Service) ReplaceProxies(ctx context.Context, urls []string) (_ []store.Proxy, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "proxies.replace"})
	defer done(&err)
	if len(urls) > MaxProxies {
		return nil, invalid("proxies", "at most %d proxies", MaxProxies)
	}
	seen := map[string]bool{}
	clean := make([]string, 0, len(urls))
	for i, raw := range urls {
		u, err := checkProxy(fmt.Sprintf("proxies[%d]", i), raw)
		if err != nil {
			return nil, err
		}
		if u == "" {
			return nil, invalid(fmt.Sprintf("proxies[%d]", i), "must not be empty")
		}
		if !seen[u] {
			seen[u] = true
			clean = append(clean, u)
		}
	}
	shown := make([]string, len(clean))
	for i, u := range clean {
		shown[i] = redactProxy(u)
	}
	audit.Describe(ctx, nil, map[string]any{"proxies": shown})
	if err := s.store.ReplaceProxies(ctx, clean, s.now()); err != nil {
		return nil, err
	}
	return s.store.Proxies(ctx)
}

// checkProxyAddress applies the webhook and media address rule to a proxy a
// partner or a channel chooses: its host must be public (a literal address,
// and every address a name resolves to now; the engine checks what it
// dials) unless the operator allows private proxies, or it is one of the
// operator's pool. Errors name the address class, never what a name
// resolved to.
func (s *Service) checkProxyAddress(ctx context.Context, field, proxy string) error {
	if proxy == "" {
		return nil
	}
	if pool, err := s.store.Proxies(ctx); err == nil {
		for _, p := range pool {
			if p.URL == proxy {
				return nil // the operator's own choice
			}
		}
	}
	u, err := url.Parse(proxy)
	if err != nil {
		return invalid(field, "must be a proxy URL like socks5://user:password@host:port")
	}
	const allow = "the operator can allow private ones with WAGATE_PROXY_ALLOW_PRIVATE=true"
	host := u.Hostname()
	if err := netguard.CheckHost(host, s.allowPrivateProxies); err != nil {
		var ne *netguard.Error
		if errors.As(err, &ne) {
			return invalid(field, "the host is %s; a proxy must be a public address (%s)", ne.Class, allow)
		}
		return invalid(field, "%v", err)
	}
	if _, err := netip.ParseAddr(host); err == nil || s.allowPrivateProxies {
		return nil // a public literal
	}
	lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := s.lookupHost(lctx, host)
	if err != nil || len(addrs) == 0 {
		return invalid(field, "the proxy's host name does not resolve")
	}
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return invalid(field, "the proxy's host name does not resolve to an address")
		}
		if c := netguard.Class(ip); c != "" {
			return invalid(field, "the host name resolves to %s; a proxy must be a public address (%s)", c, allow)
		}
	}
	return nil
}

// ChangeProxy moves one of a partner's channels to another proxy: the one
// given, or else the least recently used healthy proxy of the pool that is
// not the channel's current one (checked to answer before it is chosen).
// The channel reconnects through it.
func (s *Service) ChangeProxy(ctx context.Context, partnerID, channelID, proxy string) (_ model.Channel, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "channel.proxy", PartnerID: partnerID, ChannelID: channelID})
	defer done(&err)
	ch, err := s.Channel(ctx, partnerID, channelID)
	if err != nil {
		return ch, err
	}
	next, err := checkProxy("proxy", proxy)
	if err != nil {
		return ch, err
	}
	if err := s.checkProxyAddress(ctx, "proxy", next); err != nil {
		return ch, err
	}
	if next == "" {
		if next, err = s.pickProxy(ctx, ch.Proxy); err != nil {
			return ch, err
		}
	}
	return s.setProxy(ctx, ch, next)
}

func (s *Service) setProxy(ctx context.Context, ch model.Channel, proxy string) (model.Channel, error) {
	audit.Describe(ctx, map[string]any{"proxy": redactProxy(ch.Proxy)}, map[string]any{"proxy": redactProxy(proxy)})
	if err := s.store.SetChannelProxy(ctx, ch.ID, proxy); err != nil {
		return ch, err
	}
	prev := ch.Proxy
	ch.Proxy = proxy
	if s.rt != nil && s.runsHere(ch.ID) { // elsewhere, its node applies the announced change
		if err := s.rt.SetProxy(ctx, ch); err != nil {
			if errors.Is(err, engine.ErrBadProxy) {
				// Refused: the session kept its proxy, and so does the row.
				s.restoreProxy(ctx, ch.ID, prev)
				ch.Proxy = prev
			}
			return ch, s.runtimeError(ch, err)
		}
	}
	s.log.InfoContext(ctx, "channel proxy changed", "channel_id", ch.ID, "proxy", RedactProxy(proxy))
	return ch, nil
}

// pickProxy chooses the next healthy pool proxy other than current.
func (s *Service) pickProxy(ctx context.Context, current string) (string, error) {
	pool, err := s.store.Proxies(ctx)
	if err != nil {
		return "", err
	}
	tried := 0
	for _, p := range pool { // least recently assigned first
		if p.URL == current {
			continue
		}
		tried++
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.probeProxy(pctx, p.URL)
		cancel()
		if err != nil {
			s.log.WarnContext(ctx, "pool proxy does not answer; marked unhealthy", "proxy", RedactProxy(p.URL), "error", err)
			_ = s.store.MarkProxy(ctx, p.URL, false, err.Error(), nil)
			continue
		}
		now := s.now()
		if err := s.store.MarkProxy(ctx, p.URL, true, "", &now); err != nil {
			return "", err
		}
		return p.URL, nil
	}
	if tried == 0 {
		return "", fmt.Errorf("the operator's proxy pool has no proxy other than the channel's current one: %w", model.ErrUnavailable)
	}
	return "", fmt.Errorf("none of the %d other proxies of the pool answers: %w", tried, model.ErrUnavailable)
}

// restoreProxy puts back a channel's previous proxy after the engine refused
// a new one.
func (s *Service) restoreProxy(ctx context.Context, channelID, proxy string) {
	if err := s.store.SetChannelProxy(ctx, channelID, proxy); err != nil {
		s.log.ErrorContext(ctx, "could not restore the channel's proxy", "channel_id", channelID, "error", err)
	}
}
