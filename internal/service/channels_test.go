package service_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

var svChannelIDRE = regexp.MustCompile(`^[A-Z]{6}-[A-Z0-9]{5}$`)

// channel creates a channel in the default project.
func (f *svFixture) channel(t *testing.T, partnerID, name string) model.Channel {
	t.Helper()
	ch, err := f.svc.CreateChannel(f.ctx, partnerID, service.CreateChannelInput{Name: name})
	if err != nil {
		t.Fatalf("CreateChannel(%s): %v", name, err)
	}
	return ch
}

// get reads a channel back from the store.
func (f *svFixture) get(t *testing.T, partnerID, channelID string) model.Channel {
	t.Helper()
	ch, err := f.svc.Channel(f.ctx, partnerID, channelID)
	if err != nil {
		t.Fatalf("Channel(%s): %v", channelID, err)
	}
	return ch
}

func (f *svFixture) extend(t *testing.T, partnerID, channelID string, days int64) service.ExtendResult {
	t.Helper()
	res, err := f.svc.ExtendChannel(f.ctx, partnerID, channelID, days, "", "partner")
	if err != nil {
		t.Fatalf("ExtendChannel(%d): %v", days, err)
	}
	return res
}

func svSameChannel(t *testing.T, got, want model.Channel) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Phone != want.Phone || got.ProjectID != want.ProjectID ||
		got.Mode != want.Mode || got.Stopped != want.Stopped || got.Token != want.Token ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.TrialUntil.Equal(want.TrialUntil) || !got.ActiveTill.Equal(want.ActiveTill) ||
		(got.ExpiredAt == nil) != (want.ExpiredAt == nil) {
		t.Errorf("channel changed:\n got %+v\nwant %+v", got, want)
	}
}

func TestSvCreateChannel(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 3)
		ch, err := f.svc.CreateChannel(f.ctx, p.ID, service.CreateChannelInput{Name: "Shop №1", Phone: "4915112345678"})
		if err != nil {
			t.Fatal(err)
		}
		if !svChannelIDRE.MatchString(ch.ID) || len(ch.Token) != 32 || ch.PartnerID != p.ID || ch.ProjectID != model.DefaultProjectID {
			t.Errorf("channel %+v", ch)
		}
		want := svT0.Add(5 * svDay) // operator default
		if ch.Mode != model.ModeTrial || !ch.CreatedAt.Equal(svT0) || !ch.TrialUntil.Equal(want) || !ch.ActiveTill.Equal(want) ||
			ch.Stopped || ch.ExpiredAt != nil || ch.Phone != "4915112345678" || ch.Name != "Shop №1" {
			t.Errorf("new channel %+v", ch)
		}
		svSameChannel(t, f.get(t, p.ID, ch.ID), ch)
		if b := f.balance(t, p.ID); b != 3 {
			t.Errorf("creating a channel used balance: %d", b)
		}
		if rows := f.ledger(t, p.ID); len(rows) != 1 {
			t.Errorf("creating a channel wrote ledger rows: %+v", rows)
		}
		f.clk.Advance(time.Millisecond) // lists are ordered by creation time, then ID
		other := f.channel(t, p.ID, "second")
		if other.ID == ch.ID || other.Token == ch.Token {
			t.Error("two channels share an ID or token")
		}
		list, total, err := f.svc.Channels(f.ctx, p.ID, "", service.Page{Count: 10})
		if err != nil || total != 2 || len(list) != 2 || list[0].ID != ch.ID || list[1].ID != other.ID {
			t.Errorf("Channels: %+v %d %v", list, total, err)
		}
	})
}

func TestSvCreateChannelTrialDays(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		dflt, _ := f.partner(t, "dflt", 0)
		over, _ := f.partnerWith(t, service.CreatePartnerInput{Name: "over", Email: "over@example.com", TrialDays: svIntp(2)})
		none, _ := f.partnerWith(t, service.CreatePartnerInput{Name: "none", Email: "none@example.com", TrialDays: svIntp(0)})

		if ch := f.channel(t, dflt.ID, "a"); !ch.ActiveTill.Equal(svT0.Add(5 * svDay)) {
			t.Errorf("operator default: activeTill %v", ch.ActiveTill)
		}
		if ch := f.channel(t, over.ID, "a"); !ch.ActiveTill.Equal(svT0.Add(2*svDay)) || !ch.TrialUntil.Equal(ch.ActiveTill) {
			t.Errorf("partner override: %+v", ch)
		}
		ch := f.channel(t, none.ID, "a")
		if !ch.ActiveTill.Equal(svT0) || ch.Running(svT0) || ch.ExpiredAt == nil {
			t.Errorf("no trial: %+v", ch)
		}
		// Born without time, it is not reported by the expiry sweep.
		if exp, err := f.svc.ExpireDue(f.ctx); err != nil || len(exp) != 0 {
			t.Errorf("ExpireDue reported a channel born expired: %+v %v", exp, err)
		}

		// The operator default changes; the partner override wins over it.
		if _, err := f.svc.UpdateOperatorSettings(f.ctx, service.OperatorSettingsPatch{TrialDays: svIntp(8)}); err != nil {
			t.Fatal(err)
		}
		if ch := f.channel(t, dflt.ID, "b"); !ch.ActiveTill.Equal(svT0.Add(8 * svDay)) {
			t.Errorf("changed operator default: activeTill %v", ch.ActiveTill)
		}
		if ch := f.channel(t, over.ID, "b"); !ch.ActiveTill.Equal(svT0.Add(2 * svDay)) {
			t.Errorf("override after operator change: activeTill %v", ch.ActiveTill)
		}
		if _, err := f.svc.UpdatePartner(f.ctx, over.ID, service.PartnerPatch{TrialDays: svNull[int]()}); err != nil {
			t.Fatal(err)
		}
		if ch := f.channel(t, over.ID, "c"); !ch.ActiveTill.Equal(svT0.Add(8 * svDay)) {
			t.Errorf("override removed: activeTill %v", ch.ActiveTill)
		}
	})
}

