// Package wire holds the JSON shapes that the gate API and webhooks share -
// messages, chats, groups, contacts, presences and a channel's health, as
// Whapi's gate API shows them - and the builders of every webhook body
// (events.go).
//
// It depends only on the domain packages (model, store, engine, runtime),
// never on the service or the HTTP surfaces, so whatever enqueues webhook
// events (the service, the webhook outbox) can import it without a cycle.
package wire

import (
	"strings"
	"time"
)

// APIVersion is the version of Whapi's gate API the shapes follow.
const APIVersion = "1.8.7"

// userServer is the server part of a WhatsApp user's JID.
const userServer = "s.whatsapp.net"

// phoneOf is the number of a user's JID, "" for any other JID (as
// service.PhoneOf).
func phoneOf(jid string) string {
	user, server, _ := strings.Cut(jid, "@")
	if server != userServer {
		return ""
	}
	return user
}

// Phone is how the gate API shows a user: the number of its JID; a user
// known only by its LID stays "<digits>@lid" (its digits are no phone
// number); the user part of other JIDs.
func Phone(jid string) string {
	if p := phoneOf(jid); p != "" {
		return p
	}
	if strings.HasSuffix(jid, "@lid") {
		return jid
	}
	user, _, _ := strings.Cut(jid, "@")
	return user
}

// phones applies Phone to each JID.
func phones(jids []string) []string {
	out := make([]string, len(jids))
	for i, j := range jids {
		out[i] = Phone(j)
	}
	return out
}

// seconds is a time as Unix seconds (the gate API's), 0 when unknown.
func seconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
