package gate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/wire"
)

// groupRoutes registers the groups API: listing, creating, joining and
// leaving groups, their info, invite links, participants, admins and icon.
func (h *handler) groupRoutes(route func(pattern string, running bool, fn httpx.HandlerFunc)) {
	route("GET /groups", true, h.groups)
	route("POST /groups", true, h.createGroup)
	route("PUT /groups", true, h.joinGroup)
	route("GET /groups/{GroupID}", true, h.group)
	route("PUT /groups/{GroupID}", true, h.updateGroupInfo)
	route("PATCH /groups/{GroupID}", true, h.updateGroupSetting)
	route("DELETE /groups/{GroupID}", true, h.leaveGroup)
	// GET /groups/{GroupID}/invite and GET /groups/link/{InviteCode} overlap
	// (/groups/link/invite), which ServeMux refuses: one pattern serves both.
	route("GET /groups/{GroupID}/{Sub}", true, h.groupGet)
	route("DELETE /groups/{GroupID}/invite", true, h.revokeGroupInvite)
	// POST /groups/{GroupID}/participants: groupPost (extras.go).
	route("DELETE /groups/{GroupID}/participants", true, h.participants(engine.ParticipantRemove))
	route("PATCH /groups/{GroupID}/admins", true, h.participants(engine.ParticipantPromote))
	route("DELETE /groups/{GroupID}/admins", true, h.participants(engine.ParticipantDemote))
	route("PUT /groups/{GroupID}/icon", true, h.setGroupIcon)
	route("DELETE /groups/{GroupID}/icon", true, h.deleteGroupIcon)
}

// idList is a list of phone numbers or IDs in a body; numbers may be sent
// as JSON numbers (Whapi's examples do).
type idList []string

func (l *idList) unmarshal(field string, data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		*l = nil
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return httpx.Errorf(http.StatusBadRequest, "%s: must be an array of phone numbers or IDs", field)
	}
	out := make([]string, len(raw))
	for i, item := range raw {
		var s string
		if err := json.Unmarshal(item, &s); err == nil {
			out[i] = s
			continue
		}
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(item))
		dec.UseNumber()
		if err := dec.Decode(&n); err != nil || strings.ContainsAny(n.String(), ".eE-+") {
			return httpx.Errorf(http.StatusBadRequest, "%s[%d]: must be a phone number or ID (a string), not %s", field, i, item)
		}
		out[i] = n.String()
	}
	*l = out
	return nil
}

// participantList is the "participants" of a body.
type participantList struct{ idList }

func (l *participantList) UnmarshalJSON(data []byte) error { return l.unmarshal("participants", data) }

// contactList is the "contacts" of a body.
type contactList struct{ idList }

func (l *contactList) UnmarshalJSON(data []byte) error { return l.unmarshal("contacts", data) }

// phone is how the gate API shows a user (wire.Phone).
func phone(jid string) string { return wire.Phone(jid) }

func phones(jids []string) []string {
	out := make([]string, len(jids))
	for i, j := range jids {
		out[i] = phone(j)
	}
	return out
}

type groupList struct {
	Groups []wire.Group `json:"groups"`
	Count  int          `json:"count"`
	Offset int          `json:"offset"`
	Total  int          `json:"total"`
}

