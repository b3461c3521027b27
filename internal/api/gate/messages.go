package gate

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/wire"
)

// sendKinds are the message kinds with a POST /messages/{kind} endpoint.
var sendKinds = []string{
	engine.KindText, engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindAudio, engine.KindVoice,
	engine.KindDocument, engine.KindSticker, engine.KindLocation, engine.KindContact, engine.KindLinkPreview, engine.KindPoll,
	engine.KindShort, engine.KindLiveLocation, engine.KindContactList, // kinds.go
}

func (h *handler) messageRoutes(route func(string, bool, httpx.HandlerFunc)) {
	for _, kind := range sendKinds {
		route("POST /messages/"+kind, true, h.send(kind))
	}
	route("GET /messages/list", false, h.listMessages)
	route("GET /messages/list/{ChatID}", false, h.listMessages)
	route("GET /messages/{MessageID}", false, h.getMessage)
	route("POST /messages/{MessageID}", true, h.forwardMessage)
	route("PUT /messages/{MessageID}", true, h.markRead)
	route("DELETE /messages/{MessageID}", true, h.deleteMessage)
	route("PUT /messages/{MessageID}/reaction", true, h.react)
	route("DELETE /messages/{MessageID}/reaction", true, h.unreact)
	route("PUT /messages/{MessageID}/star", false, h.star)
	route("GET /chats", false, h.listChats)
	route("GET /chats/{ChatID}", false, h.getChat)
	route("DELETE /chats/{ChatID}", false, h.deleteChat)
	route("POST /chats/{ChatID}", true, h.archiveChat)
	route("PATCH /chats/{ChatID}", true, h.patchChat)
	route("POST /media", false, h.uploadMedia)
	route("GET /media", false, h.listMedia)
	route("GET /media/{MediaID}", false, h.getMedia)
	route("DELETE /media/{MediaID}", false, h.deleteMedia)
}

// sendBody is every field of Whapi's send requests.
type sendBody struct {
	To            string   `json:"to"`
	Body          string   `json:"body"`
	Caption       string   `json:"caption"`
	Media         string   `json:"media"`
	MimeType      string   `json:"mime_type"`
	Filename      string   `json:"filename"`
	Seconds       int      `json:"seconds"`
	Quoted        string   `json:"quoted"`
	Edit          string   `json:"edit"`
	Mentions      []string `json:"mentions"`
	ViewOnce      bool     `json:"view_once"`
	NoLinkPreview bool     `json:"no_link_preview"`
	TypingTime    float64  `json:"typing_time"`
	Latitude      *float64 `json:"latitude"`
	Longitude     *float64 `json:"longitude"`
	Name          string   `json:"name"`
	Address       string   `json:"address"`
	URL           string   `json:"url"`
	VCard         string   `json:"vcard"`
	Title         string   `json:"title"`
	Description   string   `json:"description"`
	Canonical     string   `json:"canonical"`
	Preview       string   `json:"preview"`
	Options       []string `json:"options"`
	Count         *int     `json:"count"`
	sendBodyExtra
}

func (b sendBody) request(kind string) service.SendRequest {
	return service.SendRequest{Kind: kind, To: b.To, Body: b.Body, Caption: b.Caption, Media: b.Media, MimeType: b.MimeType,
		FileName: b.Filename, Seconds: b.Seconds, Quoted: b.Quoted, Edit: b.Edit, Mentions: b.Mentions, ViewOnce: b.ViewOnce,
		NoLinkPreview: b.NoLinkPreview, TypingTime: b.TypingTime, Latitude: b.Latitude, Longitude: b.Longitude, Name: b.Name,
		Address: b.Address, URL: b.URL, VCard: b.VCard, Title: b.Title, Description: b.Description, Canonical: b.Canonical,
		Preview: b.Preview, Options: b.Options, Count: b.Count, Accuracy: b.Accuracy, Speed: b.Speed, Degrees: b.Degrees,
		Sequence: b.Sequence, TimeOffset: b.TimeOffset, List: b.list()}
}

type sent struct {
	Sent    bool         `json:"sent"`
	Message wire.Message `json:"message"`
}

func (h *handler) send(kind string) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req service.SendRequest
		switch {
		case (isMultipart(r) && !engine.IsMedia(kind)) || isURLEncoded(r): // form fields only (forms.go)
			var b sendBody
			if err := decodeBody(r, &b, true); err != nil {
				return err
			}
			req = b.request(kind)
		case isMultipart(r):
			b, up, err := h.readMultipart(r, service.MediaLimit(kind), "the "+kind+" file")
			if err != nil {
				return err
			}
			defer up.File.Close()
			req = b.request(kind)
			req.Upload = up
		case engine.IsMedia(kind):
			var b sendBody
			up, err := h.readMediaJSON(r, kind, &b)
			if err != nil {
				return err
			}
			req = b.request(kind)
			if up != nil {
				defer up.File.Close()
				req.Upload = up
				if req.MimeType != "" {
					up.MimeType = req.MimeType
				}
			}
		default:
			var b sendBody
			if err := httpx.Decode(r, &b, true); err != nil {
				return err
			}
			req = b.request(kind)
		}
		m, err := h.svc.Send(r.Context(), channelOf(r), req)
		if err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, sent{Sent: true, Message: wire.NewMessage(m)})
		return nil
	}
}

