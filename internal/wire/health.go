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

// Health is a channel's health as GET /health shows it (Whapi's Health).
type Health struct {
	ChannelID  string        `json:"channel_id"`
	StartAt    int64         `json:"start_at"`
	Uptime     int64         `json:"uptime"`
	Version    string        `json:"version"`
	APIVersion string        `json:"api_version"`
	Engine     string        `json:"engine"`
	Status     ChannelStatus `json:"status"`
	User       *Contact      `json:"user,omitempty"`
	Error      string        `json:"error,omitempty"`
}

// NewHealth converts a channel's runtime snapshot for the wire at time now.
func NewHealth(channelID string, st runtime.Health, srv Server, now time.Time) Health {
	out := Health{
		ChannelID: channelID, Version: srv.Version, APIVersion: APIVersion, Engine: srv.Engine,
		Status: NewChannelStatus(st.Status), Error: st.Error,
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