func TestSvCreateChannelValidation(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 0)
		q, _ := f.partner(t, "other", 0)
		qProject, err := f.svc.CreateProject(f.ctx, q.ID, "theirs")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			in    service.CreateChannelInput
			field string
		}{
			{"no name", service.CreateChannelInput{}, "name"},
			{"blank name", service.CreateChannelInput{Name: " \t "}, "name"},
			{"name 101 chars", service.CreateChannelInput{Name: strings.Repeat("é", 101)}, "name"},
			{"name with newline", service.CreateChannelInput{Name: "a\nb"}, "name"},
			{"name not UTF-8", service.CreateChannelInput{Name: "a\xffb"}, "name"},
			{"phone with plus", service.CreateChannelInput{Name: "x", Phone: "+4915112345678"}, "phone"},
			{"phone with spaces", service.CreateChannelInput{Name: "x", Phone: "49 151 1234567"}, "phone"},
			{"phone too short", service.CreateChannelInput{Name: "x", Phone: "123456"}, "phone"},
			{"phone too long", service.CreateChannelInput{Name: "x", Phone: "1234567890123456"}, "phone"},
			{"malformed project", service.CreateChannelInput{Name: "x", ProjectID: "nope"}, "projectId"},
			{"unknown project", service.CreateChannelInput{Name: "x", ProjectID: "abcdefghijABCDEFGHIJ"}, "projectId"},
			{"another partner's project", service.CreateChannelInput{Name: "x", ProjectID: qProject.ID}, "projectId"},
		} {
			_, err := f.svc.CreateChannel(f.ctx, p.ID, tc.in)
			if t.Run(tc.name, func(t *testing.T) { svWantInvalid(t, err, tc.field) }) && tc.name == "unknown project" {
				if !strings.Contains(err.Error(), "abcdefghijABCDEFGHIJ") {
					t.Errorf("unknown project error %q does not name the project", err)
				}
			}
		}
		if _, total, _ := f.svc.Channels(f.ctx, p.ID, "", service.Page{Count: 10}); total != 0 {
			t.Fatalf("%d channels created by rejected input", total)
		}
		// Limits of the accepted range.
		for _, in := range []service.CreateChannelInput{
			{Name: strings.Repeat("é", 100)},
			{Name: "x", Phone: "1234567"},
			{Name: "x", Phone: "123456789012345"},
			{Name: "x", ProjectID: model.DefaultProjectID},
		} {
			if _, err := f.svc.CreateChannel(f.ctx, p.ID, in); err != nil {
				t.Errorf("CreateChannel(%+v): %v", in, err)
			}
		}
		_, err = f.svc.CreateChannel(f.ctx, "nobody", service.CreateChannelInput{Name: "x"})
		svWantIs(t, err, model.ErrNotFound)
	})
}

func TestSvCreateChannelRateLimit(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		const limit, window = 3, 10 * time.Minute
		if _, err := f.svc.UpdateOperatorSettings(f.ctx, service.OperatorSettingsPatch{
			ChannelCreateLimit: svIntp(limit), ChannelCreateWindow: svIntp(int(window / time.Minute))}); err != nil {
			t.Fatal(err)
		}
		p, _ := f.partner(t, "acme", 0)
		q, _ := f.partner(t, "other", 0)
		// A creation that fails (unknown project) does not count.
		_, err := f.svc.CreateChannel(f.ctx, p.ID, service.CreateChannelInput{Name: "x", ProjectID: "abcdefghijABCDEFGHIJ"})
		svWantInvalid(t, err, "projectId")
		var first model.Channel
		for i := range limit {
			ch := f.channel(t, p.ID, "c")
			if i == 0 {
				first = ch
			}
			f.clk.Advance(time.Minute)
		}
		// Deleting a channel does not give its creation back.
		if _, err := f.svc.DeleteChannel(f.ctx, p.ID, first.ID, "partner"); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.CreateChannel(f.ctx, p.ID, service.CreateChannelInput{Name: "over"})
		svWantIs(t, err, model.ErrRateLimited)
		svWantRetryAfter(t, err, window-limit*time.Minute) // the first creation leaves the window at t0+10m
		if errors.Is(err, model.ErrInvalid) {
			t.Errorf("rate limit also matches ErrInvalid: %v", err)
		}
		// Other partners have their own budget.
		f.channel(t, q.ID, "q")
		// Still inside the window of the oldest creation: refused.
		f.clk.Set(svT0.Add(window - time.Millisecond))
		_, err = f.svc.CreateChannel(f.ctx, p.ID, service.CreateChannelInput{Name: "over"})
		svWantIs(t, err, model.ErrRateLimited)
		svWantRetryAfter(t, err, time.Millisecond)
		// The oldest creation leaves the window: one more fits, then refused again.
		f.clk.Set(svT0.Add(window))
		f.channel(t, p.ID, "after window")
		_, err = f.svc.CreateChannel(f.ctx, p.ID, service.CreateChannelInput{Name: "over"})
		svWantIs(t, err, model.ErrRateLimited)
		svWantRetryAfter(t, err, time.Minute) // the second creation (t0+1m) is now the oldest
		f.clk.Advance(window)
		for range limit {
			f.channel(t, p.ID, "next window")
		}
		if _, total, _ := f.svc.Channels(f.ctx, p.ID, "", service.Page{Count: 100}); total != 2*limit {
			t.Errorf("%d channels, want %d", total, 2*limit)
		}
		// Limit 0 means no limit.
		if _, err := f.svc.UpdateOperatorSettings(f.ctx, service.OperatorSettingsPatch{ChannelCreateLimit: svIntp(0)}); err != nil {
			t.Fatal(err)
		}
		for range limit + 2 {
			f.channel(t, p.ID, "unlimited")
		}
	})
}

