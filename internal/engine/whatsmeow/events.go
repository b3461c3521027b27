package whatsmeow

import (
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/internal/engine"
)

// mapEvent translates one whatsmeow event into wagate engine events. It is
// pure: the session applies the state changes an event implies (linked,
// logged out, push name) separately, and fills in what only the connection
// knows (ClientOutdated.Version). Events it does not list map to nothing.
//
// QR codes and the end of a QR login flow do not come through here: the
// session reads them from whatsmeow's QR channel.
//
// fetch makes the Fetch functions of received files (nil: none).
func mapEvent(evt any, fetch fetcher) []engine.Event {
	switch e := evt.(type) {
	case *events.PairSuccess:
		return one(engine.Linked{
			Device:  e.ID.String(),
			Account: engine.Account{Phone: e.ID.User, Name: e.BusinessName},
		})
	case *events.PairError:
		reason := "pairing failed"
		if e.Error != nil {
			reason = e.Error.Error()
		}
		return one(engine.LinkFailed{Reason: reason})
	case *events.Connected:
		return one(engine.Connected{})
	case *events.Disconnected:
		return one(engine.Disconnected{})
	case *events.StreamError:
		return one(engine.StreamError{Code: e.Code})
	case *events.KeepAliveTimeout:
		return one(engine.KeepAliveLost{Failures: e.ErrorCount, LastSuccess: e.LastSuccess})
	case *events.KeepAliveRestored:
		return one(engine.KeepAliveRestored{})
	case *events.LoggedOut:
		return one(engine.LoggedOut{Reason: e.Reason.String(), Code: int(e.Reason)})
	case *events.StreamReplaced:
		return one(engine.StreamReplaced{})
	case *events.TemporaryBan:
		return one(engine.TemporaryBan{Code: int(e.Code), Reason: e.Code.String(), Expires: e.Expire})
	case *events.ClientOutdated:
		return one(engine.ClientOutdated{Code: int(events.ConnectFailureClientOutdated)})
	case *events.ConnectFailure:
		if e.Reason == events.ConnectFailureBadUserAgent {
			return one(engine.ClientOutdated{Code: int(e.Reason)})
		}
		reason := e.Reason.String()
		if e.Message != "" {
			reason += ": " + e.Message
		}
		return one(engine.ConnectFailure{Code: int(e.Reason), Reason: reason})
	case *events.UndecryptableMessage:
		if e.Info.Chat == types.StatusBroadcastJID {
			return nil
		}
		chat, sender := addresses(e.Info.MessageSource)
		return one(engine.Undecryptable{ID: e.Info.ID, Chat: chat, Sender: sender, PushName: e.Info.PushName,
			FromMe: e.Info.IsFromMe, Time: e.Info.Timestamp, Unavailable: e.IsUnavailable})
	case *events.Message:
		if m, ok := mapMessage(e, fetch); ok {
			return one(m)
		}
	case *events.Presence:
		return one(mapPresence(e))
	case *events.ChatPresence:
		if p, ok := mapChatPresence(e); ok {
			return one(p)
		}
	case *events.Receipt:
		if r, ok := mapReceipt(e); ok {
			return one(r)
		}
	case *events.GroupInfo:
		return mapGroupInfo(e)
	case *events.JoinedGroup:
		return one(mapJoinedGroup(e))
	}
	return nil
}

func one(e engine.Event) []engine.Event { return []engine.Event{e} }

// mapMessage maps a message with its content (see decodeContent); it
// drops what decodeContent drops. A status post (a story) keeps its chat,
// status@broadcast, with its author as Sender.
func mapMessage(e *events.Message, fetch fetcher) (engine.Message, bool) {
	if e.Message == nil {
		return engine.Message{}, false
	}
	c, ok := decodeContent(e, fetch)
	if !ok {
		return engine.Message{}, false
	}
	chat, sender := addresses(e.Info.MessageSource)
	return engine.Message{
		ID:       e.Info.ID,
		Chat:     chat,
		Sender:   sender,
		PushName: e.Info.PushName,
		FromMe:   e.Info.IsFromMe,
		Text:     c.Text,
		Time:     e.Info.Timestamp,
		Content:  c,
	}, true
}

// mapPresence reports a user going online or offline (with the last-seen
// time when the user shares it).
func mapPresence(e *events.Presence) engine.Presence {
	u := jidString(e.From)
	p := engine.Presence{Chat: u, User: u, State: engine.PresenceOnline}
	if e.Unavailable {
		p.State = engine.PresenceOffline
		p.LastSeen = e.LastSeen
	}
	return p
}

// mapChatPresence reports typing, recording or paused in a chat by
// someone else.
func mapChatPresence(e *events.ChatPresence) (engine.Presence, bool) {
	if e.IsFromMe {
		return engine.Presence{}, false
	}
	var state engine.PresenceState
	switch {
	case e.State == types.ChatPresenceComposing && e.Media == types.ChatPresenceMediaAudio:
		state = engine.PresenceRecording
	case e.State == types.ChatPresenceComposing:
		state = engine.PresenceTyping
	case e.State == types.ChatPresencePaused:
		state = engine.PresencePaused
	default:
		return engine.Presence{}, false
	}
	chat, sender := addresses(e.MessageSource)
	return engine.Presence{Chat: chat, User: sender, State: state}, true
}

