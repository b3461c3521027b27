package whatsmeow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/fakewa"
)

// fakeDirectory answers, on the fake server, the IQs of stories (status
// privacy), newsletters (w:mex GraphQL queries, newsletter messages and
// live updates) and communities (w:g2 with parents and links), and keeps
// every IQ it got for the test to check.
type fakeDirectory struct {
	mu        sync.Mutex
	iqs       []*waBinary.Node
	mex       []map[string]any // the variables of each w:mex query
	me, bob   types.JID
	community types.JID
	announce  types.JID
	plain     types.JID
	sub       types.JID
	letter    types.JID
}

const fakeInvite = "0029VaFAKEINVITECODE0001"

func (d *fakeDirectory) newsletterMeta(role string) map[string]any {
	m := map[string]any{
		"id":    d.letter.String(),
		"state": map[string]any{"type": "ACTIVE"},
		"thread_metadata": map[string]any{
			"creation_time": "1700000000", "invite": fakeInvite,
			"name":              map[string]any{"text": "Daily", "id": "N1", "update_time": "1700000001000000"},
			"description":       map[string]any{"text": "News", "id": "D1", "update_time": "1700000002000000"},
			"subscribers_count": "42", "verification": "VERIFIED",
			"preview":  map[string]any{"url": "https://mmg.whatsapp.net/v/prev.jpg", "id": "P1", "type": "PREVIEW", "direct_path": "/v/prev.jpg"},
			"settings": map[string]any{"reaction_codes": map[string]any{"value": "BASIC"}},
		},
	}
	if role != "" {
		m["viewer_metadata"] = map[string]any{"mute": "OFF", "role": role}
	}
	return m
}

func mexResult(data any) waBinary.Node {
	raw, _ := json.Marshal(map[string]any{"data": data})
	return fakewa.IQResult(waBinary.Node{Tag: "result", Content: raw})
}

func (d *fakeDirectory) group(jid types.JID, subject string, extra ...waBinary.Node) waBinary.Node {
	g := groupNode(jid, subject, append([]waBinary.Node{participantNode(d.me, "superadmin"), participantNode(d.bob, "")}, extra...)...)
	return g
}