func svWantRetryAfter(t *testing.T, err error, want time.Duration) {
	t.Helper()
	var rl *model.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("err %v (%T) is not a *model.RateLimitError", err, err)
	}
	if rl.RetryAfter != want {
		t.Errorf("RetryAfter %v, want %v", rl.RetryAfter, want)
	}
}

func TestSvChannelTenancy(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		a, _ := f.partner(t, "alice", 10)
		b, _ := f.partner(t, "bob", 10)
		ch := f.channel(t, a.ID, "alice's")
		ch = f.extend(t, a.ID, ch.ID, 2).Channel
		name := "mine now"
		type attempt struct {
			op  string
			err error
		}
		var stolen []attempt
		add := func(op string, err error) { stolen = append(stolen, attempt{op, err}) }
		_, err := f.svc.Channel(f.ctx, b.ID, ch.ID)
		add("Channel", err)
		_, err = f.svc.UpdateChannel(f.ctx, b.ID, ch.ID, service.ChannelPatch{Name: &name})
		add("UpdateChannel", err)
		_, err = f.svc.UpdateChannel(f.ctx, b.ID, ch.ID, service.ChannelPatch{ProjectID: svStrp(model.DefaultProjectID)})
		add("UpdateChannel project", err)
		_, err = f.svc.ExtendChannel(f.ctx, b.ID, ch.ID, 3, "", "bob")
		add("ExtendChannel", err)
		_, _, err = f.svc.StopChannel(f.ctx, b.ID, ch.ID, true, "bob")
		add("StopChannel", err)
		_, err = f.svc.StartChannel(f.ctx, b.ID, ch.ID)
		add("StartChannel", err)
		_, err = f.svc.RestartChannel(f.ctx, b.ID, ch.ID)
		add("RestartChannel", err)
		_, err = f.svc.ChangeMode(f.ctx, b.ID, ch.ID, model.ModeLive)
		add("ChangeMode", err)
		refund, err := f.svc.DeleteChannel(f.ctx, b.ID, ch.ID, "bob")
		add("DeleteChannel", err)
		for _, s := range stolen {
			if !errors.Is(s.err, model.ErrNotFound) {
				t.Errorf("%s on another partner's channel: %v, want ErrNotFound", s.op, s.err)
			}
		}
		if refund != 0 {
			t.Errorf("refund %d from another partner's channel", refund)
		}
		svSameChannel(t, f.get(t, a.ID, ch.ID), ch)
		if ba, bb := f.balance(t, a.ID), f.balance(t, b.ID); ba != 8 || bb != 10 {
			t.Errorf("balances alice %d bob %d, want 8 and 10", ba, bb)
		}
		if rows := f.ledger(t, b.ID); len(rows) != 1 {
			t.Errorf("bob's ledger %+v", rows)
		}
		if list, total, _ := f.svc.Channels(f.ctx, b.ID, "", service.Page{Count: 10}); total != 0 || len(list) != 0 {
			t.Errorf("bob lists alice's channel")
		}
		var buf bytes.Buffer
		if err := f.svc.ExportChannels(f.ctx, b.ID, &buf); err != nil || strings.Contains(buf.String(), ch.ID) {
			t.Errorf("bob's export contains alice's channel: %q %v", buf.String(), err)
		}
	})
}

func svStrp(s string) *string { return &s }

func TestSvMalformedChannelIDs(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 5)
		ch := f.channel(t, p.ID, "real")
		for _, id := range []string{"", "shazam-3hdyq", strings.ToLower(ch.ID), ch.ID + " ", " " + ch.ID, ch.ID + "X",
			"SHAZAM3HDYQ", "SHAZAM-3HDY", "SHAZA1-3HDYQ", "SHAZAM_3HDYQ", "' OR 1=1 --", "../" + ch.ID, ch.ID + "\n", "ABCDEFGHIJKL"} {
			checks := map[string]error{}
			_, checks["Channel"] = f.svc.Channel(f.ctx, p.ID, id)
			_, checks["UpdateChannel"] = f.svc.UpdateChannel(f.ctx, p.ID, id, service.ChannelPatch{Name: svStrp("x")})
			_, checks["ExtendChannel"] = f.svc.ExtendChannel(f.ctx, p.ID, id, 1, "", "p")
			_, checks["DeleteChannel"] = f.svc.DeleteChannel(f.ctx, p.ID, id, "p")
			_, _, checks["StopChannel"] = f.svc.StopChannel(f.ctx, p.ID, id, true, "p")
			_, checks["StartChannel"] = f.svc.StartChannel(f.ctx, p.ID, id)
			_, checks["RestartChannel"] = f.svc.RestartChannel(f.ctx, p.ID, id)
			_, checks["ChangeMode"] = f.svc.ChangeMode(f.ctx, p.ID, id, model.ModeDev)
			for op, err := range checks {
				if !errors.Is(err, model.ErrNotFound) {
					t.Errorf("%s(%q): %v, want ErrNotFound", op, id, err)
				}
			}
		}
		if err := service.CheckChannelID(ch.ID); err != nil {
			t.Errorf("CheckChannelID(%q): %v", ch.ID, err)
		}
		svSameChannel(t, f.get(t, p.ID, ch.ID), ch)
		if b := f.balance(t, p.ID); b != 5 {
			t.Errorf("balance %d", b)
		}
	})
}

