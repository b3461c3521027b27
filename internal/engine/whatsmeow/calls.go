package whatsmeow

import (
	"context"
	"fmt"
	"strings"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/internal/engine"
)

// Calls: whatsmeow reports the call signalling a linked device sees
// (offers, accepts, ends); a linked device cannot take part in a call, but
// it can reject one for the whole account.

// errNoCallLinks: WhatsApp offers call links to phones only.
var errNoCallLinks = fmt.Errorf("%w: WhatsApp lets only the phone app create call links; a linked device (whatsmeow) has no request for it", engine.ErrUnsupported)

// mapCall maps whatsmeow's call events (ok false for others).
func mapCall(evt any) (engine.Call, bool) {
	var (
		meta types.BasicCallMeta
		c    engine.Call
	)
	switch e := evt.(type) {
	case *events.CallOffer:
		meta, c.Status = e.BasicCallMeta, engine.CallOffer
		c.Video = e.Data != nil && hasChild(e.Data.GetChildren(), "video")
	case *events.CallOfferNotice:
		meta, c.Status = e.BasicCallMeta, engine.CallOffer
		c.Video = e.Media == "video"
		c.Group = e.Type == "group"
	case *events.CallAccept:
		meta, c.Status = e.BasicCallMeta, engine.CallAccept
	case *events.CallTerminate:
		meta, c.Status, c.Reason = e.BasicCallMeta, engine.CallTerminate, e.Reason
	case *events.CallReject:
		meta, c.Status, c.Reason = e.BasicCallMeta, engine.CallTerminate, "reject"
	default:
		return engine.Call{}, false
	}
	c.ID, c.Time = meta.CallID, meta.Timestamp
	from := meta.CallCreator
	if from.Server == types.HiddenUserServer && meta.CallCreatorAlt.Server == types.DefaultUserServer {
		from = meta.CallCreatorAlt // the phone-number form when WhatsApp gave one
	}
	if from.IsEmpty() {
		from = meta.From
	}
	c.From, c.Chat = jidString(from), jidString(from)
	if !meta.GroupJID.IsEmpty() {
		c.Group, c.Chat = true, jidString(meta.GroupJID)
	}
	return c, c.ID != ""
}

// hasChild reports whether a node has a child with this tag (an offer
// with <video> is a video call).
func hasChild(list []waBinary.Node, tag string) bool {
	for _, n := range list {
		if n.Tag == tag {
			return true
		}
	}
	return false
}

// RejectCall rejects an incoming call for the whole account.
func (s *Session) RejectCall(ctx context.Context, from, callID string) error {
	if strings.TrimSpace(callID) == "" {
		return fmt.Errorf("%w: empty call id", ErrInvalidContent)
	}
	jid, err := parseUser(from)
	if err != nil {
		return err
	}
	if jid.IsEmpty() {
		return fmt.Errorf("%w: the caller is required", ErrInvalidContent)
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if err := cli.RejectCall(ctx, jid, callID); err != nil {
		return fmt.Errorf("whatsmeow: reject call: %w", mapSendErr(err))
	}
	return nil
}

// CallLink is not offered to linked devices.
func (s *Session) CallLink(context.Context, bool) (string, error) { return "", errNoCallLinks }
