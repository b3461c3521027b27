package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/service"
)

// actor is how the ledger names changes made in the dashboard.
const (
	partnerActor  = "partner-dashboard"
	operatorActor = "operator-dashboard"
)

// chanView is a channel as pages show it.
type chanView struct {
	model.Channel
	Status      string // active, stopped, expired
	Health      string // QR, AUTH, ...
	HealthError string
	Linked      bool
	InTrial     bool
	ActiveIn    string // "in 5 days"
	Uptime      string
	StartedAt   time.Time
}

func (h *Handler) chanView(ch model.Channel, now time.Time) chanView {
	hl := h.svc.Health(ch)
	cv := chanView{Channel: ch, Status: ch.Status(now), Health: hl.Status.String(), HealthError: hl.Error,
		Linked: ch.Linked(), InTrial: ch.Mode == model.ModeTrial && now.Before(ch.TrialUntil),
		ActiveIn: fmtUntil(now, ch.ActiveTill), StartedAt: hl.StartedAt}
	if hl.Status == runtime.StatusAuth && !hl.StartedAt.IsZero() {
		cv.Uptime = fmtUntil(hl.StartedAt, now)
		cv.Uptime = strings.TrimPrefix(cv.Uptime, "in ")
	}
	if cv.Health == "" {
		cv.Health = "NOT_INIT"
	}
	return cv
}

type dashboardData struct {
	Channels []chanView
	Total    int
	Ledger   []model.LedgerEntry
	APIURL   string
	// BalanceChart is the balance over time, from the ledger.
	BalanceChart template.HTML
}

// dashboard is the partner's start page: balance, "Add channel", the
// newest channels and balance changes.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	chs, total, err := h.svc.Channels(ctx, v.Partner.ID, "", service.Page{Count: 10})
	if err != nil {
		return err
	}
	led, _, err := h.svc.Ledger(ctx, v.Partner.ID, service.Page{Count: 5})
	if err != nil {
		return err
	}
	hist, err := h.svc.BalanceHistory(ctx, v.Partner.ID)
	if err != nil {
		return err
	}
	d := dashboardData{Total: total, Ledger: led, APIURL: h.svc.APIURL(), BalanceChart: balanceChart(hist)}
	now := h.svc.Now()
	for _, ch := range chs {
		d.Channels = append(d.Channels, h.chanView(ch, now))
	}
	h.render(w, r, http.StatusOK, "dashboard", page{Title: "Dashboard", Nav: "dashboard", V: v, Data: d})
	return nil
}

// createChannel is "Add channel": a trial channel, then its page to link it.
func (h *Handler) createChannel(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.svc.CreateChannel(r.Context(), v.Partner.ID, service.CreateChannelInput{
		Name: strings.TrimSpace(r.PostFormValue("name")), Phone: strings.TrimSpace(r.PostFormValue("phone")),
	})
	if err != nil {
		return h.back(w, r, v, "/ui/dashboard", err, "")
	}
	return h.back(w, r, v, "/ui/channels/"+url.PathEscape(ch.ID), nil,
		"Channel "+ch.ID+" created in trial mode, active until "+fmtDateTime(ch.ActiveTill)+". Link a phone to it with “Link phone”.")
}

type ledgerData struct {
	Entries []model.LedgerEntry
	Pager   pager
}

// ledgerPage is the partner's balance history.
func (h *Handler) ledgerPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	pg := pageOf(r, 50)
	entries, total, err := h.svc.Ledger(r.Context(), v.Partner.ID, pg.page())
	if err != nil {
		return err
	}
	pg.Total = total
	h.render(w, r, http.StatusOK, "ledger", page{Title: "Ledger", Nav: "ledger", V: v,
		Data: ledgerData{Entries: entries, Pager: pg}})
	return nil
}

// pager is one page of a list.
type pager struct {
	N, Size, Total int
	Base           string // the URL without page=
}

func pageOf(r *http.Request, size int) pager {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 || n > 100000 {
		n = 1
	}
	q := r.URL.Query()
	q.Del("page")
	base := r.URL.Path + "?"
	if enc := q.Encode(); enc != "" {
		base += enc + "&"
	}
	return pager{N: n, Size: size, Base: base}
}

func (p pager) page() service.Page { return service.Page{Count: p.Size, Offset: (p.N - 1) * p.Size} }

// Prev and Next are the neighbouring page numbers, 0 when there is none.
func (p pager) Prev() int {
	if p.N > 1 {
		return p.N - 1
	}
	return 0
}

// Next is the next page number, 0 on the last page.
func (p pager) Next() int {
	if p.N*p.Size < p.Total {
		return p.N + 1
	}
	return 0
}

// Pages is the number of pages.
func (p pager) Pages() int { return max(1, (p.Total+p.Size-1)/p.Size) }
