package store_test

import (
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

func TestMediaRefs(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a, b := twoChannels(t, st)
		r := store.MediaRef{ChannelID: a.ID, MediaID: "jpeg-0011223344", MessageID: "M1", ChatID: "15550000001@s.whatsapp.net",
			Sender: "15550000001@s.whatsapp.net", Kind: "image", MimeType: "image/jpeg", FileName: "x.jpg", Ref: "wm1:abc", CreatedAt: t0}
		noErr(t, "put", st.PutMediaRef(bg(), r))
		again := r
		again.Ref = "wm1:other"
		noErr(t, "put again", st.PutMediaRef(bg(), again)) // the first stays
		got, err := st.MediaRef(bg(), a.ID, r.MediaID)
		noErr(t, "read", err)
		if got != r {
			t.Fatalf("ref = %+v, want %+v", got, r)
		}
		if got, err := st.MediaRefOfMessage(bg(), a.ID, "M1"); err != nil || got.MediaID != r.MediaID {
			t.Fatalf("by message = %+v %v", got, err)
		}
		_, err = st.MediaRef(bg(), b.ID, r.MediaID)
		wantErr(t, "another channel's ref", err, store.ErrMediaRefNotFound)
		_, err = st.MediaRefOfMessage(bg(), a.ID, "M2")
		wantErr(t, "unknown message", err, store.ErrMediaRefNotFound)
		if n, err := st.DeleteMediaRefsBefore(bg(), t0.Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("prune = %d %v", n, err)
		}
		_, err = st.MediaRef(bg(), a.ID, r.MediaID)
		wantErr(t, "pruned", err, store.ErrMediaRefNotFound)
	})
}

func TestCalls(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a, b := twoChannels(t, st)
		caller := "15550000001@s.whatsapp.net"
		hook := func(c store.Call) []model.WebhookDelivery { return nil }
		c, err := st.UpdateCall(bg(), a.ID, "CALL1", func(c *store.Call, created bool) error {
			if !created {
				t.Error("a new call is not created")
			}
			c.ChatID, c.Caller, c.Status, c.Video, c.UpdatedAt = caller, caller, "offer", true, t0
			return nil
		}, hook)
		noErr(t, "create", err)
		if !c.CreatedAt.Equal(t0) || !c.Video {
			t.Fatalf("call = %+v", c)
		}
		c, err = st.UpdateCall(bg(), a.ID, "CALL1", func(c *store.Call, created bool) error {
			if created {
				t.Error("an existing call is created again")
			}
			c.Status, c.Answered, c.UpdatedAt = "accept", true, t0.Add(time.Minute)
			return nil
		}, nil)
		noErr(t, "update", err)
		got, err := st.Call(bg(), a.ID, "CALL1")
		noErr(t, "read", err)
		if got != c || got.Status != "accept" || !got.Answered || !got.CreatedAt.Equal(t0) || got.Caller != caller {
			t.Fatalf("call = %+v, want %+v", got, c)
		}
		_, err = st.Call(bg(), b.ID, "CALL1")
		wantErr(t, "another channel's call", err, store.ErrCallNotFound)
		if n, err := st.DeleteCallsBefore(bg(), t0.Add(2*time.Minute)); err != nil || n != 1 {
			t.Fatalf("prune = %d %v", n, err)
		}
	})
}
