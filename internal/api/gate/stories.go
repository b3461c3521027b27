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

// storyRoutes registers the stories API (status updates): posting text,
// media and audio stories, listing and reading them, posting one again,
// and who saw a message (GET /statuses/{MessageID}). The /messages/story*
// paths are Whapi's other names of the same posts.
func (h *handler) storyRoutes(route func(pattern string, running bool, fn httpx.HandlerFunc)) {
	route("GET /stories", false, h.listStories)
	route("POST /stories", true, h.postStory(service.StoryAny))
	route("POST /stories/send/text", true, h.postStory(service.StoryText))
	route("POST /stories/send/media", true, h.postStory(service.StoryMedia))
	route("POST /stories/send/audio", true, h.postStory(service.StoryAudio))
	route("GET /stories/{MessageID}", false, h.getStory)
	route("PUT /stories/{MessageID}", true, h.copyStory)
	route("POST /messages/story", true, h.postStory(service.StoryAny))
	route("POST /messages/story/text", true, h.postStory(service.StoryText))
	route("POST /messages/story/media", true, h.postStory(service.StoryMedia))
	route("POST /messages/story/audio", true, h.postStory(service.StoryAudio))
	route("GET /statuses/{MessageID}", false, h.messageViews)
}

// storyBodyLimit bounds a story request: a file base64-encoded in JSON at
// worst (a multipart file is spooled as it arrives).
func storyBodyLimit(pattern string) (httpx.LimitFunc, bool) {
	switch pattern {
	case "POST /stories/send/text", "POST /messages/story/text", "PUT /stories/{MessageID}":
		return httpx.Limit(httpx.SmallBody), true
	case "POST /stories", "POST /stories/send/media", "POST /stories/send/audio",
		"POST /messages/story", "POST /messages/story/media", "POST /messages/story/audio":
		return httpx.Limit(service.MediaLimit(engine.KindVideo)/3*4 + httpx.SmallBody), true
	}
	return nil, false
}

// storyBody is Whapi's story request.
type storyBody struct {
	Caption      string      `json:"caption"`
	Media        string      `json:"media"`
	MimeType     string      `json:"mime_type"`
	Contacts     contactList `json:"contacts"`
	Exclude      excludeList `json:"exclude_contacts"`
	Background   string      `json:"background_color"`
	CaptionColor string      `json:"caption_color"`
	Font         string      `json:"font_type"`
}

func (b storyBody) request(kind string) service.StoryRequest {
	return service.StoryRequest{Kind: kind, Caption: b.Caption, Media: b.Media, MimeType: b.MimeType,
		Contacts: b.Contacts.idList, Exclude: b.Exclude.idList, Background: b.Background, CaptionColor: b.CaptionColor, Font: b.Font}
}

// excludeList is the "exclude_contacts" of a body.
type excludeList struct{ idList }

func (l *excludeList) UnmarshalJSON(data []byte) error { return l.unmarshal("exclude_contacts", data) }

func (h *handler) postStory(kind string) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req service.StoryRequest
		switch {
		case isMultipart(r):
			if kind == service.StoryText {
				return httpx.Errorf(http.StatusUnsupportedMediaType, "text stories take a JSON body")
			}
			b, up, err := h.readMultipart(r, service.MediaLimit(engine.KindVideo), "the story's file")
			if err != nil {
				return err
			}
			defer up.File.Close()
			req = service.StoryRequest{Kind: kind, Caption: b.Caption, MimeType: b.MimeType, Upload: up}
			if b.MimeType != "" {
				up.MimeType = b.MimeType
			}
		default:
			if err := jsonOnly(r); err != nil {
				return err
			}
			var b storyBody
			if err := httpx.DecodeLimit(r, &b, true, service.MediaLimit(engine.KindVideo)/3*4+httpx.SmallBody); err != nil {
				return err
			}
			req = b.request(kind)
		}
		m, err := h.svc.PostStory(r.Context(), channelOf(r), req)
		if err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, sent{Sent: true, Message: wire.NewMessage(m)})
		return nil
	}
}

// jsonOnly refuses a body that is declared as something other than JSON
// (415); an undeclared one is read as JSON.
func jsonOnly(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		return nil
	}
	return httpx.Errorf(http.StatusUnsupportedMediaType, "the body must be JSON (application/json), not %s", mt)
}

func (h *handler) listStories(w http.ResponseWriter, r *http.Request) error {
	page, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := service.StoryFilter{MessageFilter: service.MessageFilter{Page: page}, Author: q.Get("author")}
	for name, dst := range map[string]**bool{"from_me": &f.FromMe} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return httpx.Errorf(http.StatusBadRequest, "%s: must be true or false", name)
			}
			*dst = &b
		}
	}
	if v := q.Get("normal_types"); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return httpx.Errorf(http.StatusBadRequest, "normal_types: must be true or false")
		}
	}
	for name, dst := range map[string]**time.Time{"time_from": &f.TimeFrom, "time_to": &f.TimeTo} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return httpx.Errorf(http.StatusBadRequest, "%s: must be a Unix time in seconds", name)
			}
			t := time.Unix(n, 0)
			*dst = &t
		}
	}
	list, total, err := h.svc.Stories(r.Context(), channelOf(r), f)
	if err != nil {
		return err
	}
	out := messageList{Messages: make([]wire.Message, 0, len(list)), Count: len(list), Total: total, Offset: page.Offset}
	for _, m := range list {
		out.Messages = append(out.Messages, wire.NewMessage(m))
	}
	if len(list) > 0 {
		out.First, out.Last = page.Offset, page.Offset+len(list)-1
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) getStory(w http.ResponseWriter, r *http.Request) error {
	m, err := h.svc.Story(r.Context(), channelOf(r), r.PathValue("MessageID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, wire.NewMessage(m))
	return nil
}

type copyStoryBody struct {
	Contacts contactList `json:"contacts"`
	Exclude  excludeList `json:"exclude_contacts"`
}

// copyStory posts a stored story again: 201 as Whapi documents.
func (h *handler) copyStory(w http.ResponseWriter, r *http.Request) error {
	if err := jsonOnly(r); err != nil {
		return err
	}
	var b copyStoryBody
	if err := httpx.Decode(r, &b, false); err != nil {
		return err
	}
	if _, err := h.svc.CopyStory(r.Context(), channelOf(r), r.PathValue("MessageID"), b.Contacts.idList, b.Exclude.idList); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusCreated, success{Success: true})
	return nil
}

// viewStatus is Whapi's Status of GET /statuses/{MessageID}.
type viewStatus struct {
	ID          string `json:"id"`
	Code        int    `json:"code"`
	Status      string `json:"status"`
	RecipientID string `json:"recipient_id,omitempty"`
	ViewerID    string `json:"viewer_id,omitempty"`
	Timestamp   string `json:"timestamp"`
}

func (h *handler) messageViews(w http.ResponseWriter, r *http.Request) error {
	views, err := h.svc.MessageViews(r.Context(), channelOf(r), r.PathValue("MessageID"))
	if err != nil {
		return err
	}
	out := struct {
		Statuses []viewStatus `json:"statuses"`
	}{Statuses: make([]viewStatus, 0, len(views))}
	for _, v := range views {
		out.Statuses = append(out.Statuses, viewStatus{ID: v.MessageID, Code: wire.StatusCode(v.Status), Status: v.Status,
			RecipientID: v.Chat, ViewerID: phone(v.Viewer), Timestamp: strconv.FormatInt(v.Time.Unix(), 10)})
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}