func (h *handler) groups(w http.ResponseWriter, r *http.Request) error {
	p, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	gs, total, err := h.svc.Groups(r.Context(), channelOf(r), p)
	if err != nil {
		return err
	}
	out := groupList{Groups: make([]wire.Group, len(gs)), Count: len(gs), Offset: p.Offset, Total: total}
	for i, g := range gs {
		out.Groups[i] = wire.NewGroup(g)
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) group(w http.ResponseWriter, r *http.Request) error {
	g, err := h.svc.Group(r.Context(), channelOf(r), r.PathValue("GroupID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, wire.NewGroup(g))
	return nil
}

type createGroupRequest struct {
	Subject      string          `json:"subject"`
	Participants participantList `json:"participants"`
}

// groupCreated is Whapi's GroupCreate.
type groupCreated struct {
	ID                      string                  `json:"id"`
	Type                    string                  `json:"type"`
	Name                    string                  `json:"name"`
	Participants            []wire.GroupParticipant `json:"participants"`
	NameAt                  int64                   `json:"name_at,omitempty"`
	CreatedAt               int64                   `json:"created_at,omitempty"`
	CreatedBy               string                  `json:"created_by,omitempty"`
	UnprocessedParticipants []string                `json:"unprocessed_participants"`
}

func (h *handler) createGroup(w http.ResponseWriter, r *http.Request) error {
	var req createGroupRequest
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	res, err := h.svc.CreateGroup(r.Context(), channelOf(r), req.Subject, req.Participants.idList)
	if err != nil {
		return err
	}
	g := wire.NewGroup(res.Group)
	httpx.JSON(w, http.StatusOK, groupCreated{
		ID: g.ID, Type: g.Type, Name: g.Name, Participants: g.Participants, NameAt: g.NameAt,
		CreatedAt: g.CreatedAt, CreatedBy: g.CreatedBy, UnprocessedParticipants: phones(res.Unprocessed),
	})
	return nil
}

type inviteCode struct {
	InviteCode string `json:"invite_code"`
}

type newGroupID struct {
	GroupID string `json:"group_id"`
}

func (h *handler) joinGroup(w http.ResponseWriter, r *http.Request) error {
	var req inviteCode
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	id, err := h.svc.JoinGroup(r.Context(), channelOf(r), req.InviteCode)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newGroupID{GroupID: id})
	return nil
}

type groupInfoUpdate struct {
	Subject     *string `json:"subject"`
	Description *string `json:"description"`
}

func (h *handler) updateGroupInfo(w http.ResponseWriter, r *http.Request) error {
	var req groupInfoUpdate
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	err := h.svc.UpdateGroupInfo(r.Context(), channelOf(r), r.PathValue("GroupID"),
		service.GroupInfoUpdate{Subject: req.Subject, Description: req.Description})
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

type groupSettingUpdate struct {
	Setting string `json:"setting"`
	Policy  string `json:"policy"`
}

func (h *handler) updateGroupSetting(w http.ResponseWriter, r *http.Request) error {
	var req groupSettingUpdate
	if err := httpx.Decode(r, &req, true); err != nil {
		return err
	}
	if err := h.svc.UpdateGroupSetting(r.Context(), channelOf(r), r.PathValue("GroupID"), req.Setting, req.Policy); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) leaveGroup(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.LeaveGroup(r.Context(), channelOf(r), r.PathValue("GroupID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

// groupGet serves GET /groups/link/{InviteCode} and GET /groups/{GroupID}/invite.
func (h *handler) groupGet(w http.ResponseWriter, r *http.Request) error {
	id, sub := r.PathValue("GroupID"), r.PathValue("Sub")
	switch {
	case id == "link":
		return h.groupByInvite(w, r, sub)
	case sub == "invite":
		return h.groupInvite(w, r, id)
	case sub == "icon":
		return h.groupIcon(w, r, id)
	case sub == "applications":
		return h.groupApplications(w, r, id)
	case sub == "participants" || sub == "admins":
		allow := map[string]string{"participants": "POST, DELETE", "admins": "PATCH, DELETE"}[sub]
		w.Header().Set("Allow", allow)
		return httpx.Errorf(http.StatusMethodNotAllowed, "method GET is not allowed on %s; allowed: %s", r.URL.Path, allow)
	}
	return httpx.Errorf(http.StatusNotFound, "no such gate API endpoint: %s %s", r.Method, r.URL.Path)
}

func (h *handler) groupInvite(w http.ResponseWriter, r *http.Request, id string) error {
	code, err := h.svc.GroupInvite(r.Context(), channelOf(r), id, false)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, inviteCode{InviteCode: code})
	return nil
}

func (h *handler) revokeGroupInvite(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.svc.GroupInvite(r.Context(), channelOf(r), r.PathValue("GroupID"), true); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

// groupPreview is Whapi's GroupInfoByInviteCode.
type groupPreview struct {
	ID                string                  `json:"id"`
	Name              string                  `json:"name"`
	NameAt            int64                   `json:"name_at,omitempty"`
	Description       string                  `json:"description,omitempty"`
	Participants      []wire.GroupParticipant `json:"participants"`
	ParticipantsCount int                     `json:"participantsCount"`
	CreatedAt         int64                   `json:"created_at,omitempty"`
	CreatedBy         string                  `json:"created_by,omitempty"`
}

func (h *handler) groupByInvite(w http.ResponseWriter, r *http.Request, code string) error {
	g, err := h.svc.GroupByInvite(r.Context(), channelOf(r), code)
	if err != nil {
		return err
	}
	v := wire.NewGroup(g)
	httpx.JSON(w, http.StatusOK, groupPreview{
		ID: v.ID, Name: v.Name, NameAt: v.NameAt, Description: v.Description, Participants: v.Participants,
		ParticipantsCount: v.ParticipantsCount, CreatedAt: v.CreatedAt, CreatedBy: v.CreatedBy,
	})
	return nil
}

type participantsRequest struct {
	Participants participantList `json:"participants"`
}

// participantsResult is Whapi's answer to a change of participants.
type participantsResult struct {
	Success   bool     `json:"success"`
	Processed []string `json:"processed"`
	Failed    []string `json:"failed"`
}

// participants serves the participant and admin changes.
func (h *handler) participants(action engine.ParticipantAction) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req participantsRequest
		if err := httpx.Decode(r, &req, true); err != nil {
			return err
		}
		res, err := h.svc.UpdateGroupParticipants(r.Context(), channelOf(r), r.PathValue("GroupID"), req.Participants.idList, action)
		if err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, participantsResult{
			Success: len(res.Processed) > 0, Processed: phones(res.Processed), Failed: phones(res.Failed),
		})
		return nil
	}
}

// maxIconBody bounds a group icon request: the picture, base64-encoded in
// JSON at worst.
const maxIconBody = service.MaxGroupIconSize/3*4 + 64<<10

type iconRequest struct {
	Media    string `json:"media"`
	MimeType string `json:"mime_type"`
}

// setGroupIcon takes the picture as the body (image/jpeg or image/png), or
// JSON {"media": URL, data URI, base64 or media ID}.
func (h *handler) setGroupIcon(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxIconBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return httpx.Errorf(http.StatusRequestEntityTooLarge, "a group icon may be at most %d bytes", service.MaxGroupIconSize)
		}
		return httpx.Errorf(http.StatusBadRequest, "could not read request body")
	}
	var icon service.GroupIcon
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return httpx.Errorf(http.StatusBadRequest, "request body is required: a JPEG or PNG picture, or JSON {\"media\": ...}")
	case trimmed[0] == '{':
		var req iconRequest
		if err := decodeBytes(r, body, &req); err != nil {
			return err
		}
		icon = service.GroupIcon{Media: req.Media, MimeType: req.MimeType}
	default:
		if len(body) > service.MaxGroupIconSize {
			return httpx.Errorf(http.StatusRequestEntityTooLarge, "a group icon may be at most %d bytes", service.MaxGroupIconSize)
		}
		icon = service.GroupIcon{Data: body, MimeType: r.Header.Get("Content-Type")}
	}
	if err := h.svc.SetGroupIcon(r.Context(), channelOf(r), r.PathValue("GroupID"), icon); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

// decodeBytes decodes a JSON body already read, with httpx.Decode's
// messages when it is small enough for it.
func decodeBytes(r *http.Request, body []byte, dst any) error {
	if len(body) <= httpx.MaxBodyBytes {
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		return httpx.Decode(r2, dst, true)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return &httpx.Error{Status: http.StatusBadRequest, Message: "invalid JSON body", Details: err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return httpx.Errorf(http.StatusBadRequest, "request body must be a single JSON value")
	}
	return nil
}

func (h *handler) deleteGroupIcon(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteGroupIcon(r.Context(), channelOf(r), r.PathValue("GroupID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

// directoryRoutes registers the groups, contacts and presences APIs.
func (h *handler) directoryRoutes(route func(pattern string, running bool, fn httpx.HandlerFunc)) {
	h.groupRoutes(route)
	h.contactRoutes(route)
	h.presenceRoutes(route)
}
