package service

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

func TestMediaLimitAndTypes(t *testing.T) {
	for kind, want := range map[string]int64{
		"": MaxMediaSize, engine.KindDocument: MaxMediaSize, engine.KindSticker: MaxStickerSize,
		engine.KindImage: MaxPictureSize, engine.KindVideo: MaxPictureSize, engine.KindGIF: MaxPictureSize,
		engine.KindAudio: MaxPictureSize, engine.KindVoice: MaxPictureSize,
	} {
		if got := mediaLimit(kind); got != want {
			t.Errorf("mediaLimit(%q) = %d, want %d", kind, got, want)
		}
	}
	for _, c := range []struct {
		kind, mt string
		ok       bool
	}{
		{engine.KindImage, "image/jpeg", true},
		{engine.KindImage, "image/png", true},
		{engine.KindImage, "image/webp", true},
		{engine.KindImage, "image/jpeg; foo=bar", true},
		{engine.KindImage, "image/gif", false},
		{engine.KindImage, "image/jpegx", false},
		{engine.KindImage, "", false},
		{engine.KindVideo, "video/mp4", true},
		{engine.KindVideo, "video/quicktime", true},
		{engine.KindVideo, "video/webm", false},
		{engine.KindGIF, "video/mp4", true},
		{engine.KindGIF, "image/gif", true},
		{engine.KindGIF, "image/png", false},
		{engine.KindAudio, "audio/wav", true},
		{engine.KindAudio, "audio/ogg; codecs=opus", true},
		{engine.KindAudio, "video/mp4", false},
		{engine.KindVoice, "audio/ogg; codecs=opus", true},
		{engine.KindVoice, "audio/mpeg", true},
		{engine.KindVoice, "audio/wav", false},
		{engine.KindSticker, "image/webp", true},
		{engine.KindSticker, "image/png", true},
		{engine.KindSticker, "image/jpeg", false},
		{engine.KindDocument, "application/x-anything", true},
		{"", "whatever/else", true},
	} {
		err := checkMediaType(c.kind, c.mt)
		if c.ok && err != nil || !c.ok && !errors.Is(err, model.ErrUnsupportedMedia) {
			t.Errorf("checkMediaType(%s, %q) = %v, want ok %v", c.kind, c.mt, err, c.ok)
		}
	}
}

func TestMediaIDForm(t *testing.T) {
	if err := mime.AddExtensionType(".wg+t", "application/x-wagate-odd"); err != nil {
		t.Fatal(err)
	}
	if err := mime.AddExtensionType(".wagateextension", "application/x-wagate-long"); err != nil {
		t.Fatal(err)
	}
	for mt, prefix := range map[string]string{
		"image/png":                              "png-",
		"application/pdf":                        "pdf-",
		"application/octet-stream":               "bin-",
		"application/x-wagate-odd":               "bin-", // an extension that is no ID
		"application/x-wagate-long":              "bin-",
		"application/x-wagate-nothing":           "bin-",
		"image/heix":                             "heix-", // unknown: the subtype
		"audio/ogg; codecs=opus":                 "",
		"text/x-c++src":                          "",
		"application/json-patch+json":            "",
		"application/x-trash":                    "",
		"application/x-ms-application":           "",
		"image/jpeg":                             "",
		"video/mp4":                              "",
		"":                                       "bin-",
		"not a type":                             "bin-",
		"application/vnd.sar":                    "",
		"application/x-font-pcf":                 "",
		"application/vnd.gentoo.gpkg":            "",
		"application/vnd.denovo.fcselayout-link": "",
	} {
		a, b := mediaID(mt), mediaID(mt)
		if !validMediaID(a) || !strings.HasPrefix(a, prefix) || a == b {
			t.Errorf("mediaID(%q) = %q, %q; want valid, distinct IDs starting %q", mt, a, b, prefix)
		}
		_, hexPart, _ := strings.Cut(a, "-")
		if len(hexPart) != 32 {
			t.Errorf("mediaID(%q) = %q: want 32 hex digits", mt, a)
		}
	}
}

