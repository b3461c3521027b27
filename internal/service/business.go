package service

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// Limits of business input, like WhatsApp's (Whapi documents the profile's).
const (
	MaxBusinessAddress     = 256
	MaxBusinessDescription = 256
	MaxBusinessEmail       = 128
	MaxBusinessWebsites    = 2
	MaxBusinessWebsite     = 256
	MaxProductName         = 150
	MaxProductDescription  = 5000
	MaxProductImages       = 10
	MaxCollectionName      = 100
	MaxCollectionProducts  = 30
	// MaxProductPrice bounds a price (WhatsApp keeps prices in 1/1000 of
	// the currency's unit in an int64).
	MaxProductPrice = 1e12
)

var (
	productIDRE = regexp.MustCompile(`^[0-9]{10,18}$`)
	// businessDays are Whapi's day names, in WhatsApp's order.
	businessDays  = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	businessModes = []string{"open_24h", "specific_hours"}
	// Availability of products.
	productAvailability = []string{"in stock", "out of stock"}
	timeZoneRE          = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$`)
)

// business returns a channel's session as a business account, or 501.
func business(s *Service, ch model.Channel) (engine.Businesser, error) {
	return capability[engine.Businesser](s, ch, "run a WhatsApp Business account (profile, catalog, orders)")
}

// bizError maps the business errors: unknown products, collections and
// orders are 404, a wrong order token 403, the rest as capError does.
func (s *Service) bizError(ch model.Channel, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, engine.ErrProductNotFound):
		return fmt.Errorf("%s: %w", strings.TrimPrefix(err.Error(), "engine: "), model.ErrNotFound)
	case errors.Is(err, engine.ErrCollectionNotFound):
		return fmt.Errorf("%s: %w", strings.TrimPrefix(err.Error(), "engine: "), model.ErrNotFound)
	case errors.Is(err, engine.ErrOrderNotFound):
		return fmt.Errorf("order not found: %w", model.ErrNotFound)
	case errors.Is(err, engine.ErrOrderToken):
		return fmt.Errorf("order_token is not this order's token (it comes with the order message): %w", model.ErrForbidden)
	case errors.Is(err, engine.ErrNotBusiness):
		return fmt.Errorf("the account is not a WhatsApp Business account: %w", model.ErrNotFound)
	}
	return s.capError(ch, err)
}

// ProductID checks a product ID: 10 to 18 digits. A malformed one is 404.
func ProductID(raw string) (string, error) {
	if !productIDRE.MatchString(raw) {
		return "", fmt.Errorf("product %q %w (a product ID is 10 to 18 digits)", raw, model.ErrNotFound)
	}
	return raw, nil
}

// BusinessProfile reads the channel's own business profile.
func (s *Service) BusinessProfile(ctx context.Context, ch model.Channel) (engine.BusinessProfile, error) {
	b, err := business(s, ch)
	if err != nil {
		return engine.BusinessProfile{}, err
	}
	p, err := b.BusinessProfile(ctx, "")
	return p, s.bizError(ch, err)
}

// BusinessProfileUpdate is POST /business: nil fields stay.
type BusinessProfileUpdate struct {
	Address, Description, Email *string
	Websites                    *[]string
	TimeZone                    *string
	Hours                       *[]engine.BusinessHours
}

// SetBusinessProfile checks and changes the channel's business profile.
func (s *Service) SetBusinessProfile(ctx context.Context, ch model.Channel, u BusinessProfileUpdate) error {
	for _, f := range []struct {
		name  string
		v     *string
		limit int
	}{{"address", u.Address, MaxBusinessAddress}, {"description", u.Description, MaxBusinessDescription}, {"email", u.Email, MaxBusinessEmail}} {
		if f.v != nil {
			if err := checkDescriptionField(f.name, *f.v, f.limit); err != nil {
				return err
			}
		}
	}
	if u.Email != nil && *u.Email != "" {
		if a, err := mail.ParseAddress(*u.Email); err != nil || a.Address != *u.Email {
			return invalid("email", "%q is not an email address", *u.Email)
		}
	}
	if u.Websites != nil {
		if len(*u.Websites) > MaxBusinessWebsites {
			return invalid("websites", "at most %d websites", MaxBusinessWebsites)
		}
		for i, w := range *u.Websites {
			if len(w) > MaxBusinessWebsite || firstURL(w) != w {
				return invalid(fmt.Sprintf("websites[%d]", i), "must be an http:// or https:// link of at most %d characters", MaxBusinessWebsite)
			}
		}
	}
	if u.TimeZone != nil && *u.TimeZone != "" && !timeZoneRE.MatchString(*u.TimeZone) {
		return invalid("hours.timeZone", "%q is not a time zone name (like Europe/Bucharest)", *u.TimeZone)
	}
	if u.Hours != nil {
		seen := map[string]bool{}
		for i, h := range *u.Hours {
			field := fmt.Sprintf("hours.config[%d]", i)
			switch {
			case !slices.Contains(businessDays, h.Day):
				return invalid(field+".day", "must be one of %s", strings.Join(businessDays, ", "))
			case seen[h.Day]:
				return invalid(field+".day", "%s appears twice", h.Day)
			case !slices.Contains(businessModes, h.Mode):
				return invalid(field+".mode", "must be open_24h or specific_hours")
			case h.Mode == "specific_hours" && (h.Open < 0 || h.Close > 1440 || h.Open >= h.Close):
				return invalid(field+".openTime", "openTime and closeTime are minutes after midnight (0 to 1440), openTime first")
			}
			seen[h.Day] = true
		}
	}
	b, err := business(s, ch)
	if err != nil {
		return err
	}
	return s.bizError(ch, b.SetBusinessProfile(ctx, engine.BusinessProfileUpdate{Address: u.Address, Description: u.Description,
		Email: u.Email, Websites: u.Websites, TimeZone: u.TimeZone, Hours: u.Hours}))
}

// Products lists a page of the channel's catalog ("" owner) or of another
// business's (its visible products), and how many in all.
func (s *Service) Products(ctx context.Context, ch model.Channel, owner string, p Page) ([]engine.Product, int, error) {
	if owner != "" {
		jid, err := UserID("ContactID", owner)
		if err != nil {
			return nil, 0, err
		}
		owner = jid
	}
	b, err := business(s, ch)
	if err != nil {
		return nil, 0, err
	}
	all, err := b.Catalog(ctx, owner)
	if err != nil {
		return nil, 0, s.bizError(ch, err)
	}
	return pageOf(all, p), len(all), nil
}

// Product reads a product of the channel's catalog.
func (s *Service) Product(ctx context.Context, ch model.Channel, id string) (engine.Product, error) {
	if _, err := ProductID(id); err != nil {
		return engine.Product{}, err
	}
	b, err := business(s, ch)
	if err != nil {
		return engine.Product{}, err
	}
	all, err := b.Catalog(ctx, "")
	if err != nil {
		return engine.Product{}, s.bizError(ch, err)
	}
	for _, p := range all {
		if p.ID == id {
			return p, nil
		}
	}
	return engine.Product{}, fmt.Errorf("product %s not found: %w", id, model.ErrNotFound)
}

// ProductRequest is a product to create (POST) or to change (PATCH: nil
// fields stay, Images replace all the images).
type ProductRequest struct {
	RetailerID   *string
	Name         *string
	Description  *string
	URL          *string
	Currency     *string
	Price        *float64
	Availability *string
	Hidden       *bool
	// Images are URLs (kept as they are), data URIs, base64 or media IDs
	// (stored as the channel's media; their link is kept).
	Images []string
}

// checkProduct checks a product request; create needs name, description,
// price, currency and images.
func checkProduct(r ProductRequest, create bool) error {
	required := func(field string, set bool) error {
		if create && !set {
			return invalid(field, "is required")
		}
		return nil
	}
	for _, e := range []error{required("name", r.Name != nil), required("description", r.Description != nil),
		required("price", r.Price != nil), required("currency", r.Currency != nil)} {
		if e != nil {
			return e
		}
	}
	if len(r.Images) == 0 {
		return invalid("images", "is required: 1 to %d images (URLs, base64 or media IDs); PATCH replaces all of them", MaxProductImages)
	}
	if len(r.Images) > MaxProductImages {
		return invalid("images", "at most %d images", MaxProductImages)
	}
	if r.Name != nil {
		if err := checkText("name", *r.Name, true, MaxProductName); err != nil {
			return err
		}
	}
	if r.Description != nil {
		if err := checkDescriptionField("description", *r.Description, MaxProductDescription); err != nil {
			return err
		}
	}
	if r.RetailerID != nil {
		if err := checkText("product_retailer_id", *r.RetailerID, false, 100); err != nil {
			return err
		}
	}
	if r.URL != nil && *r.URL != "" && firstURL(*r.URL) != *r.URL {
		return invalid("url", "must be an http:// or https:// link")
	}
	if r.Currency != nil && !currencyRE.MatchString(*r.Currency) {
		return invalid("currency", "%q is not a currency code (three capital letters, like USD)", *r.Currency)
	}
	if r.Price != nil && (*r.Price < 0 || *r.Price > MaxProductPrice || *r.Price != *r.Price) {
		return invalid("price", "must be a number from 0 to %g", float64(MaxProductPrice))
	}
	if r.Availability != nil && !slices.Contains(productAvailability, *r.Availability) {
		return invalid("availability", `must be "in stock" or "out of stock"`)
	}
	return nil
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// productImages resolves a product's images: URLs stay, files are stored
// (their media IDs are returned, for dropImages when the product is not
// kept).
func (s *Service) productImages(ctx context.Context, ch model.Channel, refs []string) (out []engine.ProductImage, saved []string, err error) {
	defer func() {
		if err != nil {
			s.dropImages(ctx, ch, saved)
			saved = nil
		}
	}()
	out = make([]engine.ProductImage, 0, len(refs))
	for i, ref := range refs {
		field := fmt.Sprintf("images[%d]", i)
		ref = strings.TrimSpace(ref)
		if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
			if firstURL(ref) != ref || len(ref) > 2048 {
				return nil, saved, invalid(field, "is not a link")
			}
			out = append(out, engine.ProductImage{URL: ref})
			continue
		}
		up, err := s.resolveMedia(ctx, ch, engine.KindImage, ref, nil, "")
		if err != nil {
			return nil, saved, renameField(err, field)
		}
		if up, err = checkUpload(engine.KindImage, up); err != nil {
			closeUpload(up)
			return nil, saved, renameField(err, field)
		}
		f, err := s.saveChecked(ctx, ch, up)
		closeUpload(up)
		if err != nil {
			return nil, saved, err
		}
		saved = append(saved, f.ID)
		out = append(out, engine.ProductImage{URL: s.APIURL() + "media/" + f.ID, MimeType: f.MimeType})
	}
	return out, saved, nil
}

// dropImages deletes the files stored for a product that was not kept.
func (s *Service) dropImages(ctx context.Context, ch model.Channel, ids []string) {
	for _, id := range ids {
		if err := s.DeleteMedia(context.WithoutCancel(ctx), ch, id); err != nil {
			s.log.WarnContext(ctx, "could not drop a product image", "channel_id", ch.ID, "media_id", id, "error", err)
		}
	}
}

func closeUpload(up Upload) {
	if up.File != nil {
		_ = up.File.Close()
	}
}

// renameField gives a field error of a nested value its full name.
func renameField(err error, field string) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: field, Message: fe.Message}
	}
	return err
}

// CreateProduct adds a product to the channel's catalog.
func (s *Service) CreateProduct(ctx context.Context, ch model.Channel, r ProductRequest) (engine.Product, error) {
	if err := checkProduct(r, true); err != nil {
		return engine.Product{}, err
	}
	b, err := business(s, ch)
	if err != nil {
		return engine.Product{}, err
	}
	var p engine.Product
	applyProduct(&p, r)
	var saved []string
	if p.Images, saved, err = s.productImages(ctx, ch, r.Images); err != nil {
		return engine.Product{}, err
	}
	out, err := b.CreateProduct(ctx, p)
	if err != nil {
		s.dropImages(ctx, ch, saved)
	}
	return out, s.bizError(ch, err)
}

func applyProduct(p *engine.Product, r ProductRequest) {
	for _, f := range []struct {
		v   *string
		dst *string
	}{{r.RetailerID, &p.RetailerID}, {r.Name, &p.Name}, {r.Description, &p.Description}, {r.URL, &p.URL},
		{r.Currency, &p.Currency}, {r.Availability, &p.Availability}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if r.Price != nil {
		p.Price = *r.Price
	}
	if r.Hidden != nil {
		p.Hidden = *r.Hidden
	}
}

// UpdateProduct changes a product of the channel's catalog.
func (s *Service) UpdateProduct(ctx context.Context, ch model.Channel, id string, r ProductRequest) (engine.Product, error) {
	if _, err := ProductID(id); err != nil {
		return engine.Product{}, err
	}
	if err := checkProduct(r, false); err != nil {
		return engine.Product{}, err
	}
	p, err := s.Product(ctx, ch, id)
	if err != nil {
		return engine.Product{}, err
	}
	b, err := business(s, ch)
	if err != nil {
		return engine.Product{}, err
	}
	applyProduct(&p, r)
	var saved []string
	if p.Images, saved, err = s.productImages(ctx, ch, r.Images); err != nil {
		return engine.Product{}, err
	}
	out, err := b.UpdateProduct(ctx, p)
	if err != nil {
		s.dropImages(ctx, ch, saved)
	}
	return out, s.bizError(ch, err)
}

// DeleteProduct removes a product from the channel's catalog.
func (s *Service) DeleteProduct(ctx context.Context, ch model.Channel, id string) error {
	if _, err := ProductID(id); err != nil {
		return err
	}
	b, err := business(s, ch)
	if err != nil {
		return err
	}
	return s.bizError(ch, b.DeleteProduct(ctx, id))
}

// Order reads an order a customer sent the channel, with its items; token
// is the order message's.
func (s *Service) Order(ctx context.Context, ch model.Channel, id, token string) (engine.Order, error) {
	if !productIDRE.MatchString(id) {
		return engine.Order{}, fmt.Errorf("order %q %w (an order ID is 10 to 18 digits)", id, model.ErrNotFound)
	}
	if strings.TrimSpace(token) == "" {
		return engine.Order{}, fmt.Errorf("order_token is required: the token of the order message (order.token): %w", model.ErrForbidden)
	}
	b, err := business(s, ch)
	if err != nil {
		return engine.Order{}, err
	}
	o, err := b.Order(ctx, id, token)
	return o, s.bizError(ch, err)
}