func TestSvUpdateChannel(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 0)
		ch := f.channel(t, p.ID, "old")
		proj, err := f.svc.CreateProject(f.ctx, p.ID, "shops")
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.UpdateChannel(f.ctx, p.ID, ch.ID, service.ChannelPatch{Name: svStrp("new"), Phone: svStrp("12345678"), ProjectID: &proj.ID})
		if err != nil || got.Name != "new" || got.Phone != "12345678" || got.ProjectID != proj.ID {
			t.Fatalf("UpdateChannel: %+v %v", got, err)
		}
		want := ch
		want.Name, want.Phone, want.ProjectID = "new", "12345678", proj.ID
		svSameChannel(t, f.get(t, p.ID, ch.ID), want)

		for _, tc := range []struct {
			patch service.ChannelPatch
			field string
		}{
			{service.ChannelPatch{Name: svStrp("")}, "name"},
			{service.ChannelPatch{Name: svStrp(strings.Repeat("n", 101))}, "name"},
			{service.ChannelPatch{Phone: svStrp("+1")}, "phone"},
			{service.ChannelPatch{ProjectID: svStrp("bad")}, "projectId"},
			{service.ChannelPatch{Name: svStrp("fine"), ProjectID: svStrp("abcdefghijABCDEFGHIJ")}, "projectId"},
		} {
			_, err := f.svc.UpdateChannel(f.ctx, p.ID, ch.ID, tc.patch)
			svWantInvalid(t, err, tc.field)
		}
		svSameChannel(t, f.get(t, p.ID, ch.ID), want)
		// Clearing the phone is allowed; nil fields stay.
		got, err = f.svc.UpdateChannel(f.ctx, p.ID, ch.ID, service.ChannelPatch{Phone: svStrp("")})
		if err != nil || got.Phone != "" || got.Name != "new" {
			t.Errorf("clear phone: %+v %v", got, err)
		}
	})
}

func TestSvExtendChannel(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 12)
		ch := f.channel(t, p.ID, "c")
		f.clk.Advance(svDay)
		res, err := f.svc.ExtendChannel(f.ctx, p.ID, ch.ID, 10, "customer paid", "partner-ui")
		if err != nil {
			t.Fatal(err)
		}
		if res.Balance != 2 || !res.Channel.ActiveTill.Equal(svT0.Add(15*svDay)) {
			t.Errorf("extend during trial: balance %d activeTill %v", res.Balance, res.Channel.ActiveTill)
		}
		svSameChannel(t, f.get(t, p.ID, ch.ID), res.Channel)
		rows := f.ledger(t, p.ID)
		if len(rows) != 2 || rows[0].Delta != -10 || rows[0].Reason != model.ReasonExtend || rows[0].ChannelID != ch.ID ||
			rows[0].Comment != "customer paid" || rows[0].Actor != "partner-ui" || rows[0].BalanceAfter != 2 || !rows[0].CreatedAt.Equal(f.clk.Now()) {
			t.Errorf("extend ledger row %+v", rows[0])
		}

		// Not enough days: 402, nothing changes.
		before := f.get(t, p.ID, ch.ID)
		_, err = f.svc.ExtendChannel(f.ctx, p.ID, ch.ID, 3, "", "partner-ui")
		svWantIs(t, err, model.ErrInsufficientDays)
		svSameChannel(t, f.get(t, p.ID, ch.ID), before)
		if b := f.balance(t, p.ID); b != 2 {
			t.Errorf("balance %d after refused extend", b)
		}
		if n := len(f.ledger(t, p.ID)); n != 2 {
			t.Errorf("%d ledger rows after refused extend", n)
		}

		// Bad day counts and comments.
		for _, d := range []int64{0, -1, 3651} {
			_, err := f.svc.ExtendChannel(f.ctx, p.ID, ch.ID, d, "", "p")
			svWantInvalid(t, err, "days")
		}
		_, err = f.svc.ExtendChannel(f.ctx, p.ID, ch.ID, 1, strings.Repeat("c", 501), "p")
		svWantInvalid(t, err, "comment")
		svSameChannel(t, f.get(t, p.ID, ch.ID), before)

		// After expiry the days count from now; the whole balance can be used.
		f.clk.Set(svT0.Add(20 * svDay))
		res = f.extend(t, p.ID, ch.ID, 2)
		if res.Balance != 0 || !res.Channel.ActiveTill.Equal(svT0.Add(22*svDay)) || !res.Channel.Running(f.clk.Now()) {
			t.Errorf("extend after expiry: %+v", res)
		}
	})
}

func TestSvDeleteChannelRefund(t *testing.T) {
	for _, tc := range []struct {
		name    string
		extend  int64         // days added at creation time
		advance time.Duration // before delete
		refund  int64
	}{
		{"trial only", 0, 0, 0},
		{"trial only, later", 0, 2 * svDay, 0},
		{"extended 10, right away", 10, 0, 10},
		{"extended 10, still in trial", 10, 4*svDay + 23*time.Hour, 10},
		{"extended 10, at trial end", 10, 5 * svDay, 10},
		{"extended 10, 1 h into paid time", 10, 5*svDay + time.Hour, 9},
		{"extended 10, 6 days 1 h later", 10, 6*svDay + time.Hour, 8},
		{"extended 10, 23 h left", 10, 14*svDay + time.Hour, 0},
		{"extended 10, expired", 10, 20 * svDay, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svEach(t, func(t *testing.T, f *svFixture) {
				p, _ := f.partner(t, "acme", 10)
				ch := f.channel(t, p.ID, "c")
				if tc.extend > 0 {
					f.extend(t, p.ID, ch.ID, tc.extend)
				}
				f.clk.Advance(tc.advance)
				rowsBefore := len(f.ledger(t, p.ID))
				refund, err := f.svc.DeleteChannel(f.ctx, p.ID, ch.ID, "deleter")
				if err != nil {
					t.Fatal(err)
				}
				if refund != tc.refund {
					t.Errorf("refund %d, want %d", refund, tc.refund)
				}
				if b := f.balance(t, p.ID); b != 10-tc.extend+tc.refund {
					t.Errorf("balance %d, want %d", b, 10-tc.extend+tc.refund)
				}
				rows := f.ledger(t, p.ID)
				if tc.refund == 0 {
					if len(rows) != rowsBefore {
						t.Errorf("a zero refund wrote a ledger row: %+v", rows[0])
					}
				} else if len(rows) != rowsBefore+1 || rows[0].Delta != tc.refund || rows[0].Reason != model.ReasonRefundDelete ||
					rows[0].ChannelID != ch.ID || rows[0].Actor != "deleter" {
					t.Errorf("refund ledger row %+v", rows[0])
				}
				if _, err := f.svc.Channel(f.ctx, p.ID, ch.ID); !errors.Is(err, model.ErrNotFound) {
					t.Errorf("deleted channel still readable: %v", err)
				}
				if _, err := f.svc.DeleteChannel(f.ctx, p.ID, ch.ID, "deleter"); !errors.Is(err, model.ErrNotFound) {
					t.Errorf("second delete: %v", err)
				}
				if b := f.balance(t, p.ID); b != 10-tc.extend+tc.refund {
					t.Errorf("second delete changed the balance to %d", b)
				}
			})
		})
	}
}

