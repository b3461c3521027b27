package engine

import (
	"context"
	"errors"
	"time"
)

// Actor is what a linked, connected session can do beyond its lifecycle:
// every message kind, reactions, edits and deletes, presences, contacts and
// groups. Chats and users are JIDs ("15551234567@s.whatsapp.net",
// "120363000000000000@g.us"); the caller normalizes phone numbers. Offline
// sessions answer ErrNotConnected, unlinked ones ErrNotLinked.
type Actor interface {
	// Send sends a message of any kind to a chat.
	Send(ctx context.Context, chat string, c Content) (SentMessage, error)
	// React sets (emoji) or removes ("") the account's reaction to a
	// message; sender is the message's author (empty for own messages).
	React(ctx context.Context, chat, sender, id, emoji string) error
	// Revoke deletes a message for everyone (own messages; admins in groups).
	Revoke(ctx context.Context, chat, sender, id string) error
	// SetPresence makes the account available (online) or unavailable.
	SetPresence(ctx context.Context, online bool) error
	// SendChatPresence shows typing, recording or paused in a chat.
	SendChatPresence(ctx context.Context, chat string, state PresenceState) error
	// SubscribePresence asks for a user's presence updates (Presence events).
	SubscribePresence(ctx context.Context, user string) error
	// CheckNumbers says which phone numbers (digits) are on WhatsApp.
	CheckNumbers(ctx context.Context, phones []string) ([]NumberCheck, error)
	// UserProfile reads another user's public profile.
	UserProfile(ctx context.Context, user string) (Profile, error)

	// CreateGroup creates a group with the account as super admin.
	CreateGroup(ctx context.Context, subject string, participants []string) (GroupInfo, error)
	// Groups lists the groups the account is in.
	Groups(ctx context.Context) ([]GroupInfo, error)
	// Group reads one group (ErrGroupNotFound when the account is not in it).
	Group(ctx context.Context, group string) (GroupInfo, error)
	// SetGroupSubject, SetGroupDescription and SetGroupPhoto change a group
	// (admins only: ErrNotAdmin). An empty photo removes it.
	SetGroupSubject(ctx context.Context, group, subject string) error
	SetGroupDescription(ctx context.Context, group, description string) error
	SetGroupPhoto(ctx context.Context, group string, jpeg []byte) error
	// UpdateParticipants adds, removes, promotes or demotes participants;
	// each one's result says whether it worked.
	UpdateParticipants(ctx context.Context, group string, users []string, action ParticipantAction) ([]ParticipantResult, error)
	// LeaveGroup leaves a group.
	LeaveGroup(ctx context.Context, group string) error
	// GroupInvite returns the group's invite code; reset revokes the old one.
	GroupInvite(ctx context.Context, group string, reset bool) (string, error)
	// GroupByInvite previews the group an invite code leads to.
	GroupByInvite(ctx context.Context, code string) (GroupInfo, error)
	// JoinGroup joins the group of an invite code and returns its JID.
	JoinGroup(ctx context.Context, code string) (string, error)

	// Extras: received files on demand, calls (extras.go).
	Extras
}

// Errors of actions.
var (
	ErrUnsupported    = errors.New("engine: not supported by this engine")
	ErrGroupNotFound  = errors.New("engine: group not found")
	ErrNotAdmin       = errors.New("engine: not a group admin")
	ErrInviteNotFound = errors.New("engine: invite code not valid")
	ErrNotOnWhatsApp  = errors.New("engine: not on WhatsApp")
	ErrMessageUnknown = errors.New("engine: message not found")
	// ErrInvalidContent: the engine refuses what was asked (a blank text,
	// content that does not fit its kind, a file too large).
	ErrInvalidContent = errors.New("engine: invalid content")
	// ErrTooLate: an edit or a delete for everyone after WhatsApp's window.
	ErrTooLate = errors.New("engine: too late to change the message")
)

