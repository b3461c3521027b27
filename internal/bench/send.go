package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// SendReport compares POST /messages/text through wagate (every message
// stored, sent by the sim engine and in the recipient phone's inbox before
// the answer) with a bare net/http handler decoding the same JSON.
type SendReport struct {
	Channels   int  `json:"channels"`
	Recipients int  `json:"recipients"`
	Wagate     Load `json:"wagate"`
	Bare       Load `json:"bare"`
	// Ratio is Wagate.PerSecond / Bare.PerSecond.
	Ratio float64 `json:"ratio"`
	// StorageRatio is Wagate.PerSecond / the storage reference's sends
	// per second (Report.Storage).
	StorageRatio float64 `json:"storage_ratio"`
	// Delivered says the last message sent was found in its recipient
	// phone's inbox.
	Delivered bool `json:"delivered"`
}

// sendBody is the JSON of a text message, as clients send it.
func sendBody(to string, worker, n int) []byte {
	return []byte(`{"to":"` + to + `","body":"bench message ` + strconv.Itoa(worker) + "-" + strconv.Itoa(n) + `"}`)
}

// sendResult is the part of POST /messages/text's answer the bench reads.
type sendResult struct {
	Sent    bool `json:"sent"`
	Message struct {
		ID string `json:"id"`
	} `json:"message"`
}

// sendText sends one text from live channel worker%M to recipient n%K and
// returns the message's ID.
func (e *env) sendText(ctx context.Context, worker, n int) (string, error) {
	tok := e.live[worker%len(e.live)]
	code, raw, err := e.api.do(ctx, "POST", "/messages/text", tok, sendBody(e.recipients[n%len(e.recipients)], worker, n))
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("POST /messages/text: HTTP %d: %.200s", code, raw)
	}
	var r sendResult
	if err := json.Unmarshal(raw, &r); err != nil || !r.Sent || r.Message.ID == "" {
		return "", fmt.Errorf("POST /messages/text: unexpected answer %.200s", raw)
	}
	return r.Message.ID, nil
}

// setupLive makes the live channels the send and webhook sections use
// (once): each created and extended by the bench partner, switched to
// live, and linked through its login QR by a sim phone of its own, as a
// customer would; and the recipient phones.
func (e *env) setupLive(ctx context.Context) error {
	if e.live != nil {
		return nil
	}
	e.prog.stepf("setting up %d live channels and %d recipient phones", e.o.Channels, Recipients)
	for i := range Recipients {
		phone := fmt.Sprintf("1555100%04d", i)
		if err := e.api.call(ctx, "POST", "/admin/sim/phones", e.admin, map[string]any{"phone": phone, "name": "Recipient " + strconv.Itoa(i)}, nil); err != nil {
			return err
		}
		e.recipients = append(e.recipients, phone)
	}
	var live []string
	for i := range e.o.Channels {
		var ch struct{ ID, Token string }
		if err := e.api.call(ctx, "PUT", "/partner/channels", e.partnerToken, map[string]any{"name": "live " + strconv.Itoa(i)}, &ch); err != nil {
			return err
		}
		if err := e.api.call(ctx, "POST", "/partner/channels/"+ch.ID+"/extend", e.partnerToken, map[string]any{"days": 30, "comment": "bench"}, nil); err != nil {
			return err
		}
		if err := e.api.call(ctx, "PATCH", "/partner/channels/"+ch.ID+"/mode", e.partnerToken, map[string]any{"mode": "live"}, nil); err != nil {
			return err
		}
		phone := fmt.Sprintf("1555200%04d", i)
		if err := e.api.call(ctx, "POST", "/admin/sim/phones", e.admin, map[string]any{"phone": phone, "name": "Sender " + strconv.Itoa(i)}, nil); err != nil {
			return err
		}
		if err := e.linkQR(ctx, ch.Token, phone); err != nil {
			return fmt.Errorf("link channel %s: %w", ch.ID, err)
		}
		live = append(live, ch.Token)
		e.livePhones = append(e.livePhones, phone)
		e.liveIDs = append(e.liveIDs, ch.ID)
	}
	e.live = live
	return nil
}

