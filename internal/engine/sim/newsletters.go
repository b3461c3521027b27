package sim

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine"
)

// Newsletters (WhatsApp channels) are public: anyone reads them, finds
// them in the directory and follows them; their owner and admins post
// (Send to "<digits>@newsletter"). A post reaches the devices of every
// follower, owner and admin as an engine.Message whose Chat and Sender are
// the newsletter.

var _ engine.Newsletterer = (*session)(nil)

// Limits of newsletters, like WhatsApp's.
const (
	MaxNewsletterName        = 100
	MaxNewsletterDescription = 2048
	// AdminInviteTTL is how long an admin invitation is valid.
	AdminInviteTTL = 7 * 24 * time.Hour
)

// SnapNewsletter is a newsletter, in the network and in a Snapshot.
type SnapNewsletter struct {
	JID           string               `json:"jid"`
	Name          string               `json:"name"`
	NameAt        time.Time            `json:"name_at"`
	Description   string               `json:"description,omitempty"`
	DescriptionAt time.Time            `json:"description_at"`
	Invite        string               `json:"invite"`
	Picture       []byte               `json:"picture,omitempty"`
	Created       time.Time            `json:"created"`
	Owner         string               `json:"owner"`
	Admins        []string             `json:"admins,omitempty"`
	Followers     []string             `json:"followers,omitempty"`
	Reactions     string               `json:"reactions"`
	Invites       map[string]time.Time `json:"invites,omitempty"` // admin invitations: number -> expiry
	Posts         []SnapPost           `json:"posts,omitempty"`
	NextID        int64                `json:"next_id"`
}

// SnapPost is a newsletter's post.
type SnapPost struct {
	ServerID int64          `json:"server_id"`
	ID       string         `json:"id"`
	Content  engine.Content `json:"content"`
	Time     time.Time      `json:"time"`
	Views    int            `json:"views,omitempty"`
}

// newsletter is a newsletter in the network.
type newsletter = SnapNewsletter

func (nl *newsletter) role(number string) string {
	switch {
	case nl.Owner == number:
		return engine.NewsletterOwner
	case slices.Contains(nl.Admins, number):
		return engine.NewsletterAdmin
	case slices.Contains(nl.Followers, number):
		return engine.NewsletterSubscriber
	}
	return engine.NewsletterGuest
}

func (nl *newsletter) info(number string) engine.NewsletterInfo {
	out := engine.NewsletterInfo{JID: nl.JID, Name: nl.Name, NameAt: nl.NameAt, Description: nl.Description,
		DescriptionAt: nl.DescriptionAt, InviteCode: nl.Invite, Subscribers: len(nl.Followers) + len(nl.Admins) + 1,
		Created: nl.Created, Role: nl.role(number), Reactions: nl.Reactions}
	if len(nl.Picture) > 0 {
		out.Picture = "sim://newsletter/" + nl.JID + "/picture"
	}
	return out
}

// audience is who gets a newsletter's posts: its owner, admins and
// followers.
func (nl *newsletter) audience() []string {
	out := append([]string{nl.Owner}, nl.Admins...)
	return append(out, nl.Followers...)
}

func (n *Network) newsletterMap() map[string]*newsletter {
	if n.newsletters == nil {
		n.newsletters = map[string]*newsletter{}
	}
	return n.newsletters
}

// IsNewsletter reports whether a chat is a newsletter's JID.
func IsNewsletter(jid string) bool {
	user, ok := strings.CutSuffix(strings.TrimSpace(jid), "@"+engine.NewsletterServer)
	return ok && isDigits(user) && len(user) >= 10 && len(user) <= 18
}

func (n *Network) findNewsletter(jid string) (*newsletter, error) {
	if nl := n.newsletterMap()[strings.TrimSpace(jid)]; nl != nil {
		return nl, nil
	}
	return nil, fmt.Errorf("%w: %s", engine.ErrNewsletterNotFound, jid)
}

// managed returns a newsletter p owns (owner) or runs (owner or admin).
func (n *Network) managed(p *phone, jid string, ownerOnly bool) (*newsletter, error) {
	nl, err := n.findNewsletter(jid)
	if err != nil {
		return nil, err
	}
	r := nl.role(p.number)
	if r == engine.NewsletterOwner || (!ownerOnly && r == engine.NewsletterAdmin) {
		return nl, nil
	}
	who := "owner and admins"
	if ownerOnly {
		who = "owner"
	}
	return nil, fmt.Errorf("%w: only the %s of %s do this", engine.ErrNotAdmin, who, jid)
}

