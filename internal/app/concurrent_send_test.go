package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestConcurrentSendsLandWithWebhooks: sends and incoming messages of two
// channels at once (written in groups on SQLite) are all stored, each with
// one messages.post, and each new chat with one chats.post.
func TestConcurrentSendsLandWithWebhooks(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cfg := testConfig(t, b)
			cfg.WebhookAllowPrivate = true
			srv := startServer(t, cfg, app.Options{BcryptCost: 4})
			s := &liveServer{t: t, base: "http://" + srv.Addr(), client: &http.Client{Timeout: 20 * time.Second}}
			hooks := newReceiver(t)
			ptok := s.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "burst", "email": "b@example.test", "days": 10})["token"].(string)
			recipients := []string{"15554440101", "15554440102", "15554440103"}
			for _, p := range recipients {
				s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": p, "name": "R" + p[len(p)-1:]})
			}
			type channel struct{ id, token, phone string }
			var chs []channel
			for i, phone := range []string{"15554440001", "15554440002"} {
				ch := s.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": fmt.Sprint("Burst ", i)})
				c := channel{id: ch["id"].(string), token: ch["token"].(string), phone: phone}
				s.call(200, "PATCH", "/settings", c.token, map[string]any{"webhooks": []any{map[string]any{
					"url": hooks.srv.URL + "/" + c.id, "events": []any{
						map[string]any{"type": "messages", "method": "post"}, map[string]any{"type": "chats", "method": "post"}}}}})
				s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": phone, "name": "Ch" + phone[len(phone)-1:]})
				s.linkQR(c.token, phone)
				chs = append(chs, c)
			}

			post := func(path, token string, body any) (map[string]any, error) {
				raw, _ := json.Marshal(body)
				req, _ := http.NewRequest("POST", s.base+path, bytes.NewReader(raw))
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := s.client.Do(req)
				if err != nil {
					return nil, err
				}
				defer resp.Body.Close()
				out, _ := io.ReadAll(resp.Body)
				if resp.StatusCode/100 != 2 {
					return nil, fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, out)
				}
				var m map[string]any
				return m, json.Unmarshal(out, &m)
			}
			const perSender = 6
			var mu sync.Mutex
			sent := map[string][]string{} // channel -> message IDs
			var incoming []string         // bodies
			var errs []error
			var wg sync.WaitGroup
			for _, c := range chs {
				for ri, r := range recipients {
					wg.Go(func() {
						for k := range perSender {
							m, err := post("/messages/text", c.token, map[string]any{"to": r, "body": fmt.Sprintf("out %d %d", ri, k)})
							mu.Lock()
							if err != nil {
								errs = append(errs, err)
							} else {
								sent[c.id] = append(sent[c.id], m["message"].(map[string]any)["id"].(string))
							}
							mu.Unlock()
						}
					})
					wg.Go(func() {
						for k := range 2 {
							body := fmt.Sprintf("in %s %s %d", c.id, r, k)
							_, err := post("/admin/sim/phones/"+r+"/messages", adminToken, map[string]any{"to": c.phone, "body": body})
							mu.Lock()
							if err != nil {
								errs = append(errs, err)
							} else {
								incoming = append(incoming, body)
							}
							mu.Unlock()
						}
					})
				}
			}
			wg.Wait()
			for _, err := range errs {
				t.Error(err)
			}
			if t.Failed() {
				t.FailNow()
			}

			// Every message's messages.post arrives, once.
			deadline := time.Now().Add(20 * time.Second)
			count := func(event, path, text string) int {
				hooks.mu.Lock()
				defer hooks.mu.Unlock()
				n := 0
				for _, c := range hooks.calls {
					if c.Event == event && c.Path == path && strings.Contains(string(c.Raw), text) {
						n++
					}
				}
				return n
			}
			waitOne := func(event, path, text string) {
				t.Helper()
				for {
					n := count(event, path, text)
					if n == 1 {
						return
					}
					if n > 1 || time.Now().After(deadline) {
						t.Fatalf("%s %s with %q: %d calls, want 1", event, path, text, n)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			for _, c := range chs {
				if len(sent[c.id]) != perSender*len(recipients) {
					t.Fatalf("channel %s sent %d", c.id, len(sent[c.id]))
				}
				for _, id := range sent[c.id] {
					waitOne("messages.post", "/"+c.id, `"`+id+`"`)
				}
				for _, body := range incoming {
					if strings.Contains(body, c.id) {
						waitOne("messages.post", "/"+c.id, body)
					}
				}
				// One chats.post per new chat.
				for _, r := range recipients {
					waitOne("chats.post", "/"+c.id, r+"@s.whatsapp.net")
				}
				// The channel lists all its messages.
				msgs := s.call(200, "GET", "/messages/list?count=100", c.token, nil)
				if n := int(num(msgs["total"])); n != perSender*len(recipients)+2*len(recipients) {
					t.Fatalf("channel %s lists %d messages, want %d", c.id, n, perSender*len(recipients)+2*len(recipients))
				}
			}
		})
	}
}
