package gate

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/wire"
)

// newsletterRoutes registers the newsletters API (WhatsApp channels).
// Several of Whapi's paths overlap (/newsletters/link/{code} and
// /newsletters/{id}/messages; /newsletters/invite/{code}/subscription and
// /newsletters/{id}/invite/{contact}), which ServeMux refuses: one pattern
// per method and depth serves them, by their literal segment.
func (h *handler) newsletterRoutes(route func(pattern string, running bool, fn httpx.HandlerFunc)) {
	route("GET /newsletters", true, h.listNewsletters)
	route("POST /newsletters", true, h.createNewsletter)
	route("GET /newsletters/find", true, h.findNewsletters(false))
	route("GET /newsletters/recommended", true, h.findNewsletters(true))
	route("GET /newsletters/{NewsletterID}", true, h.getNewsletter)
	route("PATCH /newsletters/{NewsletterID}", true, h.updateNewsletter)
	route("DELETE /newsletters/{NewsletterID}", true, h.deleteNewsletter)
	route("GET /newsletters/{A}/{B}", true, h.newsletterGet)
	route("POST /newsletters/{A}/{B}", true, h.newsletterPost)
	route("DELETE /newsletters/{NewsletterID}/subscription", true, h.followNewsletter(false))
	route("POST /newsletters/{A}/{B}/{C}", true, h.newsletterPost3)
	route("DELETE /newsletters/{A}/{B}/{C}", true, h.newsletterDelete3)
	route("PUT /newsletters/{NewsletterID}/admins/{ContactID}", true, h.acceptNewsletterAdmin)
}

// newsletter is Whapi's Newsletter (times in Unix seconds).
type newsletter struct {
	ID               string `json:"id"`
	Type             string `json:"type"`
	Name             string `json:"name"`
	NameAt           int64  `json:"name_at,omitempty"`
	Description      string `json:"description,omitempty"`
	DescriptionAt    string `json:"description_at,omitempty"`
	SubscribersCount int    `json:"subscribers_count"`
	CreatedAt        int64  `json:"created_at,omitempty"`
	InviteCode       string `json:"invite_code,omitempty"`
	Handle           string `json:"handle,omitempty"`
	Verification     bool   `json:"verification"`
	Preview          string `json:"preview,omitempty"`
	Role             string `json:"role"`
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func newNewsletter(n engine.NewsletterInfo) newsletter {
	out := newsletter{ID: n.JID, Type: "newsletter", Name: n.Name, NameAt: unix(n.NameAt), Description: n.Description,
		SubscribersCount: n.Subscribers, CreatedAt: unix(n.Created), InviteCode: n.InviteCode, Handle: n.Handle,
		Verification: n.Verified, Preview: n.Picture, Role: n.Role}
	if !n.DescriptionAt.IsZero() {
		out.DescriptionAt = strconv.FormatInt(n.DescriptionAt.Unix(), 10)
	}
	return out
}

func (h *handler) listNewsletters(w http.ResponseWriter, r *http.Request) error {
	p, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	list, total, err := h.svc.Newsletters(r.Context(), channelOf(r), p)
	if err != nil {
		return err
	}
	out := struct {
		Newsletters []newsletter `json:"newsletters"`
		Count       int          `json:"count"`
		Offset      int          `json:"offset"`
		Total       int          `json:"total"`
	}{Newsletters: make([]newsletter, 0, len(list)), Count: len(list), Offset: p.Offset, Total: total}
	for _, n := range list {
		out.Newsletters = append(out.Newsletters, newNewsletter(n))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) createNewsletter(w http.ResponseWriter, r *http.Request) error {
	if err := jsonOnly(r); err != nil {
		return err
	}
	var b struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Picture     string `json:"newsletter_pic"`
	}
	if err := httpx.Decode(r, &b, true); err != nil {
		return err
	}
	n, err := h.svc.CreateNewsletter(r.Context(), channelOf(r), service.NewsletterCreate{Name: b.Name, Description: b.Description, Picture: b.Picture})
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newNewsletter(n))
	return nil
}

