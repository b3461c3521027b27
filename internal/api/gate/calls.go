package gate

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/wagate/wagate/internal/httpx"
)

// Calls (Whapi's Calls group): call links and rejecting a ringing call.

func (h *handler) callRoutes(route func(pattern string, running bool, fn httpx.HandlerFunc)) {
	route("POST /calls", true, h.createCallEvent)
	route("POST /calls/group_link", true, h.createGroupCallLink)
	route("DELETE /calls/{CallID}", true, h.rejectCall)
	route("POST /calls/{CallID}/reject", true, h.rejectCall)
}

// callStart is Whapi's start_time: Unix seconds, as a string (its schema)
// or a number (its example).
type callStart struct {
	StartTime json.RawMessage `json:"start_time"`
}

func (c callStart) check() error {
	raw := strings.TrimSpace(string(c.StartTime))
	if raw == "" || raw == "null" {
		return httpx.Errorf(http.StatusBadRequest, "start_time: is required (Unix seconds)")
	}
	raw = strings.Trim(raw, `"`)
	if n, err := strconv.ParseInt(raw, 10, 64); err != nil || n < 0 {
		return httpx.Errorf(http.StatusBadRequest, "start_time: must be Unix seconds")
	}
	return nil
}

type callURL struct {
	CallURL string `json:"call_url"`
}

type callLink struct {
	Link string `json:"link"`
}

func (h *handler) createCallEvent(w http.ResponseWriter, r *http.Request) error {
	var req callStart
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	link, err := h.svc.CallLink(r.Context(), channelOf(r), false)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, callURL{CallURL: link})
	return nil
}

func (h *handler) createGroupCallLink(w http.ResponseWriter, r *http.Request) error {
	var req callStart
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	link, err := h.svc.CallLink(r.Context(), channelOf(r), true)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, callLink{Link: link})
	return nil
}

type rejectCallRequest struct {
	CallFrom string `json:"callFrom"`
}

func (h *handler) rejectCall(w http.ResponseWriter, r *http.Request) error {
	var req rejectCallRequest
	if err := httpx.Decode(r, &req, false); err != nil {
		return err
	}
	if err := h.svc.RejectCall(r.Context(), channelOf(r), r.PathValue("CallID"), req.CallFrom); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}