func TestCleanFileName(t *testing.T) {
	for in, want := range map[string]string{
		"photo.jpg":              "photo.jpg",
		"my file (1).pdf":        "my file (1).pdf",
		"../../etc/passwd":       "passwd",
		"/abs/path/x.txt":        "x.txt",
		"C:\\Users\\me\\doc.pdf": "doc.pdf",
		"dir/":                   "dir",
		"":                       "",
		".":                      "",
		"..":                     "",
		"../..":                  "",
		"/":                      "",
		"\\":                     "",
		"a\x00b\nc\x7f\td.txt":   "abcd.txt",
		"\x01\x02":               "",
		".\x00.":                 "",
		"Ünïcödé 文件.txt":         "Ünïcödé 文件.txt",
		strings.Repeat("a", 300): strings.Repeat("a", 255),
		strings.Repeat("é", 200): strings.Repeat("é", 127),
		strings.Repeat("😀", 70):  strings.Repeat("😀", 63),
	} {
		if got := cleanFileName(in); got != want {
			t.Errorf("cleanFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodeBase64(t *testing.T) {
	data := []byte("hello, media!")
	for _, enc := range []string{
		base64.StdEncoding.EncodeToString(data),
		base64.RawStdEncoding.EncodeToString(data),
		"aGVsbG8s\nIG1lZGlh\r\nIQ==",
	} {
		got, err := decodeBase64(enc, 100)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("decodeBase64(%q) = %q, %v", enc, got, err)
		}
	}
	if _, err := decodeBase64("not*base64", 100); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("bad base64: %v", err)
	}
	if _, err := decodeBase64(base64.StdEncoding.EncodeToString(make([]byte, 200)), 100); !errors.Is(err, model.ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
}

// itMedia is a service over a fresh store with a channel and media storage.
type itMedia struct {
	s   *Service
	ch  model.Channel
	ch2 model.Channel
}

func itMediaEach(t *testing.T, allowPrivate bool, fn func(t *testing.T, m *itMedia)) {
	t.Helper()
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		s := New(st, slog.New(slog.DiscardHandler), Options{BcryptCost: 4, MediaDir: t.TempDir(), AllowPrivateURLs: allowPrivate,
			APIURL: "http://wagate.test/"})
		m := &itMedia{s: s}
		for i, ch := range []*model.Channel{&m.ch, &m.ch2} {
			name := fmt.Sprintf("itm%d%d", time.Now().UnixNano(), i)
			p, _, err := s.CreatePartner(t.Context(), CreatePartnerInput{Name: name, Email: name + "@example.com"}, "test")
			if err != nil {
				t.Fatal(err)
			}
			if *ch, err = s.CreateChannel(t.Context(), p.ID, CreateChannelInput{Name: "media"}); err != nil {
				t.Fatal(err)
			}
		}
		fn(t, m)
	})
}

