package fakewa_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/internal/fakewa"
)

func TestPairQRThenLoginAgain(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	acct := srv.Account("15551234567")
	acct.SetBusinessName("Acme")

	c := newClient(t, srv, openStore(t), nil)
	c.connect()
	conn, err := srv.NextConn(ctxT(t))
	if err != nil || conn.Login() {
		t.Fatalf("first connection: %v, login=%v", err, conn != nil && conn.Login())
	}
	qr, _ := waitEvent[*events.QR](c, 0)
	if len(qr.Codes) != 6 || len(strings.Split(qr.Codes[0], ",")) != 4 {
		t.Fatalf("QR codes %v", qr.Codes)
	}
	if _, err := acct.ScanQR(ctxT(t), "2@nope,"+strings.SplitN(qr.Codes[0], ",", 2)[1]); !errors.Is(err, fakewa.ErrUnknownQR) {
		t.Fatalf("scanning an unknown ref: %v", err)
	}
	d, err := acct.ScanQR(ctxT(t), qr.Codes[2])
	if err != nil {
		t.Fatalf("ScanQR: %v", err)
	}
	ps, i := waitEvent[*events.PairSuccess](c, 0)
	if ps.ID != d.JID() || ps.LID != d.LID() || ps.BusinessName != "Acme" || d.ID() != 1 {
		t.Fatalf("PairSuccess %+v, device %s %s", ps, d.JID(), d.LID())
	}
	if _, err := conn.WaitNode(ctxT(t), fakewa.Tag("iq", "pair-device-sign")); err != nil {
		t.Fatal(err)
	}
	// WhatsApp's 515, then the login as the new device.
	login, err := srv.NextConn(ctxT(t))
	if err != nil || !login.Login() || login.DeviceJID() != d.JID() {
		t.Fatalf("after 515: %v %v", err, login)
	}
	waitEvent[*events.Connected](c, i)
	if got := c.cli.Store.GetJID(); got != d.JID() || c.cli.Store.GetLID() != d.LID() {
		t.Fatalf("client stored %s / %s", got, c.cli.Store.GetLID())
	}
	// The first login uploads prekeys; the server keeps them and says so.
	eventually(t, "prekeys uploaded", func() bool { return len(d.Pending()) == 0 && uploadedPreKeys(login) > 0 })

	// A rebuilt client (a restarted process) logs in as the same device:
	// the server recognises it and has its prekeys, so it uploads nothing.
	before := time.Now()
	c2 := c.rebuild(srv, nil)
	c2.connect()
	waitEvent[*events.Connected](c2, 0)
	again, err := d.WaitOnline(ctxT(t))
	if err != nil || again.DeviceJID() != d.JID() || d.AttemptsSince(before) != 1 {
		t.Fatalf("relogin: %v, attempts %d", err, d.AttemptsSince(before))
	}
	if _, err := again.WaitNode(ctxT(t), fakewa.Tag("iq", "active")); err != nil {
		t.Fatal(err)
	}
	if n := uploadedPreKeys(again); n != 0 {
		t.Fatalf("relogin uploaded %d prekeys", n)
	}
	if devs := acct.Devices(); len(devs) != 1 || devs[0] != d {
		t.Fatalf("account devices %v", devs)
	}
}

// uploadedPreKeys is how many prekeys a connection's uploads carried.
func uploadedPreKeys(c *fakewa.Conn) int {
	n := 0
	for _, node := range c.Nodes() {
		if node.Tag == "iq" && node.Attrs["xmlns"] == "encrypt" && node.Attrs["type"] == "set" {
			list := node.GetChildByTag("list")
			n += len(list.GetChildren())
		}
	}
	return n
}

func TestPairCode(t *testing.T) {
	srv := fakewa.New(t, options(fakewa.Options{}))
	acct := srv.Account("15557778888")
	c := newClient(t, srv, openStore(t), nil)
	c.connect()
	waitEvent[*events.QR](c, 0)
	if _, err := acct.EnterCode(ctxT(t), "ABCD-EFGH"); !errors.Is(err, fakewa.ErrNoCodeRequest) {
		t.Fatalf("EnterCode before PairPhone: %v", err)
	}
	code, err := c.cli.PairPhone(ctxT(t), "+15557778888", true, wm.PairClientChrome, "Chrome (Linux)")
	if err != nil {
		t.Fatalf("PairPhone: %v", err)
	}
	d, err := acct.EnterCode(ctxT(t), code)
	if err != nil {
		t.Fatalf("EnterCode: %v", err)
	}
	ps, i := waitEvent[*events.PairSuccess](c, 0)
	if ps.ID != d.JID() {
		t.Fatalf("PairSuccess %+v", ps)
	}
	waitEvent[*events.Connected](c, i)
	if c.cli.Store.GetJID() != (types.JID{User: "15557778888", Device: d.ID(), Server: types.DefaultUserServer}) {
		t.Fatalf("stored JID %s", c.cli.Store.GetJID())
	}
}

func TestUnknownDevices(t *testing.T) {
	// By default a device the server never linked is linked on its first
	// login (tests may store devices directly)...
	srv := fakewa.New(t, options(fakewa.Options{}))
	c, d := pairClient(t, srv, "15550001111", nil)
	other := fakewa.New(t, options(fakewa.Options{}))
	c2 := c.rebuild(other, nil)
	c2.connect()
	waitEvent[*events.Connected](c2, 0)
	if od := other.Account("15550001111").Device(d.ID()); od == nil || !od.Linked() {
		t.Fatal("auto-linked device missing")
	}
	c2.cli.Disconnect()

	// ...unless the server rejects unknown devices: 401, logged out.
	strict := fakewa.New(t, options(fakewa.Options{RejectUnknownDevices: true}))
	c3 := c2.rebuild(strict, nil)
	c3.connect()
	lo, _ := waitEvent[*events.LoggedOut](c3, 0)
	if !lo.OnConnect || lo.Reason != events.ConnectFailureLoggedOut {
		t.Fatalf("LoggedOut %+v", lo)
	}
	if at := strict.Attempts(); len(at) != 1 || at[0].Result != "unknown device" {
		t.Fatalf("attempts %+v", at)
	}
}
