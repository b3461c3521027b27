package sim_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
)

// caps are a channel's session as its capabilities.
func caps(c *chanSession) (engine.Storyteller, engine.Newsletterer, engine.Communitarian) {
	return c.s.(engine.Storyteller), c.s.(engine.Newsletterer), c.s.(engine.Communitarian)
}

// Stories reach the author's contacts (or the audience named, minus the
// excluded) as messages of status@broadcast; their delivered receipts come
// back per viewer; a phone posts one too.
func TestStories(t *testing.T) {
	n := newNet(t, sim.Options{})
	a, b, c, d := number(1), number(2), number(3), number(4)
	for _, p := range []string{a, b, c, d} {
		addPhone(t, n, p, "P"+p[len(p)-1:])
	}
	ca, cb := link(t, n, "A", a), link(t, n, "B", b)
	st, _, _ := caps(ca)
	// Contacts of a: b (a wrote to b) and c (c wrote to a); d is none.
	val(ca.s.Send(ctx, sim.JID(b), engine.Content{Kind: engine.KindText, Text: "hi"})).get(t)
	val(n.SendFromPhone(c, a, "hello")).get(t)

	sent := val(st.PostStory(ctx, engine.StoryPost{Content: engine.Content{Kind: engine.KindText, Text: "my day"}})).get(t)
	wantEqual(t, "chat", sent.Chat, engine.StatusBroadcast)
	got := waitMessage(t, cb, func(m engine.Message) bool { return m.ID == sent.ID })
	if got.Chat != engine.StatusBroadcast || got.Sender != sim.JID(a) || got.Text != "my day" {
		t.Fatalf("b got %+v", got)
	}
	inbox := val(n.Inbox(c)).get(t)
	if !slices.ContainsFunc(inbox, func(m sim.PhoneMessage) bool { return m.ID == sent.ID }) {
		t.Fatalf("c's inbox lacks the story: %+v", inbox)
	}
	if slices.ContainsFunc(val(n.Inbox(d)).get(t), func(m sim.PhoneMessage) bool { return m.ID == sent.ID }) {
		t.Fatal("d, no contact, got the story")
	}
	viewers := map[string]bool{}
	for len(viewers) < 2 {
		if r, ok := ca.ev.next(t).(engine.Receipt); ok && slices.Contains(r.IDs, sent.ID) && r.Chat == engine.StatusBroadcast {
			viewers[r.Sender] = true
		}
	}
	if !viewers[sim.JID(b)] || !viewers[sim.JID(c)] {
		t.Fatalf("receipts from %v", viewers)
	}
	// Read by c: a read receipt for the story.
	noErr(t, n.Read(c, []string{sent.ID}))
	for {
		if r, ok := ca.ev.next(t).(engine.Receipt); ok && r.Type == engine.ReceiptRead && r.Sender == sim.JID(c) {
			break
		}
	}

	// Named audience minus the excluded; unknown numbers refused.
	only := val(st.PostStory(ctx, engine.StoryPost{Content: engine.Content{Kind: engine.KindText, Text: "for d"},
		Audience: []string{d, b}, Exclude: []string{b}})).get(t)
	if !slices.ContainsFunc(val(n.Inbox(d)).get(t), func(m sim.PhoneMessage) bool { return m.ID == only.ID }) ||
		slices.ContainsFunc(val(n.Inbox(b)).get(t), func(m sim.PhoneMessage) bool { return m.ID == only.ID }) {
		t.Fatal("the audience was not the one named")
	}
	_, err := st.PostStory(ctx, engine.StoryPost{Content: engine.Content{Kind: engine.KindText, Text: "x"}, Audience: []string{"15559999999"}})
	wantErr(t, err, engine.ErrNotOnWhatsApp)
	_, err = st.PostStory(ctx, engine.StoryPost{Content: engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "q", Options: []string{"a", "b"}}}})
	wantErr(t, err, engine.ErrInvalidContent)
	_, err = st.PostStory(ctx, engine.StoryPost{Content: engine.Content{Kind: engine.KindImage}})
	wantErr(t, err, engine.ErrInvalidContent)

	// A phone's story reaches its contacts' devices (b wrote to a... a wrote to b).
	ps := val(n.SendContent(b, engine.StatusBroadcast, engine.Content{Kind: engine.KindText, Text: "from b's phone"})).get(t)
	waitMessage(t, ca, func(m engine.Message) bool {
		return m.ID == ps.ID && m.Chat == engine.StatusBroadcast && m.Sender == sim.JID(b)
	})
}

