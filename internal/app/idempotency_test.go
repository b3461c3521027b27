package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/store/storetest"
)

// idem sends a request with an Idempotency-Key and returns status, body
// and whether it was a replay.
func (e *env) idem(key, method, path, token string, body any) (int, []byte, bool) {
	e.t.Helper()
	raw, _ := json.Marshal(body)
	if body == nil {
		raw = nil
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes(), rec.Header().Get("Idempotent-Replayed") == "true"
}

// parallel sends n copies of one idempotent request at once and checks
// they all got the same answer, exactly one of them not a replay.
func (e *env) parallel(n int, key, method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	type answer struct {
		status   int
		body     []byte
		replayed bool
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, b, r := e.idem(key, method, path, token, body)
			answers[i] = answer{s, b, r}
		})
	}
	wg.Wait()
	fresh := 0
	for _, a := range answers {
		if !a.replayed {
			fresh++
		}
		if a.status != answers[0].status || !bytes.Equal(a.body, answers[0].body) {
			e.t.Fatalf("%s %s: parallel answers differ: %d %s / %d %s", method, path, a.status, a.body, answers[0].status, answers[0].body)
		}
	}
	if fresh != 1 {
		e.t.Fatalf("%s %s: %d of %d parallel requests ran, want 1", method, path, fresh, n)
	}
	return answers[0].status, answers[0].body
}

