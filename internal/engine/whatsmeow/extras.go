package whatsmeow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waSyncAction"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

// This file implements the engine's optional capabilities: the blocklist,
// LIDs, the address book, pins, group settings and join requests, group
// pictures.

var (
	_ engine.ProfilePhotoSetter = (*Session)(nil)
	_ engine.DisappearingSetter = (*Session)(nil)
	_ engine.Blocker            = (*Session)(nil)
	_ engine.LIDLookup          = (*Session)(nil)
	_ engine.ContactBook        = (*Session)(nil)
	_ engine.Pinner             = (*Session)(nil)
	_ engine.GroupAdmin         = (*Session)(nil)
)

// ErrCannotRemoveContact: whatsmeow writes app state entries with SET
// mutations only, and removing an address-book entry takes a REMOVE
// mutation; a device on whatsmeow cannot delete a saved contact.
var ErrCannotRemoveContact = fmt.Errorf("%w: deleting a saved contact needs an app state REMOVE mutation, which whatsmeow cannot send (it writes SET mutations only); delete it on the phone", engine.ErrUnsupported)

// SetProfilePhoto sets the account's picture: the profile picture IQ
// without a target is the account's own.
func (s *Session) SetProfilePhoto(ctx context.Context, jpeg []byte) error {
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if len(jpeg) == 0 {
		jpeg = nil
	}
	if _, err := cli.SetGroupPhoto(ctx, types.EmptyJID, jpeg); err != nil {
		if errors.Is(err, wm.ErrInvalidImageFormat) {
			return fmt.Errorf("whatsmeow: set profile photo: %w: %w", ErrInvalidContent, err)
		}
		return fmt.Errorf("whatsmeow: set profile photo: %w", mapSendErr(err))
	}
	return nil
}

// SetDisappearing sets a chat's disappearing timer (a protocol message to
// a user, a group setting IQ for a group).
func (s *Session) SetDisappearing(ctx context.Context, chat string, d time.Duration) error {
	jid, err := parseChat(chat)
	if err != nil {
		return err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if err := cli.SetDisappearingTimer(ctx, jid, d, time.Now()); err != nil {
		if jid.Server == types.GroupServer {
			return fmt.Errorf("whatsmeow: disappearing timer: %w", adminErr(ctx, cli, jid, err))
		}
		return fmt.Errorf("whatsmeow: disappearing timer: %w", sendErr(err))
	}
	return nil
}

// Blocklist asks WhatsApp for the account's blocklist.
func (s *Session) Blocklist(ctx context.Context) ([]string, error) {
	cli, _, _, err := s.online()
	if err != nil {
		return nil, err
	}
	bl, err := cli.GetBlocklist(ctx)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: blocklist: %w", mapSendErr(err))
	}
	out := make([]string, 0, len(bl.JIDs))
	for _, j := range bl.JIDs {
		out = append(out, s.phoneJID(ctx, cli, j).String())
	}
	return out, nil
}

// phoneJID is a user's phone-number JID when a LID's number is known.
func (s *Session) phoneJID(ctx context.Context, cli *wm.Client, j types.JID) types.JID {
	if j.Server != types.HiddenUserServer || cli.Store == nil || cli.Store.LIDs == nil {
		return j.ToNonAD()
	}
	if pn, err := cli.Store.LIDs.GetPNForLID(ctx, j); err == nil && !pn.IsEmpty() {
		return pn.ToNonAD()
	}
	return j.ToNonAD()
}

