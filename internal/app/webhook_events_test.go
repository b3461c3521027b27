package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wagate/wagate/internal/api/openapi"
	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/store/storetest"
)

// startHooked starts the real server with its dispatcher, loopback
// webhooks allowed.
func startHooked(t *testing.T, cfg config.Config, o app.Options) *liveServer {
	t.Helper()
	cfg.WebhookAllowPrivate = true
	o.BcryptCost = 4
	srv := startServer(t, cfg, o)
	v := openapitest.New(t)
	return &liveServer{t: t, base: "http://" + srv.Addr(), srv: srv,
		client: &http.Client{Transport: v.Transport(t, http.DefaultTransport), Timeout: 10 * time.Second}}
}

// conforms checks every body a receiver got against the document's
// schema of webhook bodies (a oneOf of every event's).
func (r *receiver) conforms(t *testing.T, schema string) {
	t.Helper()
	d, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	ref := d.Components.Schemas[schema]
	if ref == nil || ref.Value == nil {
		t.Fatalf("no schema %s", schema)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		var v any
		if err := json.Unmarshal(c.Raw, &v); err != nil {
			t.Fatalf("%s: not JSON: %s", c.Event, c.Raw)
		}
		if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
			t.Errorf("%s body does not match %s: %v\n%s", c.Event, schema, err, c.Raw)
		}
	}
}

// events lists the X-Wagate-Event of the calls a receiver got, in order.
func (r *receiver) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.calls))
	for i, c := range r.calls {
		out[i] = c.Event
	}
	return out
}

// subscribe is the events list of a webhook for "type.method" names.
func subscribe(names ...string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		typ, method, _ := strings.Cut(n, ".")
		out[i] = map[string]any{"type": typ, "method": method}
	}
	return out
}

