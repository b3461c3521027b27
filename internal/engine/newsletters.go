package engine

import (
	"context"
	"errors"
	"time"
)

// NewsletterServer is the JID server of newsletters (WhatsApp channels).
const NewsletterServer = "newsletter"

// Roles of the account in a newsletter.
const (
	NewsletterOwner      = "owner"
	NewsletterAdmin      = "admin"
	NewsletterSubscriber = "subscriber"
	NewsletterGuest      = "guest"
)

// Reaction settings of a newsletter.
var NewsletterReactions = []string{"all", "basic", "blocklist", "none"}

// NewsletterInfo describes a newsletter as the account sees it.
type NewsletterInfo struct {
	JID           string // digits@newsletter
	Name          string
	NameAt        time.Time
	Description   string
	DescriptionAt time.Time
	InviteCode    string
	Handle        string
	Picture       string // URL, when there is one
	Subscribers   int
	Verified      bool
	Created       time.Time
	Role          string // NewsletterOwner...; guest when not following
	Muted         bool
	Reactions     string
}

// NewsletterCreate is a newsletter to create; Picture is a JPEG (optional).
type NewsletterCreate struct {
	Name        string
	Description string
	Picture     []byte
}

// NewsletterUpdate changes a newsletter; nil fields stay.
type NewsletterUpdate struct {
	Name        *string
	Description *string
	Picture     []byte // JPEG; nil keeps it
	Reactions   *string
}

// NewsletterQuery searches the directory of newsletters (Recommended: the
// directory's picks, Search ignored). Cursor continues an earlier page.
type NewsletterQuery struct {
	Recommended bool
	Search      string
	Country     string
	SortField   string // "creation_time" or "subscribers" ("" : directory order)
	Descending  bool
	Cursor      string
	Count       int
}

// NewsletterPage is a page of the directory; Next is the cursor of the
// next page ("" when it is the last).
type NewsletterPage struct {
	Newsletters []NewsletterInfo
	Cursor      string
	Next        string
	Previous    bool
}

// NewsletterMessage is a post of a newsletter.
type NewsletterMessage struct {
	Message
	ServerID int64
	Views    int
}

// Newsletterer is a session that follows, reads and runs newsletters.
type Newsletterer interface {
	// CreateNewsletter creates a newsletter the account owns.
	CreateNewsletter(ctx context.Context, c NewsletterCreate) (NewsletterInfo, error)
	// Newsletters lists the newsletters the account follows or runs.
	Newsletters(ctx context.Context) ([]NewsletterInfo, error)
	// Newsletter reads one (ErrNewsletterNotFound).
	Newsletter(ctx context.Context, jid string) (NewsletterInfo, error)
	// NewsletterByInvite reads the newsletter of an invite code.
	NewsletterByInvite(ctx context.Context, code string) (NewsletterInfo, error)
	// FindNewsletters searches the directory.
	FindNewsletters(ctx context.Context, q NewsletterQuery) (NewsletterPage, error)
	// UpdateNewsletter changes a newsletter (owner and admins: ErrNotAdmin).
	UpdateNewsletter(ctx context.Context, jid string, u NewsletterUpdate) (NewsletterInfo, error)
	// DeleteNewsletter deletes a newsletter (owner only).
	DeleteNewsletter(ctx context.Context, jid string) error
	// FollowNewsletter follows or unfollows a newsletter.
	FollowNewsletter(ctx context.Context, jid string, follow bool) error
	// TrackNewsletter asks for live updates (views, reactions) of a newsletter's posts.
	TrackNewsletter(ctx context.Context, jid string) error
	// NewsletterMessages reads posts, newest first: before/after are
	// server IDs (0: no bound).
	NewsletterMessages(ctx context.Context, jid string, count int, before, after int64) ([]NewsletterMessage, error)
	// InviteNewsletterAdmin invites a user to become an admin (a message
	// to the user); RevokeNewsletterAdminInvite takes the invitation back.
	InviteNewsletterAdmin(ctx context.Context, jid, user, text string) (SentMessage, error)
	RevokeNewsletterAdminInvite(ctx context.Context, jid, user string) error
	// AcceptNewsletterAdmin accepts the invitation to be an admin that
	// user sent to the account.
	AcceptNewsletterAdmin(ctx context.Context, jid, user string) error
	// DemoteNewsletterAdmin removes an admin (owner only).
	DemoteNewsletterAdmin(ctx context.Context, jid, user string) error
}

// Errors of newsletters.
var (
	ErrNewsletterNotFound = errors.New("engine: newsletter not found")
	ErrNoNewsletterAdmin  = errors.New("engine: no such newsletter admin or admin invitation")
)
