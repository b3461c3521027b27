package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/blob"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/netguard"
	"github.com/wagate/wagate/internal/store"
)

// Media size limits, like WhatsApp's.
const (
	MaxMediaSize    = 100 << 20 // documents
	MaxPictureSize  = 16 << 20  // images, video, audio, voice, gif
	MaxStickerSize  = 1 << 20
	maxFetchTimeout = 60 * time.Second
)

// MediaLimit is the largest file of a kind ("" for any file).
func MediaLimit(kind string) int64 { return mediaLimit(kind) }

// mediaLimit is the largest file of a kind.
func mediaLimit(kind string) int64 {
	switch kind {
	case engine.KindDocument, "":
		return MaxMediaSize
	case engine.KindSticker:
		return MaxStickerSize
	}
	return MaxPictureSize
}

// acceptedTypes are the content types each kind accepts ("" any).
var acceptedTypes = map[string][]string{
	engine.KindImage:   {"image/jpeg", "image/png", "image/webp"},
	engine.KindVideo:   {"video/mp4", "video/3gpp", "video/quicktime"},
	engine.KindGIF:     {"video/mp4", "image/gif"},
	engine.KindAudio:   {"audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/amr", "audio/wav", "audio/x-wav", "audio/webm"},
	engine.KindVoice:   {"audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/amr", "audio/webm"},
	engine.KindSticker: {"image/webp", "image/png"},
	engine.KindShort:   {"video/mp4"},
}

// checkMediaType refuses a file whose type does not fit kind (415).
func checkMediaType(kind, mimeType string) error {
	allowed := acceptedTypes[kind]
	if len(allowed) == 0 {
		return nil
	}
	base, _, _ := mime.ParseMediaType(mimeType)
	for _, a := range allowed {
		if base == a {
			return nil
		}
	}
	return fmt.Errorf("a %s must be one of %s, not %q: %w", kind, strings.Join(allowed, ", "), mimeType, model.ErrUnsupportedMedia)
}

// Upload is a file given to the API: its bytes in Data, or on disk in File
// (an upload spooled as it arrived; its owner closes it).
type Upload struct {
	Data     []byte
	File     *Spooled
	MimeType string
	FileName string
}

func (u Upload) size() int64 {
	if u.File != nil {
		return u.File.size
	}
	return int64(len(u.Data))
}

// head is the start of the file, enough to sniff its type.
func (u Upload) head() []byte {
	if u.File != nil {
		return u.File.head
	}
	return u.Data
}

// load makes sure Data holds the bytes (reading a spooled file once).
func (u *Upload) load() error {
	if u.Data != nil || u.File == nil {
		return nil
	}
	data, err := u.File.Bytes()
	u.Data = data
	return err
}

// mediaID names a stored file like Whapi does: its extension, a dash and
// random hex.
func mediaID(mimeType string) string {
	base, _, _ := mime.ParseMediaType(mimeType)
	ext := mediaExt[base]
	if exts, _ := mime.ExtensionsByType(mimeType); ext == "" && len(exts) > 0 {
		ext = strings.TrimPrefix(exts[0], ".")
	}
	if ext == "" {
		_, ext, _ = strings.Cut(base, "/")
	}
	if !isAlnum(ext) || len(ext) > 10 {
		ext = "bin"
	}
	return ext + "-" + ids.MediaHex()
}

// mediaExt names the common types the same on every machine (the system's
// MIME table, e.g. "jfif" for JPEG, varies).
var mediaExt = map[string]string{
	"image/jpeg": "jpeg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
	"video/mp4": "mp4", "video/3gpp": "3gp", "video/quicktime": "mov",
	"audio/ogg": "ogg", "audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/aac": "aac", "audio/amr": "amr",
	"application/pdf": "pdf", "text/plain": "txt",
}