// findNewsletters serves the directory search and its recommendations.
func (h *handler) findNewsletters(recommended bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		query := engine.NewsletterQuery{Recommended: recommended, Country: q.Get("country_code"), Cursor: q.Get("cursor"), Count: 100}
		if !recommended {
			query.Search, query.SortField = q.Get("search"), q.Get("newsletter_field")
			switch q.Get("sort") {
			case "", "asc":
			case "desc":
				query.Descending = true
			default:
				return httpx.Errorf(http.StatusBadRequest, "sort: must be asc or desc")
			}
		}
		if v := q.Get("count"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > apiutil.MaxPage {
				return httpx.Errorf(http.StatusBadRequest, "count: must be a whole number from 1 to %d", apiutil.MaxPage)
			}
			query.Count = n
		}
		page, err := h.svc.FindNewsletters(r.Context(), channelOf(r), query)
		if err != nil {
			return err
		}
		type pageInfo struct {
			EndCursor    string `json:"end_cursor,omitempty"`
			StartCursor  string `json:"start_cursor,omitempty"`
			NextPage     bool   `json:"next_page"`
			PreviousPage bool   `json:"previous_page"`
		}
		out := struct {
			Newsletters []newsletter `json:"newsletters"`
			PageInfo    pageInfo     `json:"page_info"`
		}{Newsletters: make([]newsletter, 0, len(page.Newsletters)),
			PageInfo: pageInfo{EndCursor: page.Next, StartCursor: page.Cursor, NextPage: page.Next != "", PreviousPage: page.Previous}}
		for _, n := range page.Newsletters {
			out.Newsletters = append(out.Newsletters, newNewsletter(n))
		}
		httpx.JSON(w, http.StatusOK, out)
		return nil
	}
}

func (h *handler) getNewsletter(w http.ResponseWriter, r *http.Request) error {
	if role := r.URL.Query().Get("user role"); role != "" && !strings.Contains("subscriber admin guest owner", role) {
		return httpx.Errorf(http.StatusBadRequest, "user role: must be subscriber, admin, guest or owner")
	}
	n, err := h.svc.Newsletter(r.Context(), channelOf(r), r.PathValue("NewsletterID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newNewsletter(n))
	return nil
}

func (h *handler) updateNewsletter(w http.ResponseWriter, r *http.Request) error {
	if err := jsonOnly(r); err != nil {
		return err
	}
	var b struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
		Picture     *string `json:"newsletter_pic"`
		Reactions   *string `json:"reactions"`
	}
	if err := httpx.Decode(r, &b, true); err != nil {
		return err
	}
	n, err := h.svc.UpdateNewsletter(r.Context(), channelOf(r), r.PathValue("NewsletterID"),
		service.NewsletterUpdate{Name: b.Name, Description: b.Description, Picture: b.Picture, Reactions: b.Reactions})
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newNewsletter(n))
	return nil
}

func (h *handler) deleteNewsletter(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteNewsletter(r.Context(), channelOf(r), r.PathValue("NewsletterID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func noSuchEndpoint(r *http.Request) error {
	return httpx.Errorf(http.StatusNotFound, "no such gate API endpoint: %s %s", r.Method, r.URL.Path)
}

// newsletterGet serves GET /newsletters/link/{NewsletterInviteCode} and
// GET /newsletters/{NewsletterID}/messages.
func (h *handler) newsletterGet(w http.ResponseWriter, r *http.Request) error {
	a, b := r.PathValue("A"), r.PathValue("B")
	switch {
	case a == "link":
		n, err := h.svc.NewsletterByInvite(r.Context(), channelOf(r), b)
		if err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, newNewsletter(n))
		return nil
	case b == "messages":
		return h.newsletterMessages(w, r, a)
	}
	return noSuchEndpoint(r)
}

func (h *handler) newsletterMessages(w http.ResponseWriter, r *http.Request, id string) error {
	q := r.URL.Query()
	count := 100
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > apiutil.MaxPage {
			return httpx.Errorf(http.StatusBadRequest, "count: must be a whole number from 1 to %d", apiutil.MaxPage)
		}
		count = n
	}
	var bounds [2]int64
	for i, name := range []string{"before", "after"} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return httpx.Errorf(http.StatusBadRequest, "%s: must be a post's server ID (a whole number, 0 or more)", name)
			}
			bounds[i] = n
		}
	}
	list, err := h.svc.NewsletterMessages(r.Context(), channelOf(r), id, count, bounds[0], bounds[1])
	if err != nil {
		return err
	}
	out := messageList{Messages: make([]wire.Message, 0, len(list)), Count: len(list), Total: len(list)}
	for _, m := range list {
		out.Messages = append(out.Messages, wire.NewMessage(m))
	}
	if len(list) > 0 {
		out.Last = len(list) - 1
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// newsletterPost serves POST /newsletters/link/{NewsletterInviteCode} (send
// the invite link), /newsletters/{NewsletterID}/subscription and
// /newsletters/{NewsletterID}/tracking.
func (h *handler) newsletterPost(w http.ResponseWriter, r *http.Request) error {
	a, b := r.PathValue("A"), r.PathValue("B")
	switch {
	case a == "link":
		return h.sendNewsletterInvite(w, r, b)
	case b == "subscription":
		r.SetPathValue("NewsletterID", a)
		return h.followNewsletter(true)(w, r)
	case b == "tracking":
		if err := h.svc.TrackNewsletter(r.Context(), channelOf(r), a); err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, success{Success: true})
		return nil
	}
	return noSuchEndpoint(r)
}

