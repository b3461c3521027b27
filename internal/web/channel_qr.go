package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
)

// qrWait bounds how long a page waits for a channel's first QR code.
const qrWait = 8 * time.Second

// qrInfo is the link state of a channel, for the QR page and its script.
type qrInfo struct {
	// State is linked, qr, waiting, timeout or stopped.
	State string `json:"state"`
	// Image is the QR code as a PNG data URI (state qr).
	Image template.URL `json:"image,omitempty"`
	// Code identifies the QR code, so the script replaces the image only
	// when it rotates.
	Code    string `json:"code,omitempty"`
	Expires int64  `json:"expires,omitempty"` // seconds left
	Phone   string `json:"phone,omitempty"`
	Name    string `json:"name,omitempty"`
	Message string `json:"message,omitempty"`
}

// qrInfoOf describes a channel's link state from its row and runtime.
func (h *Handler) qrInfoOf(ch model.Channel, hl runtime.Health) qrInfo {
	now := h.svc.Now()
	switch {
	case hl.Status == runtime.StatusAuth || (ch.Linked() && hl.Status != runtime.StatusQR):
		phone, name := hl.Phone, hl.Name
		if phone == "" {
			phone, name = ch.WAPhone, ch.WAName
		}
		return qrInfo{State: "linked", Phone: phone, Name: name}
	case !ch.Running(now):
		return qrInfo{State: "stopped", Message: "The channel is " + ch.Status(now) + ": extend or restart it before linking a phone."}
	case hl.QR != "":
		info := qrInfo{State: "qr", Code: hl.QR, Expires: int64(math.Max(1, math.Ceil(hl.QRExpires.Sub(now).Seconds())))}
		if png, err := qrcode.Encode(hl.QR, qrcode.Medium, 320); err == nil {
			info.Image = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)) //nolint:gosec // a PNG we drew
		}
		return info
	case hl.LoginTimedOut:
		return qrInfo{State: "timeout", Message: "No phone scanned the codes in time."}
	}
	return qrInfo{State: "waiting", Message: "Waiting for WhatsApp to issue a code…"}
}

type qrData struct {
	C        chanView
	Info     qrInfo
	PairCode string
	PairFor  string
	SimPhone string
}

// qrPage shows the QR code to link a phone (starting a login flow when
// none runs), with the pairing-code alternative. Its script refreshes the
// code as it rotates and switches to "linked" when a phone scanned it.
func (h *Handler) qrPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.channelOf(r, v)
	if err != nil {
		return err
	}
	h.showQR(w, r, v, ch, "", "")
	return nil
}

func (h *Handler) showQR(w http.ResponseWriter, r *http.Request, v *viewer, ch model.Channel, code, phone string) {
	hl := h.svc.Health(ch)
	if !ch.Linked() && ch.Running(h.svc.Now()) && code == "" {
		ctx, cancel := context.WithTimeout(r.Context(), qrWait)
		got, err := h.svc.LoginQR(ctx, ch)
		cancel()
		if err == nil {
			hl = got
		} else {
			h.log.InfoContext(r.Context(), "no QR code for the dashboard", "channel_id", ch.ID, "error", err)
			hl = h.svc.Health(ch)
		}
	}
	d := qrData{C: h.chanView(ch, h.svc.Now()), Info: h.qrInfoOf(ch, hl), PairCode: code, PairFor: phone, SimPhone: simNumber(ch.ID)}
	h.render(w, r, http.StatusOK, "qr", page{Title: "Link a phone to " + ch.Name, Nav: "channels", V: v, Data: d})
}

// qrState is the QR page's poll: the link state as JSON, without starting
// a login flow.
func (h *Handler) qrState(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.channelOf(r, v)
	if err != nil {
		status, msg := h.describe(r, err)
		writeJSON(w, status, qrInfo{State: "error", Message: msg})
		return nil
	}
	writeJSON(w, http.StatusOK, h.qrInfoOf(ch, h.svc.Health(ch)))
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	raw, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}

// pairCode asks WhatsApp for an 8-character code to type on the phone.
func (h *Handler) pairCode(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.channelOf(r, v)
	if err != nil {
		return err
	}
	phone := strings.NewReplacer("+", "", " ", "", "-", "").Replace(strings.TrimSpace(r.PostFormValue("phone")))
	ctx, cancel := context.WithTimeout(r.Context(), qrWait)
	defer cancel()
	code, err := h.svc.PairCode(ctx, ch, phone)
	if err != nil {
		return h.back(w, r, v, channelURL(ch.ID)+"/qr", err, "")
	}
	h.showQR(w, r, v, ch, groupCode(code), phone)
	return nil
}

// groupCode shows an 8-character pairing code as WhatsApp does: ABCD-EFGH.
func groupCode(code string) string {
	if len(code) == 8 && !strings.Contains(code, "-") {
		return code[:4] + "-" + code[4:]
	}
	return code
}
