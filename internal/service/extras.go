package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// This file holds the use-cases of the engines' optional capabilities:
// the blocklist, LIDs, the address book, pins, group settings, join
// requests and group icons, plus the status text.

// Blocklist lists the users the channel's account blocked (user JIDs).
func (s *Service) Blocklist(ctx context.Context, ch model.Channel) ([]string, error) {
	b, err := capability[engine.Blocker](s, ch, "read the blocklist")
	if err != nil {
		return nil, err
	}
	list, err := b.Blocklist(ctx)
	return list, s.capError(ch, err)
}

// SetBlocked blocks or unblocks a user (a phone number or user JID).
func (s *Service) SetBlocked(ctx context.Context, ch model.Channel, raw string, blocked bool) error {
	jid, err := UserID("ContactID", raw)
	if err != nil {
		return err
	}
	b, err := capability[engine.Blocker](s, ch, "block users")
	if err != nil {
		return err
	}
	if err := s.capError(ch, b.SetBlocked(ctx, jid, blocked)); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "blocklist changed", "channel_id", ch.ID, "blocked", blocked)
	return nil
}

// MaxLIDLookups bounds the users of one LID lookup.
const MaxLIDLookups = 100

// LIDs returns the LIDs of users (phone numbers or user JIDs) by the ID
// as given; users whose LID is not known are left out.
func (s *Service) LIDs(ctx context.Context, ch model.Channel, raws []string) (map[string]string, error) {
	if len(raws) == 0 {
		return nil, invalid("ContactIDList", "is required: a comma-separated list of phone numbers or user IDs")
	}
	if len(raws) > MaxLIDLookups {
		return nil, invalid("ContactIDList", "must have at most %d IDs (got %d)", MaxLIDLookups, len(raws))
	}
	jids := make([]string, len(raws))
	for i, raw := range raws {
		jid, err := lidInput(fmt.Sprintf("ContactIDList[%d]", i), raw)
		if err != nil {
			return nil, err
		}
		jids[i] = jid
	}
	found, err := s.lookupLIDs(ctx, ch, jids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(found))
	for i, raw := range raws {
		if lid, ok := found[jids[i]]; ok {
			out[strings.TrimSpace(raw)] = lid
		}
	}
	return out, nil
}

// lookupLIDs answers LID lookups (user JIDs or LIDs) from the pairs the
// channel keeps, and asks the engine for the others; what it learns is
// kept (and chats kept under those LIDs merged). When the engine cannot
// answer (offline, unsupported), what the channel knows is the answer, and
// the engine's error only when it knows none.
func (s *Service) lookupLIDs(ctx context.Context, ch model.Channel, jids []string) (map[string]string, error) {
	found := make(map[string]string, len(jids))
	known, err := s.store.LIDsOf(ctx, ch.ID, jids)
	if err != nil {
		return nil, err
	}
	var ask []string
	for _, jid := range jids {
		switch {
		case lidUser(jid):
			found[jid] = jid
		case known[jid] != "":
			found[jid] = known[jid]
		default:
			ask = append(ask, jid)
		}
	}
	if len(ask) == 0 {
		return found, nil
	}
	l, err := capability[engine.LIDLookup](s, ch, "look up LIDs")
	if err != nil {
		if len(found) > 0 {
			return found, nil
		}
		return nil, err
	}
	got, err := l.LIDs(ctx, ask)
	if err != nil {
		if len(found) > 0 {
			return found, nil
		}
		return nil, s.capError(ch, err)
	}
	var pairs []store.LIDPair
	for _, jid := range ask {
		if lid := got[jid]; lidUser(lid) {
			found[jid] = lid
			if pnUser(jid) {
				pairs = append(pairs, store.LIDPair{LID: lid, PN: jid})
			}
		}
	}
	if err := s.putLIDs(ctx, ch, pairs); err != nil {
		s.log.WarnContext(ctx, "could not keep looked-up LIDs", "channel_id", ch.ID, "error", err)
	}
	return found, nil
}

// lidInput checks a user ID of a LID lookup: a phone number, a user JID
// or a LID.
func lidInput(field, raw string) (string, error) {
	v := strings.TrimSpace(raw)
	if user, ok := strings.CutSuffix(v, "@lid"); ok {
		if user == "" || strings.Trim(user, "0123456789") != "" {
			return "", invalid(field, "%q is not a LID", raw)
		}
		return v, nil
	}
	return UserID(field, raw)
}

