package gate

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"image/color"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/skip2/go-qrcode"

	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/runtime"
)

// qrStyle is how a QR code is drawn.
type qrStyle struct {
	size        int
	light, dark color.Color
}

// parseQRStyle reads ?size= (or width/height) in pixels (64-2048, default
// 512) and ?color_light= / ?color_dark= as hex RGB.
func parseQRStyle(r *http.Request) (qrStyle, error) {
	st := qrStyle{size: 512, light: color.White, dark: color.Black}
	q := r.URL.Query()
	for _, name := range []string{"size", "width", "height"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < 64 || n > 2048 || math.IsNaN(n) {
			return st, httpx.Errorf(http.StatusBadRequest, "%s: must be a number of pixels from 64 to 2048", name)
		}
		st.size = int(n)
		break
	}
	for name, dst := range map[string]*color.Color{"color_light": &st.light, "color_dark": &st.dark} {
		v := strings.TrimPrefix(q.Get(name), "#")
		if v == "" {
			continue
		}
		b, err := hex.DecodeString(v)
		if err != nil || len(b) != 3 {
			return st, httpx.Errorf(http.StatusBadRequest, "%s: must be a hex RGB color like ffffff", name)
		}
		*dst = color.RGBA{R: b[0], G: b[1], B: b[2], A: 255}
	}
	return st, nil
}

// png draws code as a PNG.
func (st qrStyle) png(code string) ([]byte, error) {
	q, err := qrcode.New(code, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	q.BackgroundColor, q.ForegroundColor = st.light, st.dark
	return q.PNG(st.size)
}

type qrResponse struct {
	Status  string `json:"status"`
	Base64  string `json:"base64,omitempty"`
	Rowdata string `json:"rowdata,omitempty"`
	Expire  int64  `json:"expire,omitempty"`
}

// currentQR returns the channel's QR: it starts a login flow when wakeup is
// on (waiting for the first code), or reports the state without starting one.
func (h *handler) currentQR(r *http.Request) (runtime.Health, string, error) {
	wake, err := wakeup(r)
	if err != nil {
		return runtime.Health{}, "", err
	}
	ch := channelOf(r)
	if !wake {
		if ch.Linked() {
			_, err := h.svc.LoginQR(r.Context(), ch) // reports "already authenticated"
			return runtime.Health{}, "", err
		}
		st := h.svc.Health(ch)
		switch {
		case st.QR != "":
			return st, "OK", nil
		case st.LoginTimedOut:
			return st, "TIMEOUT", nil
		}
		return st, "WAITING", nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.qrWait)
	defer cancel()
	st, err := h.svc.LoginQR(ctx, ch)
	if err != nil {
		return st, "", err
	}
	return st, "OK", nil
}

func (h *handler) expire(st runtime.Health) int64 {
	secs := int64(math.Ceil(st.QRExpires.Sub(h.svc.Now()).Seconds()))
	return max(secs, 1)
}

func (h *handler) loginJSON(w http.ResponseWriter, r *http.Request) error {
	style, err := parseQRStyle(r)
	if err != nil {
		return err
	}
	st, state, err := h.currentQR(r)
	if err != nil {
		return err
	}
	out := qrResponse{Status: state}
	if state == "OK" {
		img, err := style.png(st.QR)
		if err != nil {
			return httpx.Errorf(http.StatusUnprocessableEntity, "could not render the QR code: %v", err)
		}
		out.Base64 = "data:image/png;base64," + base64.StdEncoding.EncodeToString(img)
		out.Rowdata = st.QR
		out.Expire = h.expire(st)
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) loginRowdata(w http.ResponseWriter, r *http.Request) error {
	st, state, err := h.currentQR(r)
	if err != nil {
		return err
	}
	out := qrResponse{Status: state}
	if state == "OK" {
		out.Rowdata, out.Expire = st.QR, h.expire(st)
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) loginImage(w http.ResponseWriter, r *http.Request) error {
	style, err := parseQRStyle(r)
	if err != nil {
		return err
	}
	st, state, err := h.currentQR(r)
	if err != nil {
		return err
	}
	if state != "OK" {
		return httpx.Errorf(http.StatusConflict, "no QR code to show (login state %s); call again with wakeup=true", state)
	}
	img, err := style.png(st.QR)
	if err != nil {
		return httpx.Errorf(http.StatusUnprocessableEntity, "could not render the QR code: %v", err)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-QR-Expire", strconv.FormatInt(h.expire(st), 10))
	_, err = w.Write(img)
	return err
}

type authCode struct {
	Code string `json:"code"`
}

func (h *handler) pairCode(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), h.qrWait)
	defer cancel()
	code, err := h.svc.PairCode(ctx, channelOf(r), r.PathValue("PhoneNumber"))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, authCode{Code: code})
	return nil
}

type success struct {
	Success bool `json:"success"`
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.Logout(r.Context(), channelOf(r), false); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}
