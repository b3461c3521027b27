package partner

import (
	"net/http"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

type project struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	CreationTS int64  `json:"creationTS"`
	Channels   int    `json:"channelsCount"`
	// OwnerID and Users are Whapi's: the partner owns its projects and is
	// their only user.
	OwnerID   string   `json:"ownerId"`
	Users     []string `json:"users"`
	IsDefault bool     `json:"isDefault"`
}

func newProject(p store.ProjectInfo) project {
	return project{ID: p.ID, Name: p.Name, CreationTS: apiutil.Millis(p.CreatedAt), Channels: p.Channels,
		OwnerID: p.PartnerID, Users: []string{p.PartnerID}, IsDefault: p.ID == model.DefaultProjectID}
}

type projectRequest struct {
	Name string `json:"name"`
}

func (h *handler) createProject(w http.ResponseWriter, r *http.Request) error {
	var req projectRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	p, err := h.svc.CreateProject(r.Context(), partnerOf(r).ID, req.Name)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newProject(p))
	return nil
}

type projectList struct {
	Projects []project `json:"projects"`
	Count    int       `json:"count"`
	Offset   int       `json:"offset"`
	Total    int       `json:"total"`
}

func (h *handler) listProjects(w http.ResponseWriter, r *http.Request) error {
	page, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	ps, total, err := h.svc.Projects(r.Context(), partnerOf(r).ID, page)
	if err != nil {
		return err
	}
	out := projectList{Projects: make([]project, 0, len(ps)), Count: len(ps), Offset: page.Offset, Total: total}
	for _, p := range ps {
		out.Projects = append(out.Projects, newProject(p))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) getProject(w http.ResponseWriter, r *http.Request) error {
	p, err := h.svc.Project(r.Context(), partnerOf(r).ID, r.PathValue("ProjectID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newProject(p))
	return nil
}

type projectResult struct {
	Success bool    `json:"success"`
	Project project `json:"project"`
}

func (h *handler) updateProject(w http.ResponseWriter, r *http.Request) error {
	var req projectRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	p, err := h.svc.RenameProject(r.Context(), partnerOf(r).ID, r.PathValue("ProjectID"), req.Name)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, projectResult{Success: true, Project: newProject(p)})
	return nil
}

func (h *handler) deleteProject(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteProject(r.Context(), partnerOf(r).ID, r.PathValue("ProjectID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}
