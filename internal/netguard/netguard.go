// Package netguard is wagate's one rule for addresses it connects to on
// someone else's behalf (webhooks, media URLs, channel proxies): only
// public unicast addresses, unless the operator allows private ones. It
// names why an address is refused by its class ("a loopback address"),
// never by the address itself, so an error cannot tell a client where a
// name or a redirect led.
package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// Error is a refused address: Class says why.
type Error struct {
	// Class is what kind of address it is: "a loopback address", "a
	// private address", ...
	Class string
}

func (e *Error) Error() string { return "refused: " + e.Class + ", not public" }

// Is makes every *Error match ErrNotPublic.
func (e *Error) Is(target error) bool { return target == ErrNotPublic }

// ErrNotPublic matches every *Error.
var ErrNotPublic = errors.New("netguard: address is not public")

// ErrNonCanonical is a host written as an IPv4 address in a form other
// than four decimal numbers (2130706433, 0x7f.1, 0177.0.0.1, 127.1):
// resolvers read such forms differently, so what is checked is not sure to
// be what is dialed.
var ErrNonCanonical = errors.New("an IPv4 address must be written as four decimal numbers (a.b.c.d)")

// ErrInvalidHost is a host that ends in a number but is no IPv4 address
// (1.2.3.4.5, example.123).
var ErrInvalidHost = errors.New("the host ends in a number but is not an IPv4 address")

func v4(a, b, c, d byte, bits int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{a, b, c, d}), bits)
}

func v6(a, b uint16, bits int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom16([16]byte{byte(a >> 8), byte(a), byte(b >> 8), byte(b)}), bits)
}

// reserved are the ranges beyond the standard library's predicates that
// are not public, with their class.
var reserved = [...]struct {
	p     netip.Prefix
	class string
}{
	{v4(0, 0, 0, 0, 8), `a "this network" address`},
	{v4(100, 64, 0, 0, 10), "a shared (CGNAT) address"},
	{v4(192, 0, 0, 0, 24), "an IETF protocol address"},
	{v4(192, 0, 2, 0, 24), "a documentation address"},
	{v4(198, 18, 0, 0, 15), "a benchmarking address"},
	{v4(198, 51, 100, 0, 24), "a documentation address"},
	{v4(203, 0, 113, 0, 24), "a documentation address"},
	{v4(240, 0, 0, 0, 4), "a reserved address"},
	{v6(0, 0, 96), "an IPv4-compatible IPv6 address"},  // ::a.b.c.d, deprecated
	{v6(0x64, 0xff9b, 32), "a NAT64 address"},          // reaches any IPv4 address
	{v6(0x100, 0, 64), "a discard address"},            // 100::/64
	{v6(0x2001, 0xdb8, 32), "a documentation address"}, // 2001:db8::/32
	{v6(0x2002, 0, 16), "a 6to4 address"},              // embeds any IPv4 address
	{v6(0x2001, 0, 32), "a Teredo address"},            // embeds any IPv4 address
	{v6(0xfec0, 0, 10), "a site-local address"},        // deprecated private range
	{v6(0x3fff, 0, 20), "a documentation address"},     // 3fff::/20
	{v6(0x5f00, 0, 16), "a segment routing address"},   // 5f00::/16
}

// Class says why ip is not a public unicast address, or "" when it is one.
func Class(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "an invalid address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast(), ip.IsMulticast():
		return "a multicast address"
	}
	for _, r := range reserved {
		if r.p.Contains(ip) {
			return r.class
		}
	}
	return ""
}

// Public reports whether ip is a public unicast address.
func Public(ip netip.Addr) bool { return Class(ip) == "" }

// Check refuses ip unless it is public (a nil error) or allowPrivate.
func Check(ip netip.Addr, allowPrivate bool) error {
	if allowPrivate {
		return nil
	}
	if c := Class(ip); c != "" {
		return &Error{Class: c}
	}
	return nil
}

// CheckHost checks a URL's host (as url.URL.Hostname gives it) before it
// is saved or used: a literal address must be public, "localhost" and
// *.localhost are loopback, and a host that ends in a number must be an
// IPv4 address in dotted decimal (the other forms are refused whatever
// they stand for, ErrNonCanonical). Other names are checked when they are
// dialed (Control). With allowPrivate only the form is checked.
func CheckHost(host string, allowPrivate bool) error {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "" {
		return errors.New("the URL has no host")
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		return Check(ip, allowPrivate)
	}
	if ip, ok, err := parseLooseIPv4(h); ok {
		if err != nil {
			return err
		}
		if c := Class(ip); c != "" && !allowPrivate {
			return fmt.Errorf("%w; this one is %s", ErrNonCanonical, c)
		}
		return ErrNonCanonical
	}
	if !allowPrivate && (h == "localhost" || strings.HasSuffix(h, ".localhost")) {
		return &Error{Class: "a loopback address"}
	}
	return nil
}

// parseLooseIPv4 reads host as the URL standard (and inet_aton) read a host
// whose last label is a number: one to four parts, each decimal, octal
// (leading 0) or hexadecimal (0x), the last one filling the remaining
// bytes. ok is false when the last label is not a number (a name); err is
// set when it is, but the whole is no IPv4 address.
func parseLooseIPv4(host string) (netip.Addr, bool, error) {
	parts := strings.Split(host, ".")
	if !isNumber(parts[len(parts)-1]) {
		return netip.Addr{}, false, nil
	}
	if len(parts) > 4 {
		return netip.Addr{}, true, ErrInvalidHost
	}
	var v uint64
	for i, p := range parts {
		n, err := parseNumber(p)
		if err != nil {
			return netip.Addr{}, true, ErrInvalidHost
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, true, ErrInvalidHost
			}
			v = v<<8 | n
			continue
		}
		rest := uint(5 - len(parts)) // bytes the last part fills
		if n >= 1<<(8*rest) {
			return netip.Addr{}, true, ErrInvalidHost
		}
		v = v<<(8*rest) | n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true, nil
}

// isNumber reports whether a label reads as a number: digits, or 0x and
// hexadecimal digits.
func isNumber(s string) bool {
	if s == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(s, "0x"); ok {
		for _, c := range rest {
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
		return true
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func parseNumber(s string) (uint64, error) {
	base := 10
	switch {
	case strings.HasPrefix(s, "0x"):
		s, base = s[2:], 16
		if s == "" {
			return 0, nil
		}
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	}
	if len(s) > 12 {
		return 0, strconv.ErrRange
	}
	return strconv.ParseUint(s, base, 64)
}

// Control is a net.Dialer Control function that refuses connections to
// addresses that are not public (an *Error naming their class), so names
// that resolve to them, and redirects, are refused too.
func Control(_, address string, _ syscall.RawConn) error {
	i := strings.LastIndexByte(address, ':')
	if i < 0 {
		return &Error{Class: "an invalid address"}
	}
	ip, err := netip.ParseAddr(strings.Trim(address[:i], "[]"))
	if err != nil {
		return &Error{Class: "an invalid address"}
	}
	return Check(ip, false)
}
