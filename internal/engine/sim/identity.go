package sim

import "github.com/wagate/wagate/internal/engine"

// Identity on the sim network: every phone has a LID (LID, derived from
// its number). WhatsApp addresses some users' messages by LID; a phone's
// message can be sent that way (Addressing), so that partners see offline
// what the real engine does: with the number beside the LID, the session
// reports the pair (engine.LIDMappings) and the message by number; with the
// LID alone, the message comes by LID until the pair is learned.

// Addressing is how a phone's message is addressed to the recipients'
// devices.
type Addressing string

// Addressings.
const (
	ByNumber  Addressing = "number"   // the phone-number JID (also "")
	ByLID     Addressing = "lid"      // the LID, with the number beside it
	ByLIDOnly Addressing = "lid_only" // the LID alone (the number hidden)
)

func (b Addressing) valid() bool {
	switch b {
	case "", ByNumber, ByLID, ByLIDOnly:
		return true
	}
	return false
}

// addressed is the sender address of the actor's messages as their
// recipients' sessions report it, and an event that goes before them (the
// pair a LID-addressed stanza teaches), nil when none.
func (a actor) addressed() (string, engine.Event) {
	switch a.by {
	case ByLID:
		return a.jid(), engine.LIDMappings{Pairs: []engine.LIDPair{{LID: LID(a.p.number), PN: a.jid()}}}
	case ByLIDOnly:
		return LID(a.p.number), nil
	}
	return a.jid(), nil
}
