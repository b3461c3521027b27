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
	// ValidateProxy says whether the engine can use a proxy URL
	// (ErrBadProxy when not); "" (direct) is always valid. It does not
	// connect.
	ValidateProxy(proxy string) error
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
	// Events receives the session's lifecycle events (everything but the
	// data events below), one at a time in order. It must return quickly
	// (hand work off); it must not call back into the session.
	Events func(Event)
	// Ingest stores a data event (Message, Receipt, GroupChange, Presence,
	// Undecryptable) before the engine acknowledges it to WhatsApp. The
	// engine calls it on its receive path, one event at a time per session
	// and in order, and waits for it: an error means "not stored", and the
	// engine then does not acknowledge the event, so that WhatsApp delivers
	// it again on a later connection. It must not call back into the
	// session. Nil: data events are dropped (acknowledged).
	Ingest func(ctx context.Context, ev Event) error
	// SentPayload returns what SentMessage.Payload was for a message this
	// channel sent (nil when unknown), so that the engine can answer a
	// recipient's request to send it again (a retry receipt) after its
	// in-memory copies are gone. Nil: only in-memory copies are used.
	SentPayload func(ctx context.Context, messageID string) ([]byte, error)
}

// Session is one channel's connection to WhatsApp. Methods are safe for
// concurrent use. After Close, no more events are delivered.
//
// A session never reconnects by itself: after Disconnected (or any other
// event that ends the connection) it stays offline until the next Connect.
// Its owner (the runtime) decides when, with backoff.
type Session interface {
	// Connect starts connecting and returns without waiting for the login.
	// A linked session logs in (Connected, or a final event such as
	// LoggedOut). An unlinked one starts the login flow: QR events as codes
	// rotate, until Linked (then Connected) or QRTimeout. A Connect that
	// fails before WhatsApp answered returns the error (ErrProxyUnreachable
	// when the session's proxy did not carry the connection).
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

// Reconciler is an engine that keeps devices of its own (whatsmeow's device
// store) and can drop those no channel owns any more.
type Reconciler interface {
	// Devices lists the devices the engine keeps.
	Devices(ctx context.Context) ([]string, error)
	// RemoveDevice drops a device the engine keeps, without telling
	// WhatsApp (it is no channel's: nobody can log it out any more).
	RemoveDevice(ctx context.Context, device string) error
}

// ClientVersion is the client version an engine announces to WhatsApp,
// and where it came from.
type ClientVersion struct {
	// Version is "x.y.z".
	Version string
	// Source: "config" (pinned by the operator), "whatsapp" (learned from
	// WhatsApp), "stored" (learned earlier, WhatsApp not asked yet),
	// "builtin" (the library's own).
	Source string
	// LearnedAt is when the version was learned from WhatsApp (zero for
	// config and builtin).
	LearnedAt time.Time
	// CheckedAt is when WhatsApp was last asked; CheckError what went
	// wrong then ("" when it answered).
	CheckedAt  time.Time
	CheckError string
	// Latest is what WhatsApp said last (it may differ from Version when
	// the operator pinned one).
	Latest string
}

// Versioned is an engine whose client version WhatsApp checks.
type Versioned interface {
	// ClientVersion is the version in use.
	ClientVersion() ClientVersion
	// RefreshClientVersion asks WhatsApp for its current version now and
	// uses it (unless pinned).
	RefreshClientVersion(ctx context.Context) (ClientVersion, error)
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
	// ErrProxyUnreachable: the session's proxy did not answer, or did not
	// carry the connection to WhatsApp. Errors that wrap it say so without
	// naming what answered on the proxy's side.
	ErrProxyUnreachable = errors.New("engine: the proxy did not carry the connection")
	// ErrReachoutLimited: WhatsApp refuses, for now, messages from this
	// account to people it has not talked with (WhatsApp's error 463).
	ErrReachoutLimited = errors.New("engine: WhatsApp refuses messages to new contacts from this account for now (error 463)")
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

// SentMessage is what a send reports.
type SentMessage struct {
	ID   string
	Chat string
	Time time.Time
	// Payload is the message as the engine encoded it, opaque to the
	// caller, who keeps it for SessionConfig.SentPayload (nil when the
	// engine has nothing to keep).
	Payload []byte
}
