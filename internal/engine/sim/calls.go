package sim

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"github.com/wagate/wagate/internal/engine"
)

// Calls and poll votes from phones. A phone calls another account
// (Network.Call): the account's devices get an engine.Call offer; the
// callee's phone may answer (AcceptCall), the caller may hang up (EndCall),
// and a linked session may reject it (Session.RejectCall). A phone votes on
// a poll it sees (Vote): the chat's devices get a KindPollVote message with
// the SHA-256 hashes of the chosen option names, as WhatsApp sends them.

// Call states on the phone side.
const (
	CallRinging  = "ringing"
	CallAnswered = "answered"
	CallRejected = "rejected"
	CallEnded    = "ended"
)

type call struct {
	id, from, to string
	video        bool
	status       string
}

// CallInfo is a call as the phone-side API shows it.
type CallInfo struct {
	ID     string `json:"id"`
	From   string `json:"from"`
	To     string `json:"to"`
	Video  bool   `json:"video"`
	Status string `json:"status"`
}

func (c *call) view() CallInfo {
	return CallInfo{ID: c.id, From: c.from, To: c.to, Video: c.video, Status: c.status}
}

// Call is a phone calling another account (to: digits, "+digits" or a user
// JID). Errors: ErrPhoneNotFound, engine.ErrInvalidPhone,
// ErrNotOnWhatsApp, ErrOwnNumber.
func (n *Network) Call(number, to string, video bool) (CallInfo, error) {
	callee, err := parseRecipient(to)
	if err != nil {
		return CallInfo{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return CallInfo{}, err
	}
	if callee == p.number {
		return CallInfo{}, ErrOwnNumber
	}
	r := n.phones[callee]
	if r == nil {
		return CallInfo{}, fmt.Errorf("%w: %s", ErrNotOnWhatsApp, callee)
	}
	c := &call{id: randHex(16), from: p.number, to: r.number, video: video, status: CallRinging}
	if n.calls == nil {
		n.calls = map[string]*call{}
	}
	if len(n.calls) >= 10000 {
		for id, old := range n.calls {
			if old.status != CallRinging && old.status != CallAnswered {
				delete(n.calls, id)
			}
		}
	}
	n.calls[c.id] = c
	n.callEvent(c, engine.CallOffer, "")
	return c.view(), nil
}

// callEvent gives a call event to the callee's devices.
func (n *Network) callEvent(c *call, status engine.CallStatus, reason string) {
	r := n.phones[c.to]
	if r == nil {
		return
	}
	ev := engine.Call{ID: c.id, From: JID(c.from), Chat: JID(c.from), Status: status, Video: c.video, Reason: reason, Time: n.opts.Now()}
	for _, d := range r.devices {
		n.toDevice(d, ev)
	}
}

// phoneCall is a call number takes part in.
func (n *Network) phoneCall(number, id string) (*call, error) {
	if _, err := n.phoneLocked(number); err != nil {
		return nil, err
	}
	c := n.calls[strings.TrimSpace(id)]
	if c == nil || (c.from != number && c.to != number) {
		return nil, fmt.Errorf("%w: %s has no call %q", engine.ErrCallNotFound, number, id)
	}
	return c, nil
}

// AcceptCall is the callee's phone answering a ringing call.
func (n *Network) AcceptCall(number, id string) (CallInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.phoneCall(number, id)
	if err != nil {
		return CallInfo{}, err
	}
	if c.to != number || c.status != CallRinging {
		return CallInfo{}, fmt.Errorf("%w: call %s is %s, not ringing at %s", ErrInvalidContent, id, c.status, number)
	}
	c.status = CallAnswered
	n.callEvent(c, engine.CallAccept, "")
	return c.view(), nil
}

// EndCall is either side hanging up; the callee's devices get a terminate
// ("timeout" when it was never answered).
func (n *Network) EndCall(number, id string) (CallInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.phoneCall(number, id)
	if err != nil {
		return CallInfo{}, err
	}
	if c.status == CallRejected || c.status == CallEnded {
		return c.view(), nil
	}
	reason := ""
	if c.status == CallRinging {
		reason = "timeout"
	}
	c.status = CallEnded
	n.callEvent(c, engine.CallTerminate, reason)
	return c.view(), nil
}

// Calls lists the calls a phone took part in.
func (n *Network) Calls(number string) ([]CallInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := n.phoneLocked(number); err != nil {
		return nil, err
	}
	out := []CallInfo{}
	for _, c := range n.calls {
		if c.from == number || c.to == number {
			out = append(out, c.view())
		}
	}
	slices.SortFunc(out, func(a, b CallInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// RejectCall rejects a call ringing at the session's account.
func (s *session) RejectCall(ctx context.Context, from, callID string) error {
	caller, err := parseRecipient(from)
	if err != nil {
		return err
	}
	return s.do(ctx, func(a actor) error {
		c := s.net.calls[strings.TrimSpace(callID)]
		if c == nil || c.to != a.p.number || c.from != caller {
			return fmt.Errorf("%w: no call %q from %s to %s", engine.ErrCallNotFound, callID, caller, a.p.number)
		}
		if c.status != CallRinging {
			return fmt.Errorf("%w: call %s is %s", engine.ErrCallNotFound, callID, c.status)
		}
		c.status = CallRejected
		s.net.callEvent(c, engine.CallTerminate, "reject")
		return nil
	})
}

// CallLink makes a call link (the sim does not place the call).
func (s *session) CallLink(ctx context.Context, video bool) (string, error) {
	kind := "voice"
	if video {
		kind = "video"
	}
	err := s.do(ctx, func(actor) error { return nil })
	if err != nil {
		return "", err
	}
	return "https://call.whatsapp.com/" + kind + "/" + strings.ToLower(randHex(11)), nil
}

// Vote is a phone voting on a poll it sees (options: the names it chooses
// now; none withdraws its vote). Errors: ErrPhoneNotFound,
// ErrMessageNotFound (no such poll), ErrInvalidContent (an option the
// poll does not have, a repeated one, more than the poll allows).
func (n *Network) Vote(number, pollID string, options []string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	a, t, err := n.phoneChatOf(number, pollID)
	if err != nil {
		return err
	}
	m := n.msgs[strings.TrimSpace(pollID)]
	if m.content.Kind != engine.KindPoll || m.content.Poll == nil || m.revoked {
		return fmt.Errorf("%w: %s is not a poll", ErrMessageNotFound, pollID)
	}
	p := m.content.Poll
	if p.Selectable > 0 && len(options) > p.Selectable {
		return fmt.Errorf("%w: the poll allows %d choices, got %d", ErrInvalidContent, p.Selectable, len(options))
	}
	hashes := make([][]byte, 0, len(options))
	seen := map[string]bool{}
	for _, o := range options {
		if !slices.Contains(p.Options, o) || seen[o] {
			return fmt.Errorf("%w: %q is not an option of the poll (or is repeated)", ErrInvalidContent, o)
		}
		seen[o] = true
		h := sha256.Sum256([]byte(o))
		hashes = append(hashes, h[:])
	}
	ev := engine.Content{Kind: engine.KindPollVote, PollVote: &engine.PollVote{PollID: m.id, OptionHashes: hashes}}
	n.fanout(a, t, n.recipients(a.p, t), a.newID(), ev, n.opts.Now())
	return nil
}
