package service

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// WhatsApp JID servers.
const (
	UserServer  = "s.whatsapp.net"
	GroupServer = "g.us"
	// NewsletterServer: newsletters (WhatsApp channels).
	NewsletterServer = "newsletter"
	// LIDServer: users addressed by LID, WhatsApp's privacy identifier.
	LIDServer = "lid"
)

// ChatID normalizes a chat given by a client, as Whapi accepts them: a phone
// number (digits, optionally with '+', spaces, dashes or parentheses), a
// user JID (digits@s.whatsapp.net, or the older @c.us) or a group JID
// (digits or digits-digits@g.us). It returns the JID; field names the
// parameter in the error.
func ChatID(field, raw string) (string, error) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return "", invalid(field, "is required: a phone number or a chat ID")
	}
	user, server, hasServer := strings.Cut(v, "@")
	if !hasServer {
		digits := strings.Map(func(r rune) rune {
			switch r {
			case ' ', '-', '(', ')', '.':
				return -1
			}
			return r
		}, strings.TrimPrefix(v, "+"))
		if !isDigits(digits) || len(digits) < 7 || len(digits) > 15 {
			return "", invalid(field, "%q is not a phone number (7-15 digits) or a chat ID", raw)
		}
		return digits + "@" + UserServer, nil
	}
	switch server {
	case UserServer, "c.us":
		if !isDigits(user) || len(user) < 7 || len(user) > 15 {
			return "", invalid(field, "%q is not a user chat ID (digits@s.whatsapp.net)", raw)
		}
		return user + "@" + UserServer, nil
	case GroupServer:
		a, b, dash := strings.Cut(user, "-")
		if !isDigits(a) || (dash && !isDigits(b)) || len(user) > 40 {
			return "", invalid(field, "%q is not a group ID (digits@g.us)", raw)
		}
		return user + "@" + GroupServer, nil
	case LIDServer: // a user known by LID only so far (identity.go)
		if !isDigits(user) || len(user) > 20 {
			return "", invalid(field, "%q is not a LID (digits@lid)", raw)
		}
		return v, nil
	case NewsletterServer: // posts of a newsletter the account runs (newsletters.go)
		if !newsletterIDRE.MatchString(v) {
			return "", invalid(field, "%q is not a newsletter ID (10-18 digits@newsletter)", raw)
		}
		return v, nil
	}
	return "", invalid(field, "%q is not a phone number or a chat ID (@s.whatsapp.net, @g.us or @newsletter)", raw)
}

// UserID is ChatID for a user only (no groups).
func UserID(field, raw string) (string, error) {
	jid, err := ChatID(field, raw)
	if err == nil && IsGroup(jid) {
		return "", invalid(field, "%q is a group; a user is needed", raw)
	}
	if err == nil && strings.HasSuffix(jid, "@"+NewsletterServer) {
		return "", invalid(field, "%q is a newsletter; a user is needed", raw)
	}
	if err == nil && strings.HasSuffix(jid, "@"+LIDServer) {
		return "", invalid(field, "%q is a LID; the user's phone number is needed here", raw)
	}
	return jid, err
}

// GroupID is ChatID for a group only.
func GroupID(field, raw string) (string, error) {
	v := strings.TrimSpace(raw)
	if !strings.Contains(v, "@") {
		v += "@" + GroupServer
	}
	jid, err := ChatID(field, v)
	if err == nil && !IsGroup(jid) {
		return "", invalid(field, "%q is not a group ID (digits@g.us)", raw)
	}
	return jid, err
}

// IsGroup reports whether a JID is a group's.
func IsGroup(jid string) bool { return strings.HasSuffix(jid, "@"+GroupServer) }

// PhoneOf is the number of a user JID ("" for groups).
func PhoneOf(jid string) string {
	user, server, _ := strings.Cut(jid, "@")
	if server != UserServer {
		return ""
	}
	return user
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// actionError maps an engine action's error to the API's: the runtime and
// lifecycle errors as runtimeError does, and the action errors to 4xx.
func (s *Service) actionError(ch model.Channel, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, engine.ErrGroupNotFound):
		return fmt.Errorf("group not found (or the channel is not in it): %w", model.ErrNotFound)
	case errors.Is(err, engine.ErrMessageUnknown):
		return fmt.Errorf("message not found: %w", model.ErrNotFound)
	case errors.Is(err, engine.ErrInviteNotFound):
		return fmt.Errorf("invite code not valid: %w", model.ErrNotFound)
	case errors.Is(err, engine.ErrNotAdmin):
		return fmt.Errorf("the channel is not an admin of this group: %w", model.ErrForbidden)
	case errors.Is(err, engine.ErrNotOnWhatsApp):
		return fmt.Errorf("the number is not on WhatsApp: %w", model.ErrNotFound)
	case errors.Is(err, engine.ErrInvalidContent):
		return invalid("body", "WhatsApp refused the content: %v", err)
	case errors.Is(err, engine.ErrTooLate):
		return fmt.Errorf("too late: WhatsApp allows edits for 15 minutes and deletes for everyone for 2 days: %w", model.ErrConflict)
	case errors.Is(err, engine.ErrReachoutLimited):
		return fmt.Errorf("WhatsApp refuses, for now, messages from this account to people it has not talked with before "+
			"(WhatsApp's error 463); write to contacts the account already talks with, or try again later: %w", model.ErrForbidden)
	case errors.Is(err, engine.ErrUnsupported):
		return fmt.Errorf("the %s engine does not support this: %w", s.EngineName(), model.ErrNotImplemented)
	case errors.Is(err, engine.ErrBlocked), errors.Is(err, engine.ErrJoinRequested):
		return s.capError(ch, err)
	}
	return s.runtimeError(ch, err)
}
