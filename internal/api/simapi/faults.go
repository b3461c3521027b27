package simapi

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/httpx"
)

// The failure modes of real WhatsApp, played on a channel on demand (see
// sim.Fault): so that a partner can rehearse what its integration sees when
// WhatsApp drops a connection, refuses the client version, bans the
// account, replaces the stream, delivers a message twice or not at all.

// channelIDRE is the form of a channel ID.
var channelIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

type faultRequest struct {
	Kind    string `json:"kind"`
	Code    int    `json:"code"`
	Seconds int    `json:"seconds"`
	From    string `json:"from"`
	ID      string `json:"id"`
}

type faultResult struct {
	Success   bool `json:"success"`
	Connected bool `json:"connected"`
	// Answered: a retry receipt was answered (retry_receipt only).
	Answered *bool `json:"answered,omitempty"`
}

type channelStats struct {
	ChannelID string `json:"channel_id"`
	// Connects counts the channel's connection attempts; ConnectTimes are
	// the last 100 of them (epoch ms).
	Connects          int      `json:"connects"`
	ConnectTimes      []int64  `json:"connect_times"`
	Faults            []string `json:"faults"`
	Redelivered       int      `json:"redelivered"`
	IngestFailures    int      `json:"ingest_failures"`
	RetriesAnswered   int      `json:"retries_answered"`
	RetriesUnanswered int      `json:"retries_unanswered"`
}

func pathChannel(r *http.Request) (string, error) {
	id := r.PathValue("ChannelID")
	if !channelIDRE.MatchString(id) {
		return "", httpx.Errorf(http.StatusNotFound, "no channel %q", id)
	}
	return id, nil
}

func (h *handler) injectFault(w http.ResponseWriter, r *http.Request) error {
	id, err := pathChannel(r)
	if err != nil {
		return err
	}
	var req faultRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	res, err := h.net.Inject(id, sim.Fault{Kind: req.Kind, Code: req.Code, Seconds: req.Seconds, From: req.From, ID: req.ID})
	switch {
	case errors.Is(err, sim.ErrUnknownFault):
		return httpx.Errorf(http.StatusBadRequest, "kind: %q is not a fault (one of %v)", req.Kind, sim.FaultKinds())
	case errors.Is(err, sim.ErrBadFault):
		return httpx.Errorf(http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), "sim: bad fault: "))
	case errors.Is(err, sim.ErrSessionNotFound):
		return httpx.Errorf(http.StatusConflict, "channel %s has no session on the sim network (is it running?): %s needs one", id, req.Kind)
	case err != nil:
		return err
	}
	out := faultResult{Success: true, Connected: res.Connected}
	if req.Kind == sim.FaultRetryReceipt {
		out.Answered = &res.Answered
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) channelStats(w http.ResponseWriter, r *http.Request) error {
	id, err := pathChannel(r)
	if err != nil {
		return err
	}
	st := h.net.ChannelStats(id)
	out := channelStats{ChannelID: id, Connects: len(st.Connects), ConnectTimes: []int64{}, Faults: st.Faults,
		Redelivered: st.Redelivered, IngestFailures: st.IngestFailures,
		RetriesAnswered: st.RetriesAnswered, RetriesUnanswered: st.RetriesUnanswered}
	if out.Faults == nil {
		out.Faults = []string{}
	}
	times := st.Connects
	if len(times) > 100 {
		times = times[len(times)-100:]
	}
	for _, t := range times {
		out.ConnectTimes = append(out.ConnectTimes, t.UnixMilli())
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

type sessionInfo struct {
	ChannelID string `json:"channel_id"`
	Open      int    `json:"open"`
	Connected bool   `json:"connected"`
	Device    string `json:"device,omitempty"`
}

// sessions lists the channels with a session open on the network: what
// runs where it should (in a cluster, never two sessions of one channel).
func (h *handler) sessions(w http.ResponseWriter, r *http.Request) error {
	list := h.net.Sessions()
	out := make([]sessionInfo, len(list))
	for i, s := range list {
		out[i] = sessionInfo{ChannelID: s.ChannelID, Open: s.Open, Connected: s.Connected, Device: s.Device}
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"sessions": out, "count": len(out)})
	return nil
}
