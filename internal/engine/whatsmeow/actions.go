package whatsmeow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

// This file implements engine.Actor. Every method checks its arguments
// first (bad input fails the same online or offline), then needs a linked,
// logged-in session (engine.ErrNotLinked, engine.ErrNotConnected), then
// asks WhatsApp. whatsmeow's errors are mapped to the engine's and wrapped,
// so errors.Is works on both.

var _ engine.Actor = (*Session)(nil)

// Send sends a message of any kind. Media is uploaded first (the upload
// needs the connection too). EditedID sends an edit of an own text message
// instead; the returned ID is then the edit's, not the edited message's.
func (s *Session) Send(ctx context.Context, chat string, c engine.Content) (engine.SentMessage, error) {
	jid, err := parseChat(chat)
	if err != nil {
		return engine.SentMessage{}, err
	}
	if isBusinessKind(c.Kind) {
		return s.sendBusiness(ctx, jid, c) // business.go
	}
	o, err := checkContent(c)
	if err != nil {
		return engine.SentMessage{}, err
	}
	cli, own, _, err := s.online()
	if err != nil {
		return engine.SentMessage{}, err
	}
	var up *wm.UploadResponse
	var extra []wm.SendRequestExtra
	if engine.IsMedia(o.Kind) && jid.Server == types.NewsletterServer {
		// Newsletter posts are not encrypted: their files neither.
		r, err := cli.UploadNewsletter(ctx, o.Media.Data, mediaTypeOf(o.Kind))
		if err != nil {
			return engine.SentMessage{}, fmt.Errorf("whatsmeow: upload %s to a newsletter: %w", o.Kind, mapSendErr(err))
		}
		up, extra = &r, []wm.SendRequestExtra{{MediaHandle: r.Handle}}
	} else if engine.IsMedia(o.Kind) {
		r, err := upload(ctx, cli, o.Media.Data, mediaTypeOf(o.Kind))
		if err != nil {
			return engine.SentMessage{}, fmt.Errorf("whatsmeow: upload %s: %w", o.Kind, mapSendErr(err))
		}
		up = &r
	}
	var q *quote
	if o.QuotedID != "" {
		// The caller names the quoted message's author when it was not
		// this account.
		q = quoteOf(o.Quoted, own)
	}
	msg, err := buildMessage(cli, jid, o, up, q)
	if err != nil {
		return engine.SentMessage{}, err
	}
	resp, err := cli.SendMessage(ctx, jid, msg, extra...)
	if err != nil {
		return engine.SentMessage{}, fmt.Errorf("whatsmeow: send %s: %w", o.Kind, sendErr(err))
	}
	payload, err := proto.Marshal(msg)
	if err != nil {
		payload = nil // sent all the same; only a retry could not be answered later
	}
	return engine.SentMessage{ID: resp.ID, Chat: jid.String(), Time: resp.Timestamp, Payload: payload}, nil
}

// upload is cli.Upload, which indexes the media hosts WhatsApp names
// without checking there is one: a panic there becomes an error.
func upload(ctx context.Context, cli *wm.Client, data []byte, mt wm.MediaType) (resp wm.UploadResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("upload failed: %v", r)
		}
	}()
	return cli.Upload(ctx, data, mt)
}

