package gate

import (
	"net/http"

	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/wire"
)

// Labels (Whapi's Labels group): the account's labels, and the chats that
// carry one.

func (h *handler) labelRoutes(route func(pattern string, running bool, fn httpx.HandlerFunc)) {
	route("GET /labels", true, h.listLabels)
	route("POST /labels", true, h.createLabel)
	route("GET /labels/{LabelID}", true, h.labelAssociations)
	route("POST /labels/{LabelID}/{AssociationID}", true, h.addLabelAssociation)
	route("DELETE /labels/{LabelID}/{AssociationID}", true, h.deleteLabelAssociation)
}

func (h *handler) listLabels(w http.ResponseWriter, r *http.Request) error {
	list, err := h.svc.Labels(r.Context(), channelOf(r))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, wire.NewLabels(list))
	return nil
}

type createLabelRequest struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
}

func (h *handler) createLabel(w http.ResponseWriter, r *http.Request) error {
	var req createLabelRequest
	if err := jsonOnly(r); err != nil {
		return err
	}
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	if _, err := h.svc.CreateLabel(r.Context(), channelOf(r), service.LabelInput{ID: req.ID, Name: req.Name, Color: req.Color}); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

// labelAssociations is Whapi's LabelAssociations: the chats with the label
// (messages cannot carry labels here: always empty).
type labelAssociations struct {
	Chats    []wire.Chat    `json:"chats"`
	Messages []wire.Message `json:"messages"`
}

func (h *handler) labelAssociations(w http.ResponseWriter, r *http.Request) error {
	ch := channelOf(r)
	_, chats, err := h.svc.LabelAssociations(r.Context(), ch, r.PathValue("LabelID"))
	if err != nil {
		return err
	}
	last := h.svc.ChatLastMessages(r.Context(), chats)
	labels := h.svc.ChatLabels(r.Context(), ch, chats)
	out := labelAssociations{Chats: make([]wire.Chat, 0, len(chats)), Messages: []wire.Message{}}
	now := h.svc.Now()
	for _, c := range chats {
		var lm *model.Message
		if m, ok := last[c.ID]; ok {
			lm = &m
		}
		wc := wire.NewChat(c, lm, now)
		wc.Labels = wire.NewLabels(labels[c.ID])
		out.Chats = append(out.Chats, wc)
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) addLabelAssociation(w http.ResponseWriter, r *http.Request) error {
	return h.labelAssociation(w, r, true)
}

func (h *handler) deleteLabelAssociation(w http.ResponseWriter, r *http.Request) error {
	return h.labelAssociation(w, r, false)
}

func (h *handler) labelAssociation(w http.ResponseWriter, r *http.Request, on bool) error {
	if err := h.svc.LabelChat(r.Context(), channelOf(r), r.PathValue("LabelID"), r.PathValue("AssociationID"), on); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}
