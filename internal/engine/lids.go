package engine

import "context"

// LIDLookup is a session that knows users' LIDs: the privacy identifiers
// ("123456789012345@lid") WhatsApp uses for a user next to the phone
// number.
type LIDLookup interface {
	// LIDs returns the LID of each user (user JIDs) it knows, by user;
	// users whose LID is not known are left out.
	LIDs(ctx context.Context, users []string) (map[string]string, error)
}
