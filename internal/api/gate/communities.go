package gate

import (
	"net/http"
	"strconv"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/wire"
)

// communityRoutes registers the communities API: communities are parent
// groups with an announcement group and linked groups. The literal
// segments (/link, /settings, /participants, /admins, /subgroups, /event,
// /createGroup) take precedence over /{CommunityID}/{GroupID}.
func (h *handler) communityRoutes(route func(pattern string, running bool, fn httpx.HandlerFunc)) {
	route("GET /communities", true, h.listCommunities)
	route("POST /communities", true, h.createCommunity)
	route("POST /communities/event", true, h.communityEvent)
	route("GET /communities/{CommunityID}", true, h.getCommunity)
	route("POST /communities/{CommunityID}", true, h.createCommunityGroup)
	route("POST /communities/{CommunityID}/createGroup", true, h.createCommunityGroup)
	route("DELETE /communities/{CommunityID}", true, h.deactivateCommunity)
	route("DELETE /communities/{CommunityID}/link", true, h.revokeCommunityInvite)
	route("PUT /communities/{CommunityID}/{GroupID}", true, h.linkCommunityGroup(true))
	route("DELETE /communities/{CommunityID}/{GroupID}", true, h.linkCommunityGroup(false))
	route("POST /communities/{CommunityID}/{GroupID}/join", true, h.joinCommunityGroup)
	route("PATCH /communities/{CommunityID}/settings", true, h.communitySettings)
	route("POST /communities/{CommunityID}/participants", true, h.communityParticipants(engine.ParticipantAdd))
	route("DELETE /communities/{CommunityID}/participants", true, h.communityParticipants(engine.ParticipantRemove))
	route("PATCH /communities/{CommunityID}/admins", true, h.communityParticipants(engine.ParticipantPromote))
	route("DELETE /communities/{CommunityID}/admins", true, h.communityParticipants(engine.ParticipantDemote))
	route("GET /communities/{CommunityID}/subgroups", true, h.communitySubGroups)
}

// community is Whapi's Group of a community, with its community fields.
type community struct {
	wire.Group
	IsParent            bool   `json:"is_parent"`
	IsDefaultSubgroup   bool   `json:"is_default_subgroup,omitempty"`
	IsCommunityAnnounce bool   `json:"isCommunityAnnounce,omitempty"`
	LinkedParent        string `json:"linkedParent,omitempty"`
	AdminAddMemberMode  bool   `json:"adminAddMemberMode"`
}

func (h *handler) newCommunity(r *http.Request, c engine.CommunityInfo) community {
	g := store.Group{ChannelID: channelOf(r).ID, ID: c.JID, Subject: c.Subject, Description: c.Description, Owner: c.Owner,
		CreatedAt: c.Created, Announce: c.Announce, Locked: c.Locked}
	for _, p := range c.Participants {
		rank := store.RankMember
		switch {
		case p.SuperAdmin:
			rank = store.RankCreator
		case p.Admin:
			rank = store.RankAdmin
		}
		g.Participants = append(g.Participants, store.GroupParticipant{UserID: p.JID, Rank: rank})
	}
	return community{Group: wire.NewGroup(g), IsParent: c.IsParent, IsDefaultSubgroup: c.DefaultSub,
		IsCommunityAnnounce: c.DefaultSub, LinkedParent: c.Parent, AdminAddMemberMode: c.AdminsAddMembers}
}

func (h *handler) listCommunities(w http.ResponseWriter, r *http.Request) error {
	p, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	list, total, err := h.svc.Communities(r.Context(), channelOf(r), p)
	if err != nil {
		return err
	}
	out := struct {
		Groups []community `json:"groups"`
		Count  int         `json:"count"`
		Offset int         `json:"offset"`
		Total  int         `json:"total"`
	}{Groups: make([]community, 0, len(list)), Count: len(list), Offset: p.Offset, Total: total}
	for _, c := range list {
		out.Groups = append(out.Groups, h.newCommunity(r, c))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) createCommunity(w http.ResponseWriter, r *http.Request) error {
	if err := jsonOnly(r); err != nil {
		return err
	}
	var b struct {
		Subject     string `json:"subject"`
		Description string `json:"description"`
	}
	if err := httpx.Decode(r, &b, true); err != nil {
		return err
	}
	c, err := h.svc.CreateCommunity(r.Context(), channelOf(r), b.Subject, b.Description)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, h.newCommunity(r, c))
	return nil
}