func (d *fakeDirectory) handle(_ *fakewa.Conn, n *waBinary.Node) (waBinary.Node, bool) {
	d.mu.Lock()
	d.iqs = append(d.iqs, n)
	d.mu.Unlock()
	kids := n.GetChildren()
	if len(kids) == 0 {
		return waBinary.Node{}, false
	}
	child := kids[0]
	to, _ := n.Attrs["to"].(types.JID)
	switch n.Attrs["xmlns"] {
	case "status":
		return fakewa.IQResult(waBinary.Node{Tag: "privacy", Content: []waBinary.Node{{Tag: "list",
			Attrs:   waBinary.Attrs{"type": "whitelist", "default": "true"},
			Content: []waBinary.Node{{Tag: "user", Attrs: waBinary.Attrs{"jid": d.bob}}}}}}), true
	case "w:mex":
		var q struct {
			Variables map[string]any `json:"variables"`
		}
		raw, _ := child.Content.([]byte)
		_ = json.Unmarshal(raw, &q)
		d.mu.Lock()
		d.mex = append(d.mex, q.Variables)
		d.mu.Unlock()
		v := q.Variables
		switch {
		case v["newsletter_input"] != nil:
			return mexResult(map[string]any{"xwa2_newsletter_create": d.newsletterMeta("OWNER")}), true
		case v["input"] != nil:
			in, _ := v["input"].(map[string]any)
			if in["key"] != d.letter.String() && in["key"] != fakeInvite {
				return mexResult(map[string]any{"xwa2_newsletter": nil}), true
			}
			role := "SUBSCRIBER"
			if in["type"] == "INVITE" {
				role = ""
			}
			return mexResult(map[string]any{"xwa2_newsletter": d.newsletterMeta(role)}), true
		case v["newsletter_id"] != nil:
			return mexResult(map[string]any{}), true
		}
		return mexResult(map[string]any{"xwa2_newsletter_subscribed": []any{d.newsletterMeta("SUBSCRIBER")}}), true
	case "newsletter":
		switch child.Tag {
		case "live_updates":
			return fakewa.IQResult(waBinary.Node{Tag: "live_updates", Attrs: waBinary.Attrs{"duration": "300"}}), true
		case "messages":
			var msgs []waBinary.Node
			for i, text := range []string{"first post", "second post"} {
				pt, _ := proto.Marshal(&waE2E.Message{Conversation: proto.String(text)})
				msgs = append(msgs, waBinary.Node{Tag: "message",
					Attrs:   waBinary.Attrs{"server_id": 100 + i, "id": "NL" + string(rune('A'+i)), "type": "text", "t": 1700000100 + i},
					Content: []waBinary.Node{{Tag: "plaintext", Content: pt}, {Tag: "views_count", Attrs: waBinary.Attrs{"count": 7}}}})
			}
			return fakewa.IQResult(waBinary.Node{Tag: "messages", Content: msgs}), true
		}
	case "w:g2":
		switch {
		case child.Tag == "create":
			subject, _ := child.Attrs["subject"].(string)
			if p, ok := child.GetOptionalChildByTag("parent"); ok && p.Tag == "parent" {
				return fakewa.IQResult(d.group(d.community, subject, waBinary.Node{Tag: "parent"})), true
			}
			if lp, ok := child.GetOptionalChildByTag("linked_parent"); ok {
				return fakewa.IQResult(d.group(d.sub, subject, waBinary.Node{Tag: "linked_parent", Attrs: waBinary.Attrs{"jid": lp.Attrs["jid"]}})), true
			}
			return fakewa.IQResult(d.group(d.plain, subject)), true
		case child.Tag == "participating":
			return fakewa.IQResult(waBinary.Node{Tag: "groups", Content: []waBinary.Node{
				d.group(d.community, "Club", waBinary.Node{Tag: "parent"}), d.group(d.plain, "Plain")}}), true
		case child.Tag == "query" && to == d.community:
			return fakewa.IQResult(d.group(d.community, "Club", waBinary.Node{Tag: "parent"})), true
		case child.Tag == "query" && to == d.plain:
			return fakewa.IQResult(d.group(d.plain, "Plain")), true
		case child.Tag == "sub_groups" && to == d.community:
			return fakewa.IQResult(waBinary.Node{Tag: "sub_groups", Content: []waBinary.Node{
				{Tag: "group", Attrs: waBinary.Attrs{"id": d.announce.User, "subject": "Club"}, Content: []waBinary.Node{{Tag: "default_sub_group"}}},
				{Tag: "group", Attrs: waBinary.Attrs{"id": d.sub.User, "subject": "Sub"}},
			}}), true
		case to == d.community || to == d.plain:
			return fakewa.IQResult(), true
		}
		return fakewa.IQError(404, "item-not-found"), true
	}
	return waBinary.Node{}, false
}

// last is the latest IQ with a first child of tag in namespace xmlns.
func (d *fakeDirectory) last(xmlns, tag string) *waBinary.Node {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.iqs) - 1; i >= 0; i-- {
		n := d.iqs[i]
		if n.Attrs["xmlns"] == xmlns && len(n.GetChildren()) > 0 && n.GetChildren()[0].Tag == tag {
			return n
		}
	}
	return nil
}

func (d *fakeDirectory) lastMex() map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.mex) == 0 {
		return nil
	}
	return d.mex[len(d.mex)-1]
}

