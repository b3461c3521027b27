package service

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// Limits of newsletter input, like WhatsApp's.
const (
	MaxNewsletterName        = 100
	MaxNewsletterDescription = 2048
	// NewsletterLinkPrefix starts a newsletter's invite link.
	NewsletterLinkPrefix = "https://whatsapp.com/channel/"
)

var (
	newsletterIDRE     = regexp.MustCompile(`^[0-9]{10,18}@newsletter$`)
	newsletterInviteRE = regexp.MustCompile(`^[A-Za-z0-9]{24}$`)
)

// NewsletterID checks a newsletter ID (digits@newsletter; bare digits are
// taken as one). A malformed one is 404: no newsletter has it.
func NewsletterID(raw string) (string, error) {
	v := strings.TrimSpace(raw)
	if !strings.Contains(v, "@") {
		v += "@" + engine.NewsletterServer
	}
	if !newsletterIDRE.MatchString(v) {
		return "", fmt.Errorf("newsletter %q %w (an ID is 10-18 digits@newsletter)", raw, model.ErrNotFound)
	}
	return v, nil
}

// NewsletterInvite checks a newsletter invite code (24 letters and digits,
// or the whole https://whatsapp.com/channel/ link).
func NewsletterInvite(field, raw string) (string, error) {
	v := strings.TrimSpace(raw)
	for _, p := range []string{NewsletterLinkPrefix, "http://whatsapp.com/channel/", "whatsapp.com/channel/"} {
		v = strings.TrimPrefix(v, p)
	}
	if !newsletterInviteRE.MatchString(v) {
		return "", invalid(field, "%q is not a newsletter invite code (24 letters and digits)", raw)
	}
	return v, nil
}

// newsletterPicture decodes a newsletter picture (base64 or a data URI of
// a JPEG).
func newsletterPicture(raw string) ([]byte, error) {
	v := strings.TrimSpace(raw)
	if meta, payload, ok := strings.Cut(v, ","); ok && strings.HasPrefix(meta, "data:") {
		v = payload
	}
	data, err := decodeBase64(v, MaxGroupIconSize)
	if err != nil {
		return nil, invalid("newsletter_pic", "must be a JPEG picture in base64 (a data URI works) of at most %d bytes", MaxGroupIconSize)
	}
	if len(data) < 3 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, fmt.Errorf("newsletter_pic: a newsletter picture must be a JPEG: %w", model.ErrUnsupportedMedia)
	}
	return data, nil
}

func newsletters(s *Service, ch model.Channel) (engine.Newsletterer, error) {
	return capability[engine.Newsletterer](s, ch, "run newsletters")
}

// NewsletterCreate is a newsletter to create, as the gate API takes it.
type NewsletterCreate struct {
	Name, Description, Picture string
}

// CreateNewsletter creates a newsletter the channel's account owns.
func (s *Service) CreateNewsletter(ctx context.Context, ch model.Channel, r NewsletterCreate) (engine.NewsletterInfo, error) {
	if err := checkText("name", r.Name, true, MaxNewsletterName); err != nil {
		return engine.NewsletterInfo{}, err
	}
	if err := checkDescriptionField("description", r.Description, MaxNewsletterDescription); err != nil {
		return engine.NewsletterInfo{}, err
	}
	c := engine.NewsletterCreate{Name: r.Name, Description: r.Description}
	if r.Picture != "" {
		pic, err := newsletterPicture(r.Picture)
		if err != nil {
			return engine.NewsletterInfo{}, err
		}
		c.Picture = pic
	}
	nl, err := newsletters(s, ch)
	if err != nil {
		return engine.NewsletterInfo{}, err
	}
	info, err := nl.CreateNewsletter(ctx, c)
	return info, s.capError(ch, err)
}

// checkDescriptionField is checkText for a longer text where line breaks
// are allowed.
func checkDescriptionField(field, v string, limit int) error {
	return checkText(field, strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(v), false, limit)
}

