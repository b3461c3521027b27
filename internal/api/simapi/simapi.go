// Package simapi is the operator's HTTP control of the simulated WhatsApp
// network (package sim) under /admin/sim: create phones, link channels by
// "scanning" their QR code or typing their pairing code, send messages of
// any kind from phones (to numbers and groups), react, create groups and
// change their participants, show typing, read what phones received and
// unlink their devices. The app mounts it only when the sim engine runs, on
// the operator API's router, so the admin token is checked before any of
// these handlers runs.
package simapi

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/httpx"
)

// MaxBody is the longest text a phone can send through this API, in
// characters.
const MaxBody = 4096

// MaxReadIDs bounds the IDs of one read request.
const MaxReadIDs = 1000

// maxBody bounds a request body: a phone's media in base64 (the network
// takes files up to sim.MaxMediaSize) with its JSON.
const maxBody = sim.MaxMediaSize*4/3 + 1<<20

// Register adds the sim routes through route (admin.Handler.RouteLimit),
// each with the largest body it reads.
func Register(route func(pattern string, limit int64, fn httpx.HandlerFunc), net *sim.Network) {
	h := &handler{net: net}
	small := int64(httpx.SmallBody)
	route("POST /admin/sim/phones", small, h.addPhone)
	route("GET /admin/sim/phones", small, h.listPhones)
	route("GET /admin/sim/phones/{phone}", small, h.getPhone)
	route("POST /admin/sim/phones/{phone}/link", small, h.link)
	route("POST /admin/sim/phones/{phone}/messages", maxBody, h.send)
	route("GET /admin/sim/phones/{phone}/messages", small, h.messages)
	route("POST /admin/sim/phones/{phone}/read", small, h.read)
	route("POST /admin/sim/phones/{phone}/unlink", small, h.unlink)
	route("GET /admin/sim/phones/{phone}/catalog/{business}", small, h.catalog) // business.go
	route("POST /admin/sim/phones/{phone}/react", small, h.react)
	route("POST /admin/sim/phones/{phone}/presence", small, h.presence)
	route("POST /admin/sim/phones/{phone}/groups", small, h.createGroup)
	route("GET /admin/sim/phones/{phone}/groups", small, h.listGroups)
	route("POST /admin/sim/phones/{phone}/groups/{group}/participants", small, h.participants)
	route("POST /admin/sim/channels/{ChannelID}/faults", small, h.injectFault)
	route("GET /admin/sim/channels/{ChannelID}", small, h.channelStats)
	route("GET /admin/sim/sessions", small, h.sessions)
	h.callRoutes(route, small)     // calls.go: calls, votes, media expiry
	h.appStateRoutes(route, small) // appstate.go: chat settings and labels
}

type handler struct {
	net *sim.Network
}

// Phone is a sim phone on the wire.
type Phone struct {
	Phone   string   `json:"phone"`
	Name    string   `json:"name"`
	About   string   `json:"about"`
	JID     string   `json:"jid"`
	Devices []Device `json:"devices"`
}

// Device is a linked device of a phone on the wire.
type Device struct {
	Device    string `json:"device"`
	ChannelID string `json:"channel_id"`
	Connected bool   `json:"connected"`
	LinkedAt  int64  `json:"linked_at"`
}

// Message is a phone's message on the wire. To is a number, or a group's
// JID. Body is the text, caption or link preview text; Caption repeats it
// for media. MediaBase64 is set only when asked for (include_media).
type Message struct {
	ID          string       `json:"id"`
	From        string       `json:"from"`
	To          string       `json:"to"`
	Type        string       `json:"type"`
	Body        string       `json:"body"`
	Caption     string       `json:"caption,omitempty"`
	Time        int64        `json:"time"`
	Status      string       `json:"status"`
	Media       *Media       `json:"media,omitempty"`
	MediaBase64 string       `json:"media_base64,omitempty"`
	Location    *Location    `json:"location,omitempty"`
	Contact     *Contact     `json:"contact,omitempty"`
	LinkPreview *LinkPreview `json:"link_preview,omitempty"`
	Poll        *Poll        `json:"poll,omitempty"`
	// LiveLocation and Contacts: live_location and contact_list messages.
	LiveLocation *engine.LiveLocation `json:"live_location,omitempty"`
	Contacts     []Contact            `json:"contacts,omitempty"`
	QuotedID     string               `json:"quoted_id,omitempty"`
	Mentions     []string             `json:"mentions,omitempty"`
	Edited       bool                 `json:"edited,omitempty"`
	Revoked      bool                 `json:"revoked,omitempty"`
	Reactions    []Reaction           `json:"reactions,omitempty"`
	// BusinessParts: interactive, carousel, product, catalog and order
	// messages (business.go).
	BusinessParts
}