func TestSvStopStartChannel(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 10)
		ch := f.channel(t, p.ID, "c")
		ch = f.extend(t, p.ID, ch.ID, 10).Channel // trial till day 5, paid till day 15
		f.clk.Advance(svDay)

		// Stop without saving days: time keeps running, nothing refunded.
		got, refund, err := f.svc.StopChannel(f.ctx, p.ID, ch.ID, false, "p")
		if err != nil || refund != 0 || !got.Stopped || !got.ActiveTill.Equal(ch.ActiveTill) {
			t.Fatalf("stop: %+v refund %d %v", got, refund, err)
		}
		if s := f.get(t, p.ID, ch.ID); !s.Stopped || s.Running(f.clk.Now()) || s.Status(f.clk.Now()) != "stopped" {
			t.Errorf("stored after stop: %+v", s)
		}
		if n := len(f.ledger(t, p.ID)); n != 2 {
			t.Errorf("stop without saveDays wrote ledger rows (%d)", n)
		}
		got, err = f.svc.StartChannel(f.ctx, p.ID, ch.ID)
		if stored := f.get(t, p.ID, ch.ID); err != nil || got.Stopped || !stored.Running(f.clk.Now()) {
			t.Fatalf("start: %+v %v", got, err)
		}

		// Stop with saveDays: the 10 paid days come back, the trial stays.
		got, refund, err = f.svc.StopChannel(f.ctx, p.ID, ch.ID, true, "stopper")
		if err != nil || refund != 10 || !got.Stopped || !got.ActiveTill.Equal(svT0.Add(5*svDay)) {
			t.Fatalf("stop saveDays: %+v refund %d %v", got, refund, err)
		}
		svSameChannel(t, f.get(t, p.ID, ch.ID), got)
		if b := f.balance(t, p.ID); b != 10 {
			t.Errorf("balance %d, want 10", b)
		}
		rows := f.ledger(t, p.ID)
		if rows[0].Delta != 10 || rows[0].Reason != model.ReasonRefundStop || rows[0].ChannelID != ch.ID || rows[0].Actor != "stopper" {
			t.Errorf("refund_stop row %+v", rows[0])
		}
		// Stopping again returns nothing more.
		if _, refund, err := f.svc.StopChannel(f.ctx, p.ID, ch.ID, true, "stopper"); err != nil || refund != 0 {
			t.Errorf("second stop: refund %d %v", refund, err)
		}
		// Start works while trial time is left.
		if _, err := f.svc.StartChannel(f.ctx, p.ID, ch.ID); err != nil {
			t.Fatal(err)
		}

		// Once the trial is over, start is refused until days are added.
		f.clk.Set(svT0.Add(5 * svDay))
		if _, _, err := f.svc.StopChannel(f.ctx, p.ID, ch.ID, false, "p"); err != nil {
			t.Fatal(err)
		}
		before := f.get(t, p.ID, ch.ID)
		_, err = f.svc.StartChannel(f.ctx, p.ID, ch.ID)
		svWantIs(t, err, model.ErrExpired)
		svSameChannel(t, f.get(t, p.ID, ch.ID), before)
		f.extend(t, p.ID, ch.ID, 1)
		if got, err := f.svc.StartChannel(f.ctx, p.ID, ch.ID); err != nil || got.Stopped {
			t.Fatalf("start after extend: %v", err)
		}
	})
}

func TestSvStartExpiredChannel(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 0)
		ch := f.channel(t, p.ID, "c")
		f.clk.Advance(5 * svDay) // now == activeTill
		_, err := f.svc.StartChannel(f.ctx, p.ID, ch.ID)
		svWantIs(t, err, model.ErrExpired)
		_, err = f.svc.RestartChannel(f.ctx, p.ID, ch.ID)
		svWantIs(t, err, model.ErrExpired)
		svSameChannel(t, f.get(t, p.ID, ch.ID), ch)
	})
}

func TestSvRestartChannel(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 0)
		ch := f.channel(t, p.ID, "c")
		got, err := f.svc.RestartChannel(f.ctx, p.ID, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		svSameChannel(t, got, ch)
		if _, _, err := f.svc.StopChannel(f.ctx, p.ID, ch.ID, false, "p"); err != nil {
			t.Fatal(err)
		}
		got, err = f.svc.RestartChannel(f.ctx, p.ID, ch.ID)
		if err != nil || got.Stopped || f.get(t, p.ID, ch.ID).Stopped {
			t.Fatalf("restart of a stopped channel: %+v %v", got, err)
		}
	})
}