// LID returns one user's LID (404 when it is not known).
func (s *Service) LID(ctx context.Context, ch model.Channel, raw string) (string, error) {
	jid, err := lidInput("ContactID", raw)
	if err != nil {
		return "", err
	}
	found, err := s.lookupLIDs(ctx, ch, []string{jid})
	if err != nil {
		return "", err
	}
	lid, ok := found[jid]
	if !ok {
		return "", fmt.Errorf("the LID of %s is not known (is the number on WhatsApp?): %w", strings.TrimSpace(raw), model.ErrNotFound)
	}
	return lid, nil
}

// SetStatusText changes the account's about text (1-139 characters).
func (s *Service) SetStatusText(ctx context.Context, ch model.Channel, text string) error {
	if err := checkText("status", text, true, 139); err != nil {
		return err
	}
	return s.UpdateProfile(ctx, ch, engine.ProfileUpdate{About: &text})
}

// MaxContactName bounds a saved contact's name.
const MaxContactName = 100

// SaveContact saves a user (a phone number or user JID) in the account's
// address book under a name; the channel's contact takes the name.
// update: the contact must be known already (PATCH), else it is new (PUT:
// ErrConflict when saved already under a name).
func (s *Service) SaveContact(ctx context.Context, ch model.Channel, raw, name string, update bool) (store.Contact, error) {
	field := "phone"
	if update {
		field = "ContactID"
	}
	jid, err := UserID(field, raw)
	if err != nil {
		return store.Contact{}, err
	}
	name = strings.TrimSpace(name)
	if err := checkText("name", name, true, MaxContactName); err != nil {
		return store.Contact{}, err
	}
	before, err := s.store.Contact(ctx, ch.ID, jid)
	switch {
	case errors.Is(err, store.ErrContactNotFound) && update:
		return store.Contact{}, fmt.Errorf("contact %s not found: %w", PhoneOf(jid), model.ErrNotFound)
	case err != nil && !errors.Is(err, store.ErrContactNotFound):
		return store.Contact{}, err
	case err == nil && !update && before.Name != "":
		return store.Contact{}, fmt.Errorf("contact %s is saved already as %q; PATCH /contacts/%s renames it: %w",
			PhoneOf(jid), before.Name, PhoneOf(jid), model.ErrConflict)
	}
	b, err := capability[engine.ContactBook](s, ch, "save contacts")
	if err != nil {
		return store.Contact{}, err
	}
	if err := b.SaveContact(ctx, jid, name); err != nil {
		return store.Contact{}, s.capError(ch, err)
	}
	if err := s.saveContacts(ctx, ch, []store.Contact{{ChannelID: ch.ID, ID: jid, Name: name, UpdatedAt: s.now()}}); err != nil {
		return store.Contact{}, err
	}
	return s.store.Contact(ctx, ch.ID, jid)
}

// DeleteContact removes a user from the account's address book; the
// channel's contact keeps the user but loses the saved name.
func (s *Service) DeleteContact(ctx context.Context, ch model.Channel, raw string) error {
	jid, err := UserID("ContactID", raw)
	if err != nil {
		return err
	}
	c, err := s.store.Contact(ctx, ch.ID, jid)
	if errors.Is(err, store.ErrContactNotFound) || (err == nil && c.Name == "") {
		return fmt.Errorf("contact %s is not saved: %w", PhoneOf(jid), model.ErrNotFound)
	}
	if err != nil {
		return err
	}
	b, err := capability[engine.ContactBook](s, ch, "delete contacts")
	if err != nil {
		return err
	}
	if err := b.DeleteContact(ctx, jid); err != nil && !errors.Is(err, engine.ErrNotOnWhatsApp) {
		return s.capError(ch, err)
	}
	return s.store.ForgetContactName(ctx, ch.ID, jid, s.now())
}

// SendContactCard sends a contact the channel knows (a phone number or
// user JID) as a contact card to a chat; name overrides its name.
func (s *Service) SendContactCard(ctx context.Context, ch model.Channel, raw string, r SendRequest) (model.Message, error) {
	c, err := s.Contact(ctx, ch, raw)
	if err != nil {
		return model.Message{}, err
	}
	name := strings.TrimSpace(r.Name)
	if name == "" {
		name = firstNonBlank(c.Name, c.PushName, "+"+PhoneOf(c.ID))
	}
	num := PhoneOf(c.ID)
	r.Kind, r.Name = engine.KindContact, name
	r.VCard = "BEGIN:VCARD\nVERSION:3.0\nFN:" + vcardEscape(name) + "\nTEL;type=CELL;waid=" + num + ":+" + num + "\nEND:VCARD"
	return s.Send(ctx, ch, r)
}

