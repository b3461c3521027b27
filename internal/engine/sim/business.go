package sim

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/wagate/wagate/internal/engine"
)

// Every sim account is a WhatsApp Business account: it has a business
// profile (empty until set), a catalog of products and collections that
// other accounts can read (hidden products excepted), and the orders
// customers sent it. They are in the network's Snapshot
// (business_snap.go).

var _ engine.Businesser = (*session)(nil)

// bizAccount is an account's business data.
type bizAccount struct {
	profile     engine.BusinessProfile
	products    []*engine.Product    // in creation order
	collections []*engine.Collection // in creation order
	orders      map[string]*engine.Order
}

// bizOf returns an account's business data, made on first use; n.mu held.
func (n *Network) bizOf(number string) *bizAccount {
	if n.biz == nil {
		n.biz = map[string]*bizAccount{}
	}
	b := n.biz[number]
	if b == nil {
		b = &bizAccount{orders: map[string]*engine.Order{}}
		n.biz[number] = b
	}
	return b
}

// digitsID returns a random ID of 16 digits (the form of WhatsApp's
// product, collection and order IDs).
func digitsID() string {
	v, err := rand.Int(rand.Reader, big.NewInt(9e15))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprint(1e15 + v.Int64())
}

func (b *bizAccount) product(id string) (int, *engine.Product) {
	for i, p := range b.products {
		if p.ID == id {
			return i, p
		}
	}
	return -1, nil
}

func (b *bizAccount) collection(id string) (int, *engine.Collection) {
	for i, c := range b.collections {
		if c.ID == id {
			return i, c
		}
	}
	return -1, nil
}

func copyProduct(p *engine.Product) engine.Product {
	out := *p
	out.Images = make([]engine.ProductImage, len(p.Images))
	for i, img := range p.Images {
		out.Images[i] = engine.ProductImage{URL: img.URL, MimeType: img.MimeType}
	}
	return out
}

func copyCollection(c *engine.Collection) engine.Collection {
	out := *c
	out.Products = slices.Clone(c.Products)
	return out
}

func copyProfile(p engine.BusinessProfile) engine.BusinessProfile {
	p.Websites = slices.Clone(p.Websites)
	p.Hours = slices.Clone(p.Hours)
	p.Categories = slices.Clone(p.Categories)
	return p
}

// BusinessProfile reads an account's business profile ("" : the session's
// own). Errors: ErrNotOnWhatsApp, engine.ErrInvalidPhone.
func (s *session) BusinessProfile(ctx context.Context, user string) (engine.BusinessProfile, error) {
	var out engine.BusinessProfile
	err := s.do(ctx, func(a actor) error {
		num := a.p.number
		if user != "" {
			var err error
			if num, err = userNumber(user); err != nil {
				return err
			}
			if s.net.phones[num] == nil {
				return fmt.Errorf("%w: %s", ErrNotOnWhatsApp, num)
			}
		}
		out = copyProfile(s.net.bizOf(num).profile)
		out.JID = JID(num)
		return nil
	})
	return out, err
}

