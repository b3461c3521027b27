package gate

import "github.com/wagate/wagate/internal/engine"

// sendBodyExtra are the fields of the newer kinds' sends: a live
// location's and a contact list's.
type sendBodyExtra struct {
	Accuracy   int         `json:"accuracy"`
	Speed      float64     `json:"speed"`
	Degrees    int         `json:"degrees"`
	Sequence   int64       `json:"sequence_number"`
	TimeOffset int         `json:"time_offset"`
	List       []vcardItem `json:"list"`
}

// vcardItem is a contact of a contact list (Whapi's VCard).
type vcardItem struct {
	Name  string `json:"name"`
	VCard string `json:"vcard"`
}

func (b sendBodyExtra) list() []engine.ContactCard {
	if b.List == nil {
		return nil
	}
	out := make([]engine.ContactCard, len(b.List))
	for i, v := range b.List {
		out[i] = engine.ContactCard{Name: v.Name, VCard: v.VCard}
	}
	return out
}
