package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
)

//go:embed static
var staticFiles embed.FS

// assets are the embedded static files, each served under a URL holding a
// checksum of its content, so browsers may cache them forever.
type assets struct {
	files map[string]asset
}

type asset struct {
	sum  string
	body []byte
	typ  string
}

func loadAssets() (*assets, error) {
	entries, err := fs.ReadDir(staticFiles, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	a := &assets{files: map[string]asset{}}
	for _, e := range entries {
		body, err := staticFiles.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("web: static %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(body)
		typ := mime.TypeByExtension(path.Ext(e.Name()))
		if typ == "" {
			typ = "application/octet-stream"
		}
		a.files[e.Name()] = asset{sum: hex.EncodeToString(sum[:])[:12], body: body, typ: typ}
	}
	return a, nil
}

// url is a file's fingerprinted URL; templates call it as {{asset "app.css"}}.
func (a *assets) url(name string) (string, error) {
	f, ok := a.files[name]
	if !ok {
		return "", fmt.Errorf("web: no static file %q", name)
	}
	return "/ui/static/" + f.sum + "/" + name, nil
}

// serve answers GET /ui/static/{sum}/{name}. Only the current checksum is
// served (cached for a year); an old one is 404, so no stale file is cached.
func (a *assets) serve(w http.ResponseWriter, r *http.Request) {
	f, ok := a.files[r.PathValue("name")]
	if !ok || f.sum != r.PathValue("sum") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.typ)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(f.body)
}
