package gate

import (
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

// mediaFile is a stored file on the wire (Whapi's MediaFile).
type mediaFile struct {
	ID        string `json:"id"`
	Link      string `json:"link"`
	MimeType  string `json:"mime_type"`
	FileSize  int64  `json:"file_size"`
	FileName  string `json:"file_name,omitempty"`
	SHA256    string `json:"sha256"`
	Timestamp int64  `json:"timestamp"`
	Expires   int64  `json:"expires"`
}

func (h *handler) newMediaFile(f model.MediaFile) mediaFile {
	return mediaFile{ID: f.ID, Link: h.svc.APIURL() + "media/" + f.ID, MimeType: f.MimeType, FileSize: f.Size,
		FileName: f.FileName, SHA256: f.SHA256, Timestamp: f.CreatedAt.Unix(), Expires: f.ExpiresAt.Unix()}
}

type uploaded struct {
	Media []mediaFile `json:"media"`
}

// uploadMedia stores a file: the raw body with its Content-Type (as Whapi
// takes it), or a multipart file.
func (h *handler) uploadMedia(w http.ResponseWriter, r *http.Request) error {
	var up service.Upload
	if isMultipart(r) {
		_, u, err := h.readMultipart(r, service.MaxMediaSize, "the file")
		if err != nil {
			return err
		}
		up = *u
	} else {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
			return httpx.Errorf(http.StatusUnsupportedMediaType, "send the file itself as the body, with its Content-Type (or multipart/form-data)")
		}
		// Spooled to disk as it arrives, then moved into place.
		f, err := h.svc.Spool(r.Body, service.MaxMediaSize, "the file")
		if err != nil {
			return multipartError(r, err)
		}
		up = service.Upload{File: f, MimeType: r.Header.Get("Content-Type")}
		if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err == nil {
			up.FileName = params["filename"]
		}
	}
	defer up.File.Close()
	f, err := h.svc.SaveMedia(r.Context(), channelOf(r), "", up)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, uploaded{Media: []mediaFile{h.newMediaFile(f)}})
	return nil
}

type mediaList struct {
	Files  []mediaFile `json:"files"`
	Count  int         `json:"count"`
	Total  int         `json:"total"`
	Offset int         `json:"offset"`
}

func (h *handler) listMedia(w http.ResponseWriter, r *http.Request) error {
	page, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	list, total, err := h.svc.MediaList(r.Context(), channelOf(r), page)
	if err != nil {
		return err
	}
	out := mediaList{Files: make([]mediaFile, 0, len(list)), Count: len(list), Total: total, Offset: page.Offset}
	for _, f := range list {
		out.Files = append(out.Files, h.newMediaFile(f))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// getMedia answers the file's bytes with its type.
func (h *handler) getMedia(w http.ResponseWriter, r *http.Request) error {
	f, file, err := h.svc.OpenMedia(r.Context(), channelOf(r), r.PathValue("MediaID"))
	if err != nil {
		return err
	}
	defer file.Close()
	w.Header().Set("Content-Type", f.MimeType)
	w.Header().Set("Content-Length", strconv.FormatInt(file.Size(), 10))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox")
	disp := "attachment"
	if f.FileName != "" {
		disp = mime.FormatMediaType("attachment", map[string]string{"filename": f.FileName})
	}
	w.Header().Set("Content-Disposition", disp)
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, file) // streamed: a 100 MiB file takes a buffer, not 100 MiB
	return nil
}

func (h *handler) deleteMedia(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteMedia(r.Context(), channelOf(r), r.PathValue("MediaID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}
