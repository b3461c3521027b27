package partner

import (
	"net/http"

	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

// me answers GET /partner/partners: the calling partner with its balance.
func (h *handler) me(w http.ResponseWriter, r *http.Request) error {
	httpx.JSON(w, http.StatusOK, apiutil.NewPartner(partnerOf(r)))
	return nil
}

// ownName checks that {PartnerName} is the caller: a partner sees only its
// own settings.
func ownName(r *http.Request) error {
	if r.PathValue("PartnerName") != partnerOf(r).Name {
		return httpx.Errorf(http.StatusForbidden, "a partner token can only read and change its own partner settings")
	}
	return nil
}

type settings struct {
	Webhooks  []model.PartnerWebhook `json:"webhooks"`
	DaysLimit int64                  `json:"days_limit"`
}

func newSettings(s model.PartnerSettings) settings {
	if s.Webhooks == nil {
		s.Webhooks = []model.PartnerWebhook{}
	}
	return settings{Webhooks: s.Webhooks, DaysLimit: s.EffectiveDaysLimit()}
}

func (h *handler) getSettings(w http.ResponseWriter, r *http.Request) error {
	if err := ownName(r); err != nil {
		return err
	}
	s, err := h.svc.PartnerSettings(r.Context(), partnerOf(r).ID)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, newSettings(s.Redacted()))
	return nil
}

type settingsResult struct {
	Success  bool     `json:"success"`
	Settings settings `json:"settings"`
}

func (h *handler) updateSettings(w http.ResponseWriter, r *http.Request) error {
	if err := ownName(r); err != nil {
		return err
	}
	var req service.PartnerSettingsPatch
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	s, err := h.svc.UpdatePartnerSettings(r.Context(), partnerOf(r).ID, req)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, settingsResult{Success: true, Settings: newSettings(s.Redacted())})
	return nil
}

func (h *handler) ledger(w http.ResponseWriter, r *http.Request) error {
	page, err := apiutil.ParsePage(r)
	if err != nil {
		return err
	}
	entries, total, err := h.svc.Ledger(r.Context(), partnerOf(r).ID, page)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, apiutil.LedgerPage{Entries: apiutil.NewLedger(entries), Count: len(entries), Offset: page.Offset, Total: total})
	return nil
}