// linkQR lets a sim phone scan the channel's login QR and waits for AUTH.
func (e *env) linkQR(ctx context.Context, token, phone string) error {
	deadline := time.Now().Add(30 * time.Second)
	var qr struct{ RowData string }
	for {
		code, raw, err := e.api.do(ctx, "GET", "/users/login/rowdata", token, nil)
		if err == nil && code == http.StatusOK && json.Unmarshal(raw, &qr) == nil && qr.RowData != "" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no login QR after 30 s (HTTP %d %.200s %v)", code, raw, err)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	if err := e.api.call(ctx, "POST", "/admin/sim/phones/"+phone+"/link", e.admin, map[string]any{"qr": qr.RowData}, nil); err != nil {
		return err
	}
	for {
		var h struct {
			Status struct{ Text string }
		}
		if err := e.api.call(ctx, "GET", "/health?wakeup=false", token, nil, &h); err != nil {
			return err
		}
		if h.Status.Text == "AUTH" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not AUTH after 30 s: %s", h.Status.Text)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// BareHandler is the send reference: a net/http handler that decodes the
// JSON of a text message, checks it and answers as wagate does, and does
// nothing else.
func BareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			To   string `json:"to"`
			Body string `json:"body"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.To == "" || req.Body == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"sent":true,"message":{"id":"bare"}}`))
	})
}

// StartLoopback serves h on a fresh 127.0.0.1 port and returns its base URL
// and a function that stops it.
func StartLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close(); <-done }, nil
}

func (e *env) benchSend(ctx context.Context) (*SendReport, error) {
	if err := e.setupLive(ctx); err != nil {
		return nil, err
	}
	share := e.o.share(SectionSend)
	warm := min(share/10, time.Second)
	window := (share - 2*warm) / 2
	rep := &SendReport{Channels: len(e.live), Recipients: len(e.recipients)}

	bareURL, stopBare, err := StartLoopback(BareHandler())
	if err != nil {
		return nil, err
	}
	defer stopBare()
	bare := NewHTTPClient(e.o.Clients)
	defer bare.CloseIdleConnections()
	bareOp := func(ctx context.Context, worker, n int) error {
		req, err := http.NewRequestWithContext(ctx, "POST", bareURL+"/messages/text",
			bytes.NewReader(sendBody(e.recipients[n%len(e.recipients)], worker, n)))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+e.live[worker%len(e.live)])
		req.Header.Set("Content-Type", "application/json")
		resp, err := bare.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var r sendResult
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusOK || !r.Sent {
			return fmt.Errorf("bare handler: HTTP %d", resp.StatusCode)
		}
		return nil
	}
	// Warm both up (connections, caches), then measure the reference and
	// wagate back to back.
	e.prog.stepf("send: warming up")
	Drive(ctx, e.o.Clients, warm, 0, bareOp, nil)
	last := &lastSent{}
	op := func(ctx context.Context, worker, n int) error {
		id, err := e.sendText(ctx, worker, n)
		if err == nil {
			last.set(n, id)
		}
		return err
	}
	Drive(ctx, e.o.Clients, warm, 0, op, nil)
	ref, err := e.storageRef(ctx)
	if err != nil {
		return nil, err
	}
	last = &lastSent{}
	e.prog.stepf("send: bare net/http handler, %d clients, %s", e.o.Clients, window.Round(time.Millisecond))
	rep.Bare = Drive(ctx, e.o.Clients, window, 0, bareOp, func(n int) { e.prog.tickf("%d requests", n) })
	e.prog.stepf("send: wagate POST /messages/text, %d clients over %d channels, %s", e.o.Clients, len(e.live), window.Round(time.Millisecond))
	stop, stopStats := e.profile("send"), e.pgStats(ctx, "send")
	rep.Wagate = Drive(ctx, e.o.Clients, window, 0, op, func(n int) { e.prog.tickf("%d messages", n) })
	stopStats()
	stop()
	rep.Ratio = ratio(rep.Wagate.PerSecond, rep.Bare.PerSecond)
	rep.StorageRatio = ratio(rep.Wagate.PerSecond, ref.SendsPerSecond)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if rep.Wagate.Requests == 0 {
		return rep, fmt.Errorf("no message sent: %s", rep.Wagate.FirstError)
	}
	// The last message sent is in its recipient's inbox.
	n, id := last.get()
	ok, err := e.inInbox(ctx, e.recipients[n%len(e.recipients)], id)
	if err != nil {
		return rep, err
	}
	rep.Delivered = ok
	if !ok {
		return rep, fmt.Errorf("message %s is not in the inbox of sim phone %s", id, e.recipients[n%len(e.recipients)])
	}
	return rep, nil
}

// inInbox says whether a sim phone received message id.
func (e *env) inInbox(ctx context.Context, phone, id string) (bool, error) {
	var box struct {
		Messages []struct{ ID string }
	}
	if err := e.api.call(ctx, "GET", "/admin/sim/phones/"+phone+"/messages", e.admin, nil, &box); err != nil {
		return false, err
	}
	for _, m := range box.Messages {
		if m.ID == id {
			return true, nil
		}
	}
	return false, nil
}

// lastSent keeps the message sent with the highest request number.
type lastSent struct {
	mu sync.Mutex
	n  int
	id string
}

func (l *lastSent) set(n int, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.id == "" || n > l.n {
		l.n, l.id = n, id
	}
}

func (l *lastSent) get() (int, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n, l.id
}
