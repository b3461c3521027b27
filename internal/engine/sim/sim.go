// Package sim is an in-process simulated WhatsApp network that implements
// engine.Engine. It lets wagate run, be tested end to end and be demonstrated
// without WhatsApp and without internet.
//
// # Model
//
// A Network holds simulated phones. A phone IS a WhatsApp account: it has a
// number (7 to 15 digits), a name and an about text, an inbox of the messages
// it received and a list of the messages it sent. A channel's session links
// to a phone the way WhatsApp Web does: the session shows rotating QR codes
// (or asks for an 8-character pairing code for a number), the phone "scans"
// the code (LinkQR) or "types" it (LinkCode), and the session becomes a
// linked device of that account: its number is the phone's number.
//
// Multi-device: any number of channels may link to one phone. Each link is a
// separate device ("sim:<number>:<id>"). A message to the account reaches the
// phone's inbox and every device of the account; a message the account sends
// (from the phone or from one of its devices) is echoed to the account's
// other devices as an engine.Message with FromMe set; receipts for messages
// the account sent go to all of its devices. The phone lists its devices
// (Phone.Devices) until they log out (Session.Logout) or the phone unlinks
// them (Unlink); a session that only forgets its device (Session.Forget)
// stays listed and keeps receiving messages into its offline queue.
//
// Nothing is persisted: a process restart starts an empty Network. So that
// linked channels survive a restart, Open with a well-formed device string
// the network does not know ("sim:<digits>:<id>") re-registers the device,
// and the phone (named after its number, until AddPhone adopts it) when it
// is missing too. Devices this Network revoked (logout, unlink) and malformed strings are refused
// with engine.ErrDeviceNotFound.
//
// # Messages, groups and presences
//
// Sessions implement all of engine.Actor, and the phone side can do the
// same from the phone (SendContent, React, Revoke, CreateGroup,
// UpdateParticipants, SetPresence, SendChatPresence, ...). A chat is a user
// JID ("<number>@s.whatsapp.net"; digits, "+digits" and "@c.us" are accepted
// too) or a group JID ("120363<12 digits>@g.us").
//
// Every content kind travels: text, image, video, gif, audio, voice,
// document, sticker, location, contact, link preview and poll. Media bytes
// travel with the message: recipients' devices get engine.Message events
// whose Content.Media has Data (with MimeType, FileName, Size and SHA256
// filled in by the network; Fetch is nil), and the phones keep them in their
// inboxes (in memory, as long as the message is in an inbox or sent list:
// see Options.MaxMessages). The network copies the bytes once when a
// message is sent; the content in events and in PhoneMessage is shared and
// must not be modified. Each file also carries a Ref that Session.DownloadMedia
// resolves later, as on WhatsApp, with expiry and media retries
// (mediaretry.go); phones call accounts and vote on polls (calls.go).
// Edits (Content.EditedID), reactions and deletes (revokes) are messages of
// their own with new IDs (engine.Message with Content.Kind engine.KindEdit,
// KindReaction or KindRevoke); they get no receipts, and the phones apply
// them to the target message (PhoneMessage.Edited, Reactions, Revoked)
// instead of listing them. Like WhatsApp, an account edits its own text or
// caption for EditWindow and deletes its own messages (group admins: any
// message of the group) for RevokeWindow.
//
// A group message reaches the inbox of every member's phone and every
// member's devices, except the sending device; the sender's other devices
// get the FromMe copy; the sender's devices get one delivered Receipt per
// member (Chat: the group, Sender: the member), and read Receipts likewise
// when members read. Every change of a group reaches the devices of every
// member as an engine.GroupChange, the device that made it included, and the
// devices of members that were removed or left, as the last event about the
// group. When the last admin leaves, the oldest member becomes admin (a
// "promote" without Actor); a group whose last member leaves is gone. New
// groups are Locked (only admins change the subject, description and
// photo) and not Announce (every member sends); SetGroupSettings changes
// both.
//
// Presences are not queued: they reach connected devices only. An account
// is unavailable until one of its devices or its phone calls SetPresence; a
// session that subscribed to a user (SubscribePresence) gets the user's
// current presence at once and then every change, until its connection
// ends (a new connection subscribes again). Typing, recording and paused
// reach the connected devices of the chat's other members.
//
// # Events
//
// Each session delivers its events serially, in the order the network
// produced them, on a goroutine of its own. The network never calls Events
// while holding its lock and never waits for a session to consume events
// (queues are unbounded per session). Guarantees per session:
//   - a login flow emits QR events in order, then either Linked followed
//     directly by Connected, or QRTimeout as its last event;
//   - Connect on a linked session emits Connected, then the events that were
//     queued for the device while it was offline, in their original order;
//   - for a message the account sent, its devices get the delivered Receipt
//     before the read one; the sending session's delivered Receipt may reach
//     Events before SendText returns, so key delivery states by message ID;
//   - a device that is offline (no connected session) keeps its Message and
//     Receipt events queued, in order, for the next Connect; lifecycle
//     events (LoggedOut, StreamReplaced) go to open sessions at once;
//   - GroupChange events are queued for offline devices like messages;
//     Presence events are not;
//   - slices and pointers in events (Content, Participants) may be shared
//     between sessions: read them, do not modify them;
//   - once Close returns, Events is never called again (Close waits for a
//     running Events call to return, so Events must not block on the caller
//     of Close).
//
// # Clock and timers
//
// QR rotation is driven by real timers (time.AfterFunc) whose durations come
// from Options (WhatsApp's defaults: the first code lives 60 s, then 5 more
// of 20 s each, then the flow ends with engine.QRTimeout). Tests use short
// durations (e.g. 50 ms). Every code also carries an expiry computed from
// Options.Now when it is issued (QR.Expires = Now() + its lifetime). A code
// is accepted only while BOTH hold: the real timers have not rotated it out
// (it is still the flow's current code) and Options.Now() is before its
// expiry. So with a fake clock that does not move, only the real timers
// matter; advancing the fake clock past a code's expiry makes LinkQR refuse
// it (ErrQRExpired) but does not rotate it: the next rotation still happens
// when its real timer fires. Pairing codes are valid while their flow runs
// and Options.Now() is before the flow's end (first code's issue time +
// QRFirst + (QRCount-1)*QRNext). For fully deterministic tests, set long
// durations and either move the fake clock or call RotateQR, which does at
// once what the next timer would do.
package sim

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine"
)

