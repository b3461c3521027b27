package simapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
)

// testCallsVotesMedia drives the phones' calls, votes and media expiry
// and what channel ca (linked to alice's phone) sees of them: call events,
// RejectCall, decrypted-vote messages and DownloadMedia with a media retry.
func testCallsVotesMedia(t *testing.T, e *env, ca *channel) {
	phones := "/admin/sim/phones"
	ctx := context.Background()
	callEvent := func(id string, st engine.CallStatus) engine.Call {
		return ca.waitFor(t, func(ev engine.Event) bool {
			c, ok := ev.(engine.Call)
			return ok && c.ID == id && c.Status == st
		}).(engine.Call)
	}

	// Bob calls alice; the channel rejects it.
	c := e.call(200, "POST", phones+"/"+bob+"/calls", map[string]any{"to": alice, "video": true})
	id := c["id"].(string)
	if c["status"] != "ringing" || c["from"] != bob || c["to"] != alice || c["video"] != true {
		t.Fatalf("call %v", c)
	}
	if ev := callEvent(id, engine.CallOffer); ev.From != sim.JID(bob) || ev.Chat != sim.JID(bob) || !ev.Video || ev.Time.IsZero() {
		t.Fatalf("offer %+v", ev)
	}
	if err := ca.s.RejectCall(ctx, carol, id); !errors.Is(err, engine.ErrCallNotFound) {
		t.Fatalf("reject naming another caller: %v", err)
	}
	if err := ca.s.RejectCall(ctx, sim.JID(bob), id); err != nil {
		t.Fatal(err)
	}
	if ev := callEvent(id, engine.CallTerminate); ev.Reason != "reject" {
		t.Fatalf("terminate %+v", ev)
	}
	if err := ca.s.RejectCall(ctx, bob, id); !errors.Is(err, engine.ErrCallNotFound) {
		t.Fatalf("reject twice: %v", err)
	}
	list := e.call(200, "GET", phones+"/"+bob+"/calls", nil)["calls"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["status"] != "rejected" {
		t.Fatalf("bob's calls %v", list)
	}
	e.fail(400, "POST", phones+"/"+bob+"/calls", map[string]any{"to": bob}, "own number")
	e.fail(404, "POST", phones+"/"+bob+"/calls", map[string]any{"to": "15559999999"}, "not on WhatsApp")
	e.fail(400, "POST", phones+"/"+bob+"/calls", map[string]any{}, "to: required")

	// Answered, then ended; a call never answered ends as a timeout.
	id2 := e.call(200, "POST", phones+"/"+bob+"/calls", map[string]any{"to": alice})["id"].(string)
	e.fail(400, "POST", phones+"/"+bob+"/calls/"+id2+"/accept", nil, "not ringing at "+bob)
	if got := e.call(200, "POST", phones+"/"+alice+"/calls/"+id2+"/accept", nil); got["status"] != "answered" {
		t.Fatalf("accept %v", got)
	}
	callEvent(id2, engine.CallAccept)
	e.call(200, "POST", phones+"/"+bob+"/calls/"+id2+"/end", nil)
	if ev := callEvent(id2, engine.CallTerminate); ev.Reason != "" {
		t.Fatalf("end %+v", ev)
	}
	id3 := e.call(200, "POST", phones+"/"+bob+"/calls", map[string]any{"to": alice})["id"].(string)
	e.call(200, "POST", phones+"/"+bob+"/calls/"+id3+"/end", nil)
	if ev := callEvent(id3, engine.CallTerminate); ev.Reason != "timeout" {
		t.Fatalf("unanswered end %+v", ev)
	}
	e.fail(404, "POST", phones+"/"+carol+"/calls/"+id3+"/end", nil, "no sim phone")
	e.fail(404, "POST", phones+"/"+alice+"/calls/NOPE/accept", nil, "call not found")
	if link, err := ca.s.CallLink(ctx, true); err != nil || len(link) < 30 {
		t.Fatalf("call link %q %v", link, err)
	}

	// A poll alice's channel sent; bob votes.
	sent, err := ca.s.Send(ctx, bob, engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "Go?", Options: []string{"yes", "no"}, Selectable: 1}})
	if err != nil {
		t.Fatal(err)
	}
	e.call(200, "POST", phones+"/"+bob+"/vote", map[string]any{"id": sent.ID, "options": []string{"no"}})
	vote := ca.waitFor(t, func(ev engine.Event) bool {
		m, ok := ev.(engine.Message)
		return ok && m.Content.Kind == engine.KindPollVote
	}).(engine.Message)
	no := sha256.Sum256([]byte("no"))
	if v := vote.Content.PollVote; v.PollID != sent.ID || len(v.OptionHashes) != 1 || !bytes.Equal(v.OptionHashes[0], no[:]) || vote.Sender != sim.JID(bob) {
		t.Fatalf("vote %+v", vote)
	}
	e.fail(400, "POST", phones+"/"+bob+"/vote", map[string]any{"id": sent.ID, "options": []string{"yes", "no"}}, "allows 1")
	e.fail(400, "POST", phones+"/"+bob+"/vote", map[string]any{"id": sent.ID, "options": []string{"maybe"}}, "not an option")
	e.fail(404, "POST", phones+"/"+bob+"/vote", map[string]any{"id": "NOPE0000", "options": []string{}}, "no message")

	// A file bob sends: fetched by its Ref; expired: uploaded again; gone.
	data := []byte("a document's bytes")
	m := e.call(201, "POST", phones+"/"+bob+"/messages", map[string]any{"to": alice, "type": "document",
		"media": base64.StdEncoding.EncodeToString(data), "mime_type": "text/plain"})["message"].(map[string]any)
	got := ca.waitFor(t, func(ev engine.Event) bool { x, ok := ev.(engine.Message); return ok && x.ID == m["id"] }).(engine.Message)
	req := engine.MediaRequest{Ref: got.Content.Media.Ref, MessageID: got.ID, Chat: got.Chat, Sender: got.Sender}
	if b, err := ca.s.DownloadMedia(ctx, req); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("download %q %v", b, err)
	}
	e.call(200, "POST", phones+"/"+alice+"/media/"+got.ID+"/expire", nil)
	if b, err := ca.s.DownloadMedia(ctx, req); err != nil || !bytes.Equal(b, data) || e.net.MediaReuploads(got.ID) != 1 {
		t.Fatalf("download after expiry %q %v (%d re-uploads)", b, err, e.net.MediaReuploads(got.ID))
	}
	e.fail(404, "POST", phones+"/"+alice+"/media/"+got.ID+"/expire", map[string]any{"from_phone": true}, "did not send")
	e.call(200, "POST", phones+"/"+bob+"/media/"+got.ID+"/expire", map[string]any{"from_phone": true})
	if _, err := ca.s.DownloadMedia(ctx, req); !errors.Is(err, engine.ErrMediaGone) {
		t.Fatalf("download of a file gone everywhere: %v", err)
	}
	if _, err := ca.s.DownloadMedia(ctx, engine.MediaRequest{Ref: "nope"}); !errors.Is(err, engine.ErrInvalidContent) {
		t.Fatalf("bad ref: %v", err)
	}
	e.fail(404, "POST", phones+"/"+bob+"/media/NOPE0000/expire", nil, "no media message")
}
