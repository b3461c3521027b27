package webhook

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/wagate/wagate/internal/netguard"
)

// ErrPrivateAddress is a webhook address wagate may not reach: private,
// loopback, link-local, CGNAT or otherwise not public.
var ErrPrivateAddress = errors.New("webhook: address is not public (private, loopback, link-local or reserved)")

// NewClient returns the HTTP client webhook requests use: each request ends
// after timeout; dials to addresses that are not public fail with
// ErrPrivateAddress unless allowPrivate; TLS is verified; redirects are not
// followed (the 3xx answer is the result); environment proxies are ignored.
func NewClient(allowPrivate bool, timeout time.Duration, perHost int) *http.Client {
	dialer := &net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = func(network, address string, c syscall.RawConn) error {
			if err := netguard.Control(network, address, c); err != nil {
				return fmt.Errorf("%w: %w", ErrPrivateAddress, err)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   min(timeout, 10*time.Second),
		ResponseHeaderTimeout: timeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   max(perHost, 2),
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// PublicAddr reports whether ip is a public unicast address a webhook may
// point to (netguard.Public: not loopback, private, link-local, multicast,
// unspecified, CGNAT, documentation, reserved, NAT64, 6to4, ...).
func PublicAddr(ip netip.Addr) bool { return netguard.Public(ip) }

// CheckURL checks a webhook URL as it is saved: absolute http or https with
// a host, and, unless allowPrivate, not "localhost" nor a literal address
// that is not public. A host written as an IPv4 address in another form
// than dotted decimal (2130706433, 0x7f.1, 127.1) is refused either way.
// Names are checked again when dialed.
func CheckURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("webhook: URL does not parse: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("webhook: URL must be http or https")
	}
	host := u.Hostname()
	if host == "" {
		return errors.New("webhook: URL has no host")
	}
	if err := netguard.CheckHost(host, allowPrivate); err != nil {
		if errors.Is(err, netguard.ErrNotPublic) {
			return fmt.Errorf("%w: %w", ErrPrivateAddress, err)
		}
		return fmt.Errorf("webhook: %w", err)
	}
	return nil
}