func TestResolveMediaInline(t *testing.T) {
	itMediaEach(t, false, func(t *testing.T, m *itMedia) {
		ctx := t.Context()
		png := []byte("\x89PNG\r\n\x1a\n-----")
		b64 := base64.StdEncoding.EncodeToString(png)
		resolve := func(kind, ref, mimeType string) (Upload, error) {
			return m.s.resolveMedia(ctx, m.ch, kind, ref, nil, mimeType)
		}
		for _, c := range []struct {
			name, kind, ref, mimeType string
			want                      Upload
		}{
			{"data URI", engine.KindImage, "data:image/png;base64," + b64, "", Upload{Data: png, MimeType: "image/png"}},
			{"data URI, padded with spaces", engine.KindImage, "  data:image/png;base64," + b64 + "\n", "", Upload{Data: png, MimeType: "image/png"}},
			{"data URI, type given", engine.KindImage, "data:image/png;base64," + b64, "image/webp", Upload{Data: png, MimeType: "image/webp"}},
			{"data URI, no type", "", "data:;base64," + b64, "", Upload{Data: png, MimeType: ""}},
			{"data URI, unpadded", "", "data:text/plain;base64," + base64.RawStdEncoding.EncodeToString([]byte("ab")), "", Upload{Data: []byte("ab"), MimeType: "text/plain"}},
			{"bare base64", engine.KindImage, b64, "", Upload{Data: png}},
			{"bare base64, type given", engine.KindImage, b64, "image/png", Upload{Data: png, MimeType: "image/png"}},
		} {
			got, err := resolve(c.kind, c.ref, c.mimeType)
			if err != nil || !bytes.Equal(got.Data, c.want.Data) || got.MimeType != c.want.MimeType || got.FileName != c.want.FileName {
				t.Errorf("%s: %q %q %q, %v; want %+v", c.name, got.Data, got.MimeType, got.FileName, err, c.want)
			}
		}

		sticker := base64.StdEncoding.EncodeToString(make([]byte, MaxStickerSize+10))
		for _, c := range []struct {
			name, kind, ref string
			want            error
		}{
			{"nothing", engine.KindImage, "", model.ErrInvalid},
			{"blank", engine.KindImage, "   ", model.ErrInvalid},
			{"data URI, not base64", engine.KindImage, "data:image/png,rawbytes", model.ErrInvalid},
			{"data URI, no comma", engine.KindImage, "data:image/png;base64", model.ErrInvalid},
			{"data URI, bad base64", engine.KindImage, "data:image/png;base64,***", model.ErrInvalid},
			{"data URI over the limit", engine.KindSticker, "data:image/webp;base64," + sticker, model.ErrTooLarge},
			{"bare base64 over the limit", engine.KindSticker, sticker, model.ErrTooLarge},
			{"neither", engine.KindImage, "this is not media", model.ErrInvalid},
			{"other scheme", engine.KindImage, "ftp://example.com/a.png", model.ErrInvalid},
			{"file URL", engine.KindImage, "file:///etc/passwd", model.ErrInvalid},
			{"URL without host", engine.KindImage, "http:///a.png", model.ErrInvalid},
			{"unknown media ID", engine.KindImage, "png-0123456789abcdef", model.ErrInvalid},
		} {
			if _, err := resolve(c.kind, c.ref, ""); !errors.Is(err, c.want) {
				t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
			}
		}

		// A multipart upload is taken as it is; a given type wins.
		up := &Upload{Data: []byte("x"), MimeType: "image/png", FileName: "a.png"}
		if got, err := m.s.resolveMedia(ctx, m.ch, engine.KindImage, "ignored", up, ""); err != nil || got.MimeType != "image/png" || got.FileName != "a.png" {
			t.Errorf("upload: %+v %v", got, err)
		}
		if got, _ := m.s.resolveMedia(ctx, m.ch, engine.KindImage, "", up, "image/webp"); got.MimeType != "image/webp" {
			t.Errorf("upload with a type: %+v", got)
		}
	})
}

