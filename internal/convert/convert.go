// Package convert turns files into what WhatsApp's apps play: voice notes
// into Opus in OGG with their length and waveform, stickers into 512x512
// WebP, GIFs into MP4, and small JPEG previews (thumbnails) of pictures
// and videos.
//
// Pictures are decoded and scaled in Go (image/jpeg, image/png,
// golang.org/x/image for WebP and scaling). Audio, video and WebP encoding
// go through ffmpeg (Debian's package), run as a child process bounded in
// time (the context, killed on expiry), memory (an address-space limit,
// one thread) and output size, with the input read from a file of at most
// MaxInput bytes. Without ffmpeg, what needs it fails with ErrNoFFmpeg
// (and thumbnails of videos are left out).
//
// PDF documents get no thumbnail: rendering a PDF needs a PDF engine
// (poppler, MuPDF), which ffmpeg is not, and no well-kept pure-Go renderer
// exists; a renderer that parses hostile PDFs in-process is a risk the
// preview is not worth.
package convert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Errors.
var (
	// ErrNoFFmpeg: the conversion needs ffmpeg, which is not installed (or
	// turned off).
	ErrNoFFmpeg = errors.New("convert: this conversion needs ffmpeg, which is not installed on the server (Debian/Ubuntu: apt-get install ffmpeg)")
	// ErrBadInput: the file could not be converted (not what it claims,
	// corrupt, too long, or its conversion took too long or too much
	// memory).
	ErrBadInput = errors.New("convert: the file could not be converted")
)

// Defaults of Options.
const (
	DefaultTimeout  = 60 * time.Second
	DefaultMaxInput = 64 << 20
	// DefaultMemory is the address space ffmpeg may map.
	DefaultMemory = 2 << 30
	// maxOutput bounds what ffmpeg writes (-fs).
	maxOutput = 64 << 20
	// maxSeconds bounds the length of converted audio and video.
	maxSeconds = 2 * 60 * 60
)

// Options configure a Converter.
type Options struct {
	// FFmpeg is the ffmpeg binary; "" looks "ffmpeg" up in PATH; "off"
	// turns ffmpeg conversions off.
	FFmpeg string
	// Timeout bounds one ffmpeg run (60 s).
	Timeout time.Duration
	// MaxInput bounds an input file (64 MiB).
	MaxInput int64
	// Memory bounds the address space of ffmpeg, in bytes (2 GiB).
	Memory int64
	// Parallel bounds concurrent ffmpeg runs (2).
	Parallel int
}

// Converter converts files. It is safe for concurrent use.
type Converter struct {
	ffmpeg  string
	timeout time.Duration
	maxIn   int64
	memory  int64
	slots   chan struct{}
}

// New returns a converter.
func New(o Options) *Converter {
	c := &Converter{timeout: o.Timeout, maxIn: o.MaxInput, memory: o.Memory}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxIn <= 0 {
		c.maxIn = DefaultMaxInput
	}
	if c.memory <= 0 {
		c.memory = DefaultMemory
	}
	n := o.Parallel
	if n <= 0 {
		n = 2
	}
	c.slots = make(chan struct{}, n)
	switch o.FFmpeg {
	case "off":
	case "":
		if p, err := exec.LookPath("ffmpeg"); err == nil {
			c.ffmpeg = p
		}
	default:
		if p, err := exec.LookPath(o.FFmpeg); err == nil {
			c.ffmpeg = p
		}
	}
	return c
}

// HasFFmpeg reports whether ffmpeg conversions are available.
func (c *Converter) HasFFmpeg() bool { return c.ffmpeg != "" }

// Result is a converted file and what was learned about it.
type Result struct {
	Data     []byte
	MimeType string
	Seconds  int
	Width    int
	Height   int
	// Waveform is a voice note's 64 loudness samples, 0 to 100.
	Waveform []byte
	// Thumbnail is a small JPEG preview.
	Thumbnail []byte
}

// run runs ffmpeg on an input file in a temporary directory with args
// (the input is "in", outputs are named by the caller, relative to the
// directory) and returns the directory (the caller removes it) and what
// ffmpeg logged.
func (c *Converter) run(ctx context.Context, input []byte, args ...string) (dir string, stderr string, err error) {
	if c.ffmpeg == "" {
		return "", "", ErrNoFFmpeg
	}
	if int64(len(input)) > c.maxIn {
		return "", "", fmt.Errorf("%w: the file is %d bytes, over %d", ErrBadInput, len(input), c.maxIn)
	}
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
	dir, err = os.MkdirTemp("", "wagate-convert-")
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "in"), input, 0o600); err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	full := append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
		"-filter_threads", "1", "-i", "in"}, args...)
	// ulimit -v bounds ffmpeg's memory; exec keeps its PID, so the
	// context's kill reaches ffmpeg itself.
	kb := strconv.FormatInt(c.memory/1024, 10)
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", `ulimit -v ` + kb + ` 2>/dev/null; exec "$@"`, "sh", c.ffmpeg}, full...)...)
	if _, err := os.Stat("/bin/sh"); err != nil {
		cmd = exec.CommandContext(ctx, c.ffmpeg, full...)
	}
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	cmd.WaitDelay = 5 * time.Second
	var errBuf limitedBuffer
	errBuf.max = 4096
	cmd.Stderr = &errBuf
	err = cmd.Run()
	stderr = strings.TrimSpace(errBuf.String())
	if ctx.Err() == context.DeadlineExceeded {
		os.RemoveAll(dir)
		return "", stderr, fmt.Errorf("%w: converting took longer than %s", ErrBadInput, c.timeout)
	}
	if err != nil {
		os.RemoveAll(dir)
		if pe := ctxErr(ctx); pe != nil {
			return "", stderr, pe
		}
		return "", stderr, fmt.Errorf("%w: %s", ErrBadInput, lastLine(stderr))
	}
	return dir, stderr, nil
}

func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// lastLine is the last line ffmpeg logged, shortened (it names what was
// wrong with the file).
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return "ffmpeg failed"
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.ToValidUTF8(s, "?")
}

// limitedBuffer keeps the first max bytes written.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// readOut reads an output file ffmpeg wrote.
func readOut(dir, name string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil || len(data) == 0 {
		return nil, fmt.Errorf("%w: ffmpeg wrote no %s", ErrBadInput, name)
	}
	return data, nil
}
