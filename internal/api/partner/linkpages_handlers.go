package partner

import (
	"net/http"
	"time"

	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/service"
)

type linkPageBranding struct {
	Name    string `json:"name"`
	LogoURL string `json:"logoUrl"`
	Color   string `json:"color"`
}

type createLinkPageRequest struct {
	TTL           int64             `json:"ttl"` // seconds
	KeepAfterLink bool              `json:"keepAfterLink"`
	Branding      *linkPageBranding `json:"branding"`
}

type linkPage struct {
	ID            string            `json:"id"`
	ChannelID     string            `json:"channelId"`
	URL           string            `json:"url"`
	ExpiresAt     int64             `json:"expiresAt"` // Unix seconds
	KeepAfterLink bool              `json:"keepAfterLink"`
	Branding      *linkPageBranding `json:"branding,omitempty"`
}

func newLinkPage(p service.IssuedLinkPage) linkPage {
	out := linkPage{ID: p.ID, ChannelID: p.ChannelID, URL: p.URL, ExpiresAt: p.ExpiresAt.Unix(), KeepAfterLink: p.KeepAfterLink}
	if b := (linkPageBranding{Name: p.BrandName, LogoURL: p.BrandLogo, Color: p.BrandColor}); b != (linkPageBranding{}) {
		out.Branding = &b
	}
	return out
}

// createLinkPage issues a hosted linking page for the channel: a signed URL
// its customer opens, without a token, to link a phone.
func (h *handler) createLinkPage(w http.ResponseWriter, r *http.Request) error {
	var req createLinkPageRequest
	if err := httpx.DecodeStrict(r, &req, false); err != nil {
		return err
	}
	if req.TTL < 0 {
		return httpx.Errorf(http.StatusBadRequest, "ttl: must be a positive number of seconds")
	}
	in := service.LinkPageInput{TTL: time.Duration(req.TTL) * time.Second, KeepAfterLink: req.KeepAfterLink}
	if b := req.Branding; b != nil {
		in.Name, in.LogoURL, in.Color = b.Name, b.LogoURL, b.Color
	}
	p, err := h.svc.CreateLinkPage(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"), in)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusCreated, newLinkPage(p))
	return nil
}

// revokeLinkPage revokes one linking page: it answers 404 from then on.
func (h *handler) revokeLinkPage(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.RevokeLinkPage(r.Context(), partnerOf(r).ID, r.PathValue("ChannelID"), r.PathValue("LinkPageID")); err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, success{Success: true})
	return nil
}
