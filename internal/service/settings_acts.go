package service

import (
	"context"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/wire"
)

// This file acts on the channel settings Whapi documents beyond webhooks:
// pass_through and sent_status (on_call_pager is kept for the call
// events that will use it).

// passThrough reports whether the channel's messages sent through the API
// are delivered to its webhooks (settings: pass_through, default true).
func (s *Service) passThrough(ctx context.Context, ch model.Channel) bool {
	st, err := s.ChannelSettings(ctx, ch)
	return err != nil || st.DeliversOwnMessages()
}

// sentStatus delivers statuses.post with status "sent" for a message
// WhatsApp took, when the channel's settings ask for it (sent_status).
func (s *Service) sentStatus(ctx context.Context, ch model.Channel, m model.Message) {
	st, err := s.ChannelSettings(ctx, ch)
	if err != nil || !st.SentStatus {
		return
	}
	m.Status = model.MessageSent
	s.enqueue(ctx, s.deliveries(ctx, ch, wire.TypeStatuses, wire.MethodPost, m.ChatID, func() ([]byte, error) {
		return wire.StatusesEvent(ch.ID, wire.MethodPost, []model.Message{m}, s.now())
	}))
}
