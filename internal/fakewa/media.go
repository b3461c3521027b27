package fakewa

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"

	wm "go.mau.fi/whatsmeow"
)

// The media hosts and web.whatsapp.com. whatsmeow uploads to
// https://<media_conn host>/mms/<type>/<token>?auth=..&token=.. and downloads
// from https://<host><direct path>&hash=..; the server keeps every file by
// its token (the base64url SHA-256 of the encrypted file) and serves it at
// /o1/v/t62/<token>?ccb=9-4 until a test expires it.

const (
	mediaHost = "mmg.whatsapp.net"
	mediaAuth = "fakewa-media-auth"
)

type mediaFile struct {
	data   []byte
	status int // 0 while available, else the HTTP status downloads get
}

// directPath is where a file with this token is served.
func directPath(token string) string { return "/o1/v/t62/" + token + "?ccb=9-4" }

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("auth") != mediaAuth {
		http.Error(w, "bad auth", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, "bad upload", http.StatusBadRequest)
		return
	}
	token := path.Base(r.URL.Path)
	s.putMedia(token, body)
	p := directPath(token)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"url": "https://" + mediaHost + p, "direct_path": p})
}

func (s *Server) putMedia(token string, data []byte) {
	s.mu.Lock()
	s.media[token] = &mediaFile{data: data}
	s.mu.Unlock()
}

func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f := s.media[path.Base(r.URL.Path)]
	var data []byte
	status := http.StatusNotFound
	if f != nil {
		data, status = f.data, f.status
	}
	s.mu.Unlock()
	switch {
	case f == nil:
		http.NotFound(w, r)
	case status != 0:
		http.Error(w, http.StatusText(status), status)
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(data)
	}
}

// mediaToken finds a file's token in a URL, direct path or token.
func mediaToken(ref string) string {
	if u, err := url.Parse(ref); err == nil && u.Path != "" {
		ref = u.Path
	}
	return path.Base(ref)
}

// Media returns an uploaded file (as uploaded: encrypted, with its MAC) by
// its URL, direct path or token.
func (s *Server) Media(ref string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.media[mediaToken(ref)]
	if !ok {
		return nil, false
	}
	return f.data, true
}

// MediaCount is how many files the media hosts hold.
func (s *Server) MediaCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.media)
}

// ExpireMedia makes downloads of a file (by URL, direct path or token)
// fail with an HTTP status: 404 or 410 as WhatsApp's hosts do for expired
// media (whatsmeow's ErrMediaDownloadFailedWith404/410); 0 makes it
// available again. It reports whether the file exists.
func (s *Server) ExpireMedia(ref string, status int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.media[mediaToken(ref)]
	if ok {
		f.status = status
	}
	return ok
}

// Upload encrypts a file as a WhatsApp client does for a media type
// (whatsmeow.MediaImage...) and puts it on the media hosts, for a peer to
// send: the result fills an ImageMessage, DocumentMessage...
func (s *Server) Upload(plain []byte, mediaType wm.MediaType) (wm.UploadResponse, error) {
	resp := wm.UploadResponse{MediaKey: make([]byte, 32), FileLength: uint64(len(plain))}
	_, _ = rand.Read(resp.MediaKey)
	keys, err := hkdf.Key(sha256.New, resp.MediaKey, nil, string(mediaType), 112)
	if err != nil {
		return resp, err
	}
	iv, cipherKey, macKey := keys[:16], keys[16:48], keys[48:80]
	block, err := aes.NewCipher(cipherKey)
	if err != nil {
		return resp, err
	}
	padLen := aes.BlockSize - len(plain)%aes.BlockSize
	padded := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(padLen)}, padLen)...)
	enc := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(enc, padded)
	mac := hmac.New(sha256.New, macKey)
	mac.Write(iv)
	mac.Write(enc)
	file := append(enc, mac.Sum(nil)[:10]...)
	encSum, plainSum := sha256.Sum256(file), sha256.Sum256(plain)
	resp.FileEncSHA256, resp.FileSHA256 = encSum[:], plainSum[:]
	token := base64.URLEncoding.EncodeToString(resp.FileEncSHA256)
	s.putMedia(token, file)
	resp.DirectPath = directPath(token)
	resp.URL = "https://" + mediaHost + resp.DirectPath
	return resp, nil
}

// serveWebPage is web.whatsapp.com's page, with the version whatsmeow's
// GetLatestVersion looks for.
func (s *Server) serveWebPage(w http.ResponseWriter) {
	s.mu.Lock()
	rev := s.latest
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>WhatsApp</title><script>self.__SERVER_CONFIG={"server_revision":%d,"client_revision":%d,"hsi":"fakewa"};</script></head><body></body></html>`, rev, rev)
}

// SetProfilePicture makes the picture every profile picture answer points
// at (https://mmg.whatsapp.net/v/pic.jpg) serve data.
func (s *Server) SetProfilePicture(data []byte) { s.putMedia("pic.jpg", data) }