// TestIdempotencyKeys: every money-moving and creating call takes an
// Idempotency-Key; the same key and body answer the first answer without
// doing it again, even when sent in parallel (on both databases); another
// body is 422; keys are per caller; they are forgotten after 24 hours.
func TestIdempotencyKeys(t *testing.T) {
	v := openapitest.New(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, v, b)
			pid, ptok := e.partner("idem", 100)
			ch := e.channel(ptok, "Idem")
			id := ch["id"].(string)

			// Extend: 12 at once with one key move the days once.
			status, body := e.parallel(12, "ext-1", "POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 10})
			if status != 200 || e.balanceOf(ptok) != 90 {
				t.Fatalf("parallel extend: %d %s, balance %d, want 90", status, body, e.balanceOf(ptok))
			}
			// The same again later: the first answer, nothing done.
			s, again, replayed := e.idem("ext-1", "POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 10})
			if s != 200 || !replayed || !bytes.Equal(again, body) || e.balanceOf(ptok) != 90 {
				t.Fatalf("replay: %d replayed=%v %s", s, replayed, again)
			}
			// Spacing and key order do not make another body...
			req := httptest.NewRequest("POST", "/partner/channels/"+id+"/extend", strings.NewReader(`{ "days" : 10 }`))
			req.Header.Set("Authorization", "Bearer "+ptok)
			req.Header.Set("Idempotency-Key", "ext-1")
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != 200 || rec.Header().Get("Idempotent-Replayed") != "true" {
				t.Fatalf("same body, other spacing: %d %s", rec.Code, rec.Body)
			}
			// ...but other values or another path do.
			if s, b, _ := e.idem("ext-1", "POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 11}); s != 422 {
				t.Fatalf("another body: %d %s", s, b)
			}
			if s, b, _ := e.idem("ext-1", "POST", "/partner/channels/"+id+"/stop", ptok, map[string]any{"days": 10}); s != 422 {
				t.Fatalf("another path: %d %s", s, b)
			}
			if e.balanceOf(ptok) != 90 {
				t.Fatalf("balance %d after refused reuses, want 90", e.balanceOf(ptok))
			}
			if s, b, _ := e.idem(strings.Repeat("k", 256), "POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 1}); s != 400 || !strings.Contains(string(b), "Idempotency-Key") {
				t.Fatalf("a 256-character key: %d %s", s, b)
			}

			// A refusal is an answer too: 402 stays 402 for that key.
			if s, _, _ := e.idem("ext-2", "POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 500}); s != 402 {
				t.Fatalf("over-extend: %d", s)
			}
			e.ok(200, "POST", "/admin/partners/"+pid+"/days", adminToken, map[string]any{"days": 1000})
			if s, _, r := e.idem("ext-2", "POST", "/partner/channels/"+id+"/extend", ptok, map[string]any{"days": 500}); s != 402 || !r {
				t.Fatalf("over-extend retried: %d replayed=%v", s, r)
			}

			// Create, mode, stop, start, delete.
			_, created := e.parallel(6, "new-1", "PUT", "/partner/channels", ptok, map[string]any{"name": "Once"})
			var newCh map[string]any
			_ = json.Unmarshal(created, &newCh)
			list := e.ok(200, "GET", "/partner/channels/list", ptok, nil)
			if num(list["total"]) != 2 {
				t.Fatalf("parallel creates made %v channels, want 2", list["total"])
			}
			nid := newCh["id"].(string)
			e.parallel(4, "mode-1", "PATCH", "/partner/channels/"+nid+"/mode", ptok, map[string]any{"mode": "live"})
			e.ok(200, "POST", "/partner/channels/"+nid+"/extend", ptok, map[string]any{"days": 5})
			bal := e.balanceOf(ptok)
			_, stopped := e.parallel(4, "stop-1", "POST", "/partner/channels/"+nid+"/stop", ptok, map[string]any{"saveDays": true})
			if !strings.Contains(string(stopped), `"daysRefunded":5`) || e.balanceOf(ptok) != bal+5 {
				t.Fatalf("stop: %s, balance %d (was %d)", stopped, e.balanceOf(ptok), bal)
			}
			e.ok(200, "POST", "/partner/channels/"+nid+"/extend", ptok, map[string]any{"days": 2})
			if s, b := e.parallel(4, "start-1", "POST", "/partner/channels/"+nid+"/start", ptok, nil); s != 200 {
				t.Fatalf("start: %d %s", s, b)
			}
			_, deleted := e.parallel(4, "del-1", "DELETE", "/partner/channels/"+id, ptok, nil)
			if !strings.Contains(string(deleted), `"success":true`) {
				t.Fatalf("delete: %s", deleted)
			}

			// Keys are per caller: another partner's "ext-1" is its own.
			_, otherTok := e.partner("other", 5)
			oid := e.channel(otherTok, "Other")["id"].(string)
			if s, _, r := e.idem("ext-1", "POST", "/partner/channels/"+oid+"/extend", otherTok, map[string]any{"days": 1}); s != 200 || r {
				t.Fatalf("another partner's key: %d replayed=%v", s, r)
			}

			// Operator: credit and create, once each.
			before := e.balanceOf(otherTok)
			e.parallel(8, "credit-1", "POST", "/admin/partners/"+pidOf(e, otherTok)+"/days", adminToken, map[string]any{"days": 7, "comment": "inv 9"})
			if e.balanceOf(otherTok) != before+7 {
				t.Fatalf("parallel credit: balance %d, want %d", e.balanceOf(otherTok), before+7)
			}
			_, p := e.parallel(6, "partner-1", "POST", "/admin/partners", adminToken, map[string]any{"name": "once", "email": "once@example.test"})
			if n := num(e.ok(200, "GET", "/admin/partners", adminToken, nil)["total"]); n != 3 {
				t.Fatalf("parallel partner creation made %d partners, want 3", n)
			}
			// The replayed answer holds the partner's token, which the
			// database keeps only sealed with the client's key.
			var created2 map[string]any
			_ = json.Unmarshal(p, &created2)
			var stored string
			if err := e.srv.Service().Store().DB().QueryRow("SELECT response FROM idempotency_keys WHERE scope = 'operator' AND status = 201").Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if tok, _ := created2["token"].(string); tok == "" || strings.Contains(stored, tok) || strings.Contains(stored, "once@example.test") {
				t.Fatalf("the stored answer is readable: %q", stored)
			}

			// After 24 hours a key is forgotten (and pruned): it runs again.
			e.clock.Advance(25 * time.Hour)
			if n, err := e.srv.Service().PruneIdempotencyKeys(t.Context()); err != nil || n == 0 {
				t.Fatalf("prune: %d, %v", n, err)
			}
			bal = e.balanceOf(ptok)
			e.ok(200, "POST", "/partner/channels/"+nid+"/extend", ptok, map[string]any{"days": 1}) // no key
			if s, _, r := e.idem("ext-1", "POST", "/partner/channels/"+nid+"/extend", ptok, map[string]any{"days": 10}); s != 200 || r || e.balanceOf(ptok) != bal-11 {
				t.Fatalf("a key 25 hours old: %d replayed=%v balance %d", s, r, e.balanceOf(ptok))
			}
		})
	}
}

// pidOf is the partner ID of a partner token.
func pidOf(e *env, ptok string) string {
	e.t.Helper()
	return e.ok(http.StatusOK, "GET", "/partner/partners", ptok, nil)["id"].(string)
}
