// Package gate is the channel's own API (channel token): health, login by QR
// code or pairing code, logout, profile, settings and limits, with the paths
// and shapes of Whapi's gate API.
package gate

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/wire"
)

// APIVersion is the version of Whapi's gate API these endpoints follow.
const APIVersion = wire.APIVersion

type handler struct {
	svc     *service.Service
	log     *slog.Logger
	version string
	// qrWait bounds how long a login request waits for the first QR code.
	qrWait time.Duration
}

type ctxKey int

const channelKey ctxKey = iota

func channelOf(r *http.Request) model.Channel {
	ch, _ := r.Context().Value(channelKey).(model.Channel)
	return ch
}

// Prefixes are the path prefixes the gate API serves; the app routes them here.
var Prefixes = []string{"/health", "/users/", "/settings", "/settings/", "/limits", "/messages/", "/chats", "/chats/",
	"/media", "/media/", "/groups", "/groups/", "/contacts", "/contacts/", "/presences/",
	"/status", "/blacklist", "/blacklist/",
	"/stories", "/stories/", "/statuses/", "/newsletters", "/newsletters/", "/communities", "/communities/",
	"/calls", "/calls/", "/business", "/business/", "/labels", "/labels/"}

// NewHandler returns the gate API. version is wagate's, shown by /health.
func NewHandler(svc *service.Service, log *slog.Logger, version string) http.Handler {
	h := &handler{svc: svc, log: log, version: version, qrWait: 20 * time.Second}
	mux := http.NewServeMux()
	route := func(pattern string, running bool, fn httpx.HandlerFunc) {
		if running {
			fn = h.running(fn)
		}
		if pattern != "GET /health" && pattern != "GET /limits" {
			fn = h.counted(fn)
		}
		mux.Handle(pattern, httpx.LimitBody(log, bodyLimit(pattern), httpx.Handle(log, fn)))
	}
	route("GET /health", false, h.health)
	route("GET /users/login", true, h.loginJSON)
	route("GET /users/login/image", true, h.loginImage)
	route("GET /users/login/rowdata", true, h.loginRowdata)
	route("GET /users/login/{PhoneNumber}", true, h.pairCode)
	route("POST /users/logout", true, h.logout)
	route("GET /users/profile", true, h.profile)
	route("PATCH /users/profile", true, h.updateProfile)
	route("GET /settings", false, h.getSettings)
	route("PATCH /settings", false, h.updateSettings)
	route("DELETE /settings", false, h.resetSettings)
	route("GET /settings/events", false, h.events)
	route("POST /settings/webhook_test", false, h.webhookTest)
	route("GET /limits", false, h.limits)
	h.messageRoutes(route)
	h.directoryRoutes(route)
	h.extraRoutes(route)
	h.storyRoutes(route)      // stories.go
	h.newsletterRoutes(route) // newsletters.go
	h.communityRoutes(route)  // communities.go
	h.callRoutes(route)       // calls.go
	h.businessRoutes(route)   // business.go
	h.labelRoutes(route)      // labels.go
	return apiutil.Authenticate(log, "channel", svc.AuthenticateChannel, func(ctx context.Context, v model.Channel) context.Context {
		ctx = audit.WithActor(ctx, audit.Actor{Kind: audit.ActorChannel, ID: v.ID})
		return context.WithValue(ctx, channelKey, v)
	})(httpx.JSONMux(mux, log, "gate API"))
}

// running refuses calls on a channel out of days (402) or stopped (409).
func (h *handler) running(fn httpx.HandlerFunc) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := h.svc.CheckRunning(channelOf(r)); err != nil {
			return err
		}
		return fn(w, r)
	}
}

// counted counts the request against a trial or Sandbox channel's monthly
// requests (402 beyond; /health and /limits are free).
func (h *handler) counted(fn httpx.HandlerFunc) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := h.svc.UseLimit(r.Context(), channelOf(r), service.LimitRequests, 1); err != nil {
			return err
		}
		return fn(w, r)
	}
}

// wakeup reads ?wakeup= (default true).
func wakeup(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("wakeup")
	if v == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, httpx.Errorf(http.StatusBadRequest, "wakeup: must be true or false")
	}
	return b, nil
}

func (h *handler) health(w http.ResponseWriter, r *http.Request) error {
	wake, err := wakeup(r)
	if err != nil {
		return err
	}
	ch := channelOf(r)
	if wake {
		h.svc.Wakeup(r.Context(), ch)
	}
	out := wire.NewHealth(ch.ID, h.svc.Health(ch), wire.Server{Version: h.version, Engine: h.svc.EngineName()}, h.svc.Now())
	httpx.JSON(w, http.StatusOK, out)
	return nil
}