func TestSvChangeMode(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 10)
		paid := f.channel(t, p.ID, "paid")
		f.extend(t, p.ID, paid.ID, 10) // trial till day 5, paid till day 15
		free := f.channel(t, p.ID, "free")
		f.clk.Advance(2 * svDay)
		now := f.clk.Now()

		// trial -> dev keeps the trial.
		got, err := f.svc.ChangeMode(f.ctx, p.ID, paid.ID, model.ModeDev)
		if err != nil || got.Mode != model.ModeDev || !got.TrialUntil.Equal(svT0.Add(5*svDay)) || !got.ActiveTill.Equal(svT0.Add(15*svDay)) {
			t.Fatalf("to dev: %+v %v", got, err)
		}
		// -> live forfeits the remaining 3 trial days, keeps the 10 paid ones.
		got, err = f.svc.ChangeMode(f.ctx, p.ID, paid.ID, model.ModeLive)
		if err != nil || got.Mode != model.ModeLive || !got.TrialUntil.Equal(now) || !got.ActiveTill.Equal(now.Add(10*svDay)) {
			t.Fatalf("to live: %+v %v", got, err)
		}
		svSameChannel(t, f.get(t, p.ID, paid.ID), got)
		// live -> trial grants nothing.
		got, err = f.svc.ChangeMode(f.ctx, p.ID, paid.ID, model.ModeTrial)
		if err != nil || got.Mode != model.ModeTrial || !got.ActiveTill.Equal(now.Add(10*svDay)) || !got.TrialUntil.Equal(now) {
			t.Fatalf("back to trial: %+v %v", got, err)
		}

		// A trial-only channel going live has no time left: it expires now.
		got, err = f.svc.ChangeMode(f.ctx, p.ID, free.ID, model.ModeLive)
		if err != nil || !got.ActiveTill.Equal(now) || got.Running(now) {
			t.Fatalf("trial-only to live: %+v %v", got, err)
		}
		exp, err := f.svc.ExpireDue(f.ctx)
		if err != nil || len(exp) != 1 || exp[0].ID != free.ID {
			t.Fatalf("ExpireDue after going live without days: %+v %v", exp, err)
		}
		if _, err := f.svc.ChangeMode(f.ctx, p.ID, free.ID, model.ModeTrial); err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, p.ID, free.ID); got.Running(now) {
			t.Errorf("going back to trial revived the channel: %+v", got)
		}

		// Unknown modes are rejected, naming the field; nothing changes.
		before := f.get(t, p.ID, paid.ID)
		for _, m := range []model.Mode{"", "Live", "sandbox"} {
			_, err := f.svc.ChangeMode(f.ctx, p.ID, paid.ID, m)
			svWantInvalid(t, err, "mode")
		}
		svSameChannel(t, f.get(t, p.ID, paid.ID), before)
		if b := f.balance(t, p.ID); b != 0 {
			t.Errorf("mode changes moved days: balance %d", b)
		}
	})
}

func TestSvExpireDue(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 10)
		ch := f.channel(t, p.ID, "c")
		f.clk.Advance(time.Hour)
		later := f.channel(t, p.ID, "later")

		if exp, err := f.svc.ExpireDue(f.ctx); err != nil || len(exp) != 0 {
			t.Fatalf("nothing due yet: %+v %v", exp, err)
		}
		f.clk.Set(svT0.Add(5*svDay - time.Millisecond))
		if exp, _ := f.svc.ExpireDue(f.ctx); len(exp) != 0 {
			t.Fatalf("expired 1 ms early: %+v", exp)
		}
		f.clk.Set(svT0.Add(5 * svDay)) // exactly activeTill
		exp, err := f.svc.ExpireDue(f.ctx)
		if err != nil || len(exp) != 1 || exp[0].ID != ch.ID || exp[0].ExpiredAt == nil || !exp[0].ExpiredAt.Equal(f.clk.Now()) {
			t.Fatalf("at activeTill: %+v %v", exp, err)
		}
		if s := f.get(t, p.ID, ch.ID); s.ExpiredAt == nil || s.Status(f.clk.Now()) != "expired" {
			t.Errorf("stored after expiry: %+v", s)
		}
		if exp, _ := f.svc.ExpireDue(f.ctx); len(exp) != 0 {
			t.Fatalf("reported twice: %+v", exp)
		}
		f.clk.Advance(time.Hour)
		exp, _ = f.svc.ExpireDue(f.ctx)
		if len(exp) != 1 || exp[0].ID != later.ID {
			t.Fatalf("second channel: %+v", exp)
		}
		if exp, _ := f.svc.ExpireDue(f.ctx); len(exp) != 0 {
			t.Fatalf("reported twice: %+v", exp)
		}

		// Extending runs the channel again and re-arms the sweep.
		f.clk.Advance(24 * time.Hour)
		res := f.extend(t, p.ID, ch.ID, 1)
		if res.Channel.ExpiredAt != nil || !res.Channel.Running(f.clk.Now()) || !res.Channel.ActiveTill.Equal(f.clk.Now().Add(svDay)) {
			t.Fatalf("after extend: %+v", res.Channel)
		}
		if s := f.get(t, p.ID, ch.ID); s.ExpiredAt != nil || !s.Running(f.clk.Now()) {
			t.Fatalf("stored after extend: %+v", s)
		}
		if exp, _ := f.svc.ExpireDue(f.ctx); len(exp) != 0 {
			t.Fatalf("extended channel reported: %+v", exp)
		}
		f.clk.Advance(svDay)
		exp, _ = f.svc.ExpireDue(f.ctx)
		if len(exp) != 1 || exp[0].ID != ch.ID {
			t.Fatalf("second expiry: %+v", exp)
		}
	})
}

