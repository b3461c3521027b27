package sim

import "fmt"

// PhoneStore keeps the network's phones across restarts: their number,
// push name and about text (messages, groups and presences stay in
// memory). The app gives one backed by its database.
type PhoneStore interface {
	// SavePhone records a phone as it is now; it is called before the
	// change shows on the network, so a failure changes nothing.
	SavePhone(p StoredPhone) error
}

// StoredPhone is what a PhoneStore keeps of a phone.
type StoredPhone struct {
	Number string
	Name   string
	About  string
}

// Restore puts stored phones on the network, as AddPhone made them (a
// phone already there, e.g. re-registered by Open, takes their name and
// about), and the devices linked to channels ("sim:<digits>:<id>"), so
// that what their phones receive before the channels open waits for them,
// as WhatsApp keeps it for a linked device that is offline. Malformed
// entries are skipped. Call it at start, before channels open.
func (n *Network) Restore(phones []StoredPhone, devices []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, sp := range phones {
		if !validNumber(sp.Number) || checkName(sp.Name) != nil {
			continue
		}
		p := n.phones[sp.Number]
		if p == nil {
			p = newPhone(sp.Number, sp.Name, false)
			n.phones[sp.Number] = p
		}
		p.name, p.about, p.auto = sp.Name, sp.About, false
	}
	for _, id := range devices {
		if n.devices[id] == nil && !n.revoked[id] {
			n.reregister(id)
		}
	}
}

// reregister puts back a device the network does not know (after a
// restart) on its phone, which is made (named after its number, until
// AddPhone adopts it) when it is missing too. It returns nil for an ID
// that is not a sim device. Called with n.mu held.
func (n *Network) reregister(id string) *device {
	number, ok := parseDevice(id)
	if !ok {
		return nil
	}
	p := n.phones[number]
	if p == nil {
		p = newPhone(number, number, true)
		n.phones[number] = p
	}
	d := &device{id: id, phone: p, linkedAt: n.opts.Now(), holders: map[*session]struct{}{}}
	p.devices = append(p.devices, d)
	n.devices[id] = d
	return d
}

// save records a phone's identity in the network's PhoneStore, if it has
// one. Called with n.mu held (phones change rarely; the order of saves is
// the order of changes).
func (n *Network) save(number, name, about string) error {
	if n.opts.Phones == nil {
		return nil
	}
	if err := n.opts.Phones.SavePhone(StoredPhone{Number: number, Name: name, About: about}); err != nil {
		return fmt.Errorf("sim: could not save phone %s: %w", number, err)
	}
	return nil
}
