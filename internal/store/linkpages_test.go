package store_test

import (
	"bytes"
	"testing"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestLinkPages: the signing key is made once and kept; pages are stored,
// read, listed per partner and channel, and pruned once expired.
func TestLinkPages(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		k1, err := st.LinkPageSecret(bg())
		noErr(t, "secret", err)
		k2, err := st.LinkPageSecret(bg())
		noErr(t, "secret again", err)
		if len(k1) != 32 || !bytes.Equal(k1, k2) {
			t.Fatalf("secret %x then %x", k1, k2)
		}
		old := model.LinkPage{ID: "old", PartnerID: "p1", ChannelID: "c1", CreatedAt: t0, ExpiresAt: t0.Add(day)}
		cur := model.LinkPage{ID: "cur", PartnerID: "p1", ChannelID: "c2", CreatedAt: t0, ExpiresAt: t0.Add(3 * day), BrandName: "Acme"}
		other := model.LinkPage{ID: "oth", PartnerID: "p2", ChannelID: "c3", CreatedAt: t0, ExpiresAt: t0.Add(3 * day)}
		for _, p := range []model.LinkPage{old, cur, other} {
			noErr(t, "put", st.PutLinkPage(bg(), p))
		}
		got, err := st.LinkPage(bg(), "cur")
		noErr(t, "get", err)
		if got.BrandName != "Acme" || !got.ExpiresAt.Equal(cur.ExpiresAt) || got.ChannelID != "c2" {
			t.Fatalf("page = %+v", got)
		}
		_, err = st.LinkPage(bg(), "nope")
		wantErr(t, "unknown", err, model.ErrNotFound)
		list, err := st.LinkPages(bg(), "p1", "")
		noErr(t, "list", err)
		if len(list) != 2 {
			t.Fatalf("p1's pages = %+v", list)
		}
		list, err = st.LinkPages(bg(), "p1", "c2")
		noErr(t, "list of a channel", err)
		if len(list) != 1 || list[0].ID != "cur" {
			t.Fatalf("c2's pages = %+v", list)
		}
		n, err := st.PruneLinkPages(bg(), t0.Add(2*day))
		noErr(t, "prune", err)
		if n != 1 {
			t.Fatalf("pruned %d, want 1", n)
		}
		_, err = st.LinkPage(bg(), "old")
		wantErr(t, "pruned", err, model.ErrNotFound)
		// The other settings rows are no pages.
		all, err := st.LinkPages(bg(), "", "")
		noErr(t, "all", err)
		if len(all) != 2 {
			t.Fatalf("all pages = %+v", all)
		}
	})
}
