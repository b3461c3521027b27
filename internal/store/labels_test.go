package store_test

import (
	"testing"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

func TestLabels(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		a, b := twoChannels(t, st)
		chat := "15550000001@s.whatsapp.net"
		hooked := 0
		hook := func(before *store.Label, after store.Label) []model.WebhookDelivery {
			hooked++
			return nil
		}
		if id, err := st.NextLabelID(bg(), a.ID); err != nil || id != "1" {
			t.Fatalf("first ID = %q %v", id, err)
		}
		for _, l := range []store.Label{{ID: "2", Name: "New customer", Color: 1}, {ID: "10", Name: "Paid", Color: 5}, {ID: "9", Name: "Lead", Color: 0}} {
			l.ChannelID, l.UpdatedAt = a.ID, t0
			if _, err := st.PutLabel(bg(), l, hook); err != nil {
				t.Fatal(err)
			}
		}
		same, err := st.PutLabel(bg(), store.Label{ChannelID: a.ID, ID: "2", Name: "New customer", Color: 1, UpdatedAt: t0}, hook)
		noErr(t, "put unchanged", err)
		if hooked != 3 || same.Name != "New customer" {
			t.Fatalf("hooks = %d, label %+v: an unchanged label is a change", hooked, same)
		}
		if id, err := st.NextLabelID(bg(), a.ID); err != nil || id != "11" {
			t.Fatalf("next ID = %q %v", id, err)
		}
		list, err := st.Labels(bg(), a.ID)
		noErr(t, "list", err)
		if len(list) != 3 || list[0].ID != "2" || list[1].ID != "9" || list[2].ID != "10" {
			t.Fatalf("labels = %+v", list)
		}
		if other, err := st.Labels(bg(), b.ID); err != nil || len(other) != 0 {
			t.Fatalf("another channel's labels = %+v %v", other, err)
		}
		_, err = st.Label(bg(), b.ID, "2")
		wantErr(t, "another channel's label", err, store.ErrLabelNotFound)

		noErr(t, "label chat", st.SetChatLabel(bg(), a.ID, "2", chat, true, t0, nil))
		noErr(t, "label chat 10", st.SetChatLabel(bg(), a.ID, "10", chat, true, t0, nil))
		wantErr(t, "label again", st.SetChatLabel(bg(), a.ID, "2", chat, true, t0, nil), store.ErrLabelAssociationExists)
		l, err := st.Label(bg(), a.ID, "2")
		if err != nil || l.Count != 1 || l.Name != "New customer" || l.Color != 1 {
			t.Fatalf("label = %+v %v", l, err)
		}
		byChat, err := st.ChatLabels(bg(), a.ID, []string{chat, "15550000002@s.whatsapp.net"})
		noErr(t, "chat labels", err)
		if got := byChat[chat]; len(got) != 2 || got[0].ID != "2" || got[1].ID != "10" || len(byChat) != 1 {
			t.Fatalf("chat labels = %+v", byChat)
		}
		if other, err := st.ChatLabels(bg(), b.ID, []string{chat}); err != nil || len(other) != 0 {
			t.Fatalf("another channel's chat labels = %+v %v", other, err)
		}
		if chats, err := st.LabelChats(bg(), a.ID, "2"); err != nil || len(chats) != 1 || chats[0] != chat {
			t.Fatalf("label chats = %v %v", chats, err)
		}
		noErr(t, "unlabel", st.SetChatLabel(bg(), a.ID, "2", chat, false, t0, nil))
		wantErr(t, "unlabel again", st.SetChatLabel(bg(), a.ID, "2", chat, false, t0, nil), store.ErrLabelAssociationNotFound)

		noErr(t, "delete", st.DeleteLabel(bg(), a.ID, "10"))
		wantErr(t, "delete again", st.DeleteLabel(bg(), a.ID, "10"), store.ErrLabelNotFound)
		if byChat, err := st.ChatLabels(bg(), a.ID, []string{chat}); err != nil || len(byChat) != 0 {
			t.Fatalf("a deleted label stays on its chat: %+v %v", byChat, err)
		}
	})
}
