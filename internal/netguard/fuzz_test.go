package netguard

import (
	"net/netip"
	"testing"
)

// FuzzCheckHost: host checking never panics; a literal address it lets
// through is public; a host that reads as an IPv4 number in another form
// than dotted decimal is always refused.
func FuzzCheckHost(f *testing.F) {
	for _, s := range []string{"example.com", "127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "1.2.3.4.5",
		"::1", "::ffff:127.0.0.1", "fe80::1%eth0", "localhost.", "a.localhost", "0x", "08.1", "1..1", ".", "999999999999",
		"8.8.8.8", "example.0x1g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		err := CheckHost(host, false)
		if ip, perr := netip.ParseAddr(host); perr == nil && err == nil && !Public(ip) {
			t.Fatalf("CheckHost(%q) let a %s through", host, Class(ip))
		}
		if ip, ok, lerr := parseLooseIPv4(host); ok && lerr == nil {
			if canon, perr := netip.ParseAddr(host); perr != nil || canon != ip {
				if err == nil {
					t.Fatalf("CheckHost(%q) accepts a non-canonical IPv4 form of %s", host, ip)
				}
			}
		}
	})
}
