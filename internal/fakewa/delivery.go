package fakewa

import (
	"context"
	"fmt"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// WhatsApp's offline queue: every message, receipt or notification the
// server sends a device stays pending until the client acknowledges it (a
// <receipt> for a message, an <ack class=..> for anything), and every
// pending stanza is delivered again, in order, after the device's next
// <success>.

// stanza is one thing sent to a device.
type stanza struct {
	tag, id    string
	node       waBinary.Node // dropped once acked
	deliveries int
	acked      bool
	queued     time.Time
	ackedAt    time.Time
	// dropAfter closes the connection right after the first delivery,
	// before the client can acknowledge it.
	dropAfter bool
}

// Delivery is what the server knows about one stanza it sent a device.
type Delivery struct {
	Tag, ID    string
	Deliveries int  // times written to a connection
	Acked      bool // acknowledged by the client
	Queued     time.Time
	AckedAt    time.Time
}

func (st *stanza) delivery() Delivery {
	return Delivery{Tag: st.tag, ID: st.id, Deliveries: st.deliveries, Acked: st.acked,
		Queued: st.queued, AckedAt: st.ackedAt}
}

// deliverOptions change how a stanza is first delivered.
type deliverOptions struct {
	twice     bool // written twice in a row (same id, same bytes)
	dropAfter bool // the connection is closed right after the write
}

// enqueue queues a stanza for the device and writes it now if the device
// is online.
func (d *Device) enqueue(node waBinary.Node, o deliverOptions) {
	id, _ := node.Attrs["id"].(string)
	st := &stanza{tag: node.Tag, id: id, node: node, queued: time.Now(), dropAfter: o.dropAfter}
	d.mu.Lock()
	if !d.linked {
		d.mu.Unlock()
		return
	}
	d.outbox = append(d.outbox, st)
	if d.conn != nil {
		d.writeLocked(st)
		if o.twice && d.conn != nil {
			d.writeLocked(st)
		}
	}
	d.mu.Unlock()
	d.acct.srv.events.notify()
}

// writeLocked writes a pending stanza to the live connection; d.mu is held.
func (d *Device) writeLocked(st *stanza) {
	c := d.conn
	if err := c.Send(st.node); err != nil {
		return
	}
	st.deliveries++
	s := d.acct.srv
	s.mu.Lock()
	s.stats.Delivered++
	s.mu.Unlock()
	if st.dropAfter {
		st.dropAfter = false
		c.Close()
		d.conn = nil
	}
}

// ack marks the newest unacknowledged stanza of a class and id as
// acknowledged. The class is the stanza's tag ("message", "receipt",
// "notification", ...).
func (d *Device) ack(class, id string) {
	if id == "" {
		return
	}
	d.mu.Lock()
	for i := len(d.outbox) - 1; i >= 0; i-- {
		st := d.outbox[i]
		if st.id == id && st.tag == class && !st.acked {
			st.acked, st.ackedAt, st.node = true, time.Now(), waBinary.Node{}
			d.acked++
			break
		}
	}
	if d.acked > maxAckedHistory {
		d.trimLocked()
	}
	d.mu.Unlock()
	d.acct.srv.events.notify()
}

// trimLocked forgets the older half of the acknowledged stanzas.
func (d *Device) trimLocked() {
	forget := d.acked / 2
	kept := d.outbox[:0]
	for _, st := range d.outbox {
		if st.acked && forget > 0 {
			forget--
			d.acked--
			continue
		}
		kept = append(kept, st)
	}
	clear(d.outbox[len(kept):])
	d.outbox = kept
}

// Delivery returns what the server knows about the newest stanza with this
// id it sent the device (a message from a peer, a receipt...): how many
// times it was delivered and whether it was acknowledged. Old acknowledged
// stanzas are forgotten after a while.
func (d *Device) Delivery(id string) (Delivery, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.outbox) - 1; i >= 0; i-- {
		if d.outbox[i].id == id {
			return d.outbox[i].delivery(), true
		}
	}
	return Delivery{}, false
}

// Pending returns the stanzas the device has not acknowledged, oldest
// first.
func (d *Device) Pending() []Delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Delivery
	for _, st := range d.outbox {
		if !st.acked {
			out = append(out, st.delivery())
		}
	}
	return out
}

// WaitAcked waits until the device acknowledged the newest stanza with
// this id.
func (d *Device) WaitAcked(ctx context.Context, id string) (Delivery, error) {
	var del Delivery
	err := d.acct.srv.wait(ctx, func() bool {
		var ok bool
		del, ok = d.Delivery(id)
		return ok && del.Acked
	})
	if err != nil {
		return del, fmt.Errorf("fakewa: waiting for %s to acknowledge %s (%+v): %w", d.JID(), id, del, err)
	}
	return del, nil
}

// Notify sends the device a <notification> (tracked like any stanza: it is
// redelivered until the client acks it). The server sets its id and t; its
// from defaults to the server.
func (d *Device) Notify(n waBinary.Node) string {
	if n.Attrs == nil {
		n.Attrs = waBinary.Attrs{}
	}
	n.Tag = "notification"
	id := d.acct.srv.newID()
	n.Attrs["id"] = id
	n.Attrs["t"] = time.Now().Unix()
	if n.Attrs["from"] == nil {
		n.Attrs["from"] = types.ServerJID
	}
	d.enqueue(n, deliverOptions{})
	return id
}