// Defaults of Options, like WhatsApp's.
const (
	DefaultQRFirst     = 60 * time.Second
	DefaultQRNext      = 20 * time.Second
	DefaultQRCount     = 6
	DefaultMaxQueued   = 10000
	DefaultMaxMessages = 10000
)

// Limits of names, texts, media and groups.
const (
	MaxNameLen        = 25        // characters of a push name
	MaxAboutLen       = 139       // characters of an about text
	MaxTextLen        = 4096      // characters of a text message or a caption
	MaxMediaSize      = 100 << 20 // bytes of a media file (100 MiB)
	MaxPictureSize    = 5 << 20   // bytes of a group photo or a link preview thumbnail
	MaxGroupSize      = 1024      // participants of a group, its creator included
	MaxSubjectLen     = 100       // characters of a group subject
	MaxDescriptionLen = 2048      // characters of a group description
	MaxPollOptions    = 12        // options of a poll
	MaxVCardLen       = 64 << 10  // bytes of a contact card
)

// Time limits of changes to sent messages, like WhatsApp's.
const (
	// EditWindow is how long after sending an account can edit a message.
	EditWindow = 15 * time.Minute
	// RevokeWindow is how long after sending a message can be deleted for
	// everyone.
	RevokeWindow = 60 * time.Hour
)

// maxForgotten bounds how many retired QR and pairing codes the network
// remembers so that it can say "expired" rather than "unknown".
const maxForgotten = 10000

// Options configure a Network. Zero values take the defaults.
type Options struct {
	// Now is the clock for times in events and messages and for expiry
	// decisions; default time.Now.
	Now func() time.Time
	// QRFirst is the lifetime of a login flow's first QR code (60 s).
	QRFirst time.Duration
	// QRNext is the lifetime of each following code (20 s).
	QRNext time.Duration
	// QRCount is the number of QR codes of one login flow, the first
	// included (6: the first plus 5 more). After the last one expires the
	// flow ends with engine.QRTimeout.
	QRCount int
	// MaxQueued bounds the events queued for an offline device (10000); the
	// oldest are dropped beyond it.
	MaxQueued int
	// MaxMessages bounds each phone's inbox and sent list (10000); the
	// oldest are dropped (and can no longer be marked read) beyond it.
	MaxMessages int
	// Phones keeps phones across restarts (persist.go); nil keeps them in
	// memory only.
	Phones PhoneStore
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.QRFirst <= 0 {
		o.QRFirst = DefaultQRFirst
	}
	if o.QRNext <= 0 {
		o.QRNext = DefaultQRNext
	}
	if o.QRCount <= 0 {
		o.QRCount = DefaultQRCount
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = DefaultMaxQueued
	}
	if o.MaxMessages <= 0 {
		o.MaxMessages = DefaultMaxMessages
	}
	return o
}

