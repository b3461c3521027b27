package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// ingestTimeout bounds the storage of one engine event.
const ingestTimeout = 10 * time.Second

// Ingest stores what a channel's session reports (messages, receipts,
// group changes, presences, undecryptable messages), with their webhook
// deliveries, before the engine acknowledges the event to WhatsApp: the
// engine calls it on its receive path, one event at a time per channel and
// in order. An error means nothing was stored; the engine then does not
// acknowledge, and WhatsApp delivers the event again. An event WhatsApp
// delivers twice is stored once. Slow work (media downloads) is handed off.
func (s *Service) Ingest(ctx context.Context, channelID string, ev engine.Event) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ingestTimeout)
	defer cancel()
	ch, err := s.channelByID(ctx, channelID)
	if err != nil {
		// A deleted channel's last events have nowhere to go: acknowledge
		// them. Any other failure is retried by WhatsApp.
		if errors.Is(err, model.ErrNotFound) {
			s.log.Warn("engine event for an unknown channel dropped", "channel_id", channelID, "error", err)
			return nil
		}
		return fmt.Errorf("ingest %s: %w", eventName(ev), err)
	}
	// U+0000 in any text (a message, a name) is kept as U+FFFD (nul.go).
	ev = replaceNUL(ev)
	// A LID the channel knows arrives as its number (identity.go).
	if ev, err = s.phones(ctx, ch, ev); err != nil {
		return fmt.Errorf("ingest %s: %w", eventName(ev), err)
	}
	switch e := ev.(type) {
	case engine.LIDMappings:
		err = s.ingestLIDs(ctx, ch, e)
	case engine.HistoryNotice:
		err = s.queueHistory(ctx, ch, e) // history.go
	case engine.Message:
		err = s.ingestMessage(ctx, ch, e)
	case engine.Undecryptable:
		err = s.ingestUndecryptable(ctx, ch, e)
	case engine.Receipt:
		err = s.ingestReceipt(ctx, ch, e)
	case engine.GroupChange:
		err = s.ingestGroupChange(ctx, ch, e)
	case engine.Presence:
		err = s.ingestPresence(ctx, ch, e)
	case engine.Call:
		err = s.ingestCall(ctx, ch, e)
	case engine.ChatStateChange:
		err = s.ingestChatState(ctx, ch, e)
	case engine.LabelChange:
		err = s.ingestLabel(ctx, ch, e)
	case engine.LabelChatChange:
		err = s.ingestLabelChat(ctx, ch, e)
	}
	if err != nil {
		return fmt.Errorf("ingest %s: %w", eventName(ev), err)
	}
	return nil
}

func eventName(ev engine.Event) string {
	switch ev.(type) {
	case engine.Message:
		return "message"
	case engine.Undecryptable:
		return "undecryptable message"
	case engine.Receipt:
		return "receipt"
	case engine.GroupChange:
		return "group change"
	case engine.Presence:
		return "presence"
	case engine.Call:
		return "call"
	case engine.LIDMappings:
		return "LID mappings"
	case engine.HistoryNotice:
		return "history notice"
	case engine.ChatStateChange:
		return "chat state change"
	case engine.LabelChange:
		return "label change"
	case engine.LabelChatChange:
		return "chat label change"
	}
	return "event"
}
