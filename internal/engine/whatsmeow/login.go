package whatsmeow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"

	"github.com/wagate/wagate/internal/engine"
)

// The login flow (QR codes, pairing codes) and the end of a link (logout,
// forget).

// readQR turns whatsmeow's QR channel into QR and QRTimeout events. The
// other final items ("success", "error", "err-...") mirror whatsmeow events
// that handle already reported (Linked, LinkFailed, ConnectFailure ...).
func (s *Session) readQR(ctx context.Context, gen uint64, ch <-chan wm.QRChannelItem) {
	inFlow := func() bool { return s.flow == gen }
	for {
		select {
		case <-ctx.Done():
			s.endFlow(gen)
			return
		case item, ok := <-ch:
			if !ok {
				s.endFlow(gen)
				return
			}
			switch item.Event {
			case wm.QRChannelEventCode:
				qr := engine.QR{Code: item.Code, Expires: time.Now().Add(item.Timeout)}
				s.emit(gen, func() bool {
					if !inFlow() {
						return false
					}
					s.qrShown = true
					s.disarmLocked()
					return true
				}, qr)
			case wm.QRChannelTimeout.Event:
				s.emit(gen, inFlow, engine.QRTimeout{})
				s.endFlow(gen)
			default:
				s.endFlow(gen)
			}
		}
	}
}

func (s *Session) endFlow(gen uint64) {
	s.mu.Lock()
	if s.flow == gen {
		s.flow, s.qrShown = 0, false
	}
	s.mu.Unlock()
}

// Logout unlinks the device at WhatsApp, then deletes it locally. It needs
// a connection: offline it fails (engine.ErrNotConnected) and changes
// nothing; use Forget then.
func (s *Session) Logout(ctx context.Context) error {
	s.mu.Lock()
	device, cli, gen := s.device, s.cli, s.gen
	s.mu.Unlock()
	if device == "" {
		return engine.ErrNotLinked
	}
	err := cli.Logout(ctx)
	if err != nil && !strings.HasPrefix(err.Error(), "error deleting data from store") {
		if errors.Is(err, wm.ErrNotConnected) || errors.Is(err, wm.ErrNotLoggedIn) {
			return fmt.Errorf("whatsmeow: logout: %w (%v)", engine.ErrNotConnected, err)
		}
		return fmt.Errorf("whatsmeow: logout: %w", err)
	}
	// WhatsApp has unlinked the device. If whatsmeow could not delete it
	// locally, try once more by JID.
	if err != nil {
		if derr := s.deleteDevice(ctx, device); derr != nil {
			return fmt.Errorf("whatsmeow: logout: unlinked at WhatsApp but not deleted locally: %w", derr)
		}
	}
	s.unlinked(gen, device)
	return nil
}

// Forget deletes the device locally without telling WhatsApp (the phone
// keeps listing it until it is removed there or expires). It works offline
// and is a no-op on an unlinked session.
func (s *Session) Forget(ctx context.Context) error {
	s.mu.Lock()
	device, cli, gen := s.device, s.cli, s.gen
	s.mu.Unlock()
	if device == "" {
		return nil
	}
	s.stop(gen, cli)
	gen++
	if err := s.deleteDevice(ctx, device); err != nil {
		return fmt.Errorf("whatsmeow: forget: %w", err)
	}
	s.unlinked(gen, device)
	return nil
}

// deleteDevice deletes a device's rows by JID (whatsmeow's tables cascade),
// without touching the store.Device a client may still hold.
func (s *Session) deleteDevice(ctx context.Context, device string) error {
	jid, err := parseDevice(device)
	if err != nil {
		return err
	}
	return s.eng.container.DeleteDevice(ctx, &store.Device{ID: &jid})
}

// unlinked records that device is gone: the next Connect starts a login
// flow with a fresh device and client.
func (s *Session) unlinked(gen uint64, device string) {
	s.mu.Lock()
	if s.gen == gen {
		s.gen++
	}
	if s.device == device {
		s.device, s.account = "", engine.Account{}
	}
	s.used = true
	s.flow, s.qrShown = 0, false
	s.disarmLocked()
	if s.connCancel != nil {
		s.connCancel()
		s.connCancel = nil
	}
	s.mu.Unlock()
}

// PairPhone asks for a pairing code for phone while a QR login flow runs
// (after its first QR event). The code keeps whatsmeow's "XXXX-XXXX" form.
func (s *Session) PairPhone(ctx context.Context, phone string) (string, error) {
	p, err := normalizePhone(phone)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	inFlow := s.flow != 0 && s.flow == s.gen && s.qrShown
	cli := s.cli
	s.mu.Unlock()
	if !inFlow {
		return "", engine.ErrNotInLoginFlow
	}
	code, err := cli.PairPhone(ctx, p, true, pairClientType, pairClientName)
	switch {
	case errors.Is(err, wm.ErrPhoneNumberTooShort), errors.Is(err, wm.ErrPhoneNumberIsNotInternational):
		return "", fmt.Errorf("%w: %v", engine.ErrInvalidPhone, err)
	case errors.Is(err, wm.ErrNotConnected):
		return "", engine.ErrNotInLoginFlow
	case err != nil:
		return "", fmt.Errorf("whatsmeow: pair phone: %w", err)
	}
	return code, nil
}
