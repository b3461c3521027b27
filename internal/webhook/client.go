package webhook

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
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
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !PublicAddr(ip) {
				return fmt.Errorf("%w: %s", ErrPrivateAddress, host)
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
// point to: not loopback, private (RFC 1918, fc00::/7), link-local,
// multicast, unspecified, CGNAT (100.64.0.0/10), benchmarking, documentation,
// reserved (240.0.0.0/4), "this network" (0.0.0.0/8) or NAT64, which can
// reach any IPv4 address.
func PublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	v4 := func(a, b, c, d byte, bits int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{a, b, c, d}), bits)
	}
	v6 := func(a, b uint16, bits int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom16([16]byte{byte(a >> 8), byte(a), byte(b >> 8), byte(b)}), bits)
	}
	for _, p := range [...]netip.Prefix{
		v4(0, 0, 0, 0, 8),       // "this network"
		v4(100, 64, 0, 0, 10),   // CGNAT
		v4(192, 0, 0, 0, 24),    // IETF protocol assignments
		v4(192, 0, 2, 0, 24),    // TEST-NET-1
		v4(198, 18, 0, 0, 15),   // benchmarking
		v4(198, 51, 100, 0, 24), // TEST-NET-2
		v4(203, 0, 113, 0, 24),  // TEST-NET-3
		v4(240, 0, 0, 0, 4),     // reserved and broadcast
		v6(0x64, 0xff9b, 32),    // NAT64: 64:ff9b::/96 and local-use 64:ff9b:1::/48
		v6(0x100, 0, 64),        // discard
		v6(0x2001, 0xdb8, 32),   // documentation
	} {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// CheckURL checks a webhook URL as it is saved: absolute http or https with
// a host, and, unless allowPrivate, not "localhost" nor a literal address
// that is not public. Names are checked again when dialed.
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
	if allowPrivate {
		return nil
	}
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, host)
	}
	if ip, err := netip.ParseAddr(host); err == nil && !PublicAddr(ip) {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, host)
	}
	return nil
}
