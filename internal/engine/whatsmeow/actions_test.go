package whatsmeow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/fakewa"
	"github.com/wagate/wagate/internal/store/storetest"
)

// actorCalls calls every engine.Actor method with valid arguments.
func actorCalls() map[string]func(context.Context, engine.Session) error {
	bob := "15557654321@s.whatsapp.net"
	group := "120363025246125486@g.us"
	media := &engine.Media{Data: []byte("jpeg"), MimeType: "image/jpeg"}
	return map[string]func(context.Context, engine.Session) error{
		"Send text": func(ctx context.Context, s engine.Session) error {
			_, err := s.Send(ctx, bob, engine.Content{Text: "hi"})
			return err
		},
		"Send image": func(ctx context.Context, s engine.Session) error {
			_, err := s.Send(ctx, bob, engine.Content{Kind: engine.KindImage, Media: media})
			return err
		},
		"Send poll": func(ctx context.Context, s engine.Session) error {
			_, err := s.Send(ctx, group, engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "q", Options: []string{"a", "b"}}})
			return err
		},
		"React":       func(ctx context.Context, s engine.Session) error { return s.React(ctx, bob, bob, "ID1", "👍") },
		"Revoke":      func(ctx context.Context, s engine.Session) error { return s.Revoke(ctx, bob, "", "ID1") },
		"SetPresence": func(ctx context.Context, s engine.Session) error { return s.SetPresence(ctx, true) },
		"SendChatPresence": func(ctx context.Context, s engine.Session) error {
			return s.SendChatPresence(ctx, bob, engine.PresenceTyping)
		},
		"SubscribePresence": func(ctx context.Context, s engine.Session) error { return s.SubscribePresence(ctx, bob) },
		"CheckNumbers": func(ctx context.Context, s engine.Session) error {
			_, err := s.CheckNumbers(ctx, []string{"15557654321"})
			return err
		},
		"UserProfile": func(ctx context.Context, s engine.Session) error { _, err := s.UserProfile(ctx, bob); return err },
		"CreateGroup": func(ctx context.Context, s engine.Session) error {
			_, err := s.CreateGroup(ctx, "Team", []string{bob})
			return err
		},
		"Groups":          func(ctx context.Context, s engine.Session) error { _, err := s.Groups(ctx); return err },
		"Group":           func(ctx context.Context, s engine.Session) error { _, err := s.Group(ctx, group); return err },
		"SetGroupSubject": func(ctx context.Context, s engine.Session) error { return s.SetGroupSubject(ctx, group, "New") },
		"SetGroupDescription": func(ctx context.Context, s engine.Session) error {
			return s.SetGroupDescription(ctx, group, "About")
		},
		"SetGroupPhoto": func(ctx context.Context, s engine.Session) error {
			return s.SetGroupPhoto(ctx, group, []byte{0xff, 0xd8})
		},
		"UpdateParticipants": func(ctx context.Context, s engine.Session) error {
			_, err := s.UpdateParticipants(ctx, group, []string{bob}, engine.ParticipantAdd)
			return err
		},
		"LeaveGroup": func(ctx context.Context, s engine.Session) error { return s.LeaveGroup(ctx, group) },
		"GroupInvite": func(ctx context.Context, s engine.Session) error {
			_, err := s.GroupInvite(ctx, group, false)
			return err
		},
		"GroupByInvite": func(ctx context.Context, s engine.Session) error {
			_, err := s.GroupByInvite(ctx, "AbCdEf")
			return err
		},
		"JoinGroup": func(ctx context.Context, s engine.Session) error {
			_, err := s.JoinGroup(ctx, "https://chat.whatsapp.com/AbCdEf")
			return err
		},
	}
}

