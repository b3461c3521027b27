package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Dir keeps files under a directory of the local disk.
type Dir struct{ root string }

// NewDir keeps files under root.
func NewDir(root string) *Dir { return &Dir{root: root} }

// Kind is "dir".
func (d *Dir) Kind() string { return "dir" }

// path maps a key to a file under the root, refusing keys that would leave
// it.
func (d *Dir) path(key string) (string, error) {
	clean := filepath.Clean("/" + key)
	if clean == "/" || strings.Contains(key, "..") || strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("blob: bad key %q", key)
	}
	return filepath.Join(d.root, clean), nil
}

// Put writes the file (to a temporary name, then renamed into place).
func (d *Dir) Put(ctx context.Context, key string, r io.Reader, size int64, _ string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	n, err := io.Copy(tmp, io.LimitReader(r, size))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = fmt.Errorf("read %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	_ = os.Chmod(tmp.Name(), 0o640)
	if err := os.Rename(tmp.Name(), p); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// PutFile moves a file of the same disk into place.
func (d *Dir) PutFile(ctx context.Context, key, path string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if err := os.Rename(path, p); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	_ = os.Chmod(p, 0o640)
	return nil
}

// Open opens the file.
func (d *Dir) Open(ctx context.Context, key string) (Object, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: %w", err)
	}
	return fileObject{File: f, size: st.Size()}, nil
}

// Delete removes the file.
func (d *Dir) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

type fileObject struct {
	*os.File
	size int64
}

func (f fileObject) Size() int64 { return f.size }
