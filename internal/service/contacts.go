package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

const (
	// MaxContactChecks bounds the numbers of one check request.
	MaxContactChecks = 1000
	// contactCheckTTL is how long a check's answer is reused unless a
	// fresh check is forced.
	contactCheckTTL = 24 * time.Hour
)

// ContactCheck is whether one number given to CheckContacts is on WhatsApp.
type ContactCheck struct {
	Input string // as given
	Valid bool
	JID   string // the user's JID when Valid
}

// CheckContacts says which numbers (phone numbers in any usual format, or
// user JIDs) are on WhatsApp, in the order given. An answer from the last
// 24 hours is reused unless force is set; the numbers actually asked count
// against a trial channel's daily checks (402 when over, nothing checked).
func (s *Service) CheckContacts(ctx context.Context, ch model.Channel, inputs []string, force bool) ([]ContactCheck, error) {
	if len(inputs) == 0 {
		return nil, invalid("contacts", "is required: at least one phone number")
	}
	if len(inputs) > MaxContactChecks {
		return nil, invalid("contacts", "must have at most %d numbers (got %d)", MaxContactChecks, len(inputs))
	}
	jids := make([]string, len(inputs))
	for i, in := range inputs {
		jid, err := UserID(fmt.Sprintf("contacts[%d]", i), in)
		if err != nil {
			return nil, err
		}
		jids[i] = jid
	}
	return s.checkNumbers(ctx, ch, inputs, jids, force)
}

// ContactExists checks one number (a phone number or user JID); a number
// checked in the last 24 hours is not asked again.
func (s *Service) ContactExists(ctx context.Context, ch model.Channel, raw string) (bool, error) {
	jid, err := UserID("ContactID", raw)
	if err != nil {
		return false, err
	}
	res, err := s.checkNumbers(ctx, ch, []string{raw}, []string{jid}, false)
	if err != nil {
		return false, err
	}
	return res[0].Valid, nil
}

func (s *Service) checkNumbers(ctx context.Context, ch model.Channel, inputs, jids []string, force bool) ([]ContactCheck, error) {
	sess, err := s.session(ch)
	if err != nil {
		return nil, err
	}
	now := s.now()
	known := make(map[string]ContactCheck, len(jids)) // by JID asked
	var ask []string                                  // phone numbers to ask WhatsApp, once each
	asked := map[string]bool{}
	for _, jid := range jids {
		if _, done := known[jid]; done || asked[jid] {
			continue
		}
		if !force {
			c, err := s.store.Contact(ctx, ch.ID, jid)
			if err != nil && !errors.Is(err, store.ErrContactNotFound) {
				return nil, err
			}
			if err == nil && c.Status != store.ContactUnchecked && now.Sub(c.CheckedAt) < contactCheckTTL {
				known[jid] = ContactCheck{Valid: c.Status == store.ContactValid, JID: jid}
				continue
			}
		}
		asked[jid] = true
		ask = append(ask, PhoneOf(jid))
	}
	if len(ask) > 0 {
		if err := s.UseLimit(ctx, ch, LimitChecks, len(ask)); err != nil {
			return nil, err
		}
		checks, err := sess.CheckNumbers(ctx, ask)
		if err != nil {
			return nil, s.actionError(ch, err)
		}
		byInput := make(map[string]engine.NumberCheck, len(checks))
		for _, c := range checks {
			byInput[c.Input] = c
		}
		cs := make([]store.Contact, 0, len(ask))
		for i, phone := range ask {
			c, ok := byInput[phone]
			if !ok && len(checks) == len(ask) {
				c, ok = checks[i], true
			}
			if !ok {
				return nil, fmt.Errorf("WhatsApp did not answer for %s: %w", phone, model.ErrUpstream)
			}
			jid := phone + "@" + UserServer
			res := ContactCheck{Valid: c.Exists, JID: jid}
			status := store.ContactInvalid
			if c.Exists {
				status = store.ContactValid
				if c.JID != "" && PhoneOf(c.JID) != "" {
					res.JID = c.JID
				}
			}
			known[jid] = res
			cs = append(cs, store.Contact{ChannelID: ch.ID, ID: jid, Status: status, CheckedAt: now, UpdatedAt: now})
			if res.JID != jid { // WhatsApp knows the number under another form
				cs = append(cs, store.Contact{ChannelID: ch.ID, ID: res.JID, Status: status, CheckedAt: now, UpdatedAt: now})
			}
		}
		if err := s.saveContacts(ctx, ch, cs); err != nil {
			return nil, err
		}
	}
	out := make([]ContactCheck, len(jids))
	for i, jid := range jids {
		out[i] = known[jid]
		out[i].Input = inputs[i]
		if !out[i].Valid {
			out[i].JID = ""
		}
	}
	return out, nil
}

// Contacts lists the users the channel learned of (checked numbers on
// WhatsApp, group participants, profiles read), by number.
func (s *Service) Contacts(ctx context.Context, ch model.Channel, p Page) ([]store.Contact, int, error) {
	return s.store.Contacts(ctx, ch.ID, p.Count, p.Offset)
}

// Contact returns one user the channel learned of (a phone number or user
// JID); a number checked and found not on WhatsApp is not found.
func (s *Service) Contact(ctx context.Context, ch model.Channel, raw string) (store.Contact, error) {
	jid, err := UserID("ContactID", raw)
	if err != nil {
		return store.Contact{}, err
	}
	c, err := s.store.Contact(ctx, ch.ID, jid)
	if errors.Is(err, store.ErrContactNotFound) {
		return c, fmt.Errorf("contact %s not found: check the number with POST /contacts first: %w", PhoneOf(jid), model.ErrNotFound)
	}
	if err != nil {
		return c, err
	}
	if c.Status == store.ContactInvalid {
		return c, fmt.Errorf("contact %s not found: the number is not on WhatsApp: %w", PhoneOf(jid), model.ErrNotFound)
	}
	return c, nil
}

// ContactProfile reads a user's public profile (a phone number or user
// JID) from WhatsApp; the user's name is kept as the contact's push name.
func (s *Service) ContactProfile(ctx context.Context, ch model.Channel, raw string) (engine.Profile, error) {
	jid, err := UserID("ContactID", raw)
	if err != nil {
		return engine.Profile{}, err
	}
	sess, err := s.session(ch)
	if err != nil {
		return engine.Profile{}, err
	}
	p, err := sess.UserProfile(ctx, jid)
	if err != nil {
		return engine.Profile{}, s.actionError(ch, err)
	}
	now := s.now()
	if err := s.saveContacts(ctx, ch, []store.Contact{{ChannelID: ch.ID, ID: jid, PushName: p.Name, UpdatedAt: now}}); err != nil {
		return p, err
	}
	return p, nil
}
