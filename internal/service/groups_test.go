package service_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
)

// svLinked creates a channel whose account is linked to phone.
func (f *svFixture) svLinked(t *testing.T, phone string) model.Channel {
	t.Helper()
	p, _ := f.partner(t, "p"+phone, 0)
	ch := f.channel(t, p.ID, "linked")
	if err := f.st.SetChannelLink(f.ctx, ch.ID, "device-"+phone, phone, "Me", svT0); err != nil {
		t.Fatal(err)
	}
	ch.WAPhone = phone
	return ch
}

func svUser(n string) string { return n + "@s.whatsapp.net" }

// svMembers lists a stored group's participants as "number:rank".
func svMembers(t *testing.T, f *svFixture, channelID, groupID string) []string {
	t.Helper()
	g, err := f.st.Group(f.ctx, channelID, groupID)
	if err != nil {
		t.Fatalf("group %s: %v", groupID, err)
	}
	var out []string
	for _, p := range g.Participants {
		out = append(out, service.PhoneOf(p.UserID)+":"+p.Rank)
	}
	return out
}

func TestIngestGroupChanges(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		ch := f.svLinked(t, "15550000001")
		const gid = "120363000000000001@g.us"
		at := svT0.Add(time.Minute)
		ev := func(action string, participants ...string) engine.GroupChange {
			var jids []string
			for _, p := range participants {
				jids = append(jids, svUser(p))
			}
			return engine.GroupChange{Group: gid, Actor: svUser("15550000002"), Action: action, Participants: jids, Time: at}
		}
		want := func(what string, members ...string) {
			t.Helper()
			if got := svMembers(t, f, ch.ID, gid); !slices.Equal(got, members) {
				t.Fatalf("%s: members %v, want %v", what, got, members)
			}
		}

		create := ev("create", "15550000001", "15550000002", "15550000003")
		create.Subject = "Family"
		mustIngest(t, f.svc, ch.ID, create)
		want("create", "15550000001:member", "15550000002:creator", "15550000003:member")
		g, _ := f.st.Group(f.ctx, ch.ID, gid)
		if g.Subject != "Family" || !g.SubjectAt.Equal(at) || g.Owner != svUser("15550000002") || !g.CreatedAt.Equal(at) {
			t.Fatalf("created group = %+v", g)
		}
		if c, err := f.st.Chat(f.ctx, ch.ID, gid); err != nil || c.Name != "Family" || c.Type != "group" {
			t.Fatalf("group chat = %+v, %v", c, err)
		}
		cs, total, _ := f.st.Contacts(f.ctx, ch.ID, 10, 0)
		if total != 2 || cs[0].ID != svUser("15550000002") || cs[1].ID != svUser("15550000003") {
			t.Fatalf("contacts (the account itself is none) = %+v", cs)
		}

		sub := ev("subject")
		sub.Subject, sub.Time = "Family 2", at.Add(time.Hour)
		mustIngest(t, f.svc, ch.ID, sub)
		desc := ev("description")
		desc.Description = "All of us"
		mustIngest(t, f.svc, ch.ID, desc)
		g, _ = f.st.Group(f.ctx, ch.ID, gid)
		if g.Subject != "Family 2" || !g.SubjectAt.Equal(at.Add(time.Hour)) || g.Description != "All of us" {
			t.Fatalf("group after subject and description = %+v", g)
		}
		if c, _ := f.st.Chat(f.ctx, ch.ID, gid); c.Name != "Family 2" {
			t.Fatalf("chat name after the subject changed = %q", c.Name)
		}

		mustIngest(t, f.svc, ch.ID, ev("promote", "15550000003"))
		mustIngest(t, f.svc, ch.ID, ev("demote", "15550000002")) // the creator stays
		want("promote", "15550000001:member", "15550000002:creator", "15550000003:admin")
		mustIngest(t, f.svc, ch.ID, ev("demote", "15550000003"))
		mustIngest(t, f.svc, ch.ID, ev("add", "15550000004"))
		mustIngest(t, f.svc, ch.ID, ev("join", "15550000005"))
		mustIngest(t, f.svc, ch.ID, ev("settings"))
		mustIngest(t, f.svc, ch.ID, ev("picture"))
		want("add and join", "15550000001:member", "15550000002:creator", "15550000003:member", "15550000004:member", "15550000005:member")
		mustIngest(t, f.svc, ch.ID, ev("remove", "15550000004"))
		mustIngest(t, f.svc, ch.ID, ev("leave", "15550000005"))
		want("remove and leave", "15550000001:member", "15550000002:creator", "15550000003:member")
		if _, total, _ := f.st.Contacts(f.ctx, ch.ID, 10, 0); total != 4 {
			t.Fatalf("contacts after add and join = %d, want 4", total)
		}

		// Removed: the channel forgets the group (its chat stays).
		mustIngest(t, f.svc, ch.ID, ev("remove", "15550000001"))
		if _, err := f.st.Group(f.ctx, ch.ID, gid); err == nil {
			t.Fatal("the group is still stored after the account was removed")
		}
		// A change of a group not stored yet stores what it tells.
		mustIngest(t, f.svc, ch.ID, ev("add", "15550000001"))
		want("added back", "15550000001:member")
		// Not a group, or another channel: nothing.
		mustIngest(t, f.svc, ch.ID, engine.GroupChange{Group: svUser("15550000002"), Action: "create"})
		mustIngest(t, f.svc, "NOCHAN-NOCHN", ev("add", "15550000009"))
		if gs, total, _ := f.st.Groups(f.ctx, ch.ID, 10, 0); total != 1 || gs[0].ID != gid {
			t.Fatalf("groups = %+v", gs)
		}
	})
}