func isAlnum(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func validMediaID(id string) bool {
	ext, hexPart, ok := strings.Cut(id, "-")
	if !ok || !isAlnum(ext) || len(ext) > 10 || len(hexPart) < 8 || len(hexPart) > 64 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

// ValidMediaID reports whether id has the form of a media ID.
func ValidMediaID(id string) bool { return validMediaID(id) }

// mediaKey is where a channel's file is kept in the media store.
func (s *Service) mediaKey(channelID, id string) (string, error) {
	if s.blobs == nil {
		return "", fmt.Errorf("media storage is not configured: %w", model.ErrUnavailable)
	}
	if !ValidMediaID(id) {
		return "", fmt.Errorf("media %w", model.ErrNotFound)
	}
	return channelID + "/" + id, nil
}

// SaveMedia stores a file for a channel and returns its record. kind, when
// not empty, checks the file's type and size for that message kind.
func (s *Service) SaveMedia(ctx context.Context, ch model.Channel, kind string, up Upload) (model.MediaFile, error) {
	up, err := checkUpload(kind, up)
	if err != nil {
		return model.MediaFile{}, err
	}
	return s.saveChecked(ctx, ch, up)
}

// checkUpload checks a file's size and type for kind and settles its type
// (sniffed when not given).
func checkUpload(kind string, up Upload) (Upload, error) {
	if up.size() == 0 {
		return up, invalid("media", "the file is empty")
	}
	if limit := mediaLimit(kind); up.size() > limit {
		return up, fmt.Errorf("the file is %d bytes; a %s may have at most %d: %w", up.size(), kindName(kind), limit, model.ErrTooLarge)
	}
	mt := up.MimeType
	if mt == "" || mt == "application/octet-stream" {
		mt = http.DetectContentType(up.head())
	}
	mt = strings.ToLower(strings.TrimSpace(mt))
	if _, _, err := mime.ParseMediaType(mt); err != nil {
		return up, invalid("mime_type", "%q is not a media type", up.MimeType)
	}
	if err := checkMediaType(kind, mt); err != nil {
		return up, err
	}
	up.MimeType = mt
	return up, nil
}

// saveChecked writes a checked file and records it.
func (s *Service) saveChecked(ctx context.Context, ch model.Channel, up Upload) (model.MediaFile, error) {
	return s.saveAs(ctx, ch, mediaID(up.MimeType), up)
}

// saveAs writes a checked file under a given media ID and records it.
func (s *Service) saveAs(ctx context.Context, ch model.Channel, id string, up Upload) (model.MediaFile, error) {
	mt := up.MimeType
	key, err := s.mediaKey(ch.ID, id)
	if err != nil {
		return model.MediaFile{}, err
	}
	var digest string
	if up.File != nil {
		// Spooled: moved into place when the store is the same disk.
		if err := s.putSpooled(ctx, key, up.File, mt); err != nil {
			return model.MediaFile{}, fmt.Errorf("store media: %w", err)
		}
		digest = up.File.sum
	} else {
		if err := s.blobs.Put(ctx, key, bytes.NewReader(up.Data), int64(len(up.Data)), mt); err != nil {
			return model.MediaFile{}, fmt.Errorf("store media: %w", err)
		}
		sum := sha256.Sum256(up.Data)
		digest = hex.EncodeToString(sum[:])
	}
	now := s.now()
	f := model.MediaFile{ChannelID: ch.ID, ID: id, MimeType: mt, FileName: cleanFileName(up.FileName), Size: up.size(),
		SHA256: digest, CreatedAt: now, ExpiresAt: now.Add(s.mediaTTL)}
	if err := s.store.InsertMedia(ctx, f); err != nil {
		_ = s.blobs.Delete(context.WithoutCancel(ctx), key)
		return model.MediaFile{}, err
	}
	return f, nil
}

// putSpooled stores a spooled upload: moved into place on the same disk,
// read and uploaded otherwise; the spool file is gone afterwards.
func (s *Service) putSpooled(ctx context.Context, key string, f *Spooled, mimeType string) error {
	if fp, ok := s.blobs.(blob.FilePutter); ok {
		if err := fp.PutFile(ctx, key, f.path); err != nil {
			return err
		}
		f.closed = true
		return nil
	}
	defer f.Close()
	r, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer r.Close()
	return s.blobs.Put(ctx, key, r, f.size, mimeType)
}

func kindName(kind string) string {
	if kind == "" {
		return "file"
	}
	return kind
}

// cleanFileName keeps a file name's last element, without control characters.
func cleanFileName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	// Map also turns invalid UTF-8 into U+FFFD (PostgreSQL refuses it).
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) { // controls, bidi overrides
			return -1
		}
		return r
	}, name)
	if len(name) > 255 {
		// Cut on a character boundary: half a character is invalid UTF-8.
		cut := 255
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut]
	}
	if name == "." || name == ".." || name == "/" {
		return ""
	}
	return name
}

