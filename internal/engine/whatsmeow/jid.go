package whatsmeow

import (
	"errors"
	"fmt"
	"strings"

	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/internal/engine"
)

// ErrMalformedDevice is returned by Open for a SessionConfig.Device that is
// not a device JID ("15551234567:12@s.whatsapp.net"). It is returned wrapped
// together with engine.ErrDeviceNotFound: such a device cannot be used either.
var ErrMalformedDevice = errors.New("whatsmeow: malformed device JID")

// parseDevice parses a device JID as stored from Linked.Device: a phone
// number user on s.whatsapp.net with a non-zero device number.
func parseDevice(s string) (types.JID, error) {
	jid, err := types.ParseJID(s)
	if err != nil || !strings.Contains(s, "@") || jid.Server != types.DefaultUserServer || !isDigits(jid.User) || jid.Device == 0 || jid.RawAgent != 0 {
		return types.JID{}, fmt.Errorf("%w: %w: %q", engine.ErrDeviceNotFound, ErrMalformedDevice, s)
	}
	return jid, nil
}

// normalizePhone turns a phone number given as digits (a leading '+' is
// tolerated) into the digits WhatsApp wants: international format without
// the plus, 7 to 15 digits, no leading zero.
func normalizePhone(phone string) (string, error) {
	p := strings.TrimPrefix(strings.TrimSpace(phone), "+")
	if len(p) < 7 || len(p) > 15 || !isDigits(p) || p[0] == '0' {
		return "", fmt.Errorf("%w: want 7-15 digits in international format, got %q", engine.ErrInvalidPhone, phone)
	}
	return p, nil
}

// parseChat parses a chat address given to SendText or MarkRead: a phone
// number (digits, optional '+') or a JID string. "@c.us" (the legacy user
// server some APIs use) is accepted for "@s.whatsapp.net"; device parts are
// dropped. Bad input wraps engine.ErrInvalidPhone.
func parseChat(to string) (types.JID, error) {
	to = strings.TrimSpace(to)
	if !strings.Contains(to, "@") {
		p, err := normalizePhone(to)
		if err != nil {
			return types.JID{}, err
		}
		return types.NewJID(p, types.DefaultUserServer), nil
	}
	jid, err := types.ParseJID(to)
	if err != nil {
		return types.JID{}, fmt.Errorf("%w: bad chat JID %q: %v", engine.ErrInvalidPhone, to, err)
	}
	jid = jid.ToNonAD()
	ok := false
	switch jid.Server {
	case types.LegacyUserServer:
		jid.Server = types.DefaultUserServer
		ok = isDigits(jid.User)
	case types.DefaultUserServer, types.HiddenUserServer, types.NewsletterServer:
		ok = isDigits(jid.User)
	case types.GroupServer:
		// New groups are digits; very old ones are "<creator>-<timestamp>".
		a, b, found := strings.Cut(jid.User, "-")
		ok = isDigits(a) && (!found || isDigits(b))
	}
	if !ok {
		return types.JID{}, fmt.Errorf("%w: unsupported chat JID %q", engine.ErrInvalidPhone, to)
	}
	return jid, nil
}

// parseUser parses a message sender given to MarkRead: "" (none), a phone
// number or a user JID.
func parseUser(s string) (types.JID, error) {
	if strings.TrimSpace(s) == "" {
		return types.EmptyJID, nil
	}
	jid, err := parseChat(s)
	if err != nil {
		return types.JID{}, err
	}
	if jid.Server != types.DefaultUserServer && jid.Server != types.HiddenUserServer {
		return types.JID{}, fmt.Errorf("%w: sender must be a user, got %q", engine.ErrInvalidPhone, s)
	}
	return jid, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
