package simapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/httpx"
)

// Phones organize their chats (archive, pin, mute, mark unread) and keep
// labels, the way WhatsApp's app state shares them with the account's
// linked devices: what a phone does here reaches its channels, and what a
// channel does through the gate API shows here.

func (h *handler) appStateRoutes(route func(pattern string, limit int64, fn httpx.HandlerFunc), small int64) {
	route("GET /admin/sim/phones/{phone}/appstate", small, h.appState)
	route("PATCH /admin/sim/phones/{phone}/chats/{chat}", small, h.patchPhoneChat)
	route("POST /admin/sim/phones/{phone}/labels", small, h.editPhoneLabel)
	route("DELETE /admin/sim/phones/{phone}/labels/{LabelID}", small, h.deletePhoneLabel)
}

func (h *handler) appState(w http.ResponseWriter, r *http.Request) error {
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	v, err := h.net.AppState(number)
	if err != nil {
		return fail(err)
	}
	httpx.JSON(w, http.StatusOK, v)
	return nil
}

// phoneChatRequest changes a chat on the phone: mute_until in Unix
// milliseconds (0 unmutes, -1 mutes until unmuted); add_labels and
// remove_labels are label IDs.
type phoneChatRequest struct {
	Archive      *bool    `json:"archive"`
	Pin          *bool    `json:"pin"`
	MuteUntil    *int64   `json:"mute_until"`
	MarkUnread   *bool    `json:"mark_unread"`
	AddLabels    []string `json:"add_labels"`
	RemoveLabels []string `json:"remove_labels"`
}

func (h *handler) patchPhoneChat(w http.ResponseWriter, r *http.Request) error {
	var req phoneChatRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	chat := r.PathValue("chat")
	st := engine.ChatState{Archived: req.Archive, Pinned: req.Pin, Unread: req.MarkUnread}
	if req.MuteUntil != nil {
		muted := *req.MuteUntil != 0
		st.Muted = &muted
		switch {
		case *req.MuteUntil < -1:
			return httpx.Errorf(http.StatusBadRequest, "mute_until: Unix milliseconds, 0 to unmute or -1 for until unmuted")
		case *req.MuteUntil > 0:
			st.MuteUntil = time.UnixMilli(*req.MuteUntil).UTC()
		}
	}
	if st.Empty() && len(req.AddLabels) == 0 && len(req.RemoveLabels) == 0 {
		return httpx.Errorf(http.StatusBadRequest, "body: give at least one of archive, pin, mute_until, mark_unread, add_labels, remove_labels")
	}
	if slices.ContainsFunc(req.AddLabels, func(id string) bool { return slices.Contains(req.RemoveLabels, id) }) {
		return httpx.Errorf(http.StatusBadRequest, "add_labels: a label is both added and removed")
	}
	// Check every label first, so that a bad one changes nothing.
	if len(req.AddLabels)+len(req.RemoveLabels) > 0 {
		v, err := h.net.AppState(number)
		if err != nil {
			return fail(err)
		}
		for _, id := range append(slices.Clone(req.AddLabels), req.RemoveLabels...) {
			if !slices.ContainsFunc(v.Labels, func(l sim.LabelView) bool { return l.ID == id }) {
				return fail(withField(fmt.Errorf("%w: the phone has no label %q", sim.ErrLabelNotFound, id), "add_labels"))
			}
		}
	}
	if !st.Empty() {
		if err := h.net.SetChatState(number, chat, st); err != nil {
			return fail(withField(err, "chat"))
		}
	}
	for _, l := range []struct {
		ids []string
		on  bool
	}{{req.AddLabels, true}, {req.RemoveLabels, false}} {
		for _, id := range l.ids {
			if err := h.net.LabelChat(number, id, chat, l.on); err != nil {
				return fail(withField(err, "chat"))
			}
		}
	}
	httpx.JSON(w, http.StatusOK, successResult{Success: true})
	return nil
}

type phoneLabelRequest struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
}

func (h *handler) editPhoneLabel(w http.ResponseWriter, r *http.Request) error {
	var req phoneLabelRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	color := slices.Index(engine.LabelColors, strings.ToLower(strings.TrimSpace(req.Color)))
	if color < 0 {
		return httpx.Errorf(http.StatusBadRequest, "color: must be one of %s", strings.Join(engine.LabelColors, ", "))
	}
	l, err := h.net.EditLabel(number, engine.Label{ID: strings.TrimSpace(req.ID), Name: req.Name, Color: color}, false)
	if err != nil {
		return fail(withField(err, "name"))
	}
	httpx.JSON(w, http.StatusOK, sim.LabelView{ID: l.ID, Name: l.Name, Color: engine.LabelColors[l.Color]})
	return nil
}

func (h *handler) deletePhoneLabel(w http.ResponseWriter, r *http.Request) error {
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	if _, err := h.net.EditLabel(number, engine.Label{ID: r.PathValue("LabelID")}, true); err != nil {
		if errors.Is(err, sim.ErrInvalidContent) {
			// A malformed ID names no label.
			err = errors.Join(sim.ErrLabelNotFound, err)
		}
		return fail(withField(err, "LabelID"))
	}
	httpx.JSON(w, http.StatusOK, successResult{Success: true})
	return nil
}