func TestSvExportChannels(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 20)
		q, _ := f.partner(t, "other", 0)
		f.channel(t, q.ID, "not mine")

		trial, err := f.svc.CreateChannel(f.ctx, p.ID, service.CreateChannelInput{Name: "=HYPERLINK(\"http://evil\")", Phone: "4915112345678"})
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Minute)
		dev := f.channel(t, p.ID, "Dev, \"quoted\"")
		if _, err := f.svc.ChangeMode(f.ctx, p.ID, dev.ID, model.ModeDev); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Minute)
		live := f.channel(t, p.ID, "+live")
		f.extend(t, p.ID, live.ID, 10)
		if _, err := f.svc.ChangeMode(f.ctx, p.ID, live.ID, model.ModeLive); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.StopChannel(f.ctx, p.ID, live.ID, false, "p"); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Minute)
		plain := f.channel(t, p.ID, "-1 @home")
		f.clk.Advance(time.Minute)
		at := f.channel(t, p.ID, "@sum")
		f.clk.Advance(time.Minute)
		safe := f.channel(t, p.ID, "Café ☕")
		f.clk.Set(svT0.Add(5*svDay + time.Minute)) // trial and dev channels expired; trial of "at" (created +4 min) still on

		var buf bytes.Buffer
		if err := f.svc.ExportChannels(f.ctx, p.ID, &buf); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(buf.String(), "Name,ID,Phone Number,Work Period,Status,Mode,Created Date,Billing Status\n") {
			t.Fatalf("header line %q", strings.SplitN(buf.String(), "\n", 2)[0])
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("parse CSV: %v", err)
		}
		want := [][]string{
			{"Name", "ID", "Phone Number", "Work Period", "Status", "Mode", "Created Date", "Billing Status"},
			{"'=HYPERLINK(\"http://evil\")", trial.ID, "4915112345678", "2025-03-10 12:00 UTC - 2025-03-15 12:00 UTC", "expired", "trial", "2025-03-10 12:00 UTC", "Trial"},
			{"Dev, \"quoted\"", dev.ID, "", "2025-03-10 12:01 UTC - 2025-03-15 12:01 UTC", "expired", "dev", "2025-03-10 12:01 UTC", "Sandbox (dev)"},
			{"'+live", live.ID, "", "2025-03-10 12:02 UTC - 2025-03-20 12:02 UTC", "stopped", "live", "2025-03-10 12:02 UTC", "Live"},
			{"'-1 @home", plain.ID, "", "2025-03-10 12:03 UTC - 2025-03-15 12:03 UTC", "active", "trial", "2025-03-10 12:03 UTC", "Trial"},
			{"'@sum", at.ID, "", "2025-03-10 12:04 UTC - 2025-03-15 12:04 UTC", "active", "trial", "2025-03-10 12:04 UTC", "Trial"},
			{"Café ☕", safe.ID, "", "2025-03-10 12:05 UTC - 2025-03-15 12:05 UTC", "active", "trial", "2025-03-10 12:05 UTC", "Trial"},
		}
		if len(recs) != len(want) {
			t.Fatalf("%d records, want %d:\n%q", len(recs), len(want), recs)
		}
		for i := range want {
			if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
				t.Errorf("row %d\n got %q\nwant %q", i, recs[i], want[i])
			}
		}

		// A partner without channels gets the header only.
		empty, _ := f.partner(t, "empty", 0)
		buf.Reset()
		if err := f.svc.ExportChannels(f.ctx, empty.ID, &buf); err != nil || buf.String() != strings.Join(service.ExportColumns, ",")+"\n" {
			t.Errorf("empty export %q %v", buf.String(), err)
		}
	})
}