func (h *handler) getCommunity(w http.ResponseWriter, r *http.Request) error {
	c, err := h.svc.Community(r.Context(), channelOf(r), r.PathValue("CommunityID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, h.newCommunity(r, c))
	return nil
}

func (h *handler) createCommunityGroup(w http.ResponseWriter, r *http.Request) error {
	if err := jsonOnly(r); err != nil {
		return err
	}
	var b struct {
		Subject      string          `json:"subject"`
		Participants participantList `json:"participants"`
		Hidden       bool            `json:"isHidden"`
	}
	if err := httpx.Decode(r, &b, true); err != nil {
		return err
	}
	g, err := h.svc.CreateCommunityGroup(r.Context(), channelOf(r), r.PathValue("CommunityID"), b.Subject, b.Participants.idList, b.Hidden)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, wire.NewGroup(g))
	return nil
}

func (h *handler) deactivateCommunity(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeactivateCommunity(r.Context(), channelOf(r), r.PathValue("CommunityID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) revokeCommunityInvite(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.RevokeCommunityInvite(r.Context(), channelOf(r), r.PathValue("CommunityID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) linkCommunityGroup(link bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := h.svc.LinkCommunityGroup(r.Context(), channelOf(r), r.PathValue("CommunityID"), r.PathValue("GroupID"), link)
		if err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, success{Success: true})
		return nil
	}
}

func (h *handler) joinCommunityGroup(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.JoinCommunityGroup(r.Context(), channelOf(r), r.PathValue("CommunityID"), r.PathValue("GroupID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) communitySettings(w http.ResponseWriter, r *http.Request) error {
	if err := jsonOnly(r); err != nil {
		return err
	}
	var b groupSettingUpdate
	if err := httpx.Decode(r, &b, true); err != nil {
		return err
	}
	if err := h.svc.SetCommunitySetting(r.Context(), channelOf(r), r.PathValue("CommunityID"), b.Setting, b.Policy); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) communityParticipants(action engine.ParticipantAction) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := jsonOnly(r); err != nil {
			return err
		}
		var req participantsRequest
		if err := httpx.Decode(r, &req, true); err != nil {
			return err
		}
		res, err := h.svc.UpdateCommunityParticipants(r.Context(), channelOf(r), r.PathValue("CommunityID"), req.Participants.idList, action)
		if err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, participantsResult{
			Success: len(res.Processed) > 0, Processed: phones(res.Processed), Failed: phones(res.Failed),
		})
		return nil
	}
}

// subGroup is one group of Whapi's CommunitySubGroups.
type subGroup struct {
	Title        string `json:"title"`
	ID           string `json:"id"`
	CreationTime string `json:"creationTime,omitempty"`
}

func newSubGroup(g engine.SubGroup) subGroup {
	out := subGroup{Title: g.Subject, ID: g.JID}
	if !g.Created.IsZero() {
		out.CreationTime = strconv.FormatInt(g.Created.Unix(), 10)
	}
	return out
}

func (h *handler) communitySubGroups(w http.ResponseWriter, r *http.Request) error {
	ann, other, err := h.svc.CommunitySubGroups(r.Context(), channelOf(r), r.PathValue("CommunityID"))
	if err != nil {
		return err
	}
	out := struct {
		Announce *subGroup  `json:"announceGroupInfo"`
		Other    []subGroup `json:"otherGroups"`
	}{Other: make([]subGroup, 0, len(other))}
	if ann != nil {
		a := newSubGroup(*ann)
		out.Announce = &a
	} else {
		out.Announce = &subGroup{}
	}
	for _, g := range other {
		out.Other = append(out.Other, newSubGroup(g))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// communityEvent serves POST /communities/event: an event announced in a
// community's group.
func (h *handler) communityEvent(w http.ResponseWriter, r *http.Request) error {
	if err := jsonOnly(r); err != nil {
		return err
	}
	var b struct {
		To          string   `json:"to"`
		Title       string   `json:"title"`
		Description string   `json:"description"`
		Start       float64  `json:"startTime"`
		End         float64  `json:"endTime"`
		Latitude    *float64 `json:"degreesLatitude"`
		Longitude   *float64 `json:"degreesLongitude"`
		Location    string   `json:"locationName"`
		Address     string   `json:"locationAddress"`
	}
	if err := httpx.Decode(r, &b, true); err != nil {
		return err
	}
	err := h.svc.CommunityEvent(r.Context(), channelOf(r), service.CommunityEvent{To: b.To, Title: b.Title,
		Description: b.Description, Start: int64(b.Start), End: int64(b.End), Latitude: b.Latitude, Longitude: b.Longitude,
		Location: b.Location, Address: b.Address})
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}
