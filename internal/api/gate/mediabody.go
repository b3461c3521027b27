package gate

import (
	"net/http"
	"slices"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/wire"
)

// mediaBodyKinds are the kinds POST /messages/media/{MediaMessageType}
// sends.
var mediaBodyKinds = []string{engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindAudio, engine.KindVoice,
	engine.KindDocument, engine.KindSticker}

// sendMediaBody serves POST /messages/media/{MediaMessageType}: the request
// body is the file itself (its Content-Type its MIME type), the other
// fields are query parameters (to, caption, filename, quoted, mentions,
// view_once, seconds).
func (h *handler) sendMediaBody(w http.ResponseWriter, r *http.Request, kind string) error {
	if !slices.Contains(mediaBodyKinds, kind) {
		return httpx.Errorf(http.StatusBadRequest, "MediaMessageType: must be one of image, video, gif, audio, voice, document, sticker")
	}
	if isMultipart(r) {
		return h.send(kind)(w, r)
	}
	q := r.URL.Query()
	var b sendBody
	for name, vs := range q {
		if name != "token" && len(vs) > 0 {
			setField(&b, name, vs[len(vs)-1])
		}
	}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return httpx.Errorf(http.StatusBadRequest, "body: the file to send is required as the request body")
	}
	f, err := h.svc.Spool(r.Body, service.MediaLimit(kind), "the "+kind+" file")
	if err != nil {
		return multipartError(r, err)
	}
	defer f.Close()
	req := b.request(kind)
	req.Upload = &service.Upload{File: f, MimeType: r.Header.Get("Content-Type"), FileName: b.Filename}
	if req.MimeType != "" {
		req.Upload.MimeType = req.MimeType
	}
	m, err := h.svc.Send(r.Context(), channelOf(r), req)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, sent{Sent: true, Message: wire.NewMessage(m)})
	return nil
}
