package whatsmeow

import (
	"errors"
	"testing"

	wm "go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"

	"github.com/wagate/wagate/internal/engine"
)

// The presence asked for is sent again on every connection once the push
// name is known (whatsmeow refuses a presence without it), with the name.
func TestPresenceSentOnConnect(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	ctx := ctxT(t)
	name := o.cli.Store.PushName
	o.cli.Store.PushName = "" // not known yet, as right after linking
	if err := o.SetPresence(ctx, true); !errors.Is(err, wm.ErrNoPushName) {
		t.Fatalf("SetPresence without a push name: %v", err)
	}
	o.Disconnect()
	o.cli.Store.PushName = "Me" + name // as the phone's app state sets it
	o.connect()
	n, err := o.conn.WaitNode(ctx, func(n *waBinary.Node) bool { return n.Tag == "presence" })
	if err != nil {
		t.Fatalf("no presence after connecting: %v", err)
	}
	if n.Attrs["type"] != "available" || n.Attrs["name"] != "Me"+name {
		t.Fatalf("presence = %v", n.Attrs)
	}
}