// The stories, newsletters and communities capabilities against the fake
// server: the stanzas whatsmeow sends for them, the answers mapped back,
// and what whatsmeow cannot do refused as engine.ErrUnsupported.
func TestCapabilitiesOnline(t *testing.T) {
	w := newWorld(t, Options{})
	bobPeer, err := w.srv.AddPeer(fakewa.PeerOptions{Phone: "15557654321", PushName: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	o := w.connectStored("15551234567", 3, engine.SessionConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 6*wait)
	defer cancel()
	d := &fakeDirectory{me: types.NewJID("15551234567", types.DefaultUserServer), bob: bobPeer.JID(),
		community: types.NewJID("120363000000000101", types.GroupServer), announce: types.NewJID("120363000000000102", types.GroupServer),
		plain: types.NewJID("120363000000000103", types.GroupServer), sub: types.NewJID("120363000000000104", types.GroupServer),
		letter: types.NewJID("120363000000000777", types.NewsletterServer)}
	w.srv.HandleIQ(d.handle)
	unsupported := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, engine.ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", what, err)
		}
	}

	// Stories: a styled text story goes to status@broadcast, encrypted for
	// the audience of the status privacy list (bob).
	sent, err := o.PostStory(ctx, engine.StoryPost{Content: engine.Content{Kind: engine.KindText, Text: "hello status"},
		Style: engine.StoryStyle{Background: "#FF112233", TextColor: "#FFFFFF", Font: "SYSTEM_BOLD"}})
	if err != nil || sent.Chat != engine.StatusBroadcast {
		t.Fatalf("PostStory = %+v, %v", sent, err)
	}
	n, err := o.conn.WaitNode(ctx, func(n *waBinary.Node) bool { return n.Tag == "message" && n.Attrs["id"] == sent.ID })
	if err != nil {
		t.Fatal(err)
	}
	if n.Attrs["to"] != types.StatusBroadcastJID {
		t.Fatalf("story node %s", n.XMLString())
	}
	parts, _ := n.GetOptionalChildByTag("participants")
	toBob := false
	for _, p := range parts.GetChildrenByTag("to") {
		if jid, _ := p.Attrs["jid"].(types.JID); jid.User == d.bob.User {
			toBob = true
		}
	}
	if !toBob {
		t.Fatalf("story not encrypted for bob: %s", n.XMLString())
	}
	var kept waE2E.Message
	if err := proto.Unmarshal(sent.Payload, &kept); err != nil || kept.GetExtendedTextMessage().GetBackgroundArgb() != 0xFF112233 ||
		kept.GetExtendedTextMessage().GetTextArgb() != 0xFFFFFFFF || kept.GetExtendedTextMessage().GetFont() != waE2E.ExtendedTextMessage_SYSTEM_BOLD {
		t.Fatalf("story payload %v, %v", &kept, err)
	}
	if d.last("status", "privacy") == nil {
		t.Error("the status privacy list was not asked for")
	}
	_, err = o.PostStory(ctx, engine.StoryPost{Content: engine.Content{Kind: engine.KindText, Text: "x"}, Audience: []string{d.bob.String()}})
	unsupported("a story for chosen contacts", err)
	if _, err := o.PostStory(ctx, engine.StoryPost{Content: engine.Content{Kind: engine.KindText, Text: "x"}, Style: engine.StoryStyle{Background: "red"}}); !errors.Is(err, engine.ErrInvalidContent) {
		t.Errorf("bad color: %v", err)
	}

	// Newsletters.
	info, err := o.CreateNewsletter(ctx, engine.NewsletterCreate{Name: "Daily", Description: "News"})
	want := engine.NewsletterInfo{JID: d.letter.String(), Name: "Daily", NameAt: time.UnixMicro(1700000001000000), Description: "News",
		DescriptionAt: time.UnixMicro(1700000002000000), InviteCode: fakeInvite, Picture: "https://mmg.whatsapp.net/v/prev.jpg",
		Subscribers: 42, Verified: true, Created: time.Unix(1700000000, 0), Role: "owner", Reactions: "basic"}
	if err != nil || !info.Created.Equal(want.Created) || !info.NameAt.Equal(want.NameAt) {
		t.Fatalf("CreateNewsletter = %+v, %v", info, err)
	}
	info.Created, info.NameAt, info.DescriptionAt = want.Created, want.NameAt, want.DescriptionAt
	if info != want {
		t.Fatalf("CreateNewsletter\n got %+v\nwant %+v", info, want)
	}
	if in, _ := d.lastMex()["newsletter_input"].(map[string]any); in["name"] != "Daily" || in["description"] != "News" {
		t.Fatalf("create mex variables %v", d.lastMex())
	}
	if got, err := o.Newsletter(ctx, d.letter.String()); err != nil || got.Role != "subscriber" || got.Name != "Daily" {
		t.Fatalf("Newsletter = %+v, %v", got, err)
	}
	if _, err := o.Newsletter(ctx, "120363000000000999@newsletter"); !errors.Is(err, engine.ErrNewsletterNotFound) {
		t.Fatalf("unknown newsletter: %v", err)
	}
	if got, err := o.NewsletterByInvite(ctx, fakeInvite); err != nil || got.JID != d.letter.String() || got.Role != "guest" {
		t.Fatalf("NewsletterByInvite = %+v, %v", got, err)
	}
	if list, err := o.Newsletters(ctx); err != nil || len(list) != 1 || list[0].JID != d.letter.String() {
		t.Fatalf("Newsletters = %+v, %v", list, err)
	}
	for _, follow := range []bool{true, false} {
		if err := o.FollowNewsletter(ctx, d.letter.String(), follow); err != nil || d.lastMex()["newsletter_id"] != d.letter.String() {
			t.Fatalf("FollowNewsletter(%v): %v, %v", follow, err, d.lastMex())
		}
	}
	if err := o.TrackNewsletter(ctx, d.letter.String()); err != nil || d.last("newsletter", "live_updates") == nil {
		t.Fatalf("TrackNewsletter: %v", err)
	}
	posts, err := o.NewsletterMessages(ctx, d.letter.String(), 10, 0, 100)
	if err != nil || len(posts) != 1 || posts[0].ServerID != 101 || posts[0].Text != "second post" || posts[0].Views != 7 ||
		posts[0].Chat != d.letter.String() {
		t.Fatalf("NewsletterMessages = %+v, %v", posts, err)
	}
	if q := d.last("newsletter", "messages"); q == nil || fmt.Sprint(q.GetChildren()[0].Attrs["count"]) != "10" {
		t.Fatalf("messages IQ %v", q)
	}
	post, err := o.Send(ctx, d.letter.String(), engine.Content{Kind: engine.KindText, Text: "to my followers"})
	if err != nil {
		t.Fatalf("post to the newsletter: %v", err)
	}
	pn, err := o.conn.WaitNode(ctx, func(n *waBinary.Node) bool { return n.Tag == "message" && n.Attrs["id"] == post.ID })
	if err != nil {
		t.Fatal(err)
	}
	if pt, ok := pn.GetOptionalChildByTag("plaintext"); !ok || pn.Attrs["to"] != d.letter {
		t.Fatalf("newsletter post node %s", pn.XMLString())
	} else {
		var m waE2E.Message
		if raw, _ := pt.Content.([]byte); proto.Unmarshal(raw, &m) != nil || m.GetConversation() != "to my followers" {
			t.Fatalf("newsletter post plaintext %v", &m)
		}
	}
	_, err = o.FindNewsletters(ctx, engine.NewsletterQuery{Search: "x"})
	unsupported("FindNewsletters", err)
	_, err = o.UpdateNewsletter(ctx, d.letter.String(), engine.NewsletterUpdate{})
	unsupported("UpdateNewsletter", err)
	unsupported("DeleteNewsletter", o.DeleteNewsletter(ctx, d.letter.String()))
	_, err = o.InviteNewsletterAdmin(ctx, d.letter.String(), d.bob.String(), "")
	unsupported("InviteNewsletterAdmin", err)
	unsupported("RevokeNewsletterAdminInvite", o.RevokeNewsletterAdminInvite(ctx, d.letter.String(), d.bob.String()))
	unsupported("AcceptNewsletterAdmin", o.AcceptNewsletterAdmin(ctx, d.letter.String(), d.bob.String()))
	unsupported("DemoteNewsletterAdmin", o.DemoteNewsletterAdmin(ctx, d.letter.String(), d.bob.String()))

	// Communities.
	c, err := o.CreateCommunity(ctx, "Club", "The club")
	if err != nil || !c.IsParent || c.JID != d.community.String() || c.Description != "The club" {
		t.Fatalf("CreateCommunity = %+v, %v", c, err)
	}
	if q := d.last("w:g2", "create"); q == nil || q.GetChildren()[0].GetChildByTag("parent").Tag != "parent" {
		t.Fatalf("community create IQ %v", q)
	}
	if q := d.last("w:g2", "description"); q == nil || q.Attrs["to"] != d.community {
		t.Fatalf("community description IQ %v", q)
	}
	if got, err := o.Community(ctx, d.community.String()); err != nil || !got.IsParent {
		t.Fatalf("Community = %+v, %v", got, err)
	}
	if _, err := o.Community(ctx, d.plain.String()); !errors.Is(err, engine.ErrNotCommunity) {
		t.Fatalf("Community of a plain group: %v", err)
	}
	if list, err := o.Communities(ctx); err != nil || len(list) != 1 || list[0].JID != d.community.String() {
		t.Fatalf("Communities = %+v, %v", list, err)
	}
	g, err := o.CreateCommunityGroup(ctx, d.community.String(), "Sub", []string{d.bob.String()}, false)
	if err != nil || g.Parent != d.community.String() {
		t.Fatalf("CreateCommunityGroup = %+v, %v", g, err)
	}
	if q := d.last("w:g2", "create"); q.GetChildren()[0].GetChildByTag("linked_parent").Attrs["jid"] != d.community {
		t.Fatalf("group in community create IQ %s", q.XMLString())
	}
	_, err = o.CreateCommunityGroup(ctx, d.community.String(), "Hidden", nil, true)
	unsupported("a hidden group", err)
	if err := o.LinkGroup(ctx, d.community.String(), d.plain.String(), true); err != nil {
		t.Fatalf("LinkGroup: %v", err)
	}
	if q := d.last("w:g2", "links"); q == nil || q.Attrs["to"] != d.community ||
		q.GetChildren()[0].GetChildByTag("link", "group").Attrs["jid"] != d.plain {
		t.Fatalf("links IQ %v", q)
	}
	if err := o.LinkGroup(ctx, d.community.String(), d.plain.String(), false); err != nil {
		t.Fatalf("unlink: %v", err)
	}
	if q := d.last("w:g2", "unlink"); q == nil || q.GetChildren()[0].GetChildByTag("group").Attrs["jid"] != d.plain {
		t.Fatalf("unlink IQ %v", q)
	}
	subs, err := o.SubGroups(ctx, d.community.String())
	if err != nil || len(subs) != 2 || !subs[0].DefaultSub || subs[0].JID != d.announce.String() || subs[1].Subject != "Sub" {
		t.Fatalf("SubGroups = %+v, %v", subs, err)
	}
	if err := o.SetCommunitySetting(ctx, d.community.String(), engine.CommunityMemberAdd, true); err != nil {
		t.Fatalf("member add mode: %v", err)
	}
	if q := d.last("w:g2", "member_add_mode"); q == nil || string(q.GetChildren()[0].Content.([]byte)) != "admin_add" {
		t.Fatalf("member_add_mode IQ %v", q)
	}
	unsupported("modify_groups", o.SetCommunitySetting(ctx, d.community.String(), engine.CommunityModifyGroups, true))
	unsupported("JoinSubGroup", o.JoinSubGroup(ctx, d.community.String(), d.sub.String()))
	unsupported("DeactivateCommunity", o.DeactivateCommunity(ctx, d.community.String()))

	// An event in the community's group: an event message with its secret.
	ev, err := o.PostEvent(ctx, d.community.String(), engine.EventInfo{Title: "Meetup", Description: "At noon",
		Start: time.Unix(1900000000, 0), End: time.Unix(1900003600, 0), Location: &engine.Location{Latitude: 52.5, Longitude: 13.4, Name: "Park"}})
	if err != nil {
		t.Fatalf("PostEvent: %v", err)
	}
	if _, err := o.conn.WaitNode(ctx, func(n *waBinary.Node) bool {
		return n.Tag == "message" && n.Attrs["id"] == ev.ID && n.Attrs["to"] == d.community
	}); err != nil {
		t.Fatal(err)
	}
	var evm waE2E.Message
	if err := proto.Unmarshal(ev.Payload, &evm); err != nil || evm.GetEventMessage().GetName() != "Meetup" ||
		evm.GetEventMessage().GetStartTime() != 1900000000 || len(evm.GetMessageContextInfo().GetMessageSecret()) != 32 {
		t.Fatalf("event payload %v, %v", &evm, err)
	}
}
