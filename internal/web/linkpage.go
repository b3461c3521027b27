package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

// The hosted linking page: /ui/link/{token}, opened by a partner's
// customer without logging in. The signed token is the only credential;
// the page, its status poll and its pairing form each check it, and every
// refusal is the same 404 that says nothing about the channel. No token of
// the channel or the partner ever reaches the page.

type linkPageData struct {
	Title, Heading string
	Logo           string
	Color, Nonce   string
	Base           string // the page's own path
	Info           qrInfo
	Expires        string
	PairCode       string
	PairFor        string
	PairError      string
	Gone           string
}

const linkGone = "The link expired, was revoked or was already used. Ask for a new one."

// linkBase is the page's own path (the token as it came, path-escaped).
func linkBase(r *http.Request) string {
	return "/ui/link/" + url.PathEscape(r.PathValue("token"))
}

// linkPage shows the QR code (starting a login flow when none runs) and
// the pairing-code form.
func (h *Handler) linkPage(w http.ResponseWriter, r *http.Request) {
	lp, ch, err := h.svc.OpenLinkPage(r.Context(), r.PathValue("token"), service.LinkPageView)
	if err != nil {
		h.linkRefused(w, r, err)
		return
	}
	h.showLinkPage(w, r, lp, ch, "", "", "")
}

func (h *Handler) showLinkPage(w http.ResponseWriter, r *http.Request, lp model.LinkPage, ch model.Channel, code, phone, pairErr string) {
	hl := h.svc.Health(ch)
	if !ch.Linked() && ch.Running(h.svc.Now()) && code == "" {
		ctx, cancel := context.WithTimeout(r.Context(), qrWait)
		if got, err := h.svc.LoginQR(ctx, ch); err == nil {
			hl = got
		} else {
			h.log.InfoContext(r.Context(), "no QR code for a linking page", "channel_id", ch.ID, "error", err)
			hl = h.svc.Health(ch)
		}
		cancel()
	}
	d := h.linkPageData(r, lp)
	d.Info, d.PairCode, d.PairFor, d.PairError = h.qrInfoOf(ch, hl), code, phone, pairErr
	d.Expires = fmtUntil(h.svc.Now(), lp.ExpiresAt)
	h.renderPublic(w, r, http.StatusOK, d)
}

func (h *Handler) linkPageData(r *http.Request, lp model.LinkPage) linkPageData {
	d := linkPageData{Title: "Link your WhatsApp", Heading: "Link your WhatsApp", Base: linkBase(r),
		Logo: lp.BrandLogo, Color: lp.BrandColor}
	if lp.BrandName != "" {
		d.Title, d.Heading = lp.BrandName+": link your WhatsApp", lp.BrandName
	}
	return d
}

// linkState is the page's poll: the link state as JSON.
func (h *Handler) linkState(w http.ResponseWriter, r *http.Request) {
	_, ch, err := h.svc.OpenLinkPage(r.Context(), r.PathValue("token"), service.LinkPagePoll)
	if err != nil {
		status := http.StatusNotFound
		if !errors.Is(err, model.ErrNotFound) {
			h.log.ErrorContext(r.Context(), "linking page poll failed", "error", err)
			status = http.StatusInternalServerError
		}
		writeJSON(w, status, qrInfo{State: "error", Message: linkGone})
		return
	}
	writeJSON(w, http.StatusOK, h.qrInfoOf(ch, h.svc.Health(ch)))
}

// linkPair asks for a pairing code. The signed URL is the form's only
// credential (it is secret to the customer, so it also stands for a CSRF
// token).
func (h *Handler) linkPair(w http.ResponseWriter, r *http.Request) {
	lp, ch, err := h.svc.OpenLinkPage(r.Context(), r.PathValue("token"), service.LinkPageView)
	if err != nil {
		h.linkRefused(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.showLinkPage(w, r, lp, ch, "", "", "The form could not be read.")
		return
	}
	phone := strings.NewReplacer("+", "", " ", "", "-", "").Replace(strings.TrimSpace(r.PostFormValue("phone")))
	ctx, cancel := context.WithTimeout(r.Context(), qrWait)
	defer cancel()
	code, err := h.svc.PairCode(ctx, ch, phone)
	if err != nil {
		status, msg := h.describe(r, err)
		if status == http.StatusInternalServerError {
			h.log.ErrorContext(r.Context(), "linking page pairing code failed", "channel_id", ch.ID, "error", err)
		}
		h.showLinkPage(w, r, lp, ch, "", phone, msg)
		return
	}
	h.showLinkPage(w, r, lp, ch, groupCode(code), phone, "")
}

// linkRefused answers a link that does not work: 404, the same page
// whatever the reason.
func (h *Handler) linkRefused(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusNotFound
	if !errors.Is(err, model.ErrNotFound) {
		h.log.ErrorContext(r.Context(), "linking page failed", "error", err)
		status = http.StatusInternalServerError
	}
	h.renderPublic(w, r, status, linkPageData{Title: "Link not found", Heading: "Link your WhatsApp", Gone: linkGone})
}

// renderPublic writes the linking page. Its Content-Security-Policy allows
// the partner's logo (an https origin checked when the link was made) and
// the accent colour's style element (by nonce); nothing else is loosened.
func (h *Handler) renderPublic(w http.ResponseWriter, r *http.Request, status int, d linkPageData) {
	t := h.views.pages["public/linkpage"]
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	d.Nonce = base64.RawStdEncoding.EncodeToString(nonce)
	img := "'self' data:"
	if u, err := url.Parse(d.Logo); err == nil && u.Scheme == "https" && u.Host != "" {
		img += " https://" + u.Host
	} else {
		d.Logo = ""
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		h.log.ErrorContext(r.Context(), "linking page template failed", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-"+d.Nonce+"'; img-src "+img+"; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Robots-Tag", "noindex")
	hd.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
