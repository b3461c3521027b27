package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/wagate/wagate/internal/blob"
	"github.com/wagate/wagate/internal/store/storetest"
)

// conformance is what every backend must do.
func conformance(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := make([]byte, 2*1024*1024+512*1024) // over two database chunks
	_, _ = rand.Read(data)
	if err := s.Put(ctx, "CH-1/img.jpg", bytes.NewReader(data), int64(len(data)), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	obj, err := s.Open(ctx, "CH-1/img.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if obj.Size() != int64(len(data)) {
		t.Fatalf("size %d, want %d", obj.Size(), len(data))
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (%v), want the %d written", len(got), err, len(data))
	}
	// Seek into the second chunk and read across the third.
	off := int64(1024*1024 + 100)
	if pos, err := obj.Seek(off, io.SeekStart); err != nil || pos != off {
		t.Fatalf("seek: %d %v", pos, err)
	}
	part := make([]byte, 1024*1024)
	if _, err := io.ReadFull(obj, part); err != nil || !bytes.Equal(part, data[off:off+int64(len(part))]) {
		t.Fatalf("read after seek: %v", err)
	}
	if pos, err := obj.Seek(-10, io.SeekEnd); err != nil || pos != int64(len(data))-10 {
		t.Fatalf("seek from the end: %d %v", pos, err)
	}
	tail, _ := io.ReadAll(obj)
	if !bytes.Equal(tail, data[len(data)-10:]) {
		t.Fatal("tail differs")
	}
	_ = obj.Close()

	// Replaced.
	if err := s.Put(ctx, "CH-1/img.jpg", bytes.NewReader([]byte("small")), 5, "text/plain"); err != nil {
		t.Fatal(err)
	}
	obj, err = s.Open(ctx, "CH-1/img.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(obj); string(b) != "small" || obj.Size() != 5 {
		t.Fatalf("replaced: %q size %d", b, obj.Size())
	}
	obj.Close()

	// A reader that ends early stores nothing.
	if err := s.Put(ctx, "CH-1/short", bytes.NewReader([]byte("abc")), 10, ""); err == nil {
		t.Fatal("a short reader was accepted")
	}
	if _, err := s.Open(ctx, "CH-1/short"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("after a failed put: %v", err)
	}

	// Deleted; deleting again is fine; missing keys are ErrNotFound.
	if err := s.Delete(ctx, "CH-1/img.jpg"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "CH-1/img.jpg"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.Open(ctx, "CH-1/img.jpg"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestDir(t *testing.T) {
	root := t.TempDir()
	d := blob.NewDir(root)
	conformance(t, d)
	// A spooled file moves into place.
	tmp := filepath.Join(root, "spooled")
	if err := os.WriteFile(tmp, []byte("spooled bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.PutFile(context.Background(), "CH-3/f", tmp); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Error("the spooled file is still there")
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../b", ""} {
		if err := d.Put(context.Background(), bad, bytes.NewReader(nil), 0, ""); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}

func TestDatabase(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { conformance(t, blob.NewDatabase(storetest.Open(t, b))) })
	}
}

func TestS3(t *testing.T) {
	backend := s3mem.New()
	faker := gofakes3.New(backend)
	srv := httptest.NewServer(faker.Server())
	defer srv.Close()
	if err := backend.CreateBucket("media"); err != nil {
		t.Fatal(err)
	}
	o, err := blob.ParseS3URL("s3://key:secret@" + srv.Listener.Addr().String() + "/media/wagate?insecure=true&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if o.Bucket != "media" || o.Prefix != "wagate/" || o.AccessKey != "key" || !o.Insecure || !o.PathStyle {
		t.Fatalf("parsed %+v", o)
	}
	s, err := blob.NewS3(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	conformance(t, s)
	// Keys live under the prefix.
	if err := s.Put(context.Background(), "CH-9/x", bytes.NewReader([]byte("x")), 1, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.HeadObject("media", "wagate/CH-9/x"); err != nil {
		t.Errorf("object not under the prefix: %v", err)
	}
	o.Bucket = "nope"
	if _, err := blob.NewS3(context.Background(), o); err == nil {
		t.Error("a missing bucket was accepted")
	}
	for _, bad := range []string{"http://x/b", "s3://", "s3://host"} {
		if _, err := blob.ParseS3URL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