func isMultipart(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

// readMultipart reads a multipart send or upload: the form fields and the
// file in "media" (or "file"), which is spooled to disk as it arrives.
func (h *handler) readMultipart(r *http.Request, limit int64, what string) (sendBody, *service.Upload, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return sendBody{}, nil, httpx.Errorf(http.StatusBadRequest, "multipart body: %v", err)
	}
	var b sendBody
	var up *service.Upload
	fail := func(err error) (sendBody, *service.Upload, error) {
		if up != nil {
			_ = up.File.Close()
		}
		return b, nil, err
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(multipartError(r, err))
		}
		name := p.FormName()
		if p.FileName() != "" || name == "media" || name == "file" {
			if up != nil {
				return fail(httpx.Errorf(http.StatusBadRequest, "media: the multipart body has more than one file"))
			}
			f, err := h.svc.Spool(p, limit, what)
			if err != nil {
				return fail(multipartError(r, err))
			}
			up = &service.Upload{File: f, MimeType: p.Header.Get("Content-Type"), FileName: p.FileName()}
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, 64<<10))
		if err != nil {
			return fail(multipartError(r, err))
		}
		setField(&b, name, string(v))
	}
	if up == nil {
		return b, nil, httpx.Errorf(http.StatusBadRequest, "media: the multipart body has no file (field media)")
	}
	return b, up, nil
}

func multipartError(r *http.Request, err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return httpx.BodyError(r, err)
	}
	if errors.Is(err, model.ErrTooLarge) || errors.Is(err, model.ErrInvalid) {
		return err
	}
	return httpx.Errorf(http.StatusBadRequest, "multipart body: %v", err)
}

// setField sets a form field of a multipart send.
func setField(b *sendBody, name, v string) {
	switch name {
	case "to":
		b.To = v
	case "caption":
		b.Caption = v
	case "mime_type":
		b.MimeType = v
	case "filename":
		b.Filename = v
	case "quoted":
		b.Quoted = v
	case "seconds":
		b.Seconds, _ = strconv.Atoi(v)
	case "view_once":
		b.ViewOnce = v == "true"
	case "mentions":
		b.Mentions = append(b.Mentions, strings.Split(v, ",")...)
	}
}

type messageList struct {
	Messages []wire.Message `json:"messages"`
	Count    int            `json:"count"`
	Total    int            `json:"total"`
	Offset   int            `json:"offset"`
	First    int            `json:"first"`
	Last     int            `json:"last"`
}

func (h *handler) listMessages(w http.ResponseWriter, r *http.Request) error {
	page, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := service.MessageFilter{Page: page, ChatID: r.PathValue("ChatID")}
	if v := q.Get("from_me"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return httpx.Errorf(http.StatusBadRequest, "from_me: must be true or false")
		}
		f.FromMe = &b
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
	switch q.Get("sort") {
	case "", "desc":
	case "asc":
		f.Ascending = true
	default:
		return httpx.Errorf(http.StatusBadRequest, "sort: must be asc or desc")
	}
	list, total, err := h.svc.Messages(r.Context(), channelOf(r), f)
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
	body, err := out.appendJSON(make([]byte, 0, 64+400*len(list)))
	httpx.EncodedJSON(w, http.StatusOK, body, err)
	return nil
}

// appendJSON appends l as httpx.Marshal encodes it, its messages appended
// by wire.AppendMessages rather than checked again by the encoder.
func (l messageList) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"messages":`...)
	b, err := wire.AppendMessages(b, l.Messages)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		n   int
	}{{`,"count":`, l.Count}, {`,"total":`, l.Total}, {`,"offset":`, l.Offset}, {`,"first":`, l.First}, {`,"last":`, l.Last}} {
		b = strconv.AppendInt(append(b, f.key...), int64(f.n), 10)
	}
	return append(b, "}\n"...), nil
}

func (h *handler) getMessage(w http.ResponseWriter, r *http.Request) error {
	m, err := h.svc.Message(r.Context(), channelOf(r), r.PathValue("MessageID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, wire.NewMessage(m))
	return nil
}

func (h *handler) forwardMessage(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		To string `json:"to"`
	}
	if err := httpx.Decode(r, &b, true); err != nil {
		return err
	}
	m, err := h.svc.ForwardMessage(r.Context(), channelOf(r), r.PathValue("MessageID"), b.To)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, sent{Sent: true, Message: wire.NewMessage(m)})
	return nil
}

func (h *handler) markRead(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.MarkMessageRead(r.Context(), channelOf(r), r.PathValue("MessageID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) deleteMessage(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteMessage(r.Context(), channelOf(r), r.PathValue("MessageID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) react(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Emoji string `json:"emoji"`
	}
	if err := httpx.Decode(r, &b, true); err != nil {
		return err
	}
	if strings.TrimSpace(b.Emoji) == "" {
		return httpx.Errorf(http.StatusBadRequest, "emoji: is required (DELETE removes a reaction)")
	}
	if err := h.svc.ReactToMessage(r.Context(), channelOf(r), r.PathValue("MessageID"), b.Emoji); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) unreact(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.ReactToMessage(r.Context(), channelOf(r), r.PathValue("MessageID"), ""); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) star(w http.ResponseWriter, r *http.Request) error {
	b := struct {
		Starred *bool `json:"starred"`
	}{}
	if err := httpx.Decode(r, &b, false); err != nil {
		return err
	}
	star := b.Starred == nil || *b.Starred
	if err := h.svc.StarMessage(r.Context(), channelOf(r), r.PathValue("MessageID"), star); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}
