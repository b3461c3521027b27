package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/service"
)

type linkShareData struct {
	C     chanView
	Pages []service.IssuedLinkPage
}

// linkSharePage is "Share linking page": the form that makes a link for
// the channel's customer and the links that work now.
func (h *Handler) linkSharePage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.channelOf(r, v)
	if err != nil {
		return err
	}
	pages, err := h.svc.LinkPages(r.Context(), v.Partner.ID, ch.ID)
	if err != nil {
		return err
	}
	d := linkShareData{C: h.chanView(ch, h.svc.Now()), Pages: pages}
	h.render(w, r, http.StatusOK, "linkshare", page{Title: "Share a linking page for " + ch.Name, Nav: "channels", V: v, Data: d})
	return nil
}

// createLinkPage makes a link; the page lists it with its URL.
func (h *Handler) createLinkPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	back := channelURL(id) + "/link-page"
	hours, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("hours")))
	if err != nil || hours < 1 || hours > 720 {
		h.setFlash(w, r, v, "error", "Works for must be 1 to 720 hours.")
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
	in := service.LinkPageInput{TTL: time.Duration(hours) * time.Hour, KeepAfterLink: r.PostFormValue("keep") != "",
		Name: r.PostFormValue("name"), LogoURL: strings.TrimSpace(r.PostFormValue("logo")), Color: strings.TrimSpace(r.PostFormValue("color"))}
	_, err = h.svc.CreateLinkPage(r.Context(), v.Partner.ID, id, in)
	return h.back(w, r, v, back, err, "Linking page created: copy its link below and send it to your customer.")
}

// revokeLinkPage revokes one link.
func (h *Handler) revokeLinkPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	err := h.svc.RevokeLinkPage(r.Context(), v.Partner.ID, id, r.PathValue("lp"))
	return h.back(w, r, v, channelURL(id)+"/link-page", err, "Link revoked: the page no longer works.")
}