// SetBusinessProfile changes the account's business profile.
func (s *session) SetBusinessProfile(ctx context.Context, u engine.BusinessProfileUpdate) error {
	return s.do(ctx, func(a actor) error {
		p := &s.net.bizOf(a.p.number).profile
		for _, f := range []struct {
			v   *string
			dst *string
		}{{u.Address, &p.Address}, {u.Description, &p.Description}, {u.Email, &p.Email}, {u.TimeZone, &p.TimeZone}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
		if u.Websites != nil {
			p.Websites = slices.Clone(*u.Websites)
		}
		if u.Hours != nil {
			p.Hours = slices.Clone(*u.Hours)
		}
		return nil
	})
}

// Catalog lists an account's products: the session's own (owner "")
// all of them, another account's those it does not hide.
func (s *session) Catalog(ctx context.Context, owner string) ([]engine.Product, error) {
	out := []engine.Product{}
	err := s.do(ctx, func(a actor) error {
		num, own := a.p.number, true
		if owner != "" {
			var err error
			if num, err = userNumber(owner); err != nil {
				return err
			}
			if s.net.phones[num] == nil {
				return fmt.Errorf("%w: %s", ErrNotOnWhatsApp, num)
			}
			own = num == a.p.number
		}
		for _, p := range s.net.bizOf(num).products {
			if own || !p.Hidden {
				out = append(out, copyProduct(p))
			}
		}
		return nil
	})
	return out, err
}

// checkProduct checks what a catalog keeps of a product.
func checkProduct(p engine.Product) error {
	switch {
	case strings.TrimSpace(p.Name) == "":
		return fmt.Errorf("%w: a product needs a name", ErrInvalidContent)
	case p.Price < 0:
		return fmt.Errorf("%w: a product's price is not negative", ErrInvalidContent)
	case len(p.Images) == 0 || len(p.Images) > 10:
		return fmt.Errorf("%w: a product has 1 to 10 images", ErrInvalidContent)
	}
	return nil
}

// CreateProduct adds a product to the account's catalog; it is approved
// at once.
func (s *session) CreateProduct(ctx context.Context, p engine.Product) (engine.Product, error) {
	if err := checkProduct(p); err != nil {
		return engine.Product{}, err
	}
	var out engine.Product
	err := s.do(ctx, func(a actor) error {
		b := s.net.bizOf(a.p.number)
		cp := copyProduct(&p)
		cp.ID, cp.Review = digitsID(), "approved"
		if cp.Availability == "" {
			cp.Availability = "in stock"
		}
		b.products = append(b.products, &cp)
		out = copyProduct(&cp)
		return nil
	})
	return out, err
}

// UpdateProduct replaces a product's fields (its ID stays).
func (s *session) UpdateProduct(ctx context.Context, p engine.Product) (engine.Product, error) {
	if err := checkProduct(p); err != nil {
		return engine.Product{}, err
	}
	var out engine.Product
	err := s.do(ctx, func(a actor) error {
		i, old := s.net.bizOf(a.p.number).product(p.ID)
		if old == nil {
			return fmt.Errorf("%w: %s", engine.ErrProductNotFound, p.ID)
		}
		cp := copyProduct(&p)
		cp.Review = old.Review
		if cp.Availability == "" {
			cp.Availability = old.Availability
		}
		s.net.bizOf(a.p.number).products[i] = &cp
		out = copyProduct(&cp)
		return nil
	})
	return out, err
}

// DeleteProduct removes a product from the catalog and its collections.
func (s *session) DeleteProduct(ctx context.Context, id string) error {
	return s.do(ctx, func(a actor) error {
		b := s.net.bizOf(a.p.number)
		i, p := b.product(id)
		if p == nil {
			return fmt.Errorf("%w: %s", engine.ErrProductNotFound, id)
		}
		b.products = slices.Delete(b.products, i, i+1)
		for _, c := range b.collections {
			c.Products = slices.DeleteFunc(c.Products, func(x string) bool { return x == id })
		}
		return nil
	})
}

// Collections lists the account's collections.
func (s *session) Collections(ctx context.Context) ([]engine.Collection, error) {
	out := []engine.Collection{}
	err := s.do(ctx, func(a actor) error {
		for _, c := range s.net.bizOf(a.p.number).collections {
			out = append(out, copyCollection(c))
		}
		return nil
	})
	return out, err
}

// checkProducts refuses product IDs the catalog does not have.
func (b *bizAccount) checkProducts(ids []string) error {
	for _, id := range ids {
		if _, p := b.product(id); p == nil {
			return fmt.Errorf("%w: %s", engine.ErrProductNotFound, id)
		}
	}
	return nil
}

// CreateCollection creates a collection of the catalog's products.
func (s *session) CreateCollection(ctx context.Context, name string, products []string) (engine.Collection, error) {
	if strings.TrimSpace(name) == "" {
		return engine.Collection{}, fmt.Errorf("%w: a collection needs a name", ErrInvalidContent)
	}
	var out engine.Collection
	err := s.do(ctx, func(a actor) error {
		b := s.net.bizOf(a.p.number)
		if err := b.checkProducts(products); err != nil {
			return err
		}
		c := &engine.Collection{ID: digitsID(), Name: name, Status: "approved", Products: slices.Compact(slices.Clone(products))}
		b.collections = append(b.collections, c)
		out = copyCollection(c)
		return nil
	})
	return out, err
}

// UpdateCollection renames a collection and adds and removes products.
func (s *session) UpdateCollection(ctx context.Context, id string, u engine.CollectionUpdate) (engine.Collection, error) {
	if u.Name != nil && strings.TrimSpace(*u.Name) == "" {
		return engine.Collection{}, fmt.Errorf("%w: a collection needs a name", ErrInvalidContent)
	}
	var out engine.Collection
	err := s.do(ctx, func(a actor) error {
		b := s.net.bizOf(a.p.number)
		_, c := b.collection(id)
		if c == nil {
			return fmt.Errorf("%w: %s", engine.ErrCollectionNotFound, id)
		}
		if err := b.checkProducts(u.Add); err != nil {
			return err
		}
		if u.Name != nil {
			c.Name = *u.Name
		}
		c.Products = slices.DeleteFunc(c.Products, func(x string) bool { return slices.Contains(u.Remove, x) })
		for _, p := range u.Add {
			if !slices.Contains(c.Products, p) {
				c.Products = append(c.Products, p)
			}
		}
		out = copyCollection(c)
		return nil
	})
	return out, err
}

// DeleteCollection deletes a collection (its products stay).
func (s *session) DeleteCollection(ctx context.Context, id string) error {
	return s.do(ctx, func(a actor) error {
		b := s.net.bizOf(a.p.number)
		i, c := b.collection(id)
		if c == nil {
			return fmt.Errorf("%w: %s", engine.ErrCollectionNotFound, id)
		}
		b.collections = slices.Delete(b.collections, i, i+1)
		return nil
	})
}

// Order reads an order a customer sent the account.
func (s *session) Order(ctx context.Context, id, token string) (engine.Order, error) {
	var out engine.Order
	err := s.do(ctx, func(a actor) error {
		o := s.net.bizOf(a.p.number).orders[id]
		if o == nil {
			return fmt.Errorf("%w: %s", engine.ErrOrderNotFound, id)
		}
		if token != o.Token {
			return engine.ErrOrderToken
		}
		out = *o
		out.Items = slices.Clone(o.Items)
		return nil
	})
	return out, err
}

// OrderLine is a product and how many of it a customer orders.
type OrderLine struct {
	ProductID string
	Quantity  int
}

// SendOrder sends an order from a phone to a business (to): the
// products of the business's catalog, with their prices, in one cart. The
// business's devices get it as a KindOrder message whose Order carries
// the ID and token GET /business/orders/{OrderID} needs. Errors:
// ErrPhoneNotFound, ErrNotOnWhatsApp, ErrInvalidContent (no lines, a
// quantity below 1, prices in different currencies),
// engine.ErrProductNotFound (a product the business does not show) and
// SendContent's.
func (n *Network) SendOrder(number, to, text string, lines []OrderLine) (PhoneMessage, error) {
	if len(lines) == 0 {
		return PhoneMessage{}, fmt.Errorf("%w: an order has at least one product", ErrInvalidContent)
	}
	seller, err := userNumber(to)
	if err != nil {
		return PhoneMessage{}, err
	}
	token := make([]byte, 24)
	_, _ = rand.Read(token)
	o := &engine.Order{ID: digitsID(), Seller: JID(seller), Text: text, Token: base64.StdEncoding.EncodeToString(token), Status: "new"}
	n.mu.Lock()
	if _, err := n.phoneLocked(number); err != nil {
		n.mu.Unlock()
		return PhoneMessage{}, err
	}
	if n.phones[seller] == nil {
		n.mu.Unlock()
		return PhoneMessage{}, fmt.Errorf("%w: %s", ErrNotOnWhatsApp, seller)
	}
	b := n.bizOf(seller)
	for _, l := range lines {
		_, p := b.product(l.ProductID)
		if p == nil || p.Hidden {
			n.mu.Unlock()
			return PhoneMessage{}, fmt.Errorf("%w: %s", engine.ErrProductNotFound, l.ProductID)
		}
		if l.Quantity < 1 {
			n.mu.Unlock()
			return PhoneMessage{}, fmt.Errorf("%w: the quantity of %s is below 1", ErrInvalidContent, l.ProductID)
		}
		if o.Currency != "" && p.Currency != o.Currency {
			n.mu.Unlock()
			return PhoneMessage{}, fmt.Errorf("%w: an order's products share one currency", ErrInvalidContent)
		}
		it := engine.OrderItem{ProductID: p.ID, RetailerID: p.RetailerID, Name: p.Name, Quantity: l.Quantity, Price: p.Price, Currency: p.Currency}
		if len(p.Images) > 0 {
			it.Image = p.Images[0].URL
		}
		o.Items = append(o.Items, it)
		o.Currency = p.Currency
		o.ItemCount += l.Quantity
		o.TotalPrice += p.Price * float64(l.Quantity)
	}
	o.Title = o.Items[0].Name
	b.orders[o.ID] = o
	n.mu.Unlock()
	msgOrder := *o
	msgOrder.Items = nil // the message names the order; its items are read with the token
	m, err := n.SendContent(number, to, engine.Content{Kind: engine.KindOrder, Order: &msgOrder})
	if err != nil {
		n.mu.Lock()
		delete(b.orders, o.ID)
		n.mu.Unlock()
	}
	return m, err
}

// Catalog lists the products a business (owner) shows, as a phone
// (number) sees them: not its hidden ones. Errors: ErrPhoneNotFound,
// ErrNotOnWhatsApp, engine.ErrInvalidPhone.
func (n *Network) Catalog(number, owner string) ([]engine.Product, error) {
	seller, err := userNumber(owner)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := n.phoneLocked(number); err != nil {
		return nil, err
	}
	if n.phones[seller] == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotOnWhatsApp, seller)
	}
	out := []engine.Product{}
	for _, p := range n.bizOf(seller).products {
		if !p.Hidden {
			out = append(out, copyProduct(p))
		}
	}
	return out, nil
}