func firstNonBlank(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// vcardEscape escapes a vCard 3.0 text value.
func vcardEscape(s string) string {
	return strings.NewReplacer("\\", "\\\\", "\n", "\\n", ",", "\\,", ";", "\\;").Replace(s)
}

// Pin durations (Whapi's "time").
var pinDurations = map[string]time.Duration{"day": 24 * time.Hour, "week": 7 * 24 * time.Hour, "month": 30 * 24 * time.Hour}

// PinMessage pins a stored message of the channel for a day, a week or a
// month ("" is a month, WhatsApp's longest); unpin with PinMessage "".
func (s *Service) PinMessage(ctx context.Context, ch model.Channel, id, period string, pin bool) error {
	var d time.Duration
	if pin {
		if period == "" {
			period = "month"
		}
		var ok bool
		if d, ok = pinDurations[period]; !ok {
			return invalid("time", "must be day, week or month")
		}
	}
	m, err := s.Message(ctx, ch, id)
	if err != nil {
		return err
	}
	if m.Status == model.MessageDeleted {
		return fmt.Errorf("message %s was deleted: %w", id, model.ErrConflict)
	}
	p, err := capability[engine.Pinner](s, ch, "pin messages")
	if err != nil {
		return err
	}
	sender := ""
	if !m.FromMe {
		sender = m.Sender
	}
	return s.capError(ch, p.PinMessage(ctx, m.ChatID, sender, m.ID, d))
}

// ApplyGroupSetting changes a group setting (admins only) and keeps the
// group's stored flags in step.
func (s *Service) ApplyGroupSetting(ctx context.Context, ch model.Channel, rawID, setting, policy string) error {
	jid, err := GroupID("GroupID", rawID)
	if err != nil {
		return err
	}
	if !slices.Contains(groupSettings, setting) {
		return invalid("setting", "must be one of %s", strings.Join(groupSettings, ", "))
	}
	if !slices.Contains(groupPolicies, policy) {
		return invalid("policy", "must be one of %s", strings.Join(groupPolicies, ", "))
	}
	a, err := capability[engine.GroupAdmin](s, ch, "change group settings")
	if err != nil {
		return err
	}
	if err := a.SetGroupSetting(ctx, jid, engine.GroupSetting(setting), policy == "admins"); err != nil {
		return s.capError(ch, err)
	}
	s.refreshGroup(ctx, ch, jid)
	return nil
}

// refreshGroup reads a group again after a change, to keep the stored one
// current (a failure leaves the stored one: the change itself worked).
func (s *Service) refreshGroup(ctx context.Context, ch model.Channel, jid string) {
	sess, err := s.session(ch)
	if err != nil {
		return
	}
	gi, err := sess.Group(ctx, jid)
	if err != nil {
		return
	}
	if err := s.keepGroup(ctx, ch, groupRecord(ch.ID, gi, s.now()), selfPhone(ch, sess)); err != nil {
		s.log.WarnContext(ctx, "group not stored after a change", "channel_id", ch.ID, "group", jid, "error", err)
	}
}

// GroupRequests lists the requests to join a group (admins only).
func (s *Service) GroupRequests(ctx context.Context, ch model.Channel, rawID string) ([]engine.JoinRequest, error) {
	jid, err := GroupID("GroupID", rawID)
	if err != nil {
		return nil, err
	}
	a, err := capability[engine.GroupAdmin](s, ch, "read requests to join groups")
	if err != nil {
		return nil, err
	}
	reqs, err := a.GroupRequests(ctx, jid)
	return reqs, s.capError(ch, err)
}

// AnswerGroupRequest approves or rejects a user's request to join a group.
func (s *Service) AnswerGroupRequest(ctx context.Context, ch model.Channel, rawID, rawUser string, approve bool) ([]engine.ParticipantResult, error) {
	jid, err := GroupID("GroupID", rawID)
	if err != nil {
		return nil, err
	}
	user, err := UserID("application", rawUser)
	if err != nil {
		return nil, err
	}
	a, err := capability[engine.GroupAdmin](s, ch, "answer requests to join groups")
	if err != nil {
		return nil, err
	}
	res, err := a.AnswerGroupRequests(ctx, jid, []string{user}, approve)
	if err != nil {
		return nil, s.capError(ch, err)
	}
	if approve {
		s.refreshGroup(ctx, ch, jid)
	}
	return res, nil
}

// GroupIcon returns a group's picture (JPEG); ErrNotFound when it has
// none.
func (s *Service) GroupIcon(ctx context.Context, ch model.Channel, rawID string) ([]byte, error) {
	jid, err := GroupID("GroupID", rawID)
	if err != nil {
		return nil, err
	}
	a, err := capability[engine.GroupAdmin](s, ch, "read group pictures")
	if err != nil {
		return nil, err
	}
	pic, err := a.GroupPhoto(ctx, jid)
	return pic, s.capError(ch, err)
}

// inviteCodeRE is the shape of an invite code.
func checkInviteCode(code string) error {
	if len(code) < 6 || len(code) > 64 || strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
		return invalid("InviteCode", "%q is not an invite code", code)
	}
	return nil
}