// Kinds of message content, as the gate API names them.
const (
	KindText        = "text"
	KindImage       = "image"
	KindVideo       = "video"
	KindGIF         = "gif"
	KindAudio       = "audio"
	KindVoice       = "voice"
	KindDocument    = "document"
	KindSticker     = "sticker"
	KindLocation    = "location"
	KindContact     = "contact"
	KindLinkPreview = "link_preview"
	KindPoll        = "poll"
	KindReaction    = "reaction"  // incoming only: Content.Reaction
	KindRevoke      = "revoke"    // incoming only: Content.RevokedID
	KindEdit        = "edit"      // incoming only: Content.EditedID and Text
	KindSystem      = "system"    // incoming only: group notices and the like
	KindPollVote    = "poll_vote" // incoming only: Content.PollVote
)

// IsMedia reports whether a kind carries a file.
func IsMedia(kind string) bool {
	switch kind {
	case KindImage, KindVideo, KindGIF, KindAudio, KindVoice, KindDocument, KindSticker, KindShort:
		return true
	}
	return false
}

// Content is a message's content, sent (Send) or received (Message.Content).
type Content struct {
	Kind string
	// Text is the body of a text or link preview, or a media caption.
	Text string
	// Media is the file of image, video, gif, audio, voice, document and
	// sticker messages.
	Media       *Media
	Location    *Location
	Contact     *ContactCard
	LinkPreview *LinkPreview
	Poll        *Poll
	// LiveLocation is a live_location's; Contacts a contact_list's (kinds.go).
	LiveLocation *LiveLocation
	Contacts     []ContactCard
	// Interactive, Carousel, Product, Catalog and Order: the business
	// kinds' (business.go).
	Interactive *Interactive
	Carousel    *Carousel
	Product     *ProductRef
	Catalog     *CatalogLink
	Order       *Order
	Reply       *Reply
	// QuotedID and QuotedSender make the message a reply.
	QuotedID     string
	QuotedSender string
	// Quoted is the quoted message's content, when the caller knows it:
	// WhatsApp draws the quote bubble from a copy inside the reply, not
	// from the ID alone. Only its kind, texts and file details are used
	// (never Data).
	Quoted *Content
	// Mentions are the user JIDs mentioned in Text.
	Mentions []string
	// ViewOnce asks the phone to show media once.
	ViewOnce bool
	// EditedID: for Send, replace the text of this own message instead of
	// sending a new one; received, the message that was edited (KindEdit).
	EditedID string
	// Received only.
	Reaction  *Reaction
	RevokedID string
	PollVote  *PollVote
}

// Media is a message's file. Sending, Data holds the bytes. Received, Data
// holds them when the engine already has them, else Fetch downloads them.
type Media struct {
	Data     []byte
	Fetch    func(ctx context.Context) ([]byte, error) `json:"-"`
	MimeType string
	FileName string
	Size     int64
	SHA256   []byte
	Seconds  int // audio and video length
	Width    int
	Height   int
	// Ref (received) is the engine's reference to download the file
	// later (Extras.DownloadMedia); opaque to the caller, who keeps it.
	Ref string `json:",omitempty"`
	// Thumbnail is a small JPEG preview (images, videos, documents) and
	// Waveform a voice note's 64 loudness samples (0-100), when known.
	Thumbnail []byte `json:",omitempty"`
	Waveform  []byte `json:",omitempty"`
}

// Location is a place.
type Location struct {
	Latitude, Longitude float64
	Name, Address, URL  string
}

// ContactCard is a shared contact.
type ContactCard struct {
	Name  string
	VCard string
}

// LinkPreview is a text with a link and its preview.
type LinkPreview struct {
	URL, Title, Description string
	Thumbnail               []byte // JPEG, optional
}

// Poll is a poll question.
type Poll struct {
	Title   string
	Options []string
	// Selectable is how many options one voter may pick (0 = any).
	Selectable int
}

// Reaction is a reaction to a message.
type Reaction struct {
	TargetID string
	Emoji    string // empty: removed
}

// PresenceState is a chat presence.
type PresenceState string

