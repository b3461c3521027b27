package fakewa_test

import (
	"context"
	"fmt"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/fakewa"
)

// A test links a whatsmeow client to an account, receives an end-to-end
// encrypted message from a peer, answers it, and then sees the server
// refuse its next login as outdated. (Not run: it needs a device store.)
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := fakewa.Start(fakewa.Options{}) // in a test: fakewa.New(t, opts)
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	var device *store.Device // from sqlstore, as in production
	cli := wm.NewClient(device, nil)
	srv.Configure(cli) // or as the engine's client hook
	acct := srv.Account("15551234567")
	cli.AddEventHandler(func(ev any) {
		if qr, ok := ev.(*events.QR); ok {
			go func() { _, _ = acct.ScanQR(ctx, qr.Codes[0]) }() // the phone scans
		}
	})
	_ = cli.Connect()
	d, _ := acct.Devices()[0].WaitOnline(ctx) // after pairing, 515 and login

	bob, _ := srv.AddPeer(fakewa.PeerOptions{Phone: "15557654321", LID: "77000000000001", PushName: "Bob"})
	sent, _ := bob.SendText(acct, "hello")           // pkmsg, then msg: an events.Message
	_, _ = acct.Devices()[0].WaitAcked(ctx, sent.ID) // the client's receipt
	_, _ = cli.SendMessage(ctx, bob.JID(), &waE2E.Message{Conversation: proto.String("hi")})
	got, _ := bob.Wait(ctx, func(r fakewa.Received) bool { return r.Message.GetConversation() == "hi" })
	fmt.Println(got.ID != "", d.DeviceJID())

	acct.RequireVersion(store.WAVersionContainer{2, 3000, 1099999999}) // 405 until then
	_ = d.Device().Inject(fakewa.StreamError("503"))                   // whatsmeow reconnects: events.ClientOutdated
}
