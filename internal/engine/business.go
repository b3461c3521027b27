package engine

import (
	"context"
	"errors"
)

// Kinds of business messages: buttons, lists and carousels, a product of a
// catalog, a link to a catalog, and an order (a cart a customer sent).
const (
	// KindInteractive is a message with buttons, a list or a product:
	// Content.Interactive (Text is its body).
	KindInteractive = "interactive"
	// KindCarousel is a row of cards, each with a file and buttons:
	// Content.Carousel (Text is its body).
	KindCarousel = "carousel"
	// KindProduct is a product of a business's catalog: Content.Product.
	KindProduct = "product"
	// KindCatalog is a link to a business's catalog: Content.Catalog
	// (Text is the message's text, with the link).
	KindCatalog = "catalog"
	// KindOrder is an order a customer sent a business: Content.Order.
	KindOrder = "order"
	// KindReply is a tap on a button or a list row of an interactive
	// message (incoming only): Content.Reply, QuotedID the interactive
	// message.
	KindReply = "reply"
)

// Reply is the button or list row a recipient chose.
type Reply struct {
	List        bool // a list row, not a button
	ID          string
	Title       string
	Description string // a list row's
}

// Types of interactive messages.
const (
	InteractiveButton  = "button"
	InteractiveList    = "list"
	InteractiveProduct = "product"
)

// Types of buttons.
const (
	ButtonQuickReply = "quick_reply"
	ButtonCall       = "call"
	ButtonCopy       = "copy"
	ButtonURL        = "url"
)

// Button is a button of an interactive message or a carousel card.
type Button struct {
	Type        string // ButtonQuickReply...
	ID          string
	Title       string
	CopyCode    string // copy
	PhoneNumber string // call
	URL         string // url
	MerchantURL string // url
}

// ListRow is a choice of an interactive list.
type ListRow struct {
	ID, Title, Description string
}

// ListSection is a titled group of a list's rows.
type ListSection struct {
	Title string
	Rows  []ListRow
}

// Interactive is an interactive message: buttons, a list (Label opens it)
// or one product. Header and Footer are texts; HeaderMedia an optional
// image or video above the body.
type Interactive struct {
	Type        string // InteractiveButton, InteractiveList, InteractiveProduct
	Header      string
	Footer      string
	HeaderMedia *Media
	Buttons     []Button
	Label       string
	Sections    []ListSection
	Product     *ProductRef
}

// CarouselCard is a card of a carousel: a file, a text and buttons.
type CarouselCard struct {
	ID      string
	Text    string
	Media   *Media
	Buttons []Button
}

// Carousel is a carousel message's cards.
type Carousel struct {
	Cards []CarouselCard
}

// ProductRef names a product of a business's catalog, with what a
// message shows of it.
type ProductRef struct {
	CatalogID string // the business's number
	ProductID string
	Title     string
	Price     float64
	Currency  string
	Image     string // URL of its first image
}

// CatalogLink is a link to a business's catalog.
type CatalogLink struct {
	Owner       string // the business's JID
	Title       string
	Description string
	URL         string
}

// Order is a cart a customer sent to a business.
type Order struct {
	ID         string
	Seller     string // the business's JID
	Title      string
	Text       string
	Token      string // needed to read its items
	ItemCount  int
	Currency   string
	TotalPrice float64
	Status     string // new, accepted, canceled
	Items      []OrderItem
}

// OrderItem is a product of an order.
type OrderItem struct {
	ProductID  string
	RetailerID string
	Name       string
	Image      string
	Quantity   int
	Price      float64
	Currency   string
}

// BusinessHours are the opening hours of a day: Mode "open_24h", or
// "specific_hours" from Open to Close (minutes after midnight).
type BusinessHours struct {
	Day         string // sun ... sat
	Mode        string
	Open, Close int
}

// BusinessProfile is a WhatsApp Business account's profile.
type BusinessProfile struct {
	JID         string
	Address     string
	Description string
	Email       string
	Websites    []string
	TimeZone    string
	Hours       []BusinessHours
	Categories  []string
}

// BusinessProfileUpdate changes the account's business profile; nil fields
// stay.
type BusinessProfileUpdate struct {
	Address     *string
	Description *string
	Email       *string
	Websites    *[]string
	TimeZone    *string
	Hours       *[]BusinessHours
}

// ProductImage is an image of a product: its URL, and its bytes when the
// caller uploads it.
type ProductImage struct {
	URL      string
	MimeType string
	Data     []byte
}

// Product is a product of a catalog.
type Product struct {
	ID           string
	RetailerID   string
	Name         string
	Description  string
	URL          string
	Currency     string
	Price        float64
	Availability string // "in stock", "out of stock"
	Hidden       bool
	Images       []ProductImage
	Review       string // review status: approved, pending, rejected
}

// Collection is a named group of a catalog's products.
type Collection struct {
	ID       string
	Name     string
	Status   string // review status
	Products []string
}

// CollectionUpdate changes a collection; a nil Name stays.
type CollectionUpdate struct {
	Name   *string
	Add    []string
	Remove []string
}

// Businesser is a session of a WhatsApp Business account: its profile,
// its catalog (products and collections), other businesses' profiles and
// catalogs, and the orders customers send it. An engine that can do only
// part of it answers the rest with an error wrapping ErrUnsupported that
// says why.
type Businesser interface {
	// BusinessProfile reads a business's profile ("" : the account's own);
	// ErrNotBusiness when the account is not a business.
	BusinessProfile(ctx context.Context, user string) (BusinessProfile, error)
	// SetBusinessProfile changes the account's business profile.
	SetBusinessProfile(ctx context.Context, u BusinessProfileUpdate) error
	// Catalog lists a business's products ("" : the account's own, hidden
	// ones included).
	Catalog(ctx context.Context, owner string) ([]Product, error)
	// CreateProduct adds a product to the account's catalog.
	CreateProduct(ctx context.Context, p Product) (Product, error)
	// UpdateProduct replaces a product's fields (ErrProductNotFound).
	UpdateProduct(ctx context.Context, p Product) (Product, error)
	// DeleteProduct removes a product (ErrProductNotFound).
	DeleteProduct(ctx context.Context, id string) error
	// Collections lists the account's collections.
	Collections(ctx context.Context) ([]Collection, error)
	// CreateCollection creates a collection of products of the catalog.
	CreateCollection(ctx context.Context, name string, products []string) (Collection, error)
	// UpdateCollection renames a collection, adds and removes products
	// (ErrCollectionNotFound).
	UpdateCollection(ctx context.Context, id string, u CollectionUpdate) (Collection, error)
	// DeleteCollection deletes a collection (ErrCollectionNotFound).
	DeleteCollection(ctx context.Context, id string) error
	// Order reads an order sent to the account, with its items
	// (ErrOrderNotFound; ErrOrderToken when token is not the order's).
	Order(ctx context.Context, id, token string) (Order, error)
}

// Errors of business accounts.
var (
	ErrNotBusiness        = errors.New("engine: not a WhatsApp Business account")
	ErrProductNotFound    = errors.New("engine: product not found")
	ErrCollectionNotFound = errors.New("engine: collection not found")
	ErrOrderNotFound      = errors.New("engine: order not found")
	ErrOrderToken         = errors.New("engine: the order token is not this order's")
)
