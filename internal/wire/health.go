package wire

import (
	"time"

	"github.com/wagate/wagate/internal/runtime"
)

// ChannelStatus is a channel's connection status as a code and a text
// (Whapi's ChannelStatus, plus 7 STOP).
type ChannelStatus struct {
	Code int    `json:"code"`
	Text string `json:"text"`
}

// NewChannelStatus converts a runtime status for the wire.
func NewChannelStatus(s runtime.Status) ChannelStatus {
	return ChannelStatus{Code: int(s), Text: s.String()}
}

// Server describes the running wagate, as /health shows it.
type Server struct {
	// Version is wagate's version.
	Version string
	// Engine is what connects channels to WhatsApp ("whatsmeow" or "sim").
	Engine string
}

// Health is a channel's health as GET /health shows it (Whapi's Health,
// plus the connection's state in detail).
type Health struct {
	ChannelID  string        `json:"channel_id"`
	StartAt    int64         `json:"start_at"`
	Uptime     int64         `json:"uptime"`
	Version    string        `json:"version"`
	APIVersion string        `json:"api_version"`
	Engine     string        `json:"engine"`
	Status     ChannelStatus `json:"status"`
	State      State         `json:"state"`
	User       *Contact      `json:"user,omitempty"`
	Error      string        `json:"error,omitempty"`
}

// State is what a channel's connection does, in more detail than its
// status, and what happens next (runtime.State).
type State struct {
	Name string `json:"name"`
	// Reason says why the channel is not online.
	Reason string `json:"reason,omitempty"`
	// Code is WhatsApp's code for the state (405, a ban reason...).
	Code int `json:"code,omitempty"`
	// Attempt counts automatic retries since the channel was last online;
	// NextTry is when the next is due (epoch seconds).
	Attempt int   `json:"attempt,omitempty"`
	NextTry int64 `json:"next_try,omitempty"`
	// Until is when a temporary ban ends (epoch seconds), when known.
	Until int64 `json:"until,omitempty"`
}

// NewState converts a runtime snapshot's state for the wire.
func NewState(st runtime.Health) State {
	name := st.State
	if name == "" {
		name = runtime.StateNotStarted
	}
	out := State{Name: string(name), Reason: st.Error, Code: st.Code, Attempt: st.Attempt}
	if !st.NextTry.IsZero() {
		out.NextTry = st.NextTry.Unix()
	}
	if !st.Until.IsZero() {
		out.Until = st.Until.Unix()
	}
	return out
}

// NewHealth converts a channel's runtime snapshot for the wire at time now.
func NewHealth(channelID string, st runtime.Health, srv Server, now time.Time) Health {
	out := Health{
		ChannelID: channelID, Version: srv.Version, APIVersion: APIVersion, Engine: srv.Engine,
		Status: NewChannelStatus(st.Status), State: NewState(st), Error: st.Error,
	}
	if !st.StartedAt.IsZero() {
		out.StartAt = st.StartedAt.Unix()
		out.Uptime = int64(now.Sub(st.StartedAt).Seconds())
	}
	if st.Phone != "" {
		u := NewUser(st.Phone, st.Name)
		out.User = &u
	}
	return out
}
