package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	_ "image/png" // group icons may be PNG
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// Limits of group input, like WhatsApp's.
const (
	MaxGroupSubject      = 100  // characters
	MaxGroupDescription  = 2048 // characters
	MaxGroupParticipants = 1024 // per request, and in a group
	// MaxGroupIconSize bounds a group picture as sent (JPEG or PNG).
	MaxGroupIconSize = 5 << 20
	// maxGroupIconPixels bounds a picture's dimensions before it is decoded.
	maxGroupIconPixels = 6000 * 6000
	// groupIconSide is the side of the square JPEG WhatsApp keeps.
	groupIconSide = 640
)

// GroupCreated is the outcome of CreateGroup: the new group and the
// participants WhatsApp did not add (their privacy settings, not on
// WhatsApp, ...).
type GroupCreated struct {
	Group       store.Group
	Unprocessed []string // user JIDs
}

// ParticipantsResult is the outcome of a change of participants: whom it
// worked for and whom not (user JIDs, in the order asked).
type ParticipantsResult struct {
	Processed []string
	Failed    []string
	// Reasons says why each failed one failed, by JID.
	Reasons map[string]string
}

// rankOf is a participant's rank as the gate API names it.
func rankOf(p engine.Participant) string {
	switch {
	case p.SuperAdmin:
		return store.RankCreator
	case p.Admin:
		return store.RankAdmin
	}
	return store.RankMember
}

// groupRecord converts an engine's group for the store.
func groupRecord(channelID string, gi engine.GroupInfo, now time.Time) store.Group {
	g := store.Group{
		ChannelID: channelID, ID: gi.JID, Subject: gi.Subject, Description: gi.Description, Owner: gi.Owner,
		CreatedAt: gi.Created, Announce: gi.Announce, Locked: gi.Locked, UpdatedAt: now,
	}
	for _, p := range gi.Participants {
		if p.JID == "" {
			continue
		}
		g.Participants = append(g.Participants, store.GroupParticipant{UserID: p.JID, Rank: rankOf(p)})
	}
	return g
}

// participantContacts are the users of a group as contacts learned, but
// the account itself (self, a phone number).
func participantContacts(channelID string, g store.Group, now time.Time, self string) []store.Contact {
	var out []store.Contact
	for _, p := range g.Participants {
		if n := PhoneOf(p.UserID); n != "" && n != self {
			out = append(out, store.Contact{ChannelID: channelID, ID: p.UserID, UpdatedAt: now})
		}
	}
	return out
}

// keepGroup stores a group the engine reported, names its chat after it and
// records its participants (but self) as contacts.
func (s *Service) keepGroup(ctx context.Context, ch model.Channel, g store.Group, self string) error {
	defer s.wake() // webhook deliveries of the change
	g = replaceNUL(g)
	if err := s.store.SaveGroup(ctx, g, s.savedGroupHooks(ctx, ch, nil)); err != nil {
		return err
	}
	if err := s.ensureChat(ctx, ch, g.ID, g.Subject); err != nil {
		return err
	}
	return s.saveContacts(ctx, ch, participantContacts(g.ChannelID, g, g.UpdatedAt, self))
}

// groupSession is the session of a channel for a group action, after the
// group ID is checked.
func (s *Service) groupSession(ch model.Channel, rawID string) (engine.Session, string, error) {
	jid, err := GroupID("GroupID", rawID)
	if err != nil {
		return nil, "", err
	}
	sess, err := s.session(ch)
	return sess, jid, err
}

// cannotReach reports whether an error only means the channel cannot reach
// WhatsApp right now (stored data may answer instead).
func cannotReach(err error) bool { return errors.Is(err, model.ErrUnavailable) }

// Groups lists the groups the channel's account is in. A connected channel
// asks WhatsApp and stores the answer; one that cannot reach WhatsApp right
// now answers what it stored.
func (s *Service) Groups(ctx context.Context, ch model.Channel, p Page) ([]store.Group, int, error) {
	if err := s.syncGroups(ctx, ch); err != nil && !cannotReach(err) {
		return nil, 0, err
	}
	return s.store.Groups(ctx, ch.ID, p.Count, p.Offset)
}

