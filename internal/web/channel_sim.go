package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/model"
)

// errNoSim is the answer to the sim panel's forms on a real engine.
var errNoSim = fmt.Errorf("simulated phones exist only when the server runs with --engine sim: %w", model.ErrNotImplemented)

// simPhone makes sure a simulated phone with this number exists.
func (h *Handler) simPhone(number, name string) error {
	if name == "" {
		name = "Phone " + number[max(0, len(number)-4):]
	}
	_, err := h.sim.AddPhone(number, name)
	if errors.Is(err, sim.ErrPhoneExists) {
		return nil
	}
	return simError(err)
}

// simError makes the network's errors readable.
func simError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", strings.TrimPrefix(err.Error(), "sim: "), model.ErrConflict)
}

func simNumberOf(r *http.Request) (string, error) {
	n := strings.NewReplacer("+", "", " ", "", "-", "").Replace(strings.TrimSpace(r.PostFormValue("phone")))
	if len(n) < 7 || len(n) > 15 || strings.Trim(n, "0123456789") != "" {
		return "", fmt.Errorf("phone number: must be 7-15 digits: %w", model.ErrInvalid)
	}
	return n, nil
}

// simLink has a simulated phone scan the channel's current QR code.
func (h *Handler) simLink(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.channelOf(r, v)
	if err != nil {
		return err
	}
	to := returnTo(r, ch.ID)
	if h.sim == nil {
		return h.back(w, r, v, to, errNoSim, "")
	}
	number, err := simNumberOf(r)
	if err != nil {
		return h.back(w, r, v, to, err, "")
	}
	if err := h.simPhone(number, strings.TrimSpace(r.PostFormValue("name"))); err != nil {
		return h.back(w, r, v, to, err, "")
	}
	ctx, cancel := context.WithTimeout(r.Context(), qrWait)
	defer cancel()
	hl, err := h.svc.LoginQR(ctx, ch)
	if err != nil {
		return h.back(w, r, v, to, err, "")
	}
	if _, err := h.sim.LinkQR(number, hl.QR); err != nil {
		return h.back(w, r, v, to, simError(err), "")
	}
	return h.back(w, r, v, to, nil, "The simulated phone +"+number+" scanned the QR code of channel "+ch.ID+".")
}

// simMessage sends a text from a simulated phone to the channel's number.
func (h *Handler) simMessage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ch, err := h.channelOf(r, v)
	if err != nil {
		return err
	}
	to := returnTo(r, ch.ID)
	if h.sim == nil {
		return h.back(w, r, v, to, errNoSim, "")
	}
	if !ch.Linked() || ch.WAPhone == "" {
		return h.back(w, r, v, to, model.ErrNotLoggedIn, "")
	}
	number, err := simNumberOf(r)
	if err != nil {
		return h.back(w, r, v, to, err, "")
	}
	body := strings.TrimSpace(r.PostFormValue("body"))
	if body == "" {
		return h.back(w, r, v, to, fmt.Errorf("message: is required: %w", model.ErrInvalid), "")
	}
	if err := h.simPhone(number, ""); err != nil {
		return h.back(w, r, v, to, err, "")
	}
	if _, err := h.sim.SendFromPhone(number, ch.WAPhone, body); err != nil {
		return h.back(w, r, v, to, simError(err), "")
	}
	return h.back(w, r, v, to, nil, "+"+number+" sent “"+body+"” to the channel's number +"+ch.WAPhone+".")
}