// TestWebhookDirectoryEvents checks the chats, contacts, groups and
// presences events on the real server, in the three modes, every body
// against the document; and the partner's stopped, started and days events.
func TestWebhookDirectoryEvents(t *testing.T) {
	s := startHooked(t, testConfig(t, storetest.Backends(t)[0]), app.Options{})
	body, path, method := newReceiver(t), newReceiver(t), newReceiver(t)
	partnerHooks := newReceiver(t)
	all := []string{"messages.post", "chats.post", "chats.patch", "chats.delete", "contacts.post", "contacts.patch",
		"groups.post", "groups.put", "groups.patch", "presences.post"}

	p := s.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "dir", "email": "d@example.test", "days": 20})
	pid, ptok := p["id"].(string), p["token"].(string)
	s.call(200, "PATCH", "/partner/partners/dir/settings", ptok, map[string]any{"days_limit": 10,
		"webhooks": []any{map[string]any{"url": partnerHooks.srv.URL + "/p", "events": subscribe("channel.post", "days.post")}}})
	ch := s.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "Dir"})
	chID, tok := ch["id"].(string), ch["token"].(string)
	s.call(200, "PATCH", "/settings", tok, map[string]any{"webhooks": []any{
		map[string]any{"url": body.srv.URL + "/b", "events": subscribe(all...)},
		map[string]any{"url": path.srv.URL + "/p", "mode": "path", "events": subscribe("chats.post", "groups.put", "presences.post")},
		map[string]any{"url": method.srv.URL + "/m", "mode": "method", "events": subscribe("chats.patch", "chats.delete", "groups.patch")},
	}})
	const me, ann, ben = "15554440001", "15554440002", "15554440003"
	for _, p := range []struct{ phone, name string }{{me, "Me"}, {ann, "Ann"}, {ben, "Ben"}} {
		s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": p.phone, "name": p.name})
	}
	s.linkQR(tok, me)

	// A first message from Ann starts a chat: chats.post comes before the
	// message, on the same webhook; a second message starts nothing.
	s.call(201, "POST", "/admin/sim/phones/"+ann+"/messages", adminToken, map[string]any{"to": me, "body": "first"})
	body.wait(t, "messages.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), "first") })
	s.call(201, "POST", "/admin/sim/phones/"+ann+"/messages", adminToken, map[string]any{"to": me, "body": "second"})
	body.wait(t, "messages.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), "second") })
	annChat := ann + "@s.whatsapp.net"
	if ev := body.events(); len(ev) < 3 || ev[0] != "chats.post" || ev[1] != "messages.post" || strings.Count(strings.Join(ev, ","), "chats.post") != 1 {
		t.Fatalf("events of a new chat = %v", ev)
	}
	posted := body.wait(t, "chats.post", nil)
	if posted.Body["channel_id"] != chID || !strings.Contains(string(posted.Raw), `"id":"`+annChat+`"`) || !strings.Contains(string(posted.Raw), "first") {
		t.Fatalf("chats.post = %s", posted.Raw)
	}
	if c := path.wait(t, "chats.post", nil); c.Path != "/p/chats/post" {
		t.Fatalf("path mode: %s", c.Path)
	}

	// Archive, then delete the chat: chats.patch with before and after,
	// chats.delete (method mode: PATCH and DELETE to .../chats).
	s.call(200, "POST", "/chats/"+annChat, tok, map[string]any{"archive": true})
	patch := body.wait(t, "chats.patch", nil)
	if !strings.Contains(string(patch.Raw), `"chats_updates"`) || !strings.Contains(string(patch.Raw), `"archive":true`) {
		t.Fatalf("chats.patch = %s", patch.Raw)
	}
	if c := method.wait(t, "chats.patch", nil); c.Method != "PATCH" || c.Path != "/m/chats" {
		t.Fatalf("method mode: %s %s", c.Method, c.Path)
	}
	s.call(200, "POST", "/chats/"+annChat, tok, map[string]any{"archive": true}) // no change, no event
	s.call(200, "DELETE", "/chats/"+annChat, tok, nil)
	del := body.wait(t, "chats.delete", nil)
	if !strings.Contains(string(del.Raw), `"chats_removed":["`+annChat+`"]`) {
		t.Fatalf("chats.delete = %s", del.Raw)
	}
	if c := method.wait(t, "chats.delete", nil); c.Method != "DELETE" {
		t.Fatalf("method mode: %s", c.Method)
	}

	// Contacts: a number checked and found is new; its profile read gives
	// it a name (contacts.patch).
	s.call(200, "POST", "/contacts", tok, map[string]any{"contacts": []string{ben}, "blocking": "wait"})
	added := body.wait(t, "contacts.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), ben) })
	if !strings.Contains(string(added.Raw), `"contacts":[`) {
		t.Fatalf("contacts.post = %s", added.Raw)
	}
	s.call(200, "GET", "/contacts/"+ben+"/profile", tok, nil)
	renamed := body.wait(t, "contacts.patch", nil)
	if !strings.Contains(string(renamed.Raw), `"contacts_updates"`) || !strings.Contains(string(renamed.Raw), "Ben") {
		t.Fatalf("contacts.patch = %s", renamed.Raw)
	}

	// Groups: Ann makes a group with the channel (groups.post), adds Ben
	// (groups.put), the channel renames it (groups.patch), then leaves
	// (groups.put remove).
	g := s.call(201, "POST", "/admin/sim/phones/"+ann+"/groups", adminToken, map[string]any{"subject": "Crew", "participants": []string{me}})
	gid := g["id"].(string)
	gp := body.wait(t, "groups.post", nil)
	if !strings.Contains(string(gp.Raw), gid) || !strings.Contains(string(gp.Raw), "Crew") {
		t.Fatalf("groups.post = %s", gp.Raw)
	}
	s.call(200, "POST", "/admin/sim/phones/"+ann+"/groups/"+gid+"/participants", adminToken, map[string]any{"add": []string{ben}})
	put := path.wait(t, "groups.put", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"add"`) })
	if put.Path != "/p/groups/put" || !strings.Contains(string(put.Raw), `"participants":["`+ben+`"]`) {
		t.Fatalf("groups.put = %s %s", put.Path, put.Raw)
	}
	s.call(200, "POST", "/admin/sim/phones/"+ann+"/groups/"+gid+"/participants", adminToken, map[string]any{"promote": []string{me}})
	body.wait(t, "groups.put", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"promote"`) })
	s.call(200, "PUT", "/groups/"+gid, tok, map[string]any{"subject": "Crew 2"})
	gpatch := method.wait(t, "groups.patch", nil)
	if gpatch.Method != "PATCH" || !strings.Contains(string(gpatch.Raw), `"Crew 2"`) || !strings.Contains(string(gpatch.Raw), `"groups_updates"`) {
		t.Fatalf("groups.patch = %s %s", gpatch.Method, gpatch.Raw)
	}
	s.call(200, "DELETE", "/groups/"+gid, tok, nil)
	body.wait(t, "groups.put", func(c hookCall) bool {
		return strings.Contains(string(c.Raw), `"remove"`) && strings.Contains(string(c.Raw), me)
	})

	// Presences: subscribed to Ben, the channel hears him come online.
	s.call(200, "POST", "/presences/"+ben, tok, nil)
	s.call(200, "POST", "/admin/sim/phones/"+ben+"/presence", adminToken, map[string]any{"state": "online"})
	pr := path.wait(t, "presences.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"online"`) })
	if pr.Path != "/p/presences/post" || !strings.Contains(string(pr.Raw), ben) {
		t.Fatalf("presences.post = %s %s", pr.Path, pr.Raw)
	}

	// The partner: stopped and started lifecycle events, and days when an
	// operator's debit takes the balance from 20 to 10 (its days_limit).
	s.call(200, "POST", "/partner/channels/"+chID+"/stop", ptok, map[string]any{})
	partnerHooks.wait(t, "channel.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"change":"stopped"`) })
	s.call(200, "POST", "/partner/channels/"+chID+"/start", ptok, nil)
	partnerHooks.wait(t, "channel.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"change":"started"`) })
	s.call(200, "POST", "/admin/partners/"+pid+"/days", adminToken, map[string]any{"days": -10, "comment": "refund"})
	days := partnerHooks.wait(t, "days.post", nil)
	if !strings.Contains(string(days.Raw), `"balance":10`) {
		t.Fatalf("days.post = %s", days.Raw)
	}

	time.Sleep(200 * time.Millisecond) // late duplicates would show now
	if n := strings.Count(strings.Join(body.events(), ","), "chats.patch"); n != 1 {
		t.Fatalf("%d chats.patch events for one change", n)
	}
	for _, r := range []*receiver{body, path, method} {
		r.conforms(t, "WebhookPayload")
	}
	partnerHooks.conforms(t, "WebhookPartnerPayload")
}

// TestWebhookExpiredEvent checks that a partner hears a channel ran out of
// days, from the expiry loop.
func TestWebhookExpiredEvent(t *testing.T) {
	clk := clock.NewFake(time.Now())
	s := startHooked(t, testConfig(t, storetest.Backends(t)[0]), app.Options{Now: clk.Now})
	partnerHooks := newReceiver(t)
	p := s.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "exp", "email": "e@example.test", "days": 1})
	ptok := p["token"].(string)
	s.call(200, "PATCH", "/partner/partners/exp/settings", ptok, map[string]any{
		"webhooks": []any{map[string]any{"url": partnerHooks.srv.URL, "events": subscribe("channel.post")}}})
	ch := s.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "Short"})
	clk.Advance(30 * 24 * time.Hour)
	got := partnerHooks.wait(t, "channel.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"change":"expired"`) })
	if got.Body["channel_id"] != ch["id"] {
		t.Fatalf("expired = %s", got.Raw)
	}
	partnerHooks.conforms(t, "WebhookPartnerPayload")
}