// SendGroupInvite sends a group's invite link to a chat as a text with
// the link's preview: body (with %URL% for the link; default: the
// group's name and the link), title overrides the group's name.
func (s *Service) SendGroupInvite(ctx context.Context, ch model.Channel, code string, r SendRequest) (model.Message, error) {
	if err := checkInviteCode(code); err != nil {
		return model.Message{}, err
	}
	if _, err := ChatID("to", r.To); err != nil {
		return model.Message{}, err
	}
	sess, err := s.session(ch)
	if err != nil {
		return model.Message{}, err
	}
	g, err := sess.GroupByInvite(ctx, code)
	if err != nil {
		return model.Message{}, s.actionError(ch, err)
	}
	link := "https://chat.whatsapp.com/" + code
	title := firstNonBlank(strings.TrimSpace(r.Title), g.Subject, "WhatsApp group")
	body := r.Body
	switch {
	case body == "":
		body = "Follow this link to join my WhatsApp group " + title + ": " + link
	case strings.Contains(body, "%URL%"):
		body = strings.ReplaceAll(body, "%URL%", link)
	default:
		body += "\n" + link
	}
	send := SendRequest{Kind: engine.KindLinkPreview, To: r.To, Body: body, Title: title, Description: g.Description, Canonical: link,
		Quoted: r.Quoted, Mentions: r.Mentions, TypingTime: r.TypingTime, Preview: r.Preview}
	return s.Send(ctx, ch, send)
}

// SetProfileIcon changes the account's picture: media is a URL, a data
// URI, base64 or a media ID of a JPEG or PNG picture, cut to a centred
// square JPEG like group icons.
func (s *Service) SetProfileIcon(ctx context.Context, ch model.Channel, media string) error {
	if strings.TrimSpace(media) == "" {
		return invalid("icon", "is required: a URL, a base64 data URI, base64 or a media ID of a JPEG or PNG picture")
	}
	setter, err := capability[engine.ProfilePhotoSetter](s, ch, "change the profile picture")
	if err != nil {
		return err
	}
	up, err := s.resolveMedia(ctx, ch, engine.KindImage, media, nil, "")
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.Field = "icon"
		}
		return err
	}
	if up.File != nil {
		defer up.File.Close()
	}
	if err := up.load(); err != nil {
		return err
	}
	pic, err := groupIconJPEG(up.Data)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.Field = "icon"
		}
		return err
	}
	return s.capError(ch, setter.SetProfilePhoto(ctx, pic))
}

// Disappearing periods (Whapi's ephemeral).
var ephemeralPeriods = map[string]time.Duration{"none": 0, "day": 24 * time.Hour, "week": 7 * 24 * time.Hour, "quarter": 90 * 24 * time.Hour}

// SetChatEphemeral turns disappearing messages of a chat the channel has
// on ("day", "week", "quarter") or off ("none").
func (s *Service) SetChatEphemeral(ctx context.Context, ch model.Channel, raw, period string) error {
	d, ok := ephemeralPeriods[period]
	if !ok {
		return invalid("ephemeral", "must be none, day, week or quarter")
	}
	id, err := ChatID("ChatID", raw)
	if err != nil {
		return fmt.Errorf("chat %q %w", raw, model.ErrNotFound)
	}
	if _, err := s.store.Chat(ctx, ch.ID, id); err != nil {
		return err
	}
	setter, err := capability[engine.DisappearingSetter](s, ch, "change disappearing messages")
	if err != nil {
		return err
	}
	return s.capError(ch, setter.SetDisappearing(ctx, id, d))
}
