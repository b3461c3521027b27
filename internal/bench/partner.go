package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/wagate/wagate/internal/api/apiutil"
)

// PartnerReport is partner API operations per second on a partner that
// owns Channels linked, running channels.
type PartnerReport struct {
	Channels int `json:"channels"`
	// Create is PUT /partner/channels (a trial channel, which starts a
	// login flow) and Extend POST /partner/channels/{id}/extend by a day,
	// by Clients concurrent clients.
	Create Load `json:"create"`
	Extend Load `json:"extend"`
	// List is a full listing of the partner's channels through GET
	// /partner/channels/list, PageSize at a time, by one client; a request
	// is one full listing.
	List     Load `json:"list"`
	PageSize int  `json:"page_size"`
	// Export is GET /partner/channels/export (CSV of every channel) by one
	// client; Bytes is the size of one export.
	Export Load `json:"export"`
	Bytes  int  `json:"export_bytes"`
}

func (e *env) benchPartner(ctx context.Context) (*PartnerReport, error) {
	n := e.o.MaxChannels
	if len(e.idle) < n {
		if err := e.ensureIdlePartner(ctx); err != nil {
			return nil, err
		}
		if err := e.shutdown(ctx); err != nil {
			return nil, err
		}
		if err := e.seedIdle(ctx, n); err != nil {
			return nil, err
		}
		e.prog.stepf("partner: starting a server with %d idle channels", n)
		if err := e.boot(ctx); err != nil {
			return nil, err
		}
		if err := e.waitAuth(ctx, e.idle[:n], 2*time.Minute+time.Duration(n)*10*time.Millisecond); err != nil {
			return nil, err
		}
	}
	window := e.o.share(SectionPartner) / 4
	tok := e.idlePartnerToken
	rep := &PartnerReport{Channels: n, PageSize: apiutil.MaxPage}

	e.prog.stepf("partner: listing %d channels, %d a page, %s", n, rep.PageSize, window.Round(time.Millisecond))
	rep.List = Drive(ctx, 1, window, 0, func(ctx context.Context, _, _ int) error {
		return e.listAll(ctx, tok, n, rep.PageSize)
	}, func(k int) { e.prog.tickf("%d listings", k) })
	if rep.List.Requests == 0 {
		return rep, fmt.Errorf("list: %s", rep.List.FirstError)
	}

	e.prog.stepf("partner: CSV export of %d channels, %s", n, window.Round(time.Millisecond))
	rep.Export = Drive(ctx, 1, window, 0, func(ctx context.Context, _, _ int) error {
		size, err := e.export(ctx, tok, n)
		rep.Bytes = size
		return err
	}, func(k int) { e.prog.tickf("%d exports", k) })
	if rep.Export.Requests == 0 {
		return rep, fmt.Errorf("export: %s", rep.Export.FirstError)
	}

	e.prog.stepf("partner: extend, %d clients, %s", e.o.Clients, window.Round(time.Millisecond))
	extend := []byte(`{"days":1,"comment":"bench"}`)
	rep.Extend = Drive(ctx, e.o.Clients, window, 0, func(ctx context.Context, _, k int) error {
		return e.expect(ctx, "POST", "/partner/channels/"+e.idle[k%n].ID+"/extend", tok, extend)
	}, func(k int) { e.prog.tickf("%d extensions", k) })

	e.prog.stepf("partner: create channel, %d clients, %s", e.o.Clients, window.Round(time.Millisecond))
	rep.Create = Drive(ctx, e.o.Clients, window, 0, func(ctx context.Context, _, k int) error {
		return e.expect(ctx, "PUT", "/partner/channels", tok, []byte(`{"name":"created `+strconv.Itoa(k)+`"}`))
	}, func(k int) { e.prog.tickf("%d channels", k) })
	if rep.Extend.Requests == 0 || rep.Create.Requests == 0 {
		return rep, fmt.Errorf("extend: %q; create: %q", rep.Extend.FirstError, rep.Create.FirstError)
	}
	return rep, ctx.Err()
}

// expect makes a request that must answer 2xx.
func (e *env) expect(ctx context.Context, method, path, token string, body []byte) error {
	code, raw, err := e.api.do(ctx, method, path, token, body)
	if err != nil {
		return err
	}
	if code < 200 || code > 299 {
		return fmt.Errorf("%s %s: HTTP %d: %.200s", method, path, code, raw)
	}
	return nil
}

// listAll lists every channel of the partner, page by page, and checks
// there are want.
func (e *env) listAll(ctx context.Context, token string, want, page int) error {
	got := 0
	for offset := 0; ; offset += page {
		var l struct {
			Channels []json.RawMessage `json:"channels"`
			Total    int               `json:"total"`
		}
		path := "/partner/channels/list?count=" + strconv.Itoa(page) + "&offset=" + strconv.Itoa(offset)
		if err := e.api.call(ctx, "GET", path, token, nil, &l); err != nil {
			return err
		}
		got += len(l.Channels)
		if l.Total != want {
			return fmt.Errorf("list: total %d, want %d", l.Total, want)
		}
		if len(l.Channels) == 0 || offset+page >= l.Total {
			break
		}
	}
	if got != want {
		return fmt.Errorf("list: %d channels listed, want %d", got, want)
	}
	return nil
}

// export downloads the partner's CSV export, checks it has a row per
// channel, and returns its size.
func (e *env) export(ctx context.Context, token string, want int) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", e.api.base+"/partner/channels/export", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.api.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("export: HTTP %d: %.200s", resp.StatusCode, raw)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	if len(rows) != want+1 {
		return 0, fmt.Errorf("export: %d rows, want a header and %d channels", len(rows), want)
	}
	return len(raw), nil
}
