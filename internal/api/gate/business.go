package gate

import (
	"net/http"
	"strconv"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/service"
)

// businessRoutes registers Whapi's Business group: the business profile,
// the catalog (products, collections), other businesses' catalogs, orders,
// and sending products and catalogs; and the interactive and carousel
// sends (business_send.go).
//
// GET /business/{ContactID}/products is served by GET
// /business/{ContactID}/{Sub}: a pattern with a wildcard first would
// conflict with products/{ProductID}, orders/{OrderID} and
// collections/{CollectionID}, which the mux then prefers as more specific.
func (h *handler) businessRoutes(route func(pattern string, running bool, fn httpx.HandlerFunc)) {
	route("GET /business", true, h.getBusiness)
	route("POST /business", true, h.setBusiness)
	route("GET /business/products", true, h.listProducts)
	route("POST /business/products", true, h.createProduct)
	route("GET /business/{ContactID}/{Sub}", true, h.contactProducts)
	route("GET /business/products/{ProductID}", true, h.getProduct)
	route("POST /business/products/{ProductID}", true, h.sendProduct)
	route("PATCH /business/products/{ProductID}", true, h.updateProduct)
	route("DELETE /business/products/{ProductID}", true, h.deleteProduct)
	route("GET /business/orders/{OrderID}", true, h.getOrder)
	route("POST /business/catalogs/{ContactID}", true, h.sendCatalog)
	route("POST /business/collections", true, h.createCollection)
	route("GET /business/collections", true, h.listCollections(false))
	route("GET /business/collections/products", true, h.listCollections(true))
	route("GET /business/collections/{CollectionID}", true, h.getCollection)
	route("PATCH /business/collections/{CollectionID}", true, h.updateCollection)
	route("DELETE /business/collections/{CollectionID}", true, h.deleteCollection)
	route("GET /business/collections/{CollectionID}/products", true, h.collectionProducts)
	route("POST /messages/interactive", true, h.sendInteractive)
	route("POST /messages/carousel", true, h.sendCarousel)
}

// businessBodyLimit bounds the operations that take files: product images
// and the files of interactive messages and carousels, base64 in JSON.
func businessBodyLimit(pattern string) (httpx.LimitFunc, bool) {
	switch pattern {
	case "POST /business/products", "PATCH /business/products/{ProductID}", "POST /messages/interactive", "POST /messages/carousel":
		return httpx.Limit(richBodyLimit), true
	case "POST /business", "POST /business/collections", "PATCH /business/collections/{CollectionID}":
		return httpx.Limit(listBody), true
	}
	return nil, false
}

// richBodyLimit is a video's limit in base64, with the other fields.
var richBodyLimit = (service.MediaLimit(engine.KindVideo)+2)/3*4 + httpx.SmallBody

// hoursBody is Whapi's BusinessHours.
type hoursBody struct {
	Day       string `json:"day"`
	Mode      string `json:"mode"`
	OpenTime  int    `json:"openTime"`
	CloseTime int    `json:"closeTime"`
}

type businessHoursBody struct {
	TimeZone *string      `json:"timeZone"`
	Config   *[]hoursBody `json:"config"`
}

// businessBody is Whapi's BusinessProfileCustom.
type businessBody struct {
	Address     *string            `json:"address"`
	Description *string            `json:"description"`
	Email       *string            `json:"email"`
	Websites    *[]string          `json:"websites"`
	Hours       *businessHoursBody `json:"hours"`
}

// businessOut is Whapi's BusinessProfile.
type businessOut struct {
	ID          string             `json:"id"`
	Address     string             `json:"address"`
	Description string             `json:"description"`
	Email       string             `json:"email"`
	Websites    []string           `json:"websites"`
	Hours       *businessHoursOut  `json:"hours,omitempty"`
	Categories  []businessCategory `json:"categories,omitempty"`
}

type businessHoursOut struct {
	TimeZone string      `json:"timeZone,omitempty"`
	Config   []hoursBody `json:"config"`
}

