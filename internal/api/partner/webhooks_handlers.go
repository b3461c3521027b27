package partner

import (
	"net/http"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
)

// attempt is one HTTP attempt of a delivery on the wire.
type attempt struct {
	N          int    `json:"n"`
	At         int64  `json:"at"`
	Status     int    `json:"status,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// delivery is a webhook delivery on the wire (times in ms).
type delivery struct {
	ID            string    `json:"id"`
	EventID       string    `json:"event_id"`
	Event         string    `json:"event"`
	URL           string    `json:"url"`
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts"`
	CreatedAt     int64     `json:"created_at"`
	NextAttemptAt int64     `json:"next_attempt_at,omitempty"`
	DeliveredAt   int64     `json:"delivered_at,omitempty"`
	LastStatus    int       `json:"last_status,omitempty"`
	LastError     string    `json:"last_error,omitempty"`
	AttemptLog    []attempt `json:"attempt_log"`
}

func newDelivery(e model.WebhookLogEntry) delivery {
	d := e.Delivery
	out := delivery{ID: d.ID, EventID: d.EventID, Event: d.Event(), URL: d.Target.URL, Status: d.Status, Attempts: d.Attempts,
		CreatedAt: apiutil.Millis(d.CreatedAt), LastStatus: d.LastStatus, LastError: d.LastError, AttemptLog: []attempt{}}
	if !d.NextAttemptAt.IsZero() && d.Status == model.DeliveryPending {
		out.NextAttemptAt = apiutil.Millis(d.NextAttemptAt)
	}
	if !d.DeliveredAt.IsZero() {
		out.DeliveredAt = apiutil.Millis(d.DeliveredAt)
	}
	for _, a := range e.Attempts {
		out.AttemptLog = append(out.AttemptLog, attempt{N: a.N, At: apiutil.Millis(a.At), Status: a.Status, Error: a.Error, DurationMS: a.Duration.Milliseconds()})
	}
	return out
}

type deliveryList struct {
	Deliveries []delivery `json:"deliveries"`
	Count      int        `json:"count"`
	Offset     int        `json:"offset"`
	Total      int        `json:"total"`
}

func (h *handler) webhookLog(w http.ResponseWriter, r *http.Request) error {
	page, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	list, total, err := h.svc.WebhookLog(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"), r.URL.Query().Get("status"), page)
	if err != nil {
		return err
	}
	out := deliveryList{Deliveries: make([]delivery, 0, len(list)), Count: len(list), Offset: page.Offset, Total: total}
	for _, e := range list {
		out.Deliveries = append(out.Deliveries, newDelivery(e))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

type redelivered struct {
	Success  bool     `json:"success"`
	Delivery delivery `json:"delivery"`
}

func (h *handler) redeliver(w http.ResponseWriter, r *http.Request) error {
	e, err := h.svc.Redeliver(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"), r.PathValue("DeliveryID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, redelivered{Success: true, Delivery: newDelivery(e)})
	return nil
}
