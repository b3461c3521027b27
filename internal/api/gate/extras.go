package gate

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/wire"
)

// extraRoutes registers the operations of the engines' optional
// capabilities: the status text, the blocklist, LIDs, the address book,
// sending contacts and group invites, pins, join requests and group icons.
// Paths that a wildcard route of another file would shadow are dispatched
// from there (groupGet, groupPost, contactSub, messageSub).
func (h *handler) extraRoutes(route func(pattern string, running bool, fn httpx.HandlerFunc)) {
	route("PUT /status", true, h.setStatus)
	route("GET /blacklist", true, h.blocklist)
	route("PUT /blacklist/{ContactID}", true, h.block(true))
	route("DELETE /blacklist/{ContactID}", true, h.block(false))
	// GET /contacts/lids: contact (contacts.go).
	route("PUT /contacts", true, h.addContact)
	route("PATCH /contacts/{ContactID}", true, h.editContact)
	route("DELETE /contacts/{ContactID}", true, h.deleteContact)
	route("POST /contacts/{ContactID}", true, h.sendContact)
	route("GET /contacts/{ContactID}/{Sub}", true, h.contactSub)
	route("POST /messages/{MessageID}/{Sub}", true, h.messageSub)
	route("DELETE /messages/{MessageID}/pin", true, h.unpin)
	route("POST /groups/{GroupID}/{Sub}", true, h.groupPost)
	route("DELETE /groups/{GroupID}/applications", true, h.answerApplication(false))
}

type statusRequest struct {
	Status *string `json:"status"`
}

func (h *handler) setStatus(w http.ResponseWriter, r *http.Request) error {
	var req statusRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	if req.Status == nil {
		return httpx.Errorf(http.StatusBadRequest, "status: is required")
	}
	if err := h.svc.SetStatusText(r.Context(), channelOf(r), *req.Status); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) blocklist(w http.ResponseWriter, r *http.Request) error {
	list, err := h.svc.Blocklist(r.Context(), channelOf(r))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, phones(list))
	return nil
}

func (h *handler) block(blocked bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := h.svc.SetBlocked(r.Context(), channelOf(r), r.PathValue("ContactID"), blocked); err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, success{Success: true})
		return nil
	}
}

type lidAnswer struct {
	LID string `json:"lid"`
}

// lids serves GET /contacts/lids?ContactIDList=a,b (the IDs may also be
// repeated).
func (h *handler) lids(w http.ResponseWriter, r *http.Request) error {
	var ids []string
	for _, v := range r.URL.Query()["ContactIDList"] {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	found, err := h.svc.LIDs(r.Context(), channelOf(r), ids)
	if err != nil {
		return err
	}
	out := make(map[string]lidAnswer, len(found))
	for id, lid := range found {
		out[id] = lidAnswer{LID: lid}
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// contactSub serves GET /contacts/{ContactID}/profile and
// GET /contacts/lids/{ContactID} (the same pattern: neither may shadow the
// other).
func (h *handler) contactSub(w http.ResponseWriter, r *http.Request) error {
	id, sub := r.PathValue("ContactID"), r.PathValue("Sub")
	switch {
	case id == "lids":
		lid, err := h.svc.LID(r.Context(), channelOf(r), sub)
		if err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, lidAnswer{LID: lid})
		return nil
	case sub == "profile":
		return h.contactProfile(w, r)
	}
	return httpx.Errorf(http.StatusNotFound, "no such gate API endpoint: %s %s", r.Method, r.URL.Path)
}

type contactRequest struct {
	Phone flexID  `json:"phone"`
	Name  *string `json:"name"`
}

func (h *handler) addContact(w http.ResponseWriter, r *http.Request) error {
	var req contactRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	if req.Phone == "" {
		return httpx.Errorf(http.StatusBadRequest, "phone: is required")
	}
	if req.Name == nil {
		return httpx.Errorf(http.StatusBadRequest, "name: is required")
	}
	c, err := h.svc.SaveContact(r.Context(), channelOf(r), string(req.Phone), *req.Name, false)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, wire.NewContact(c))
	return nil
}

func (h *handler) editContact(w http.ResponseWriter, r *http.Request) error {
	var req contactRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	if req.Name == nil {
		return httpx.Errorf(http.StatusBadRequest, "name: is required")
	}
	c, err := h.svc.SaveContact(r.Context(), channelOf(r), r.PathValue("ContactID"), *req.Name, true)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, wire.NewContact(c))
	return nil
}

