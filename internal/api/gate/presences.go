package gate

import (
	"net/http"

	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/wire"
)

// presenceRoutes registers the presences API: the account's own presence,
// typing or recording in a chat, and other users' presences.
func (h *handler) presenceRoutes(route func(pattern string, running bool, fn httpx.HandlerFunc)) {
	route("PUT /presences/me", true, h.setOwnPresence)
	route("PUT /presences/{EntryID}", true, h.sendPresence)
	route("POST /presences/{EntryID}", true, h.subscribePresence)
	route("GET /presences/{EntryID}", true, h.presence)
}

type ownPresence struct {
	Presence string `json:"presence"`
}

func (h *handler) setOwnPresence(w http.ResponseWriter, r *http.Request) error {
	var req ownPresence
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	if err := h.svc.SetOwnPresence(r.Context(), channelOf(r), req.Presence); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

type chatPresence struct {
	Presence string  `json:"presence"`
	Delay    float64 `json:"delay"`
}

func (h *handler) sendPresence(w http.ResponseWriter, r *http.Request) error {
	var req chatPresence
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	if err := h.svc.SendChatPresence(r.Context(), channelOf(r), r.PathValue("EntryID"), req.Presence, req.Delay); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) subscribePresence(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.SubscribePresence(r.Context(), channelOf(r), r.PathValue("EntryID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) presence(w http.ResponseWriter, r *http.Request) error {
	p, err := h.svc.Presence(r.Context(), channelOf(r), r.PathValue("EntryID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, wire.NewPresence(p))
	return nil
}
