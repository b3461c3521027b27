package wire

import (
	"errors"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/store"
)

// TypeCalls is the webhook event type of calls.
const TypeCalls = "calls"

// CallEvent is one call in a "calls" webhook, in Whapi's CallEvent shape:
// its status is ringing (an incoming call rings), answered, missed (never
// answered) or canceled (ended after it was answered, or rejected). Whapi
// has no status for a call that ended normally; canceled stands for it.
// Rejected and Reason are wagate's: whether wagate rejected it (the
// channel's calls.reject setting or DELETE /calls/{CallID}) and why
// WhatsApp said it ended.
type CallEvent struct {
	ID          string `json:"id"`
	ChatID      string `json:"chat_id"`
	Status      string `json:"status"`
	From        string `json:"from"`
	Timestamp   int64  `json:"timestamp"`
	GroupCall   bool   `json:"group_call"`
	VideoCall   bool   `json:"video_call"`
	OfflineCall bool   `json:"offline_call"`
	Rejected    bool   `json:"rejected,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// CallStatus is Whapi's status of a call after an engine event.
func CallStatus(c store.Call, e engine.Call) string {
	switch e.Status {
	case engine.CallOffer:
		if e.Offline {
			return "missed"
		}
		return "ringing"
	case engine.CallAccept:
		return "answered"
	case engine.CallMissed:
		return "missed"
	}
	if c.Answered || c.Rejected || e.Reason == "reject" {
		return "canceled"
	}
	return "missed"
}

// NewCallEvent renders a call after an engine event; chat and from are the
// IDs as the gate API shows them.
func NewCallEvent(c store.Call, e engine.Call, chat, from string) CallEvent {
	at := e.Time
	if at.IsZero() {
		at = c.UpdatedAt
	}
	return CallEvent{ID: c.ID, ChatID: chat, Status: CallStatus(c, e), From: from, Timestamp: at.Unix(),
		GroupCall: c.Group, VideoCall: c.Video, OfflineCall: e.Offline, Rejected: c.Rejected, Reason: e.Reason}
}

// CallsEvent is "calls" post.
func CallsEvent(channelID string, calls []CallEvent) ([]byte, error) {
	if len(calls) == 0 {
		return nil, errors.New("wire: calls event: no calls")
	}
	return channelBody(channelID, EventKind{TypeCalls, MethodPost}, field{"calls", calls})
}
