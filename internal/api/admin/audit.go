package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/service"
)

// AuditEntry is one audit log entry as the operator API shows it.
type AuditEntry struct {
	ID        int64           `json:"id"`
	At        int64           `json:"at"`
	Actor     AuditActor      `json:"actor"`
	PartnerID string          `json:"partner_id,omitempty"`
	ChannelID string          `json:"channel_id,omitempty"`
	Action    string          `json:"action"`
	Target    string          `json:"target,omitempty"`
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
}

// AuditActor is who made a change.
type AuditActor struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
	IP   string `json:"ip,omitempty"`
}

type auditPage struct {
	Entries []AuditEntry `json:"entries"`
	Count   int          `json:"count"`
	// NextBefore is the before= of the next (older) page; absent on the
	// last page.
	NextBefore *int64 `json:"next_before,omitempty"`
}

// NewAuditEntry shows an entry.
func NewAuditEntry(e audit.Entry) AuditEntry {
	return AuditEntry{ID: e.ID, At: apiutil.Millis(e.At), Actor: AuditActor{Kind: e.Actor.Kind, ID: e.Actor.ID, IP: e.Actor.IP},
		PartnerID: e.PartnerID, ChannelID: e.ChannelID, Action: e.Action, Target: e.Target, Before: e.Before, After: e.After}
}

// ParseAuditQuery reads the audit log's filters: actor, actor_id,
// partner, channel, action (exact, or a prefix ending in "." or "*"),
// from and to (epoch milliseconds, to excluded), before (an entry ID:
// older entries only) and count (1..500, default 100).
func ParseAuditQuery(r *http.Request) (service.AuditQuery, error) {
	q := r.URL.Query()
	aq := service.AuditQuery{ActorKind: q.Get("actor"), ActorID: q.Get("actor_id"), PartnerID: q.Get("partner"),
		ChannelID: q.Get("channel"), Action: q.Get("action"), Limit: 100}
	num := func(name string, min int64) (int64, error) {
		v := q.Get(name)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min {
			return 0, httpx.Errorf(http.StatusBadRequest, "%s: must be a whole number, %d or more", name, min)
		}
		return n, nil
	}
	var err error
	var from, to, count int64
	if from, err = num("from", 0); err != nil {
		return aq, err
	}
	if to, err = num("to", 0); err != nil {
		return aq, err
	}
	if aq.Before, err = num("before", 1); err != nil {
		return aq, err
	}
	if count, err = num("count", 1); err != nil {
		return aq, err
	}
	if count > apiutil.MaxPage {
		return aq, httpx.Errorf(http.StatusBadRequest, "count: must be a whole number from 1 to %d", apiutil.MaxPage)
	}
	if count > 0 {
		aq.Limit = int(count)
	}
	if from > 0 {
		aq.From = time.UnixMilli(from)
	}
	if to > 0 {
		aq.To = time.UnixMilli(to)
	}
	return aq, nil
}

func (h *handler) auditLog(w http.ResponseWriter, r *http.Request) error {
	q, err := ParseAuditQuery(r)
	if err != nil {
		return err
	}
	entries, more, err := h.svc.AuditLog(r.Context(), q)
	if err != nil {
		return err
	}
	out := auditPage{Entries: make([]AuditEntry, len(entries)), Count: len(entries)}
	for i, e := range entries {
		out.Entries[i] = NewAuditEntry(e)
	}
	if more && len(entries) > 0 {
		next := entries[len(entries)-1].ID
		out.NextBefore = &next
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}
