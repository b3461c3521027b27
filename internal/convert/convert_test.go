package convert_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	_ "golang.org/x/image/webp"

	"github.com/wagate/wagate/internal/convert"
)

// needFFmpeg skips a test without ffmpeg, except in CI (.ci/run installs
// it), where it fails.
func needFFmpeg(t *testing.T) *convert.Converter {
	t.Helper()
	c := convert.New(convert.Options{})
	if !c.HasFFmpeg() {
		if os.Getenv("CI") != "" {
			t.Fatal("ffmpeg is not installed (CI installs it: apt-get install ffmpeg)")
		}
		t.Skip("ffmpeg is not installed")
	}
	return c
}

// Sample makes a file with ffmpeg's test sources (lavfi), e.g. a 440 Hz
// tone as MP3.
func sample(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("ffmpeg", append(append([]string{"-nostdin", "-loglevel", "error"}, args...), out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg sample: %v: %s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestVoiceFromMP3(t *testing.T) {
	c := needFFmpeg(t)
	// 1 s of silence, then 2 s of a tone: the waveform is flat, then loud.
	mp3 := sample(t, "in.mp3", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono:d=1", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
		"-filter_complex", "[0][1]concat=n=2:v=0:a=1")
	r, err := c.Voice(context.Background(), mp3)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(r.Data, []byte("OggS")) || !bytes.Contains(r.Data[:200], []byte("OpusHead")) || r.MimeType != convert.VoiceMimeType {
		t.Fatalf("not Opus in OGG: %q %q", r.MimeType, r.Data[:min(40, len(r.Data))])
	}
	if r.Seconds != 3 {
		t.Fatalf("seconds = %d, want 3", r.Seconds)
	}
	if len(r.Waveform) != 64 || r.Waveform[5] != 0 || r.Waveform[50] < 90 {
		t.Fatalf("waveform = %v", r.Waveform)
	}
	if s, ok := convert.OggOpusSeconds(r.Data); !ok || s != 3 {
		t.Fatalf("OggOpusSeconds = %d, %v", s, ok)
	}
}

func TestStickerFromPNG(t *testing.T) {
	c := needFFmpeg(t)
	img := image.NewNRGBA(image.Rect(0, 0, 300, 150))
	for x := range 300 {
		for y := range 150 {
			img.Set(x, y, color.NRGBA{R: 200, A: 255})
		}
	}
	var in bytes.Buffer
	if err := png.Encode(&in, img); err != nil {
		t.Fatal(err)
	}
	r, err := c.Sticker(context.Background(), in.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(r.Data))
	if err != nil || format != "webp" || cfg.Width != 512 || cfg.Height != 512 || r.MimeType != "image/webp" {
		t.Fatalf("sticker: %v %s %dx%d %s", err, format, cfg.Width, cfg.Height, r.MimeType)
	}
	// A 512x512 WebP is kept as it is.
	again, err := c.Sticker(context.Background(), r.Data)
	if err != nil || !bytes.Equal(again.Data, r.Data) {
		t.Fatalf("a WebP sticker was converted again: %v", err)
	}
}

func TestGIFToMP4(t *testing.T) {
	c := needFFmpeg(t)
	g := &gif.GIF{}
	pal := color.Palette{color.White, color.Black}
	for i := range 10 {
		fr := image.NewPaletted(image.Rect(0, 0, 64, 48), pal)
		fr.Set(i, i, color.Black)
		g.Image, g.Delay = append(g.Image, fr), append(g.Delay, 20) // 0.2 s each
	}
	var in bytes.Buffer
	if err := gif.EncodeAll(&in, g); err != nil {
		t.Fatal(err)
	}
	r, err := c.GIF(context.Background(), in.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if r.MimeType != "video/mp4" || !bytes.Contains(r.Data[:64], []byte("ftyp")) || r.Seconds != 2 || r.Width != 64 || r.Height != 48 {
		t.Fatalf("gif: %s %d s %dx%d", r.MimeType, r.Seconds, r.Width, r.Height)
	}
	if _, f, err := image.DecodeConfig(bytes.NewReader(r.Thumbnail)); err != nil || f != "jpeg" {
		t.Fatalf("thumbnail: %v %s", err, f)
	}
}

func TestVideoThumbnail(t *testing.T) {
	c := needFFmpeg(t)
	mp4 := sample(t, "in.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=3", "-c:v", "libx264", "-pix_fmt", "yuv420p")
	r, err := c.VideoThumbnail(context.Background(), mp4)
	if err != nil {
		t.Fatal(err)
	}
	cfg, f, err := image.DecodeConfig(bytes.NewReader(r.Thumbnail))
	if err != nil || f != "jpeg" || cfg.Width != 100 || cfg.Height != 75 || r.Width != 320 || r.Height != 240 || r.Seconds != 3 {
		t.Fatalf("thumb %v %s %dx%d; video %dx%d %d s", err, f, cfg.Width, cfg.Height, r.Width, r.Height, r.Seconds)
	}
}

func TestPictureThumbnail(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 400, 1000))
	var in bytes.Buffer
	if err := png.Encode(&in, img); err != nil {
		t.Fatal(err)
	}
	thumb, w, h, err := convert.Thumbnail(in.Bytes())
	if err != nil || w != 400 || h != 1000 {
		t.Fatalf("%v %dx%d", err, w, h)
	}
	cfg, f, err := image.DecodeConfig(bytes.NewReader(thumb))
	if err != nil || f != "jpeg" || cfg.Width != 40 || cfg.Height != 100 {
		t.Fatalf("thumb %v %s %dx%d", err, f, cfg.Width, cfg.Height)
	}
}

// A hostile file: garbage, a decompression bomb's header, and a
// conversion that hangs are bounded and refused with ErrBadInput.
func TestHostileFiles(t *testing.T) {
	c := needFFmpeg(t)
	ctx := context.Background()
	if _, err := c.Voice(ctx, []byte("this is not audio at all")); !errors.Is(err, convert.ErrBadInput) {
		t.Fatalf("garbage voice: %v", err)
	}
	// A PNG header claiming 100000 x 100000 pixels.
	bomb := &bytes.Buffer{}
	_ = png.Encode(bomb, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := bomb.Bytes()
	copy(b[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	if _, _, _, err := convert.Thumbnail(b); !errors.Is(err, convert.ErrBadInput) {
		t.Fatalf("bomb: %v", err)
	}
	// A conversion that cannot finish in its bound is killed on time.
	slow := convert.New(convert.Options{Timeout: 10 * time.Millisecond})
	long := sample(t, "long.gif", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=5")
	start := time.Now()
	if _, err := slow.GIF(ctx, long); !errors.Is(err, convert.ErrBadInput) {
		t.Fatalf("slow gif: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("the conversion ran %s past its bound", d)
	}
	// Memory: ffmpeg cannot even map itself into 16 MiB of address space;
	// the bound holds and the failure is the file's 4xx, not a crash.
	tiny := convert.New(convert.Options{Memory: 16 << 20})
	if _, err := tiny.Voice(ctx, sample(t, "m.mp3", "-f", "lavfi", "-i", "sine=duration=1")); !errors.Is(err, convert.ErrBadInput) {
		t.Fatalf("under a 16 MiB memory bound: %v", err)
	}
	// Over the input bound.
	small := convert.New(convert.Options{MaxInput: 10})
	if _, err := small.Voice(ctx, make([]byte, 11)); !errors.Is(err, convert.ErrBadInput) {
		t.Fatalf("over the input bound: %v", err)
	}
}

func TestWithoutFFmpeg(t *testing.T) {
	c := convert.New(convert.Options{FFmpeg: "off"})
	if _, err := c.Voice(context.Background(), []byte("x")); !errors.Is(err, convert.ErrNoFFmpeg) {
		t.Fatalf("voice: %v", err)
	}
	if _, err := c.Sticker(context.Background(), []byte("x")); !errors.Is(err, convert.ErrNoFFmpeg) {
		t.Fatalf("sticker: %v", err)
	}
}

func TestWaveform(t *testing.T) {
	pcm := make([]byte, 2*640)
	for i := 320; i < 640; i++ { // the second half: full scale
		pcm[2*i], pcm[2*i+1] = 0xff, 0x7f
	}
	w := convert.Waveform(pcm)
	if w[0] != 0 || w[31] != 0 || w[32] != 100 || w[63] != 100 {
		t.Fatalf("waveform = %v", w)
	}
}

// BenchmarkVoice converts 10 s of MP3 into a voice note (ffmpeg, one
// thread) with its waveform.
func BenchmarkVoice(b *testing.B) {
	c := convert.New(convert.Options{})
	if !c.HasFFmpeg() {
		b.Skip("ffmpeg is not installed")
	}
	out := filepath.Join(b.TempDir(), "in.mp3")
	if err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=10", out).Run(); err != nil {
		b.Fatal(err)
	}
	mp3, _ := os.ReadFile(out)
	b.ResetTimer()
	for range b.N {
		if _, err := c.Voice(context.Background(), mp3); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkThumbnail makes the thumbnail of a 1920x1080 PNG in Go.
func BenchmarkThumbnail(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 1920, 1080))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var in bytes.Buffer
	_ = png.Encode(&in, img)
	b.ResetTimer()
	for range b.N {
		if _, _, _, err := convert.Thumbnail(in.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}
