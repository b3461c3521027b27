package gate

import (
	"net/http"
	"strings"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/service"
)

// listBody bounds a body with a list of up to about a thousand IDs or
// numbers (contacts to check, group participants).
const listBody = 256 << 10

// bodyLimit is the largest body a gate operation reads, sized to what it
// can accept: a few fields (httpx.SmallBody) unless it takes a file, a
// list, or webhooks with their headers. Bodies past it are refused (413)
// before they are read.
func bodyLimit(pattern string) httpx.LimitFunc {
	switch pattern {
	case "PATCH /settings":
		return httpx.Limit(httpx.MaxBodyBytes) // 10 webhooks with 20 headers of 4 KiB
	case "POST /settings/webhook_test":
		return httpx.Limit(listBody)
	case "POST /contacts", "POST /groups", "POST /groups/{GroupID}/{Sub}", "DELETE /groups/{GroupID}/participants",
		"PATCH /groups/{GroupID}/admins", "DELETE /groups/{GroupID}/admins":
		return httpx.Limit(listBody)
	case "PATCH /users/profile": // an icon as base64
		return httpx.Limit((service.MaxGroupIconSize+2)/3*4 + httpx.SmallBody)
	case "PUT /groups/{GroupID}/icon":
		return httpx.Limit(maxIconBody)
	case "POST /messages/{MessageID}/{Sub}": // POST /messages/media/{MediaMessageType}: the file itself
		return func(r *http.Request) int64 {
			if r.PathValue("MessageID") != "media" {
				return httpx.SmallBody
			}
			return service.MediaLimit(r.PathValue("Sub")) + httpx.SmallBody
		}
	case "POST /media":
		return httpx.Limit(service.MaxMediaSize + httpx.SmallBody)
	case "POST /messages/contact":
		return httpx.Limit(listBody) // a vCard of up to 10,000 characters
	case "POST /messages/contact_list":
		return httpx.Limit(httpx.MaxBodyBytes) // up to 100 vCards
	case "POST /messages/link_preview":
		return httpx.Limit(httpx.MaxBodyBytes) // with a preview picture
	}
	if l, ok := storyBodyLimit(pattern); ok { // stories.go
		return l
	}
	if l, ok := businessBodyLimit(pattern); ok { // business.go
		return l
	}
	if kind, ok := strings.CutPrefix(pattern, "POST /messages/"); ok && engine.IsMedia(kind) {
		return mediaBodyLimit(kind)
	}
	return httpx.Limit(httpx.SmallBody)
}
