package app_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/app"
)

// TestKillableServer is not a test: run by TestWebhooksSurviveKill as a
// child process (WAGATE_TEST_CHILD=serve), it is the wagate server that
// test kills with SIGKILL.
func TestKillableServer(t *testing.T) {
	if os.Getenv("WAGATE_TEST_CHILD") != "serve" {
		t.Skip("run as a child process by TestWebhooksSurviveKill")
	}
	os.Exit(app.Main([]string{"serve"}, os.Getenv, os.Stdout, os.Stderr))
}

// childServer is a wagate server in a child process.
type childServer struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// startChild starts the server in a child process on addr with the data
// dir, and waits until it answers.
func startChild(t *testing.T, addr, dataDir string) *childServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillableServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WAGATE_TEST_CHILD=serve", "WAGATE_ADDR="+addr, "WAGATE_DATA_DIR="+dataDir,
		"WAGATE_DATABASE_URL=", "WAGATE_ENGINE=sim", "WAGATE_ADMIN_TOKEN="+adminToken, "WAGATE_WEBHOOK_ALLOW_PRIVATE=true",
		"WAGATE_LOG_LEVEL=warn")
	c := &childServer{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { c.kill(t) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		select {
		case <-c.done:
			t.Fatalf("the server exited: %s", c.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not come up: %s", c.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the child with SIGKILL: no shutdown, no draining.
func (c *childServer) kill(t *testing.T) {
	select {
	case <-c.done:
		return
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Logf("kill: %v", err)
	}
	<-c.done
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestWebhooksSurviveKill: a receiver is down while the server produces
// events; the server is killed with SIGKILL and started again; the
// receiver comes up and gets every event, each chat's in order, and the
// events after the restart too.
func TestWebhooksSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	addr, hookAddr := freeAddr(t), freeAddr(t)
	srv := &liveServer{t: t, base: "http://" + addr, client: &http.Client{Timeout: 10 * time.Second}}
	call := srv.call
	first := startChild(t, addr, dataDir)
	ptok := call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "kill", "email": "k@example.test", "days": 10})["token"].(string)
	ch := call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "Killed"})
	chID, tok := ch["id"].(string), ch["token"].(string)
	const me, ann, ben = "15556660001", "15556660002", "15556660003"
	for _, p := range []string{me, ann, ben} {
		call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": p, "name": "P" + p[len(p)-1:]})
	}
	srv.linkQR(tok, me)
	call(200, "PATCH", "/settings", tok, map[string]any{"callback_backoff_delay_ms": 3000, "webhooks": []any{map[string]any{
		"url": "http://" + hookAddr + "/hooks", "events": subscribe("messages.post")}}})

	// The receiver is down: 10 messages out to each of two chats.
	var sent []string
	for i := range 10 {
		for _, to := range []string{ann, ben} {
			m := call(200, "POST", "/messages/text", tok, map[string]any{"to": to, "body": fmt.Sprintf("msg %d to %s", i, to)})
			sent = append(sent, m["message"].(map[string]any)["id"].(string))
		}
	}
	waitFor(t, "failed first attempts", func() bool {
		l := call(200, "GET", "/partner/channels/"+chID+"/webhooks/log?status=pending&count=100", ptok, nil)
		tried := 0
		for _, d := range l["deliveries"].([]any) {
			if len(d.(map[string]any)["attempt_log"].([]any)) > 0 {
				tried++
			}
		}
		return int(num(l["total"])) == len(sent) && tried >= 2
	})
	first.kill(t)

	// The receiver comes up on its address; the server starts again.
	var mu sync.Mutex
	var got []string // message IDs in arrival order
	byChat := map[string][]string{}
	hooks := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []struct {
				ID     string `json:"id"`
				ChatID string `json:"chat_id"`
			} `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		for _, m := range body.Messages {
			got = append(got, m.ID)
			byChat[m.ChatID] = append(byChat[m.ChatID], m.ID)
		}
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})}
	l, err := net.Listen("tcp", hookAddr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hooks.Serve(l) }()
	t.Cleanup(func() { _ = hooks.Close() })
	startChild(t, addr, dataDir)

	// After the restart the sim phones are back (kept in the database): a
	// message from Ann in, and it is delivered too (behind the older ones).
	for _, p := range []string{ann, ben} {
		call(200, "GET", "/admin/sim/phones/"+p, adminToken, nil)
	}
	srv.authAs(tok, me) // back online as the same account, with no scan
	in := call(201, "POST", "/admin/sim/phones/"+ann+"/messages", adminToken, map[string]any{"to": me, "body": "after the restart"})
	inID := in["message"].(map[string]any)["id"].(string)

	deadline := time.Now().Add(90 * time.Second) // a delivery claimed at the kill waits out its lease
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(sent)+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events arrived after the restart", n, len(sent)+1)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	seen := map[string]bool{}
	for _, id := range got {
		seen[id] = true
	}
	for _, id := range sent {
		if !seen[id] {
			t.Errorf("message %s never arrived", id)
		}
	}
	if !seen[inID] {
		t.Errorf("the message after the restart (%s) did not arrive: %v", inID, got)
	}
	// Each chat's messages arrived in the order they were sent.
	for chat, ids := range byChat {
		var want []string
		for _, id := range sent {
			for _, g := range ids {
				if g == id {
					want = append(want, id)
					break
				}
			}
		}
		var order []string
		for _, id := range ids {
			if !strings.HasPrefix(chat, ann) || id != inID {
				order = append(order, id)
			}
		}
		if strings.Join(dedupe(order), ",") != strings.Join(want, ",") {
			t.Errorf("chat %s: arrival order %v, sent %v", chat, order, want)
		}
	}
}

// dedupe drops repeated IDs (at-least-once delivery may repeat one), keeping
// the first.
func dedupe(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