// Offline, every action fails cleanly and at once: ErrNotLinked without a
// device, ErrNotConnected with one (uploads and group IQs included).
func TestActorOffline(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	unlinked, err := e.Open(ctx, engine.SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	linked, err := e.Open(ctx, engine.SessionConfig{Device: storeDevice(t, e, "15551234567", 3)})
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range actorCalls() {
		start := time.Now()
		if err := call(ctx, unlinked); !errors.Is(err, engine.ErrNotLinked) {
			t.Errorf("%s unlinked: %v, want ErrNotLinked", name, err)
		}
		if err := call(ctx, linked); !errors.Is(err, engine.ErrNotConnected) {
			t.Errorf("%s offline: %v, want ErrNotConnected", name, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s took %s offline", name, d)
		}
	}
	// A closed session too.
	linked.Close()
	if _, err := linked.Send(ctx, "15557654321", engine.Content{Text: "hi"}); !errors.Is(err, engine.ErrNotConnected) {
		t.Errorf("Send after Close: %v", err)
	}
}

// Bad input is refused before the connection is looked at.
func TestActorRejectsBadInput(t *testing.T) {
	st := storetest.Open(t, storetest.Backends(t)[0])
	e := newEngine(t, st, Options{})
	ctx := context.Background()
	s, err := e.Open(ctx, engine.SessionConfig{Device: storeDevice(t, e, "15551234567", 3)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cases := map[string]struct {
		err  error
		call func() error
	}{
		"Send to a bad chat":    {engine.ErrInvalidPhone, func() error { _, err := s.Send(ctx, "12", engine.Content{Text: "x"}); return err }},
		"Send empty text":       {ErrInvalidContent, func() error { _, err := s.Send(ctx, "15557654321", engine.Content{}); return err }},
		"Send unknown kind":     {engine.ErrUnsupported, func() error { _, err := s.Send(ctx, "15557654321", engine.Content{Kind: "buttons"}); return err }},
		"React without an ID":   {ErrInvalidContent, func() error { return s.React(ctx, "15557654321", "", " ", "👍") }},
		"React bad sender":      {engine.ErrInvalidPhone, func() error { return s.React(ctx, "15557654321", "x@y", "ID", "👍") }},
		"Revoke bad chat":       {engine.ErrInvalidPhone, func() error { return s.Revoke(ctx, "nope", "", "ID") }},
		"bad chat presence":     {ErrInvalidContent, func() error { return s.SendChatPresence(ctx, "15557654321", engine.PresenceOnline) }},
		"subscribe to nobody":   {engine.ErrInvalidPhone, func() error { return s.SubscribePresence(ctx, "") }},
		"profile of a group":    {engine.ErrInvalidPhone, func() error { _, err := s.UserProfile(ctx, "120363025246125486@g.us"); return err }},
		"group with a bad user": {engine.ErrInvalidPhone, func() error { _, err := s.CreateGroup(ctx, "T", []string{"abc"}); return err }},
		"group without subject": {ErrInvalidContent, func() error { _, err := s.CreateGroup(ctx, " ", nil); return err }},
		"Group of a user":       {engine.ErrInvalidPhone, func() error { _, err := s.Group(ctx, "15557654321@s.whatsapp.net"); return err }},
		"empty subject":         {ErrInvalidContent, func() error { return s.SetGroupSubject(ctx, "120363025246125486", "") }},
		"unknown action": {engine.ErrUnsupported, func() error {
			_, err := s.UpdateParticipants(ctx, "120363025246125486@g.us", []string{"15557654321"}, "ban")
			return err
		}},
		"no participants": {engine.ErrInvalidPhone, func() error {
			_, err := s.UpdateParticipants(ctx, "120363025246125486@g.us", nil, engine.ParticipantAdd)
			return err
		}},
		"empty invite":     {engine.ErrInviteNotFound, func() error { _, err := s.JoinGroup(ctx, "https://chat.whatsapp.com/"); return err }},
		"malformed invite": {engine.ErrInviteNotFound, func() error { _, err := s.GroupByInvite(ctx, "a/b"); return err }},
	}
	for name, tc := range cases {
		if err := tc.call(); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", name, err, tc.err)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	iq := func(code int, text string) error { return &wm.IQError{Code: code, Text: text} }
	wrapped := func(err error) error { return fmt.Errorf("failed to get group members: %w", err) }
	cases := []struct {
		name string
		got  error
		want error
	}{
		{"not connected", mapSendErr(wm.ErrNotConnected), engine.ErrNotConnected},
		{"not logged in", mapSendErr(wm.ErrNotLoggedIn), engine.ErrNotConnected},
		{"disconnected during IQ", mapSendErr(&wm.DisconnectedError{Action: "info query"}), engine.ErrNotConnected},
		{"disconnected during send", mapSendErr(fmt.Errorf("x: %w", &wm.DisconnectedError{Action: "message send"})), engine.ErrNotConnected},
		{"media conn offline", mapSendErr(fmt.Errorf("failed to refresh media connections: %w", fmt.Errorf("failed to query media connections: %w", wm.ErrNotConnected))), engine.ErrNotConnected},
		{"send to unknown group", sendErr(wrapped(iq(404, "item-not-found"))), engine.ErrGroupNotFound},
		{"send to group not in", sendErr(wrapped(fmt.Errorf("%w", wm.ErrNotInGroup))), engine.ErrGroupNotFound},
		{"group 404", groupErr(iq(404, "item-not-found")), engine.ErrGroupNotFound},
		{"group offline", groupErr(wm.ErrNotConnected), engine.ErrNotConnected},
		{"invite revoked", inviteErr(iq(410, "gone")), engine.ErrInviteNotFound},
		{"invite malformed", inviteErr(iq(406, "not-acceptable")), engine.ErrInviteNotFound},
		{"invite unknown", inviteErr(iq(404, "item-not-found")), engine.ErrInviteNotFound},
		{"invite offline", inviteErr(wm.ErrNotConnected), engine.ErrNotConnected},
	}
	for _, c := range cases {
		if !errors.Is(c.got, c.want) {
			t.Errorf("%s: %v does not match %v", c.name, c.got, c.want)
		}
	}
	// The original stays visible.
	if err := groupErr(iq(404, "item-not-found")); !errors.Is(err, wm.ErrIQNotFound) {
		t.Errorf("whatsmeow's error lost: %v", err)
	}
	for _, err := range []error{mapSendErr(iq(500, "internal-server-error")), groupErr(iq(403, "forbidden")), inviteErr(iq(500, "x")), sendErr(wm.ErrMessageTimedOut)} {
		for _, sentinel := range []error{engine.ErrNotConnected, engine.ErrGroupNotFound, engine.ErrInviteNotFound, engine.ErrNotAdmin} {
			if errors.Is(err, sentinel) {
				t.Errorf("%v mapped to %v", err, sentinel)
			}
		}
	}
}

func TestParticipantResults(t *testing.T) {
	bob := types.NewJID("15557654321", types.DefaultUserServer)
	carol := types.NewJID("15550001111", types.DefaultUserServer)
	dave := types.NewJID("15552223333", types.DefaultUserServer)
	erin := types.NewJID("15554445555", types.DefaultUserServer)
	daveLID := types.NewJID("77665544", types.HiddenUserServer)
	res := []types.GroupParticipant{
		{JID: carol, PhoneNumber: carol, Error: 403},
		{JID: types.NewJID("11223344", types.HiddenUserServer), PhoneNumber: bob}, // bob, answered by LID
		{JID: daveLID, LID: daveLID, Error: 409},                                  // dave, no number: matched in order
	}
	got := participantResults([]types.JID{bob, carol, dave, erin}, res, engine.ParticipantAdd)
	want := []engine.ParticipantResult{
		{JID: bob.String()},
		{JID: carol.String(), Error: "privacy settings (the user can only be invited)"},
		{JID: dave.String(), Error: "already a participant"},
		{JID: erin.String(), Error: "no answer from WhatsApp"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("results\n got %+v\nwant %+v", got, want)
	}
	for code, want := range map[int]string{0: "", 200: "", 404: "not a participant", 408: "recently left the group", 500: "group is full", 999: "refused by WhatsApp (999)"} {
		if got := participantError(code, engine.ParticipantRemove); got != want {
			t.Errorf("participantError(%d, remove) = %q, want %q", code, got, want)
		}
	}
	if got := participantError(404, engine.ParticipantAdd); got != "not on WhatsApp" {
		t.Errorf("404 on add: %q", got)
	}
}

func TestGroupInfoConversion(t *testing.T) {
	created := time.Unix(1700000000, 0)
	lid := types.NewJID("11223344", types.HiddenUserServer)
	g := &types.GroupInfo{
		JID: tGroup, OwnerJID: types.NewJID("99887766", types.HiddenUserServer), OwnerPN: tCarol,
		GroupName: types.GroupName{Name: "Team"}, GroupTopic: types.GroupTopic{Topic: "About"},
		GroupAnnounce: types.GroupAnnounce{IsAnnounce: true}, GroupLocked: types.GroupLocked{IsLocked: true},
		GroupCreated: created,
		Participants: []types.GroupParticipant{
			{JID: tCarol, PhoneNumber: tCarol, IsAdmin: true, IsSuperAdmin: true},
			{JID: lid, LID: lid, PhoneNumber: tBob, IsAdmin: true},
			{JID: types.NewJID("55667788", types.HiddenUserServer)},
			{JID: types.NewJID("15550009999", types.DefaultUserServer), Error: 403},
		},
	}
	want := engine.GroupInfo{
		JID: "120363025246125486@g.us", Subject: "Team", Description: "About", Owner: "15550001111@s.whatsapp.net",
		Created: created, Announce: true, Locked: true,
		Participants: []engine.Participant{
			{JID: "15550001111@s.whatsapp.net", Admin: true, SuperAdmin: true},
			{JID: "15557654321@s.whatsapp.net", Admin: true},
			{JID: "55667788@lid"},
		},
	}
	if got := groupInfo(g); !reflect.DeepEqual(got, want) {
		t.Fatalf("groupInfo\n got %+v\nwant %+v", got, want)
	}
	for in, want := range map[string]string{
		"AbCd":                           "AbCd",
		" https://chat.whatsapp.com/X1 ": "X1",
		"chat.whatsapp.com/Y2":           "Y2",
	} {
		if got, err := inviteCode(in); err != nil || got != want {
			t.Errorf("inviteCode(%q) = %q, %v", in, got, err)
		}
	}
	if g, err := parseGroup("120363025246125486"); err != nil || g != tGroup {
		t.Errorf("parseGroup digits: %v %v", g, err)
	}
}

// groupNode is a <group> as WhatsApp describes one.
func groupNode(jid types.JID, subject string, participants ...waBinary.Node) waBinary.Node {
	content := append([]waBinary.Node{
		{Tag: "description", Attrs: waBinary.Attrs{"id": "D1", "t": 1700000100, "participant": types.NewJID("15550001111", types.DefaultUserServer)},
			Content: []waBinary.Node{{Tag: "body", Content: []byte("About " + subject)}}},
		{Tag: "locked"},
	}, participants...)
	return waBinary.Node{Tag: "group", Attrs: waBinary.Attrs{
		"id": jid.User, "subject": subject, "creation": 1700000000, "creator": types.NewJID("15550001111", types.DefaultUserServer),
	}, Content: content}
}

func participantNode(jid types.JID, typ string, attrs ...any) waBinary.Node {
	a := waBinary.Attrs{"jid": jid}
	if typ != "" {
		a["type"] = typ
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		a[attrs[i].(string)] = attrs[i+1]
	}
	return waBinary.Node{Tag: "participant", Attrs: a}
}

// Every action against the fake server: the nodes whatsmeow sends for
// them, what a peer decrypts of every kind of message, the answers mapped
// back, errors of WhatsApp mapped to the engine's, uploads to and
// downloads from the media hosts, and incoming presences and group
// notifications parsed by whatsmeow.
func TestActorsOnline(t *testing.T) {
	w := newWorld(t, Options{})
	bobPeer, err := w.srv.AddPeer(fakewa.PeerOptions{Phone: "15557654321", PushName: "Bob", About: "Hey there"})
	if err != nil {
		t.Fatal(err)
	}
	w.srv.NotOnWhatsApp("15550000000")
	o := w.connectStored("15551234567", 3, engine.SessionConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 6*wait)
	defer cancel()
	evi := len(o.rec.all())

	me := types.NewJID("15551234567", types.DefaultUserServer)
	bobJID := bobPeer.JID()
	carolJID := types.NewJID("15550001111", types.DefaultUserServer)
	daveJID := types.NewJID("15552223333", types.DefaultUserServer)
	bob := bobJID.String()
	known := types.NewJID("120363025246125486", types.GroupServer)
	other := types.NewJID("120363999999999999", types.GroupServer)

	// send sends a content and returns the message node WhatsApp got.
	send := func(to string, cont engine.Content) (engine.SentMessage, *waBinary.Node) {
		t.Helper()
		sent, err := o.Send(ctx, to, cont)
		if err != nil {
			t.Fatalf("Send %s: %v", cont.Kind, err)
		}
		n, err := o.conn.WaitNode(ctx, func(n *waBinary.Node) bool { return n.Tag == "message" && n.Attrs["id"] == sent.ID })
		if err != nil {
			t.Fatal(err)
		}
		if sent.Chat != to || sent.Time.IsZero() || len(sent.Payload) == 0 {
			t.Fatalf("Send %s: %+v", cont.Kind, sent)
		}
		return sent, n
	}
	// message sends to bob and returns what bob decrypted.
	message := func(cont engine.Content) (engine.SentMessage, *waBinary.Node, *waE2E.Message) {
		t.Helper()
		sent, n := send(bob, cont)
		r, err := bobPeer.Wait(ctx, func(r fakewa.Received) bool { return r.ID == sent.ID })
		if err != nil || r.Err != nil {
			t.Fatalf("bob did not decrypt the %s: %v %v", cont.Kind, err, r.Err)
		}
		var kept waE2E.Message
		if err := proto.Unmarshal(sent.Payload, &kept); err != nil || !proto.Equal(&kept, r.Message) {
			t.Fatalf("%s: the payload kept (%v) is not what bob got (%v): %v", cont.Kind, &kept, r.Message, err)
		}
		return sent, n, r.Message
	}
	attr := func(n *waBinary.Node, k string) any { return n.Attrs[k] }
	nextMessage := func() *waBinary.Node {
		t.Helper()
		n, err := o.conn.WaitNode(ctx, fakewa.Tag("message", ""))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Text, then a reply to it quoting it.
	sent, n, got := message(engine.Content{Text: "hello"})
	if attr(n, "type") != "text" || attr(n, "edit") != nil || got.GetConversation() != "hello" {
		t.Fatalf("text node %s, bob got %v", n.XMLString(), got)
	}
	_, _, got = message(engine.Content{Text: "more", QuotedID: sent.ID, Mentions: []string{bob},
		Quoted: &engine.Content{Kind: engine.KindText, Text: "hello"}})
	if ci := got.GetExtendedTextMessage().GetContextInfo(); ci.GetStanzaID() != sent.ID || ci.GetQuotedMessage().GetConversation() != "hello" {
		t.Fatalf("reply: bob got %v", got)
	}

	// Reactions and revokes.
	if err := o.React(ctx, bob, bob, "THEIRS", "👍"); err != nil {
		t.Fatalf("React: %v", err)
	}
	if n := nextMessage(); attr(n, "type") != "reaction" || attr(n, "edit") != nil || attr(n, "to") != bobJID {
		t.Fatalf("reaction node %s", n.XMLString())
	}
	if err := o.React(ctx, bob, "", sent.ID, ""); err != nil {
		t.Fatalf("React remove: %v", err)
	}
	if n := nextMessage(); attr(n, "type") != "reaction" || attr(n, "edit") != "7" {
		t.Fatalf("reaction removal node %s", n.XMLString())
	}
	if err := o.Revoke(ctx, bob, "", sent.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if n := nextMessage(); attr(n, "edit") != "7" {
		t.Fatalf("revoke node %s", n.XMLString())
	}
	if _, n, got := message(engine.Content{Text: "hello!", EditedID: sent.ID}); attr(n, "edit") != "1" ||
		got.GetEditedMessage().GetMessage().GetProtocolMessage().GetEditedMessage().GetConversation() != "hello!" {
		t.Fatalf("edit node %s, bob got %v", n.XMLString(), got)
	}

	// Every other kind; files go through the media hosts, and bob can
	// fetch them.
	before := w.srv.MediaCount()
	file := bytes.Repeat([]byte("0123456789"), 500)
	for _, k := range []struct {
		c   engine.Content
		typ string
	}{
		{engine.Content{Kind: engine.KindImage, Text: "pic", Media: &engine.Media{Data: file}}, "media"},
		{engine.Content{Kind: engine.KindVideo, Media: &engine.Media{Data: file, Seconds: 2}}, "media"},
		{engine.Content{Kind: engine.KindGIF, Media: &engine.Media{Data: file}}, "media"},
		{engine.Content{Kind: engine.KindAudio, Media: &engine.Media{Data: file}}, "media"},
		{engine.Content{Kind: engine.KindVoice, Media: &engine.Media{Data: file}}, "media"},
		{engine.Content{Kind: engine.KindDocument, Text: "doc", Media: &engine.Media{Data: file, FileName: "f.bin"}}, "media"},
		{engine.Content{Kind: engine.KindSticker, Media: &engine.Media{Data: file}}, "media"},
		{engine.Content{Kind: engine.KindLocation, Location: &engine.Location{Latitude: 1, Longitude: 2}}, "text"},
		{engine.Content{Kind: engine.KindContact, Contact: &engine.ContactCard{VCard: "BEGIN:VCARD\nFN:C\nEND:VCARD"}}, "media"},
		{engine.Content{Kind: engine.KindLinkPreview, LinkPreview: &engine.LinkPreview{URL: "https://x.example", Title: "X"}}, "media"},
		{engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "q", Options: []string{"a", "b"}}}, "poll"},
	} {
		_, n, got := message(k.c)
		if attr(n, "type") != k.typ {
			t.Errorf("%s: message type %v, want %s", k.c.Kind, attr(n, "type"), k.typ)
		}
		// What bob decrypted decodes back to the kind sent (as whatsmeow
		// unwraps what it receives).
		back, ok := decodeContent((&events.Message{RawMessage: got}).UnwrapRaw(), nil)
		if !ok || back.Kind != k.c.Kind {
			t.Errorf("%s: bob got a %q (%v)", k.c.Kind, back.Kind, got)
		}
		if engine.IsMedia(k.c.Kind) {
			if back.Media == nil || back.Media.Size != int64(len(file)) {
				t.Errorf("%s: media %+v", k.c.Kind, back.Media)
			}
		}
	}
	if uploads := w.srv.MediaCount() - before; uploads != 7 {
		t.Errorf("%d uploads, want 7", uploads)
	}

	// Received files: Fetch downloads them later, by URL or by direct path
	// only; a file the media hosts dropped is ErrMessageUnknown.
	up, err := w.srv.Upload(file, wm.MediaDocument)
	if err != nil {
		t.Fatal(err)
	}
	doc := &waE2E.DocumentMessage{URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String("application/octet-stream"), FileName: proto.String("f.bin")}
	byPath := proto.Clone(doc).(*waE2E.DocumentMessage)
	byPath.URL = nil
	var fetches []func(context.Context) ([]byte, error)
	for _, d := range []*waE2E.DocumentMessage{doc, byPath} {
		in, err := bobPeer.Send(o.acct, &waE2E.Message{DocumentMessage: d})
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := o.rec.wait(t, evi, wait, func(ev engine.Event) bool { m, ok := ev.(engine.Message); return ok && m.ID == in.ID })
		m := ev.(engine.Message)
		if m.Content.Kind != engine.KindDocument || m.Content.Media == nil || m.Content.Media.Fetch == nil ||
			m.Content.Media.Size != int64(len(file)) || m.Content.Media.FileName != "f.bin" || m.PushName != "Bob" {
			t.Fatalf("received document %+v", m)
		}
		fetches = append(fetches, m.Content.Media.Fetch)
	}
	for i, fetch := range fetches {
		if data, err := fetch(ctx); err != nil || !bytes.Equal(data, file) {
			t.Errorf("Fetch #%d: %d bytes, %v", i, len(data), err)
		}
	}
	w.srv.ExpireMedia(up.DirectPath, 410)
	for i, fetch := range fetches {
		if _, err := fetch(ctx); !errors.Is(err, engine.ErrMessageUnknown) {
			t.Errorf("Fetch #%d of an expired file: %v", i, err)
		}
	}

	// Presences.
	if err := o.SendChatPresence(ctx, bob, engine.PresenceRecording); err != nil {
		t.Fatalf("SendChatPresence: %v", err)
	}
	if n, err := o.conn.WaitNode(ctx, fakewa.Tag("chatstate", "composing")); err != nil || n.GetChildren()[0].Attrs["media"] != "audio" || attr(n, "to") != bobJID {
		t.Fatalf("chatstate %v: %v", n, err)
	}
	if err := o.SetPresence(ctx, true); err != nil {
		t.Fatalf("SetPresence: %v", err)
	}
	if n, err := o.conn.WaitNode(ctx, fakewa.Tag("presence", "")); err != nil || attr(n, "type") != "available" || attr(n, "name") != "Alice" {
		t.Fatalf("presence %v: %v", n, err)
	}
	if err := o.SubscribePresence(ctx, bob); err != nil {
		t.Fatalf("SubscribePresence: %v", err)
	}
	if n, err := o.conn.WaitNode(ctx, fakewa.Tag("presence", "")); err != nil || attr(n, "type") != "subscribe" || attr(n, "to") != bobJID {
		t.Fatalf("subscribe %v: %v", n, err)
	}
	evi = len(o.rec.all())
	if err := o.conn.Send(waBinary.Node{Tag: "presence", Attrs: waBinary.Attrs{"from": bobJID, "type": "unavailable", "last": "1700000000"}}); err != nil {
		t.Fatal(err)
	}
	ev, evi := o.rec.wait(t, evi, wait, isType[engine.Presence])
	if p := ev.(engine.Presence); p != (engine.Presence{Chat: bob, User: bob, State: engine.PresenceOffline, LastSeen: time.Unix(1700000000, 0)}) {
		t.Fatalf("presence event %+v", p)
	}
	if err := o.conn.Send(waBinary.Node{Tag: "chatstate", Attrs: waBinary.Attrs{"from": bobJID}, Content: []waBinary.Node{{Tag: "composing"}}}); err != nil {
		t.Fatal(err)
	}
	ev, evi = o.rec.wait(t, evi+1, wait, isType[engine.Presence])
	if p := ev.(engine.Presence); p != (engine.Presence{Chat: bob, User: bob, State: engine.PresenceTyping}) {
		t.Fatalf("chat presence event %+v", p)
	}

	// Contacts: bob's about text comes from WhatsApp, his name from the
	// messages he sent.
	checks, err := o.CheckNumbers(ctx, []string{"+1 555 765-4321", "15550000000", "12", "15557654321"})
	if err != nil {
		t.Fatalf("CheckNumbers: %v", err)
	}
	wantChecks := []engine.NumberCheck{
		{Input: "+1 555 765-4321", JID: bob, Exists: true}, {Input: "15550000000"}, {Input: "12"}, {Input: "15557654321", JID: bob, Exists: true},
	}
	if !reflect.DeepEqual(checks, wantChecks) {
		t.Fatalf("CheckNumbers\n got %+v\nwant %+v", checks, wantChecks)
	}
	if p, err := o.UserProfile(ctx, bob); err != nil || p != (engine.Profile{Name: "Bob", About: "Hey there", Picture: "https://mmg.whatsapp.net/v/pic.jpg"}) {
		t.Fatalf("UserProfile = %+v, %v", p, err)
	}

	// Groups: the server knows one group, where the account is a plain
	// member.
	var (
		iqMu sync.Mutex
		iqs  = map[string]*waBinary.Node{}
	)
	members := []waBinary.Node{
		participantNode(carolJID, "superadmin"), participantNode(me, ""),
		participantNode(types.NewJID("11223344", types.HiddenUserServer), "admin", "phone_number", bobJID),
	}
	w.srv.HandleIQ(func(_ *fakewa.Conn, n *waBinary.Node) (waBinary.Node, bool) {
		to, _ := n.Attrs["to"].(types.JID)
		typ, _ := n.Attrs["type"].(string)
		if n.Attrs["xmlns"] == "w:profile:picture" && typ == "set" {
			if n.Attrs["target"] != known {
				return fakewa.IQError(401, "not-authorized"), true
			}
			return fakewa.IQResult(waBinary.Node{Tag: "picture", Attrs: waBinary.Attrs{"id": "PIC1"}}), true
		}
		kids := n.GetChildren()
		if n.Attrs["xmlns"] != "w:g2" || len(kids) == 0 {
			return waBinary.Node{}, false
		}
		child := kids[0]
		iqMu.Lock()
		iqs[child.Tag] = n
		iqMu.Unlock()
		if to.Server == types.GroupServer && to.User != "" && to != known {
			return fakewa.IQError(404, "item-not-found"), true
		}
		switch child.Tag {
		case "query":
			return fakewa.IQResult(groupNode(known, "Team", members...)), true
		case "participating":
			return fakewa.IQResult(waBinary.Node{Tag: "groups", Content: []waBinary.Node{groupNode(known, "Team", members...), groupNode(other, "Other")}}), true
		case "create":
			subject, _ := child.Attrs["subject"].(string)
			return fakewa.IQResult(groupNode(other, subject, participantNode(me, "superadmin"), participantNode(bobJID, ""),
				participantNode(carolJID, "", "error", 403))), true
		case "subject":
			return fakewa.IQError(403, "forbidden"), true
		case "leave":
			if child.GetChildByTag("group").Attrs["id"] != known {
				return fakewa.IQError(404, "item-not-found"), true
			}
			return fakewa.IQResult(), true
		case "description":
			return fakewa.IQResult(), true
		case "add", "remove", "promote", "demote":
			var res []waBinary.Node
			for _, p := range child.GetChildren() {
				jid, _ := p.Attrs["jid"].(types.JID)
				switch jid.User {
				case carolJID.User:
					res = append(res, participantNode(jid, "", "error", 403))
				case daveJID.User:
					res = append(res, participantNode(types.NewJID("77665544", types.HiddenUserServer), "", "error", 409))
				default:
					res = append(res, participantNode(jid, ""))
				}
			}
			return fakewa.IQResult(waBinary.Node{Tag: child.Tag, Content: res}), true
		case "invite":
			if to == known {
				if typ == "set" {
					return fakewa.IQError(401, "not-authorized"), true
				}
				return fakewa.IQResult(waBinary.Node{Tag: "invite", Attrs: waBinary.Attrs{"code": "AbCdEf"}}), true
			}
			switch child.Attrs["code"] {
			case "AbCdEf":
			case "gone":
				return fakewa.IQError(410, "gone"), true
			default:
				return fakewa.IQError(406, "not-acceptable"), true
			}
			if typ == "get" {
				return fakewa.IQResult(groupNode(known, "Team", members...)), true
			}
			return fakewa.IQResult(waBinary.Node{Tag: "group", Attrs: waBinary.Attrs{"jid": known}}), true
		}
		return fakewa.IQResult(), true
	})
	lastIQ := func(tag string) *waBinary.Node {
		iqMu.Lock()
		defer iqMu.Unlock()
		return iqs[tag]
	}

	wantTeam := engine.GroupInfo{
		JID: known.String(), Subject: "Team", Description: "About Team", Owner: carolJID.String(), Created: time.Unix(1700000000, 0), Locked: true,
		Participants: []engine.Participant{{JID: carolJID.String(), Admin: true, SuperAdmin: true}, {JID: me.String()}, {JID: bob, Admin: true}},
	}
	if g, err := o.Group(ctx, known.String()); err != nil || !reflect.DeepEqual(g, wantTeam) {
		t.Fatalf("Group = %+v, %v", g, err)
	}
	if _, err := o.Group(ctx, other.String()); !errors.Is(err, engine.ErrGroupNotFound) {
		t.Fatalf("Group unknown: %v", err)
	}
	if gs, err := o.Groups(ctx); err != nil || len(gs) != 2 || !reflect.DeepEqual(gs[0], wantTeam) || gs[1].Subject != "Other" {
		t.Fatalf("Groups = %+v, %v", gs, err)
	}
	created, err := o.CreateGroup(ctx, "New team", []string{bob, carolJID.String()})
	if err != nil || created.Subject != "New team" || len(created.Participants) != 2 || created.Participants[1].JID != bob {
		t.Fatalf("CreateGroup = %+v, %v", created, err)
	}
	if n := lastIQ("create"); len(n.GetChildren()[0].GetChildrenByTag("participant")) != 2 {
		t.Fatalf("create IQ %s", n.XMLString())
	}
	if err := o.SetGroupSubject(ctx, known.String(), "Renamed"); !errors.Is(err, engine.ErrNotAdmin) {
		t.Fatalf("SetGroupSubject as a member: %v", err)
	}
	if err := o.SetGroupSubject(ctx, other.String(), "Renamed"); !errors.Is(err, engine.ErrGroupNotFound) {
		t.Fatalf("SetGroupSubject elsewhere: %v", err)
	}
	if err := o.SetGroupDescription(ctx, known.String(), "New about"); err != nil {
		t.Fatalf("SetGroupDescription: %v", err)
	}
	if n := lastIQ("description").GetChildren()[0]; n.Attrs["prev"] != "D1" || string(n.GetChildByTag("body").Content.([]byte)) != "New about" {
		t.Fatalf("description IQ %s", n.XMLString())
	}
	if err := o.SetGroupPhoto(ctx, known.String(), []byte{0xff, 0xd8, 0xff}); err != nil {
		t.Fatalf("SetGroupPhoto: %v", err)
	}
	if err := o.SetGroupPhoto(ctx, other.String(), nil); !errors.Is(err, engine.ErrGroupNotFound) {
		t.Fatalf("SetGroupPhoto elsewhere: %v", err)
	}
	res, err := o.UpdateParticipants(ctx, known.String(), []string{bob, carolJID.String(), daveJID.String()}, engine.ParticipantAdd)
	wantRes := []engine.ParticipantResult{
		{JID: bob}, {JID: carolJID.String(), Error: "privacy settings (the user can only be invited)"}, {JID: daveJID.String(), Error: "already a participant"},
	}
	if err != nil || !reflect.DeepEqual(res, wantRes) {
		t.Fatalf("UpdateParticipants = %+v, %v", res, err)
	}
	if code, err := o.GroupInvite(ctx, known.String(), false); err != nil || code != "AbCdEf" {
		t.Fatalf("GroupInvite = %q, %v", code, err)
	}
	if _, err := o.GroupInvite(ctx, known.String(), true); !errors.Is(err, engine.ErrNotAdmin) {
		t.Fatalf("GroupInvite reset as a member: %v", err)
	}
	if g, err := o.GroupByInvite(ctx, "https://chat.whatsapp.com/AbCdEf"); err != nil || g.JID != known.String() {
		t.Fatalf("GroupByInvite = %+v, %v", g, err)
	}
	if _, err := o.GroupByInvite(ctx, "gone"); !errors.Is(err, engine.ErrInviteNotFound) {
		t.Fatalf("GroupByInvite revoked: %v", err)
	}
	if jid, err := o.JoinGroup(ctx, "AbCdEf"); err != nil || jid != known.String() {
		t.Fatalf("JoinGroup = %q, %v", jid, err)
	}
	if _, err := o.JoinGroup(ctx, "bogus"); !errors.Is(err, engine.ErrInviteNotFound) {
		t.Fatalf("JoinGroup bogus: %v", err)
	}
	if err := o.LeaveGroup(ctx, known.String()); err != nil {
		t.Fatalf("LeaveGroup: %v", err)
	}
	if err := o.LeaveGroup(ctx, other.String()); !errors.Is(err, engine.ErrGroupNotFound) {
		t.Fatalf("LeaveGroup elsewhere: %v", err)
	}
	if _, err := o.Send(ctx, "120363111111111111@g.us", engine.Content{Text: "hi all"}); !errors.Is(err, engine.ErrGroupNotFound) {
		t.Fatalf("Send to a group elsewhere: %v", err)
	}
	if _, n := send(known.String(), engine.Content{Text: "hi all"}); attr(n, "to") != known {
		t.Fatalf("group message node %s", n.XMLString())
	}

	// A group notification, parsed by whatsmeow, stored, acknowledged.
	id := o.dev.Notify(waBinary.Node{Attrs: waBinary.Attrs{"type": "w:gp2", "from": known, "participant": carolJID},
		Content: []waBinary.Node{{Tag: "description", Attrs: waBinary.Attrs{"id": "D2"}, Content: []waBinary.Node{{Tag: "body", Content: []byte("Fresh")}}}}})
	ev, _ = o.rec.wait(t, evi, wait, isType[engine.GroupChange])
	if g := ev.(engine.GroupChange); g.Action != "description" || g.Description != "Fresh" || g.Actor != carolJID.String() || g.Group != known.String() {
		t.Fatalf("group change %+v", g)
	}
	if _, err := o.dev.WaitAcked(ctx, id); err != nil {
		t.Fatal(err)
	}

	// Contexts are respected.
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := o.Groups(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Groups with a cancelled context: %v", err)
	}

	// Offline again: clean errors.
	o.Disconnect()
	if _, err := o.Groups(ctx); !errors.Is(err, engine.ErrNotConnected) {
		t.Fatalf("Groups after Disconnect: %v", err)
	}
	if err := o.React(ctx, bob, "", "X", "👍"); !errors.Is(err, engine.ErrNotConnected) {
		t.Fatalf("React after Disconnect: %v", err)
	}
}
