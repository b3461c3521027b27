package sim

import (
	"maps"
	"slices"

	"github.com/wagate/wagate/internal/engine"
)

// SnapBusiness is an account's business data in a Snapshot.
type SnapBusiness struct {
	Number      string                   `json:"number"`
	Profile     engine.BusinessProfile   `json:"profile"`
	Products    []engine.Product         `json:"products,omitempty"`
	Collections []engine.Collection      `json:"collections,omitempty"`
	Orders      map[string]*engine.Order `json:"orders,omitempty"`
}

// snapshotBusiness adds the accounts' business data (under the lock).
func (n *Network) snapshotBusiness(s *Snapshot) {
	for _, num := range slices.Sorted(maps.Keys(n.biz)) {
		b := n.biz[num]
		sb := SnapBusiness{Number: num, Profile: copyProfile(b.profile), Orders: map[string]*engine.Order{}}
		for _, p := range b.products {
			sb.Products = append(sb.Products, copyProduct(p))
		}
		for _, c := range b.collections {
			sb.Collections = append(sb.Collections, copyCollection(c))
		}
		for id, o := range b.orders {
			cp := *o
			cp.Items = slices.Clone(o.Items)
			sb.Orders[id] = &cp
		}
		s.Business = append(s.Business, sb)
	}
}

// loadBusiness restores the accounts' business data (under the lock).
func (n *Network) loadBusiness(s Snapshot) {
	n.biz = map[string]*bizAccount{}
	for _, sb := range s.Business {
		b := &bizAccount{profile: copyProfile(sb.Profile), orders: map[string]*engine.Order{}}
		for i := range sb.Products {
			p := copyProduct(&sb.Products[i])
			b.products = append(b.products, &p)
		}
		for i := range sb.Collections {
			c := copyCollection(&sb.Collections[i])
			b.collections = append(b.collections, &c)
		}
		for id, o := range sb.Orders {
			if o != nil {
				cp := *o
				cp.Items = slices.Clone(o.Items)
				b.orders[id] = &cp
			}
		}
		n.biz[sb.Number] = b
	}
}

// withoutBusinessFiles drops the bytes of an interactive message's header
// file and of a carousel's card files, as a snapshot drops other files'.
func withoutBusinessFiles(c engine.Content) engine.Content {
	strip := func(m *engine.Media) *engine.Media {
		if m == nil {
			return nil
		}
		cp := *m
		cp.Data, cp.Fetch = nil, nil
		return &cp
	}
	if c.Interactive != nil {
		in := *c.Interactive
		in.HeaderMedia = strip(in.HeaderMedia)
		c.Interactive = &in
	}
	if c.Carousel != nil {
		cr := engine.Carousel{Cards: slices.Clone(c.Carousel.Cards)}
		for i := range cr.Cards {
			cr.Cards[i].Media = strip(cr.Cards[i].Media)
		}
		c.Carousel = &cr
	}
	return c
}