func TestIngestPresences(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		ch := f.svLinked(t, "15550000001")
		other := svUser("15550000002")
		_, err := f.svc.Presence(f.ctx, ch, "15550000002")
		svWantIs(t, err, model.ErrNotFound)

		mustIngest(t, f.svc, ch.ID, engine.Presence{Chat: other, User: other, State: engine.PresenceOnline})
		p, err := f.svc.Presence(f.ctx, ch, "+1 555 000 0002")
		if err != nil || p.Status != store.PresenceOnline || !p.LastSeen.Equal(svT0) || p.UserID != other {
			t.Fatalf("online = %+v, %v", p, err)
		}
		mustIngest(t, f.svc, ch.ID, engine.Presence{User: other, State: engine.PresenceTyping})
		if p, _ := f.svc.Presence(f.ctx, ch, "15550000002"); p.Status != store.PresenceTyping {
			t.Fatalf("typing = %+v", p)
		}
		mustIngest(t, f.svc, ch.ID, engine.Presence{Chat: other, User: other, State: engine.PresencePaused})
		if p, _ := f.svc.Presence(f.ctx, ch, "15550000002"); p.Status != store.PresenceOnline {
			t.Fatalf("paused = %+v", p)
		}
		seen := svT0.Add(-time.Hour)
		f.clk.Advance(time.Minute)
		mustIngest(t, f.svc, ch.ID, engine.Presence{Chat: other, User: other, State: engine.PresenceOffline, LastSeen: seen})
		if p, _ := f.svc.Presence(f.ctx, ch, "15550000002"); p.Status != store.PresenceOffline || !p.LastSeen.Equal(seen) {
			t.Fatalf("offline = %+v", p)
		}
		// Typing in a group: the group's entry says who.
		const gid = "120363000000000001@g.us"
		mustIngest(t, f.svc, ch.ID, engine.Presence{Chat: gid, User: other, State: engine.PresenceRecording})
		if p, err := f.svc.Presence(f.ctx, ch, gid); err != nil || p.UserID != other || p.Status != store.PresenceRecording {
			t.Fatalf("group presence = %+v, %v", p, err)
		}
		// The user is a contact; the account itself never is.
		mustIngest(t, f.svc, ch.ID, engine.Presence{User: svUser("15550000001"), State: engine.PresenceOnline})
		cs, total, _ := f.st.Contacts(f.ctx, ch.ID, 10, 0)
		if total != 1 || cs[0].ID != other {
			t.Fatalf("contacts = %+v", cs)
		}
		_, err = f.svc.Presence(f.ctx, ch, "nobody")
		svWantInvalid(t, err, "EntryID")
	})
}

