package admin

import (
	"net/http"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/httpx"
)

// clientVersion is the WhatsApp client version on the wire.
type clientVersion struct {
	Version string `json:"version"`
	// Source: config, whatsapp, stored or builtin.
	Source     string `json:"source"`
	LearnedAt  int64  `json:"learned_at,omitempty"`
	CheckedAt  int64  `json:"checked_at,omitempty"`
	CheckError string `json:"check_error,omitempty"`
	Latest     string `json:"latest,omitempty"`
}

type engineInfo struct {
	Name           string         `json:"name"`
	ClientVersion  *clientVersion `json:"client_version,omitempty"`
	OrphansRemoved int64          `json:"orphans_removed"`
}

func newClientVersion(v engine.ClientVersion) *clientVersion {
	out := &clientVersion{Version: v.Version, Source: v.Source, CheckError: v.CheckError, Latest: v.Latest}
	if !v.LearnedAt.IsZero() {
		out.LearnedAt = apiutil.Millis(v.LearnedAt)
	}
	if !v.CheckedAt.IsZero() {
		out.CheckedAt = apiutil.Millis(v.CheckedAt)
	}
	return out
}

func (h *handler) engine(w http.ResponseWriter, r *http.Request) error {
	info := h.svc.EngineInfo()
	out := engineInfo{Name: info.Name, OrphansRemoved: info.OrphansRemoved}
	if info.Version != nil {
		out.ClientVersion = newClientVersion(*info.Version)
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) refreshClientVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := h.svc.RefreshClientVersion(r.Context())
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newClientVersion(v))
	return nil
}
