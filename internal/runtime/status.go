// Package runtime keeps channels alive: one supervisor goroutine per channel
// owns its engine session, follows its status, reconnects with capped
// backoff, and is isolated from every other channel (a panic or a hang in
// one never touches another).
package runtime

import "time"

// Status is a channel's connection status, with the codes of Whapi's gate API
// (NOT_INIT 0 ... SYNC_ERROR 6) plus STOP for a stopped or expired channel.
type Status int

// Statuses.
const (
	StatusNotInit   Status = 0
	StatusInit      Status = 1 // supervisor up, no connection attempt running
	StatusLaunch    Status = 2 // connecting
	StatusQR        Status = 3 // waiting for a phone to scan the QR code or enter the code
	StatusAuth      Status = 4 // linked and online
	StatusError     Status = 5 // failed; retried with backoff unless final
	StatusSyncError Status = 6
	StatusStop      Status = 7 // stopped by the partner or out of days
)

var statusText = map[Status]string{
	StatusNotInit: "NOT_INIT", StatusInit: "INIT", StatusLaunch: "LAUNCH", StatusQR: "QR",
	StatusAuth: "AUTH", StatusError: "ERROR", StatusSyncError: "SYNC_ERROR", StatusStop: "STOP",
}

// String is the status text the API shows.
func (s Status) String() string { return statusText[s] }

// Health is a snapshot of one channel's runtime.
type Health struct {
	ChannelID string
	Status    Status
	// StartedAt is when the supervisor last started the channel.
	StartedAt time.Time
	// Phone and Name are the linked account's, when linked.
	Phone string
	Name  string
	// Error is the last failure, when Status is ERROR.
	Error string
	// QR is the current login QR code while Status is QR.
	QR        string
	QRExpires time.Time
	// LoginTimedOut is true when the last login flow ended unscanned.
	LoginTimedOut bool
}

// EventKind names a channel lifecycle event the runtime reports.
type EventKind string

// Lifecycle events.
const (
	EventStatus     EventKind = "status"      // Status changed
	EventQR         EventKind = "qr"          // a new QR code
	EventLinked     EventKind = "linked"      // a phone linked the channel
	EventLinkFailed EventKind = "link_failed" // login flow ended unscanned, or failed
	EventUnlinked   EventKind = "unlinked"    // logged out (by API, phone or WhatsApp)
)

// Event is a lifecycle event of one channel, for webhooks and logs.
type Event struct {
	ChannelID string
	// PartnerID is the channel's partner (which never changes), so that
	// handlers need not read the channel's row for it.
	PartnerID string
	Kind      EventKind
	Health    Health
	Reason    string
	Time      time.Time
	// Phone and Name are the account an unlinked event is about (Health no
	// longer has it).
	Phone, Name string
}