func (h *handler) deleteContact(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteContact(r.Context(), channelOf(r), r.PathValue("ContactID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) sendContact(w http.ResponseWriter, r *http.Request) error {
	var b sendBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	m, err := h.svc.SendContactCard(r.Context(), channelOf(r), r.PathValue("ContactID"), b.request(""))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, sent{Sent: true, Message: wire.NewMessage(m)})
	return nil
}

type pinRequest struct {
	Time string `json:"time"`
}

// messageSub serves POST /messages/{MessageID}/pin and
// POST /messages/media/{MediaMessageType}.
func (h *handler) messageSub(w http.ResponseWriter, r *http.Request) error {
	id, sub := r.PathValue("MessageID"), r.PathValue("Sub")
	switch {
	case id == "media":
		return h.sendMediaBody(w, r, sub)
	case sub == "pin":
		var req pinRequest
		if err := decodeBody(r, &req, false); err != nil {
			return err
		}
		if err := h.svc.PinMessage(r.Context(), channelOf(r), id, req.Time, true); err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, success{Success: true})
		return nil
	}
	return httpx.Errorf(http.StatusNotFound, "no such gate API endpoint: %s %s", r.Method, r.URL.Path)
}

func (h *handler) unpin(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.PinMessage(r.Context(), channelOf(r), r.PathValue("MessageID"), "", false); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

// groupPost serves POST /groups/{GroupID}/participants,
// POST /groups/{GroupID}/applications and POST /groups/link/{InviteCode}.
func (h *handler) groupPost(w http.ResponseWriter, r *http.Request) error {
	id, sub := r.PathValue("GroupID"), r.PathValue("Sub")
	switch {
	case id == "link":
		var b sendBody
		if err := decodeBody(r, &b, true); err != nil {
			return err
		}
		m, err := h.svc.SendGroupInvite(r.Context(), channelOf(r), sub, b.request(""))
		if err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, sent{Sent: true, Message: wire.NewMessage(m)})
		return nil
	case sub == "participants":
		return h.participants(engine.ParticipantAdd)(w, r)
	case sub == "applications":
		return h.answerApplication(true)(w, r)
	}
	return httpx.Errorf(http.StatusNotFound, "no such gate API endpoint: %s %s", r.Method, r.URL.Path)
}

type applicationRequest struct {
	Application string `json:"application"`
}

type applicationChange struct {
	ChatID  string `json:"chatId"`
	Success bool   `json:"success"`
	Error   string `json:"error,omitempty"`
}

func (h *handler) answerApplication(approve bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req applicationRequest
		if err := decodeBody(r, &req, true); err != nil {
			return err
		}
		res, err := h.svc.AnswerGroupRequest(r.Context(), channelOf(r), r.PathValue("GroupID"), req.Application, approve)
		if err != nil {
			return err
		}
		out := make([]applicationChange, len(res))
		for i, p := range res {
			out[i] = applicationChange{ChatID: p.JID, Success: p.Error == "", Error: p.Error}
		}
		httpx.JSON(w, http.StatusOK, out)
		return nil
	}
}

type application struct {
	ChatID        string `json:"chatId"`
	RequestMethod string `json:"request_method"`
	Timestamp     int64  `json:"timestamp"`
}

type applicationList struct {
	Applications []application `json:"applications"`
	Count        int           `json:"count"`
	Offset       int           `json:"offset"`
	Total        int           `json:"total"`
}

func (h *handler) groupApplications(w http.ResponseWriter, r *http.Request, id string) error {
	p, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	reqs, err := h.svc.GroupRequests(r.Context(), channelOf(r), id)
	if err != nil {
		return err
	}
	out := applicationList{Applications: []application{}, Offset: p.Offset, Total: len(reqs)}
	for i, q := range reqs {
		if i < p.Offset || len(out.Applications) >= p.Count {
			continue
		}
		out.Applications = append(out.Applications, application{ChatID: q.User, RequestMethod: q.Method, Timestamp: q.Time.Unix()})
	}
	out.Count = len(out.Applications)
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) groupIcon(w http.ResponseWriter, r *http.Request, id string) error {
	pic, err := h.svc.GroupIcon(r.Context(), channelOf(r), id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", http.DetectContentType(pic))
	w.Header().Set("Cache-Control", "private, max-age=60")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pic)
	return nil
}

// flexID is an ID given as a JSON string or number (Whapi's own example
// sends a phone number as a number).
type flexID string

func (f *flexID) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(data, &n); err != nil || strings.ContainsAny(n.String(), ".eE-") {
		return errors.New("must be a phone number (a string or an integer)")
	}
	*f = flexID(n.String())
	return nil
}
