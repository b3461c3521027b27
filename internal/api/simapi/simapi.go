// Package simapi is the operator's HTTP control of the simulated WhatsApp
// network (package sim) under /admin/sim: create phones, link channels by
// "scanning" their QR code or typing their pairing code, send messages from
// phones, read what they received and unlink their devices. The app mounts it
// only when the sim engine runs, on the operator API's router, so the admin
// token is checked before any of these handlers runs.
package simapi

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/httpx"
)

// MaxBody is the longest text a phone can send through this API, in
// characters.
const MaxBody = 4096

// MaxReadIDs bounds the IDs of one read request.
const MaxReadIDs = 1000

// Register adds the sim routes through route (admin.Handler.Route).
func Register(route func(pattern string, fn httpx.HandlerFunc), net *sim.Network) {
	h := &handler{net: net}
	route("POST /admin/sim/phones", h.addPhone)
	route("GET /admin/sim/phones", h.listPhones)
	route("GET /admin/sim/phones/{phone}", h.getPhone)
	route("POST /admin/sim/phones/{phone}/link", h.link)
	route("POST /admin/sim/phones/{phone}/messages", h.send)
	route("GET /admin/sim/phones/{phone}/messages", h.messages)
	route("POST /admin/sim/phones/{phone}/read", h.read)
	route("POST /admin/sim/phones/{phone}/unlink", h.unlink)
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

// Message is a phone's message on the wire.
type Message struct {
	ID     string `json:"id"`
	From   string `json:"from"`
	To     string `json:"to"`
	Body   string `json:"body"`
	Time   int64  `json:"time"`
	Status string `json:"status"`
}

func newPhone(p sim.Phone) Phone {
	out := Phone{Phone: p.Number, Name: p.Name, About: p.About, JID: p.JID, Devices: make([]Device, 0, len(p.Devices))}
	for _, d := range p.Devices {
		out.Devices = append(out.Devices, Device{Device: d.ID, ChannelID: d.ChannelID, Connected: d.Connected, LinkedAt: millis(d.LinkedAt)})
	}
	return out
}

func newMessage(m sim.PhoneMessage) Message {
	return Message{ID: m.ID, From: m.From, To: m.To, Body: m.Body, Time: millis(m.Time), Status: m.Status}
}

func millis(t time.Time) int64 { return t.UnixMilli() }

type addPhoneRequest struct {
	Phone string `json:"phone"`
	Name  string `json:"name"`
}

func (h *handler) addPhone(w http.ResponseWriter, r *http.Request) error {
	var req addPhoneRequest
	if err := httpx.Decode(r, &req, true); err != nil {
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
}

type linkResult struct {
	Success   bool   `json:"success"`
	ChannelID string `json:"channel_id"`
}

func (h *handler) link(w http.ResponseWriter, r *http.Request) error {
	var req linkRequest
	if err := httpx.Decode(r, &req, true); err != nil {
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
		channel, err = h.net.LinkQR(number, qr)
	case code != "":
		channel, err = h.net.LinkCode(number, code)
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
	To   string `json:"to"`
	Body string `json:"body"`
}

type messageResult struct {
	Message Message `json:"message"`
}

func (h *handler) send(w http.ResponseWriter, r *http.Request) error {
	var req sendRequest
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	if err := checkNumber("to", req.To); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(req.Body) == "":
		return httpx.Errorf(http.StatusBadRequest, "body: required, and not blank")
	case utf8.RuneCountInString(req.Body) > MaxBody:
		return httpx.Errorf(http.StatusBadRequest, "body: must be at most %d characters", MaxBody)
	}
	m, err := h.net.SendFromPhone(number, req.To, req.Body)
	if err != nil {
		return fail(err)
	}
	httpx.JSON(w, http.StatusCreated, messageResult{Message: newMessage(m)})
	return nil
}

type messageList struct {
	Messages []Message `json:"messages"`
}

func (h *handler) messages(w http.ResponseWriter, r *http.Request) error {
	box := r.URL.Query().Get("box")
	if box != "" && box != "inbox" && box != "sent" {
		return httpx.Errorf(http.StatusBadRequest, "box: must be inbox or sent")
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
		out.Messages = append(out.Messages, newMessage(m))
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
	if err := httpx.Decode(r, &req, true); err != nil {
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

// fail turns the network's errors into HTTP errors. The messages keep the
// network's reason (why a code expired, which IDs are unknown).
func fail(err error) error {
	status, field := http.StatusInternalServerError, ""
	switch {
	case errors.Is(err, sim.ErrPhoneNotFound):
		status = http.StatusNotFound
	case errors.Is(err, sim.ErrNotOnWhatsApp):
		status, field = http.StatusNotFound, "to"
	case errors.Is(err, sim.ErrOwnNumber), errors.Is(err, sim.ErrInvalidPhone):
		status, field = http.StatusBadRequest, "to"
	case errors.Is(err, sim.ErrInvalidText):
		status, field = http.StatusBadRequest, "body"
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
	default:
		return err // a 500, logged with the cause
	}
	msg := strings.TrimPrefix(err.Error(), "sim: ")
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

func validNumber(s string) bool {
	if len(s) < 7 || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
