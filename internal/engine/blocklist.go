package engine

import (
	"context"
	"errors"
)

// Blocker is a session that keeps the account's blocklist (users who can
// neither message nor call it). Sessions that cannot are not Blockers.
type Blocker interface {
	// Blocklist lists the blocked users (user JIDs).
	Blocklist(ctx context.Context) ([]string, error)
	// SetBlocked blocks (true) or unblocks (false) a user (a user JID).
	SetBlocked(ctx context.Context, user string, blocked bool) error
}

// ErrBlocked: the account blocked the user it sends to.
var ErrBlocked = errors.New("engine: the user is blocked; unblock them to send")