// Errors of the simulated network. Session methods also return the engine
// errors (engine.ErrNotLinked, engine.ErrNotConnected, ...). Errors are
// wrapped with details; test them with errors.Is.
var (
	// ErrClosed: the network or the session was closed.
	ErrClosed = errors.New("sim: closed")
	// ErrPhoneExists: AddPhone with a number that already has a phone.
	ErrPhoneExists = errors.New("sim: phone already exists")
	// ErrPhoneNotFound: a phone-side operation on a number without a phone.
	ErrPhoneNotFound = errors.New("sim: no such phone")
	// ErrInvalidPhone is engine.ErrInvalidPhone: not 7 to 15 digits.
	ErrInvalidPhone = engine.ErrInvalidPhone
	// ErrNotOnWhatsApp: a message (or another action) for a well-formed
	// number that has no phone. It is also engine.ErrNotOnWhatsApp.
	ErrNotOnWhatsApp error = &alias{"sim: number is not on WhatsApp", engine.ErrNotOnWhatsApp}
	// ErrOwnNumber: a message from an account to its own number.
	ErrOwnNumber error = &alias{"sim: cannot send a message to the own number", engine.ErrInvalidContent}
	// ErrInvalidProfile: a name (1 to 25 characters) or about text (up to
	// 139) that is blank, too long or has control characters.
	ErrInvalidProfile = errors.New("sim: invalid profile")
	// ErrInvalidText: an empty or blank message, one over MaxTextLen
	// characters, or invalid UTF-8.
	ErrInvalidText error = &alias{"sim: invalid message text", engine.ErrInvalidContent}
	// ErrInvalidContent: a message content that is not valid for its kind
	// (no media for an image, a location out of range, a poll without
	// options, a kind that is only received, ...), a bad reaction emoji or
	// presence state. The message says what.
	ErrInvalidContent error = &alias{"sim: invalid message content", engine.ErrInvalidContent}
	// ErrTooLarge: media over MaxMediaSize, a picture over MaxPictureSize.
	ErrTooLarge error = &alias{"sim: too large", engine.ErrInvalidContent}
	// ErrTooLate: an edit after EditWindow or a delete after RevokeWindow.
	ErrTooLate error = &alias{"sim: too late to change the message", engine.ErrTooLate}
	// ErrInvalidGroup: a group subject (1 to 100 characters) or description
	// (up to 2048) that is blank, too long or has control characters, too
	// many participants (MaxGroupSize), or a malformed group JID.
	ErrInvalidGroup error = &alias{"sim: invalid group", engine.ErrInvalidContent}
	// ErrGroupFull: JoinGroup on a group with MaxGroupSize members.
	ErrGroupFull error = &alias{"sim: the group is full", engine.ErrInvalidContent}
	// ErrQRUnknown: LinkQR with a code no login flow of this network issued.
	ErrQRUnknown = errors.New("sim: unknown QR code")
	// ErrQRExpired: LinkQR with a code that was rotated out, whose flow
	// timed out, was cancelled or already linked, or whose expiry passed on
	// the clock. The message says which.
	ErrQRExpired = errors.New("sim: QR code expired")
	// ErrCodeWrong: LinkCode with a code no login flow issued.
	ErrCodeWrong = errors.New("sim: wrong pairing code")
	// ErrCodeExpired: LinkCode with a code whose login flow ended or that a
	// newer PairPhone replaced. The message says which.
	ErrCodeExpired = errors.New("sim: pairing code expired")
	// ErrCodeOtherPhone: LinkCode on a phone other than the one the code
	// was requested for.
	ErrCodeOtherPhone = errors.New("sim: pairing code was requested for another phone number")
	// ErrMessageNotFound: Read or MarkRead with IDs that are not messages
	// the account received, the message lists them; React, Revoke or an
	// edit of a message the account cannot see in that chat (or, for edits
	// and deletes, did not send). It is also engine.ErrMessageUnknown.
	ErrMessageNotFound error = &alias{"sim: message not found", engine.ErrMessageUnknown}
	// ErrSessionNotFound: no open session for the channel (Drop, RotateQR).
	ErrSessionNotFound = errors.New("sim: no open session for the channel")
	// ErrInvalidChannel: Open without a ChannelID.
	ErrInvalidChannel = errors.New("sim: channel ID is required")
)

// alias is an error of this package that is also an engine error:
// errors.Is matches both.
type alias struct {
	msg  string
	also error
}

func (e *alias) Error() string        { return e.msg }
func (e *alias) Is(target error) bool { return target == e.also }

// Network is a simulated WhatsApp network; it implements engine.Engine.
// Create it with New; all methods are safe for concurrent use.
type Network struct {
	opts Options

	mu        sync.Mutex
	closed    bool
	phones    map[string]*phone
	devices   map[string]*device
	revoked   map[string]bool
	sessions  map[string]*session // the latest open session per channel
	open      map[*session]struct{}
	qrs       map[string]*qrCode
	pairs     map[string]*pairCode
	forgotten []string // retired codes, oldest first: "q" or "p" + code
	msgs      map[string]*msg
	groups    map[string]*group         // by JID
	invites   map[string]*group         // by invite code
	subs      map[string]subSet         // presence subscribers by the number they watch
	faults    map[string]*channelFaults // by channel (faults.go)
	extra     *extras                   // blocklists, address books, pins, join requests (extras.go)
	// communities are the community roles of groups (communities.go),
	// newsletters the newsletters by JID (newsletters.go).
	communities map[string]*commMeta
	newsletters map[string]*newsletter
	media       map[string]*mediaState  // by message ID (mediaretry.go)
	calls       map[string]*call        // by call ID (calls.go)
	biz         map[string]*bizAccount  // business data by number (business.go)
	histories   map[string]historyChunk // by ID, waiting to be fetched (history.go)
	appstate    map[string]*appState    // by phone number (appstate.go)
}

var _ engine.Engine = (*Network)(nil)

