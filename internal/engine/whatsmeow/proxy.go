package whatsmeow

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	wm "go.mau.fi/whatsmeow"
	"golang.org/x/net/proxy"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/netguard"
)

// checkProxy validates a proxy URL the way whatsmeow's SetProxyAddress will
// use it: "" (direct), socks5://, http:// or https:// with a host. socks5h is
// refused: whatsmeow does not know the scheme; its socks5 dialer
// (golang.org/x/net/proxy) already sends host names to the proxy unresolved,
// which is what socks5h means elsewhere. Errors wrap engine.ErrBadProxy and
// never echo the URL (it may hold credentials).
func checkProxy(p string) error {
	if p == "" {
		return nil
	}
	u, err := url.Parse(p)
	if err != nil {
		return fmt.Errorf("%w: unparsable", engine.ErrBadProxy)
	}
	switch u.Scheme {
	case "socks5", "http", "https":
	case "socks5h":
		return fmt.Errorf("%w: scheme socks5h is not supported, use socks5 (host names are resolved by the proxy)", engine.ErrBadProxy)
	default:
		return fmt.Errorf("%w: scheme %q is not socks5, http or https", engine.ErrBadProxy, u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return fmt.Errorf("%w: no host", engine.ErrBadProxy)
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: bad port", engine.ErrBadProxy)
		}
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: unexpected path or query", engine.ErrBadProxy)
	}
	return nil
}

// applyProxy sets a checked proxy on a client that is not connected. A direct
// channel gets SetProxy(nil): by default whatsmeow follows HTTPS_PROXY from
// the environment, which would send every channel through one proxy.
//
// Unless allowPrivate, the proxy's address is checked again when each
// connection to it is made (netguard.Control on the dialer that reaches the
// proxy): the service checks a proxy's host when it is set, but a name can
// resolve to a loopback or private address later (DNS rebinding), and the
// engine must not become a way into the operator's network.
func applyProxy(cli *wm.Client, p string, allowPrivate bool) error {
	if p == "" {
		cli.SetProxy(nil)
		return nil
	}
	if allowPrivate {
		if err := cli.SetProxyAddress(p); err != nil {
			// Not %v: url and proxy errors quote the URL, credentials included.
			return fmt.Errorf("%w: rejected by whatsmeow", engine.ErrBadProxy)
		}
		return nil
	}
	u, err := url.Parse(p)
	if err != nil {
		return fmt.Errorf("%w: unparsable", engine.ErrBadProxy)
	}
	// The timeouts of whatsmeow's own SetProxyAddress.
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: netguard.Control}
	if u.Scheme == "socks5" {
		px, err := proxy.FromURL(u, dialer)
		if err != nil {
			return fmt.Errorf("%w: rejected by the SOCKS5 dialer", engine.ErrBadProxy)
		}
		cli.SetSOCKSProxy(px)
		return nil
	}
	// http and https: with a proxy every connection the transport makes
	// goes to the proxy, so its dialer sees only the proxy's address.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = http.ProxyURL(u)
	transport.DialContext = dialer.DialContext
	cli.SetPreLoginHTTPClient(&http.Client{Transport: transport})
	cli.SetWebsocketHTTPClient(&http.Client{Transport: transport})
	cli.SetMediaHTTPClient(&http.Client{Transport: transport})
	return nil
}
