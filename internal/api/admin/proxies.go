package admin

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
)

type proxy struct {
	URL            string `json:"url"`
	Healthy        bool   `json:"healthy"`
	LastError      string `json:"last_error,omitempty"`
	LastAssignedAt int64  `json:"last_assigned_at,omitempty"`
	CreatedAt      int64  `json:"created_at"`
}

type proxyList struct {
	Proxies []proxy `json:"proxies"`
	Total   int     `json:"total"`
}

func newProxyList(ps []store.Proxy) proxyList {
	out := proxyList{Proxies: make([]proxy, 0, len(ps)), Total: len(ps)}
	for _, p := range ps {
		item := proxy{URL: service.RedactProxy(p.URL), Healthy: p.Healthy, LastError: p.LastError, CreatedAt: p.CreatedAt.UnixMilli()}
		if !p.LastAssignedAt.IsZero() {
			item.LastAssignedAt = p.LastAssignedAt.UnixMilli()
		}
		out.Proxies = append(out.Proxies, item)
	}
	return out
}

func (h *handler) listProxies(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.svc.Proxies(r.Context())
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newProxyList(ps))
	return nil
}

// replaceProxies takes {"proxies": ["socks5://user:pass@host:port", ...]}
// and replaces the whole pool.
func (h *handler) replaceProxies(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Proxies json.RawMessage `json:"proxies"`
	}
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	if len(bytes.TrimSpace(req.Proxies)) == 0 || bytes.Equal(bytes.TrimSpace(req.Proxies), []byte("null")) {
		return httpx.Errorf(http.StatusBadRequest, "proxies: is required (an array of proxy URLs; [] empties the pool)")
	}
	var urls []string
	if err := json.Unmarshal(req.Proxies, &urls); err != nil {
		return httpx.Errorf(http.StatusBadRequest, "proxies: must be an array of proxy URL strings")
	}
	ps, err := h.svc.ReplaceProxies(r.Context(), urls)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newProxyList(ps))
	return nil
}