// New returns an empty network.
func New(o Options) *Network {
	return &Network{
		opts:     o.withDefaults(),
		phones:   map[string]*phone{},
		devices:  map[string]*device{},
		revoked:  map[string]bool{},
		sessions: map[string]*session{},
		open:     map[*session]struct{}{},
		qrs:      map[string]*qrCode{},
		pairs:    map[string]*pairCode{},
		msgs:     map[string]*msg{},
		groups:   map[string]*group{},
		invites:  map[string]*group{},
		subs:     map[string]subSet{},
		extra:    newExtras(),
	}
}

// Name is "sim".
func (n *Network) Name() string { return "sim" }

// ValidateProxy accepts "" and socks5://, http:// or https:// URLs with a
// host (engine.ErrBadProxy otherwise).
func (n *Network) ValidateProxy(proxy string) error { return checkProxy(proxy) }

// Close closes every open session (no more events; they keep their login)
// and stops every timer. Afterwards Open and the phone-side operations
// return ErrClosed. Close is idempotent.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	var open []*session
	for s := range n.open {
		n.detach(s)
		open = append(open, s)
	}
	n.mu.Unlock()
	for _, s := range open {
		s.stopDelivery()
	}
	return nil
}

// phone is an account.
type phone struct {
	number, name, about string
	devices             []*device // in link order
	inbox, sent         []*msg
	groups              map[string]*group // the groups it is in, by JID
	// available: the account is online (SetPresence); lastSeen: when it
	// last became unavailable.
	available bool
	lastSeen  time.Time
	// auto: created by Open for a device after a restart, not by AddPhone
	// yet; AddPhone adopts it.
	auto bool
}

// newPhone returns a phone that is not on the network yet.
func newPhone(number, name string, auto bool) *phone {
	return &phone{number: number, name: name, auto: auto, groups: map[string]*group{}}
}

// device is a linked device of an account.
type device struct {
	id        string
	phone     *phone
	channelID string
	linkedAt  time.Time
	holders   map[*session]struct{} // open sessions using the device
	conn      *session              // the session connected with it; nil: offline
	queue     []engine.Event        // events for while it is offline
	requeued  int                   // events at the head of queue put back unacknowledged
}

// msg is a message on the network: one record shared by the sender's sent
// list and the recipients' inboxes. It stays in Network.msgs while a list
// holds it.
type msg struct {
	id, from string
	to       string // the recipient's number, or the group's JID
	group    bool
	content  engine.Content
	time     time.Time
	status   string // for the sender: delivered, or read once every recipient read it
	edited   bool
	revoked  bool
	reacts   []PhoneReaction
	rcpts    map[string]*delivery // recipients by number, while in their inbox
	unread   int                  // recipients that have not read it
	inSent   bool                 // in the sender's sent list
}

// delivery is what happened to a message at one recipient.
type delivery struct {
	delivered bool // the delivered receipt went out
	read      bool
}

// Phone is a simulated phone (a WhatsApp account) as the phone-side API
// shows it.
type Phone struct {
	Number  string
	Name    string
	About   string
	JID     string // Number + "@s.whatsapp.net"
	Devices []Device
}

// Device is a linked device of a phone.
type Device struct {
	ID        string // as reported by engine.Linked
	ChannelID string // the channel that linked or last opened it
	LinkedAt  time.Time
	Connected bool
}

// Message statuses of a PhoneMessage.
const (
	StatusDelivered = "delivered"
	StatusRead      = "read"
)

// PhoneMessage is a message as a phone shows it. From is the sender's
// number; To is the recipient's number, or the group's JID. Body is the
// text, the caption of media or the text of a link preview (Content.Text).
// Status is StatusDelivered once it reached the recipient's phone (at once:
// simulated phones are always online) and StatusRead once the recipient
// read it (on the phone or from a channel); in the sender's list of a group
// message, StatusRead once every member read it.
type PhoneMessage struct {
	ID     string
	From   string
	To     string
	Body   string
	Time   time.Time
	Status string
	// Content is the whole content, Kind set (engine.KindText for text).
	// Its media bytes and other slices are shared: do not modify them.
	Content engine.Content
	// Edited: the sender changed Body (Content.Text) since.
	Edited bool
	// Revoked: deleted for everyone; the content is gone but its Kind.
	Revoked bool
	// Reactions are the accounts' current reactions, oldest first.
	Reactions []PhoneReaction
}

// PhoneReaction is an account's reaction to a message.
type PhoneReaction struct {
	From  string // the number that reacted
	Emoji string
	Time  time.Time
}

// JID returns the user JID of a number: "<number>@s.whatsapp.net".
func JID(number string) string { return number + "@s.whatsapp.net" }

