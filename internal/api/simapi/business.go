package simapi

import (
	"errors"
	"net/http"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/httpx"
)

// BusinessParts are what a phone shows of the business kinds: an
// interactive message's header, footer, buttons, list or product, a
// carousel's cards, a product, a catalog link and an order.
type BusinessParts struct {
	Interactive *Interactive `json:"interactive,omitempty"`
	Carousel    []Card       `json:"carousel,omitempty"`
	Product     *ProductRef  `json:"product,omitempty"`
	Catalog     *CatalogLink `json:"catalog,omitempty"`
	Order       *Order       `json:"order,omitempty"`
	Reply       *Reply       `json:"reply,omitempty"`
}

// Reply is a tap on a button or a list row (send it with type reply and
// quoted_id, the interactive message).
type Reply struct {
	List        bool   `json:"list,omitempty"`
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// Button is a button on the wire.
type Button struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	Title       string `json:"title"`
	URL         string `json:"url,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
	CopyCode    string `json:"copy_code,omitempty"`
}

// Row is a list row on the wire.
type Row struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// Section is a list section on the wire.
type Section struct {
	Title string `json:"title,omitempty"`
	Rows  []Row  `json:"rows"`
}

// Interactive is an interactive message on the wire (Body is the
// message's body).
type Interactive struct {
	Type     string      `json:"type"`
	Header   string      `json:"header,omitempty"`
	Footer   string      `json:"footer,omitempty"`
	Media    *Media      `json:"media,omitempty"`
	Buttons  []Button    `json:"buttons,omitempty"`
	Label    string      `json:"label,omitempty"`
	Sections []Section   `json:"sections,omitempty"`
	Product  *ProductRef `json:"product,omitempty"`
}

// Card is a carousel card on the wire.
type Card struct {
	ID      string   `json:"id"`
	Text    string   `json:"text,omitempty"`
	Media   *Media   `json:"media,omitempty"`
	Buttons []Button `json:"buttons"`
}

// ProductRef is a product of a catalog on the wire.
type ProductRef struct {
	CatalogID string  `json:"catalog_id"`
	ProductID string  `json:"product_id"`
	Title     string  `json:"title,omitempty"`
	Price     float64 `json:"price,omitempty"`
	Currency  string  `json:"currency,omitempty"`
}

// CatalogLink is a link to a catalog on the wire.
type CatalogLink struct {
	Owner string `json:"owner"`
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
}

// Order is an order on the wire.
type Order struct {
	ID         string  `json:"id"`
	Seller     string  `json:"seller"`
	Token      string  `json:"token"`
	ItemCount  int     `json:"item_count"`
	Currency   string  `json:"currency,omitempty"`
	TotalPrice float64 `json:"total_price"`
	Status     string  `json:"status"`
}

func wireButtons(list []engine.Button) []Button {
	out := make([]Button, len(list))
	for i, b := range list {
		out[i] = Button{Type: b.Type, ID: b.ID, Title: b.Title, URL: b.URL, PhoneNumber: b.PhoneNumber, CopyCode: b.CopyCode}
	}
	return out
}

func wireMedia(m *engine.Media) *Media {
	if m == nil {
		return nil
	}
	return &Media{MimeType: m.MimeType, Size: m.Size}
}

func wireProduct(p *engine.ProductRef) *ProductRef {
	if p == nil {
		return nil
	}
	return &ProductRef{CatalogID: p.CatalogID, ProductID: p.ProductID, Title: p.Title, Price: p.Price, Currency: p.Currency}
}

// businessParts is the wire form of a content's business parts.
func businessParts(c engine.Content) BusinessParts {
	var out BusinessParts
	if in := c.Interactive; in != nil {
		w := &Interactive{Type: in.Type, Header: in.Header, Footer: in.Footer, Media: wireMedia(in.HeaderMedia),
			Buttons: wireButtons(in.Buttons), Label: in.Label, Product: wireProduct(in.Product)}
		for _, s := range in.Sections {
			sec := Section{Title: s.Title, Rows: make([]Row, len(s.Rows))}
			for i, r := range s.Rows {
				sec.Rows[i] = Row{ID: r.ID, Title: r.Title, Description: r.Description}
			}
			w.Sections = append(w.Sections, sec)
		}
		out.Interactive = w
	}
	if cr := c.Carousel; cr != nil {
		for _, card := range cr.Cards {
			out.Carousel = append(out.Carousel, Card{ID: card.ID, Text: card.Text, Media: wireMedia(card.Media), Buttons: wireButtons(card.Buttons)})
		}
	}
	out.Product = wireProduct(c.Product)
	if l := c.Catalog; l != nil {
		out.Catalog = &CatalogLink{Owner: numberOf(l.Owner), URL: l.URL, Title: l.Title}
	}
	if r := c.Reply; r != nil {
		cp := Reply(*r)
		out.Reply = &cp
	}
	if o := c.Order; o != nil {
		out.Order = &Order{ID: o.ID, Seller: numberOf(o.Seller), Token: o.Token, ItemCount: o.ItemCount, Currency: o.Currency,
			TotalPrice: o.TotalPrice, Status: o.Status}
	}
	return out
}

// orderRequest is the "order" of a phone's send: the products of the
// recipient's catalog it orders.
type orderRequest struct {
	Text  string `json:"text"`
	Items []struct {
		ProductID string `json:"product_id"`
		Quantity  int    `json:"quantity"`
	} `json:"items"`
}

// sendOrder sends an order from a phone to a business.
func (h *handler) sendOrder(w http.ResponseWriter, number string, req *sendRequest) error {
	if req.Order == nil || len(req.Order.Items) == 0 {
		return httpx.Errorf(http.StatusBadRequest, "order: required for type order, with items of the business's catalog")
	}
	lines := make([]sim.OrderLine, len(req.Order.Items))
	for i, it := range req.Order.Items {
		q := it.Quantity
		if q == 0 {
			q = 1
		}
		lines[i] = sim.OrderLine{ProductID: it.ProductID, Quantity: q}
	}
	m, err := h.net.SendOrder(number, req.To, req.Order.Text, lines)
	if err != nil {
		if errors.Is(err, engine.ErrProductNotFound) {
			return httpx.Errorf(http.StatusNotFound, "order.items: %v (the business's catalog has no such product)", err)
		}
		if errors.Is(err, sim.ErrInvalidContent) {
			err = withField(err, "order")
		}
		return fail(err)
	}
	httpx.JSON(w, http.StatusCreated, messageResult{Message: newMessage(m, false)})
	return nil
}

// CatalogProduct is a product of a business's catalog as a phone sees it.
type CatalogProduct struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Description  string   `json:"description,omitempty"`
	Price        float64  `json:"price"`
	Currency     string   `json:"currency"`
	Availability string   `json:"availability"`
	Images       []string `json:"images"`
}

// catalog lists the products a business shows, as a phone sees them.
func (h *handler) catalog(w http.ResponseWriter, r *http.Request) error {
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	business := r.PathValue("business")
	if !validNumber(business) {
		return httpx.Errorf(http.StatusBadRequest, "business: must be 7 to 15 digits, without + or spaces")
	}
	list, err := h.net.Catalog(number, business)
	if err != nil {
		return fail(withField(err, "business"))
	}
	out := struct {
		Products []CatalogProduct `json:"products"`
	}{Products: make([]CatalogProduct, 0, len(list))}
	for _, p := range list {
		cp := CatalogProduct{ID: p.ID, Name: p.Name, Description: p.Description, Price: p.Price, Currency: p.Currency,
			Availability: p.Availability, Images: make([]string, 0, len(p.Images))}
		for _, img := range p.Images {
			cp.Images = append(cp.Images, img.URL)
		}
		out.Products = append(out.Products, cp)
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// sendReply sends a tap on a button or a list row of an interactive
// message (quoted_id) from a phone.
func (h *handler) sendReply(w http.ResponseWriter, number string, req *sendRequest) error {
	if req.Reply == nil || req.Reply.ID == "" || req.Reply.Title == "" {
		return httpx.Errorf(http.StatusBadRequest, "reply: required for type reply, with the id and title of the button or row chosen")
	}
	if req.QuotedID == "" {
		return httpx.Errorf(http.StatusBadRequest, "quoted_id: required for type reply: the interactive message answered")
	}
	r := engine.Reply(*req.Reply)
	m, err := h.net.SendContent(number, req.To, engine.Content{Kind: engine.KindReply, Reply: &r, QuotedID: req.QuotedID})
	if err != nil {
		if errors.Is(err, sim.ErrInvalidContent) {
			err = withField(err, "reply")
		}
		return fail(err)
	}
	httpx.JSON(w, http.StatusCreated, messageResult{Message: newMessage(m, false)})
	return nil
}