func (s *Service) syncGroups(ctx context.Context, ch model.Channel) error {
	sess, err := s.session(ch)
	if err != nil {
		return err
	}
	infos, err := sess.Groups(ctx)
	if err != nil {
		return s.actionError(ch, err)
	}
	now := s.now()
	gs := make([]store.Group, 0, len(infos))
	var contacts []store.Contact
	for _, gi := range infos {
		g := groupRecord(ch.ID, gi, now)
		gs = append(gs, g)
		contacts = append(contacts, participantContacts(ch.ID, g, now, selfPhone(ch, sess))...)
	}
	if err := s.store.ReplaceGroups(ctx, ch.ID, gs); err != nil {
		return err
	}
	for _, g := range gs {
		if err := s.ensureChat(ctx, ch, g.ID, g.Subject); err != nil {
			return err
		}
	}
	return s.saveContacts(ctx, ch, contacts)
}

// Group reads one group the channel's account is in, from WhatsApp when
// the channel is connected (the answer is stored), else as stored.
func (s *Service) Group(ctx context.Context, ch model.Channel, rawID string) (store.Group, error) {
	sess, jid, err := s.groupSession(ch, rawID)
	if err != nil {
		if jid != "" && cannotReach(err) {
			return s.groupAsStored(ctx, ch, jid)
		}
		return store.Group{}, err
	}
	gi, err := sess.Group(ctx, jid)
	if errors.Is(err, engine.ErrGroupNotFound) {
		// Not (or no longer) in it: forget what was stored.
		if derr := s.store.DeleteGroup(ctx, ch.ID, jid); derr != nil && !errors.Is(derr, store.ErrGroupNotFound) {
			return store.Group{}, derr
		}
	}
	if err != nil {
		if err = s.actionError(ch, err); cannotReach(err) {
			return s.groupAsStored(ctx, ch, jid)
		}
		return store.Group{}, err
	}
	if gi.JID == "" {
		gi.JID = jid
	}
	g := groupRecord(ch.ID, gi, s.now())
	if err := s.keepGroup(ctx, ch, g, selfPhone(ch, sess)); err != nil {
		return store.Group{}, err
	}
	return s.store.Group(ctx, ch.ID, g.ID)
}

func (s *Service) groupAsStored(ctx context.Context, ch model.Channel, jid string) (store.Group, error) {
	g, err := s.store.Group(ctx, ch.ID, jid)
	if errors.Is(err, store.ErrGroupNotFound) {
		return g, fmt.Errorf("group %s not found (or the channel is not in it): %w", jid, model.ErrNotFound)
	}
	return g, err
}

// participantIDs checks a list of participants (phone numbers or user
// JIDs): 1 to MaxGroupParticipants, none twice, not the account itself. It
// returns their JIDs in order.
func participantIDs(field string, raw []string, self string) ([]string, error) {
	if len(raw) == 0 {
		return nil, invalid(field, "is required: at least one phone number or user ID")
	}
	if len(raw) > MaxGroupParticipants {
		return nil, invalid(field, "must have at most %d entries (got %d)", MaxGroupParticipants, len(raw))
	}
	out := make([]string, 0, len(raw))
	seen := make(map[string]int, len(raw))
	for i, r := range raw {
		f := fmt.Sprintf("%s[%d]", field, i)
		jid, err := UserID(f, r)
		if err != nil {
			return nil, err
		}
		if j, dup := seen[jid]; dup {
			return nil, invalid(f, "%q is the same user as %s[%d]", r, field, j)
		}
		if self != "" && PhoneOf(jid) == self {
			return nil, invalid(f, "%q is the channel's own number", r)
		}
		seen[jid] = i
		out = append(out, jid)
	}
	return out, nil
}

// selfPhone is the number of a channel's linked account ("" when unknown).
func selfPhone(ch model.Channel, sess engine.Session) string {
	if sess != nil {
		if p := sess.Self().Phone; p != "" {
			return p
		}
	}
	return ch.WAPhone
}

// checkSubject validates a group subject (1 to 100 characters).
func checkSubject(v string) error { return checkText("subject", v, true, MaxGroupSubject) }