// Media describes a message's file on the wire (its bytes are
// Message.MediaBase64).
type Media struct {
	MimeType string `json:"mime_type"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"` // hex
	FileName string `json:"file_name,omitempty"`
	// Seconds, Width, Height, Waveform (a voice note's 64 loudness
	// samples, 0-100) and Thumbnail (a JPEG, base64): what the sender
	// said about the file.
	Seconds   int    `json:"seconds,omitempty"`
	Width     int    `json:"width,omitempty"`
	Height    int    `json:"height,omitempty"`
	Waveform  []int  `json:"waveform,omitempty"`
	Thumbnail []byte `json:"thumbnail,omitempty"`
}

// Location is a shared place on the wire.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// Contact is a shared contact on the wire.
type Contact struct {
	Name  string `json:"name"`
	VCard string `json:"vcard"`
}

// LinkPreview is a link preview on the wire.
type LinkPreview struct {
	URL         string `json:"url"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// Poll is a poll on the wire.
type Poll struct {
	Title      string   `json:"title"`
	Options    []string `json:"options"`
	Selectable int      `json:"selectable"`
}

// Reaction is an account's reaction to a message on the wire.
type Reaction struct {
	From  string `json:"from"`
	Emoji string `json:"emoji"`
	Time  int64  `json:"time"`
}

func newPhone(p sim.Phone) Phone {
	out := Phone{Phone: p.Number, Name: p.Name, About: p.About, JID: p.JID, Devices: make([]Device, 0, len(p.Devices))}
	for _, d := range p.Devices {
		out.Devices = append(out.Devices, Device{Device: d.ID, ChannelID: d.ChannelID, Connected: d.Connected, LinkedAt: millis(d.LinkedAt)})
	}
	return out
}

func newMessage(m sim.PhoneMessage, withMedia bool) Message {
	c := m.Content
	out := Message{ID: m.ID, From: m.From, To: m.To, Type: c.Kind, Body: m.Body, Time: millis(m.Time), Status: m.Status,
		QuotedID: c.QuotedID, Edited: m.Edited, Revoked: m.Revoked}
	if out.Type == "" {
		out.Type = engine.KindText
	}
	if f := c.Media; f != nil {
		out.Caption = m.Body
		out.Media = &Media{MimeType: f.MimeType, Size: f.Size, SHA256: hex.EncodeToString(f.SHA256), FileName: f.FileName,
			Seconds: f.Seconds, Width: f.Width, Height: f.Height, Thumbnail: f.Thumbnail}
		for _, v := range f.Waveform {
			out.Media.Waveform = append(out.Media.Waveform, int(v))
		}
		if withMedia {
			out.MediaBase64 = base64.StdEncoding.EncodeToString(f.Data)
		}
	}
	if l := c.Location; l != nil {
		out.Location = &Location{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address, URL: l.URL}
	}
	if k := c.Contact; k != nil {
		out.Contact = &Contact{Name: k.Name, VCard: k.VCard}
	}
	if lp := c.LinkPreview; lp != nil {
		out.LinkPreview = &LinkPreview{URL: lp.URL, Title: lp.Title, Description: lp.Description}
	}
	if p := c.Poll; p != nil {
		out.Poll = &Poll{Title: p.Title, Options: p.Options, Selectable: p.Selectable}
	}
	out.LiveLocation = c.LiveLocation
	for _, k := range c.Contacts {
		out.Contacts = append(out.Contacts, Contact{Name: k.Name, VCard: k.VCard})
	}
	for _, j := range c.Mentions {
		out.Mentions = append(out.Mentions, numberOf(j))
	}
	out.BusinessParts = businessParts(c)
	for _, r := range m.Reactions {
		out.Reactions = append(out.Reactions, Reaction{From: r.From, Emoji: r.Emoji, Time: millis(r.Time)})
	}
	return out
}

// numberOf is the number of a user JID.
func numberOf(jid string) string {
	user, _, _ := strings.Cut(jid, "@")
	return user
}

func millis(t time.Time) int64 { return t.UnixMilli() }

type addPhoneRequest struct {
	Phone string `json:"phone"`
	Name  string `json:"name"`
}

func (h *handler) addPhone(w http.ResponseWriter, r *http.Request) error {
	var req addPhoneRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	if err := checkNumber("phone", req.Phone); err != nil {
		return err
	}
	if err := checkName(req.Name); err != nil {
		return err
	}
	p, err := h.net.AddPhone(req.Phone, req.Name)
	switch {
	case errors.Is(err, sim.ErrPhoneExists):
		return httpx.Errorf(http.StatusConflict, "phone: a sim phone with number %s already exists", req.Phone)
	case err != nil:
		return fail(err)
	}
	httpx.JSON(w, http.StatusCreated, newPhone(p))
	return nil
}

type phoneList struct {
	Phones []Phone `json:"phones"`
}

func (h *handler) listPhones(w http.ResponseWriter, r *http.Request) error {
	ps := h.net.Phones()
	out := phoneList{Phones: make([]Phone, 0, len(ps))}
	for _, p := range ps {
		out.Phones = append(out.Phones, newPhone(p))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) getPhone(w http.ResponseWriter, r *http.Request) error {
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	p, err := h.net.Phone(number)
	if err != nil {
		return fail(err)
	}
	httpx.JSON(w, http.StatusOK, newPhone(p))
	return nil
}

type linkRequest struct {
	QR   string `json:"qr"`
	Code string `json:"code"`
	// History makes the phone send the new device its past chats.
	History bool `json:"history"`
}

type linkResult struct {
	Success   bool   `json:"success"`
	ChannelID string `json:"channel_id"`
}

func (h *handler) link(w http.ResponseWriter, r *http.Request) error {
	var req linkRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	qr, code := strings.TrimSpace(req.QR), strings.TrimSpace(req.Code)
	var channel string
	switch {
	case qr != "" && code != "":
		return httpx.Errorf(http.StatusBadRequest, "qr and code: send only one of them")
	case qr != "":
		channel, err = h.net.LinkQRWith(number, qr, req.History)
	case code != "":
		channel, err = h.net.LinkCodeWith(number, code, req.History)
	default:
		return httpx.Errorf(http.StatusBadRequest, "qr or code: one of them is required (the channel's QR string, or its pairing code)")
	}
	if err != nil {
		return fail(err)
	}
	httpx.JSON(w, http.StatusOK, linkResult{Success: true, ChannelID: channel})
	return nil
}

type sendRequest struct {
	To          string           `json:"to"`
	Type        string           `json:"type"`
	Body        string           `json:"body"`
	Caption     string           `json:"caption"`
	Media       string           `json:"media"`
	MimeType    string           `json:"mime_type"`
	FileName    string           `json:"file_name"`
	Location    *locationRequest `json:"location"`
	Contact     *Contact         `json:"contact"`
	LinkPreview *LinkPreview     `json:"link_preview"`
	Poll        *Poll            `json:"poll"`
	QuotedID    string           `json:"quoted_id"`
	Mentions    []string         `json:"mentions"`
	Order       *orderRequest    `json:"order"`
	Reply       *Reply           `json:"reply"`
	Addressing  string           `json:"addressing"`
}

type locationRequest struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	Name      string   `json:"name"`
	Address   string   `json:"address"`
}

type messageResult struct {
	Message Message `json:"message"`
}

// kinds are the message types a phone sends, in the order errors list them.
var kinds = []string{engine.KindText, engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindAudio, engine.KindVoice,
	engine.KindDocument, engine.KindSticker, engine.KindLocation, engine.KindContact, engine.KindLinkPreview, engine.KindPoll}

func (h *handler) send(w http.ResponseWriter, r *http.Request) error {
	var req sendRequest
	if err := httpx.DecodeStrictLimit(r, &req, true, maxBody); err != nil {
		return err
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	if err := checkChat("to", req.To); err != nil {
		return err
	}
	if req.Type == engine.KindOrder { // business.go
		return h.sendOrder(w, number, &req)
	}
	if req.Order != nil {
		return httpx.Errorf(http.StatusBadRequest, "order: not used with type %s (only with order)", req.Type)
	}
	if req.Type == engine.KindReply { // business.go
		return h.sendReply(w, number, &req)
	}
	if req.Reply != nil {
		return httpx.Errorf(http.StatusBadRequest, "reply: not used with type %s (only with reply)", req.Type)
	}
	c, err := req.content()
	if err != nil {
		return err
	}
	by := sim.Addressing(req.Addressing)
	switch by {
	case "", sim.ByNumber, sim.ByLID, sim.ByLIDOnly:
	default:
		return httpx.Errorf(http.StatusBadRequest, "addressing: %q is not number, lid or lid_only", req.Addressing)
	}
	m, err := h.net.SendContentBy(number, req.To, c, by)
	if err != nil {
		switch {
		case errors.Is(err, sim.ErrInvalidContent), errors.Is(err, sim.ErrTooLarge):
			err = withField(err, contentField(c.Kind))
		case errors.Is(err, engine.ErrGroupNotFound), errors.Is(err, engine.ErrNotAdmin):
			err = withField(err, "to")
		}
		return fail(err)
	}
	httpx.JSON(w, http.StatusCreated, messageResult{Message: newMessage(m, false)})
	return nil
}

// contentField is the request field a content error of a kind is about.
func contentField(kind string) string {
	switch {
	case engine.IsMedia(kind):
		return "media"
	case kind == engine.KindText:
		return "body"
	}
	return kind
}

// content checks a send request's fields for its type and builds the
// content; the network checks the values further.
func (req *sendRequest) content() (engine.Content, error) {
	kind := req.Type
	if kind == "" {
		kind = engine.KindText
	}
	if !slices.Contains(kinds, kind) {
		return engine.Content{}, httpx.Errorf(http.StatusBadRequest, "type: must be one of %s", strings.Join(kinds, ", "))
	}
	media := []string{engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindAudio, engine.KindVoice, engine.KindDocument, engine.KindSticker}
	for _, f := range []struct {
		name  string
		set   bool
		kinds []string
	}{
		{"body", req.Body != "", []string{engine.KindText, engine.KindLinkPreview}},
		{"caption", req.Caption != "", []string{engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindDocument}},
		{"media", req.Media != "", media},
		{"mime_type", req.MimeType != "", media},
		{"file_name", req.FileName != "", media},
		{"location", req.Location != nil, []string{engine.KindLocation}},
		{"contact", req.Contact != nil, []string{engine.KindContact}},
		{"link_preview", req.LinkPreview != nil, []string{engine.KindLinkPreview}},
		{"poll", req.Poll != nil, []string{engine.KindPoll}},
	} {
		if f.set && !slices.Contains(f.kinds, kind) {
			return engine.Content{}, httpx.Errorf(http.StatusBadRequest, "%s: not used with type %s (only with %s)", f.name, kind, strings.Join(f.kinds, ", "))
		}
	}
	c := engine.Content{Kind: kind, QuotedID: strings.TrimSpace(req.QuotedID)}
	for i, m := range req.Mentions {
		if !validNumber(m) {
			return engine.Content{}, httpx.Errorf(http.StatusBadRequest, "mentions[%d]: must be 7 to 15 digits, without + or spaces", i)
		}
		c.Mentions = append(c.Mentions, sim.JID(m))
	}
	switch kind {
	case engine.KindText, engine.KindLinkPreview:
		switch {
		case strings.TrimSpace(req.Body) == "":
			return engine.Content{}, httpx.Errorf(http.StatusBadRequest, "body: required, and not blank")
		case utf8.RuneCountInString(req.Body) > MaxBody:
			return engine.Content{}, httpx.Errorf(http.StatusBadRequest, "body: must be at most %d characters", MaxBody)
		}
		c.Text = req.Body
		if kind == engine.KindLinkPreview {
			if req.LinkPreview == nil || strings.TrimSpace(req.LinkPreview.URL) == "" {
				return engine.Content{}, httpx.Errorf(http.StatusBadRequest, "link_preview: required for type link_preview, with its url")
			}
			c.LinkPreview = &engine.LinkPreview{URL: req.LinkPreview.URL, Title: req.LinkPreview.Title, Description: req.LinkPreview.Description}
		}
	case engine.KindLocation:
		l := req.Location
		if l == nil || l.Latitude == nil || l.Longitude == nil {
			return engine.Content{}, httpx.Errorf(http.StatusBadRequest, "location: required for type location, with latitude and longitude")
		}
		c.Location = &engine.Location{Latitude: *l.Latitude, Longitude: *l.Longitude, Name: l.Name, Address: l.Address}
	case engine.KindContact:
		if req.Contact == nil || strings.TrimSpace(req.Contact.Name) == "" {
			return engine.Content{}, httpx.Errorf(http.StatusBadRequest, "contact: required for type contact, with a name")
		}
		c.Contact = &engine.ContactCard{Name: req.Contact.Name, VCard: req.Contact.VCard}
	case engine.KindPoll:
		if req.Poll == nil || strings.TrimSpace(req.Poll.Title) == "" || len(req.Poll.Options) == 0 {
			return engine.Content{}, httpx.Errorf(http.StatusBadRequest, "poll: required for type poll, with a title and options")
		}
		c.Poll = &engine.Poll{Title: req.Poll.Title, Options: req.Poll.Options, Selectable: req.Poll.Selectable}
	default: // media
		if req.Media == "" {
			return engine.Content{}, httpx.Errorf(http.StatusBadRequest, "media: required for type %s, the file's bytes in base64", kind)
		}
		data, err := decodeBase64(req.Media)
		if err != nil {
			return engine.Content{}, httpx.Errorf(http.StatusBadRequest, "media: not valid base64")
		}
		if utf8.RuneCountInString(req.Caption) > MaxBody {
			return engine.Content{}, httpx.Errorf(http.StatusBadRequest, "caption: must be at most %d characters", MaxBody)
		}
		c.Text = req.Caption
		c.Media = &engine.Media{Data: data, MimeType: req.MimeType, FileName: req.FileName}
	}
	return c, nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

type messageList struct {
	Messages []Message `json:"messages"`
}

func (h *handler) messages(w http.ResponseWriter, r *http.Request) error {
	box := r.URL.Query().Get("box")
	if box != "" && box != "inbox" && box != "sent" {
		return httpx.Errorf(http.StatusBadRequest, "box: must be inbox or sent")
	}
	var withMedia bool
	switch v := r.URL.Query().Get("include_media"); v {
	case "", "false":
	case "true":
		withMedia = true
	default:
		return httpx.Errorf(http.StatusBadRequest, "include_media: must be true or false")
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	list := h.net.Inbox
	if box == "sent" {
		list = h.net.Sent
	}
	ms, err := list(number)
	if err != nil {
		return fail(err)
	}
	out := messageList{Messages: make([]Message, 0, len(ms))}
	for _, m := range ms {
		out.Messages = append(out.Messages, newMessage(m, withMedia))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

type readRequest struct {
	IDs []string `json:"ids"`
}

type successResult struct {
	Success bool `json:"success"`
}

func (h *handler) read(w http.ResponseWriter, r *http.Request) error {
	var req readRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	switch {
	case len(req.IDs) == 0:
		return httpx.Errorf(http.StatusBadRequest, "ids: required, a list of message IDs")
	case len(req.IDs) > MaxReadIDs:
		return httpx.Errorf(http.StatusBadRequest, "ids: at most %d per request", MaxReadIDs)
	}
	for i, id := range req.IDs {
		if strings.TrimSpace(id) == "" {
			return httpx.Errorf(http.StatusBadRequest, "ids[%d]: must not be empty", i)
		}
	}
	if err := h.net.Read(number, req.IDs); err != nil {
		return fail(err)
	}
	httpx.JSON(w, http.StatusOK, successResult{Success: true})
	return nil
}

type unlinkResult struct {
	Success  bool `json:"success"`
	Unlinked int  `json:"unlinked"`
}

func (h *handler) unlink(w http.ResponseWriter, r *http.Request) error {
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	n, err := h.net.Unlink(number)
	if err != nil {
		return fail(err)
	}
	httpx.JSON(w, http.StatusOK, unlinkResult{Success: true, Unlinked: n})
	return nil
}

// fieldError names the request field a network error is about, where the
// error alone does not say (content errors, unknown message IDs).
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func withField(err error, field string) error { return &fieldError{field: field, err: err} }

// fail turns the network's errors into HTTP errors. The messages keep the
// network's reason (why a code expired, which IDs are unknown).
func fail(err error) error {
	status, field := http.StatusInternalServerError, ""
	switch {
	case errors.Is(err, sim.ErrPhoneNotFound):
		status = http.StatusNotFound
	case errors.Is(err, sim.ErrLabelNotFound):
		status, field = http.StatusNotFound, "LabelID"
	case errors.Is(err, sim.ErrNotOnWhatsApp):
		status, field = http.StatusNotFound, "to"
	case errors.Is(err, sim.ErrOwnNumber), errors.Is(err, sim.ErrInvalidPhone):
		status, field = http.StatusBadRequest, "to"
	case errors.Is(err, engine.ErrGroupNotFound):
		status, field = http.StatusNotFound, "group"
	case errors.Is(err, engine.ErrNotAdmin):
		status, field = http.StatusForbidden, "group"
	case errors.Is(err, sim.ErrInvalidText):
		status, field = http.StatusBadRequest, "body"
	case errors.Is(err, sim.ErrInvalidContent), errors.Is(err, sim.ErrTooLarge):
		status = http.StatusBadRequest
	case errors.Is(err, sim.ErrInvalidGroup):
		status, field = http.StatusBadRequest, "subject"
	case errors.Is(err, sim.ErrInvalidProfile):
		status, field = http.StatusBadRequest, "name"
	case errors.Is(err, sim.ErrQRUnknown):
		status, field = http.StatusBadRequest, "qr"
	case errors.Is(err, sim.ErrQRExpired):
		status, field = http.StatusGone, "qr"
	case errors.Is(err, sim.ErrCodeWrong), errors.Is(err, sim.ErrCodeOtherPhone):
		status, field = http.StatusBadRequest, "code"
	case errors.Is(err, sim.ErrCodeExpired):
		status, field = http.StatusGone, "code"
	case errors.Is(err, sim.ErrMessageNotFound):
		status, field = http.StatusNotFound, "ids"
	case errors.Is(err, engine.ErrCallNotFound):
		status, field = http.StatusNotFound, "CallID"
	default:
		return err // a 500, logged with the cause
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		field = fe.field
	}
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "sim: "), "engine: ")
	switch {
	case errors.Is(err, sim.ErrPhoneNotFound):
		msg = strings.Replace(msg, "no such phone:", "no sim phone with number", 1)
	case errors.Is(err, sim.ErrQRUnknown):
		msg += " (send the channel's current QR string, the rowdata of its GET /users/login)"
	}
	if field != "" {
		msg = field + ": " + msg
	}
	return httpx.Errorf(status, "%s", msg)
}

// pathPhone is the {phone} of the path; a malformed one is a 404, like an
// unknown one.
func pathPhone(r *http.Request) (string, error) {
	p := r.PathValue("phone")
	if !validNumber(p) {
		return "", httpx.Errorf(http.StatusNotFound, "no sim phone with number %q (a number is 7 to 15 digits)", p)
	}
	return p, nil
}

// checkChat accepts a number or a group JID ("<digits>@g.us").
func checkChat(field, v string) error {
	if v == "status@broadcast" { // a story: the phone's contacts see it
		return nil
	}
	if strings.HasSuffix(v, "@g.us") {
		if !validGroup(strings.TrimSuffix(v, "@g.us")) {
			return httpx.Errorf(http.StatusBadRequest, "%s: %q is not a group JID (digits@g.us)", field, v)
		}
		return nil
	}
	switch {
	case v == "":
		return httpx.Errorf(http.StatusBadRequest, "%s: required, 7 to 15 digits or a group JID", field)
	case !validNumber(v):
		return httpx.Errorf(http.StatusBadRequest, "%s: must be 7 to 15 digits, without + or spaces, or a group JID (digits@g.us)", field)
	}
	return nil
}

// validGroup reports whether s is the user part of a group JID.
func validGroup(s string) bool {
	a, b, dash := strings.Cut(s, "-")
	return len(s) <= 40 && isDigits(a) && (!dash || isDigits(b))
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func checkNumber(field, v string) error {
	switch {
	case v == "":
		return httpx.Errorf(http.StatusBadRequest, "%s: required, 7 to 15 digits", field)
	case !validNumber(v):
		return httpx.Errorf(http.StatusBadRequest, "%s: must be 7 to 15 digits, without + or spaces", field)
	}
	return nil
}

func checkName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return httpx.Errorf(http.StatusBadRequest, "name: required, not blank")
	case utf8.RuneCountInString(name) > sim.MaxNameLen:
		return httpx.Errorf(http.StatusBadRequest, "name: must be at most %d characters", sim.MaxNameLen)
	case strings.ContainsFunc(name, unicode.IsControl):
		return httpx.Errorf(http.StatusBadRequest, "name: must not contain control characters")
	}
	return nil
}

func validNumber(s string) bool { return len(s) >= 7 && len(s) <= 15 && isDigits(s) }
