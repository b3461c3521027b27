package whatsmeow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/internal/engine"
)

// Newsletters (WhatsApp channels) through whatsmeow: create, read, follow,
// unfollow, live updates and posts. Editing and deleting a newsletter,
// the directory search, admin invitations and removing admins are
// WhatsApp queries whatsmeow does not offer: engine.ErrUnsupported.

var _ engine.Newsletterer = (*Session)(nil)

// parseNewsletter parses a newsletter JID.
func parseNewsletter(s string) (types.JID, error) {
	jid, err := parseChat(s)
	if err != nil || jid.Server != types.NewsletterServer {
		return types.JID{}, fmt.Errorf("%w: %q is not a newsletter JID", engine.ErrNewsletterNotFound, s)
	}
	return jid, nil
}

// newsletterErr maps whatsmeow's errors of newsletter calls.
func newsletterErr(err error) error {
	if errors.Is(err, wm.ErrIQNotFound) || errors.Is(err, wm.ErrIQBadRequest) {
		return fmt.Errorf("%w: %w", engine.ErrNewsletterNotFound, err)
	}
	if errors.Is(err, wm.ErrIQNotAuthorized) || errors.Is(err, wm.ErrIQForbidden) {
		return fmt.Errorf("%w: %w", engine.ErrNotAdmin, err)
	}
	return mapSendErr(err)
}

// newsletterInfo converts whatsmeow's newsletter metadata.
func newsletterInfo(m *types.NewsletterMetadata) engine.NewsletterInfo {
	t := m.ThreadMeta
	out := engine.NewsletterInfo{JID: m.ID.String(), Name: t.Name.Text, NameAt: t.Name.UpdateTime.Time,
		Description: t.Description.Text, DescriptionAt: t.Description.UpdateTime.Time, InviteCode: t.InviteCode,
		Subscribers: t.SubscriberCount, Verified: t.VerificationState == types.NewsletterVerificationStateVerified,
		Created: t.CreationTime.Time, Role: engine.NewsletterGuest, Reactions: strings.ToLower(string(t.Settings.ReactionCodes.Value))}
	if t.Picture != nil {
		out.Picture = t.Picture.URL
	} else if t.Preview.URL != "" {
		out.Picture = t.Preview.URL
	}
	if v := m.ViewerMeta; v != nil {
		if v.Role != "" {
			out.Role = string(v.Role)
		}
		out.Muted = v.Mute == types.NewsletterMuteOn
	}
	return out
}

// CreateNewsletter creates a newsletter.
func (s *Session) CreateNewsletter(ctx context.Context, c engine.NewsletterCreate) (engine.NewsletterInfo, error) {
	if strings.TrimSpace(c.Name) == "" {
		return engine.NewsletterInfo{}, fmt.Errorf("%w: a newsletter needs a name", ErrInvalidContent)
	}
	cli, _, _, err := s.online()
	if err != nil {
		return engine.NewsletterInfo{}, err
	}
	m, err := cli.CreateNewsletter(ctx, wm.CreateNewsletterParams{Name: c.Name, Description: c.Description, Picture: c.Picture})
	if err != nil {
		return engine.NewsletterInfo{}, fmt.Errorf("whatsmeow: create newsletter: %w", mapSendErr(err))
	}
	if m == nil {
		return engine.NewsletterInfo{}, errors.New("whatsmeow: create newsletter: WhatsApp answered no newsletter")
	}
	return newsletterInfo(m), nil
}

// Newsletters lists the newsletters the account follows or runs.
func (s *Session) Newsletters(ctx context.Context) ([]engine.NewsletterInfo, error) {
	cli, _, _, err := s.online()
	if err != nil {
		return nil, err
	}
	list, err := cli.GetSubscribedNewsletters(ctx)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: newsletters: %w", mapSendErr(err))
	}
	out := make([]engine.NewsletterInfo, 0, len(list))
	for _, m := range list {
		if m != nil {
			out = append(out, newsletterInfo(m))
		}
	}
	return out, nil
}

// Newsletter reads one newsletter.
func (s *Session) Newsletter(ctx context.Context, jid string) (engine.NewsletterInfo, error) {
	j, err := parseNewsletter(jid)
	if err != nil {
		return engine.NewsletterInfo{}, err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return engine.NewsletterInfo{}, err
	}
	m, err := cli.GetNewsletterInfo(ctx, j)
	if err != nil {
		return engine.NewsletterInfo{}, fmt.Errorf("whatsmeow: newsletter %s: %w", j, newsletterErr(err))
	}
	if m == nil {
		return engine.NewsletterInfo{}, fmt.Errorf("%w: %s", engine.ErrNewsletterNotFound, j)
	}
	return newsletterInfo(m), nil
}