// CreateGroup creates a group with the channel's account as its creator
// and some participants (phone numbers or user JIDs). Participants
// WhatsApp did not add are reported, not an error.
func (s *Service) CreateGroup(ctx context.Context, ch model.Channel, subject string, participants []string) (GroupCreated, error) {
	if err := checkSubject(subject); err != nil {
		return GroupCreated{}, err
	}
	jids, err := participantIDs("participants", participants, ch.WAPhone)
	if err != nil {
		return GroupCreated{}, err
	}
	sess, err := s.session(ch)
	if err != nil {
		return GroupCreated{}, err
	}
	if self := selfPhone(ch, sess); self != ch.WAPhone {
		if jids, err = participantIDs("participants", participants, self); err != nil {
			return GroupCreated{}, err
		}
	}
	gi, err := sess.CreateGroup(ctx, subject, jids)
	if err != nil {
		return GroupCreated{}, s.actionError(ch, err)
	}
	now := s.now()
	g := groupRecord(ch.ID, gi, now)
	if g.Subject == "" {
		g.Subject = subject
	}
	if g.CreatedAt.IsZero() {
		g.CreatedAt = now
	}
	g.SubjectAt = g.CreatedAt
	if g.Owner == "" {
		if self := selfPhone(ch, sess); self != "" {
			g.Owner = self + "@" + UserServer
		}
	}
	if err := s.keepGroup(ctx, ch, g, selfPhone(ch, sess)); err != nil {
		return GroupCreated{}, err
	}
	stored, err := s.store.Group(ctx, ch.ID, g.ID)
	if err != nil {
		return GroupCreated{}, err
	}
	out := GroupCreated{Group: stored, Unprocessed: []string{}}
	for _, j := range jids {
		if _, ok := stored.Participant(j); !ok {
			out.Unprocessed = append(out.Unprocessed, j)
		}
	}
	s.log.InfoContext(ctx, "group created", "channel_id", ch.ID, "group", g.ID, "participants", len(jids), "unprocessed", len(out.Unprocessed))
	return out, nil
}