// waitMessage reads a session's events until a message matches.
func waitMessage(t *testing.T, c *chanSession, match func(engine.Message) bool) engine.Message {
	t.Helper()
	for {
		if m, ok := c.ev.next(t).(engine.Message); ok && match(m) {
			return m
		}
	}
}

// Newsletters: created, found, followed; posts from their owner and
// admins reach followers; admin invitations; roles and errors; and all of
// it survives a snapshot.
func TestNewsletters(t *testing.T) {
	n := newNet(t, sim.Options{})
	a, b, c := number(1), number(2), number(3)
	for _, p := range []string{a, b, c} {
		addPhone(t, n, p, "P"+p[len(p)-1:])
	}
	ca, cb := link(t, n, "A", a), link(t, n, "B", b)
	_, na, _ := caps(ca)
	_, nb, _ := caps(cb)
	_, err := na.CreateNewsletter(ctx, engine.NewsletterCreate{Name: " "})
	wantErr(t, err, engine.ErrInvalidContent)
	info := val(na.CreateNewsletter(ctx, engine.NewsletterCreate{Name: "Daily", Description: "news", Picture: []byte{0xFF, 0xD8, 0xFF}})).get(t)
	if !sim.IsNewsletter(info.JID) || len(info.InviteCode) != 24 || info.Role != engine.NewsletterOwner || info.Picture == "" {
		t.Fatalf("created %+v", info)
	}
	if g := val(nb.Newsletter(ctx, info.JID)).get(t); g.Role != engine.NewsletterGuest || g.Name != "Daily" {
		t.Fatalf("b sees %+v", g)
	}
	_, err = nb.Newsletter(ctx, "120363000000000000@newsletter")
	wantErr(t, err, engine.ErrNewsletterNotFound)
	wantEqual(t, "by invite", val(nb.NewsletterByInvite(ctx, info.InviteCode)).get(t).JID, info.JID)
	page := val(nb.FindNewsletters(ctx, engine.NewsletterQuery{Search: "DAI", Count: 1})).get(t)
	if len(page.Newsletters) != 1 || page.Next != "" {
		t.Fatalf("find %+v", page)
	}
	_, err = nb.FindNewsletters(ctx, engine.NewsletterQuery{Cursor: "x"})
	wantErr(t, err, engine.ErrInvalidContent)

	// Only the owner and admins post; followers get the posts.
	_, err = cb.s.Send(ctx, info.JID, engine.Content{Kind: engine.KindText, Text: "mine"})
	wantErr(t, err, engine.ErrNotAdmin)
	noErr(t, nb.FollowNewsletter(ctx, info.JID, true))
	post := val(ca.s.Send(ctx, info.JID, engine.Content{Kind: engine.KindText, Text: "issue 1"})).get(t)
	got := waitMessage(t, cb, func(m engine.Message) bool { return m.ID == post.ID })
	if got.Chat != info.JID || got.Sender != info.JID || got.FromMe {
		t.Fatalf("b got %+v", got)
	}
	posts := val(nb.NewsletterMessages(ctx, info.JID, 10, 0, 0)).get(t)
	if len(posts) != 1 || posts[0].ServerID != 1 || posts[0].Text != "issue 1" {
		t.Fatalf("posts %+v", posts)
	}
	if more := val(nb.NewsletterMessages(ctx, info.JID, 10, 1, 0)).get(t); len(more) != 0 {
		t.Fatalf("posts before 1: %+v", more)
	}

	// Admins: invited (a message to b), accepted, demoted.
	_, err = nb.UpdateNewsletter(ctx, info.JID, engine.NewsletterUpdate{Name: ptr("b's")})
	wantErr(t, err, engine.ErrNotAdmin)
	inv := val(na.InviteNewsletterAdmin(ctx, info.JID, sim.JID(b), "")).get(t)
	waitMessage(t, cb, func(m engine.Message) bool { return m.ID == inv.ID })
	wantErr(t, nb.AcceptNewsletterAdmin(ctx, info.JID, sim.JID(c)), engine.ErrNoNewsletterAdmin) // c invited nobody
	noErr(t, nb.AcceptNewsletterAdmin(ctx, info.JID, sim.JID(a)))
	up := val(nb.UpdateNewsletter(ctx, info.JID, engine.NewsletterUpdate{Description: ptr("weekly"), Reactions: ptr("basic")})).get(t)
	if up.Description != "weekly" || up.Reactions != "basic" || up.Role != engine.NewsletterAdmin {
		t.Fatalf("updated %+v", up)
	}
	wantErr(t, nb.DeleteNewsletter(ctx, info.JID), engine.ErrNotAdmin)
	wantErr(t, nb.FollowNewsletter(ctx, info.JID, false), engine.ErrInvalidContent)

	// A snapshot keeps it all.
	raw, err := json.Marshal(n.Snapshot())
	noErr(t, err)
	var snap sim.Snapshot
	noErr(t, json.Unmarshal(raw, &snap))
	n2 := newNet(t, sim.Options{})
	n2.Load(snap)
	c2 := open(t, n2, "A", ca.dev)
	noErr(t, c2.s.Connect(ctx))
	next[engine.Connected](t, c2.ev)
	_, na2, _ := caps(c2)
	again := val(na2.Newsletter(ctx, info.JID)).get(t)
	if again.Description != "weekly" || again.Subscribers != 2 || again.Role != engine.NewsletterOwner {
		t.Fatalf("after a snapshot %+v", again)
	}
	if posts := val(na2.NewsletterMessages(ctx, info.JID, 5, 0, 0)).get(t); len(posts) != 1 {
		t.Fatalf("posts after a snapshot %+v", posts)
	}
	noErr(t, na2.DemoteNewsletterAdmin(ctx, info.JID, sim.JID(b)))
	wantErr(t, na2.DemoteNewsletterAdmin(ctx, info.JID, sim.JID(b)), engine.ErrNoNewsletterAdmin)
	noErr(t, na2.DeleteNewsletter(ctx, info.JID))
	_, err = na2.Newsletter(ctx, info.JID)
	wantErr(t, err, engine.ErrNewsletterNotFound)
}