func TestResolveMediaByID(t *testing.T) {
	itMediaEach(t, false, func(t *testing.T, m *itMedia) {
		ctx := t.Context()
		data := []byte("\x89PNG\r\n\x1a\nimage")
		f, err := m.s.SaveMedia(ctx, m.ch, "", Upload{Data: data, FileName: "pic.png"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.s.resolveMedia(ctx, m.ch, engine.KindImage, f.ID, nil, "")
		if err != nil || !bytes.Equal(got.Data, data) || got.MimeType != "image/png" || got.FileName != "pic.png" {
			t.Fatalf("by ID: %+v %v", got, err)
		}
		if got, _ = m.s.resolveMedia(ctx, m.ch, engine.KindSticker, " "+f.ID+" ", nil, "image/webp"); got.MimeType != "image/webp" {
			t.Fatalf("by ID with a type: %+v", got)
		}
		// Another channel's file is not there.
		_, err = m.s.resolveMedia(ctx, m.ch2, engine.KindImage, f.ID, nil, "")
		if !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("another channel's media: %v", err)
		}
	})
}

func TestFetchMedia(t *testing.T) {
	var hits atomic.Int32
	body := []byte("\x89PNG\r\n\x1a\nfetched")
	mux := http.NewServeMux()
	mux.HandleFunc("/img/cat.png", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Write(body)
	})
	mux.HandleFunc("/named", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="report.pdf"`)
		w.Write([]byte("%PDF"))
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { hits.Add(1); http.NotFound(w, r) })
	mux.HandleFunc("/exact", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(make([]byte, MaxStickerSize))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(make([]byte, MaxStickerSize+1))
	})
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		chunk := make([]byte, 64<<10)
		for range 1000 { // 64 MB unless the client stops reading
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/img/cat.png", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	t.Run("private refused", func(t *testing.T) {
		s := New(nil, slog.New(slog.DiscardHandler), Options{})
		for _, u := range []string{
			srv.URL + "/img/cat.png",
			"http://localhost:" + port + "/img/cat.png",
			"http://user:secret@127.0.0.1:" + port + "/img/cat.png",
			"http://[::1]:" + port + "/img/cat.png",
			"http://0.0.0.0:" + port + "/img/cat.png",
			"http://10.0.0.1:9/x",
			"http://192.168.1.1:9/x",
			"http://169.254.169.254/latest/meta-data",
			"http://[fe80::1]:9/x",
			"http://[fd00::1]:9/x",
			"http://224.0.0.1:9/x",
		} {
			_, err := s.fetchMedia(t.Context(), engine.KindImage, u, "")
			if !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "must reach a public address") {
				t.Errorf("fetch %s: err = %v, want refused as private", u, err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows the URL's password: %v", err)
			}
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("the server was reached %d times", n)
		}
	})

	s := New(nil, slog.New(slog.DiscardHandler), Options{AllowPrivateURLs: true})
	fetch := func(kind, path, mimeType string) (Upload, error) {
		up, err := s.resolveMedia(t.Context(), model.Channel{}, kind, srv.URL+path, nil, mimeType)
		if err == nil { // fetched files are spooled to disk: read them
			err = up.load()
			_ = up.File.Close()
		}
		return up, err
	}
	got, err := fetch(engine.KindImage, "/img/cat.png", "")
	if err != nil || !bytes.Equal(got.Data, body) || got.MimeType != "image/png" || got.FileName != "cat.png" {
		t.Fatalf("fetched %+v %v", got, err)
	}
	if got, err = fetch(engine.KindImage, "/img/cat.png", "image/webp"); err != nil || got.MimeType != "image/webp" {
		t.Fatalf("fetched with a type: %+v %v", got, err)
	}
	if got, err = fetch(engine.KindDocument, "/named?x=1", ""); err != nil || got.FileName != "report.pdf" || got.MimeType != "application/pdf" {
		t.Fatalf("named: %+v %v", got, err)
	}
	if got, err = fetch(engine.KindImage, "/redirect", ""); err != nil || !bytes.Equal(got.Data, body) {
		t.Fatalf("redirected: %+v %v", got, err)
	}
	if got, err = fetch(engine.KindSticker, "/exact", ""); err != nil || len(got.Data) != MaxStickerSize {
		t.Fatalf("exactly the limit: %d %v", len(got.Data), err)
	}
	_, err = fetch(engine.KindSticker, "/big", "")
	if !errors.Is(err, model.ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	start := time.Now()
	if _, err = fetch(engine.KindSticker, "/endless", ""); !errors.Is(err, model.ErrTooLarge) {
		t.Fatalf("endless body: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("endless body took %v", d)
	}
	if _, err = fetch(engine.KindImage, "/missing", ""); !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: %v", err)
	}
	if _, err = fetch(engine.KindImage, "/loop", ""); !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "redirects") {
		t.Fatalf("redirect loop: %v", err)
	}
	// The client's proxies from the environment are not used.
	if s.fetch.Transport.(*http.Transport).Proxy != nil {
		t.Fatal("the fetch client uses a proxy")
	}
}