// Chat presences and user presences.
const (
	PresenceTyping    PresenceState = "typing"
	PresenceRecording PresenceState = "recording"
	PresencePaused    PresenceState = "paused"
	PresenceOnline    PresenceState = "online"
	PresenceOffline   PresenceState = "offline"
)

// Presence reports a user's presence, or typing/recording in a chat.
type Presence struct {
	Chat     string // the chat (typing, recording, paused), or the user
	User     string
	State    PresenceState
	LastSeen time.Time // offline: when last seen, when known
}

// NumberCheck is CheckNumbers' answer for one number.
type NumberCheck struct {
	Input  string
	JID    string // set when Exists
	Exists bool
}

// GroupInfo describes a group.
type GroupInfo struct {
	JID          string
	Subject      string
	Description  string
	Owner        string
	Created      time.Time
	Participants []Participant
	// Announce: only admins send; Locked: only admins edit the info.
	Announce, Locked bool
}

// Participant is a member of a group.
type Participant struct {
	JID        string
	Admin      bool
	SuperAdmin bool
}

// ParticipantAction is what UpdateParticipants does.
type ParticipantAction string

// Participant actions.
const (
	ParticipantAdd     ParticipantAction = "add"
	ParticipantRemove  ParticipantAction = "remove"
	ParticipantPromote ParticipantAction = "promote"
	ParticipantDemote  ParticipantAction = "demote"
)

// ParticipantResult is one user's outcome of UpdateParticipants; Error is
// empty when it worked (e.g. "not on WhatsApp", "privacy settings",
// "not a participant").
type ParticipantResult struct {
	JID   string
	Error string
}

func (Presence) event() {}

// Unsupported implements Actor by answering ErrUnsupported; embed it in
// sessions (or test fakes) that do not act.
type Unsupported struct{}

var _ Actor = Unsupported{}

func (Unsupported) Send(context.Context, string, Content) (SentMessage, error) {
	return SentMessage{}, ErrUnsupported
}
func (Unsupported) React(context.Context, string, string, string, string) error {
	return ErrUnsupported
}
func (Unsupported) Revoke(context.Context, string, string, string) error { return ErrUnsupported }
func (Unsupported) SetPresence(context.Context, bool) error              { return ErrUnsupported }
func (Unsupported) SendChatPresence(context.Context, string, PresenceState) error {
	return ErrUnsupported
}
func (Unsupported) SubscribePresence(context.Context, string) error { return ErrUnsupported }
func (Unsupported) CheckNumbers(context.Context, []string) ([]NumberCheck, error) {
	return nil, ErrUnsupported
}
func (Unsupported) UserProfile(context.Context, string) (Profile, error) {
	return Profile{}, ErrUnsupported
}
func (Unsupported) CreateGroup(context.Context, string, []string) (GroupInfo, error) {
	return GroupInfo{}, ErrUnsupported
}
func (Unsupported) Groups(context.Context) ([]GroupInfo, error) { return nil, ErrUnsupported }
func (Unsupported) Group(context.Context, string) (GroupInfo, error) {
	return GroupInfo{}, ErrUnsupported
}
func (Unsupported) SetGroupSubject(context.Context, string, string) error     { return ErrUnsupported }
func (Unsupported) SetGroupDescription(context.Context, string, string) error { return ErrUnsupported }
func (Unsupported) SetGroupPhoto(context.Context, string, []byte) error       { return ErrUnsupported }
func (Unsupported) LeaveGroup(context.Context, string) error                  { return ErrUnsupported }
func (Unsupported) GroupInvite(context.Context, string, bool) (string, error) {
	return "", ErrUnsupported
}
func (Unsupported) GroupByInvite(context.Context, string) (GroupInfo, error) {
	return GroupInfo{}, ErrUnsupported
}
func (Unsupported) JoinGroup(context.Context, string) (string, error) { return "", ErrUnsupported }
func (Unsupported) UpdateParticipants(context.Context, string, []string, ParticipantAction) ([]ParticipantResult, error) {
	return nil, ErrUnsupported
}