func ptr[T any](v T) *T { return &v }

// Communities: a parent group with its announcement group; groups created
// in it or linked; members mirrored to the announcement group; settings;
// deactivation; kept by snapshots.
func TestCommunities(t *testing.T) {
	n := newNet(t, sim.Options{})
	a, b, c := number(1), number(2), number(3)
	for _, p := range []string{a, b, c} {
		addPhone(t, n, p, "P"+p[len(p)-1:])
	}
	ca, cb := link(t, n, "A", a), link(t, n, "B", b)
	_, _, ka := caps(ca)
	_, _, kb := caps(cb)
	com := val(ka.CreateCommunity(ctx, "Club", "the club")).get(t)
	if !com.IsParent || com.Description != "the club" || !com.AdminsModifyGroups {
		t.Fatalf("community %+v", com)
	}
	subs := val(ka.SubGroups(ctx, com.JID)).get(t)
	if len(subs) != 1 || !subs[0].DefaultSub {
		t.Fatalf("subgroups %+v", subs)
	}
	announce := subs[0].JID
	plain := val(ca.s.CreateGroup(ctx, "Plain", []string{sim.JID(c)})).get(t)
	_, err := ka.Community(ctx, plain.JID)
	wantErr(t, err, engine.ErrNotCommunity)
	if list := val(ka.Communities(ctx)).get(t); len(list) != 1 || list[0].JID != com.JID {
		t.Fatalf("communities %+v", list)
	}

	// Members join the announcement group with the community.
	val(ca.s.UpdateParticipants(ctx, com.JID, []string{sim.JID(b)}, engine.ParticipantAdd)).get(t)
	if g := val(cb.s.Group(ctx, announce)).get(t); !slices.ContainsFunc(g.Participants, func(p engine.Participant) bool { return p.JID == sim.JID(b) }) {
		t.Fatalf("announcement group %+v", g)
	}
	_, err = cb.s.Send(ctx, announce, engine.Content{Kind: engine.KindText, Text: "me too"})
	wantErr(t, err, engine.ErrNotAdmin)

	// Groups: created in it, linked, joined, unlinked.
	sub := val(ka.CreateCommunityGroup(ctx, com.JID, "Sub", []string{sim.JID(c)}, false)).get(t)
	wantEqual(t, "parent", sub.Parent, com.JID)
	wantErr(t, kb.LinkGroup(ctx, com.JID, plain.JID, true), engine.ErrNotAdmin)
	noErr(t, ka.LinkGroup(ctx, com.JID, plain.JID, true))
	wantErr(t, ka.LinkGroup(ctx, com.JID, plain.JID, true), engine.ErrInvalidContent)
	noErr(t, kb.JoinSubGroup(ctx, com.JID, sub.JID))
	noErr(t, ka.LinkGroup(ctx, com.JID, plain.JID, false))
	wantErr(t, ka.LinkGroup(ctx, com.JID, plain.JID, false), engine.ErrNotCommunity)
	wantErr(t, kb.JoinSubGroup(ctx, com.JID, plain.JID), engine.ErrNotCommunity)
	wantErr(t, kb.SetCommunitySetting(ctx, com.JID, engine.CommunityModifyGroups, false), engine.ErrNotAdmin)
	noErr(t, ka.SetCommunitySetting(ctx, com.JID, engine.CommunityModifyGroups, false))
	val(kb.CreateCommunityGroup(ctx, com.JID, "By b", nil, true)).get(t) // anyone may, now

	// An event in the announcement group.
	ep := ca.s.(engine.EventPoster)
	_, err = cb.s.(engine.EventPoster).PostEvent(ctx, announce, engine.EventInfo{Title: "x", Start: n2time()})
	wantErr(t, err, engine.ErrNotAdmin)
	evSent := val(ep.PostEvent(ctx, announce, engine.EventInfo{Title: "Meetup", Start: n2time()})).get(t)
	if m := waitMessage(t, cb, func(m engine.Message) bool { return m.ID == evSent.ID }); m.Content.Kind != engine.KindEvent || m.Text != "Meetup" {
		t.Fatalf("event %+v", m)
	}

	// A snapshot keeps the roles; deactivation ends the community.
	var snap sim.Snapshot
	raw, err := json.Marshal(n.Snapshot())
	noErr(t, err)
	noErr(t, json.Unmarshal(raw, &snap))
	n.Load(snap)
	ca2 := open(t, n, "A", ca.dev)
	noErr(t, ca2.s.Connect(ctx))
	next[engine.Connected](t, ca2.ev)
	_, _, ka2 := caps(ca2)
	if got := val(ka2.Community(ctx, com.JID)).get(t); got.AdminsModifyGroups || !got.IsParent {
		t.Fatalf("after a snapshot %+v", got)
	}
	if subs := val(ka2.SubGroups(ctx, com.JID)).get(t); len(subs) != 2 { // announcement and Sub; b's hidden one is not a's to see
		t.Fatalf("subgroups after a snapshot %+v", subs)
	}
	noErr(t, ka2.DeactivateCommunity(ctx, com.JID))
	_, err = ka2.Community(ctx, com.JID)
	wantErr(t, err, engine.ErrGroupNotFound)
	if g, err := ca2.s.Group(ctx, sub.JID); err != nil || errors.Is(err, engine.ErrNotCommunity) {
		t.Fatalf("the linked group after deactivation: %+v, %v", g, err)
	}
	if _, err := ka2.Community(ctx, sub.JID); !errors.Is(err, engine.ErrNotCommunity) {
		t.Fatalf("a former linked group: %v", err)
	}
}

func n2time() time.Time { return time.Unix(1900000000, 0) }
