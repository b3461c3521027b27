package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// BlobChunk is the most bytes one row of media_chunks holds.
const BlobChunk = 1 << 20

// Blob is a stored file's header.
type Blob struct {
	Key         string
	Size        int64
	ContentType string
	CreatedAt   time.Time
}

// PutBlob stores r (size bytes) under key in chunks, replacing what the
// key held. Reading fewer than size bytes is an error and stores nothing.
func (s *Store) PutBlob(ctx context.Context, key string, r io.Reader, size int64, contentType string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM media_blobs WHERE key = ?"), key); err != nil {
			return fmt.Errorf("store: put blob: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO media_blobs (key, size, content_type, created_at) VALUES (?, ?, ?, ?)"),
			key, size, contentType, ms(at)); err != nil {
			return fmt.Errorf("store: put blob: %w", err)
		}
		buf := make([]byte, min(size, BlobChunk))
		var done int64
		for seq := 0; done < size; seq++ {
			n, err := io.ReadFull(r, buf[:min(int64(len(buf)), size-done)])
			if err != nil {
				return fmt.Errorf("store: put blob %s: read %d of %d bytes: %w", key, done+int64(n), size, err)
			}
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO media_chunks (key, seq, data) VALUES (?, ?, ?)"), key, seq, buf[:n]); err != nil {
				return fmt.Errorf("store: put blob chunk: %w", err)
			}
			done += int64(n)
		}
		return nil
	})
}

// BlobInfo reads a blob's header (model.ErrNotFound when none).
func (s *Store) BlobInfo(ctx context.Context, key string) (Blob, error) {
	b := Blob{Key: key}
	var at int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT size, content_type, created_at FROM media_blobs WHERE key = ?"), key).Scan(&b.Size, &b.ContentType, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return b, fmt.Errorf("blob %s: %w", key, model.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("store: blob info: %w", err)
	}
	b.CreatedAt = fromMS(at)
	return b, nil
}

// BlobChunkAt reads chunk seq of a blob.
func (s *Store) BlobChunkAt(ctx context.Context, key string, seq int) ([]byte, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, s.q("SELECT data FROM media_chunks WHERE key = ? AND seq = ?"), key, seq).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("blob %s chunk %d: %w", key, seq, model.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: blob chunk: %w", err)
	}
	return data, nil
}

// DeleteBlob removes a blob (nothing when it does not exist).
func (s *Store) DeleteBlob(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, "DELETE FROM media_blobs WHERE key = ?", key); err != nil {
		return fmt.Errorf("store: delete blob: %w", err)
	}
	return nil
}
