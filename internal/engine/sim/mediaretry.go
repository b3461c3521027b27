package sim

import (
	"context"
	"fmt"
	"strings"

	"github.com/wagate/wagate/internal/engine"
)

// Received files on demand, as on WhatsApp: every device event of a media
// message carries a Ref ("sim1:<message id>") that DownloadMedia resolves
// from the network's copy of the message. ExpireMedia makes the network's
// "media host" copy expire; a download then asks the sender's phone to
// upload it again, which works while the phone still has the file
// (DeleteMediaFromPhone makes it gone everywhere: engine.ErrMediaGone).
// This state is not kept in snapshots: after a restart every surviving
// message's file is available again.

const simRefPrefix = "sim1:"

// mediaState is what happened to a message's file.
type mediaState struct {
	expired   bool // the host's copy expired (a download needs a retry)
	gone      bool // the sender's phone deleted it too
	reuploads int  // times the sender's phone uploaded it again
}

// withRef is content as devices get it: the file carries its Ref.
func withRef(id string, c engine.Content) engine.Content {
	if c.Media == nil || !engine.IsMedia(c.Kind) {
		return c
	}
	md := *c.Media
	md.Ref = simRefPrefix + id
	c.Media = &md
	return c
}

func (n *Network) mediaStateLocked(id string) *mediaState {
	if n.media == nil {
		n.media = map[string]*mediaState{}
	}
	st := n.media[id]
	if st == nil {
		st = &mediaState{}
		n.media[id] = st
	}
	return st
}

// mediaMsgLocked is a media message the phone sent or received.
func (n *Network) mediaMsgLocked(p *phone, id string) (*msg, error) {
	m := n.msgs[id]
	if m == nil || (m.from != p.number && m.rcpts[p.number] == nil) || m.content.Media == nil || !engine.IsMedia(m.content.Kind) {
		return nil, fmt.Errorf("%w: %s has no media message %q", ErrMessageNotFound, p.number, id)
	}
	return m, nil
}

// ExpireMedia makes the media host's copy of a message's file expire
// (number: a phone that sent or received it). Downloads then need the
// sender's phone to upload it again. Errors: ErrPhoneNotFound,
// ErrMessageNotFound.
func (n *Network) ExpireMedia(number, id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return err
	}
	if _, err := n.mediaMsgLocked(p, id); err != nil {
		return err
	}
	n.mediaStateLocked(id).expired = true
	return nil
}

// DeleteMediaFromPhone makes a message's file gone everywhere: expired on
// the media host and deleted from the sender's phone (number must be the
// sender). Errors: ErrPhoneNotFound, ErrMessageNotFound.
func (n *Network) DeleteMediaFromPhone(number, id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return err
	}
	m, err := n.mediaMsgLocked(p, id)
	if err != nil {
		return err
	}
	if m.from != p.number {
		return fmt.Errorf("%w: %s did not send %s", ErrMessageNotFound, number, id)
	}
	st := n.mediaStateLocked(id)
	st.expired, st.gone = true, true
	return nil
}

// MediaReuploads is how many times the sender's phone uploaded a message's
// file again (media retries answered).
func (n *Network) MediaReuploads(id string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if st := n.media[id]; st != nil {
		return st.reuploads
	}
	return 0
}

// DownloadMedia resolves a file's Ref for the session's account.
func (s *session) DownloadMedia(ctx context.Context, req engine.MediaRequest) ([]byte, error) {
	id, ok := strings.CutPrefix(req.Ref, simRefPrefix)
	if !ok || id == "" {
		return nil, fmt.Errorf("%w: %q is not a sim media reference", ErrInvalidContent, req.Ref)
	}
	var data []byte
	err := s.do(ctx, func(a actor) error {
		m, err := s.net.mediaMsgLocked(a.p, id)
		if err != nil {
			if s.net.msgs[id] == nil {
				// The network forgot the message (evicted): gone.
				return fmt.Errorf("sim: %s is no longer on the network: %w", id, engine.ErrMediaGone)
			}
			return err
		}
		if st := s.net.media[id]; st != nil && st.expired {
			if st.gone {
				return fmt.Errorf("sim: the file of %s expired and the sender's phone deleted it: %w", id, engine.ErrMediaGone)
			}
			// The sender's phone uploads it again (a media retry).
			st.expired = false
			st.reuploads++
		}
		data = m.content.Media.Data
		return nil
	})
	return data, err
}