// TestDirectoryInputChecked checks that bad input is refused, naming the
// field, before any session is needed (this service runs no channels).
func TestDirectoryInputChecked(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		ch := f.svLinked(t, "15550000001")
		long := strings.Repeat("x", 101)
		for _, c := range []struct {
			field string
			err   error
		}{
			{"subject", func() error { _, err := f.svc.CreateGroup(f.ctx, ch, "", []string{"15550000002"}); return err }()},
			{"subject", func() error { _, err := f.svc.CreateGroup(f.ctx, ch, long, []string{"15550000002"}); return err }()},
			{"participants", func() error { _, err := f.svc.CreateGroup(f.ctx, ch, "G", nil); return err }()},
			{"participants[0]", func() error { _, err := f.svc.CreateGroup(f.ctx, ch, "G", []string{"15550000001"}); return err }()},
			{"participants[1]", func() error {
				_, err := f.svc.CreateGroup(f.ctx, ch, "G", []string{"15550000002", "15550000002@c.us"})
				return err
			}()},
			{"GroupID", func() error { _, err := f.svc.Group(f.ctx, ch, "nope"); return err }()},
			{"subject", f.svc.UpdateGroupInfo(f.ctx, ch, "120363000000000001", service.GroupInfoUpdate{})},
			{"description", f.svc.UpdateGroupInfo(f.ctx, ch, "120363000000000001", service.GroupInfoUpdate{Description: svStrp(strings.Repeat("d", 2049))})},
			{"setting", f.svc.UpdateGroupSetting(f.ctx, ch, "120363000000000001", "x", "admins")},
			{"policy", f.svc.UpdateGroupSetting(f.ctx, ch, "120363000000000001", "send_messages", "")},
			{"invite_code", func() error { _, err := f.svc.JoinGroup(f.ctx, ch, "has spaces in it"); return err }()},
			{"InviteCode", func() error { _, err := f.svc.GroupByInvite(f.ctx, ch, ""); return err }()},
			{"contacts", func() error { _, err := f.svc.CheckContacts(f.ctx, ch, nil, false); return err }()},
			{"contacts[0]", func() error {
				_, err := f.svc.CheckContacts(f.ctx, ch, []string{"120363000000000001@g.us"}, false)
				return err
			}()},
			{"ContactID", func() error { _, err := f.svc.ContactExists(f.ctx, ch, "12"); return err }()},
			{"presence", f.svc.SetOwnPresence(f.ctx, ch, "busy")},
			{"presence", f.svc.SendChatPresence(f.ctx, ch, "15550000002", "singing", 0)},
			{"delay", f.svc.SendChatPresence(f.ctx, ch, "15550000002", "typing", 30.5)},
			{"EntryID", f.svc.SubscribePresence(f.ctx, ch, "120363000000000001@g.us")},
			{"media", f.svc.SetGroupIcon(f.ctx, ch, "120363000000000001", service.GroupIcon{})},
		} {
			svWantInvalid(t, c.err, c.field)
		}
		// Valid input reaches for a session: none runs here.
		_, err := f.svc.CreateGroup(f.ctx, ch, "G", []string{"15550000002"})
		svWantIs(t, err, model.ErrUnavailable)
		if gs, total, err := f.svc.Groups(f.ctx, ch, service.Page{Count: 10}); err != nil || total != 0 || len(gs) != 0 {
			t.Fatalf("groups without a runtime (stored ones) = %v %d %v", gs, total, err)
		}
	})
}

// mustIngest stores an engine event as the runtime would, failing the test
// when that fails.
func mustIngest(t *testing.T, svc *service.Service, channelID string, ev engine.Event) {
	t.Helper()
	if err := svc.Ingest(context.Background(), channelID, ev); err != nil {
		t.Fatalf("Ingest %T: %v", ev, err)
	}
}
