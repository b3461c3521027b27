package service

import (
	"context"
	"time"

	"github.com/wagate/wagate/internal/engine"
)

// ingestTimeout bounds the storage of one engine event.
const ingestTimeout = 10 * time.Second

// HandleEngineEvent stores what a channel's session reports (messages,
// receipts, group changes, presences). The runtime calls it on the
// channel's supervisor, one event at a time in order, so it must not block
// for long: slow work (media downloads) is handed off.
func (s *Service) HandleEngineEvent(channelID string, ev engine.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), ingestTimeout)
	defer cancel()
	ch, err := s.channelByID(ctx, channelID)
	if err != nil {
		s.log.Warn("engine event for an unknown channel dropped", "channel_id", channelID, "error", err)
		return
	}
	// U+0000 in any text (a message, a name) is kept as U+FFFD (nul.go).
	ev = replaceNUL(ev)
	switch e := ev.(type) {
	case engine.Message:
		err = s.ingestMessage(ctx, ch, e)
	case engine.Receipt:
		err = s.ingestReceipt(ctx, ch, e)
	case engine.GroupChange:
		err = s.ingestGroupChange(ctx, ch, e)
	case engine.Presence:
		err = s.ingestPresence(ctx, ch, e)
	}
	if err != nil {
		s.log.Error("could not store an engine event", "channel_id", channelID, "event", eventName(ev), "error", err)
	}
}

func eventName(ev engine.Event) string {
	switch ev.(type) {
	case engine.Message:
		return "message"
	case engine.Receipt:
		return "receipt"
	case engine.GroupChange:
		return "group"
	case engine.Presence:
		return "presence"
	}
	return "other"
}