type businessCategory struct {
	Name string `json:"name"`
}

func (h *handler) getBusiness(w http.ResponseWriter, r *http.Request) error {
	p, err := h.svc.BusinessProfile(r.Context(), channelOf(r))
	if err != nil {
		return err
	}
	out := businessOut{ID: phone(p.JID), Address: p.Address, Description: p.Description, Email: p.Email, Websites: p.Websites}
	if out.Websites == nil {
		out.Websites = []string{}
	}
	if p.TimeZone != "" || len(p.Hours) > 0 {
		out.Hours = &businessHoursOut{TimeZone: p.TimeZone, Config: []hoursBody{}}
		for _, d := range p.Hours {
			out.Hours.Config = append(out.Hours.Config, hoursBody{Day: d.Day, Mode: d.Mode, OpenTime: d.Open, CloseTime: d.Close})
		}
	}
	for _, c := range p.Categories {
		out.Categories = append(out.Categories, businessCategory{Name: c})
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) setBusiness(w http.ResponseWriter, r *http.Request) error {
	if err := jsonOnly(r); err != nil {
		return err
	}
	var b businessBody
	if err := httpx.DecodeLimit(r, &b, true, listBody); err != nil {
		return err
	}
	u := service.BusinessProfileUpdate{Address: b.Address, Description: b.Description, Email: b.Email, Websites: b.Websites}
	if b.Hours != nil {
		u.TimeZone = b.Hours.TimeZone
		if b.Hours.Config != nil {
			hours := make([]engine.BusinessHours, len(*b.Hours.Config))
			for i, d := range *b.Hours.Config {
				hours[i] = engine.BusinessHours{Day: d.Day, Mode: d.Mode, Open: d.OpenTime, Close: d.CloseTime}
			}
			u.Hours = &hours
		}
	}
	if err := h.svc.SetBusinessProfile(r.Context(), channelOf(r), u); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

// productOut is Whapi's Product.
type productOut struct {
	ID           string         `json:"id"`
	RetailerID   string         `json:"product_retailer_id,omitempty"`
	Name         string         `json:"name"`
	Description  string         `json:"description"`
	URL          string         `json:"url,omitempty"`
	Currency     string         `json:"currency"`
	Price        float64        `json:"price"`
	Availability string         `json:"availability"`
	Hidden       bool           `json:"is_hidden"`
	Images       []string       `json:"images"`
	Review       *productReview `json:"review,omitempty"`
}

type productReview struct {
	Status string `json:"status"`
}

func newProduct(p engine.Product) productOut {
	out := productOut{ID: p.ID, RetailerID: p.RetailerID, Name: p.Name, Description: p.Description, URL: p.URL, Currency: p.Currency,
		Price: p.Price, Availability: p.Availability, Hidden: p.Hidden, Images: make([]string, 0, len(p.Images))}
	for _, img := range p.Images {
		out.Images = append(out.Images, img.URL)
	}
	if p.Review != "" {
		out.Review = &productReview{Status: p.Review}
	}
	return out
}

// productList is Whapi's ProductsList.
type productList struct {
	Products []productOut `json:"products"`
	Count    int          `json:"count"`
	Total    int          `json:"total"`
	Offset   int          `json:"offset"`
}

func newProductList(list []engine.Product, total, offset int) productList {
	out := productList{Products: make([]productOut, 0, len(list)), Count: len(list), Total: total, Offset: offset}
	for _, p := range list {
		out.Products = append(out.Products, newProduct(p))
	}
	return out
}

func (h *handler) listProducts(w http.ResponseWriter, r *http.Request) error {
	return h.products(w, r, "")
}

// contactProducts serves GET /business/{ContactID}/products (see
// businessRoutes); any other second segment is not a path of the API.
func (h *handler) contactProducts(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("Sub") != "products" {
		return httpx.Errorf(http.StatusNotFound, "no such path: %s", r.URL.Path)
	}
	return h.products(w, r, r.PathValue("ContactID"))
}

func (h *handler) products(w http.ResponseWriter, r *http.Request, owner string) error {
	page, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	list, total, err := h.svc.Products(r.Context(), channelOf(r), owner, page)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newProductList(list, total, page.Offset))
	return nil
}

func (h *handler) getProduct(w http.ResponseWriter, r *http.Request) error {
	p, err := h.svc.Product(r.Context(), channelOf(r), r.PathValue("ProductID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newProduct(p))
	return nil
}

// productBody is Whapi's ProductCreate and ProductEdit.
type productBody struct {
	RetailerID   *string  `json:"product_retailer_id"`
	Currency     *string  `json:"currency"`
	Images       []string `json:"images"`
	Availability *string  `json:"availability"`
	Name         *string  `json:"name"`
	URL          *string  `json:"url"`
	Description  *string  `json:"description"`
	Price        *float64 `json:"price"`
	Hidden       *bool    `json:"is_hidden"`
}

// productFormJSON are a product form's fields that are not plain text.
var productFormJSON = map[string]bool{"images": true, "price": true, "is_hidden": true}

// decodeRich decodes a body that may carry files as base64: JSON up to
// richBodyLimit, or form fields (jsonFields hold JSON).
func decodeRich(r *http.Request, dst any, jsonFields map[string]bool) error {
	if isMultipart(r) || isURLEncoded(r) {
		return decodeBodyWith(r, dst, true, jsonFields)
	}
	if err := jsonOnly(r); err != nil {
		return err
	}
	return httpx.DecodeLimit(r, dst, true, richBodyLimit)
}

func (b productBody) request() service.ProductRequest {
	return service.ProductRequest{RetailerID: b.RetailerID, Name: b.Name, Description: b.Description, URL: b.URL,
		Currency: b.Currency, Price: b.Price, Availability: b.Availability, Hidden: b.Hidden, Images: b.Images}
}

func (h *handler) createProduct(w http.ResponseWriter, r *http.Request) error {
	var b productBody
	if err := decodeRich(r, &b, productFormJSON); err != nil {
		return err
	}
	p, err := h.svc.CreateProduct(r.Context(), channelOf(r), b.request())
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newProduct(p))
	return nil
}

func (h *handler) updateProduct(w http.ResponseWriter, r *http.Request) error {
	var b productBody
	if err := decodeRich(r, &b, productFormJSON); err != nil {
		return err
	}
	p, err := h.svc.UpdateProduct(r.Context(), channelOf(r), r.PathValue("ProductID"), b.request())
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newProduct(p))
	return nil
}

func (h *handler) deleteProduct(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteProduct(r.Context(), channelOf(r), r.PathValue("ProductID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

// orderItem is Whapi's ProductItem.
type orderItem struct {
	ID         string  `json:"id"`
	RetailerID string  `json:"product_retailer_id,omitempty"`
	Name       string  `json:"name"`
	Image      string  `json:"image,omitempty"`
	Quantity   int     `json:"quantity"`
	Price      float64 `json:"price"`
	Currency   string  `json:"currency"`
}

func (h *handler) getOrder(w http.ResponseWriter, r *http.Request) error {
	o, err := h.svc.Order(r.Context(), channelOf(r), r.PathValue("OrderID"), r.URL.Query().Get("order_token"))
	if err != nil {
		return err
	}
	out := struct {
		Items []orderItem `json:"items"`
	}{Items: make([]orderItem, 0, len(o.Items))}
	for _, it := range o.Items {
		out.Items = append(out.Items, orderItem{ID: it.ProductID, RetailerID: it.RetailerID, Name: it.Name, Image: it.Image,
			Quantity: it.Quantity, Price: it.Price, Currency: it.Currency})
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// collectionOut is Whapi's BusinessCollection.
type collectionOut struct {
	ID       string       `json:"id"`
	Name     string       `json:"name"`
	Status   string       `json:"status,omitempty"`
	Products []productOut `json:"products"`
}

func newCollection(v service.CollectionView) collectionOut {
	out := collectionOut{ID: v.ID, Name: v.Name, Status: v.Status, Products: make([]productOut, 0, len(v.Items))}
	for _, p := range v.Items {
		out.Products = append(out.Products, newProduct(p))
	}
	return out
}

// productsCount reads ?products_count= (1 to 30, default 10).
func productsCount(r *http.Request) (int, error) {
	v := r.URL.Query().Get("products_count")
	if v == "" {
		return 10, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > service.MaxCollectionProducts {
		return 0, httpx.Errorf(http.StatusBadRequest, "products_count: must be a whole number from 1 to %d", service.MaxCollectionProducts)
	}
	return n, nil
}

// listCollections lists collections with their first products: 10, or
// products_count for GET /business/collections/products.
func (h *handler) listCollections(counted bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, err := apiutil.ParsePage(r)
		if err != nil {
			return err
		}
		n := 10
		if counted {
			if n, err = productsCount(r); err != nil {
				return err
			}
		}
		list, total, err := h.svc.Collections(r.Context(), channelOf(r), page, n)
		if err != nil {
			return err
		}
		out := struct {
			Collections []collectionOut `json:"collections"`
			Count       int             `json:"count"`
			Total       int             `json:"total"`
			Offset      int             `json:"offset"`
		}{Collections: make([]collectionOut, 0, len(list)), Count: len(list), Total: total, Offset: page.Offset}
		for _, v := range list {
			out.Collections = append(out.Collections, newCollection(v))
		}
		httpx.JSON(w, http.StatusOK, out)
		return nil
	}
}

func (h *handler) getCollection(w http.ResponseWriter, r *http.Request) error {
	v, err := h.svc.Collection(r.Context(), channelOf(r), r.PathValue("CollectionID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newCollection(v))
	return nil
}

func (h *handler) collectionProducts(w http.ResponseWriter, r *http.Request) error {
	n, err := productsCount(r)
	if err != nil {
		return err
	}
	v, err := h.svc.Collection(r.Context(), channelOf(r), r.PathValue("CollectionID"))
	if err != nil {
		return err
	}
	total := len(v.Items)
	if len(v.Items) > n {
		v.Items = v.Items[:n]
	}
	httpx.JSON(w, http.StatusOK, newProductList(v.Items, total, 0))
	return nil
}

// collectionResult is Whapi's BusinessCollectionEditResult.
type collectionResult struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func (h *handler) createCollection(w http.ResponseWriter, r *http.Request) error {
	if err := jsonOnly(r); err != nil {
		return err
	}
	var b struct {
		Name     string   `json:"name"`
		Products []string `json:"products"`
	}
	if err := httpx.DecodeLimit(r, &b, true, listBody); err != nil {
		return err
	}
	c, err := h.svc.CreateCollection(r.Context(), channelOf(r), b.Name, b.Products)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, collectionResult{ID: c.ID, Status: c.Status})
	return nil
}

func (h *handler) updateCollection(w http.ResponseWriter, r *http.Request) error {
	if err := jsonOnly(r); err != nil {
		return err
	}
	var b struct {
		Name   *string  `json:"name"`
		Remove []string `json:"remove_products"`
		Add    []string `json:"add_products"`
	}
	if err := httpx.DecodeLimit(r, &b, true, listBody); err != nil {
		return err
	}
	c, err := h.svc.UpdateCollection(r.Context(), channelOf(r), r.PathValue("CollectionID"),
		service.CollectionUpdate{Name: b.Name, Add: b.Add, Remove: b.Remove})
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, collectionResult{ID: c.ID, Status: c.Status})
	return nil
}

func (h *handler) deleteCollection(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteCollection(r.Context(), channelOf(r), r.PathValue("CollectionID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}
