package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

var collectionIDRE = regexp.MustCompile(`^[0-9]{1,20}$`)

// CollectionView is a collection with (a first page of) its products.
type CollectionView struct {
	engine.Collection
	Items []engine.Product
}

// collectionID checks a collection ID (digits); a malformed one is 404.
func collectionID(id string) error {
	if !collectionIDRE.MatchString(id) {
		return fmt.Errorf("collection %q %w", id, model.ErrNotFound)
	}
	return nil
}

// catalogOf reads the channel's collections and products.
func (s *Service) catalogOf(ctx context.Context, ch model.Channel) ([]engine.Collection, map[string]engine.Product, error) {
	b, err := business(s, ch)
	if err != nil {
		return nil, nil, err
	}
	cols, err := b.Collections(ctx)
	if err != nil {
		return nil, nil, s.bizError(ch, err)
	}
	list, err := b.Catalog(ctx, "")
	if err != nil {
		return nil, nil, s.bizError(ch, err)
	}
	byID := make(map[string]engine.Product, len(list))
	for _, p := range list {
		byID[p.ID] = p
	}
	return cols, byID, nil
}

// view is a collection with its first n products.
func view(c engine.Collection, products map[string]engine.Product, n int) CollectionView {
	v := CollectionView{Collection: c, Items: []engine.Product{}}
	for _, id := range c.Products {
		if p, ok := products[id]; ok && (n <= 0 || len(v.Items) < n) {
			v.Items = append(v.Items, p)
		}
	}
	return v
}

// Collections lists a page of the channel's collections, each with its
// first productsCount products, and how many collections in all.
func (s *Service) Collections(ctx context.Context, ch model.Channel, p Page, productsCount int) ([]CollectionView, int, error) {
	cols, products, err := s.catalogOf(ctx, ch)
	if err != nil {
		return nil, 0, err
	}
	page := pageOf(cols, p)
	out := make([]CollectionView, len(page))
	for i, c := range page {
		out[i] = view(c, products, productsCount)
	}
	return out, len(cols), nil
}

// Collection reads a collection with all its products.
func (s *Service) Collection(ctx context.Context, ch model.Channel, id string) (CollectionView, error) {
	if err := collectionID(id); err != nil {
		return CollectionView{}, err
	}
	cols, products, err := s.catalogOf(ctx, ch)
	if err != nil {
		return CollectionView{}, err
	}
	i := slices.IndexFunc(cols, func(c engine.Collection) bool { return c.ID == id })
	if i < 0 {
		return CollectionView{}, fmt.Errorf("collection %s not found: %w", id, model.ErrNotFound)
	}
	return view(cols[i], products, 0), nil
}

// checkProductIDs checks a list of product IDs of a collection request.
func checkProductIDs(field string, ids []string) error {
	if len(ids) > MaxCollectionProducts {
		return invalid(field, "at most %d products", MaxCollectionProducts)
	}
	for i, id := range ids {
		if !productIDRE.MatchString(id) {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "%q is not a product ID (10 to 18 digits)", id)
		}
	}
	return nil
}

// CreateCollection creates a collection of products of the channel's
// catalog.
func (s *Service) CreateCollection(ctx context.Context, ch model.Channel, name string, products []string) (engine.Collection, error) {
	if err := checkText("name", name, true, MaxCollectionName); err != nil {
		return engine.Collection{}, err
	}
	if len(products) == 0 {
		return engine.Collection{}, invalid("products", "is required: the IDs of 1 to %d products of the catalog", MaxCollectionProducts)
	}
	if err := checkProductIDs("products", products); err != nil {
		return engine.Collection{}, err
	}
	b, err := business(s, ch)
	if err != nil {
		return engine.Collection{}, err
	}
	c, err := b.CreateCollection(ctx, name, products)
	return c, s.collectionError(ch, "products", err)
}

// collectionError names the field of a product a collection does not
// know (400: the collection exists, the product does not).
func (s *Service) collectionError(ch model.Channel, field string, err error) error {
	if err != nil && errors.Is(err, engine.ErrProductNotFound) {
		return invalid(field, "%v: every product must be one of the catalog's", err)
	}
	return s.bizError(ch, err)
}

// CollectionUpdate is PATCH /business/collections/{CollectionID}.
type CollectionUpdate struct {
	Name        *string
	Add, Remove []string
}

// UpdateCollection renames a collection and adds and removes products.
func (s *Service) UpdateCollection(ctx context.Context, ch model.Channel, id string, u CollectionUpdate) (engine.Collection, error) {
	if err := collectionID(id); err != nil {
		return engine.Collection{}, err
	}
	if u.Name != nil {
		if err := checkText("name", *u.Name, true, MaxCollectionName); err != nil {
			return engine.Collection{}, err
		}
	}
	if err := checkProductIDs("add_products", u.Add); err != nil {
		return engine.Collection{}, err
	}
	if err := checkProductIDs("remove_products", u.Remove); err != nil {
		return engine.Collection{}, err
	}
	if u.Name == nil && len(u.Add) == 0 && len(u.Remove) == 0 {
		return engine.Collection{}, invalid("name", "nothing to change: give name, add_products or remove_products")
	}
	b, err := business(s, ch)
	if err != nil {
		return engine.Collection{}, err
	}
	c, err := b.UpdateCollection(ctx, id, engine.CollectionUpdate{Name: u.Name, Add: u.Add, Remove: u.Remove})
	return c, s.collectionError(ch, "add_products", err)
}

// DeleteCollection deletes a collection of the channel's catalog.
func (s *Service) DeleteCollection(ctx context.Context, ch model.Channel, id string) error {
	if err := collectionID(id); err != nil {
		return err
	}
	b, err := business(s, ch)
	if err != nil {
		return err
	}
	return s.bizError(ch, b.DeleteCollection(ctx, id))
}
