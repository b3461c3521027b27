package engine

import (
	"context"
	"time"
)

// Pinner is a session that pins messages in a chat for everyone.
type Pinner interface {
	// PinMessage pins a message of a chat (sender: its author, empty for
	// own messages) for d (WhatsApp offers 24 hours, 7 days or 30 days);
	// d == 0 unpins it. ErrMessageUnknown when the chat has no such
	// message (where the engine can tell).
	PinMessage(ctx context.Context, chat, sender, id string, d time.Duration) error
}
