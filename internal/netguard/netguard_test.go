package netguard

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestClass(t *testing.T) {
	for addr, want := range map[string]string{
		"8.8.8.8":            "",
		"2606:4700::1111":    "",
		"127.0.0.1":          "a loopback address",
		"::1":                "a loopback address",
		"::ffff:127.0.0.1":   "a loopback address",
		"10.1.2.3":           "a private address",
		"172.16.0.1":         "a private address",
		"192.168.1.1":        "a private address",
		"fd00::1":            "a private address",
		"169.254.169.254":    "a link-local address",
		"fe80::1%eth0":       "a link-local address",
		"0.0.0.0":            "an unspecified address",
		"::":                 "an unspecified address",
		"0.1.2.3":            `a "this network" address`,
		"100.64.0.1":         "a shared (CGNAT) address",
		"224.0.0.1":          "a multicast address",
		"ff02::1":            "a multicast address",
		"192.0.2.1":          "a documentation address",
		"2001:db8::1":        "a documentation address",
		"198.18.0.1":         "a benchmarking address",
		"240.0.0.1":          "a reserved address",
		"255.255.255.255":    "a reserved address",
		"64:ff9b::7f00:1":    "a NAT64 address",
		"::7f00:1":           "an IPv4-compatible IPv6 address",
		"2002:7f00:1::1":     "a 6to4 address",
		"2001:0:4136:e378::": "a Teredo address",
	} {
		if got := Class(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Class(%s) = %q, want %q", addr, got, want)
		}
	}
}

func TestCheckHost(t *testing.T) {
	for _, tc := range []struct {
		host  string
		allow bool
		want  string // "" accepted; else part of the error
	}{
		{"example.com", false, ""},
		{"8.8.8.8", false, ""},
		{"127.0.0.1", false, "loopback"},
		{"127.0.0.1", true, ""},
		{"localhost", false, "loopback"},
		{"LOCALHOST.", false, "loopback"},
		{"api.localhost", false, "loopback"},
		{"localhost", true, ""},
		{"2130706433", false, "(a.b.c.d); this one is a loopback address"},
		{"127.1", false, "loopback"},
		{"0x7f.1", false, "loopback"},
		{"0177.0.0.1", false, "loopback"},
		{"0x7f000001", false, "loopback"},
		{"017700000001", false, "loopback"},
		{"10.1", false, "private"},
		{"134744072", false, "four decimal numbers"}, // 8.8.8.8: public, still ambiguous
		{"2130706433", true, "four decimal numbers"}, // the form is refused even when private is allowed
		{"1.2.3.4.5", false, "not an IPv4 address"},
		{"example.123", false, "not an IPv4 address"},
		{"256.1.1.1", false, "not an IPv4 address"},
		{"1.2.3.256", false, "not an IPv4 address"},
		{"1.2.65536", false, "not an IPv4 address"},
		{"99999999999999999999", false, "not an IPv4 address"},
		{"0x", false, "four decimal numbers"},
		{"1.example", false, ""},
		{"0x7f.example", false, ""},
		{"", false, "no host"},
	} {
		err := CheckHost(tc.host, tc.allow)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckHost(%q, %v) = %v, want accepted", tc.host, tc.allow, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckHost(%q, %v) = %v, want an error with %q", tc.host, tc.allow, err, tc.want)
		}
	}
}

func TestControl(t *testing.T) {
	for addr, public := range map[string]bool{
		"8.8.8.8:443": true, "[2606:4700::1111]:443": true,
		"127.0.0.1:80": false, "[::1]:80": false, "10.0.0.1:1080": false, "[fe80::1%eth0]:80": false, "junk": false,
	} {
		err := Control("tcp", addr, nil)
		if (err == nil) != public {
			t.Errorf("Control(%s) = %v, want public %v", addr, err, public)
		}
		if err != nil && (!errors.Is(err, ErrNotPublic) || strings.Contains(err.Error(), strings.Split(addr, ":")[0])) {
			t.Errorf("Control(%s) = %v: want ErrNotPublic without the address", addr, err)
		}
	}
}