func checkNewsletterName(name string) error {
	if strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > MaxNewsletterName || !utf8.ValidString(name) {
		return fmt.Errorf("%w: a newsletter name is 1 to %d characters, not blank", ErrInvalidContent, MaxNewsletterName)
	}
	return nil
}

func checkNewsletterInfo(description string, picture []byte) error {
	if utf8.RuneCountInString(description) > MaxNewsletterDescription || !utf8.ValidString(description) {
		return fmt.Errorf("%w: a newsletter description is at most %d characters", ErrInvalidContent, MaxNewsletterDescription)
	}
	if len(picture) > MaxPictureSize {
		return fmt.Errorf("%w: the picture is %d bytes, more than %d", ErrTooLarge, len(picture), MaxPictureSize)
	}
	return nil
}

// CreateNewsletter creates a newsletter owned by the account.
func (s *session) CreateNewsletter(ctx context.Context, c engine.NewsletterCreate) (engine.NewsletterInfo, error) {
	if err := checkNewsletterName(c.Name); err != nil {
		return engine.NewsletterInfo{}, err
	}
	if err := checkNewsletterInfo(c.Description, c.Picture); err != nil {
		return engine.NewsletterInfo{}, err
	}
	var out engine.NewsletterInfo
	err := s.do(ctx, func(a actor) error {
		m := s.net.newsletterMap()
		var jid string
		for jid == "" || m[jid] != nil {
			jid = "120363" + randDigits(12) + "@" + engine.NewsletterServer
		}
		now := s.net.opts.Now()
		nl := &newsletter{JID: jid, Name: c.Name, NameAt: now, Description: c.Description, Invite: newsletterInvite(),
			Picture: slices.Clone(c.Picture), Created: now, Owner: a.p.number, Reactions: "all"}
		if c.Description != "" {
			nl.DescriptionAt = now
		}
		m[jid] = nl
		out = nl.info(a.p.number)
		return nil
	})
	return out, err
}

// newsletterInvite is a new invite code: 24 letters and digits.
func newsletterInvite() string {
	b := randBytes(24)
	out := make([]byte, len(b))
	for i, x := range b {
		out[i] = inviteAlphabet[int(x)%len(inviteAlphabet)]
	}
	return string(out)
}

// Newsletters lists those the account owns, runs or follows, by JID.
func (s *session) Newsletters(ctx context.Context) ([]engine.NewsletterInfo, error) {
	var out []engine.NewsletterInfo
	err := s.do(ctx, func(a actor) error {
		m := s.net.newsletterMap()
		for _, jid := range slices.Sorted(maps.Keys(m)) {
			if nl := m[jid]; nl.role(a.p.number) != engine.NewsletterGuest {
				out = append(out, nl.info(a.p.number))
			}
		}
		return nil
	})
	return out, err
}

// Newsletter reads any newsletter.
func (s *session) Newsletter(ctx context.Context, jid string) (engine.NewsletterInfo, error) {
	var out engine.NewsletterInfo
	err := s.do(ctx, func(a actor) error {
		nl, err := s.net.findNewsletter(jid)
		if err == nil {
			out = nl.info(a.p.number)
		}
		return err
	})
	return out, err
}

// NewsletterByInvite reads the newsletter of an invite code.
func (s *session) NewsletterByInvite(ctx context.Context, code string) (engine.NewsletterInfo, error) {
	var out engine.NewsletterInfo
	err := s.do(ctx, func(a actor) error {
		for _, nl := range s.net.newsletterMap() {
			if nl.Invite == code {
				out = nl.info(a.p.number)
				return nil
			}
		}
		return fmt.Errorf("%w: no newsletter has the invite code %q", engine.ErrNewsletterNotFound, code)
	})
	return out, err
}

