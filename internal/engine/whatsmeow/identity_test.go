package whatsmeow

import (
	"slices"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
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
