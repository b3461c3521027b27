package app_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/appstate"
	wstore "go.mau.fi/whatsmeow/store"

	"github.com/wagate/wagate/internal/fakewa"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestAppStateWhatsmeow plays app state both ways through the real server
// on the whatsmeow engine against the fake WhatsApp server: an archive and
// a label made on the phone show in /chats and /labels with chats.patch
// and labels webhooks (validated against the document); an archive and a
// label made through the API reach WhatsApp as app state patches the
// phone decodes.
func TestAppStateWhatsmeow(t *testing.T) {
	fw := fakewa.New(t, fakewa.Options{})
	o := waOptions(fw)
	var (
		mu      sync.Mutex
		clients []*wm.Client
	)
	o.Whatsmeow.ClientHook = func(cli *wm.Client) {
		fw.Configure(cli)
		mu.Lock()
		clients = append(clients, cli)
		mu.Unlock()
	}
	w := startWA(t, fw, waConfig(t, storetest.Backends(t)[0]), o)
	c := w.newChannel(t, "waappstate", "15553300001")
	peer, err := fw.AddPeer(fakewa.PeerOptions{Phone: "15553300002", PushName: "Eli"})
	if err != nil {
		t.Fatal(err)
	}
	s := w.liveServer
	s.call(200, "PATCH", "/settings", c.tok, map[string]any{"webhooks": []any{map[string]any{"url": c.hooks.srv.URL + "/c",
		"events": subscribe("channel.post", "messages.post", "chats.post", "chats.patch", "labels.post", "labels.delete")}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	chat := peer.JID().String()
	if _, err := peer.SendText(c.acct, "hello"); err != nil {
		t.Fatal(err)
	}
	c.hooks.wait(t, "messages.post", nil)

	// Without the phone's app state key the API cannot archive.
	if code, body := s.try("POST", "/chats/"+chat, c.tok, map[string]any{"archive": true}); code != 409 || !strings.Contains(body, "app state keys") {
		t.Fatalf("archive without keys: %d %s", code, body)
	}
	// The phone shares its key with the device (as its key share message
	// would).
	id, data := c.acct.AppStateKey()
	mu.Lock()
	cli := clients[len(clients)-1]
	mu.Unlock()
	if err := cli.Store.AppStateKeys.PutAppStateSyncKey(ctx, id, wstore.AppStateSyncKey{Data: data, Fingerprint: []byte{1}, Timestamp: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}

	// Archived on the phone: /chats shows it, with chats.patch.
	if err := c.acct.PushAppState(ctx, appstate.BuildArchive(peer.JID(), true, time.Time{}, nil)); err != nil {
		t.Fatal(err)
	}
	patch := c.hooks.wait(t, "chats.patch", func(h hookCall) bool { return strings.Contains(string(h.Raw), `"archive":true`) })
	if !strings.Contains(string(patch.Raw), `"changes":["archive"]`) {
		t.Fatalf("chats.patch = %s", patch.Raw)
	}
	archived := false
	for _, x := range s.call(200, "GET", "/chats", c.tok, nil)["chats"].([]any) {
		if m := x.(map[string]any); m["id"] == chat {
			archived = m["archive"] == true
		}
	}
	if !archived {
		t.Fatal("the phone's archive is not in /chats")
	}

	// A label made on the phone and put on the chat.
	if err := c.acct.PushAppState(ctx, appstate.BuildLabelEdit("5", "Client", 3, false)); err != nil {
		t.Fatal(err)
	}
	c.hooks.wait(t, "labels.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), `"name":"Client"`) })
	if err := c.acct.PushAppState(ctx, appstate.BuildLabelChat(peer.JID(), "5", true)); err != nil {
		t.Fatal(err)
	}
	c.hooks.wait(t, "chats.patch", func(h hookCall) bool { return strings.Contains(string(h.Raw), `"changes":["labels"]`) })
	if l := s.call(200, "GET", "/labels/5", c.tok, nil)["chats"].([]any); len(l) != 1 {
		t.Fatalf("label 5's chats = %v", l)
	}

	// A label the phone made long ago, past Whapi's two digits: it shows,
	// and a new label takes the lowest free ID.
	if err := c.acct.PushAppState(ctx, appstate.BuildLabelEdit("150", "Old", 19, false)); err != nil {
		t.Fatal(err)
	}
	c.hooks.wait(t, "labels.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), `"id":"150"`) })
	if l := s.call(200, "GET", "/labels/150", c.tok, nil); len(l["chats"].([]any)) != 0 {
		t.Fatalf("label 150 = %v", l)
	}

	// Through the API: unarchive and a new label reach WhatsApp.
	s.call(200, "POST", "/chats/"+chat, c.tok, map[string]any{"archive": false})
	m, err := c.acct.WaitAppState(ctx, func(m fakewa.AppStateMutation) bool {
		return m.Index[0] == appstate.IndexArchive && m.Index[1] == chat
	})
	if err != nil || m.Action.GetArchiveChatAction().GetArchived() {
		t.Fatalf("unarchive patch = %v, %v", m.Action, err)
	}
	s.call(200, "POST", "/labels", c.tok, map[string]any{"name": "Lead", "color": "cyan"})
	m, err = c.acct.WaitAppState(ctx, func(m fakewa.AppStateMutation) bool { return m.Index[0] == appstate.IndexLabelEdit })
	if err != nil || m.Index[1] != "1" || m.Action.GetLabelEditAction().GetName() != "Lead" || m.Action.GetLabelEditAction().GetColor() != 10 {
		t.Fatalf("label patch = %v %v, %v", m.Index, m.Action, err)
	}
	s.call(200, "DELETE", "/labels/5/"+chat, c.tok, nil)
	if _, err := c.acct.WaitAppState(ctx, func(m fakewa.AppStateMutation) bool {
		return m.Index[0] == appstate.IndexLabelAssociationChat && !m.Action.GetLabelAssociationAction().GetLabeled()
	}); err != nil {
		t.Fatal(err)
	}
	// The phone deletes its label: labels.delete.
	if err := c.acct.PushAppState(ctx, appstate.BuildLabelEdit("5", "Client", 3, true)); err != nil {
		t.Fatal(err)
	}
	c.hooks.wait(t, "labels.delete", nil)
	c.hooks.conforms(t, "WebhookPayload")
}
