package web

import (
	"net/http"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
)

// channelOf loads the channel named in the path, if it is the partner's.
func (h *Handler) channelOf(r *http.Request, v *viewer) (model.Channel, error) {
	return h.svc.Channel(r.Context(), v.Partner.ID, r.PathValue("id"))
}

// channelURL is a channel's page.
func channelURL(id string) string { return "/ui/channels/" + id }

type channelData struct {
	C      chanView
	APIURL string
	Modes  []modeOption
	// SimPhone is a suggested number for the simulated phone.
	SimPhone string
	// Projects are where the channel may move.
	Projects []store.ProjectInfo
}

type modeOption struct {
	Value, Label string
	Current      bool
}

func modeOptions(cur model.Mode) []modeOption {
	var out []modeOption
	for _, m := range []model.Mode{model.ModeTrial, model.ModeDev, model.ModeLive} {
		out = append(out, modeOption{Value: string(m), Label: m.BillingLabel(), Current: m == cur})
	}
	return out
}

// channelPage shows one channel with its controls.
func (h *Handler) channelPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.channelOf(r, v)
	if err != nil {
		return err
	}
	projects, _, err := h.svc.Projects(r.Context(), v.Partner.ID, service.Page{Count: 500})
	if err != nil {
		return err
	}
	d := channelData{C: h.chanView(ch, h.svc.Now()), APIURL: h.svc.APIURL(), Modes: modeOptions(ch.Mode),
		SimPhone: simNumber(ch.ID), Projects: projects}
	h.render(w, r, http.StatusOK, "channel", page{Title: ch.Name, Nav: "channels", V: v, Data: d})
	return nil
}

type statusData struct {
	C      chanView
	H      runtime.Health
	Engine string
	Now    time.Time
	// Counters of what WhatsApp did to the channel.
	Undecryptable, ReachoutRefused store.Counter
}

// statusPage is "Status": the channel's health, as GET /health reports it.
func (h *Handler) statusPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.channelOf(r, v)
	if err != nil {
		return err
	}
	ch, hl, counters, err := h.svc.ChannelHealth(r.Context(), v.Partner.ID, ch.ID)
	if err != nil {
		return err
	}
	now := h.svc.Now()
	d := statusData{C: h.chanView(ch, now), H: hl, Engine: h.svc.EngineName(), Now: now,
		Undecryptable: counters[store.CounterUndecryptable], ReachoutRefused: counters[store.CounterReachoutRefused]}
	h.render(w, r, http.StatusOK, "status", page{Title: "Status of " + ch.Name, Nav: "channels", V: v, Data: d})
	return nil
}

// simNumber is a stable made-up number for a channel's simulated phone.
func simNumber(channelID string) string {
	n := uint32(2166136261)
	for i := 0; i < len(channelID); i++ {
		n = (n ^ uint32(channelID[i])) * 16777619
	}
	const digits = "0123456789"
	out := []byte("1555")
	for range 7 {
		out = append(out, digits[n%10])
		n /= 10
	}
	return string(out)
}
