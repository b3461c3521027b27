package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

type proxyView struct {
	ID        string // a digest of the URL, to name it in forms without its password
	Shown     string // the URL, password hidden
	Healthy   bool
	LastError string
	LastUsed  string
	Added     string
}

type proxiesData struct {
	Proxies []proxyView
	Input   string
}

func proxyID(u string) string {
	sum := sha256.Sum256([]byte(u))
	return hex.EncodeToString(sum[:8])
}

// proxiesPage shows the operator's proxy pool.
func (h *Handler) proxiesPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	return h.showProxies(w, r, v, http.StatusOK, "", nil)
}

func (h *Handler) showProxies(w http.ResponseWriter, r *http.Request, v *viewer, status int, input string, fl *flash) error {
	ps, err := h.svc.Proxies(r.Context())
	if err != nil {
		return err
	}
	d := proxiesData{Input: input}
	for _, p := range ps {
		pv := proxyView{ID: proxyID(p.URL), Shown: service.RedactProxy(p.URL), Healthy: p.Healthy, LastError: p.LastError,
			LastUsed: "never", Added: fmtDateTime(p.CreatedAt)}
		if !p.LastAssignedAt.IsZero() {
			pv.LastUsed = fmtDateTime(p.LastAssignedAt)
		}
		d.Proxies = append(d.Proxies, pv)
	}
	h.render(w, r, status, "proxies", page{Title: "Proxy pool", Nav: "proxies", V: v, Flash: fl, Data: d})
	return nil
}

// addProxies adds the proxies of a textarea (one URL per line) to the pool.
func (h *Handler) addProxies(w http.ResponseWriter, r *http.Request, v *viewer) error {
	input := r.PostFormValue("proxies")
	ps, err := h.svc.Proxies(r.Context())
	if err != nil {
		return err
	}
	urls := make([]string, 0, len(ps))
	for _, p := range ps {
		urls = append(urls, p.URL)
	}
	added := 0
	for _, line := range strings.Split(input, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			urls = append(urls, line)
			added++
		}
	}
	if added == 0 {
		return h.showProxies(w, r, v, http.StatusBadRequest, input, &flash{Kind: "error", Msg: "Write at least one proxy URL, one per line."})
	}
	after, err := h.svc.ReplaceProxies(r.Context(), urls)
	if err != nil {
		status, msg := h.describe(r, err)
		if status == http.StatusInternalServerError {
			return err
		}
		// Name the line, not the pool's index.
		msg = strings.Replace(msg, "Proxy ", "A proxy you entered ", 1)
		return h.showProxies(w, r, v, status, input, &flash{Kind: "error", Msg: msg})
	}
	return h.back(w, r, v, "/ui/admin/proxies", nil, fmt.Sprintf("The pool has %d proxies.", len(after)))
}

// removeProxy removes one proxy from the pool.
func (h *Handler) removeProxy(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PostFormValue("id")
	ps, err := h.svc.Proxies(r.Context())
	if err != nil {
		return err
	}
	var urls []string
	removed := ""
	for _, p := range ps {
		if proxyID(p.URL) == id {
			removed = service.RedactProxy(p.URL)
			continue
		}
		urls = append(urls, p.URL)
	}
	if removed == "" {
		return h.back(w, r, v, "/ui/admin/proxies", fmt.Errorf("that proxy is no longer in the pool: %w", model.ErrNotFound), "")
	}
	_, err = h.svc.ReplaceProxies(r.Context(), urls)
	return h.back(w, r, v, "/ui/admin/proxies", err, "Removed "+removed+" from the pool.")
}
