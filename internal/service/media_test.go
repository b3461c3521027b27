package service_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

const mdTTL = 24 * time.Hour

// mdPNG is the start of a PNG file (enough for content sniffing).
var mdPNG = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 100)...)

// mdEach runs fn on every backend with a service that keeps media in dir.
func mdEach(t *testing.T, fn func(t *testing.T, f *svFixture, dir string, ch model.Channel)) {
	t.Helper()
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewFake(svT0)
		dir := t.TempDir()
		svc := service.New(st, slog.New(slog.DiscardHandler), service.Options{BcryptCost: 4, Now: clk.Now,
			APIURL: "http://wagate.test/", MediaDir: dir, MediaTTL: mdTTL})
		f := &svFixture{ctx: t.Context(), st: st, svc: svc, clk: clk}
		p, _ := f.partner(t, fmt.Sprintf("md%d", time.Now().UnixNano()), 0)
		fn(t, f, dir, f.channel(t, p.ID, "media"))
	})
}

// mdFiles lists the files under dir.
func mdFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSaveMedia(t *testing.T) {
	mdEach(t, func(t *testing.T, f *svFixture, dir string, ch model.Channel) {
		got, err := f.svc.SaveMedia(f.ctx, ch, engine.KindImage, service.Upload{Data: mdPNG, FileName: "../../secret/cat.png"})
		if err != nil {
			t.Fatalf("SaveMedia: %v", err)
		}
		sum := sha256.Sum256(mdPNG)
		if !strings.HasPrefix(got.ID, "png-") || !service.ValidMediaID(got.ID) || got.ChannelID != ch.ID ||
			got.MimeType != "image/png" || got.FileName != "cat.png" || got.Size != int64(len(mdPNG)) ||
			got.SHA256 != hex.EncodeToString(sum[:]) || !got.CreatedAt.Equal(svT0) || !got.ExpiresAt.Equal(svT0.Add(mdTTL)) {
			t.Fatalf("saved %+v", got)
		}
		if files := mdFiles(t, dir); len(files) != 1 || files[0] != filepath.Join(ch.ID, got.ID) {
			t.Fatalf("files on disk: %v", files)
		}
		if stored, err := f.st.Media(f.ctx, ch.ID, got.ID); err != nil || stored != got {
			t.Fatalf("stored record %+v %v, want %+v", stored, err, got)
		}
		rec, data, err := f.svc.Media(f.ctx, ch, got.ID)
		if err != nil || rec != got || !bytes.Equal(data, mdPNG) {
			t.Fatalf("Media: %+v %d bytes %v", rec, len(data), err)
		}

		// The given type wins over sniffing; it is normalized.
		doc, err := f.svc.SaveMedia(f.ctx, ch, engine.KindDocument, service.Upload{Data: []byte("%PDF-1.4"), MimeType: " Application/PDF ", FileName: "C:\\Users\\me\\report.pdf"})
		if err != nil || doc.MimeType != "application/pdf" || !strings.HasPrefix(doc.ID, "pdf-") || doc.FileName != "report.pdf" {
			t.Fatalf("document: %+v %v", doc, err)
		}
		// application/octet-stream is sniffed like no type.
		if m, err := f.svc.SaveMedia(f.ctx, ch, "", service.Upload{Data: mdPNG, MimeType: "application/octet-stream"}); err != nil || m.MimeType != "image/png" {
			t.Fatalf("octet-stream: %+v %v", m, err)
		}
		// Voice notes carry codec parameters.
		if m, err := f.svc.SaveMedia(f.ctx, ch, engine.KindVoice, service.Upload{Data: []byte("OggS...."), MimeType: "audio/ogg; codecs=opus"}); err != nil || m.MimeType != "audio/ogg; codecs=opus" || !service.ValidMediaID(m.ID) {
			t.Fatalf("voice: %+v %v", m, err)
		}
		// Types nobody knows still get a valid ID.
		for _, mt := range []string{"application/x-wagate-unknown", "image/x-weird+xml", "audio/verylongsubtypename", "application/json-patch+json", "application/x-trash", "text/x-c++src"} {
			m, err := f.svc.SaveMedia(f.ctx, ch, "", service.Upload{Data: []byte("data"), MimeType: mt})
			if err != nil || !service.ValidMediaID(m.ID) {
				t.Errorf("SaveMedia(%s) = %+v %v", mt, m, err)
				continue
			}
			if _, _, err := f.svc.Media(f.ctx, ch, m.ID); err != nil {
				t.Errorf("Media(%s): %v", m.ID, err)
			}
		}

		list, total, err := f.svc.MediaList(f.ctx, ch, service.Page{Count: 100})
		if err != nil || total != len(list) || total != 10 {
			t.Fatalf("MediaList: %d of %d, %v", len(list), total, err)
		}
		if n := len(mdFiles(t, dir)); n != 10 {
			t.Fatalf("%d files on disk, want 10", n)
		}
	})
}

