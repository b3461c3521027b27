// Package engine declares what wagate needs from a WhatsApp implementation:
// an Engine opens one Session per channel; a Session connects, emits Events
// and performs actions. Nothing above this package knows which engine runs
// (whatsmeow, the real WhatsApp Web multi-device protocol, or sim, the
// in-process simulated network).
package engine

import (
	"context"
	"errors"
	"time"
)

// Engine is one WhatsApp implementation.
type Engine interface {
	// Name is "whatsmeow" or "sim".
	Name() string
	// Open prepares a session for a channel. It does not connect and must
	// not block on the network. An unknown or unusable cfg.Device is an
	// error (ErrDeviceNotFound): an engine never silently replaces a linked
	// device with a new one.
	Open(ctx context.Context, cfg SessionConfig) (Session, error)
	// Close releases what the engine holds for all sessions.
	Close() error
}

// SessionConfig is what a session is opened with.
type SessionConfig struct {
	ChannelID string
	// Device is the engine's identity of a linked device, as reported by a
	// Linked event and stored by the caller. Empty: not linked yet; Connect
	// then starts the login flow.
	Device string
	// Proxy is a proxy URL (socks5://user:pass@host:port, http://...), or
	// empty for a direct connection.
	Proxy string
	// Events receives the session's events, one at a time in order. It must
	// return quickly (hand work off); it must not call back into the session.
	Events func(Event)
}

// Session is one channel's connection to WhatsApp. Methods are safe for
// concurrent use. After Close, no more events are delivered.
type Session interface {
	// Connect starts connecting and returns without waiting for the login.
	// A linked session logs in (Connected, or a final event such as
	// LoggedOut). An unlinked one starts the login flow: QR events as codes
	// rotate, until Linked (then Connected) or QRTimeout.
	Connect(ctx context.Context) error
	// Disconnect closes the connection and keeps the login.
	Disconnect()
	// Logout tells WhatsApp to unlink this device, then forgets it locally.
	// Afterwards the session is unlinked; Connect starts a new login flow.
	Logout(ctx context.Context) error
	// Forget drops the local device without talking to WhatsApp (hard
	// unlink), for a session that does not answer.
	Forget(ctx context.Context) error
	// PairPhone asks for an 8-character pairing code for phone (digits only)
	// while the login flow runs; the user types it on that phone. It is
	// ErrNotInLoginFlow when no login flow runs.
	PairPhone(ctx context.Context, phone string) (string, error)
	// SetProxy changes the proxy; it applies on the next Connect.
	SetProxy(proxy string) error
	// Linked reports whether the session has a device (logged in or not).
	Linked() bool
	// Self is the linked account; zero when not linked.
	Self() Account
	// Profile reads the linked account's profile.
	Profile(ctx context.Context) (Profile, error)
	// SetProfile changes the linked account's name and/or about text.
	SetProfile(ctx context.Context, p ProfileUpdate) error
	// SendText sends a text message to a chat (a phone number or JID).
	SendText(ctx context.Context, to, text string) (SentMessage, error)
	// MarkRead marks messages of a chat as read (read receipts).
	MarkRead(ctx context.Context, chat, sender string, ids []string) error
	// Actor is everything else a linked session does.
	Actor
	// Close disconnects and releases the session; it keeps the login.
	Close() error
}

// Errors engines return.
var (
	ErrDeviceNotFound = errors.New("engine: stored device not found")
	ErrNotLinked      = errors.New("engine: not linked to a WhatsApp account")
	ErrNotConnected   = errors.New("engine: not connected")
	ErrNotInLoginFlow = errors.New("engine: no login flow running")
	ErrAlreadyLinked  = errors.New("engine: already linked")
	ErrInvalidPhone   = errors.New("engine: invalid phone number")
	ErrBadProxy       = errors.New("engine: invalid proxy URL")
)

// Account identifies a WhatsApp account.
type Account struct {
	// Phone is the number, digits only.
	Phone string
	// Name is the push name, when known.
	Name string
}

// Profile is an account's public profile.
type Profile struct {
	Name    string
	About   string
	Picture string // URL, when there is one
}

// ProfileUpdate changes a profile; nil fields stay.
type ProfileUpdate struct {
	Name  *string
	About *string
}

// SentMessage is what SendText reports.
type SentMessage struct {
	ID   string
	Chat string
	Time time.Time
}

// Event is something that happened on a session. The concrete types below
// are all there is; switch on them.
type Event interface{ event() }

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

// Disconnected reports a lost connection; the engine may reconnect itself,
// otherwise the runtime does.
type Disconnected struct{ Err error }

// LoggedOut is final: the device was unlinked (from the phone or by
// WhatsApp). The session is unlinked; a new login is needed.
type LoggedOut struct{ Reason string }

// StreamReplaced is final: another client connected with the same device.
type StreamReplaced struct{}

// TemporaryBan is final until Expires: WhatsApp refused the account.
type TemporaryBan struct {
	Reason  string
	Expires time.Duration
}

// ConnectFailure reports that WhatsApp refused the connection. Permanent
// failures need a new login; others may be retried.
type ConnectFailure struct {
	Reason    string
	Permanent bool
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

func (QR) event()             {}
func (QRTimeout) event()      {}
func (Linked) event()         {}
func (LinkFailed) event()     {}
func (Connected) event()      {}
func (Disconnected) event()   {}
func (LoggedOut) event()      {}
func (StreamReplaced) event() {}
func (TemporaryBan) event()   {}
func (ConnectFailure) event() {}
func (Message) event()        {}
func (Receipt) event()        {}
func (GroupChange) event()    {}
