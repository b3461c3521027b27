package gate

import (
	"net/http"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/wire"
)

// textPart is Whapi's {"text": ...} of a header, body or footer.
type textPart struct {
	Text string `json:"text"`
}

func (t *textPart) text() string {
	if t == nil {
		return ""
	}
	return t.Text
}

// buttonBody is Whapi's Button.
type buttonBody struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	ID          string `json:"id"`
	CopyCode    string `json:"copy_code"`
	PhoneNumber string `json:"phone_number"`
	URL         string `json:"url"`
	MerchantURL string `json:"merchant_url"`
}

func buttons(list []buttonBody) []engine.Button {
	out := make([]engine.Button, len(list))
	for i, b := range list {
		out[i] = engine.Button{Type: b.Type, ID: b.ID, Title: b.Title, CopyCode: b.CopyCode, PhoneNumber: b.PhoneNumber,
			URL: b.URL, MerchantURL: b.MerchantURL}
	}
	return out
}

type rowBody struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	ID          string `json:"id"`
}

type sectionBody struct {
	Title string    `json:"title"`
	Rows  []rowBody `json:"rows"`
}

type listBodyPart struct {
	Sections []sectionBody `json:"sections"`
	Label    string        `json:"label"`
}

type productRefBody struct {
	CatalogID string `json:"catalog_id"`
	ProductID string `json:"product_id"`
}

// actionBody is Whapi's InteractiveAction: buttons, a list or a product
// (a list's sections and label may also stand in the action itself, with
// "button" as the label, as in Whapi's ActionList).
type actionBody struct {
	Buttons  []buttonBody    `json:"buttons"`
	List     *listBodyPart   `json:"list"`
	Product  *productRefBody `json:"product"`
	Sections []sectionBody   `json:"sections"`
	Button   string          `json:"button"`
}

// interactiveBody is Whapi's SenderInteractive.
type interactiveBody struct {
	To         string      `json:"to"`
	Quoted     string      `json:"quoted"`
	Edit       string      `json:"edit"`
	Type       string      `json:"type"`
	Header     *textPart   `json:"header"`
	Body       *textPart   `json:"body"`
	Footer     *textPart   `json:"footer"`
	Action     *actionBody `json:"action"`
	Media      string      `json:"media"`
	MimeType   string      `json:"mime_type"`
	Mentions   []string    `json:"mentions"`
	TypingTime float64     `json:"typing_time"`
}

// richFormJSON are the form fields of interactive and carousel sends that
// hold JSON.
var richFormJSON = map[string]bool{"header": true, "body": true, "footer": true, "action": true, "cards": true, "typing_time": true}

func (b interactiveBody) request() service.SendRequest {
	req := service.SendRequest{Kind: engine.KindInteractive, To: b.To, Quoted: b.Quoted, Edit: b.Edit, Body: b.Body.text(),
		Media: b.Media, MimeType: b.MimeType, Mentions: b.Mentions, TypingTime: b.TypingTime}
	if b.Action == nil {
		return req
	}
	a := b.Action
	in := &engine.Interactive{Type: b.Type, Header: b.Header.text(), Footer: b.Footer.text(), Buttons: buttons(a.Buttons)}
	sections, label := a.Sections, a.Button
	if a.List != nil {
		sections, label = a.List.Sections, a.List.Label
	}
	in.Label = label
	for _, s := range sections {
		sec := engine.ListSection{Title: s.Title, Rows: make([]engine.ListRow, len(s.Rows))}
		for i, r := range s.Rows {
			sec.Rows[i] = engine.ListRow{ID: r.ID, Title: r.Title, Description: r.Description}
		}
		in.Sections = append(in.Sections, sec)
	}
	if a.Product != nil {
		in.Product = &engine.ProductRef{CatalogID: a.Product.CatalogID, ProductID: a.Product.ProductID}
	}
	req.Interactive = in
	return req
}

func (h *handler) sendInteractive(w http.ResponseWriter, r *http.Request) error {
	var b interactiveBody
	if err := decodeRich(r, &b, richFormJSON); err != nil {
		return err
	}
	return h.sent(w, r, b.request())
}

// cardBody is Whapi's CarouselCard.
type cardBody struct {
	ID      string       `json:"id"`
	Text    string       `json:"text"`
	Buttons []buttonBody `json:"buttons"`
	Media   *struct {
		Media    string `json:"media"`
		MimeType string `json:"mime_type"`
	} `json:"media"`
}

// carouselBody is Whapi's SenderCarousel.
type carouselBody struct {
	To         string     `json:"to"`
	Quoted     string     `json:"quoted"`
	Edit       string     `json:"edit"`
	Body       *textPart  `json:"body"`
	Cards      []cardBody `json:"cards"`
	TypingTime float64    `json:"typing_time"`
}

func (h *handler) sendCarousel(w http.ResponseWriter, r *http.Request) error {
	var b carouselBody
	if err := decodeRich(r, &b, richFormJSON); err != nil {
		return err
	}
	req := service.SendRequest{Kind: engine.KindCarousel, To: b.To, Quoted: b.Quoted, Edit: b.Edit, Body: b.Body.text(), TypingTime: b.TypingTime}
	if b.Cards != nil {
		req.Carousel = &engine.Carousel{Cards: make([]engine.CarouselCard, len(b.Cards))}
		req.CardMedia = make([]string, len(b.Cards))
		for i, c := range b.Cards {
			req.Carousel.Cards[i] = engine.CarouselCard{ID: c.ID, Text: c.Text, Buttons: buttons(c.Buttons)}
			if c.Media != nil {
				req.CardMedia[i] = c.Media.Media
				if c.Media.MimeType != "" && c.Media.Media != "" && !isRef(c.Media.Media) {
					req.CardMedia[i] = "data:" + c.Media.MimeType + ";base64," + c.Media.Media
				}
			}
		}
	}
	return h.sent(w, r, req)
}

// isRef reports a media string that is not bare base64: a URL, a data URI
// or a media ID.
func isRef(s string) bool {
	return len(s) < 8 || s[:5] == "data:" || s[:7] == "http://" || s[:8] == "https://" || service.ValidMediaID(s)
}

// sent sends and answers Whapi's SentMessage.
func (h *handler) sent(w http.ResponseWriter, r *http.Request, req service.SendRequest) error {
	m, err := h.svc.Send(r.Context(), channelOf(r), req)
	if err != nil {
		return err
	}
	return writeSent(w, m)
}

func writeSent(w http.ResponseWriter, m model.Message) error {
	httpx.JSON(w, http.StatusOK, sent{Sent: true, Message: wire.NewMessage(m)})
	return nil
}

func (h *handler) sendProduct(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		To        string `json:"to"`
		CatalogID string `json:"catalog_id"`
	}
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	m, err := h.svc.SendProduct(r.Context(), channelOf(r), r.PathValue("ProductID"), b.To, b.CatalogID)
	if err != nil {
		return err
	}
	return writeSent(w, m)
}

func (h *handler) sendCatalog(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		To          string `json:"to"`
		Title       string `json:"title"`
		Description string `json:"description"`
		Body        string `json:"body"`
		PreviewType string `json:"preview_type"`
	}
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	m, err := h.svc.SendCatalog(r.Context(), channelOf(r), r.PathValue("ContactID"), service.CatalogRequest{To: b.To, Title: b.Title,
		Description: b.Description, Body: b.Body, PreviewType: b.PreviewType})
	if err != nil {
		return err
	}
	return writeSent(w, m)
}
