package whatsmeow

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/fakewa"
)

// One contact arriving by phone number, then by LID with the number
// beside it, then by LID alone is one chat with one ID (the number); the
// pair goes out once, before the first message that taught it. A contact
// whose number WhatsApp never told keeps its LID.
func TestLIDContactIsOneChat(t *testing.T) {
	w := newWorld(t, Options{})
	dave, err := w.srv.AddPeer(fakewa.PeerOptions{Phone: "15550002222", LID: "987654321098765", PushName: "Dave"})
	if err != nil {
		t.Fatal(err)
	}
	erin, err := w.srv.AddPeer(fakewa.PeerOptions{Phone: "15550003333", LID: "876543210987654", PushName: "Erin"})
	if err != nil {
		t.Fatal(err)
	}
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	pn, lid := dave.JID().String(), dave.LID().String()
	from := len(o.rec.all())
	for _, by := range []string{"", fakewa.AddressLID, fakewa.AddressLIDOnly} {
		n := len(o.rec.all())
		sent, err := dave.SendWith(o.acct, &waE2E.Message{Conversation: proto.String("by " + by)}, fakewa.SendOptions{Addressing: by})
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := o.rec.wait(t, n, wait, func(ev engine.Event) bool { m, ok := ev.(engine.Message); return ok && m.ID == sent.ID })
		if m := ev.(engine.Message); m.Chat != pn || m.Sender != pn {
			t.Fatalf("message addressed by %q: chat %s sender %s, want %s", by, m.Chat, m.Sender, pn)
		}
	}
	var maps []engine.LIDMappings
	for _, ev := range o.rec.all()[from:] {
		if m, ok := ev.(engine.LIDMappings); ok {
			maps = append(maps, m)
		}
	}
	if len(maps) != 1 || !slices.Contains(maps[0].Pairs, engine.LIDPair{LID: lid, PN: pn}) {
		t.Fatalf("LID mappings reported: %+v", maps)
	}

	// Erin only ever comes by LID: the address is kept, not dropped.
	n := len(o.rec.all())
	sent, err := erin.SendWith(o.acct, &waE2E.Message{Conversation: proto.String("hidden")}, fakewa.SendOptions{Addressing: fakewa.AddressLIDOnly})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := o.rec.wait(t, n, wait, func(ev engine.Event) bool { m, ok := ev.(engine.Message); return ok && m.ID == sent.ID })
	if m := ev.(engine.Message); m.Chat != erin.LID().String() || m.Sender != erin.LID().String() {
		t.Fatalf("LID-only message: chat %s sender %s", m.Chat, m.Sender)
	}
}

// The resolver gives every address of every data event its number from
// the pairs it learned; malformed and unknown LIDs, groups and numbers stay
// as they are.
func TestResolverRewritesEveryAddress(t *testing.T) {
	r := newResolver(context.Background(), nil)
	lid, _ := types.ParseJID("123456789012345@lid")
	pn, _ := types.ParseJID("15550001111@s.whatsapp.net")
	r.pair(pn, lid) // either order
	const L, P, G, U = "123456789012345@lid", "15550001111@s.whatsapp.net", "120363000000000001@g.us", "999999999999999@lid"
	cases := []struct{ in, want engine.Event }{
		{engine.Message{Chat: L, Sender: L, Content: engine.Content{Mentions: []string{L, U}, QuotedSender: L}},
			engine.Message{Chat: P, Sender: P, Content: engine.Content{Mentions: []string{P, U}, QuotedSender: P}}},
		{engine.Receipt{Chat: G, Sender: L}, engine.Receipt{Chat: G, Sender: P}},
		{engine.Presence{Chat: L, User: L}, engine.Presence{Chat: P, User: P}},
		{engine.GroupChange{Group: G, Actor: L, Participants: []string{L, "abc@lid", U}},
			engine.GroupChange{Group: G, Actor: P, Participants: []string{P, "abc@lid", U}}},
		{engine.Call{From: L, Chat: L}, engine.Call{From: P, Chat: P}},
		{engine.Undecryptable{Chat: L, Sender: L}, engine.Undecryptable{Chat: P, Sender: P}},
		{engine.ChatStateChange{Chat: L}, engine.ChatStateChange{Chat: P}},
		{engine.LabelChatChange{Chat: L, Label: "1"}, engine.LabelChatChange{Chat: P, Label: "1"}},
	}
	for _, c := range cases {
		if got := r.rewrite(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("rewrite(%+v) = %+v, want %+v", c.in, got, c.want)
		}
	}
	if len(r.pairs) != 1 || r.pairs[0] != (engine.LIDPair{LID: L, PN: P}) {
		t.Fatalf("pairs = %+v", r.pairs)
	}
}