// SetBlocked blocks or unblocks a user.
func (s *Session) SetBlocked(ctx context.Context, user string, blocked bool) error {
	jid, err := parseUser(user)
	if err != nil {
		return err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	action := events.BlocklistChangeActionUnblock
	if blocked {
		action = events.BlocklistChangeActionBlock
	}
	if _, err := cli.UpdateBlocklist(ctx, jid, action); err != nil {
		return fmt.Errorf("whatsmeow: update blocklist: %w", mapSendErr(err))
	}
	return nil
}

// LIDs reads users' LIDs from whatsmeow's LID store, and asks WhatsApp
// (a usync query) for those it does not know yet.
func (s *Session) LIDs(ctx context.Context, users []string) (map[string]string, error) {
	jids, err := parseUsers(users)
	if err != nil {
		return nil, err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(jids))
	var ask []types.JID
	for _, j := range jids {
		if j.Server == types.HiddenUserServer { // a LID already
			out[j.String()] = j.ToNonAD().String()
			continue
		}
		if cli.Store != nil && cli.Store.LIDs != nil {
			if lid, err := cli.Store.LIDs.GetLIDForPN(ctx, j); err == nil && !lid.IsEmpty() {
				out[j.String()] = lid.ToNonAD().String()
				continue
			}
		}
		ask = append(ask, j)
	}
	if len(ask) > 0 {
		info, err := cli.GetUserInfo(ctx, ask)
		if err != nil {
			return nil, fmt.Errorf("whatsmeow: user info: %w", mapSendErr(err))
		}
		for _, j := range ask {
			if lid := info[j].LID; !lid.IsEmpty() {
				out[j.String()] = lid.ToNonAD().String()
			}
		}
	}
	return out, nil
}

// SaveContact writes a contact action to the account's app state (the
// "critical_unblock_low" collection, where the phone keeps its address
// book).
func (s *Session) SaveContact(ctx context.Context, user, name string) error {
	jid, err := parseUser(user)
	if err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("%w: a contact needs a name", ErrInvalidContent)
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	first := name
	for i, r := range name {
		if r == ' ' {
			first = name[:i]
			break
		}
	}
	patch := appstate.PatchInfo{
		Type: appstate.WAPatchCriticalUnblockLow,
		Mutations: []appstate.MutationInfo{{
			Index:   []string{appstate.IndexContact, jid.String()},
			Version: 2,
			Value: &waSyncAction.SyncActionValue{ContactAction: &waSyncAction.ContactAction{
				FullName: proto.String(name), FirstName: proto.String(first), SaveOnPrimaryAddressbook: proto.Bool(true),
			}},
		}},
	}
	if err := cli.SendAppState(ctx, patch); err != nil {
		return fmt.Errorf("whatsmeow: save contact: %w", mapSendErr(err))
	}
	return nil
}

// DeleteContact is not possible through whatsmeow (ErrCannotRemoveContact).
func (s *Session) DeleteContact(ctx context.Context, user string) error {
	if _, err := parseUser(user); err != nil {
		return err
	}
	if _, _, _, err := s.online(); err != nil {
		return err
	}
	return ErrCannotRemoveContact
}

// PinMessage sends a pin-in-chat message for everyone in the chat, with
// how long the pin lasts.
func (s *Session) PinMessage(ctx context.Context, chat, sender, id string, d time.Duration) error {
	jid, from, err := parseTarget(chat, sender, id)
	if err != nil {
		return err
	}
	cli, own, _, err := s.online()
	if err != nil {
		return err
	}
	fromMe := from.IsEmpty() || from.User == own.User
	key := &waCommon.MessageKey{RemoteJID: proto.String(jid.String()), FromMe: proto.Bool(fromMe), ID: proto.String(id)}
	if jid.Server == types.GroupServer && !fromMe {
		key.Participant = proto.String(from.String())
	}
	typ := waE2E.PinInChatMessage_PIN_FOR_ALL
	if d <= 0 {
		typ = waE2E.PinInChatMessage_UNPIN_FOR_ALL
	}
	msg := &waE2E.Message{
		PinInChatMessage: &waE2E.PinInChatMessage{Key: key, Type: typ.Enum(), SenderTimestampMS: proto.Int64(time.Now().UnixMilli())},
	}
	if d > 0 {
		msg.MessageContextInfo = &waE2E.MessageContextInfo{MessageAddOnDurationInSecs: proto.Uint32(uint32(d / time.Second))}
	}
	if _, err := cli.SendMessage(ctx, jid, msg); err != nil {
		return fmt.Errorf("whatsmeow: pin: %w", sendErr(err))
	}
	return nil
}

// SetGroupSetting changes one of a group's settings.
func (s *Session) SetGroupSetting(ctx context.Context, group string, setting engine.GroupSetting, adminsOnly bool) error {
	g, err := parseGroup(group)
	if err != nil {
		return err
	}
	switch setting {
	case engine.SettingSendMessages, engine.SettingEditInfo, engine.SettingApprove, engine.SettingAddParticipants:
	default:
		return fmt.Errorf("%w: group setting %q", engine.ErrUnsupported, setting)
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	switch setting {
	case engine.SettingSendMessages:
		err = cli.SetGroupAnnounce(ctx, g, adminsOnly)
	case engine.SettingEditInfo:
		err = cli.SetGroupLocked(ctx, g, adminsOnly)
	case engine.SettingApprove:
		err = cli.SetGroupJoinApprovalMode(ctx, g, adminsOnly)
	case engine.SettingAddParticipants:
		mode := types.GroupMemberAddModeAllMember
		if adminsOnly {
			mode = types.GroupMemberAddModeAdmin
		}
		err = cli.SetGroupMemberAddMode(ctx, g, mode)
	}
	if err != nil {
		return fmt.Errorf("whatsmeow: group setting %s: %w", setting, adminErr(ctx, cli, g, err))
	}
	return nil
}

// GroupRequests asks WhatsApp for the requests to join a group.
func (s *Session) GroupRequests(ctx context.Context, group string) ([]engine.JoinRequest, error) {
	g, err := parseGroup(group)
	if err != nil {
		return nil, err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return nil, err
	}
	reqs, err := cli.GetGroupRequestParticipants(ctx, g)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: group requests: %w", adminErr(ctx, cli, g, err))
	}
	out := make([]engine.JoinRequest, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, engine.JoinRequest{User: s.phoneJID(ctx, cli, r.JID).String(), Method: "invite_link", Time: r.RequestedAt})
	}
	return out, nil
}

