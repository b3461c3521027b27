package httpx

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestTrustProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		name, peer string
		xff, proto []string
		wantIP     string
		wantHTTPS  bool
	}{
		{"no proxy trusted peer, no header", "10.1.2.3:5000", nil, nil, "10.1.2.3", false},
		{"trusted proxy", "10.1.2.3:5000", []string{"203.0.113.5"}, []string{"https"}, "203.0.113.5", true},
		{"chain of trusted proxies", "10.1.2.3:5000", []string{"203.0.113.5, 10.9.9.9", "192.0.2.1"}, []string{"http", "https"}, "203.0.113.5", true},
		{"spoofed left part ignored", "10.1.2.3:5000", []string{"6.6.6.6, 203.0.113.5"}, nil, "203.0.113.5", false},
		{"untrusted peer: headers ignored", "198.51.100.9:5000", []string{"203.0.113.5"}, []string{"https"}, "198.51.100.9", false},
		{"single trusted address", "192.0.2.1:80", []string{"203.0.113.6"}, []string{"http"}, "203.0.113.6", false},
		{"neighbour of a single address is not trusted", "192.0.2.2:80", []string{"203.0.113.6"}, []string{"https"}, "192.0.2.2", false},
		{"all hops trusted: leftmost", "10.1.2.3:5000", []string{"10.0.0.7, 10.0.0.8"}, nil, "10.0.0.7", false},
		{"garbage stops the walk", "10.1.2.3:5000", []string{"203.0.113.5, nonsense, 10.0.0.8"}, nil, "10.0.0.8", false},
		{"ports and IPv6", "[fd00::1]:5000", []string{"[2001:db8::5]:4711"}, []string{"HTTPS"}, "2001:db8::5", true},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:5000", []string{"203.0.113.5"}, nil, "203.0.113.5", false},
		{"proto list: nearest wins", "10.1.2.3:5000", nil, []string{"https, http"}, "10.1.2.3", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotIP string
			var gotHTTPS bool
			h := TrustProxies(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotIP, gotHTTPS = ClientIP(r), IsHTTPS(r)
			}))
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tc.proto {
				req.Header.Add("X-Forwarded-Proto", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if gotIP != tc.wantIP || gotHTTPS != tc.wantHTTPS {
				t.Errorf("client %s https %v, want %s %v", gotIP, gotHTTPS, tc.wantIP, tc.wantHTTPS)
			}
		})
	}
}
