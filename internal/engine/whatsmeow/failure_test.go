package whatsmeow

import (
	"reflect"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/fakewa"
)

// Every way WhatsApp ends or refuses a connection, played by fakewa to a
// linked session: the events the session emits (type, code, version),
// whether it stays linked and keeps its device in the store, and that it
// never reconnects by itself (the runtime owns reconnection).

// checkEnd checks how a connection ended: the lifecycle events from index
// from on are exactly want (once they all came), the session is linked and
// its device stored or neither, and it does not reconnect by itself.
func checkEnd(t *testing.T, w *world, o *online, from int, linked bool, want ...engine.Event) {
	t.Helper()
	for deadline := time.Now().Add(wait); len(o.lifecycle(from)) < len(want) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	noReconnect(t, o.dev)
	if got := o.lifecycle(from); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %#v, want %#v", got, want)
	}
	if o.Linked() != linked {
		t.Fatalf("linked = %v, want %v", o.Linked(), linked)
	}
	waitFor(t, wait, func() bool { return hasDevice(t, w.e, o.device) == linked })
}

// A stream error 503 ("restart"), while connected and in answer to a
// login: StreamError then Disconnected, the login is kept, and the next
// Connect logs in.
func TestStreamError503(t *testing.T) {
	w := newWorld(t, Options{})
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	n := len(o.rec.all())
	if err := o.dev.Inject(fakewa.StreamError("503")); err != nil {
		t.Fatal(err)
	}
	checkEnd(t, w, o, n, true, engine.StreamError{Code: "503"}, engine.Disconnected{})

	o.dev.OnConnect(fakewa.StreamError("503"))
	n = len(o.rec.all())
	if err := o.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	checkEnd(t, w, o, n, true, engine.StreamError{Code: "503"}, engine.Disconnected{})
	if at := w.srv.Attempts(); at[len(at)-1].Result != "stream:503" {
		t.Fatalf("last attempt %+v", at[len(at)-1])
	}

	// Another code is WhatsApp's too (whatsmeow reports it itself).
	o.connect()
	n = len(o.rec.all())
	if err := o.dev.Inject(fakewa.StreamError("479")); err != nil {
		t.Fatal(err)
	}
	checkEnd(t, w, o, n, true, engine.StreamError{Code: "479"}, engine.Disconnected{})
	o.connect()
}