// React sets or removes ("") the account's reaction to a message.
func (s *Session) React(ctx context.Context, chat, sender, id, emoji string) error {
	c, from, err := parseTarget(chat, sender, id)
	if err != nil {
		return err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if _, err := cli.SendMessage(ctx, c, cli.BuildReaction(c, from, id, emoji)); err != nil {
		return fmt.Errorf("whatsmeow: react: %w", sendErr(err))
	}
	return nil
}

// Revoke deletes a message for everyone: an own one (sender "" or the
// account), or, as a group admin, someone else's.
func (s *Session) Revoke(ctx context.Context, chat, sender, id string) error {
	c, from, err := parseTarget(chat, sender, id)
	if err != nil {
		return err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if _, err := cli.SendMessage(ctx, c, cli.BuildRevoke(c, from, id)); err != nil {
		return fmt.Errorf("whatsmeow: revoke: %w", sendErr(err))
	}
	return nil
}

func parseTarget(chat, sender, id string) (types.JID, types.JID, error) {
	c, err := parseChat(chat)
	if err != nil {
		return types.JID{}, types.JID{}, err
	}
	from, err := parseUser(sender)
	if err != nil {
		return types.JID{}, types.JID{}, err
	}
	if strings.TrimSpace(id) == "" {
		return types.JID{}, types.JID{}, fmt.Errorf("%w: no message ID", ErrInvalidContent)
	}
	return c, from, nil
}

// SetPresence makes the account available or unavailable. WhatsApp wants
// the push name with it: right after linking, before the phone shared it,
// this fails. Delivery receipts stay active either way.
//
// The session remembers the last presence asked for and sends it again
// whenever it connects, and once the push name becomes known if it was
// not yet (presence.go), as mature whatsmeow users do, so that outgoing
// messages carry the account's name.
func (s *Session) SetPresence(ctx context.Context, online bool) error {
	state := types.PresenceUnavailable
	if online {
		state = types.PresenceAvailable
	}
	s.wantPresence.Store(string(state))
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if err := cli.SendPresence(ctx, state); err != nil {
		if errors.Is(err, wm.ErrNoPushName) {
			return fmt.Errorf("whatsmeow: set presence: the account's name is not known yet (the phone shares it after linking): %w", err)
		}
		return fmt.Errorf("whatsmeow: set presence: %w", mapSendErr(err))
	}
	return nil
}

// SendChatPresence shows typing, recording (a voice note) or paused.
func (s *Session) SendChatPresence(ctx context.Context, chat string, state engine.PresenceState) error {
	c, err := parseChat(chat)
	if err != nil {
		return err
	}
	var (
		cp    types.ChatPresence
		media types.ChatPresenceMedia
	)
	switch state {
	case engine.PresenceTyping:
		cp = types.ChatPresenceComposing
	case engine.PresenceRecording:
		cp, media = types.ChatPresenceComposing, types.ChatPresenceMediaAudio
	case engine.PresencePaused:
		cp = types.ChatPresencePaused
	default:
		return fmt.Errorf("%w: chat presence %q", ErrInvalidContent, state)
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if err := cli.SendChatPresence(ctx, c, cp, media); err != nil {
		return fmt.Errorf("whatsmeow: chat presence: %w", mapSendErr(err))
	}
	return nil
}

// SubscribePresence asks for a user's presence updates. WhatsApp sends
// them only while the account itself is available (SetPresence(true)).
func (s *Session) SubscribePresence(ctx context.Context, user string) error {
	u, err := parseUser(user)
	if err != nil {
		return err
	}
	if u.IsEmpty() {
		return fmt.Errorf("%w: no user", engine.ErrInvalidPhone)
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if err := cli.SubscribePresence(ctx, u); err != nil {
		return fmt.Errorf("whatsmeow: subscribe presence: %w", mapSendErr(err))
	}
	return nil
}

// CheckNumbers says which numbers are on WhatsApp, in the order given.
// A number that is not a valid international number does not exist.
func (s *Session) CheckNumbers(ctx context.Context, phones []string) ([]engine.NumberCheck, error) {
	cli, _, _, err := s.online()
	if err != nil {
		return nil, err
	}
	out := make([]engine.NumberCheck, len(phones))
	at := make(map[string][]int) // query -> indexes in phones
	var query []string
	for i, p := range phones {
		out[i].Input = p
		n, err := normalizePhone(stripPhone(p))
		if err != nil {
			continue
		}
		q := "+" + n
		if _, dup := at[q]; !dup {
			query = append(query, q)
		}
		at[q] = append(at[q], i)
	}
	if len(query) == 0 {
		return out, nil
	}
	resp, err := cli.IsOnWhatsApp(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: check numbers: %w", mapSendErr(err))
	}
	for _, r := range resp {
		q := "+" + strings.TrimPrefix(r.Query, "+")
		for _, i := range at[q] {
			out[i].Exists = r.IsIn
			if r.IsIn && !r.JID.IsEmpty() {
				out[i].JID = r.JID.ToNonAD().String()
			}
		}
	}
	return out, nil
}

// stripPhone drops the separators people write numbers with.
func stripPhone(p string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '.':
			return -1
		}
		return r
	}, p)
}

// UserProfile reads a user's about text, picture URL ("" when none or
// hidden) and name as this device knows it (push name, contact name or
// verified business name; "" when it never saw one).
func (s *Session) UserProfile(ctx context.Context, user string) (engine.Profile, error) {
	u, err := parseUser(user)
	if err != nil {
		return engine.Profile{}, err
	}
	if u.IsEmpty() {
		return engine.Profile{}, fmt.Errorf("%w: no user", engine.ErrInvalidPhone)
	}
	cli, _, _, err := s.online()
	if err != nil {
		return engine.Profile{}, err
	}
	infos, err := cli.GetUserInfo(ctx, []types.JID{u})
	if err != nil {
		return engine.Profile{}, fmt.Errorf("whatsmeow: user info: %w", mapSendErr(err))
	}
	info, ok := infos[u]
	if !ok {
		if len(infos) != 1 {
			return engine.Profile{}, fmt.Errorf("whatsmeow: user info %s: %w", u, engine.ErrNotOnWhatsApp)
		}
		for _, i := range infos {
			info = i
		}
	}
	p := engine.Profile{About: info.Status}
	if ct, err := cli.Store.Contacts.GetContact(ctx, u); err == nil && ct.Found {
		p.Name = firstNonEmpty(ct.PushName, ct.FullName, ct.BusinessName, ct.FirstName)
	}
	if p.Name == "" && info.VerifiedName != nil && info.VerifiedName.Details != nil {
		p.Name = info.VerifiedName.Details.GetVerifiedName()
	}
	pic, err := cli.GetProfilePictureInfo(ctx, u, nil)
	switch {
	case errors.Is(err, wm.ErrProfilePictureNotSet), errors.Is(err, wm.ErrProfilePictureUnauthorized):
	case err != nil:
		return engine.Profile{}, fmt.Errorf("whatsmeow: profile picture: %w", mapSendErr(err))
	case pic != nil:
		p.Picture = pic.URL
	}
	return p, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// CreateGroup creates a group. Participants WhatsApp refused to add (their
// privacy settings only allow invites) are left out of the result.
func (s *Session) CreateGroup(ctx context.Context, subject string, participants []string) (engine.GroupInfo, error) {
	subject = strings.TrimSpace(subject)
	if subject == "" {
		return engine.GroupInfo{}, fmt.Errorf("%w: empty group subject", ErrInvalidContent)
	}
	users, err := parseUsers(participants)
	if err != nil {
		return engine.GroupInfo{}, err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return engine.GroupInfo{}, err
	}
	g, err := cli.CreateGroup(ctx, wm.ReqCreateGroup{Name: subject, Participants: users})
	if err != nil {
		return engine.GroupInfo{}, fmt.Errorf("whatsmeow: create group: %w", mapSendErr(err))
	}
	return phoneGroupInfo(ctx, cli, g), nil
}

// Groups lists the groups the account is in.
func (s *Session) Groups(ctx context.Context) ([]engine.GroupInfo, error) {
	cli, _, _, err := s.online()
	if err != nil {
		return nil, err
	}
	list, err := cli.GetJoinedGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: groups: %w", mapSendErr(err))
	}
	out := make([]engine.GroupInfo, 0, len(list))
	for _, g := range list {
		if g != nil {
			out = append(out, phoneGroupInfo(ctx, cli, g))
		}
	}
	return out, nil
}

// Group reads one group.
func (s *Session) Group(ctx context.Context, group string) (engine.GroupInfo, error) {
	g, err := parseGroup(group)
	if err != nil {
		return engine.GroupInfo{}, err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return engine.GroupInfo{}, err
	}
	info, err := cli.GetGroupInfo(ctx, g)
	if err != nil {
		return engine.GroupInfo{}, fmt.Errorf("whatsmeow: group %s: %w", g, groupErr(err))
	}
	return phoneGroupInfo(ctx, cli, info), nil
}

// SetGroupSubject renames a group.
func (s *Session) SetGroupSubject(ctx context.Context, group, subject string) error {
	g, err := parseGroup(group)
	if err != nil {
		return err
	}
	subject = strings.TrimSpace(subject)
	if subject == "" {
		return fmt.Errorf("%w: empty group subject", ErrInvalidContent)
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if err := cli.SetGroupName(ctx, g, subject); err != nil {
		return fmt.Errorf("whatsmeow: set group subject: %w", adminErr(ctx, cli, g, err))
	}
	return nil
}

// SetGroupDescription sets a group's description ("" removes it).
func (s *Session) SetGroupDescription(ctx context.Context, group, description string) error {
	g, err := parseGroup(group)
	if err != nil {
		return err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	// WhatsApp wants the ID of the description being replaced.
	info, err := cli.GetGroupInfo(ctx, g)
	if err != nil {
		return fmt.Errorf("whatsmeow: set group description: %w", groupErr(err))
	}
	if err := cli.SetGroupTopic(ctx, g, info.TopicID, "", description); err != nil {
		return fmt.Errorf("whatsmeow: set group description: %w", adminErr(ctx, cli, g, err))
	}
	return nil
}

// SetGroupPhoto sets a group's photo (a JPEG), or removes it (empty).
func (s *Session) SetGroupPhoto(ctx context.Context, group string, jpeg []byte) error {
	g, err := parseGroup(group)
	if err != nil {
		return err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if len(jpeg) == 0 {
		jpeg = nil
	}
	if _, err := cli.SetGroupPhoto(ctx, g, jpeg); err != nil {
		if errors.Is(err, wm.ErrInvalidImageFormat) {
			return fmt.Errorf("whatsmeow: set group photo: %w: %w", ErrInvalidContent, err)
		}
		return fmt.Errorf("whatsmeow: set group photo: %w", adminErr(ctx, cli, g, err))
	}
	return nil
}

// UpdateParticipants adds, removes, promotes or demotes users. The results
// come in the order of users.
func (s *Session) UpdateParticipants(ctx context.Context, group string, users []string, action engine.ParticipantAction) ([]engine.ParticipantResult, error) {
	g, err := parseGroup(group)
	if err != nil {
		return nil, err
	}
	var change wm.ParticipantChange
	switch action {
	case engine.ParticipantAdd:
		change = wm.ParticipantChangeAdd
	case engine.ParticipantRemove:
		change = wm.ParticipantChangeRemove
	case engine.ParticipantPromote:
		change = wm.ParticipantChangePromote
	case engine.ParticipantDemote:
		change = wm.ParticipantChangeDemote
	default:
		return nil, fmt.Errorf("%w: participant action %q", engine.ErrUnsupported, action)
	}
	jids, err := parseUsers(users)
	if err != nil {
		return nil, err
	}
	if len(jids) == 0 {
		return nil, fmt.Errorf("%w: no participants", engine.ErrInvalidPhone)
	}
	cli, _, _, err := s.online()
	if err != nil {
		return nil, err
	}
	res, err := cli.UpdateGroupParticipants(ctx, g, jids, change)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: %s participants: %w", action, adminErr(ctx, cli, g, err))
	}
	return participantResults(jids, res, action), nil
}

// participantResults matches WhatsApp's answer to the users asked for: by
// phone number or LID, then, for answers naming someone else (an LID
// without its number), in order.
func participantResults(users []types.JID, res []types.GroupParticipant, action engine.ParticipantAction) []engine.ParticipantResult {
	out := make([]engine.ParticipantResult, len(users))
	used := make([]bool, len(res))
	done := make([]bool, len(users))
	same := func(a, b types.JID) bool { return !b.IsEmpty() && a.User == b.User && a.Server == b.Server }
	for i, u := range users {
		out[i].JID = u.String()
		for j, p := range res {
			if !used[j] && (same(u, p.JID) || same(u, p.PhoneNumber) || same(u, p.LID)) {
				out[i].Error = participantError(p.Error, action)
				used[j], done[i] = true, true
				break
			}
		}
	}
	j := 0
	for i := range users {
		if done[i] {
			continue
		}
		for j < len(res) && used[j] {
			j++
		}
		if j < len(res) {
			out[i].Error = participantError(res[j].Error, action)
			used[j] = true
		} else {
			out[i].Error = "no answer from WhatsApp"
		}
	}
	return out
}

// participantError explains the error code WhatsApp gives one participant.
func participantError(code int, action engine.ParticipantAction) string {
	switch code {
	case 0, 200:
		return ""
	case 401:
		return "not authorized (the user may have blocked this account)"
	case 403:
		if action == engine.ParticipantAdd {
			return "privacy settings (the user can only be invited)"
		}
		return "not allowed"
	case 404:
		if action == engine.ParticipantAdd {
			return "not on WhatsApp"
		}
		return "not a participant"
	case 406:
		return "not allowed"
	case 408:
		return "recently left the group"
	case 409:
		switch action {
		case engine.ParticipantAdd:
			return "already a participant"
		case engine.ParticipantPromote:
			return "already an admin"
		case engine.ParticipantDemote:
			return "not an admin"
		}
		return "not a participant"
	case 500:
		return "group is full"
	}
	return fmt.Sprintf("refused by WhatsApp (%d)", code)
}

// LeaveGroup leaves a group.
func (s *Session) LeaveGroup(ctx context.Context, group string) error {
	g, err := parseGroup(group)
	if err != nil {
		return err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if err := cli.LeaveGroup(ctx, g); err != nil {
		if errors.Is(err, wm.ErrIQNotAuthorized) || errors.Is(err, wm.ErrIQForbidden) {
			return fmt.Errorf("whatsmeow: leave group: %w: %w", engine.ErrGroupNotFound, err)
		}
		return fmt.Errorf("whatsmeow: leave group: %w", groupErr(err))
	}
	return nil
}

// GroupInvite returns a group's invite code (without the link prefix).
func (s *Session) GroupInvite(ctx context.Context, group string, reset bool) (string, error) {
	g, err := parseGroup(group)
	if err != nil {
		return "", err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return "", err
	}
	link, err := cli.GetGroupInviteLink(ctx, g, reset)
	if err != nil {
		return "", fmt.Errorf("whatsmeow: group invite: %w", adminErr(ctx, cli, g, err))
	}
	return strings.TrimPrefix(link, wm.InviteLinkPrefix), nil
}

// GroupByInvite previews the group of an invite code (or link).
func (s *Session) GroupByInvite(ctx context.Context, code string) (engine.GroupInfo, error) {
	code, err := inviteCode(code)
	if err != nil {
		return engine.GroupInfo{}, err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return engine.GroupInfo{}, err
	}
	g, err := cli.GetGroupInfoFromLink(ctx, code)
	if err != nil {
		return engine.GroupInfo{}, fmt.Errorf("whatsmeow: group by invite: %w", inviteErr(err))
	}
	return phoneGroupInfo(ctx, cli, g), nil
}

// JoinGroup joins the group of an invite code (or link). For a group that
// requires admin approval, the JID is returned once the request is made;
// the account joins when an admin approves (a GroupChange "join" follows).
func (s *Session) JoinGroup(ctx context.Context, code string) (string, error) {
	code, err := inviteCode(code)
	if err != nil {
		return "", err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return "", err
	}
	jid, err := cli.JoinGroupWithLink(ctx, code)
	if err != nil {
		return "", fmt.Errorf("whatsmeow: join group: %w", inviteErr(err))
	}
	return jid.String(), nil
}

// inviteCode takes an invite code or link.
func inviteCode(code string) (string, error) {
	code = strings.TrimSpace(code)
	for _, p := range []string{wm.InviteLinkPrefix, "http://chat.whatsapp.com/", "chat.whatsapp.com/"} {
		code = strings.TrimPrefix(code, p)
	}
	if code == "" || strings.ContainsAny(code, "/?# ") {
		return "", fmt.Errorf("%w: %q", engine.ErrInviteNotFound, code)
	}
	return code, nil
}

// parseGroup parses a group JID; bare digits get "@g.us".
func parseGroup(group string) (types.JID, error) {
	g := strings.TrimSpace(group)
	if !strings.Contains(g, "@") {
		g += "@" + types.GroupServer
	}
	jid, err := parseChat(g)
	if err != nil {
		return types.JID{}, err
	}
	if jid.Server != types.GroupServer {
		return types.JID{}, fmt.Errorf("%w: not a group JID %q", engine.ErrInvalidPhone, group)
	}
	return jid, nil
}

// parseUsers parses user JIDs (or phone numbers).
func parseUsers(list []string) ([]types.JID, error) {
	out := make([]types.JID, 0, len(list))
	for _, u := range list {
		jid, err := parseUser(u)
		if err != nil {
			return nil, err
		}
		if jid.IsEmpty() {
			return nil, fmt.Errorf("%w: empty user", engine.ErrInvalidPhone)
		}
		out = append(out, jid)
	}
	return out, nil
}

// groupInfo converts whatsmeow's group info. Participants are given by
// phone number where WhatsApp told it, else by LID; participants with an
// error (not added) are left out.
func groupInfo(g *types.GroupInfo) engine.GroupInfo {
	owner := g.OwnerPN
	if owner.IsEmpty() {
		owner = g.OwnerJID
	}
	gi := engine.GroupInfo{
		JID:         g.JID.String(),
		Subject:     g.Name,
		Description: g.Topic,
		Owner:       jidString(owner),
		Created:     g.GroupCreated,
		Announce:    g.IsAnnounce,
		Locked:      g.IsLocked,
	}
	for _, p := range g.Participants {
		if p.Error != 0 {
			continue
		}
		jid := p.JID
		if !p.PhoneNumber.IsEmpty() {
			jid = p.PhoneNumber
		}
		gi.Participants = append(gi.Participants, engine.Participant{
			JID: jidString(jid), Admin: p.IsAdmin || p.IsSuperAdmin, SuperAdmin: p.IsSuperAdmin,
		})
	}
	return gi
}

// mapSendErr adds engine.ErrNotConnected to whatsmeow's "not connected"
// errors (the connection can drop between the check and the call, or
// during a request).
func mapSendErr(err error) error {
	var disc *wm.DisconnectedError
	if errors.Is(err, wm.ErrNotConnected) || errors.Is(err, wm.ErrNotLoggedIn) || errors.As(err, &disc) {
		return fmt.Errorf("%w: %w", engine.ErrNotConnected, err)
	}
	return err
}

// sendErr maps a send's error: to a group the account is not in, it is
// engine.ErrGroupNotFound.
func sendErr(err error) error {
	if groupMissing(err) {
		return fmt.Errorf("%w: %w", engine.ErrGroupNotFound, err)
	}
	if serverError(err) == 463 {
		return fmt.Errorf("%w: %w", engine.ErrReachoutLimited, err)
	}
	return mapSendErr(err)
}

// serverError is the code of an error WhatsApp answered a send with
// (whatsmeow's ErrServerReturnedError, "server returned error N"), 0 for
// other errors.
func serverError(err error) int {
	if !errors.Is(err, wm.ErrServerReturnedError) {
		return 0
	}
	msg := err.Error()
	i := strings.LastIndexByte(msg, ' ')
	n, _ := strconv.Atoi(msg[i+1:])
	return n
}

// groupMissing reports whatsmeow's "no such group" and "not in the group".
func groupMissing(err error) bool {
	return errors.Is(err, wm.ErrGroupNotFound) || errors.Is(err, wm.ErrNotInGroup) || errors.Is(err, wm.ErrIQNotFound)
}

func groupErr(err error) error {
	if groupMissing(err) {
		return fmt.Errorf("%w: %w", engine.ErrGroupNotFound, err)
	}
	return mapSendErr(err)
}

// adminErr maps the error of an admin-only group change. WhatsApp refuses
// both non-admins and non-members (401/403); asking for the group tells
// them apart.
func adminErr(ctx context.Context, cli *wm.Client, group types.JID, err error) error {
	if errors.Is(err, wm.ErrIQNotAuthorized) || errors.Is(err, wm.ErrIQForbidden) {
		if _, gerr := cli.GetGroupInfo(ctx, group); gerr != nil && groupMissing(gerr) {
			return fmt.Errorf("%w: %w", engine.ErrGroupNotFound, err)
		}
		return fmt.Errorf("%w: %w", engine.ErrNotAdmin, err)
	}
	return groupErr(err)
}

// inviteErr maps the error of an invite code lookup or join.
func inviteErr(err error) error {
	if errors.Is(err, wm.ErrInviteLinkInvalid) || errors.Is(err, wm.ErrInviteLinkRevoked) ||
		errors.Is(err, wm.ErrIQNotFound) || errors.Is(err, wm.ErrIQGone) ||
		errors.Is(err, wm.ErrIQNotAcceptable) || errors.Is(err, wm.ErrIQBadRequest) {
		return fmt.Errorf("%w: %w", engine.ErrInviteNotFound, err)
	}
	return mapSendErr(err)
}