func TestSvProjects(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 0)
		q, _ := f.partner(t, "other", 0)
		list, total, err := f.svc.Projects(f.ctx, p.ID, service.Page{Count: 10})
		if err != nil || total != 1 || len(list) != 1 || list[0].ID != model.DefaultProjectID || list[0].Channels != 0 {
			t.Fatalf("initial projects %+v %d %v", list, total, err)
		}
		f.clk.Advance(time.Minute)
		proj, err := f.svc.CreateProject(f.ctx, p.ID, "Shops")
		if err != nil || len(proj.ID) != 20 || proj.Name != "Shops" || proj.PartnerID != p.ID || !proj.CreatedAt.Equal(f.clk.Now()) {
			t.Fatalf("CreateProject: %+v %v", proj, err)
		}
		for _, name := range []string{"", "   ", strings.Repeat("x", 101), "a\x07b"} {
			_, err := f.svc.CreateProject(f.ctx, p.ID, name)
			svWantInvalid(t, err, "name")
		}
		if _, total, _ := f.svc.Projects(f.ctx, p.ID, service.Page{Count: 10}); total != 2 {
			t.Fatalf("%d projects, want 2", total)
		}

		ch, err := f.svc.CreateChannel(f.ctx, p.ID, service.CreateChannelInput{Name: "in shops", ProjectID: proj.ID})
		if err != nil || ch.ProjectID != proj.ID {
			t.Fatalf("channel in project: %+v %v", ch, err)
		}
		f.channel(t, p.ID, "in default")
		got, err := f.svc.Project(f.ctx, p.ID, proj.ID)
		if err != nil || got.Channels != 1 || got.Name != "Shops" {
			t.Fatalf("Project: %+v %v", got, err)
		}
		inProj, total, err := f.svc.Channels(f.ctx, p.ID, proj.ID, service.Page{Count: 10})
		if err != nil || total != 1 || inProj[0].ID != ch.ID {
			t.Errorf("Channels(project): %+v %d %v", inProj, total, err)
		}
		if _, total, _ := f.svc.Channels(f.ctx, p.ID, "", service.Page{Count: 10}); total != 2 {
			t.Errorf("all channels: %d", total)
		}
		for _, bad := range []string{"bad", "abcdefghijABCDEFGHIJ"} {
			_, _, err := f.svc.Channels(f.ctx, p.ID, bad, service.Page{Count: 10})
			svWantIs(t, err, model.ErrNotFound)
		}

		renamed, err := f.svc.RenameProject(f.ctx, p.ID, proj.ID, "Stores")
		if err != nil || renamed.Name != "Stores" || renamed.Channels != 1 {
			t.Fatalf("RenameProject: %+v %v", renamed, err)
		}
		_, err = f.svc.RenameProject(f.ctx, p.ID, proj.ID, "")
		svWantInvalid(t, err, "name")

		// Another partner cannot see, rename, delete or use the project.
		if _, err := f.svc.Project(f.ctx, q.ID, proj.ID); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("other partner reads project: %v", err)
		}
		if _, err := f.svc.RenameProject(f.ctx, q.ID, proj.ID, "mine"); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("other partner renames project: %v", err)
		}
		if err := f.svc.DeleteProject(f.ctx, q.ID, proj.ID); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("other partner deletes project: %v", err)
		}
		if _, _, err := f.svc.Channels(f.ctx, q.ID, proj.ID, service.Page{Count: 10}); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("other partner lists project channels: %v", err)
		}
		if got, _ := f.svc.Project(f.ctx, p.ID, proj.ID); got.Name != "Stores" {
			t.Errorf("name %q after other partner's rename", got.Name)
		}
		for _, bad := range []string{"", "x", "../default", "abcdefghijABCDEFGHIJK"} {
			if _, err := f.svc.Project(f.ctx, p.ID, bad); !errors.Is(err, model.ErrNotFound) {
				t.Errorf("Project(%q): %v", bad, err)
			}
			if _, err := f.svc.RenameProject(f.ctx, p.ID, bad, "x"); !errors.Is(err, model.ErrNotFound) {
				t.Errorf("RenameProject(%q): %v", bad, err)
			}
			if err := f.svc.DeleteProject(f.ctx, p.ID, bad); !errors.Is(err, model.ErrNotFound) {
				t.Errorf("DeleteProject(%q): %v", bad, err)
			}
		}

		// Non-empty and default projects cannot be deleted.
		svWantIs(t, f.svc.DeleteProject(f.ctx, p.ID, proj.ID), model.ErrConflict)
		svWantIs(t, f.svc.DeleteProject(f.ctx, p.ID, model.DefaultProjectID), model.ErrConflict)
		if _, err := f.svc.UpdateChannel(f.ctx, p.ID, ch.ID, service.ChannelPatch{ProjectID: svStrp(model.DefaultProjectID)}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteProject(f.ctx, p.ID, proj.ID); err != nil {
			t.Fatalf("delete empty project: %v", err)
		}
		if _, err := f.svc.Project(f.ctx, p.ID, proj.ID); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("deleted project readable: %v", err)
		}
		if err := f.svc.DeleteProject(f.ctx, p.ID, proj.ID); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		_, err = f.svc.CreateChannel(f.ctx, p.ID, service.CreateChannelInput{Name: "x", ProjectID: proj.ID})
		svWantInvalid(t, err, "projectId")
		if _, total, _ := f.svc.Projects(f.ctx, p.ID, service.Page{Count: 10}); total != 1 {
			t.Errorf("%d projects after delete", total)
		}
		// Paging.
		for range 3 {
			if _, err := f.svc.CreateProject(f.ctx, p.ID, "more"); err != nil {
				t.Fatal(err)
			}
		}
		page, total, err := f.svc.Projects(f.ctx, p.ID, service.Page{Count: 2, Offset: 1})
		if err != nil || total != 4 || len(page) != 2 {
			t.Errorf("projects page: %d of %d %v", len(page), total, err)
		}
	})
}

// TestSvBillingScenario walks one channel through the service with a fake
// clock: create with 5 trial days, extend 10 at day 1, go live at day 2,
// advance 3.5 days, delete.
func TestSvBillingScenario(t *testing.T) {
	svEach(t, func(t *testing.T, f *svFixture) {
		p, _ := f.partner(t, "acme", 10)
		ch := f.channel(t, p.ID, "c")
		if !ch.ActiveTill.Equal(svT0.Add(5 * svDay)) {
			t.Fatalf("created: activeTill %v", ch.ActiveTill)
		}
		f.clk.Advance(svDay)
		res := f.extend(t, p.ID, ch.ID, 10)
		if res.Balance != 0 || !res.Channel.ActiveTill.Equal(svT0.Add(15*svDay)) {
			t.Fatalf("extended: %+v", res)
		}
		f.clk.Advance(svDay)
		live, err := f.svc.ChangeMode(f.ctx, p.ID, ch.ID, model.ModeLive)
		if err != nil || !live.ActiveTill.Equal(svT0.Add(12*svDay)) || !live.TrialUntil.Equal(svT0.Add(2*svDay)) {
			t.Fatalf("live: %+v %v", live, err)
		}
		f.clk.Advance(3*svDay + 12*time.Hour)
		if exp, _ := f.svc.ExpireDue(f.ctx); len(exp) != 0 {
			t.Fatalf("expired while paid days are left: %+v", exp)
		}
		refund, err := f.svc.DeleteChannel(f.ctx, p.ID, ch.ID, "p")
		if err != nil || refund != 6 {
			t.Fatalf("delete: refund %d (want floor(6.5) = 6) %v", refund, err)
		}
		if b := f.balance(t, p.ID); b != 6 {
			t.Errorf("balance %d, want 6", b)
		}
		rows := f.ledger(t, p.ID)
		var reasons []string
		for _, r := range rows {
			reasons = append(reasons, string(r.Reason))
		}
		if strings.Join(reasons, ",") != "refund_delete,extend,credit" {
			t.Errorf("ledger reasons %v", reasons)
		}
	})
}
