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

// LIDPair is one user's LID ("<digits>@lid") and phone-number JID
// ("<digits>@s.whatsapp.net"), without device parts.
type LIDPair struct {
	LID string
	PN  string
}

// LIDMappings is a data event: LID and phone-number pairs the engine
// learned (from a stanza carrying both forms, its LID store, a lookup or a
// history sync). An engine reports a pair before the first event that
// uses it; it may report a pair again. The owner keeps them so that a
// conversation that started under one form and continues under the other
// stays one chat.
type LIDMappings struct {
	Pairs []LIDPair
}

func (LIDMappings) event() {}
