package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/store/storetest"
)

// strictNetEnv is a server with the defaults an operator gets: no private
// addresses for proxies, webhooks or media. Host names resolve through a
// table: rebind.test to a private address, public.test to a public one.
func strictNetEnv(t *testing.T, v *openapitest.Validator, b storetest.Backend) *env {
	return newEnvWith(t, v, b, func(c *config.Config, o *app.Options) {
		c.ProxyAllowPrivate, c.WebhookAllowPrivate, c.MediaAllowPrivate = false, false, false
		o.ProbeProxy = func(context.Context, string) error { return nil }
		o.LookupHost = func(_ context.Context, host string) ([]string, error) {
			switch host {
			case "rebind.test":
				return []string{"8.8.4.4", "10.20.30.40"}, nil
			case "public.test":
				return []string{"8.8.4.4"}, nil
			}
			return nil, context.DeadlineExceeded
		}
	})
}

// TestProxyAddressRule: a partner (API and dashboard) or a channel token
// cannot aim a channel's proxy at loopback, private or link-local
// addresses, however written; the error names the address class and
// never what a name resolved to; the operator's pool may hold private
// proxies, and WAGATE_PROXY_ALLOW_PRIVATE lets partners use them too.
func TestProxyAddressRule(t *testing.T) {
	v := openapitest.New(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := strictNetEnv(t, v, b)
			_, ptok := e.partner("proxied", 10)
			ch := e.channel(ptok, "Shop")
			id, tok := ch["id"].(string), ch["token"].(string)
			for _, tc := range []struct{ proxy, class string }{
				{"socks5://127.0.0.1:1080", "a loopback address"},
				{"socks5://u:p@[::1]:1080", "a loopback address"},
				{"http://localhost:3128", "a loopback address"},
				{"socks5://10.0.0.5:1080", "a private address"},
				{"http://192.168.1.1:3128", "a private address"},
				{"socks5://169.254.169.254:80", "a link-local address"},
				{"socks5://[fe80::1]:1080", "a link-local address"},
				{"socks5://100.64.0.1:1080", "a shared (CGNAT) address"},
				{"socks5://2130706433:1080", "four decimal numbers"},
				{"socks5://127.1:1080", "four decimal numbers"},
				{"socks5://0x7f.1:1080", "four decimal numbers"},
				{"socks5://rebind.test:1080", "resolves to a private address"},
				{"socks5://nowhere.test:1080", "does not resolve"},
			} {
				msg := e.fail(400, tc.class, "POST", "/partner/channels/"+id+"/proxy", ptok, map[string]any{"proxy": tc.proxy})
				if strings.Contains(msg, "10.20.30.40") {
					t.Errorf("%s: the error shows what the name resolved to: %s", tc.proxy, msg)
				}
				e.fail(400, tc.class, "PATCH", "/settings", tok, map[string]any{"proxy": tc.proxy})
			}
			if got := e.ok(200, "GET", "/partner/channels/"+id, ptok, nil); got["proxy"] != nil {
				t.Fatalf("a refused proxy was kept: %v", got["proxy"])
			}
			if got := e.ok(200, "GET", "/settings", tok, nil); got["proxy"] != "" {
				t.Fatalf("a refused proxy was kept in the settings: %v", got["proxy"])
			}

			// Public addresses and names are taken.
			e.ok(200, "POST", "/partner/channels/"+id+"/proxy", ptok, map[string]any{"proxy": "socks5://8.8.8.8:1080"})
			e.ok(200, "PATCH", "/settings", tok, map[string]any{"proxy": "http://public.test:3128"})

			// The operator's pool may be private: a partner is moved onto it.
			e.ok(200, "PUT", "/admin/proxies", adminToken, map[string]any{"proxies": []string{"socks5://10.9.9.9:1080"}})
			got := e.ok(200, "POST", "/partner/channels/"+id+"/proxy", ptok, map[string]any{})
			if p := got["channel"].(map[string]any)["proxy"].(map[string]any); p["host"] != "10.9.9.9" {
				t.Fatalf("pool proxy = %v", p)
			}

			// The dashboard goes through the same rule.
			br := e.browser("192.0.2.60")
			br.loginPartner("proxied@example.test", "correct horse")
			br.get(200, "/ui/channels/"+id)
			p := br.act("/ui/channels/"+id+"/proxy", "proxy", "socks5://127.0.0.1:9050")
			mustContain(t, "private proxy", p.body, "a loopback address")
		})
	}

	t.Run("allowed by the operator", func(t *testing.T) {
		e := newEnv(t, v, storetest.Backends(t)[0]) // WAGATE_PROXY_ALLOW_PRIVATE=true
		_, ptok := e.partner("lab", 10)
		id := e.channel(ptok, "Lab")["id"].(string)
		e.ok(200, "POST", "/partner/channels/"+id+"/proxy", ptok, map[string]any{"proxy": "socks5://127.0.0.1:1080"})
		e.fail(400, "four decimal numbers", "POST", "/partner/channels/"+id+"/proxy", ptok, map[string]any{"proxy": "socks5://2130706433:1080"})
	})
}

// TestWebhookURLForms: hosts written as decimal, octal, hexadecimal or
// short IPv4 addresses are refused on save, for channel and partner
// webhooks, naming the class of what they stand for.
func TestWebhookURLForms(t *testing.T) {
	v := openapitest.New(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := strictNetEnv(t, v, b)
			_, ptok := e.partner("hooked", 10)
			tok := e.channel(ptok, "Hooks")["token"].(string)
			for _, u := range []string{"http://2130706433/", "http://127.1/", "http://0x7f.1/", "http://0177.0.0.1/",
				"http://0x7f000001/", "http://167772161/", "http://127.0.0.1/", "http://[::ffff:127.0.0.1]/", "http://1.2.3.4.5/"} {
				e.fail(400, "webhooks[0].url", "PATCH", "/settings", tok, map[string]any{"webhooks": []map[string]any{{"url": u}}})
				e.fail(400, "webhooks[0].url", "PATCH", "/partner/partners/hooked/settings", ptok, map[string]any{"webhooks": []map[string]any{{"url": u}}})
			}
			msg := e.fail(400, "loopback", "PATCH", "/settings", tok, map[string]any{"webhooks": []map[string]any{{"url": "http://2130706433/"}}})
			if !strings.Contains(msg, "four decimal numbers") {
				t.Errorf("message %q does not say how to write the address", msg)
			}
			if got := e.ok(200, "GET", "/settings", tok, nil); len(got["webhooks"].([]any)) != 0 {
				t.Fatalf("a refused webhook was saved: %v", got["webhooks"])
			}
			e.ok(200, "PATCH", "/settings", tok, map[string]any{"webhooks": []map[string]any{{"url": "https://8.8.8.8/hook"}}})
		})
	}
}
