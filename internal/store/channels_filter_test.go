package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestFilterChannels: status, mode, project and "expires within" filters,
// and the orders, alike on every backend; another partner's channels never
// show.
func TestFilterChannels(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := newPartner(t, st, "filt", 0, t0)
		other := newPartner(t, st, "other", 0, t0)
		proj := model.Project{ID: "AAAAAAAAAAAAAAAAAAAA", PartnerID: p.ID, Name: "A", CreatedAt: t0}
		noErr(t, "project", st.CreateProject(bg(), proj))
		a := newChannel(t, st, p.ID, "default", t0, 10)                    // active, trial, ends in 10 days
		b := newChannel(t, st, p.ID, proj.ID, t0.Add(time.Minute), 2)      // active, ends in 2 days
		c := newChannel(t, st, p.ID, "default", t0.Add(2*time.Minute), -1) // expired
		d := newChannel(t, st, p.ID, proj.ID, t0.Add(3*time.Minute), 5)    // stopped below
		newChannel(t, st, other.ID, "default", t0, 3)
		_, _, err := st.MutateChannel(bg(), p.ID, d.ID, t0, func(ch model.Channel) (store.ChannelChange, error) {
			ch.Stopped = true
			return store.ChannelChange{Channel: ch}, nil
		})
		noErr(t, "stop", err)
		_, _, err = st.MutateChannel(bg(), p.ID, b.ID, t0, func(ch model.Channel) (store.ChannelChange, error) {
			ch.Mode = model.ModeLive
			return store.ChannelChange{Channel: ch}, nil
		})
		noErr(t, "mode", err)

		for _, tc := range []struct {
			name string
			f    store.ChannelFilter
			want []model.Channel
		}{
			{"all", store.ChannelFilter{}, []model.Channel{a, b, c, d}},
			{"newest first", store.ChannelFilter{Sort: "-created"}, []model.Channel{d, c, b, a}},
			{"active", store.ChannelFilter{Status: "active"}, []model.Channel{a, b}},
			{"expired", store.ChannelFilter{Status: "expired"}, []model.Channel{c}},
			{"stopped", store.ChannelFilter{Status: "stopped"}, []model.Channel{d}},
			{"live", store.ChannelFilter{Mode: "live"}, []model.Channel{b}},
			{"project", store.ChannelFilter{ProjectID: proj.ID}, []model.Channel{b, d}},
			{"expires within 3 days", store.ChannelFilter{ExpiresWithin: 3 * day}, []model.Channel{b}},
			{"expiring first", store.ChannelFilter{Status: "active", Sort: "expires"}, []model.Channel{b, a}},
		} {
			tc.f.Now = t0
			got, total, err := st.FilterChannels(bg(), p.ID, tc.f, 50, 0)
			noErr(t, tc.name, err)
			var gotIDs, wantIDs []string
			for _, ch := range got {
				gotIDs = append(gotIDs, ch.ID)
			}
			for _, ch := range tc.want {
				wantIDs = append(wantIDs, ch.ID)
			}
			if !slices.Equal(gotIDs, wantIDs) || total != len(wantIDs) {
				t.Fatalf("%s: %v (total %d), want %v", tc.name, gotIDs, total, wantIDs)
			}
		}
		// Paging: the second page of two.
		got, total, err := st.FilterChannels(bg(), p.ID, store.ChannelFilter{Now: t0}, 2, 2)
		noErr(t, "page", err)
		if total != 4 || len(got) != 2 || got[0].ID != c.ID || got[1].ID != d.ID {
			t.Fatalf("page 2 = %v (total %d)", got, total)
		}
		_, _, err = st.FilterChannels(bg(), p.ID, store.ChannelFilter{Sort: "price; DROP TABLE channels"}, 2, 0)
		wantErr(t, "unknown sort", err, model.ErrInvalid)
		_, _, err = st.FilterChannels(bg(), p.ID, store.ChannelFilter{Status: "gone"}, 2, 0)
		wantErr(t, "unknown status", err, model.ErrInvalid)
	})
}