// FindNewsletters searches the directory: names and descriptions that
// contain Search (any case), sorted as asked; Recommended lists the most
// followed first. The cursor is the position of the page.
func (s *session) FindNewsletters(ctx context.Context, q engine.NewsletterQuery) (engine.NewsletterPage, error) {
	start := 0
	if q.Cursor != "" {
		v, err := strconv.Atoi(q.Cursor)
		if err != nil || v < 0 {
			return engine.NewsletterPage{}, fmt.Errorf("%w: cursor %q is not one this directory gave", ErrInvalidContent, q.Cursor)
		}
		start = v
	}
	count := q.Count
	if count <= 0 {
		count = 100
	}
	var out engine.NewsletterPage
	err := s.do(ctx, func(a actor) error {
		var all []*newsletter
		needle := strings.ToLower(q.Search)
		for _, nl := range s.net.newsletterMap() {
			if q.Recommended || strings.Contains(strings.ToLower(nl.Name+"\n"+nl.Description), needle) {
				all = append(all, nl)
			}
		}
		field := q.SortField
		if q.Recommended && field == "" {
			field, q.Descending = "subscribers", true
		}
		slices.SortFunc(all, func(x, y *newsletter) int {
			var c int
			switch field {
			case "subscribers":
				c = cmp.Compare(len(x.audience()), len(y.audience()))
			default:
				c = x.Created.Compare(y.Created)
			}
			if q.Descending {
				c = -c
			}
			return cmp.Or(c, strings.Compare(x.JID, y.JID))
		})
		out.Cursor, out.Previous = q.Cursor, start > 0
		for i := start; i < len(all) && i < start+count; i++ {
			out.Newsletters = append(out.Newsletters, all[i].info(a.p.number))
		}
		if start+count < len(all) {
			out.Next = strconv.Itoa(start + count)
		}
		return nil
	})
	return out, err
}

// UpdateNewsletter changes a newsletter (owner and admins).
func (s *session) UpdateNewsletter(ctx context.Context, jid string, u engine.NewsletterUpdate) (engine.NewsletterInfo, error) {
	var out engine.NewsletterInfo
	if u.Name != nil {
		if err := checkNewsletterName(*u.Name); err != nil {
			return out, err
		}
	}
	desc := ""
	if u.Description != nil {
		desc = *u.Description
	}
	if err := checkNewsletterInfo(desc, u.Picture); err != nil {
		return out, err
	}
	if u.Reactions != nil && !slices.Contains(engine.NewsletterReactions, *u.Reactions) {
		return out, fmt.Errorf("%w: reactions must be one of %v", ErrInvalidContent, engine.NewsletterReactions)
	}
	err := s.do(ctx, func(a actor) error {
		nl, err := s.net.managed(a.p, jid, false)
		if err != nil {
			return err
		}
		now := s.net.opts.Now()
		if u.Name != nil {
			nl.Name, nl.NameAt = *u.Name, now
		}
		if u.Description != nil {
			nl.Description, nl.DescriptionAt = *u.Description, now
		}
		if u.Picture != nil {
			nl.Picture = slices.Clone(u.Picture)
		}
		if u.Reactions != nil {
			nl.Reactions = *u.Reactions
		}
		out = nl.info(a.p.number)
		return nil
	})
	return out, err
}

// DeleteNewsletter deletes a newsletter (owner only).
func (s *session) DeleteNewsletter(ctx context.Context, jid string) error {
	return s.do(ctx, func(a actor) error {
		nl, err := s.net.managed(a.p, jid, true)
		if err == nil {
			delete(s.net.newsletters, nl.JID)
		}
		return err
	})
}

// FollowNewsletter follows or unfollows a newsletter; its owner and admins
// follow it for good.
func (s *session) FollowNewsletter(ctx context.Context, jid string, follow bool) error {
	return s.do(ctx, func(a actor) error {
		nl, err := s.net.findNewsletter(jid)
		if err != nil {
			return err
		}
		switch r := nl.role(a.p.number); {
		case r == engine.NewsletterOwner || r == engine.NewsletterAdmin:
			if !follow {
				return fmt.Errorf("%w: the %s of %s cannot unfollow it", ErrInvalidContent, r, jid)
			}
		case follow && r == engine.NewsletterGuest:
			nl.Followers = append(nl.Followers, a.p.number)
		case !follow:
			nl.Followers = slices.DeleteFunc(nl.Followers, func(x string) bool { return x == a.p.number })
		}
		return nil
	})
}