// addresses returns the chat and sender of a message or receipt as JID
// strings, preferring phone-number JIDs over LIDs where WhatsApp sent both
// (newer WhatsApp addresses one-to-one chats by LID, the gateway API by
// number), without device parts.
func addresses(src types.MessageSource) (chat, sender string) {
	c := src.Chat
	if c.Server == types.HiddenUserServer && !src.IsGroup {
		if !src.IsFromMe && src.SenderAlt.Server == types.DefaultUserServer {
			c = src.SenderAlt
		} else if src.IsFromMe && src.RecipientAlt.Server == types.DefaultUserServer {
			c = src.RecipientAlt
		}
	}
	s := src.Sender
	if s.Server == types.HiddenUserServer && src.SenderAlt.Server == types.DefaultUserServer {
		s = src.SenderAlt
	}
	return c.ToNonAD().String(), jidString(s)
}

// mapReceipt keeps what others report about messages this account sent:
// delivered (also "inactive", a delivery to a device in the background) and
// read/played. Receipts from the account's own devices are dropped.
func mapReceipt(e *events.Receipt) (engine.Receipt, bool) {
	if e.IsFromMe {
		return engine.Receipt{}, false
	}
	var t engine.ReceiptType
	switch e.Type {
	case types.ReceiptTypeDelivered, types.ReceiptTypeInactive:
		t = engine.ReceiptDelivered
	case types.ReceiptTypeRead:
		t = engine.ReceiptRead
	case types.ReceiptTypePlayed:
		t = engine.ReceiptPlayed
	default:
		return engine.Receipt{}, false
	}
	chat, sender := addresses(e.MessageSource)
	return engine.Receipt{
		IDs:    append([]string(nil), e.MessageIDs...),
		Chat:   chat,
		Sender: sender,
		Type:   t,
		Time:   e.Timestamp,
	}, true
}

// mapGroupInfo splits one group notification into changes, in a fixed
// order: subject, description (Description is the new text, "" when it
// was removed), settings, add/join, remove/leave, promote, demote.
// Membership changes made by the participant itself are "join" and
// "leave", by someone else "add" and "remove". Deletion, suspension, invite
// link and community link changes are not reported.
func mapGroupInfo(e *events.GroupInfo) []engine.Event {
	group := e.JID.String()
	actor := pickJID(e.SenderPN, e.Sender)
	base := engine.GroupChange{Group: group, Actor: jidString(actor), Time: e.Timestamp}
	var out []engine.Event
	add := func(action string, participants []types.JID, subject string) {
		c := base
		c.Action = action
		c.Subject = subject
		c.Participants = jidStrings(participants)
		out = append(out, c)
	}
	if e.Name != nil {
		add("subject", nil, e.Name.Name)
	}
	if e.Topic != nil {
		c := base
		c.Action = "description"
		if !e.Topic.TopicDeleted {
			c.Description = e.Topic.Topic
		}
		out = append(out, c)
	}
	if e.Locked != nil || e.Announce != nil || e.Ephemeral != nil || e.MembershipApprovalMode != nil {
		add("settings", nil, "")
	}
	self := func(list []types.JID) bool {
		if e.Sender == nil {
			return true // no actor given: the participants acted themselves
		}
		for _, p := range list {
			if !sameUser(p, e.Sender) && !sameUser(p, e.SenderPN) {
				return false
			}
		}
		return true
	}
	if len(e.Join) > 0 {
		if e.JoinReason == "invite" || self(e.Join) {
			add("join", e.Join, "")
		} else {
			add("add", e.Join, "")
		}
	}
	if len(e.Leave) > 0 {
		if self(e.Leave) {
			add("leave", e.Leave, "")
		} else {
			add("remove", e.Leave, "")
		}
	}
	if len(e.Promote) > 0 {
		add("promote", e.Promote, "")
	}
	if len(e.Demote) > 0 {
		add("demote", e.Demote, "")
	}
	return out
}

// mapJoinedGroup reports the account joining a group: "create" when the
// group is new (participants are its members, Time its creation), else
// "join" (participants empty: it is this account; Time zero: unknown).
func mapJoinedGroup(e *events.JoinedGroup) engine.GroupChange {
	c := engine.GroupChange{
		Group:   e.JID.String(),
		Actor:   jidString(pickJID(e.SenderPN, e.Sender)),
		Action:  "join",
		Subject: e.Name,
	}
	if e.Type == "new" {
		c.Action = "create"
		c.Time = e.GroupCreated
		for _, p := range e.Participants {
			jid := p.JID
			if jid.Server == types.HiddenUserServer && !p.PhoneNumber.IsEmpty() {
				jid = p.PhoneNumber
			}
			c.Participants = append(c.Participants, jidString(jid))
		}
	}
	return c
}

// pickJID returns the first non-empty JID.
func pickJID(jids ...*types.JID) types.JID {
	for _, j := range jids {
		if j != nil && !j.IsEmpty() {
			return *j
		}
	}
	return types.EmptyJID
}

func sameUser(a types.JID, b *types.JID) bool {
	return b != nil && a.User == b.User && a.Server == b.Server
}

// jidString is a JID without its device part, "" for none.
func jidString(j types.JID) string {
	if j.IsEmpty() {
		return ""
	}
	return j.ToNonAD().String()
}

func jidStrings(list []types.JID) []string {
	if len(list) == 0 {
		return nil
	}
	out := make([]string, len(list))
	for i, j := range list {
		out[i] = jidString(j)
	}
	return out
}
