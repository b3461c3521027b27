package service

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// Spooled is a file received in a request, written to disk as it arrives
// instead of held in memory: an upload takes a few buffers of memory
// whatever its size, and its bytes are read into memory only when a send
// needs them (once, at their exact size). Close removes it.
type Spooled struct {
	path   string
	size   int64
	sum    string
	head   []byte // the first bytes, to sniff the type
	closed bool
}

// Size is the file's length in bytes.
func (f *Spooled) Size() int64 { return f.size }

// Bytes reads the whole file.
func (f *Spooled) Bytes() ([]byte, error) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("read spooled file: %w", err)
	}
	return data, nil
}

// Close removes the file; it may be called more than once.
func (f *Spooled) Close() error {
	if f == nil || f.closed {
		return nil
	}
	f.closed = true
	if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// spoolDir is where files being received are written: inside the media
// directory, so a stored upload is moved into place, never copied.
func (s *Service) spoolDir() (string, error) {
	dir := os.TempDir()
	if s.mediaDir != "" {
		dir = filepath.Join(s.mediaDir, ".spool")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("spool dir: %w", err)
	}
	return dir, nil
}

// Spool copies r to a file on disk, at most limit bytes: more is
// model.ErrTooLarge (nothing is kept). what names the file in that error.
func (s *Service) Spool(r io.Reader, limit int64, what string) (*Spooled, error) {
	dir, err := s.spoolDir()
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	f := &Spooled{path: tmp.Name()}
	h := sha256.New()
	hw := &headWriter{h: h, max: 512}
	n, err := io.Copy(io.MultiWriter(tmp, hw), io.LimitReader(r, limit+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = f.Close()
		var tb *http.MaxBytesError
		if errors.As(err, &tb) {
			return nil, err // the request's own limit: the caller says it
		}
		if errors.Is(err, model.ErrInvalid) || errors.Is(err, model.ErrTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("spool: %w", err)
	}
	if n > limit {
		_ = f.Close()
		return nil, fmt.Errorf("%s is over %d bytes: %w", what, limit, model.ErrTooLarge)
	}
	f.size, f.sum, f.head = n, hex.EncodeToString(h.Sum(nil)), hw.head
	return f, nil
}

// headWriter hashes what passes and keeps its first max bytes.
type headWriter struct {
	h    hash.Hash
	head []byte
	max  int
}

func (w *headWriter) Write(p []byte) (int, error) {
	if n := w.max - len(w.head); n > 0 {
		w.head = append(w.head, p[:min(n, len(p))]...)
	}
	return w.h.Write(p)
}

// cleanSpool removes spooled files older than age: what a request that
// ended without closing its upload (a crash) left behind.
func (s *Service) cleanSpool(age time.Duration) {
	if s.mediaDir == "" {
		return
	}
	dir := filepath.Join(s.mediaDir, ".spool")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > age {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