// AddPhone creates a phone. number is 7 to 15 digits (ErrInvalidPhone); an
// existing number is ErrPhoneExists; name is the push name, 1 to 25
// characters (ErrInvalidProfile), empty meaning the number. A phone that
// Open re-registered after a restart (named after its number) and that
// AddPhone has not claimed yet is adopted instead: it takes the name and
// keeps its devices.
func (n *Network) AddPhone(number, name string) (Phone, error) {
	if !validNumber(number) {
		return Phone{}, fmt.Errorf("%w: %q is not 7 to 15 digits", ErrInvalidPhone, number)
	}
	if name == "" {
		name = number
	}
	if err := checkName(name); err != nil {
		return Phone{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return Phone{}, ErrClosed
	}
	if p := n.phones[number]; p != nil {
		if !p.auto {
			return Phone{}, fmt.Errorf("%w: %s", ErrPhoneExists, number)
		}
		if err := n.save(number, name, p.about); err != nil {
			return Phone{}, err
		}
		p.name, p.auto = name, false
		return p.view(), nil
	}
	if err := n.save(number, name, ""); err != nil {
		return Phone{}, err
	}
	p := newPhone(number, name, false)
	n.phones[number] = p
	return p.view(), nil
}

// Phone returns a phone; ErrPhoneNotFound when there is none.
func (n *Network) Phone(number string) (Phone, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return Phone{}, err
	}
	return p.view(), nil
}

// Phones returns every phone, by number.
func (n *Network) Phones() []Phone {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Phone, 0, len(n.phones))
	for _, p := range n.phones {
		out = append(out, p.view())
	}
	slices.SortFunc(out, func(a, b Phone) int { return strings.Compare(a.Number, b.Number) })
	return out
}

func (n *Network) phoneLocked(number string) (*phone, error) {
	if n.closed {
		return nil, ErrClosed
	}
	p := n.phones[number]
	if p == nil {
		return nil, fmt.Errorf("%w: %s", ErrPhoneNotFound, number)
	}
	return p, nil
}

func (p *phone) view() Phone {
	out := Phone{Number: p.number, Name: p.name, About: p.about, JID: JID(p.number), Devices: []Device{}}
	for _, d := range p.devices {
		out.Devices = append(out.Devices, Device{ID: d.id, ChannelID: d.channelID, LinkedAt: d.linkedAt, Connected: d.conn != nil})
	}
	return out
}

// LinkQR is the phone scanning a channel's QR code: the channel's session
// becomes a linked device of the phone's account (its events: Linked, then
// Connected). It returns the channel ID. Errors: ErrPhoneNotFound,
// ErrQRUnknown (no flow issued the code), ErrQRExpired (rotated out, timed
// out, cancelled, already used, or past its expiry on the clock; the
// message says which).
func (n *Network) LinkQR(number, qr string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return "", err
	}
	c := n.qrs[strings.TrimSpace(qr)]
	if c == nil {
		return "", fmt.Errorf("%w: no login flow issued this code", ErrQRUnknown)
	}
	if c.gone != "" {
		return "", fmt.Errorf("%w: %s", ErrQRExpired, c.gone)
	}
	if now := n.opts.Now(); !now.Before(c.expires) {
		return "", fmt.Errorf("%w: it was valid until %s", ErrQRExpired, c.expires.UTC().Format(time.RFC3339Nano))
	}
	return n.link(c.flow, p), nil
}

// LinkCode is the user typing a pairing code on the phone: like LinkQR, for
// a code from Session.PairPhone. The code is matched ignoring case, spaces
// and dashes ("abcd-1234" is "ABCD1234"). Errors: ErrPhoneNotFound,
// ErrCodeWrong (no flow issued it), ErrCodeExpired (its flow ended, a newer
// code replaced it, or the flow's end passed on the clock),
// ErrCodeOtherPhone (requested for another number).
func (n *Network) LinkCode(number, code string) (string, error) {
	code = normalizeCode(code)
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return "", err
	}
	c := n.pairs[code]
	if c == nil {
		return "", fmt.Errorf("%w: no login flow issued this code", ErrCodeWrong)
	}
	if c.gone != "" {
		return "", fmt.Errorf("%w: %s", ErrCodeExpired, c.gone)
	}
	if now := n.opts.Now(); !now.Before(c.flow.deadline) {
		return "", fmt.Errorf("%w: its login flow was valid until %s", ErrCodeExpired, c.flow.deadline.UTC().Format(time.RFC3339Nano))
	}
	if c.phone != number {
		return "", fmt.Errorf("%w: the code is for a number ending in %s", ErrCodeOtherPhone, c.phone[len(c.phone)-2:])
	}
	return n.link(c.flow, p), nil
}

func normalizeCode(code string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, code))
}

// SendFromPhone sends a text from a phone: SendContent with a text.
func (n *Network) SendFromPhone(number, to, body string) (PhoneMessage, error) {
	return n.SendContent(number, to, engine.Content{Kind: engine.KindText, Text: body})
}

// SendContent sends a message of any kind from a phone to another account
// (to: digits, "+digits" or a user JID) or to a group the phone is in (a
// group JID). The recipient's phone (every member's phone, for a group) gets
// it in its inbox and its linked devices as an engine.Message; the sender's
// own linked devices get it as a Message with FromMe; the sender's devices
// then get a delivered Receipt (one per member for a group). With
// c.EditedID it edits the text of an earlier message of the phone's account
// instead and returns that message, edited. Errors: ErrPhoneNotFound
// (number), engine.ErrInvalidPhone (to is malformed), ErrNotOnWhatsApp (no
// phone has to), ErrOwnNumber, engine.ErrGroupNotFound (no such group, or
// the phone is not in it), engine.ErrNotAdmin (an announcement group),
// ErrInvalidText, ErrInvalidContent, ErrTooLarge, and for edits
// ErrMessageNotFound and ErrTooLate.
func (n *Network) SendContent(number, to string, c engine.Content) (PhoneMessage, error) {
	return n.SendContentBy(number, to, c, "")
}