func TestSaveMediaRefused(t *testing.T) {
	mdEach(t, func(t *testing.T, f *svFixture, dir string, ch model.Channel) {
		big := func(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }
		for _, c := range []struct {
			name string
			kind string
			up   service.Upload
			want error
		}{
			{"empty", engine.KindImage, service.Upload{MimeType: "image/png"}, model.ErrInvalid},
			{"empty, no kind", "", service.Upload{Data: []byte{}}, model.ErrInvalid},
			{"not a type", "", service.Upload{Data: []byte("x"), MimeType: "not a type"}, model.ErrInvalid},
			{"pdf as an image", engine.KindImage, service.Upload{Data: []byte("%PDF-1.4"), MimeType: "application/pdf"}, model.ErrUnsupportedMedia},
			{"sniffed text as an image", engine.KindImage, service.Upload{Data: []byte("hello there")}, model.ErrUnsupportedMedia},
			{"gif as an image", engine.KindImage, service.Upload{Data: []byte("GIF89a"), MimeType: "image/gif"}, model.ErrUnsupportedMedia},
			{"jpeg as a sticker", engine.KindSticker, service.Upload{Data: []byte("x"), MimeType: "image/jpeg"}, model.ErrUnsupportedMedia},
			{"wav as a voice note", engine.KindVoice, service.Upload{Data: []byte("x"), MimeType: "audio/wav"}, model.ErrUnsupportedMedia},
			{"image as a video", engine.KindVideo, service.Upload{Data: mdPNG}, model.ErrUnsupportedMedia},
			{"png as audio", engine.KindAudio, service.Upload{Data: mdPNG, MimeType: "image/png"}, model.ErrUnsupportedMedia},
			{"sticker over 1 MB", engine.KindSticker, service.Upload{Data: big(service.MaxStickerSize + 1), MimeType: "image/webp"}, model.ErrTooLarge},
			{"image over 16 MB", engine.KindImage, service.Upload{Data: big(service.MaxPictureSize + 1), MimeType: "image/png"}, model.ErrTooLarge},
			{"voice over 16 MB", engine.KindVoice, service.Upload{Data: big(service.MaxPictureSize + 1), MimeType: "audio/ogg"}, model.ErrTooLarge},
		} {
			_, err := f.svc.SaveMedia(f.ctx, ch, c.kind, c.up)
			if !errors.Is(err, c.want) {
				t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
			}
		}
		if files := mdFiles(t, dir); len(files) != 0 {
			t.Fatalf("refused files written: %v", files)
		}
		if _, total, _ := f.svc.MediaList(f.ctx, ch, service.Page{Count: 10}); total != 0 {
			t.Fatalf("%d refused files recorded", total)
		}
		// At the limits exactly: accepted.
		if _, err := f.svc.SaveMedia(f.ctx, ch, engine.KindSticker, service.Upload{Data: big(service.MaxStickerSize), MimeType: "image/webp"}); err != nil {
			t.Fatalf("sticker of 1 MB: %v", err)
		}
		if _, err := f.svc.SaveMedia(f.ctx, ch, engine.KindDocument, service.Upload{Data: big(service.MaxPictureSize + 1), MimeType: "application/zip"}); err != nil {
			t.Fatalf("document over 16 MB: %v", err)
		}
	})
}

