package gate

import (
	"net/http"
	"time"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/wire"
)

type chatList struct {
	Chats  []wire.Chat `json:"chats"`
	Count  int         `json:"count"`
	Total  int         `json:"total"`
	Offset int         `json:"offset"`
}

func (h *handler) listChats(w http.ResponseWriter, r *http.Request) error {
	page, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	list, total, err := h.svc.Chats(r.Context(), channelOf(r), page)
	if err != nil {
		return err
	}
	last := h.svc.ChatLastMessages(r.Context(), list)
	labels := h.svc.ChatLabels(r.Context(), channelOf(r), list)
	out := chatList{Chats: make([]wire.Chat, 0, len(list)), Count: len(list), Total: total, Offset: page.Offset}
	now := h.svc.Now()
	for _, c := range list {
		var lm *model.Message
		if m, ok := last[c.ID]; ok {
			lm = &m
		}
		wc := wire.NewChat(c, lm, now)
		wc.Labels = wire.NewLabels(labels[c.ID])
		out.Chats = append(out.Chats, wc)
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) getChat(w http.ResponseWriter, r *http.Request) error {
	c, last, err := h.svc.Chat(r.Context(), channelOf(r), r.PathValue("ChatID"))
	if err != nil {
		return err
	}
	wc := wire.NewChat(c, last, h.svc.Now())
	wc.Labels = wire.NewLabels(h.svc.ChatLabels(r.Context(), channelOf(r), []model.Chat{c})[c.ID])
	httpx.JSON(w, http.StatusOK, wc)
	return nil
}

func (h *handler) deleteChat(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteChat(r.Context(), channelOf(r), r.PathValue("ChatID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) archiveChat(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Archive *bool `json:"archive"`
	}
	if err := httpx.Decode(r, &b, true); err != nil {
		return err
	}
	if b.Archive == nil {
		return httpx.Errorf(http.StatusBadRequest, "archive: is required (true or false)")
	}
	if _, err := h.svc.UpdateChat(r.Context(), channelOf(r), r.PathValue("ChatID"), service.ChatPatch{Archive: b.Archive}); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}

func (h *handler) patchChat(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Pin        *bool   `json:"pin"`
		MuteUntil  *int64  `json:"mute_until"`
		MarkUnread *bool   `json:"mark_unread"`
		Ephemeral  *string `json:"ephemeral"`
	}
	if err := httpx.Decode(r, &b, true); err != nil {
		return err
	}
	if b.Ephemeral != nil {
		if err := h.svc.SetChatEphemeral(r.Context(), channelOf(r), r.PathValue("ChatID"), *b.Ephemeral); err != nil {
			return err
		}
		if b.Pin == nil && b.MuteUntil == nil && b.MarkUnread == nil {
			httpx.JSON(w, http.StatusOK, success{Success: true})
			return nil
		}
	}
	p := service.ChatPatch{Pin: b.Pin}
	if b.MarkUnread != nil {
		read := !*b.MarkUnread
		p.Read = &read
	}
	if b.MuteUntil != nil {
		mute := *b.MuteUntil != 0
		p.Mute = &mute
		if mute {
			if *b.MuteUntil < 0 {
				return httpx.Errorf(http.StatusBadRequest, "mute_until: must be a Unix time in milliseconds, or 0 to unmute")
			}
			t := time.UnixMilli(*b.MuteUntil).UTC()
			p.MuteUntil = &t
		}
	}
	if _, err := h.svc.UpdateChat(r.Context(), channelOf(r), r.PathValue("ChatID"), p); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}
