package httpx

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

type httpsKey struct{}

// IsHTTPS reports whether the client reached wagate over HTTPS: a TLS
// connection, or a trusted proxy's X-Forwarded-Proto: https.
func IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	v, _ := r.Context().Value(httpsKey{}).(bool)
	return v
}

// TrustProxies believes X-Forwarded-For and X-Forwarded-Proto only from a
// peer in trusted: the client is the rightmost address of X-Forwarded-For
// that is not itself a trusted proxy (the leftmost when all are), and it
// becomes r.RemoteAddr for everything after (logs, login limits, the
// audit log); X-Forwarded-Proto's last value (the nearest proxy's) says
// whether the client used HTTPS (IsHTTPS, Secure cookies). From any other
// peer both headers are ignored: a client could set them to anything.
func TrustProxies(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, port, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		peer, err := netip.ParseAddr(host)
		if err != nil || !isTrusted(peer) {
			next.ServeHTTP(w, r)
			return
		}
		if client, ok := forwardedClient(r.Header.Values("X-Forwarded-For"), isTrusted); ok {
			r2 := r.Clone(r.Context())
			r2.RemoteAddr = net.JoinHostPort(client.String(), port)
			r = r2
		}
		if protos := r.Header.Values("X-Forwarded-Proto"); len(protos) > 0 {
			last := protos[len(protos)-1]
			if i := strings.LastIndex(last, ","); i >= 0 {
				last = last[i+1:]
			}
			if strings.EqualFold(strings.TrimSpace(last), "https") {
				r = r.WithContext(context.WithValue(r.Context(), httpsKey{}, true))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedClient walks X-Forwarded-For from the right (the nearest hop)
// past trusted proxies to the client. An entry that is not an address
// stops the walk at the hop before it (nothing further left is
// believable).
func forwardedClient(values []string, isTrusted func(netip.Addr) bool) (netip.Addr, bool) {
	var hops []string
	for _, v := range values {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	var last netip.Addr
	found := false
	for i := len(hops) - 1; i >= 0; i-- {
		h := hops[i]
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host // "1.2.3.4:5678" or "[::1]:5678"
		}
		a, err := netip.ParseAddr(strings.Trim(h, "[]"))
		if err != nil {
			break
		}
		last, found = a.Unmap(), true
		if !isTrusted(a) {
			return last, true
		}
	}
	return last, found
}

// ClientIP is the host part of r.RemoteAddr: the client's address
// (behind trusted proxies, TrustProxies has put it there).
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
