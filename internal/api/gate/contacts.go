package gate

import (
	"net/http"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/wire"
)

// contactRoutes registers the contacts API: checking numbers, the contacts
// the channel learned of, and users' profiles.
func (h *handler) contactRoutes(route func(pattern string, running bool, fn httpx.HandlerFunc)) {
	route("GET /contacts", true, h.contacts)
	route("POST /contacts", true, h.checkContacts)
	route("GET /contacts/{ContactID}", true, h.contact)
	route("HEAD /contacts/{ContactID}", true, h.contactExists)
	// GET /contacts/{ContactID}/profile: contactSub (extras.go).
}

type contactsPage struct {
	Contacts []wire.Contact `json:"contacts"`
	Count    int            `json:"count"`
	Offset   int            `json:"offset"`
	Total    int            `json:"total"`
}

func (h *handler) contacts(w http.ResponseWriter, r *http.Request) error {
	p, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	cs, total, err := h.svc.Contacts(r.Context(), channelOf(r), p)
	if err != nil {
		return err
	}
	out := contactsPage{Contacts: make([]wire.Contact, len(cs)), Count: len(cs), Offset: p.Offset, Total: total}
	for i, c := range cs {
		out.Contacts[i] = wire.NewContact(c)
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) contact(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("ContactID") == "lids" { // GET /contacts/lids (extras.go): HEAD /contacts/{ContactID} forbids its own pattern
		return h.lids(w, r)
	}
	c, err := h.svc.Contact(r.Context(), channelOf(r), r.PathValue("ContactID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, wire.NewContact(c))
	return nil
}

type checkRequest struct {
	Blocking   string      `json:"blocking"`
	Contacts   contactList `json:"contacts"`
	ForceCheck bool        `json:"force_check"`
}

type checkResult struct {
	Input  string `json:"input"`
	Status string `json:"status"`
	WaID   string `json:"wa_id,omitempty"`
}

type checkResponse struct {
	Contacts []checkResult `json:"contacts"`
}

func (h *handler) checkContacts(w http.ResponseWriter, r *http.Request) error {
	var req checkRequest
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	switch req.Blocking {
	case "", "wait", "no_wait":
	default:
		return httpx.Errorf(http.StatusBadRequest, "blocking: must be wait or no_wait")
	}
	res, err := h.svc.CheckContacts(r.Context(), channelOf(r), req.Contacts.idList, req.ForceCheck)
	if err != nil {
		return err
	}
	out := checkResponse{Contacts: make([]checkResult, len(res))}
	for i, c := range res {
		out.Contacts[i] = checkResult{Input: c.Input, Status: "invalid"}
		if c.Valid {
			out.Contacts[i].Status, out.Contacts[i].WaID = "valid", phone(c.JID)
		}
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) contactExists(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("ContactID")
	ok, err := h.svc.ContactExists(r.Context(), channelOf(r), id)
	if err != nil {
		return err
	}
	if !ok {
		return httpx.Errorf(http.StatusNotFound, "%s is not on WhatsApp", id)
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) contactProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := h.svc.ContactProfile(r.Context(), channelOf(r), r.PathValue("ContactID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, profile{Name: p.Name, About: p.About, Icon: p.Picture})
	return nil
}
