package web

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
)

type channelsData struct {
	Query    string
	Filter   service.ChannelQuery
	Expires  string // the "expires within" days as typed
	Projects []store.ProjectInfo
	Filtered bool
	Found    *chanView
	NotFound bool
	Channels []chanView
	Pager    pager
	APIURL   string
}

// channelsPage is "Partner -> Channels": a search by channel ID whose
// result (active until, mode, token, controls) shows above the list of
// all the partner's channels.
func (h *Handler) channelsPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	now := h.svc.Now()
	d := channelsData{Query: strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("id"))), APIURL: h.svc.APIURL()}
	if d.Query != "" {
		ch, err := h.svc.Channel(ctx, v.Partner.ID, d.Query)
		switch {
		case errors.Is(err, model.ErrNotFound):
			d.NotFound = true
		case err != nil:
			return err
		default:
			cv := h.chanView(ch, now)
			d.Found = &cv
		}
	}
	q := r.URL.Query()
	d.Filter = service.ChannelQuery{Status: q.Get("status"), Mode: q.Get("mode"), ProjectID: q.Get("project"), Sort: q.Get("sort")}
	if d.Expires = strings.TrimSpace(q.Get("expires")); d.Expires != "" {
		n, err := strconv.Atoi(d.Expires)
		if err != nil {
			n = -1 // refused below with the field's message
		}
		d.Filter.ExpiresWithinDays = n
	}
	d.Filtered = d.Filter != (service.ChannelQuery{})
	size := 50
	if n, err := strconv.Atoi(q.Get("size")); err == nil && (n == 100 || n == 200) {
		size = n
	}
	d.Pager = pageOf(r, size)
	var err error
	if d.Projects, _, err = h.svc.Projects(ctx, v.Partner.ID, service.Page{Count: 500}); err != nil {
		return err
	}
	chs, total, err := h.svc.FilterChannels(ctx, v.Partner.ID, d.Filter, d.Pager.page())
	if err != nil {
		return err
	}
	d.Pager.Total = total
	for _, ch := range chs {
		d.Channels = append(d.Channels, h.chanView(ch, now))
	}
	status := http.StatusOK
	if d.NotFound {
		status = http.StatusNotFound
	}
	h.render(w, r, status, "channels", page{Title: "Channels", Nav: "channels", V: v, Data: d})
	return nil
}

// exportChannels downloads the CSV of all the partner's channels (the
// same file as GET /partner/channels/export).
func (h *Handler) exportChannels(w http.ResponseWriter, r *http.Request, v *viewer) error {
	var buf bytes.Buffer
	if err := h.svc.ExportChannels(r.Context(), v.Partner.ID, &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="channels-`+h.svc.Now().Format("2006-01-02")+`.csv"`)
	_, err := w.Write(buf.Bytes())
	return err
}