func TestSaveMediaFileNames(t *testing.T) {
	mdEach(t, func(t *testing.T, f *svFixture, dir string, ch model.Channel) {
		long := strings.Repeat("é", 200) + ".pdf" // 404 bytes: cut inside a rune at 255
		for in, want := range map[string]string{
			"report.pdf":             "report.pdf",
			"../../etc/passwd":       "passwd",
			"a\\b\\c.txt":            "c.txt",
			"new\nline\x00.pdf":      "newline.pdf",
			"..":                     "",
			"/":                      "",
			"":                       "",
			"bad\xffbyte.pdf":        "bad\uFFFDbyte.pdf",
			strings.Repeat("a", 300): strings.Repeat("a", 255),
			long:                     strings.Repeat("é", 127),
		} {
			m, err := f.svc.SaveMedia(f.ctx, ch, engine.KindDocument, service.Upload{Data: []byte("%PDF"), MimeType: "application/pdf", FileName: in})
			if err != nil || m.FileName != want {
				t.Errorf("file name %q: saved %q, %v; want %q", in, m.FileName, err, want)
				continue
			}
			if stored, err := f.st.Media(f.ctx, ch.ID, m.ID); err != nil || stored.FileName != want {
				t.Errorf("file name %q: stored %q, %v", in, stored.FileName, err)
			}
		}
	})
}

func TestMediaReadAndDelete(t *testing.T) {
	mdEach(t, func(t *testing.T, f *svFixture, dir string, ch model.Channel) {
		p2, _ := f.partner(t, fmt.Sprintf("md2%d", time.Now().UnixNano()), 0)
		other := f.channel(t, p2.ID, "other")
		m, err := f.svc.SaveMedia(f.ctx, ch, "", service.Upload{Data: mdPNG})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = f.svc.Media(f.ctx, other, m.ID)
		svWantIs(t, err, model.ErrNotFound)
		for _, bad := range []string{"", "../" + ch.ID + "/" + m.ID, "png-zz", "png-0123abcd/../../x", strings.ToUpper(m.ID)} {
			if _, _, err := f.svc.Media(f.ctx, ch, bad); !errors.Is(err, model.ErrNotFound) {
				t.Errorf("Media(%q) = %v, want not found", bad, err)
			}
			if err := f.svc.DeleteMedia(f.ctx, ch, bad); !errors.Is(err, model.ErrNotFound) {
				t.Errorf("DeleteMedia(%q) = %v, want not found", bad, err)
			}
		}
		svWantIs(t, f.svc.DeleteMedia(f.ctx, other, m.ID), model.ErrNotFound)

		// A record whose file is gone.
		if err := os.Remove(filepath.Join(dir, ch.ID, m.ID)); err != nil {
			t.Fatal(err)
		}
		_, _, err = f.svc.Media(f.ctx, ch, m.ID)
		svWantIs(t, err, model.ErrNotFound)
		// Deleting it still forgets the record.
		if err := f.svc.DeleteMedia(f.ctx, ch, m.ID); err != nil {
			t.Fatalf("delete with the file gone: %v", err)
		}

		m, _ = f.svc.SaveMedia(f.ctx, ch, "", service.Upload{Data: mdPNG})
		if err := f.svc.DeleteMedia(f.ctx, ch, m.ID); err != nil {
			t.Fatal(err)
		}
		if files := mdFiles(t, dir); len(files) != 0 {
			t.Fatalf("files left after delete: %v", files)
		}
		svWantIs(t, f.svc.DeleteMedia(f.ctx, ch, m.ID), model.ErrNotFound)
		_, err = f.st.Media(f.ctx, ch.ID, m.ID)
		svWantIs(t, err, model.ErrNotFound)
	})
}

func TestMediaNotConfigured(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "nomedia", 0)
		ch := f.channel(t, p.ID, "c")
		_, err := f.svc.SaveMedia(f.ctx, ch, "", service.Upload{Data: mdPNG})
		svWantIs(t, err, model.ErrUnavailable)
		_, _, err = f.svc.Media(f.ctx, ch, "png-0123abcd")
		svWantIs(t, err, model.ErrUnavailable)
		// Type and size are still checked first.
		_, err = f.svc.SaveMedia(f.ctx, ch, engine.KindImage, service.Upload{Data: []byte("%PDF"), MimeType: "application/pdf"})
		svWantIs(t, err, model.ErrUnsupportedMedia)
	})
}