// TestWebhookLinkingEvents: a login flow whose QR codes all expire
// unscanned tells the channel (each code in channel.patch, the status in
// channel.post) and the partner (qr_expired); a sim phone then links in a
// new flow: users.post, channel.post AUTH and the partner's "linked".
func TestWebhookLinkingEvents(t *testing.T) {
	s := startHooked(t, testConfig(t, storetest.Backends(t)[0]),
		app.Options{Sim: sim.Options{QRFirst: 500 * time.Millisecond, QRNext: 300 * time.Millisecond, QRCount: 3}})
	chHooks, partnerHooks := newReceiver(t), newReceiver(t)
	ptok := s.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "qr", "email": "q@example.test", "days": 5})["token"].(string)
	s.call(200, "PATCH", "/partner/partners/qr/settings", ptok, map[string]any{
		"webhooks": []any{map[string]any{"url": partnerHooks.srv.URL, "events": subscribe("channel.post")}}})
	ch := s.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "Unscanned"})
	tok := ch["token"].(string)
	s.call(200, "PATCH", "/settings", tok, map[string]any{"webhooks": []any{map[string]any{"url": chHooks.srv.URL,
		"events": subscribe("channel.post", "channel.patch", "users.post")}}})
	s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": "15557770001", "name": "Late"})

	s.call(200, "GET", "/users/login", tok, nil) // a login flow starts; nobody scans
	failed := partnerHooks.wait(t, "channel.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"change":"qr_expired"`) })
	if failed.Body["channel_id"] != ch["id"] {
		t.Fatalf("qr_expired = %s", failed.Raw)
	}
	qrs := map[string]bool{}
	deadline := time.Now().Add(5 * time.Second)
	for len(qrs) < 2 && time.Now().Before(deadline) {
		chHooks.mu.Lock()
		for _, c := range chHooks.calls {
			if c.Event == "channel.patch" {
				if qr, _ := c.Body["qr"].(map[string]any); qr != nil {
					qrs[fmt.Sprint(qr["rowdata"])] = true
				}
			}
		}
		chHooks.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	if len(qrs) < 2 {
		t.Fatalf("%d distinct QR codes in channel.patch events, want the last 2 of the flow: %v", len(qrs), chHooks.events())
	}
	if n := len(chHooks.events()); n == 0 || slices.Contains(chHooks.events(), "users.post") {
		t.Fatalf("events before any scan: %v", chHooks.events())
	}

	// A new flow, scanned: linked.
	s.linkQR(tok, "15557770001")
	chHooks.wait(t, "users.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), "15557770001") })
	chHooks.wait(t, "channel.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"AUTH"`) })
	partnerHooks.wait(t, "channel.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"change":"linked"`) })
	chHooks.conforms(t, "WebhookPayload")
	partnerHooks.conforms(t, "WebhookPartnerPayload")
}
