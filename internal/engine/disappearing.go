package engine

import (
	"context"
	"time"
)

// DisappearingSetter is a session that turns disappearing messages on or
// off in a chat.
type DisappearingSetter interface {
	// SetDisappearing makes new messages of a chat disappear after d
	// (WhatsApp offers 24 hours, 7 days and 90 days); 0 turns it off.
	SetDisappearing(ctx context.Context, chat string, d time.Duration) error
}
