// Package apiutil holds what the JSON API surfaces share: paging parameters
// and the wire shapes of partners and channels.
package apiutil

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wagate/wagate/internal/billing"
	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

// MaxPage is the largest count a list accepts.
const MaxPage = 500

// ParsePage reads ?count= (1..500, default 100) and ?offset= (>= 0).
func ParsePage(r *http.Request) (service.Page, error) {
	p := service.Page{Count: 100}
	q := r.URL.Query()
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPage {
			return p, httpx.Errorf(http.StatusBadRequest, "count: must be a whole number from 1 to %d", MaxPage)
		}
		p.Count = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, httpx.Errorf(http.StatusBadRequest, "offset: must be a whole number, 0 or more")
		}
		p.Offset = n
	}
	return p, nil
}

// Millis is a time as epoch milliseconds, the partner API's time format.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// Channel is a channel as the partner API shows it.
type Channel struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	ProjectID  string `json:"projectId"`
	OwnerID    string `json:"ownerId"`
	Token      string `json:"token,omitempty"` // empty only in webhooks
	APIURL     string `json:"apiUrl"`
	Server     int    `json:"server"`
	Phone      string `json:"phone"`
	Mode       string `json:"mode"`
	Status     string `json:"status"`
	Stopped    bool   `json:"stopped"`
	Blocked    bool   `json:"blocked"`
	CreationTS int64  `json:"creationTS"`
	ActiveTill int64  `json:"activeTill"`
	Trial      *int64 `json:"trial"`
	// PaidDays is the number of whole paid days a delete would return now.
	PaidDays int64 `json:"paidDays"`
	// Proxy is the channel's proxy, when it has one.
	Proxy *Proxy `json:"proxy,omitempty"`
	// Linked reports whether a WhatsApp account is linked; Phone is then its number.
	Linked bool `json:"linked"`
}

// Proxy is a channel's proxy as Whapi's partner API shows it.
type Proxy struct {
	Scheme string `json:"scheme"`
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Auth   string `json:"auth,omitempty"`
}

// NewProxy splits a proxy URL; nil for "".
func NewProxy(raw string) *Proxy {
	u, err := url.Parse(raw)
	if raw == "" || err != nil {
		return nil
	}
	port, _ := strconv.Atoi(u.Port())
	p := &Proxy{Scheme: u.Scheme, Host: u.Hostname(), Port: port}
	if u.User != nil {
		// The password is never shown: pool proxies are the operator's.
		p.Auth = u.User.Username()
		if _, ok := u.User.Password(); ok {
			p.Auth += ":" + RedactedPassword
		}
	}
	return p
}

// RedactedPassword stands for a proxy password in answers.
const RedactedPassword = "xxxxx"

// NewChannel converts a channel for the wire at time now.
func NewChannel(ch model.Channel, apiURL string, now time.Time) Channel {
	out := Channel{
		ID: ch.ID, Name: ch.Name, ProjectID: ch.ProjectID, OwnerID: ch.PartnerID, Token: ch.Token,
		APIURL: apiURL, Server: 1, Phone: ch.Phone, Mode: string(ch.Mode), Status: ch.Status(now),
		Stopped: !ch.Running(now), CreationTS: Millis(ch.CreatedAt), ActiveTill: Millis(ch.ActiveTill),
		PaidDays: billing.UnusedPaidDays(ch, now), Proxy: NewProxy(ch.Proxy), Linked: ch.Linked(),
	}
	if ch.WAPhone != "" {
		out.Phone = ch.WAPhone
	}
	if ch.TrialUntil.After(ch.CreatedAt) {
		t := Millis(ch.TrialUntil)
		out.Trial = &t
	}
	return out
}

// Partner is a partner as the APIs show it (never its secrets).
type Partner struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Balance   int64  `json:"balance"`
	TrialDays *int   `json:"trialDays"`
	CreatedAt int64  `json:"createdAt"`
}

// NewPartner converts a partner for the wire. TrialDays is null when the
// partner uses the operator default.
func NewPartner(p model.Partner) Partner {
	out := Partner{ID: p.ID, Name: p.Name, Email: p.Email, Balance: p.Balance, CreatedAt: Millis(p.CreatedAt)}
	if p.TrialDays >= 0 {
		d := p.TrialDays
		out.TrialDays = &d
	}
	return out
}

// LedgerEntry is one ledger row on the wire.
type LedgerEntry struct {
	ID           int64  `json:"id"`
	ChannelID    string `json:"channelId,omitempty"`
	Delta        int64  `json:"delta"`
	BalanceAfter int64  `json:"balanceAfter"`
	Reason       string `json:"reason"`
	Comment      string `json:"comment"`
	Actor        string `json:"actor"`
	CreatedAt    int64  `json:"createdAt"`
}

// NewLedger converts ledger rows for the wire.
func NewLedger(entries []model.LedgerEntry) []LedgerEntry {
	out := make([]LedgerEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, LedgerEntry{
			ID: e.ID, ChannelID: e.ChannelID, Delta: e.Delta, BalanceAfter: e.BalanceAfter,
			Reason: string(e.Reason), Comment: e.Comment, Actor: e.Actor, CreatedAt: Millis(e.CreatedAt),
		})
	}
	return out
}

// LedgerPage is a page of the ledger.
type LedgerPage struct {
	Entries []LedgerEntry `json:"entries"`
	Count   int           `json:"count"`
	Offset  int           `json:"offset"`
	Total   int           `json:"total"`
}

// Authenticate returns middleware that resolves the request's token
// (Authorization: Bearer, or ?token=) with resolve and hands the result to
// next through the context (with). A missing token, or one resolve reports
// as model.ErrNotFound, is 401 before any route runs; what names the token
// in the messages ("partner", "channel").
func Authenticate[T any](log *slog.Logger, what string, resolve func(context.Context, string) (T, error),
	with func(context.Context, T) context.Context) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token := httpx.BearerToken(r)
			if token == "" {
				httpx.WriteError(w, r, log, httpx.Errorf(http.StatusUnauthorized, "missing %s token: send Authorization: Bearer <token>", what))
				return
			}
			v, err := resolve(r.Context(), token)
			if errors.Is(err, model.ErrNotFound) {
				httpx.WriteError(w, r, log, httpx.Errorf(http.StatusUnauthorized, "invalid %s token", what))
				return
			}
			if err != nil {
				httpx.WriteError(w, r, log, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(with(r.Context(), v)))
		})
	}
}
