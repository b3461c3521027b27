package web

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wagate/wagate/internal/service"
)

// auditRow is one audit entry as the page shows it.
type auditRow struct {
	At, ActorKind, ActorID, IP string
	PartnerID, ChannelID       string
	Action, Target             string
	Before, After              string
}

type auditData struct {
	Rows []auditRow
	// The filters as given, to fill the form again.
	Actor, ActorID, Partner, Channel, Action, From, To string
	// Older links to the next page back ("" on the last one).
	Older string
	Kinds []string
}

// auditPageSize is how many entries a page of the audit log shows.
const auditPageSize = 50

// auditPage shows the audit log, filtered by the form's fields (GET):
// actor kind and ID, partner, channel, action (or a prefix ending in "."),
// from and to (dates, UTC; to included), paged back with before.
func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	f := r.URL.Query()
	d := auditData{Actor: f.Get("actor"), ActorID: f.Get("actor_id"), Partner: f.Get("partner"), Channel: f.Get("channel"),
		Action: f.Get("action"), From: f.Get("from"), To: f.Get("to"), Kinds: []string{"operator", "partner", "channel", "system"}}
	q := service.AuditQuery{ActorKind: d.Actor, ActorID: d.ActorID, PartnerID: d.Partner, ChannelID: d.Channel, Action: d.Action,
		Limit: auditPageSize}
	var bad string
	if d.From != "" {
		t, err := time.Parse(time.DateOnly, d.From)
		if err != nil {
			bad = "From: give a date (YYYY-MM-DD)."
		}
		q.From = t
	}
	if d.To != "" {
		t, err := time.Parse(time.DateOnly, d.To)
		if err != nil {
			bad = "To: give a date (YYYY-MM-DD)."
		}
		q.To = t.AddDate(0, 0, 1) // the whole day
	}
	if b := f.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			bad = "That page of the log does not exist."
		}
		q.Before = n
	}
	if bad != "" {
		h.render(w, r, http.StatusBadRequest, "audit", page{Title: "Audit log", Nav: "audit", V: v, Data: d,
			Flash: &flash{Kind: "error", Msg: bad}})
		return nil
	}
	entries, more, err := h.svc.AuditLog(r.Context(), q)
	if err != nil {
		return err
	}
	for _, e := range entries {
		d.Rows = append(d.Rows, auditRow{At: fmtDateTime(e.At), ActorKind: e.Actor.Kind, ActorID: e.Actor.ID, IP: e.Actor.IP,
			PartnerID: e.PartnerID, ChannelID: e.ChannelID, Action: e.Action, Target: e.Target,
			Before: string(e.Before), After: string(e.After)})
	}
	if more && len(entries) > 0 {
		next := url.Values{}
		for k, vs := range f {
			if k != "before" && len(vs) > 0 && vs[0] != "" {
				next.Set(k, vs[0])
			}
		}
		next.Set("before", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		d.Older = "/ui/admin/audit?" + next.Encode()
	}
	h.render(w, r, http.StatusOK, "audit", page{Title: "Audit log", Nav: "audit", V: v, Data: d})
	return nil
}
