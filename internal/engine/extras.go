package engine

import (
	"context"
	"errors"
	"time"
)

// Received media that can be fetched later, calls and poll votes: the
// parts of WhatsApp a linked device sees beside plain messages.

// ErrMediaGone: a received file is no longer on WhatsApp's servers and the
// sender's phone could not upload it again (it deleted the file, or did
// not answer in time).
var ErrMediaGone = errors.New("engine: the file is gone from WhatsApp and the sender's phone")

// MediaRequest is what DownloadMedia needs: the file's reference as the
// engine gave it (Media.Ref) and the message it came with (to ask the
// sender's phone for a new upload when WhatsApp's copy expired).
type MediaRequest struct {
	Ref       string
	MessageID string
	Chat      string
	Sender    string
	FromMe    bool
}

// CallStatus is what a call event reports.
type CallStatus string

// Call statuses. A call the account rejected (RejectCall) ends with
// CallTerminate.
const (
	CallOffer     CallStatus = "offer"     // an incoming call rings
	CallAccept    CallStatus = "accept"    // answered (on one of the account's devices)
	CallTerminate CallStatus = "terminate" // ended: hung up, rejected or timed out
	CallMissed    CallStatus = "missed"    // a call offered while the device was offline (an offer notice)
)

// Call reports a voice or video call of the account (a data event).
type Call struct {
	ID string
	// From is the caller (a user JID); Chat the chat the call belongs to
	// (the caller's chat, or the group of a group call).
	From, Chat string
	Status     CallStatus
	Video      bool
	Group      bool
	// Offline: WhatsApp reported the call after the fact (the device was
	// offline while it rang).
	Offline bool
	// Reason is why a call ended, when WhatsApp said ("timeout", "reject").
	Reason string
	Time   time.Time
}

func (Call) event() {}

// PollVote is a decrypted vote on a poll (Content.PollVote of a
// KindPollVote message): the options a voter chose now, as SHA-256 hashes
// of the option names (WhatsApp's form); an empty list withdraws the vote.
type PollVote struct {
	PollID       string
	OptionHashes [][]byte
}

// Extras are actions beside messages: received files downloaded on
// demand, and calls.
type Extras interface {
	// DownloadMedia downloads a received file by its Media.Ref. When
	// WhatsApp's copy expired it asks the sender's phone to upload it
	// again and waits for that (bounded by ctx); ErrMediaGone when the
	// file is gone everywhere.
	DownloadMedia(ctx context.Context, req MediaRequest) ([]byte, error)
	// RejectCall rejects an incoming call (from: the caller's JID).
	RejectCall(ctx context.Context, from, callID string) error
	// CallLink creates a link people open to join a call (video or voice).
	CallLink(ctx context.Context, video bool) (string, error)
}

func (Unsupported) DownloadMedia(context.Context, MediaRequest) ([]byte, error) {
	return nil, ErrUnsupported
}
func (Unsupported) RejectCall(context.Context, string, string) error { return ErrUnsupported }
func (Unsupported) CallLink(context.Context, bool) (string, error) {
	return "", ErrUnsupported
}

// ErrCallNotFound: RejectCall for a call the account has no record of (it
// ended, or never rang).
var ErrCallNotFound = errors.New("engine: call not found")