// Newsletters lists the newsletters the account follows or runs, a page
// of them and how many in all.
func (s *Service) Newsletters(ctx context.Context, ch model.Channel, p Page) ([]engine.NewsletterInfo, int, error) {
	nl, err := newsletters(s, ch)
	if err != nil {
		return nil, 0, err
	}
	all, err := nl.Newsletters(ctx)
	if err != nil {
		return nil, 0, s.capError(ch, err)
	}
	return pageOf(all, p), len(all), nil
}

// pageOf cuts a page out of a list.
func pageOf[T any](all []T, p Page) []T {
	if p.Offset >= len(all) {
		return []T{}
	}
	end := len(all)
	if p.Count > 0 && p.Offset+p.Count < end {
		end = p.Offset + p.Count
	}
	return all[p.Offset:end]
}

// Newsletter reads a newsletter.
func (s *Service) Newsletter(ctx context.Context, ch model.Channel, rawID string) (engine.NewsletterInfo, error) {
	jid, err := NewsletterID(rawID)
	if err != nil {
		return engine.NewsletterInfo{}, err
	}
	nl, err := newsletters(s, ch)
	if err != nil {
		return engine.NewsletterInfo{}, err
	}
	info, err := nl.Newsletter(ctx, jid)
	return info, s.capError(ch, err)
}

// NewsletterByInvite reads the newsletter of an invite code.
func (s *Service) NewsletterByInvite(ctx context.Context, ch model.Channel, rawCode string) (engine.NewsletterInfo, error) {
	code, err := NewsletterInvite("NewsletterInviteCode", rawCode)
	if err != nil {
		return engine.NewsletterInfo{}, err
	}
	nl, err := newsletters(s, ch)
	if err != nil {
		return engine.NewsletterInfo{}, err
	}
	info, err := nl.NewsletterByInvite(ctx, code)
	return info, s.capError(ch, err)
}

// FindNewsletters searches the newsletter directory.
func (s *Service) FindNewsletters(ctx context.Context, ch model.Channel, q engine.NewsletterQuery) (engine.NewsletterPage, error) {
	if q.SortField != "" && q.SortField != "creation_time" && q.SortField != "subscribers" {
		return engine.NewsletterPage{}, invalid("newsletter_field", "must be creation_time or subscribers")
	}
	if err := checkText("search", q.Search, false, 200); err != nil {
		return engine.NewsletterPage{}, err
	}
	if q.Country != "" && !regexp.MustCompile(`^[A-Za-z]{2}$`).MatchString(q.Country) {
		return engine.NewsletterPage{}, invalid("country_code", "must be a two-letter country code (ISO 3166-1)")
	}
	nl, err := newsletters(s, ch)
	if err != nil {
		return engine.NewsletterPage{}, err
	}
	page, err := nl.FindNewsletters(ctx, q)
	return page, s.capError(ch, err)
}

// NewsletterUpdate is a change of a newsletter, as the gate API takes it.
type NewsletterUpdate struct {
	Name, Description, Picture, Reactions *string
}