// TrackNewsletter asks for live updates of a newsletter's posts.
func (s *session) TrackNewsletter(ctx context.Context, jid string) error {
	return s.do(ctx, func(a actor) error {
		_, err := s.net.findNewsletter(jid)
		return err
	})
}

// NewsletterMessages reads posts, newest first.
func (s *session) NewsletterMessages(ctx context.Context, jid string, count int, before, after int64) ([]engine.NewsletterMessage, error) {
	if count <= 0 {
		count = 100
	}
	var out []engine.NewsletterMessage
	err := s.do(ctx, func(a actor) error {
		nl, err := s.net.findNewsletter(jid)
		if err != nil {
			return err
		}
		for i := len(nl.Posts) - 1; i >= 0 && len(out) < count; i-- {
			p := nl.Posts[i]
			if (before > 0 && p.ServerID >= before) || (after > 0 && p.ServerID <= after) {
				continue
			}
			out = append(out, engine.NewsletterMessage{ServerID: p.ServerID, Views: p.Views, Message: engine.Message{
				ID: p.ID, Chat: nl.JID, Sender: nl.JID, PushName: nl.Name, Text: p.Content.Text, Time: p.Time,
				Content: p.Content, FromMe: nl.role(a.p.number) == engine.NewsletterOwner || nl.role(a.p.number) == engine.NewsletterAdmin}})
		}
		return nil
	})
	return out, err
}

// postNewsletter posts checked content to a newsletter the account runs.
func (n *Network) postNewsletter(a actor, jid string, c engine.Content) (engine.SentMessage, error) {
	nl, err := n.managed(a.p, jid, false)
	if err != nil {
		return engine.SentMessage{}, err
	}
	if c.Kind == engine.KindPoll && c.Poll.Selectable != 1 {
		return engine.SentMessage{}, fmt.Errorf("%w: newsletter polls allow one option per vote", ErrInvalidContent)
	}
	if c.QuotedID != "" || c.EditedID != "" {
		return engine.SentMessage{}, fmt.Errorf("%w: newsletter posts quote and edit nothing here", ErrInvalidContent)
	}
	stored := c
	if c.Media != nil {
		m := *c.Media
		m.Data = nil
		stored.Media = &m
	}
	nl.NextID++
	now := n.opts.Now()
	p := SnapPost{ServerID: nl.NextID, ID: a.newID(), Content: stored, Time: now}
	nl.Posts = append(nl.Posts, p)
	if over := len(nl.Posts) - n.opts.MaxMessages; over > 0 {
		nl.Posts = slices.Delete(nl.Posts, 0, over)
	}
	in := engine.Message{ID: p.ID, Chat: nl.JID, Sender: nl.JID, PushName: nl.Name, Text: c.Text, Time: now, Content: c}
	for _, num := range nl.audience() {
		r := n.phones[num]
		if r == nil {
			continue
		}
		ev := in
		ev.FromMe = num == nl.Owner || slices.Contains(nl.Admins, num)
		for _, d := range r.devices {
			if d != a.dev {
				n.toDevice(d, ev)
			}
		}
	}
	return engine.SentMessage{ID: p.ID, Chat: nl.JID, Time: now, Payload: payloadOf(p.ID)}, nil
}

// InviteNewsletterAdmin invites a user to be an admin: the user gets a
// message from the account saying so.
func (s *session) InviteNewsletterAdmin(ctx context.Context, jid, user, text string) (engine.SentMessage, error) {
	num, err := parseRecipient(user)
	if err != nil {
		return engine.SentMessage{}, err
	}
	var out engine.SentMessage
	err = s.do(ctx, func(a actor) error {
		nl, err := s.net.managed(a.p, jid, false)
		if err != nil {
			return err
		}
		r, err := s.net.recipient(a.p, num)
		if err != nil {
			return err
		}
		if nl.role(num) == engine.NewsletterOwner || nl.role(num) == engine.NewsletterAdmin {
			return fmt.Errorf("%w: %s already runs %s", ErrInvalidContent, num, jid)
		}
		if text == "" {
			text = fmt.Sprintf("Invitation to be an admin of the WhatsApp channel %q", nl.Name)
		}
		if nl.Invites == nil {
			nl.Invites = map[string]time.Time{}
		}
		nl.Invites[num] = s.net.opts.Now().Add(AdminInviteTTL)
		m := s.net.deliver(a, target{user: r}, engine.Content{Kind: engine.KindText, Text: text})
		out = engine.SentMessage{ID: m.id, Chat: JID(num), Time: m.time, Payload: payloadOf(m.id)}
		return nil
	})
	return out, err
}

