package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options name an S3-compatible bucket.
type S3Options struct {
	// Endpoint is host[:port] (no scheme); Insecure uses plain HTTP.
	Endpoint string
	Insecure bool
	Region   string
	Bucket   string
	// Prefix is put before every key ("" or ending with "/").
	Prefix            string
	AccessKey, Secret string
	// PathStyle addresses the bucket in the path (MinIO, most
	// S3-compatible servers) rather than in the host name.
	PathStyle bool
	// Transport replaces the HTTP transport (tests).
	Transport http.RoundTripper
}

// S3 keeps files in an S3-compatible bucket (minio-go: one well-kept
// client for AWS S3, MinIO, Ceph, R2 and the like).
type S3 struct {
	c      *minio.Client
	bucket string
	prefix string
}

// ParseS3URL reads s3://ACCESS:SECRET@host:port/bucket/prefix?region=...&insecure=true&path_style=true
// (credentials may come from the environment instead, through the caller).
func ParseS3URL(raw string) (S3Options, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return S3Options{}, fmt.Errorf("blob: S3 store %q: want s3://[key:secret@]host[:port]/bucket[/prefix]", redactS3(raw))
	}
	path := strings.Trim(u.Path, "/")
	bucket, prefix, _ := strings.Cut(path, "/")
	if bucket == "" {
		return S3Options{}, fmt.Errorf("blob: S3 store %q: no bucket", redactS3(raw))
	}
	if prefix != "" {
		prefix += "/"
	}
	o := S3Options{Endpoint: u.Host, Bucket: bucket, Prefix: prefix, Region: u.Query().Get("region"),
		Insecure: u.Query().Get("insecure") == "true", PathStyle: u.Query().Get("path_style") != "false"}
	if u.User != nil {
		o.AccessKey = u.User.Username()
		o.Secret, _ = u.User.Password()
	}
	return o, nil
}

// redactS3 hides the secret of an s3:// URL.
func redactS3(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = url.User(u.User.Username())
	return u.String()
}

// NewS3 connects to a bucket (it checks that the bucket exists).
func NewS3(ctx context.Context, o S3Options) (*S3, error) {
	lookup := minio.BucketLookupDNS
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(o.AccessKey, o.Secret, ""), Secure: !o.Insecure, Region: o.Region,
		BucketLookup: lookup, Transport: o.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: S3 client: %w", err)
	}
	ok, err := c.BucketExists(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob: S3 bucket %s at %s: %w", o.Bucket, o.Endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("blob: S3 bucket %s does not exist at %s", o.Bucket, o.Endpoint)
	}
	return &S3{c: c, bucket: o.Bucket, prefix: o.Prefix}, nil
}

// Kind is "s3".
func (s *S3) Kind() string { return "s3" }

// Put uploads the file.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	_, err := s.c.PutObject(ctx, s.bucket, s.prefix+key, r, size, minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("blob: S3 put %s: %w", key, err)
	}
	return nil
}

// Open reads the file; bytes are fetched as the reader reaches them.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	obj, err := s.c.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("blob: S3 get %s: %w", key, err)
	}
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && (resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("blob: S3 stat %s: %w", key, err)
	}
	return s3Object{Object: obj, size: st.Size}, nil
}

// Delete removes the file.
func (s *S3) Delete(ctx context.Context, key string) error {
	err := s.c.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{})
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && resp.Code == "NoSuchKey" {
			return nil
		}
		return fmt.Errorf("blob: S3 delete %s: %w", key, err)
	}
	return nil
}

type s3Object struct {
	*minio.Object
	size int64
}

func (o s3Object) Size() int64 { return o.size }