func TestExpireMedia(t *testing.T) {
	mdEach(t, func(t *testing.T, f *svFixture, dir string, ch model.Channel) {
		p2, _ := f.partner(t, fmt.Sprintf("md2%d", time.Now().UnixNano()), 0)
		other := f.channel(t, p2.ID, "other")
		var old []model.MediaFile
		for _, c := range []model.Channel{ch, ch, other} {
			m, err := f.svc.SaveMedia(f.ctx, c, "", service.Upload{Data: mdPNG})
			if err != nil {
				t.Fatal(err)
			}
			old = append(old, m)
		}
		f.clk.Advance(12 * time.Hour)
		young, err := f.svc.SaveMedia(f.ctx, ch, "", service.Upload{Data: mdPNG})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := f.svc.ExpireMedia(f.ctx); err != nil || n != 0 {
			t.Fatalf("nothing expired yet: %d %v", n, err)
		}
		// Expired at exactly the TTL.
		f.clk.Set(svT0.Add(mdTTL))
		if n, err := f.svc.ExpireMedia(f.ctx); err != nil || n != 3 {
			t.Fatalf("ExpireMedia = %d %v, want 3", n, err)
		}
		for _, m := range old {
			if _, err := f.st.Media(f.ctx, m.ChannelID, m.ID); !errors.Is(err, model.ErrNotFound) {
				t.Errorf("expired %s still recorded: %v", m.ID, err)
			}
		}
		if files := mdFiles(t, dir); len(files) != 1 || files[0] != filepath.Join(ch.ID, young.ID) {
			t.Fatalf("files after expiry: %v", files)
		}
		if _, data, err := f.svc.Media(f.ctx, ch, young.ID); err != nil || len(data) == 0 {
			t.Fatalf("young file: %v", err)
		}
		f.clk.Advance(12 * time.Hour)
		if n, err := f.svc.ExpireMedia(f.ctx); err != nil || n != 1 {
			t.Fatalf("second sweep = %d %v", n, err)
		}
		if files := mdFiles(t, dir); len(files) != 0 {
			t.Fatalf("files left: %v", files)
		}

		// More than a batch, some records without files.
		for i := range 520 {
			err := f.st.InsertMedia(f.ctx, model.MediaFile{ChannelID: ch.ID, ID: fmt.Sprintf("bin-%08x", i), MimeType: "x/y",
				SHA256: "00", Size: 1, CreatedAt: f.clk.Now(), ExpiresAt: f.clk.Now()})
			if err != nil {
				t.Fatal(err)
			}
		}
		if n, err := f.svc.ExpireMedia(f.ctx); err != nil || n != 520 {
			t.Fatalf("batched sweep = %d %v, want 520", n, err)
		}
		if _, total, _ := f.svc.MediaList(f.ctx, ch, service.Page{Count: 1}); total != 0 {
			t.Fatalf("%d records left", total)
		}
	})
}

func TestValidMediaID(t *testing.T) {
	for id, want := range map[string]bool{
		"png-0123abcd":                          true,
		"jpeg-" + strings.Repeat("ab", 16):      true,
		"bin-" + strings.Repeat("0", 64):        true,
		"abcdefghij-0123abcd":                   true,
		"png-0123ABCD":                          true,
		"mp4-" + strings.Repeat("0", 66):        false,
		"png-0123abc":                           false, // 7 hex
		"png-0123abcde":                         false, // odd
		"png-0123abcg":                          false,
		"PNG-0123abcd":                          false,
		"abcdefghijk-0123abcd":                  false, // extension over 10
		"png0123abcd":                           false,
		"-0123abcd":                             false,
		"png--0123abcd":                         false,
		"p.g-0123abcd":                          false,
		"../0123abcd":                           false,
		"png-0123abcd/../../etc/passwd":         false,
		"png-0123abcd\x00":                      false,
		"":                                      false,
		"c++-0123abcd":                          false,
		"json-patch-" + strings.Repeat("0", 32): false,
	} {
		if got := service.ValidMediaID(id); got != want {
			t.Errorf("ValidMediaID(%q) = %v, want %v", id, got, want)
		}
	}
}
