package engine

import (
	"context"
	"errors"
	"time"
)

// CommunityInfo describes a community (a parent group) or a group linked
// to one.
type CommunityInfo struct {
	GroupInfo
	// IsParent: a community itself. Parent: the community a linked group
	// belongs to. DefaultSub: the community's announcement group.
	IsParent   bool
	Parent     string
	DefaultSub bool
	// AdminsAddMembers: only admins add members (member_add_mode);
	// AdminsModifyGroups: only admins link groups (modify_groups).
	AdminsAddMembers   bool
	AdminsModifyGroups bool
}

// SubGroup is a group linked to a community.
type SubGroup struct {
	JID        string
	Subject    string
	Created    time.Time
	DefaultSub bool // the announcement group
}

// Community settings (Whapi's).
const (
	CommunityModifyGroups = "modify_groups"
	CommunityMemberAdd    = "member_add_mode"
)

// Communitarian is a session that runs communities: parent groups with an
// announcement group and linked groups. Participants, admins and invite
// links of a community are those of its parent group (Actor).
type Communitarian interface {
	// CreateCommunity creates a community (and its announcement group).
	CreateCommunity(ctx context.Context, subject, description string) (CommunityInfo, error)
	// Communities lists the communities the account is in.
	Communities(ctx context.Context) ([]CommunityInfo, error)
	// Community reads one (ErrGroupNotFound when the account is not in it
	// or it is not a community).
	Community(ctx context.Context, jid string) (CommunityInfo, error)
	// CreateCommunityGroup creates a group linked to a community.
	CreateCommunityGroup(ctx context.Context, community, subject string, participants []string, hidden bool) (CommunityInfo, error)
	// LinkGroup links (or unlinks) an existing group the account admins.
	LinkGroup(ctx context.Context, community, group string, link bool) error
	// SubGroups lists the community's groups.
	SubGroups(ctx context.Context, community string) ([]SubGroup, error)
	// JoinSubGroup joins a group of a community the account is in.
	JoinSubGroup(ctx context.Context, community, group string) error
	// SetCommunitySetting sets a CommunityModifyGroups or CommunityMemberAdd
	// policy (admins only, or anyone).
	SetCommunitySetting(ctx context.Context, community, setting string, adminsOnly bool) error
	// DeactivateCommunity ends a community: its groups are unlinked, the
	// announcement group closes (owner only).
	DeactivateCommunity(ctx context.Context, community string) error
}

// ErrNotCommunity: a group that is not a community (or not linked to the
// community given).
var ErrNotCommunity = errors.New("engine: not a community, or the group is not linked to it")

// KindEvent is an event announced in a chat (a community's group).
const KindEvent = "event"

// EventInfo is an event to announce.
type EventInfo struct {
	Title       string
	Description string
	Start, End  time.Time // End zero: none
	Location    *Location
}

// EventPoster is a session that announces events in groups.
type EventPoster interface {
	// PostEvent announces an event in a group the account is in.
	PostEvent(ctx context.Context, chat string, e EventInfo) (SentMessage, error)
}
