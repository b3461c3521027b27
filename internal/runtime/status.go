// Package runtime keeps channels alive: one supervisor goroutine per channel
// owns its engine session, follows its state, reconnects with capped,
// jittered backoff, and is isolated from every other channel (a panic or a
// hang in one never touches another).
//
// The supervisor is the one owner of reconnection: engines never reconnect
// by themselves, and every automatic retry (after a lost connection, a
// refused client version, a ban, a failed start...) goes through the
// supervisor's retry timer with a backoff of its kind. Calls that change a
// channel (Apply, Restart, SetProxy, Remove) never wait for its supervisor:
// they post the change and return; the supervisor applies it in order.
// Incoming data (messages, receipts...) does not pass through the
// supervisor either: the engine hands it to Options.Ingest on its own
// receive path, and acknowledges it to WhatsApp only once it is stored.
package runtime

import "time"

// Status is a channel's connection status, with the codes of Whapi's gate API
// (NOT_INIT 0 ... SYNC_ERROR 6) plus STOP for a stopped or expired channel.
type Status int

// Statuses.
const (
	StatusNotInit   Status = 0
	StatusInit      Status = 1 // supervisor up, no connection attempt running
	StatusLaunch    Status = 2 // connecting or reconnecting
	StatusQR        Status = 3 // waiting for a phone to scan the QR code or enter the code
	StatusAuth      Status = 4 // linked and online
	StatusError     Status = 5 // failed; see State for why and whether it is retried
	StatusSyncError Status = 6
	StatusStop      Status = 7 // stopped by the partner or out of days
)

var statusText = map[Status]string{
	StatusNotInit: "NOT_INIT", StatusInit: "INIT", StatusLaunch: "LAUNCH", StatusQR: "QR",
	StatusAuth: "AUTH", StatusError: "ERROR", StatusSyncError: "SYNC_ERROR", StatusStop: "STOP",
}

// String is the status text the API shows.
func (s Status) String() string { return statusText[s] }

// State says what a channel's connection is doing, in more detail than its
// Status, and what happens next.
type State string

// States. Only StateLoggedOut means the WhatsApp link is gone; every other
// state keeps it.
const (
	// StateNotStarted: no supervisor runs the channel (NOT_INIT).
	StateNotStarted State = "not_started"
	// StateStopped: stopped by its partner or out of days (STOP).
	StateStopped State = "stopped"
	// StateConnecting: opening the session and connecting (LAUNCH).
	StateConnecting State = "connecting"
	// StateLogin: a login flow shows QR codes (or waits for a pairing code)
	// until a phone links the channel (QR).
	StateLogin State = "login"
	// StateLoginExpired: the last login flow ended unscanned; GET /health
	// or a login call starts a new one (INIT).
	StateLoginExpired State = "login_expired"
	// StateOnline: linked and connected (AUTH).
	StateOnline State = "online"
	// StateReconnecting: the connection was lost or could not be made; it
	// is tried again at NextTry, Attempt so far (LAUNCH).
	StateReconnecting State = "reconnecting"
	// StateKeepAliveLost: WhatsApp stopped answering keepalive pings; the
	// connection is given a grace period, then made anew (LAUNCH).
	StateKeepAliveLost State = "keepalive_lost"
	// StateClientOutdated: WhatsApp refuses the client version (405 or
	// 409, in Code). Tried again at once when a newer version is learned,
	// otherwise at NextTry (ERROR).
	StateClientOutdated State = "client_outdated"
	// StateBanned: WhatsApp banned the account temporarily, with its reason
	// code in Code, until Until (zero: WhatsApp gave no end; tried again at
	// NextTry, hours apart) (ERROR).
	StateBanned State = "banned"
	// StateReplaced: another client connected with this device. wagate does
	// not fight back: the channel stays offline until it is restarted
	// (ERROR).
	StateReplaced State = "replaced"
	// StateLoggedOut: the device was unlinked (from the phone, by WhatsApp
	// or through the API); the link is cleared and a new login flow starts
	// at NextTry (INIT).
	StateLoggedOut State = "logged_out"
	// StateProxyUnreachable: the channel's proxy did not carry the
	// connection; tried again at NextTry (ERROR).
	StateProxyUnreachable State = "proxy_unreachable"
	// StateFailed: the channel could not run for another reason (its
	// session could not be opened, an internal error); tried again at
	// NextTry (ERROR).
	StateFailed State = "failed"
	// StateMoving: cluster mode, the channel is between nodes (its shard
	// is being handed over, or its node died and another takes it over)
	// (LAUNCH).
	StateMoving State = "moving"
)

// Status is the Whapi status a state shows as.
func (st State) Status() Status {
	switch st {
	case StateStopped:
		return StatusStop
	case StateConnecting, StateReconnecting, StateKeepAliveLost, StateMoving:
		return StatusLaunch
	case StateLogin:
		return StatusQR
	case StateLoginExpired, StateLoggedOut:
		return StatusInit
	case StateOnline:
		return StatusAuth
	case StateClientOutdated, StateBanned, StateReplaced, StateProxyUnreachable, StateFailed:
		return StatusError
	}
	return StatusNotInit
}

// States lists every state, for documentation and tests.
func States() []State {
	return []State{StateNotStarted, StateStopped, StateConnecting, StateLogin, StateLoginExpired, StateOnline,
		StateReconnecting, StateKeepAliveLost, StateClientOutdated, StateBanned, StateReplaced, StateLoggedOut,
		StateProxyUnreachable, StateFailed, StateMoving}
}

// Health is a snapshot of one channel's runtime.
type Health struct {
	ChannelID string
	Status    Status
	State     State
	// Error says why the channel is not online (the last failure, in words
	// a partner can act on), "" when there is nothing to say.
	Error string
	// Code is WhatsApp's code for the state, when it gave one (405, a ban
	// reason, a stream error or connect failure code); 0 otherwise.
	Code int
	// Attempt counts the automatic retries since the channel was last
	// online (or started); NextTry is when the next one is due (zero: none
	// is scheduled).
	Attempt int
	NextTry time.Time
	// Until is when a temporary ban ends, when WhatsApp said.
	Until time.Time
	// StartedAt is when the supervisor last started the channel.
	StartedAt time.Time
	// Phone and Name are the linked account's, when linked.
	Phone string
	Name  string
	// QR is the current login QR code while Status is QR.
	QR        string
	QRExpires time.Time
	// LoginTimedOut is true when the last login flow ended unscanned
	// (StateLoginExpired).
	LoginTimedOut bool
}

// EventKind names a channel lifecycle event the runtime reports.
type EventKind string

// Lifecycle events.
const (
	EventStatus     EventKind = "status"      // Status or State changed
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
