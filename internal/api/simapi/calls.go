package simapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/httpx"
)

// Phones call, answer and hang up, vote on polls, and make a received
// file expire on WhatsApp's media hosts (or vanish from the sender's
// phone too), so that partners can test calls, polls and media retries.

func (h *handler) callRoutes(route func(pattern string, limit int64, fn httpx.HandlerFunc), small int64) {
	route("POST /admin/sim/phones/{phone}/calls", small, h.call)
	route("GET /admin/sim/phones/{phone}/calls", small, h.calls)
	route("POST /admin/sim/phones/{phone}/calls/{CallID}/accept", small, h.acceptCall)
	route("POST /admin/sim/phones/{phone}/calls/{CallID}/end", small, h.endCall)
	route("POST /admin/sim/phones/{phone}/vote", small, h.vote)
	route("POST /admin/sim/phones/{phone}/media/{MessageID}/expire", small, h.expireMedia)
}

type callRequest struct {
	To    string `json:"to"`
	Video bool   `json:"video"`
}

func (h *handler) call(w http.ResponseWriter, r *http.Request) error {
	var req callRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	if strings.TrimSpace(req.To) == "" {
		return httpx.Errorf(http.StatusBadRequest, "to: required, the number to call")
	}
	c, err := h.net.Call(number, req.To, req.Video)
	if err != nil {
		return fail(err)
	}
	httpx.JSON(w, http.StatusOK, c)
	return nil
}

type callList struct {
	Calls []sim.CallInfo `json:"calls"`
}

func (h *handler) calls(w http.ResponseWriter, r *http.Request) error {
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	list, err := h.net.Calls(number)
	if err != nil {
		return fail(err)
	}
	httpx.JSON(w, http.StatusOK, callList{Calls: list})
	return nil
}

func (h *handler) acceptCall(w http.ResponseWriter, r *http.Request) error {
	return h.callAction(w, r, h.net.AcceptCall)
}

func (h *handler) endCall(w http.ResponseWriter, r *http.Request) error {
	return h.callAction(w, r, h.net.EndCall)
}

func (h *handler) callAction(w http.ResponseWriter, r *http.Request, fn func(number, id string) (sim.CallInfo, error)) error {
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	c, err := fn(number, r.PathValue("CallID"))
	if err != nil {
		return fail(err)
	}
	httpx.JSON(w, http.StatusOK, c)
	return nil
}

type voteRequest struct {
	ID      string   `json:"id"`
	Options []string `json:"options"`
}

func (h *handler) vote(w http.ResponseWriter, r *http.Request) error {
	var req voteRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	if strings.TrimSpace(req.ID) == "" {
		return httpx.Errorf(http.StatusBadRequest, "id: required, the ID of the poll")
	}
	if req.Options == nil {
		return httpx.Errorf(http.StatusBadRequest, "options: required, the names of the chosen options ([] withdraws the vote)")
	}
	if err := h.net.Vote(number, req.ID, req.Options); err != nil {
		switch {
		case errors.Is(err, sim.ErrMessageNotFound):
			err = withField(err, "id")
		case errors.Is(err, sim.ErrInvalidContent):
			err = withField(err, "options")
		}
		return fail(err)
	}
	httpx.JSON(w, http.StatusOK, successResult{Success: true})
	return nil
}

type expireRequest struct {
	// FromPhone also deletes it from the sender's phone: gone everywhere.
	FromPhone bool `json:"from_phone"`
}

func (h *handler) expireMedia(w http.ResponseWriter, r *http.Request) error {
	var req expireRequest
	if err := httpx.DecodeStrict(r, &req, false); err != nil {
		return err
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	id := r.PathValue("MessageID")
	if req.FromPhone {
		err = h.net.DeleteMediaFromPhone(number, id)
	} else {
		err = h.net.ExpireMedia(number, id)
	}
	if err != nil {
		return fail(withField(err, "MessageID"))
	}
	httpx.JSON(w, http.StatusOK, successResult{Success: true})
	return nil
}
