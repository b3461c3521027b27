// Package partner is the partner API under /partner: channels, projects,
// billing and partner settings, with paths and shapes as in Whapi's partner
// API. Every route acts as the partner that owns the bearer token.
package partner

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

type handler struct {
	svc *service.Service
	log *slog.Logger
}

type ctxKey int

const partnerKey ctxKey = iota

// partnerOf returns the authenticated partner; the auth middleware put it there.
func partnerOf(r *http.Request) model.Partner {
	p, _ := r.Context().Value(partnerKey).(model.Partner)
	return p
}

// NewHandler returns the partner API. Its routes start with /partner.
func NewHandler(svc *service.Service, log *slog.Logger) http.Handler {
	h := &handler{svc: svc, log: log}
	mux := http.NewServeMux()
	// Every partner request body is a few fields.
	route := func(pattern string, fn httpx.HandlerFunc) {
		mux.Handle(pattern, httpx.LimitBody(log, httpx.Limit(httpx.SmallBody), httpx.Handle(log, fn)))
	}
	// Calls that create a channel or move days honor Idempotency-Key.
	scope := func(r *http.Request) string { return "partner:" + partnerOf(r).ID }
	idempotent := func(pattern string, fn httpx.HandlerFunc) {
		mux.Handle(pattern, httpx.LimitBody(log, httpx.Limit(httpx.SmallBody),
			apiutil.Idempotent(svc, log, scope, httpx.Handle(log, fn))))
	}

	idempotent("PUT /partner/channels", h.createChannel)
	route("GET /partner/channels/list", h.listChannels)
	route("GET /partner/channels/list/{ProjectID}", h.listChannels)
	route("GET /partner/channels/export", h.exportChannels)
	route("GET /partner/channels/{ChannelID}", h.getChannel)
	route("PATCH /partner/channels/{ChannelID}", h.updateChannel)
	idempotent("DELETE /partner/channels/{ChannelID}", h.deleteChannel)
	idempotent("POST /partner/channels/{ChannelID}/start", h.startChannel)
	idempotent("POST /partner/channels/{ChannelID}/stop", h.stopChannel)
	route("POST /partner/channels/{ChannelID}/restart", h.restartChannel)
	idempotent("POST /partner/channels/{ChannelID}/extend", h.extendChannel)
	idempotent("PATCH /partner/channels/{ChannelID}/mode", h.changeMode)
	route("POST /partner/channels/{ChannelID}/logout", h.logoutChannel)
	route("POST /partner/channels/{ChannelID}/proxy", h.changeProxy)
	route("POST /partner/channels/{ChannelID}/link-page", h.createLinkPage)
	route("DELETE /partner/channels/{ChannelID}/link-page/{LinkPageID}", h.revokeLinkPage)
	route("GET /partner/channels/{ChannelID}/webhooks/log", h.webhookLog)
	route("POST /partner/channels/{ChannelID}/webhooks/log/{DeliveryID}/redeliver", h.redeliver)

	route("GET /partner/projects", h.listProjects)
	route("PUT /partner/projects", h.createProject)
	route("GET /partner/projects/{ProjectID}", h.getProject)
	route("PATCH /partner/projects/{ProjectID}", h.updateProject)
	route("DELETE /partner/projects/{ProjectID}", h.deleteProject)

	route("GET /partner/partners", h.me)
	route("GET /partner/partners/{PartnerName}/settings", h.getSettings)
	route("PATCH /partner/partners/{PartnerName}/settings", h.updateSettings)
	route("GET /partner/ledger", h.ledger)

	return apiutil.Authenticate(log, "partner", svc.AuthenticatePartner, func(ctx context.Context, v model.Partner) context.Context {
		ctx = audit.WithActor(ctx, audit.Actor{Kind: audit.ActorPartner, ID: v.ID})
		return context.WithValue(ctx, partnerKey, v)
	})(httpx.JSONMux(mux, log, "partner API"))
}

type success struct {
	Success bool `json:"success"`
}