// UpdateNewsletter changes a newsletter the account runs.
func (s *Service) UpdateNewsletter(ctx context.Context, ch model.Channel, rawID string, r NewsletterUpdate) (engine.NewsletterInfo, error) {
	jid, err := NewsletterID(rawID)
	if err != nil {
		return engine.NewsletterInfo{}, err
	}
	u := engine.NewsletterUpdate{Name: r.Name, Description: r.Description, Reactions: r.Reactions}
	if r.Name == nil && r.Description == nil && r.Picture == nil && r.Reactions == nil {
		return engine.NewsletterInfo{}, invalid("name", "nothing to change: give name, description, newsletter_pic or reactions")
	}
	if r.Name != nil {
		if err := checkText("name", *r.Name, true, MaxNewsletterName); err != nil {
			return engine.NewsletterInfo{}, err
		}
	}
	if r.Description != nil {
		if err := checkDescriptionField("description", *r.Description, MaxNewsletterDescription); err != nil {
			return engine.NewsletterInfo{}, err
		}
	}
	if r.Reactions != nil && !slices.Contains(engine.NewsletterReactions, *r.Reactions) {
		return engine.NewsletterInfo{}, invalid("reactions", "must be one of %s", strings.Join(engine.NewsletterReactions, ", "))
	}
	if r.Picture != nil {
		pic, err := newsletterPicture(*r.Picture)
		if err != nil {
			return engine.NewsletterInfo{}, err
		}
		u.Picture = pic
	}
	nl, err := newsletters(s, ch)
	if err != nil {
		return engine.NewsletterInfo{}, err
	}
	info, err := nl.UpdateNewsletter(ctx, jid, u)
	return info, s.capError(ch, err)
}

// newsletterDo runs an action on a checked newsletter ID.
func (s *Service) newsletterDo(ctx context.Context, ch model.Channel, rawID string, fn func(nl engine.Newsletterer, jid string) error) error {
	jid, err := NewsletterID(rawID)
	if err != nil {
		return err
	}
	nl, err := newsletters(s, ch)
	if err != nil {
		return err
	}
	return s.capError(ch, fn(nl, jid))
}

// DeleteNewsletter deletes a newsletter the account owns.
func (s *Service) DeleteNewsletter(ctx context.Context, ch model.Channel, rawID string) error {
	return s.newsletterDo(ctx, ch, rawID, func(nl engine.Newsletterer, jid string) error { return nl.DeleteNewsletter(ctx, jid) })
}

// FollowNewsletter follows or unfollows a newsletter.
func (s *Service) FollowNewsletter(ctx context.Context, ch model.Channel, rawID string, follow bool) error {
	return s.newsletterDo(ctx, ch, rawID, func(nl engine.Newsletterer, jid string) error { return nl.FollowNewsletter(ctx, jid, follow) })
}

// FollowNewsletterByInvite follows or unfollows the newsletter of an invite code.
func (s *Service) FollowNewsletterByInvite(ctx context.Context, ch model.Channel, rawCode string, follow bool) error {
	info, err := s.NewsletterByInvite(ctx, ch, rawCode)
	if err != nil {
		return err
	}
	return s.FollowNewsletter(ctx, ch, info.JID, follow)
}

// TrackNewsletter asks for live updates of a newsletter.
func (s *Service) TrackNewsletter(ctx context.Context, ch model.Channel, rawID string) error {
	return s.newsletterDo(ctx, ch, rawID, func(nl engine.Newsletterer, jid string) error { return nl.TrackNewsletter(ctx, jid) })
}

// NewsletterMessages reads a newsletter's posts, newest first, as messages.
func (s *Service) NewsletterMessages(ctx context.Context, ch model.Channel, rawID string, count int, before, after int64) ([]model.Message, error) {
	var out []model.Message
	err := s.newsletterDo(ctx, ch, rawID, func(nl engine.Newsletterer, jid string) error {
		posts, err := nl.NewsletterMessages(ctx, jid, count, before, after)
		for _, p := range posts {
			m := s.newMessage(ch, p.ID, jid, p.FromMe, jid, p.PushName, "mobile", model.MessageDelivered, p.Content, nil, p.Time)
			out = append(out, m)
		}
		return err
	})
	return out, err
}

// newsletterUser checks the ContactID of a newsletter admin operation.
func newsletterUser(raw string) (string, error) {
	return UserID("ContactID", raw)
}