// SendContentBy is SendContent with the message addressed to the
// recipients' devices as by says (a LID, with or without the number
// beside it; identity.go).
func (n *Network) SendContentBy(number, to string, c engine.Content, by Addressing) (PhoneMessage, error) {
	if !by.valid() {
		return PhoneMessage{}, fmt.Errorf("%w: addressing %q (want number, lid or lid_only)", ErrInvalidContent, by)
	}
	if strings.TrimSpace(to) == engine.StatusBroadcast { // a story (stories.go)
		return n.PostStory(number, c, nil)
	}
	c, err := checkContent(c)
	if err != nil {
		return PhoneMessage{}, err
	}
	chat, err := parseChat(to)
	if err != nil {
		return PhoneMessage{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return PhoneMessage{}, err
	}
	r, err := n.send(actor{p: p, by: by}, chat, c)
	if err != nil {
		return PhoneMessage{}, err
	}
	return r.m.view(p.number), nil
}

// Inbox returns what a phone received, oldest first, with statuses
// (delivered or read). Error: ErrPhoneNotFound.
func (n *Network) Inbox(number string) ([]PhoneMessage, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return nil, err
	}
	return views(p.inbox, p.number), nil
}

// Sent returns what a phone's account sent (from the phone and from its
// linked channels), oldest first, with statuses. Error: ErrPhoneNotFound.
func (n *Network) Sent(number string) ([]PhoneMessage, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return nil, err
	}
	return views(p.sent, p.number), nil
}

func views(ms []*msg, number string) []PhoneMessage {
	out := make([]PhoneMessage, len(ms))
	for i, m := range ms {
		out[i] = m.view(number)
	}
	return out
}

// view is a message as the phone with number sees it.
func (m *msg) view(number string) PhoneMessage {
	v := PhoneMessage{ID: m.id, From: m.from, To: m.to, Body: m.content.Text, Time: m.time, Status: m.status,
		Content: m.content, Edited: m.edited, Revoked: m.revoked, Reactions: slices.Clone(m.reacts)}
	if number != m.from {
		v.Status = StatusDelivered
		if d := m.rcpts[number]; d != nil && d.read {
			v.Status = StatusRead
		}
	}
	return v
}

// Read marks messages of a phone's inbox as read. The senders' devices get a
// delivered Receipt (when they had none yet) and then a read Receipt. IDs
// already read are skipped; duplicates count once. IDs that are not in the
// inbox are ErrMessageNotFound, naming them, and nothing is marked. Error:
// ErrPhoneNotFound.
func (n *Network) Read(number string, ids []string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return err
	}
	ms, err := n.received(p, ids)
	if err != nil {
		return err
	}
	n.markRead(p, ms)
	return nil
}

// Unlink logs out every device linked to a phone (what "Log out from all
// devices" does on a real phone), including devices their sessions forgot.
// Open sessions holding them get engine.LoggedOut{Reason: "unlinked from
// phone"} and become unlinked; the devices are revoked (Open with them is
// engine.ErrDeviceNotFound). It returns how many devices were unlinked.
// Error: ErrPhoneNotFound.
func (n *Network) Unlink(number string) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, err := n.phoneLocked(number)
	if err != nil {
		return 0, err
	}
	devs := slices.Clone(p.devices)
	for _, d := range devs {
		n.revoke(d, "unlinked from phone", nil)
	}
	return len(devs), nil
}

// SessionInfo is the network's view of an open session, for tests and
// diagnostics.
type SessionInfo struct {
	ChannelID string
	Device    string // empty when not linked
	Linked    bool
	Connected bool
	LoginFlow bool   // a login flow runs
	QR        string // the current QR code while a login flow runs
	Proxy     string // the proxy set by SetProxy (or Open)
	ConnProxy string // the proxy the current or last connection used
}

// SessionInfo returns the latest open session of a channel.
func (n *Network) SessionInfo(channelID string) (SessionInfo, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.sessions[channelID]
	if s == nil {
		return SessionInfo{}, false
	}
	info := SessionInfo{ChannelID: s.channelID, Connected: s.connected, Proxy: s.proxy, ConnProxy: s.connProxy}
	if s.dev != nil {
		info.Device, info.Linked = s.dev.id, true
	}
	if s.flow != nil {
		info.LoginFlow = true
		if s.flow.cur != nil {
			info.QR = s.flow.cur.code
		}
	}
	return info, true
}

// SessionProxy returns the proxy of the latest open session of a channel.
func (n *Network) SessionProxy(channelID string) (string, bool) {
	info, ok := n.SessionInfo(channelID)
	return info.Proxy, ok
}

// ReasonConnectionLost is the Reason of the Disconnected event Drop causes.
const ReasonConnectionLost = "sim: connection lost"