// AnswerGroupRequests approves or rejects requests to join a group.
func (s *Session) AnswerGroupRequests(ctx context.Context, group string, users []string, approve bool) ([]engine.ParticipantResult, error) {
	g, err := parseGroup(group)
	if err != nil {
		return nil, err
	}
	jids, err := parseUsers(users)
	if err != nil {
		return nil, err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return nil, err
	}
	action := wm.ParticipantChangeReject
	if approve {
		action = wm.ParticipantChangeApprove
	}
	res, err := cli.UpdateGroupRequestParticipants(ctx, g, jids, action)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: answer group requests: %w", adminErr(ctx, cli, g, err))
	}
	return participantResults(jids, res, engine.ParticipantAdd), nil
}

// maxPhoto bounds a downloaded group picture.
const maxPhoto = 10 << 20

// GroupPhoto asks WhatsApp for the group picture's URL and downloads it
// (through the channel's proxy).
func (s *Session) GroupPhoto(ctx context.Context, group string) ([]byte, error) {
	g, err := parseGroup(group)
	if err != nil {
		return nil, err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return nil, err
	}
	info, err := cli.GetProfilePictureInfo(ctx, g, &wm.GetProfilePictureParams{})
	switch {
	case errors.Is(err, wm.ErrProfilePictureNotSet), errors.Is(err, wm.ErrProfilePictureUnauthorized), err == nil && (info == nil || info.URL == ""):
		return nil, fmt.Errorf("%w: %s", engine.ErrNoPhoto, g)
	case err != nil:
		return nil, fmt.Errorf("whatsmeow: group picture: %w", groupErr(err))
	}
	return s.fetchPicture(ctx, info.URL)
}

// fetchPicture GETs a picture of WhatsApp's CDN through the session's proxy.
func (s *Session) fetchPicture(ctx context.Context, raw string) ([]byte, error) {
	tr := &http.Transport{Proxy: nil}
	s.mu.Lock()
	proxy := s.proxy
	s.mu.Unlock()
	if proxy != "" {
		u, err := url.Parse(proxy)
		if err != nil {
			return nil, fmt.Errorf("%w: rejected", engine.ErrBadProxy)
		}
		tr.Proxy = http.ProxyURL(u)
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	if s.eng.opts.ClientHook != nil && s.eng.opts.HTTPClient != nil {
		hc = s.eng.opts.HTTPClient // clients pointed at a fake WhatsApp server (tests, bench)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: picture URL: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: downloading the picture failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("whatsmeow: downloading the picture: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxPhoto+1))
	if err != nil {
		return nil, fmt.Errorf("whatsmeow: downloading the picture: %w", err)
	}
	if len(data) > maxPhoto {
		return nil, fmt.Errorf("whatsmeow: the picture is larger than %d bytes", maxPhoto)
	}
	return data, nil
}
