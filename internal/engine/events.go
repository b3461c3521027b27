package engine

import "time"

// Event is something that happened on a session. The concrete types below
// (and Presence) are all there is; switch on them.
//
// Lifecycle events go to SessionConfig.Events: QR, QRTimeout, Linked,
// LinkFailed, Connected, Disconnected, StreamError, KeepAliveLost,
// KeepAliveRestored, LoggedOut, StreamReplaced, TemporaryBan,
// ClientOutdated, ConnectFailure. Data events go to SessionConfig.Ingest,
// which acknowledges them: Message, Receipt, GroupChange, Presence,
// Undecryptable, Call, LIDMappings, HistoryNotice, ChatStateChange,
// LabelChange, LabelChatChange.
type Event interface{ event() }

// IsData reports whether ev is a data event (delivered through Ingest).
func IsData(ev Event) bool {
	switch ev.(type) {
	case Message, Receipt, GroupChange, Presence, Undecryptable, Call, LIDMappings, HistoryNotice,
		ChatStateChange, LabelChange, LabelChatChange:
		return true
	}
	return false
}

// QR is a new login QR code to show; it is valid until Expires.
type QR struct {
	Code    string
	Expires time.Time
}

// QRTimeout ends a login flow nobody completed (all codes expired).
type QRTimeout struct{}

// Linked reports a successful login by QR or pairing code. Device must be
// stored and given back as SessionConfig.Device on the next Open.
type Linked struct {
	Device  string
	Account Account
}

// LinkFailed reports a login attempt that failed (e.g. the phone refused).
type LinkFailed struct{ Reason string }

// Connected reports the session is online and logged in.
type Connected struct{}

// Disconnected reports a lost connection. The session stays offline (the
// login is kept) until the next Connect.
type Disconnected struct {
	// Reason says why, when the engine knows ("" otherwise).
	Reason string
}

// StreamError reports that WhatsApp ended the stream with an error code
// (503 and unknown codes); Disconnected follows. It is transient: the login
// is kept and reconnecting may help.
type StreamError struct{ Code string }

// KeepAliveLost reports that WhatsApp stopped answering keepalive pings
// since LastSuccess: the connection may be dead although no socket error
// was seen yet. KeepAliveRestored or Disconnected follows.
type KeepAliveLost struct {
	Failures    int
	LastSuccess time.Time
}

// KeepAliveRestored reports that WhatsApp answers pings again.
type KeepAliveRestored struct{}

// LoggedOut is final: the device was unlinked (from the phone or by
// WhatsApp). The session is unlinked; a new login is needed. It is the only
// event that means the device is gone.
type LoggedOut struct {
	Reason string
	// Code is WhatsApp's code (401, 403, 406...) when it gave one.
	Code int
}

// StreamReplaced: another client connected with the same device. The
// connection is closed; the login is kept. Connecting again would take the
// device back from the other client (which would then be replaced in turn).
type StreamReplaced struct{}

// TemporaryBan: WhatsApp refuses the account until Expires has passed
// (zero: WhatsApp gave no time). The login is kept.
type TemporaryBan struct {
	// Code is WhatsApp's ban reason code.
	Code    int
	Reason  string
	Expires time.Duration
}

// ClientOutdated: WhatsApp refuses the client version the engine announced
// (405 client outdated, 409 bad user agent). The login is kept; connecting
// with a newer version helps, connecting again with the same one does not.
type ClientOutdated struct {
	// Code is 405 or 409.
	Code int
	// Version is the version the engine announced.
	Version string
}

// ConnectFailure reports that WhatsApp refused the connection for another
// reason (unknown or server-side codes). The login is kept; it may be
// retried.
type ConnectFailure struct {
	Code   int
	Reason string
}

// Message is a message received, or sent from another device of the
// account. Text is Content.Text (kept for text-only consumers).
type Message struct {
	ID       string
	Chat     string // chat JID
	Sender   string // sender JID
	PushName string
	FromMe   bool
	Text     string
	Time     time.Time
	// Content is the message's content; a zero Kind means KindText.
	Content Content
}

// Undecryptable reports a message that arrived but could not be decrypted.
// The engine has asked the sender (and the account's phone) to send it
// again; when that works, a Message with the same ID follows.
type Undecryptable struct {
	ID       string
	Chat     string
	Sender   string
	PushName string
	FromMe   bool
	Time     time.Time
	// Unavailable: WhatsApp says the message is not available to this
	// device at all (view-once on a companion, and the like), rather than
	// a decryption failure.
	Unavailable bool
}

// ReceiptType is what a receipt says happened to messages.
type ReceiptType string

// Receipt types.
const (
	ReceiptDelivered ReceiptType = "delivered"
	ReceiptRead      ReceiptType = "read"
	ReceiptPlayed    ReceiptType = "played"
)

// Receipt reports that sent messages were delivered or read.
type Receipt struct {
	IDs    []string
	Chat   string
	Sender string // who delivered or read them
	Type   ReceiptType
	Time   time.Time
}

// GroupChange reports a change of a group the account is in.
type GroupChange struct {
	Group  string // group JID
	Actor  string // who made the change, when known
	Action string // "create", "join", "leave", "add", "remove", "promote", "demote", "subject", "description", "settings"
	// Participants affected by add/remove/promote/demote/join/leave.
	Participants []string
	Subject      string // new subject for "subject" and "create"
	Description  string // new description for "description"
	Time         time.Time
}

func (QR) event()                {}
func (QRTimeout) event()         {}
func (Linked) event()            {}
func (LinkFailed) event()        {}
func (Connected) event()         {}
func (Disconnected) event()      {}
func (StreamError) event()       {}
func (KeepAliveLost) event()     {}
func (KeepAliveRestored) event() {}
func (LoggedOut) event()         {}
func (StreamReplaced) event()    {}
func (TemporaryBan) event()      {}
func (ClientOutdated) event()    {}
func (ConnectFailure) event()    {}
func (Message) event()           {}
func (Undecryptable) event()     {}
func (Receipt) event()           {}
func (GroupChange) event()       {}