// Drop simulates a lost connection of a channel's latest open session: when
// connected (or in a login flow, which ends) it gets
// engine.Disconnected{Reason: ReasonConnectionLost} and stays linked. It reports
// whether there was a connection to drop; ErrSessionNotFound when no session
// is open.
func (n *Network) Drop(channelID string) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.sessions[channelID]
	if s == nil {
		return false, fmt.Errorf("%w: %s", ErrSessionNotFound, channelID)
	}
	return s.disconnectLocked(ReasonConnectionLost, true), nil
}

// RotateQR does at once what the next QR timer of a channel's login flow
// would do: issue the next code, or end the flow with QRTimeout after the
// last one. Errors: ErrSessionNotFound, engine.ErrNotInLoginFlow.
func (n *Network) RotateQR(channelID string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.sessions[channelID]
	if s == nil {
		return fmt.Errorf("%w: %s", ErrSessionNotFound, channelID)
	}
	if s.flow == nil {
		return engine.ErrNotInLoginFlow
	}
	n.rotate(s.flow)
	return nil
}

// recipient finds the account a message from p to number goes to.
func (n *Network) recipient(p *phone, number string) (*phone, error) {
	if number == p.number {
		return nil, fmt.Errorf("%w: %s", ErrOwnNumber, number)
	}
	r := n.phones[number]
	if r == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotOnWhatsApp, number)
	}
	return r, nil
}

// received resolves ids to messages reader received; unknown ones are an
// error naming them.
func (n *Network) received(reader *phone, ids []string) ([]*msg, error) {
	var (
		out     []*msg
		unknown []string
		seen    = map[string]bool{}
	)
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		m := n.msgs[id]
		if m == nil || m.rcpts[reader.number] == nil {
			unknown = append(unknown, id)
			continue
		}
		out = append(out, m)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w: %s is not in the inbox of %s", ErrMessageNotFound, strings.Join(unknown, ", "), reader.number)
	}
	return out, nil
}

// markRead marks messages reader received as read and sends receipts to
// their senders' devices: per sender and chat, delivered (for those without
// one yet) then read, each one Receipt for all of its IDs.
func (n *Network) markRead(reader *phone, ms []*msg) {
	type batch struct {
		from, chat      string
		delivered, read []string
	}
	var (
		order   []*batch
		batches = map[[2]string]*batch{}
	)
	jid := JID(reader.number)
	for _, m := range ms {
		d := m.rcpts[reader.number]
		if d.read {
			continue
		}
		chat := jid
		if m.group {
			chat = m.to
		}
		key := [2]string{m.from, chat}
		b := batches[key]
		if b == nil {
			b = &batch{from: m.from, chat: chat}
			batches[key] = b
			order = append(order, b)
		}
		if !d.delivered {
			d.delivered = true
			b.delivered = append(b.delivered, m.id)
		}
		d.read = true
		if m.unread--; m.unread <= 0 {
			m.status = StatusRead
		}
		b.read = append(b.read, m.id)
	}
	now := n.opts.Now()
	for _, b := range order {
		sender := n.phones[b.from]
		if sender == nil {
			continue
		}
		for _, d := range sender.devices {
			if len(b.delivered) > 0 {
				n.toDevice(d, engine.Receipt{IDs: slices.Clone(b.delivered), Chat: b.chat, Sender: jid, Type: engine.ReceiptDelivered, Time: now})
			}
			n.toDevice(d, engine.Receipt{IDs: slices.Clone(b.read), Chat: b.chat, Sender: jid, Type: engine.ReceiptRead, Time: now})
		}
	}
}

// toDevice gives an event to the session connected with a device, or queues
// it until one connects.
func (n *Network) toDevice(d *device, ev engine.Event) {
	if h, ok := n.held(d, ev); ok {
		ev = h
	}
	if d.conn != nil {
		d.conn.emit(ev)
		return
	}
	d.queue = append(d.queue, ev)
	if over := len(d.queue) - n.opts.MaxQueued; over > 0 {
		d.queue = slices.Delete(d.queue, 0, over)
	}
}

// revoke unlinks a device from its account for good. Its holders become
// unlinked; all but except get LoggedOut.
func (n *Network) revoke(d *device, reason string, except *session) {
	p := d.phone
	p.devices = slices.DeleteFunc(p.devices, func(x *device) bool { return x == d })
	delete(n.devices, d.id)
	n.revoked[d.id] = true
	holders := make([]*session, 0, len(d.holders))
	for s := range d.holders {
		holders = append(holders, s)
	}
	slices.SortFunc(holders, func(a, b *session) int { return strings.Compare(a.channelID, b.channelID) })
	for _, s := range holders {
		s.dev, s.connected = nil, false
		if s != except {
			s.emit(engine.LoggedOut{Reason: reason})
		}
	}
	d.holders, d.conn, d.queue = nil, nil, nil
}

// retire remembers a retired code so that it can be told from an unknown
// one, forgetting the oldest beyond maxForgotten.
func (n *Network) retire(key string) {
	n.forgotten = append(n.forgotten, key)
	if over := len(n.forgotten) - maxForgotten; over > 0 {
		for _, k := range n.forgotten[:over] {
			if k[0] == 'q' {
				delete(n.qrs, k[1:])
			} else {
				delete(n.pairs, k[1:])
			}
		}
		n.forgotten = slices.Delete(n.forgotten, 0, over)
	}
}