func (h *handler) followNewsletter(follow bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := h.svc.FollowNewsletter(r.Context(), channelOf(r), r.PathValue("NewsletterID"), follow); err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, success{Success: true})
		return nil
	}
}

func (h *handler) sendNewsletterInvite(w http.ResponseWriter, r *http.Request, code string) error {
	var b struct {
		To          string   `json:"to"`
		Title       string   `json:"title"`
		Body        string   `json:"body"`
		PreviewType string   `json:"preview_type"`
		Mentions    []string `json:"mentions"`
	}
	if isMultipart(r) {
		if err := r.ParseMultipartForm(httpx.SmallBody); err != nil {
			return httpx.Errorf(http.StatusBadRequest, "multipart body: %v", err)
		}
		b.To, b.Title, b.Body, b.PreviewType = r.FormValue("to"), r.FormValue("title"), r.FormValue("body"), r.FormValue("preview_type")
		b.Mentions = r.MultipartForm.Value["mentions"]
	} else {
		if err := jsonOnly(r); err != nil {
			return err
		}
		if err := httpx.Decode(r, &b, true); err != nil {
			return err
		}
	}
	switch b.PreviewType {
	case "", "newsletter_picture", "none", "style1", "style2", "style3":
	case "thumbnail", "media":
		return httpx.Errorf(http.StatusBadRequest, "preview_type: %s previews are not supported; use newsletter_picture or none", b.PreviewType)
	default:
		return httpx.Errorf(http.StatusBadRequest, "preview_type: must be newsletter_picture, thumbnail, media, style1, style2, style3 or none")
	}
	m, err := h.svc.SendNewsletterInvite(r.Context(), channelOf(r), code,
		service.NewsletterInviteSend{To: b.To, Title: b.Title, Body: b.Body, Mentions: b.Mentions})
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, sent{Sent: true, Message: wire.NewMessage(m)})
	return nil
}

// newsletterPost3 serves POST /newsletters/invite/{NewsletterInviteCode}/subscription
// and POST /newsletters/{NewsletterID}/invite/{ContactID}.
func (h *handler) newsletterPost3(w http.ResponseWriter, r *http.Request) error {
	a, b, c := r.PathValue("A"), r.PathValue("B"), r.PathValue("C")
	switch {
	case a == "invite" && c == "subscription":
		if err := h.svc.FollowNewsletterByInvite(r.Context(), channelOf(r), b, true); err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, success{Success: true})
		return nil
	case b == "invite":
		var body struct {
			Message string `json:"message"`
		}
		if err := jsonOnly(r); err != nil {
			return err
		}
		if err := httpx.Decode(r, &body, false); err != nil {
			return err
		}
		m, err := h.svc.InviteNewsletterAdmin(r.Context(), channelOf(r), a, c, body.Message)
		if err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, sent{Sent: true, Message: wire.NewMessage(m)})
		return nil
	}
	return noSuchEndpoint(r)
}

// newsletterDelete3 serves DELETE /newsletters/invite/{NewsletterInviteCode}/subscription,
// /newsletters/{NewsletterID}/invite/{ContactID} and
// /newsletters/{NewsletterID}/admins/{ContactID}.
func (h *handler) newsletterDelete3(w http.ResponseWriter, r *http.Request) error {
	a, b, c := r.PathValue("A"), r.PathValue("B"), r.PathValue("C")
	var err error
	switch {
	case a == "invite" && c == "subscription":
		err = h.svc.FollowNewsletterByInvite(r.Context(), channelOf(r), b, false)
	case b == "invite":
		err = h.svc.RevokeNewsletterAdminInvite(r.Context(), channelOf(r), a, c)
	case b == "admins":
		err = h.svc.DemoteNewsletterAdmin(r.Context(), channelOf(r), a, c)
	default:
		return noSuchEndpoint(r)
	}
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) acceptNewsletterAdmin(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.AcceptNewsletterAdmin(r.Context(), channelOf(r), r.PathValue("NewsletterID"), r.PathValue("ContactID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}
