package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// twoChannels stores a partner with two channels.
func twoChannels(t *testing.T, st *store.Store) (model.Channel, model.Channel) {
	t.Helper()
	p := newPartner(t, st, fmt.Sprintf("grp%d", time.Now().UnixNano()), 0, t0)
	return newChannel(t, st, p.ID, "default", t0, 5), newChannel(t, st, p.ID, "default", t0, 5)
}

func group(channelID, id, subject string, participants ...store.GroupParticipant) store.Group {
	return store.Group{
		ChannelID: channelID, ID: id, Subject: subject, SubjectAt: t0, Description: "about " + subject,
		Owner: "15550000001@s.whatsapp.net", CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0,
		Participants: participants,
	}
}

func member(n int, rank string) store.GroupParticipant {
	return store.GroupParticipant{UserID: fmt.Sprintf("155500000%02d@s.whatsapp.net", n), Rank: rank}
}

func TestGroups(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a, b := twoChannels(t, st)
		g1 := group(a.ID, "120363000000000001@g.us", "Beta team", member(3, store.RankMember), member(1, store.RankCreator), member(2, store.RankAdmin))
		g1.Announce = true
		noErr(t, "save g1", st.SaveGroup(bg(), g1))
		noErr(t, "save g2", st.SaveGroup(bg(), group(a.ID, "120363000000000002@g.us", "Alpha team", member(1, store.RankCreator))))
		// The same group ID on another channel is another row.
		noErr(t, "save b's", st.SaveGroup(bg(), group(b.ID, "120363000000000001@g.us", "B's view")))

		got, err := st.Group(bg(), a.ID, g1.ID)
		noErr(t, "read g1", err)
		want := g1
		want.Participants = []store.GroupParticipant{member(1, store.RankCreator), member(2, store.RankAdmin), member(3, store.RankMember)}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("group = %+v\nwant    %+v", got, want)
		}
		if p, ok := got.Participant(member(2, "").UserID); !ok || !p.IsAdmin() {
			t.Fatalf("participant 2 = %+v %v", p, ok)
		}

		list, total, err := st.Groups(bg(), a.ID, 10, 0)
		noErr(t, "list", err)
		if total != 2 || len(list) != 2 || list[0].Subject != "Alpha team" || len(list[1].Participants) != 3 || len(list[0].Participants) != 1 {
			t.Fatalf("groups = %d %+v", total, list)
		}
		page, total, err := st.Groups(bg(), a.ID, 1, 1)
		noErr(t, "page", err)
		if total != 2 || len(page) != 1 || page[0].ID != g1.ID {
			t.Fatalf("page = %d %+v", total, page)
		}
		if bl, total, _ := st.Groups(bg(), b.ID, 10, 0); total != 1 || bl[0].Subject != "B's view" || len(bl[0].Participants) != 0 {
			t.Fatalf("b's groups = %d %+v", total, bl)
		}

		// Saving again replaces the participants; an empty invite code keeps the stored one.
		up, err := st.UpdateGroup(bg(), a.ID, g1.ID, func(g *store.Group) error {
			g.InviteCode = "AbCdEfGhIjKlMnOpQrStUv"
			g.SetParticipant(member(3, "").UserID, store.RankAdmin)
			g.SetParticipant(member(4, "").UserID, store.RankMember)
			if !g.RemoveParticipant(member(2, "").UserID) || g.RemoveParticipant("nobody@s.whatsapp.net") {
				t.Error("RemoveParticipant reports wrongly")
			}
			return nil
		})
		noErr(t, "update", err)
		wantP := []store.GroupParticipant{member(1, store.RankCreator), member(3, store.RankAdmin), member(4, store.RankMember)}
		if !reflect.DeepEqual(up.Participants, wantP) {
			t.Fatalf("updated participants = %+v", up.Participants)
		}
		g1.Subject = "Beta team 2"
		g1.Participants = nil
		noErr(t, "save again", st.SaveGroup(bg(), g1))
		got, _ = st.Group(bg(), a.ID, g1.ID)
		if got.InviteCode != "AbCdEfGhIjKlMnOpQrStUv" || got.Subject != "Beta team 2" || len(got.Participants) != 0 {
			t.Fatalf("after save = %+v", got)
		}
		// A zero SubjectAt keeps the stored one while the subject is the same.
		same := g1
		same.SubjectAt = time.Time{}
		noErr(t, "save without subject time", st.SaveGroup(bg(), same))
		if got, _ := st.Group(bg(), a.ID, g1.ID); !got.SubjectAt.Equal(t0) {
			t.Fatalf("subject time = %v, want it kept", got.SubjectAt)
		}
		same.Subject = "Renamed elsewhere"
		noErr(t, "save a new subject without its time", st.SaveGroup(bg(), same))
		if got, _ := st.Group(bg(), a.ID, g1.ID); !got.SubjectAt.IsZero() {
			t.Fatalf("subject time = %v, want unknown for a new subject", got.SubjectAt)
		}
		noErr(t, "restore", st.SaveGroup(bg(), g1))
		// A failing fn changes nothing.
		boom := errors.New("boom")
		_, err = st.UpdateGroup(bg(), a.ID, g1.ID, func(g *store.Group) error { g.Subject = "x"; return boom })
		wantErr(t, "failing update", err, boom)
		if got, _ := st.Group(bg(), a.ID, g1.ID); got.Subject != "Beta team 2" {
			t.Fatalf("failed update changed the subject to %q", got.Subject)
		}
		_, err = st.UpdateGroup(bg(), a.ID, "120363000000000009@g.us", func(*store.Group) error { return nil })
		wantErr(t, "update unknown", err, store.ErrGroupNotFound)
		_, err = st.Group(bg(), b.ID, "120363000000000002@g.us")
		wantErr(t, "other channel's group", err, model.ErrNotFound)

		// Replace: the list the account is in now.
		g3 := group(a.ID, "120363000000000003@g.us", "Gamma", member(5, store.RankCreator))
		g2 := group(a.ID, "120363000000000002@g.us", "Alpha renamed", member(1, store.RankCreator), member(6, store.RankMember))
		noErr(t, "replace", st.ReplaceGroups(bg(), a.ID, []store.Group{g2, g3}))
		list, total, _ = st.Groups(bg(), a.ID, 10, 0)
		if total != 2 || list[0].Subject != "Alpha renamed" || list[1].ID != g3.ID || len(list[0].Participants) != 2 {
			t.Fatalf("after replace = %d %+v", total, list)
		}
		if err := st.ReplaceGroups(bg(), a.ID, []store.Group{group(b.ID, "120363000000000004@g.us", "x")}); err == nil {
			t.Fatal("replace with another channel's group succeeded")
		}
		if _, total, _ := st.Groups(bg(), b.ID, 10, 0); total != 1 {
			t.Fatalf("replacing a's groups touched b's: %d", total)
		}

		noErr(t, "delete", st.DeleteGroup(bg(), a.ID, g3.ID))
		wantErr(t, "delete again", st.DeleteGroup(bg(), a.ID, g3.ID), store.ErrGroupNotFound)
		wantErr(t, "read deleted", func() error { _, err := st.Group(bg(), a.ID, g3.ID); return err }(), store.ErrGroupNotFound)
		var n int
		noErr(t, "count participants", st.DB().QueryRow("SELECT COUNT(*) FROM wa_group_participants WHERE group_id = '120363000000000003@g.us'").Scan(&n))
		if n != 0 {
			t.Fatalf("a deleted group left %d participants", n)
		}
		noErr(t, "replace with none", st.ReplaceGroups(bg(), a.ID, nil))
		if _, total, _ := st.Groups(bg(), a.ID, 10, 0); total != 0 {
			t.Fatalf("replace with none left %d groups", total)
		}
	})
}

func TestUpdateGroupConcurrent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a, _ := twoChannels(t, st)
		gid := "120363000000000010@g.us"
		noErr(t, "save", st.SaveGroup(bg(), group(a.ID, gid, "Busy")))
		const n = 12
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.UpdateGroup(bg(), a.ID, gid, func(g *store.Group) error {
					g.SetParticipant(member(i, "").UserID, store.RankMember)
					return nil
				})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			noErr(t, "concurrent update", err)
		}
		if got, _ := st.Group(bg(), a.ID, gid); len(got.Participants) != n {
			t.Fatalf("%d participants after %d concurrent adds: a lost update", len(got.Participants), n)
		}
	})
}
