package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// Database keeps files in the database, in chunks (media_blobs and
// media_chunks): every node of a cluster reads what any node stored.
type Database struct{ st *store.Store }

// NewDatabase keeps files in st's database.
func NewDatabase(st *store.Store) *Database { return &Database{st: st} }

// Kind is "postgres" (or the store's dialect).
func (d *Database) Kind() string { return string(d.st.Dialect()) }

// Put stores the file.
func (d *Database) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	return d.st.PutBlob(ctx, key, r, size, contentType, time.Now())
}

// Open reads the file's header; its chunks are read as the reader reaches
// them.
func (d *Database) Open(ctx context.Context, key string) (Object, error) {
	b, err := d.st.BlobInfo(ctx, key)
	if errors.Is(err, model.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &chunkReader{st: d.st, ctx: context.WithoutCancel(ctx), key: key, size: b.Size, chunk: -1}, nil
}

// Delete removes the file.
func (d *Database) Delete(ctx context.Context, key string) error { return d.st.DeleteBlob(ctx, key) }

// chunkReader reads a stored file one chunk at a time.
type chunkReader struct {
	st    *store.Store
	ctx   context.Context
	key   string
	size  int64
	off   int64
	chunk int    // index of buf's chunk, -1: none
	buf   []byte // its bytes
}

func (c *chunkReader) Size() int64 { return c.size }

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.off >= c.size {
		return 0, io.EOF
	}
	idx := int(c.off / store.BlobChunk)
	if idx != c.chunk {
		ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
		data, err := c.st.BlobChunkAt(ctx, c.key, idx)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("blob: %s: %w", c.key, err)
		}
		c.chunk, c.buf = idx, data
	}
	in := int(c.off - int64(c.chunk)*store.BlobChunk)
	if in >= len(c.buf) {
		return 0, fmt.Errorf("blob: %s: chunk %d is short: %w", c.key, c.chunk, io.ErrUnexpectedEOF)
	}
	n := copy(p, c.buf[in:])
	c.off += int64(n)
	return n, nil
}

func (c *chunkReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = c.off + offset
	case io.SeekEnd:
		abs = c.size + offset
	default:
		return 0, errors.New("blob: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("blob: negative position")
	}
	c.off = abs
	return abs, nil
}

func (c *chunkReader) Close() error { c.buf = nil; return nil }