// validNumber reports whether s is 7 to 15 ASCII digits.
func validNumber(s string) bool {
	if len(s) < 7 || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseRecipient accepts "15551234567", "+15551234567",
// "15551234567@s.whatsapp.net" and "15551234567@c.us".
func parseRecipient(to string) (string, error) {
	c, err := parseChat(to)
	if err != nil {
		return "", err
	}
	if c.group != "" {
		return "", fmt.Errorf("%w: %q is a group, not a user", ErrInvalidPhone, to)
	}
	return c.user, nil
}

// chatID is a parsed chat: a user's number or a group's JID.
type chatID struct {
	user  string // digits
	group string // "<digits>@g.us"
}

// parseChat accepts what parseRecipient does and group JIDs
// ("<digits>@g.us" or the older "<digits>-<digits>@g.us").
func parseChat(to string) (chatID, error) {
	s := strings.TrimSpace(to)
	s = strings.TrimPrefix(s, "+")
	if at := strings.IndexByte(s, '@'); at >= 0 {
		switch s[at+1:] {
		case "s.whatsapp.net", "c.us":
			s = s[:at]
		case "g.us":
			if !validGroupUser(s[:at]) {
				return chatID{}, fmt.Errorf("%w: %q is not a group JID (digits@g.us)", ErrInvalidPhone, to)
			}
			return chatID{group: s}, nil
		default:
			return chatID{}, fmt.Errorf("%w: %q is not a user or group JID", ErrInvalidPhone, to)
		}
	}
	if !validNumber(s) {
		return chatID{}, fmt.Errorf("%w: %q is not 7 to 15 digits", ErrInvalidPhone, to)
	}
	return chatID{user: s}, nil
}

// validGroupUser reports whether s is the user part of a group JID: digits,
// or digits-digits, at most 40 characters.
func validGroupUser(s string) bool {
	if len(s) > 40 {
		return false
	}
	a, b, dash := strings.Cut(s, "-")
	return isDigits(a) && (!dash || isDigits(b))
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

// parseDevice splits "sim:<digits>:<id>".
func parseDevice(dev string) (number string, ok bool) {
	rest, ok := strings.CutPrefix(dev, "sim:")
	if !ok {
		return "", false
	}
	number, id, ok := strings.Cut(rest, ":")
	if !ok || !validNumber(number) || id == "" || len(id) > 64 {
		return "", false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "", false
		}
	}
	return number, true
}

func checkName(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: name must not be blank", ErrInvalidProfile)
	}
	if utf8.RuneCountInString(name) > MaxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("%w: name must be at most %d characters", ErrInvalidProfile, MaxNameLen)
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return fmt.Errorf("%w: name must not contain control characters", ErrInvalidProfile)
	}
	return nil
}

func checkAbout(about string) error {
	if utf8.RuneCountInString(about) > MaxAboutLen || !utf8.ValidString(about) {
		return fmt.Errorf("%w: about must be at most %d characters", ErrInvalidProfile, MaxAboutLen)
	}
	if strings.ContainsFunc(about, unicode.IsControl) {
		return fmt.Errorf("%w: about must not contain control characters", ErrInvalidProfile)
	}
	return nil
}

func checkText(text string) error {
	if strings.TrimSpace(text) == "" {
		return fmt.Errorf("%w: text must not be empty", ErrInvalidText)
	}
	if !utf8.ValidString(text) {
		return fmt.Errorf("%w: text is not valid UTF-8", ErrInvalidText)
	}
	if utf8.RuneCountInString(text) > MaxTextLen {
		return fmt.Errorf("%w: text is longer than %d characters", ErrInvalidText, MaxTextLen)
	}
	return nil
}

// checkProxy accepts "", socks5://, http:// and https:// URLs with a host.
func checkProxy(p string) error {
	if p == "" {
		return nil
	}
	u, err := url.Parse(p)
	if err != nil {
		return fmt.Errorf("%w: %v", engine.ErrBadProxy, err)
	}
	switch u.Scheme {
	case "socks5", "http", "https":
	default:
		return fmt.Errorf("%w: scheme %q; want socks5, http or https", engine.ErrBadProxy, u.Scheme)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%w: no host", engine.ErrBadProxy)
	}
	if port := u.Port(); port != "" {
		for _, c := range port {
			if c < '0' || c > '9' {
				return fmt.Errorf("%w: bad port %q", engine.ErrBadProxy, port)
			}
		}
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: a proxy URL has no path, query or fragment", engine.ErrBadProxy)
	}
	return nil
}

func randBytes(k int) []byte {
	b := make([]byte, k)
	_, _ = rand.Read(b) // never fails
	return b
}

func randHex(k int) string { return strings.ToUpper(hex.EncodeToString(randBytes(k))) }

func randB64(k int) string { return base64.StdEncoding.EncodeToString(randBytes(k)) }

// ctxErr returns the context's error, if any.
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}