// RevokeNewsletterAdminInvite takes an admin invitation back.
func (s *session) RevokeNewsletterAdminInvite(ctx context.Context, jid, user string) error {
	num, err := parseRecipient(user)
	if err != nil {
		return err
	}
	return s.do(ctx, func(a actor) error {
		nl, err := s.net.managed(a.p, jid, false)
		if err != nil {
			return err
		}
		if _, ok := nl.Invites[num]; !ok {
			return fmt.Errorf("%w: %s has no admin invitation to %s", engine.ErrNoNewsletterAdmin, num, jid)
		}
		delete(nl.Invites, num)
		return nil
	})
}

// AcceptNewsletterAdmin accepts the account's own admin invitation (user:
// who invited it, the owner or an admin).
func (s *session) AcceptNewsletterAdmin(ctx context.Context, jid, user string) error {
	inviter, err := parseRecipient(user)
	if err != nil {
		return err
	}
	return s.do(ctx, func(a actor) error {
		nl, err := s.net.findNewsletter(jid)
		if err != nil {
			return err
		}
		exp, ok := nl.Invites[a.p.number]
		if r := nl.role(inviter); !ok || !s.net.opts.Now().Before(exp) || (r != engine.NewsletterOwner && r != engine.NewsletterAdmin) {
			return fmt.Errorf("%w: %s has no valid admin invitation from %s to %s", engine.ErrNoNewsletterAdmin, a.p.number, inviter, jid)
		}
		delete(nl.Invites, a.p.number)
		nl.Followers = slices.DeleteFunc(nl.Followers, func(x string) bool { return x == a.p.number })
		nl.Admins = append(nl.Admins, a.p.number)
		return nil
	})
}

// DemoteNewsletterAdmin makes an admin a follower again (owner only).
func (s *session) DemoteNewsletterAdmin(ctx context.Context, jid, user string) error {
	num, err := parseRecipient(user)
	if err != nil {
		return err
	}
	return s.do(ctx, func(a actor) error {
		nl, err := s.net.managed(a.p, jid, true)
		if err != nil {
			return err
		}
		if !slices.Contains(nl.Admins, num) {
			return fmt.Errorf("%w: %s is not an admin of %s", engine.ErrNoNewsletterAdmin, num, jid)
		}
		nl.Admins = slices.DeleteFunc(nl.Admins, func(x string) bool { return x == num })
		nl.Followers = append(nl.Followers, num)
		return nil
	})
}

// snapshotExtra adds communities and newsletters to a snapshot (under the
// network's lock).
func (n *Network) snapshotExtra(s *Snapshot) {
	for _, jid := range slices.Sorted(maps.Keys(n.communities)) {
		s.Communities = append(s.Communities, SnapCommunity{JID: jid, commMeta: *n.communities[jid]})
	}
	for _, jid := range slices.Sorted(maps.Keys(n.newsletters)) {
		nl := *n.newsletters[jid]
		nl.Admins, nl.Followers, nl.Picture = slices.Clone(nl.Admins), slices.Clone(nl.Followers), slices.Clone(nl.Picture)
		nl.Invites, nl.Posts = maps.Clone(nl.Invites), slices.Clone(nl.Posts)
		s.Newsletters = append(s.Newsletters, nl)
	}
}

// loadExtra restores communities and newsletters (under the lock).
func (n *Network) loadExtra(s Snapshot) {
	n.communities, n.newsletters = map[string]*commMeta{}, map[string]*newsletter{}
	for _, c := range s.Communities {
		if n.groups[c.JID] != nil {
			m := c.commMeta
			n.communities[c.JID] = &m
		}
	}
	for _, nl := range s.Newsletters {
		if IsNewsletter(nl.JID) {
			cp := nl
			n.newsletters[nl.JID] = &cp
		}
	}
}