// NewsletterByInvite reads the newsletter of an invite code.
func (s *Session) NewsletterByInvite(ctx context.Context, code string) (engine.NewsletterInfo, error) {
	cli, _, _, err := s.online()
	if err != nil {
		return engine.NewsletterInfo{}, err
	}
	m, err := cli.GetNewsletterInfoWithInvite(ctx, code)
	if err != nil {
		return engine.NewsletterInfo{}, fmt.Errorf("whatsmeow: newsletter of invite %s: %w", code, newsletterErr(err))
	}
	if m == nil {
		return engine.NewsletterInfo{}, fmt.Errorf("%w: invite %s", engine.ErrNewsletterNotFound, code)
	}
	return newsletterInfo(m), nil
}

// FindNewsletters is not offered by whatsmeow.
func (s *Session) FindNewsletters(context.Context, engine.NewsletterQuery) (engine.NewsletterPage, error) {
	return engine.NewsletterPage{}, unsupported("searching the newsletter directory (and its recommendations)")
}

// UpdateNewsletter is not offered by whatsmeow.
func (s *Session) UpdateNewsletter(context.Context, string, engine.NewsletterUpdate) (engine.NewsletterInfo, error) {
	return engine.NewsletterInfo{}, unsupported("editing a newsletter (name, description, picture, reactions)")
}

// DeleteNewsletter is not offered by whatsmeow.
func (s *Session) DeleteNewsletter(context.Context, string) error {
	return unsupported("deleting a newsletter")
}

// FollowNewsletter follows or unfollows a newsletter.
func (s *Session) FollowNewsletter(ctx context.Context, jid string, follow bool) error {
	j, err := parseNewsletter(jid)
	if err != nil {
		return err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if follow {
		err = cli.FollowNewsletter(ctx, j)
	} else {
		err = cli.UnfollowNewsletter(ctx, j)
	}
	if err != nil {
		return fmt.Errorf("whatsmeow: follow newsletter %s (%v): %w", j, follow, newsletterErr(err))
	}
	return nil
}

// TrackNewsletter subscribes to live updates of a newsletter's posts.
func (s *Session) TrackNewsletter(ctx context.Context, jid string) error {
	j, err := parseNewsletter(jid)
	if err != nil {
		return err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if _, err := cli.NewsletterSubscribeLiveUpdates(ctx, j); err != nil {
		return fmt.Errorf("whatsmeow: track newsletter %s: %w", j, newsletterErr(err))
	}
	return nil
}

// NewsletterMessages reads posts, newest first.
func (s *Session) NewsletterMessages(ctx context.Context, jid string, count int, before, after int64) ([]engine.NewsletterMessage, error) {
	j, err := parseNewsletter(jid)
	if err != nil {
		return nil, err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return nil, err
	}
	list, err := cli.GetNewsletterMessages(ctx, j, &wm.GetNewsletterMessagesParams{Count: count, Before: types.MessageServerID(before)})
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: newsletter %s messages: %w", j, newsletterErr(err))
	}
	out := make([]engine.NewsletterMessage, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- { // WhatsApp answers oldest first
		m := list[i]
		if m == nil || (after > 0 && int64(m.MessageServerID) <= after) {
			continue
		}
		nm := engine.NewsletterMessage{ServerID: int64(m.MessageServerID), Views: m.ViewsCount,
			Message: engine.Message{ID: m.MessageID, Chat: j.String(), Sender: j.String(), Time: m.Timestamp}}
		if m.Message != nil {
			ev := &events.Message{Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: j, Sender: j},
				ID: m.MessageID, Timestamp: m.Timestamp}, Message: m.Message}
			if c, ok := decodeContent(ev, nil); ok {
				nm.Content, nm.Text = c, c.Text
			}
		}
		if nm.Content.Kind == "" {
			nm.Content = engine.Content{Kind: engine.KindSystem, Text: "a post wagate cannot show (" + m.Type + ")"}
		}
		out = append(out, nm)
	}
	return out, nil
}

// InviteNewsletterAdmin is not offered by whatsmeow.
func (s *Session) InviteNewsletterAdmin(context.Context, string, string, string) (engine.SentMessage, error) {
	return engine.SentMessage{}, unsupported("inviting a newsletter admin")
}

// RevokeNewsletterAdminInvite is not offered by whatsmeow.
func (s *Session) RevokeNewsletterAdminInvite(context.Context, string, string) error {
	return unsupported("revoking a newsletter admin invitation")
}

// AcceptNewsletterAdmin is not offered by whatsmeow.
func (s *Session) AcceptNewsletterAdmin(context.Context, string, string) error {
	return unsupported("accepting a newsletter admin invitation")
}

// DemoteNewsletterAdmin is not offered by whatsmeow.
func (s *Session) DemoteNewsletterAdmin(context.Context, string, string) error {
	return unsupported("removing a newsletter admin")
}
