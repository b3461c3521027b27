package whatsmeow

import (
	"fmt"
	"net/url"
	"strconv"

	wm "go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/internal/engine"
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
func applyProxy(cli *wm.Client, p string) error {
	if p == "" {
		cli.SetProxy(nil)
		return nil
	}
	if err := cli.SetProxyAddress(p); err != nil {
		// Not %v: url and proxy errors quote the URL, credentials included.
		return fmt.Errorf("%w: rejected by whatsmeow", engine.ErrBadProxy)
	}
	return nil
}
