package app

import (
	"context"
	"path/filepath"

	"github.com/wagate/wagate/internal/blob"
	"github.com/wagate/wagate/internal/store"
)

// openMedia opens where media files are kept (WAGATE_MEDIA_STORE): the
// data dir on SQLite, the database on PostgreSQL (every node of a cluster
// reads what any node stored), or S3-compatible object storage.
func (s *Server) openMedia(ctx context.Context) (blob.Store, string, error) {
	dir := ""
	if s.cfg.DataDir != "" {
		dir = filepath.Join(s.cfg.DataDir, "media")
	}
	kind := s.cfg.MediaStore
	if kind == "" {
		kind = "dir"
		if s.store.Dialect() == store.Postgres {
			kind = "database"
		}
	}
	switch kind {
	case "dir":
		if dir == "" {
			return nil, dir, nil
		}
		if s.clusterOn() {
			s.log.Warn("media files are kept in this node's data dir: other nodes of a cluster cannot read them; set WAGATE_MEDIA_STORE=database or an s3:// URL unless the data dir is shared")
		}
		return blob.NewDir(dir), dir, nil
	case "database":
		return blob.NewDatabase(s.store), dir, nil
	}
	o, err := blob.ParseS3URL(kind)
	if err != nil {
		return nil, dir, err
	}
	if o.AccessKey == "" {
		o.AccessKey, o.Secret = s.cfg.S3AccessKey, s.cfg.S3SecretKey
	}
	st, err := blob.NewS3(ctx, o)
	return st, dir, err
}
