package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The receive section (issue 17): sim phones send to the live channels at
// full speed, as WhatsApp contacts would; every message is stored by its
// channel and posted to its webhook (messages.post). It measures stored
// and posted messages per second, and the latency from the phone's send to
// the POST's arrival. The phones' sends take no time in wagate (the sim
// network queues them for the channel), so each of ReceiveSenders senders
// waits for its message's POST before it sends the next: as many messages
// in flight as senders, the pipeline at full speed without a backlog that
// grows without bound.

// ReceiveSenders is how many sim phone senders run at once for each
// bench client.
const ReceiveSenders = 4

// ReceiveReport is the receive section.
type ReceiveReport struct {
	Channels int `json:"channels"`
	Phones   int `json:"phones"`
	// Phone is the sim phones' sends (POST /admin/sim/phones/{phone}/messages,
	// each until its POST arrived): P50ms and P99ms are event-to-POST.
	Phone Load `json:"phone"`
	// Stored is those messages as they arrived at the webhook receiver,
	// each stored first: PerSecond from the first send to the last
	// arrival; P50ms and P99ms from the phone's send request to the POST.
	Stored Deliveries `json:"stored"`
	// StorageRatio is Stored.PerSecond / the storage reference's sends per
	// second (a received message writes the rows a send does).
	StorageRatio float64 `json:"storage_ratio"`
}

// phoneSent is the part of a sim phone send's answer the bench reads.
type phoneSent struct {
	Message struct {
		ID string `json:"id"`
	} `json:"message"`
}

// setupHooks points every live channel's messages.post webhook at rc.
func (e *env) setupHooks(ctx context.Context, rc *Receiver) error {
	for _, tok := range e.live {
		err := e.api.call(ctx, "PATCH", "/settings", tok, map[string]any{"webhooks": []any{map[string]any{
			"url": rc.URL, "mode": "body", "secret": "bench-secret-" + randHex(8),
			"events": []any{map[string]any{"type": "messages", "method": "post"}},
		}}}, nil)
		if err != nil {
			return err
		}
	}
	return nil
}

// phoneOp sends a text from recipient phone n%K to live channel worker%M
// (whose number is its linked sim phone's), records it as an event and,
// when rc is set, waits for its POST.
func (e *env) phoneOp(evs *events, rc *Receiver) Op {
	return func(ctx context.Context, worker, n int) error {
		ch := worker % len(e.live)
		body := `{"to":"` + e.livePhones[ch] + `","body":"bench incoming ` + strconv.Itoa(worker) + "-" + strconv.Itoa(n) + `"}`
		t0 := time.Now()
		code, raw, err := e.api.do(ctx, "POST", "/admin/sim/phones/"+e.recipients[n%len(e.recipients)]+"/messages", e.admin, []byte(body))
		if err != nil {
			return err
		}
		var r phoneSent
		if code != http.StatusCreated || json.Unmarshal(raw, &r) != nil || r.Message.ID == "" {
			return fmt.Errorf("sim phone send: HTTP %d: %.200s", code, raw)
		}
		evs.add(r.Message.ID, t0, time.Now())
		if rc != nil {
			return rc.Await(ctx, r.Message.ID, 30*time.Second)
		}
		return nil
	}
}

func (e *env) benchReceive(ctx context.Context) (*ReceiveReport, error) {
	if err := e.setupLive(ctx); err != nil {
		return nil, err
	}
	rc, err := NewReceiver()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if err := e.setupHooks(ctx, rc); err != nil {
		return nil, err
	}
	share := e.o.share(SectionReceive)
	rep := &ReceiveReport{Channels: len(e.live), Phones: len(e.recipients)}
	drain := max(30*time.Second, share)

	e.prog.stepf("receive: warming up")
	evs := &events{}
	warm := Drive(ctx, len(e.live), drain, len(e.live), e.phoneOp(evs, nil), nil)
	if warm.Requests == 0 {
		return rep, fmt.Errorf("no message sent by a sim phone: %s", warm.FirstError)
	}
	if err := rc.Wait(ctx, len(evs.list), drain); err != nil {
		return rep, err
	}
	rc.Reset()
	ref, err := e.storageRef(ctx)
	if err != nil {
		return rep, err
	}
	window := share * 2 / 3
	senders := e.o.Clients * ReceiveSenders
	e.prog.stepf("receive: %d sim phone senders to %d channels at full speed, %s", senders, len(e.live), window.Round(time.Millisecond))
	evs = &events{}
	start := time.Now()
	stop, stopStats := e.profile("receive"), e.pgStats(ctx, "receive")
	rep.Phone = Drive(ctx, senders, window, 0, e.phoneOp(evs, rc), func(n int) { e.prog.tickf("%d messages", n) })
	werr := rc.Wait(ctx, len(evs.list), drain)
	stopStats()
	stop()
	rep.Stored = rc.match(evs.list, start)
	rep.StorageRatio = ratio(rep.Stored.PerSecond, ref.SendsPerSecond)
	if werr != nil {
		return rep, werr
	}
	if rep.Phone.Requests == 0 {
		return rep, fmt.Errorf("no message sent by a sim phone: %s", rep.Phone.FirstError)
	}
	return rep, nil
}