// Media reads a stored file of a channel: its record and bytes.
func (s *Service) Media(ctx context.Context, ch model.Channel, id string) (model.MediaFile, []byte, error) {
	f, obj, err := s.OpenMedia(ctx, ch, id)
	if err != nil {
		return f, nil, err
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	return f, data, err
}

// OpenMedia opens a stored file of a channel for reading, so it can be
// sent without being held in memory; the caller closes it.
func (s *Service) OpenMedia(ctx context.Context, ch model.Channel, id string) (model.MediaFile, blob.Object, error) {
	key, err := s.mediaKey(ch.ID, id)
	if err != nil {
		return model.MediaFile{}, nil, err
	}
	f, err := s.store.Media(ctx, ch.ID, id)
	if errors.Is(err, store.ErrMediaNotFound) {
		// A received file not fetched yet: fetched now (mediafetch.go).
		f, err = s.fetchReceived(ctx, ch, id)
	}
	if err != nil {
		return f, nil, err
	}
	obj, err := s.blobs.Open(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return f, nil, fmt.Errorf("media file is gone: %w", model.ErrNotFound)
	}
	return f, obj, err
}

// MediaList lists a channel's stored files.
func (s *Service) MediaList(ctx context.Context, ch model.Channel, p Page) ([]model.MediaFile, int, error) {
	return s.store.MediaList(ctx, ch.ID, p.Count, p.Offset)
}

// DeleteMedia removes a stored file.
func (s *Service) DeleteMedia(ctx context.Context, ch model.Channel, id string) error {
	key, err := s.mediaKey(ch.ID, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteMedia(ctx, ch.ID, id); err != nil {
		return err
	}
	if err := s.blobs.Delete(ctx, key); err != nil {
		s.log.WarnContext(ctx, "could not remove a media file", "channel_id", ch.ID, "media_id", id, "error", err)
	}
	return nil
}

// ExpireMedia removes files older than the media TTL, and spooled uploads
// an interrupted request left behind; it returns how many stored files
// went.
func (s *Service) ExpireMedia(ctx context.Context) (int, error) {
	s.cleanSpool(time.Hour)
	// References to files received long ago, and old calls (mediafetch.go, calls.go).
	if _, err := s.PruneMediaRefs(ctx); err != nil {
		s.log.WarnContext(ctx, "could not prune media references", "error", err)
	}
	if _, err := s.PruneCalls(ctx); err != nil {
		s.log.WarnContext(ctx, "could not prune calls", "error", err)
	}
	n := 0
	for {
		files, err := s.store.ExpiredMedia(ctx, s.now(), 500)
		if err != nil || len(files) == 0 {
			return n, err
		}
		for _, f := range files {
			if err := s.store.DeleteMedia(ctx, f.ChannelID, f.ID); err != nil && !errors.Is(err, model.ErrNotFound) {
				return n, err
			}
			if key, err := s.mediaKey(f.ChannelID, f.ID); err == nil {
				if err := s.blobs.Delete(ctx, key); err != nil {
					s.log.WarnContext(ctx, "an expired media file could not be removed", "media_id", f.ID, "error", err)
				}
			}
			n++
		}
	}
}

// resolveMedia turns the media of a send request into bytes: a MediaID of
// the channel, a base64 data URI (or bare base64), or an http(s) URL to
// fetch. Uploaded files (multipart) come as up.
func (s *Service) resolveMedia(ctx context.Context, ch model.Channel, kind, ref string, up *Upload, mimeType string) (Upload, error) {
	if up != nil {
		if mimeType != "" {
			up.MimeType = mimeType
		}
		return *up, nil
	}
	ref = strings.TrimSpace(ref)
	switch {
	case ref == "":
		return Upload{}, invalid("media", "is required: a URL, a base64 data URI, a media ID from POST /media, or a multipart file")
	case strings.HasPrefix(ref, "data:"):
		meta, payload, ok := strings.Cut(strings.TrimPrefix(ref, "data:"), ",")
		if !ok || !strings.HasSuffix(meta, ";base64") {
			return Upload{}, invalid("media", "a data URI must be data:<type>;base64,<data>")
		}
		data, err := decodeBase64(payload, mediaLimit(kind))
		if err != nil {
			return Upload{}, err
		}
		mt := strings.TrimSuffix(meta, ";base64")
		if mimeType != "" {
			mt = mimeType
		}
		return Upload{Data: data, MimeType: mt}, nil
	case strings.HasPrefix(ref, "http://"), strings.HasPrefix(ref, "https://"):
		return s.fetchMedia(ctx, kind, ref, mimeType)
	case ValidMediaID(ref):
		f, data, err := s.Media(ctx, ch, ref)
		if errors.Is(err, model.ErrNotFound) {
			return Upload{}, invalid("media", "media %s not found: upload it with POST /media first", ref)
		}
		if err != nil {
			return Upload{}, err
		}
		mt := f.MimeType
		if mimeType != "" {
			mt = mimeType
		}
		return Upload{Data: data, MimeType: mt, FileName: f.FileName}, nil
	}
	data, err := decodeBase64(ref, mediaLimit(kind))
	if errors.Is(err, model.ErrTooLarge) {
		return Upload{}, err
	}
	if err != nil {
		return Upload{}, invalid("media", "is neither a URL, a data URI, a media ID nor base64")
	}
	return Upload{Data: data, MimeType: mimeType}, nil
}

func decodeBase64(payload string, limit int64) ([]byte, error) {
	if int64(base64.StdEncoding.DecodedLen(len(payload))) > limit+3 {
		return nil, fmt.Errorf("the file is over %d bytes: %w", limit, model.ErrTooLarge)
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		if data, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(payload, "=")); err != nil {
			return nil, invalid("media", "base64 data does not decode")
		}
	}
	return data, nil
}

// fetchMedia downloads a file from a URL, bounded in size and time.
func (s *Service) fetchMedia(ctx context.Context, kind, raw, mimeType string) (Upload, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Upload{}, invalid("media", "%q is not a URL", raw)
	}
	ctx, cancel := context.WithTimeout(ctx, maxFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Upload{}, invalid("media", "%q is not a URL", raw)
	}
	if err := netguard.CheckHost(u.Hostname(), s.allowPrivate); err != nil {
		var ne *netguard.Error
		if errors.As(err, &ne) {
			return Upload{}, invalid("media", "the URL's host is %s; media URLs must reach a public address", ne.Class)
		}
		return Upload{}, invalid("media", "%v", err)
	}
	resp, err := s.fetch.Do(req)
	if err != nil {
		return Upload{}, invalid("media", "could not fetch %s: %s", u.Redacted(), fetchFailure(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Upload{}, invalid("media", "fetching %s answered %s", u.Redacted(), resp.Status)
	}
	// Spooled to disk as it arrives; a send reads it once, at its size.
	limit := mediaLimit(kind)
	file, err := s.Spool(resp.Body, limit, "the file at "+u.Redacted())
	if errors.Is(err, model.ErrTooLarge) {
		return Upload{}, err
	}
	if err != nil {
		return Upload{}, invalid("media", "could not fetch %s: %s", u.Redacted(), fetchFailure(err))
	}
	mt := mimeType
	if mt == "" {
		mt = resp.Header.Get("Content-Type")
	}
	name := path.Base(u.Path)
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil && params["filename"] != "" {
		name = params["filename"]
	}
	return Upload{File: file, MimeType: mt, FileName: name}, nil
}

// fetchFailure says why a fetch failed without naming where it went: the
// address a name or a redirect led to is the server's business, not the
// client's (who could otherwise map the server's network with it).
func fetchFailure(err error) string {
	var ne *netguard.Error
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &ne):
		return "it (or a redirect from it) leads to " + ne.Class + ", which is refused"
	case errors.Is(err, errTooManyRedirects):
		return "too many redirects"
	case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		return "no answer in time"
	case errors.As(err, &dnsErr):
		return "the host name does not resolve"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused"
	case errors.As(err, &opErr):
		return "the connection failed"
	}
	var ue *url.Error
	if errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "tls") {
		return "the TLS handshake failed"
	}
	return "the request failed"
}

var errTooManyRedirects = errors.New("too many redirects")

// newFetchClient is the HTTP client for media URLs: it refuses addresses
// that are not public (checked on the dialed IP, so neither DNS nor a
// redirect can point around it) unless allowed, and bounds redirects.
func newFetchClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !allowPrivate {
		dialer.Control = netguard.Control
	}
	tr := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 10 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second, MaxIdleConnsPerHost: 4, Proxy: nil}
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errTooManyRedirects
		}
		if !allowPrivate {
			if err := netguard.CheckHost(req.URL.Hostname(), false); err != nil {
				return err
			}
		}
		return nil
	}}
}