// inviteCodeRE is an invite code: WhatsApp's are 22 letters and digits.
var inviteCodeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{6,64}$`)

// InviteCode checks an invite code, or the link it ends (like
// https://chat.whatsapp.com/AbC...); field names it in errors.
func InviteCode(field, raw string) (string, error) {
	v := strings.TrimSpace(raw)
	for _, p := range []string{"https://chat.whatsapp.com/", "http://chat.whatsapp.com/", "chat.whatsapp.com/"} {
		v = strings.TrimPrefix(v, p)
	}
	v = strings.TrimPrefix(v, "invite/")
	if v == "" {
		return "", invalid(field, "is required: the code of a group invite link")
	}
	if !inviteCodeRE.MatchString(v) {
		return "", invalid(field, "%q is not an invite code (letters and digits, as at the end of a chat.whatsapp.com link)", raw)
	}
	return v, nil
}

// JoinGroup joins the group of an invite code and returns its JID.
func (s *Service) JoinGroup(ctx context.Context, ch model.Channel, rawCode string) (string, error) {
	code, err := InviteCode("invite_code", rawCode)
	if err != nil {
		return "", err
	}
	sess, err := s.session(ch)
	if err != nil {
		return "", err
	}
	jid, err := sess.JoinGroup(ctx, code)
	if err != nil {
		return "", s.actionError(ch, err)
	}
	// Store the group when WhatsApp tells what it is; it is listed anyway
	// on the next GET /groups.
	if gi, gerr := sess.Group(ctx, jid); gerr == nil {
		if gi.JID == "" {
			gi.JID = jid
		}
		if err := s.keepGroup(ctx, ch, groupRecord(ch.ID, gi, s.now()), selfPhone(ch, sess)); err != nil {
			return "", err
		}
	} else if err := s.ensureChat(ctx, ch, jid, ""); err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "group joined", "channel_id", ch.ID, "group", jid)
	return jid, nil
}

// GroupByInvite previews the group an invite code leads to (not stored:
// the channel is not in it yet).
func (s *Service) GroupByInvite(ctx context.Context, ch model.Channel, rawCode string) (store.Group, error) {
	code, err := InviteCode("InviteCode", rawCode)
	if err != nil {
		return store.Group{}, err
	}
	sess, err := s.session(ch)
	if err != nil {
		return store.Group{}, err
	}
	gi, err := sess.GroupByInvite(ctx, code)
	if err != nil {
		return store.Group{}, s.actionError(ch, err)
	}
	g := groupRecord(ch.ID, gi, s.now())
	g.InviteCode = code
	return g, nil
}

// GroupInfoUpdate changes a group's subject and/or description; nil fields
// stay, an empty description removes it.
type GroupInfoUpdate struct {
	Subject     *string
	Description *string
}

// UpdateGroupInfo changes a group's subject (1 to 100 characters) and/or
// description (up to 2048). Both are checked before WhatsApp is asked.
func (s *Service) UpdateGroupInfo(ctx context.Context, ch model.Channel, rawID string, u GroupInfoUpdate) error {
	defer s.wake() // webhook deliveries of the change
	jid, err := GroupID("GroupID", rawID)
	if err != nil {
		return err
	}
	if u.Subject == nil && u.Description == nil {
		return invalid("subject", "nothing to change: send subject and/or description")
	}
	if u.Subject != nil {
		if err := checkSubject(*u.Subject); err != nil {
			return err
		}
	}
	if u.Description != nil {
		if err := checkDescription(*u.Description); err != nil {
			return err
		}
	}
	sess, err := s.session(ch)
	if err != nil {
		return err
	}
	if u.Subject != nil {
		if err := sess.SetGroupSubject(ctx, jid, *u.Subject); err != nil {
			return s.actionError(ch, err)
		}
	}
	if u.Description != nil {
		if err := sess.SetGroupDescription(ctx, jid, *u.Description); err != nil {
			return s.actionError(ch, err)
		}
	}
	now := s.now()
	_, err = s.store.UpdateGroup(ctx, ch.ID, jid, func(g *store.Group) error {
		if u.Subject != nil {
			g.Subject, g.SubjectAt = *u.Subject, now
		}
		if u.Description != nil {
			g.Description = *u.Description
		}
		g.UpdatedAt = now
		return nil
	}, s.groupHooks(ctx, ch, nil))
	if err != nil && !errors.Is(err, store.ErrGroupNotFound) {
		return err
	}
	if u.Subject != nil {
		return s.ensureChat(ctx, ch, jid, *u.Subject)
	}
	return nil
}

// checkDescription validates a group description: up to 2048 characters;
// line breaks and tabs are allowed, other control characters are not.
func checkDescription(v string) error {
	return checkText("description", strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(v), false, MaxGroupDescription)
}

// Group settings and their policies (PATCH /groups/{GroupID}).
var (
	groupSettings = []string{"send_messages", "edit_group_info", "approve_participants", "add_participants"}
	groupPolicies = []string{"anyone", "admins"}
)

// UpdateGroupSetting changes who may send or edit a group. The input is
// checked, but no engine can change group settings yet: 501.
func (s *Service) UpdateGroupSetting(ctx context.Context, ch model.Channel, rawID, setting, policy string) error {
	return s.ApplyGroupSetting(ctx, ch, rawID, setting, policy)
}

// LeaveGroup leaves a group; the channel forgets it.
func (s *Service) LeaveGroup(ctx context.Context, ch model.Channel, rawID string) error {
	sess, jid, err := s.groupSession(ch, rawID)
	if err != nil {
		return err
	}
	if err := sess.LeaveGroup(ctx, jid); err != nil {
		return s.actionError(ch, err)
	}
	left := engine.GroupChange{Group: jid, Action: "leave", Actor: s.selfJID(ch), Participants: []string{s.selfJID(ch)}, Time: s.now()}
	if err := s.store.DeleteGroup(ctx, ch.ID, jid, s.groupLeftHooks(ctx, ch, left)...); err != nil && !errors.Is(err, store.ErrGroupNotFound) {
		return err
	}
	s.wake()
	s.log.InfoContext(ctx, "group left", "channel_id", ch.ID, "group", jid)
	return nil
}

// GroupInvite returns a group's invite code (admins only); reset revokes
// the old one first and returns the new one.
func (s *Service) GroupInvite(ctx context.Context, ch model.Channel, rawID string, reset bool) (string, error) {
	defer s.wake() // webhook deliveries of the change
	sess, jid, err := s.groupSession(ch, rawID)
	if err != nil {
		return "", err
	}
	code, err := sess.GroupInvite(ctx, jid, reset)
	if err != nil {
		return "", s.actionError(ch, err)
	}
	_, err = s.store.UpdateGroup(ctx, ch.ID, jid, func(g *store.Group) error {
		g.InviteCode, g.UpdatedAt = code, s.now()
		return nil
	}, s.groupHooks(ctx, ch, nil))
	if err != nil && !errors.Is(err, store.ErrGroupNotFound) {
		return "", err
	}
	return code, nil
}

// UpdateGroupParticipants adds, removes, promotes or demotes participants
// (phone numbers or user JIDs) of a group. Each one's outcome is reported;
// the stored group follows the ones that worked.
func (s *Service) UpdateGroupParticipants(ctx context.Context, ch model.Channel, rawID string, participants []string, action engine.ParticipantAction) (ParticipantsResult, error) {
	defer s.wake() // webhook deliveries of the change
	jid, err := GroupID("GroupID", rawID)
	if err != nil {
		return ParticipantsResult{}, err
	}
	users, err := participantIDs("participants", participants, ch.WAPhone)
	if err != nil {
		return ParticipantsResult{}, err
	}
	sess, err := s.session(ch)
	if err != nil {
		return ParticipantsResult{}, err
	}
	results, err := sess.UpdateParticipants(ctx, jid, users, action)
	if err != nil {
		return ParticipantsResult{}, s.actionError(ch, err)
	}
	byJID := make(map[string]engine.ParticipantResult, len(results))
	for _, r := range results {
		byJID[r.JID] = r
	}
	out := ParticipantsResult{Processed: []string{}, Failed: []string{}, Reasons: map[string]string{}}
	for i, u := range users {
		r, ok := byJID[u]
		if !ok && len(results) == len(users) && results[i].JID == "" {
			r, ok = results[i], true
		}
		switch {
		case !ok:
			out.Failed = append(out.Failed, u)
			out.Reasons[u] = "WhatsApp did not answer for this participant"
		case r.Error != "":
			out.Failed = append(out.Failed, u)
			out.Reasons[u] = r.Error
		default:
			out.Processed = append(out.Processed, u)
		}
	}
	if len(out.Processed) > 0 {
		now := s.now()
		change := engine.GroupChange{Group: jid, Actor: s.selfJID(ch), Action: string(action), Participants: out.Processed, Time: now}
		_, err = s.store.UpdateGroup(ctx, ch.ID, jid, func(g *store.Group) error {
			applyParticipants(g, string(action), out.Processed)
			g.UpdatedAt = now
			return nil
		}, s.groupHooks(ctx, ch, &change))
		if err != nil && !errors.Is(err, store.ErrGroupNotFound) {
			return out, err
		}
		if action == engine.ParticipantAdd {
			var cs []store.Contact
			for _, u := range out.Processed {
				cs = append(cs, store.Contact{ChannelID: ch.ID, ID: u, UpdatedAt: now})
			}
			if err := s.saveContacts(ctx, ch, cs); err != nil {
				return out, err
			}
		}
	}
	s.log.InfoContext(ctx, "group participants changed", "channel_id", ch.ID, "group", jid, "action", action,
		"processed", len(out.Processed), "failed", len(out.Failed))
	return out, nil
}

// applyParticipants applies a participant change ("add", "join",
// "remove", "leave", "promote", "demote") to a stored group.
func applyParticipants(g *store.Group, action string, users []string) {
	for _, u := range users {
		p, in := g.Participant(u)
		switch action {
		case "add", "join":
			if !in {
				g.SetParticipant(u, store.RankMember)
			}
		case "remove", "leave":
			g.RemoveParticipant(u)
		case "promote":
			if !in || p.Rank != store.RankCreator {
				g.SetParticipant(u, store.RankAdmin)
			}
		case "demote":
			if !in || p.Rank != store.RankCreator {
				g.SetParticipant(u, store.RankMember)
			}
		}
	}
}

// GroupIcon is a picture for a group: bytes (JPEG or PNG) given in the
// body, or Media: a URL, a base64 data URI, bare base64 or a media ID.
type GroupIcon struct {
	Data     []byte
	MimeType string
	Media    string
}

// SetGroupIcon changes a group's picture (admins only). JPEG and PNG are
// accepted (415 otherwise), up to MaxGroupIconSize (413); the picture is
// cut to a centred square and sent as a JPEG of at most 640x640.
func (s *Service) SetGroupIcon(ctx context.Context, ch model.Channel, rawID string, icon GroupIcon) error {
	jid, err := GroupID("GroupID", rawID)
	if err != nil {
		return err
	}
	data := icon.Data
	if data == nil {
		if strings.TrimSpace(icon.Media) == "" {
			return invalid("media", "is required: a URL, a base64 data URI, base64 or a media ID of a JPEG or PNG picture")
		}
		up, err := s.resolveMedia(ctx, ch, engine.KindImage, icon.Media, nil, icon.MimeType)
		if err != nil {
			return err
		}
		data = up.Data
	}
	jpegData, err := groupIconJPEG(data)
	if err != nil {
		return err
	}
	sess, err := s.session(ch)
	if err != nil {
		return err
	}
	if err := sess.SetGroupPhoto(ctx, jid, jpegData); err != nil {
		return s.actionError(ch, err)
	}
	s.log.InfoContext(ctx, "group icon set", "channel_id", ch.ID, "group", jid, "bytes", len(jpegData))
	return nil
}

// DeleteGroupIcon removes a group's picture (admins only).
func (s *Service) DeleteGroupIcon(ctx context.Context, ch model.Channel, rawID string) error {
	sess, jid, err := s.groupSession(ch, rawID)
	if err != nil {
		return err
	}
	return s.actionError(ch, sess.SetGroupPhoto(ctx, jid, nil))
}

// groupIconJPEG checks a picture (JPEG or PNG, by its content) and makes
// the square JPEG WhatsApp wants of it.
func groupIconJPEG(data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, invalid("media", "the picture is empty")
	}
	if len(data) > MaxGroupIconSize {
		return nil, fmt.Errorf("a group icon may be at most %d bytes (got %d): %w", MaxGroupIconSize, len(data), model.ErrTooLarge)
	}
	switch ct := http.DetectContentType(data); ct {
	case "image/jpeg", "image/png":
	default:
		return nil, fmt.Errorf("a group icon must be a JPEG or PNG picture, not %s: %w", ct, model.ErrUnsupportedMedia)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, invalid("media", "the picture does not decode: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxGroupIconPixels {
		return nil, fmt.Errorf("a group icon may have at most %d pixels (got %dx%d): %w", maxGroupIconPixels, cfg.Width, cfg.Height, model.ErrTooLarge)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, invalid("media", "the picture does not decode: %v", err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, squareIcon(img, groupIconSide), &jpeg.Options{Quality: 85}); err != nil {
		return nil, fmt.Errorf("encode group icon: %w", err)
	}
	return buf.Bytes(), nil
}

// squareIcon cuts the centred square of img, on white (transparent areas
// become white, as on WhatsApp), and scales it down to at most side x
// side, averaging the source pixels each target pixel covers.
func squareIcon(img image.Image, side int) *image.RGBA {
	b := img.Bounds()
	n := min(b.Dx(), b.Dy())
	src := image.NewRGBA(image.Rect(0, 0, n, n))
	draw.Draw(src, src.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(src, src.Bounds(), img, image.Pt(b.Min.X+(b.Dx()-n)/2, b.Min.Y+(b.Dy()-n)/2), draw.Over)
	if n <= side {
		return src
	}
	dst := image.NewRGBA(image.Rect(0, 0, side, side))
	for y := range side {
		sy0, sy1 := y*n/side, (y+1)*n/side
		for x := range side {
			sx0, sx1 := x*n/side, (x+1)*n/side
			var sum [3]int
			for sy := sy0; sy < sy1; sy++ {
				row := src.Pix[sy*src.Stride+sx0*4 : sy*src.Stride+sx1*4]
				for i := 0; i < len(row); i += 4 {
					sum[0], sum[1], sum[2] = sum[0]+int(row[i]), sum[1]+int(row[i+1]), sum[2]+int(row[i+2])
				}
			}
			cnt := (sy1 - sy0) * (sx1 - sx0)
			o := y*dst.Stride + x*4
			dst.Pix[o], dst.Pix[o+1], dst.Pix[o+2], dst.Pix[o+3] = uint8(sum[0]/cnt), uint8(sum[1]/cnt), uint8(sum[2]/cnt), 0xff
		}
	}
	return dst
}

// ingestGroupChange keeps the stored groups current with what WhatsApp
// reports: new groups, participants coming and going, new subjects and
// descriptions. A group the channel has not stored yet is stored with what
// the event tells; the next GET /groups fills it in.
func (s *Service) ingestGroupChange(ctx context.Context, ch model.Channel, e engine.GroupChange) error {
	defer s.wake() // webhook deliveries of the change
	jid := e.Group
	if !IsGroup(jid) {
		return nil
	}
	now := s.now()
	at := e.Time
	if at.IsZero() {
		at = now
	}
	self := ""
	if ch.WAPhone != "" {
		self = ch.WAPhone + "@" + UserServer
	}
	selfAffected := self != "" && slices.Contains(e.Participants, self)
	switch e.Action {
	case "leave", "remove":
		if selfAffected {
			if err := s.store.DeleteGroup(ctx, ch.ID, jid, s.groupLeftHooks(ctx, ch, e)...); err != nil && !errors.Is(err, store.ErrGroupNotFound) {
				return err
			}
			return nil
		}
	case "settings":
		return nil // the event does not say which setting; GET /groups/{GroupID} reads it
	}
	g, err := s.store.UpdateGroup(ctx, ch.ID, jid, func(g *store.Group) error {
		applyGroupChange(g, e, at)
		g.UpdatedAt = now
		return nil
	}, s.groupHooks(ctx, ch, &e))
	if errors.Is(err, store.ErrGroupNotFound) {
		if e.Action == "leave" || e.Action == "remove" {
			return nil
		}
		g = store.Group{ChannelID: ch.ID, ID: jid, UpdatedAt: now}
		if e.Action == "create" {
			g.CreatedAt, g.Owner = at, e.Actor
		}
		applyGroupChange(&g, e, at)
		err = s.store.SaveGroup(ctx, g, s.savedGroupHooks(ctx, ch, &e))
	}
	if err != nil {
		return err
	}
	if err := s.ensureChat(ctx, ch, jid, g.Subject); err != nil {
		return err
	}
	var cs []store.Contact
	for _, u := range append([]string{e.Actor}, e.Participants...) {
		if PhoneOf(u) != "" && u != self {
			cs = append(cs, store.Contact{ChannelID: ch.ID, ID: u, UpdatedAt: now})
		}
	}
	return s.saveContacts(ctx, ch, cs)
}

// applyGroupChange applies a GroupChange event to a stored group.
func applyGroupChange(g *store.Group, e engine.GroupChange, at time.Time) {
	switch e.Action {
	case "create":
		if e.Subject != "" {
			g.Subject, g.SubjectAt = e.Subject, at
		}
		if PhoneOf(e.Actor) != "" {
			if _, in := g.Participant(e.Actor); !in {
				g.SetParticipant(e.Actor, store.RankCreator)
			}
		}
		applyParticipants(g, "add", e.Participants)
	case "subject":
		g.Subject, g.SubjectAt = e.Subject, at
	case "description":
		g.Description = e.Description
	default:
		if e.Subject != "" && g.Subject == "" {
			g.Subject = e.Subject
		}
		applyParticipants(g, e.Action, e.Participants)
	}
}
