package partner

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

const actor = "partner-api"

func (h *handler) channel(ch model.Channel) apiutil.Channel {
	return apiutil.NewChannel(ch, h.svc.APIURL(), h.svc.Now())
}

type createChannelRequest struct {
	Name      string `json:"name"`
	ProjectID string `json:"projectId"`
	Phone     string `json:"phone"`
}

func (h *handler) createChannel(w http.ResponseWriter, r *http.Request) error {
	var req createChannelRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	ch, err := h.svc.CreateChannel(r.Context(), partnerOf(r).ID, service.CreateChannelInput{
		Name: req.Name, ProjectID: req.ProjectID, Phone: req.Phone,
	})
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, h.channel(ch))
	return nil
}

type channelList struct {
	Channels []apiutil.Channel `json:"channels"`
	Count    int               `json:"count"`
	Offset   int               `json:"offset"`
	Total    int               `json:"total"`
}

func (h *handler) listChannels(w http.ResponseWriter, r *http.Request) error {
	page, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	chs, total, err := h.svc.Channels(r.Context(), partnerOf(r).ID, r.PathValue("ProjectID"), page)
	if err != nil {
		return err
	}
	out := channelList{Channels: make([]apiutil.Channel, 0, len(chs)), Count: len(chs), Offset: page.Offset, Total: total}
	for _, ch := range chs {
		out.Channels = append(out.Channels, h.channel(ch))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) exportChannels(w http.ResponseWriter, r *http.Request) error {
	// Render fully before answering, so a failure mid-way is a clean error
	// and never a truncated file that looks complete.
	var buf bytes.Buffer
	if err := h.svc.ExportChannels(r.Context(), partnerOf(r).ID, &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="channels-`+h.svc.Now().Format("2006-01-02")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(buf.Bytes())
	return err
}

func (h *handler) getChannel(w http.ResponseWriter, r *http.Request) error {
	ch, hl, counters, err := h.svc.ChannelHealth(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, channelDetail{Channel: h.channel(ch), Connection: h.connection(ch, hl, counters)})
	return nil
}

type updateChannelRequest struct {
	Name      *string `json:"name"`
	Phone     *string `json:"phone"`
	ProjectID *string `json:"projectId"`
}

type channelResult struct {
	Success bool            `json:"success"`
	Channel apiutil.Channel `json:"channel"`
}

func (h *handler) updateChannel(w http.ResponseWriter, r *http.Request) error {
	var req updateChannelRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	ch, err := h.svc.UpdateChannel(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"), service.ChannelPatch{
		Name: req.Name, Phone: req.Phone, ProjectID: req.ProjectID,
	})
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, channelResult{Success: true, Channel: h.channel(ch)})
	return nil
}

type refundResult struct {
	Success      bool  `json:"success"`
	DaysRefunded int64 `json:"daysRefunded"`
}

func (h *handler) deleteChannel(w http.ResponseWriter, r *http.Request) error {
	days, err := h.svc.DeleteChannel(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"), actor)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, refundResult{Success: true, DaysRefunded: days})
	return nil
}

func (h *handler) startChannel(w http.ResponseWriter, r *http.Request) error {
	ch, err := h.svc.StartChannel(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, channelResult{Success: true, Channel: h.channel(ch)})
	return nil
}

type stopRequest struct {
	SaveDays bool `json:"saveDays"`
}

type stopResult struct {
	Success      bool            `json:"success"`
	DaysRefunded int64           `json:"daysRefunded"`
	Channel      apiutil.Channel `json:"channel"`
}

func (h *handler) stopChannel(w http.ResponseWriter, r *http.Request) error {
	var req stopRequest
	if err := httpx.DecodeStrict(r, &req, false); err != nil {
		return err
	}
	ch, days, err := h.svc.StopChannel(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"), req.SaveDays, actor)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, stopResult{Success: true, DaysRefunded: days, Channel: h.channel(ch)})
	return nil
}

func (h *handler) restartChannel(w http.ResponseWriter, r *http.Request) error {
	ch, err := h.svc.RestartChannel(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, channelResult{Success: true, Channel: h.channel(ch)})
	return nil
}

type extendRequest struct {
	Days     int64   `json:"days"`
	Comment  string  `json:"comment"`
	Amount   float64 `json:"amount"`   // accepted for compatibility; wagate bills in days only
	Currency string  `json:"currency"` // idem
}

type extendResult struct {
	Success    bool            `json:"success"`
	ActiveTill int64           `json:"activeTill"`
	Balance    int64           `json:"balance"`
	Channel    apiutil.Channel `json:"channel"`
}

func (h *handler) extendChannel(w http.ResponseWriter, r *http.Request) error {
	var req extendRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	res, err := h.svc.ExtendChannel(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"), req.Days, req.Comment, actor)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, extendResult{
		Success: true, ActiveTill: apiutil.Millis(res.Channel.ActiveTill), Balance: res.Balance, Channel: h.channel(res.Channel),
	})
	return nil
}

type modeRequest struct {
	Mode *string `json:"mode"`
}

func (h *handler) changeMode(w http.ResponseWriter, r *http.Request) error {
	var req modeRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	if req.Mode == nil {
		return httpx.Errorf(http.StatusBadRequest, "mode: is required (trial, dev or live)")
	}
	ch, err := h.svc.ChangeMode(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"), model.Mode(*req.Mode))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, channelResult{Success: true, Channel: h.channel(ch)})
	return nil
}

// logoutChannel unlinks the channel's WhatsApp account; ?force=true drops
// the session locally without talking to WhatsApp (hard unlink).
func (h *handler) logoutChannel(w http.ResponseWriter, r *http.Request) error {
	force := false
	if v := r.URL.Query().Get("force"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return httpx.Errorf(http.StatusBadRequest, "force: must be true or false")
		}
		force = b
	}
	if err := h.svc.LogoutChannel(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"), force); err != nil {
		return err
	}
	ch, err := h.svc.Channel(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, channelResult{Success: true, Channel: h.channel(ch)})
	return nil
}

type proxyRequest struct {
	Proxy string `json:"proxy"`
}

// changeProxy moves the channel to the given proxy, or to the next healthy
// one of the operator's pool; the channel reconnects through it.
func (h *handler) changeProxy(w http.ResponseWriter, r *http.Request) error {
	var req proxyRequest
	if err := httpx.DecodeStrict(r, &req, false); err != nil {
		return err
	}
	ch, err := h.svc.ChangeProxy(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"), req.Proxy)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, channelResult{Success: true, Channel: h.channel(ch)})
	return nil
}
