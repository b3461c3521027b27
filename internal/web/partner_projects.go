package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
)

// Partner -> Projects: list, create, rename and delete projects; channels
// move between projects from their page.

type projectsData struct {
	Projects []store.ProjectInfo
	Pager    pager
}

func (h *Handler) projectsPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	d := projectsData{Pager: pageOf(r, 100)}
	list, total, err := h.svc.Projects(r.Context(), v.Partner.ID, d.Pager.page())
	if err != nil {
		return err
	}
	d.Projects, d.Pager.Total = list, total
	h.render(w, r, http.StatusOK, "projects", page{Title: "Projects", Nav: "projects", V: v, Data: d})
	return nil
}

func (h *Handler) createProject(w http.ResponseWriter, r *http.Request, v *viewer) error {
	p, err := h.svc.CreateProject(r.Context(), v.Partner.ID, strings.TrimSpace(r.PostFormValue("name")))
	return h.back(w, r, v, "/ui/projects", err, "Project "+p.Name+" created.")
}

func (h *Handler) renameProject(w http.ResponseWriter, r *http.Request, v *viewer) error {
	p, err := h.svc.RenameProject(r.Context(), v.Partner.ID, r.PathValue("pid"), strings.TrimSpace(r.PostFormValue("name")))
	return h.back(w, r, v, "/ui/projects", err, "Project renamed to "+p.Name+".")
}

func (h *Handler) deleteProject(w http.ResponseWriter, r *http.Request, v *viewer) error {
	err := h.svc.DeleteProject(r.Context(), v.Partner.ID, r.PathValue("pid"))
	return h.back(w, r, v, "/ui/projects", err, "Project deleted.")
}

// moveChannel puts a channel in another project.
func (h *Handler) moveChannel(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	pid := strings.TrimSpace(r.PostFormValue("project"))
	_, err := h.svc.UpdateChannel(r.Context(), v.Partner.ID, id, service.ChannelPatch{ProjectID: &pid})
	name := pid
	if err == nil {
		if p, perr := h.svc.Project(r.Context(), v.Partner.ID, pid); perr == nil {
			name = p.Name
		}
	}
	return h.back(w, r, v, returnTo(r, id), err, "Channel "+id+" moved to project "+name+".")
}

// stopChannel stops a channel; with saveDays its unused whole paid days go
// back to the balance.
func (h *Handler) stopChannel(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	save := r.PostFormValue("saveDays") != ""
	_, days, err := h.svc.StopChannel(r.Context(), v.Partner.ID, id, save, partnerActor)
	msg := "Channel " + id + " stopped; its time keeps running out."
	if save {
		msg = fmt.Sprintf("Channel %s stopped; %s returned to your balance.", id, fmtDays(days))
	}
	return h.back(w, r, v, returnTo(r, id), err, msg)
}

func (h *Handler) startChannel(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	ch, err := h.svc.StartChannel(r.Context(), v.Partner.ID, id)
	return h.back(w, r, v, returnTo(r, id), err, "Channel "+id+" started; active until "+fmtDateTime(ch.ActiveTill)+".")
}
