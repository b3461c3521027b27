// Package blob keeps media files: in a directory (a single node's
// default), in the database (PostgreSQL, shared by a cluster's nodes) or in
// S3-compatible object storage. Keys are "<channel ID>/<media ID>".
package blob

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound: no file under the key.
var ErrNotFound = errors.New("blob: not found")

// Store keeps files by key.
type Store interface {
	// Put stores size bytes read from r under key, replacing what the key
	// held. Nothing is kept when r ends early.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Open reads a file (ErrNotFound when none); the caller closes it.
	Open(ctx context.Context, key string) (Object, error)
	// Delete removes a file; a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// Kind names the backend: dir, postgres or s3.
	Kind() string
}

// Object is an open file: read in order, or from any offset.
type Object interface {
	io.ReadSeekCloser
	// Size is the file's length in bytes.
	Size() int64
}

// FilePutter is a Store that can take a file on the local disk as it is
// (moved into place, not copied).
type FilePutter interface {
	PutFile(ctx context.Context, key, path string) error
}