// InviteNewsletterAdmin invites a user to be an admin of a newsletter; it
// is a message to the user, counted like one and stored in the chat with
// the user like any message the channel sends (its receipts and webhooks
// follow).
func (s *Service) InviteNewsletterAdmin(ctx context.Context, ch model.Channel, rawID, rawUser, text string) (model.Message, error) {
	user, err := newsletterUser(rawUser)
	if err != nil {
		return model.Message{}, err
	}
	if err := checkText("message", text, false, MaxTextLength); err != nil {
		return model.Message{}, err
	}
	var out model.Message
	var payload []byte
	err = s.newsletterDo(ctx, ch, rawID, func(nl engine.Newsletterer, jid string) error {
		if err := s.UseLimit(ctx, ch, LimitMessages, 1); err != nil {
			return err
		}
		sent, err := nl.InviteNewsletterAdmin(ctx, jid, user, text)
		if err != nil {
			s.releaseLimit(ctx, ch, LimitMessages, 1)
			return err
		}
		c := engine.Content{Kind: engine.KindText, Text: text}
		out = s.newMessage(ch, sent.ID, user, true, s.selfJID(ch), ch.WAName, "api", model.MessagePending, c, nil, sent.Time)
		payload = sent.Payload
		return nil
	})
	if err != nil {
		return out, err
	}
	if _, err := s.insertMessage(ctx, store.NewMessage{Message: out, Hooks: hooks1(s.newMessageHooks(ctx, ch, out)), Payload: payload}); err != nil {
		return out, err
	}
	s.wake()
	return out, nil
}

// RevokeNewsletterAdminInvite takes an admin invitation back.
func (s *Service) RevokeNewsletterAdminInvite(ctx context.Context, ch model.Channel, rawID, rawUser string) error {
	user, err := newsletterUser(rawUser)
	if err != nil {
		return err
	}
	return s.newsletterDo(ctx, ch, rawID, func(nl engine.Newsletterer, jid string) error {
		return nl.RevokeNewsletterAdminInvite(ctx, jid, user)
	})
}

// AcceptNewsletterAdmin accepts the channel's admin invitation from user.
func (s *Service) AcceptNewsletterAdmin(ctx context.Context, ch model.Channel, rawID, rawUser string) error {
	user, err := newsletterUser(rawUser)
	if err != nil {
		return err
	}
	return s.newsletterDo(ctx, ch, rawID, func(nl engine.Newsletterer, jid string) error {
		return nl.AcceptNewsletterAdmin(ctx, jid, user)
	})
}

// DemoteNewsletterAdmin removes an admin of a newsletter the account owns.
func (s *Service) DemoteNewsletterAdmin(ctx context.Context, ch model.Channel, rawID, rawUser string) error {
	user, err := newsletterUser(rawUser)
	if err != nil {
		return err
	}
	return s.newsletterDo(ctx, ch, rawID, func(nl engine.Newsletterer, jid string) error {
		return nl.DemoteNewsletterAdmin(ctx, jid, user)
	})
}

// NewsletterInviteSend is a message with a newsletter's invite link.
type NewsletterInviteSend struct {
	To, Title, Body string
	Mentions        []string
}

// SendNewsletterInvite sends a newsletter's invite link to a chat: the
// body with %URL% replaced by the link (the link alone, or after the body,
// when it has no %URL%), with a preview titled after the newsletter.
func (s *Service) SendNewsletterInvite(ctx context.Context, ch model.Channel, rawCode string, r NewsletterInviteSend) (model.Message, error) {
	info, err := s.NewsletterByInvite(ctx, ch, rawCode)
	if err != nil {
		return model.Message{}, err
	}
	link := NewsletterLinkPrefix + info.InviteCode
	body := r.Body
	switch {
	case strings.Contains(body, "%URL%"):
		body = strings.ReplaceAll(body, "%URL%", link)
	case strings.TrimSpace(body) == "":
		body = link
	default:
		body += "\n" + link
	}
	title := r.Title
	if title == "" {
		title = info.Name
	}
	return s.Send(ctx, ch, SendRequest{Kind: engine.KindLinkPreview, To: r.To, Body: body, Title: title,
		Description: info.Description, Canonical: link, Mentions: r.Mentions})
}
