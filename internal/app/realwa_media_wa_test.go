package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/fakewa"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestMediaCallsPollsWhatsmeow plays the real-WhatsApp scenarios through
// the fake WhatsApp server: a received picture whose WhatsApp copy expired
// is fetched again through media retry (and is a 404 once the sender's
// phone deleted it too); a voice note sent as MP3 arrives as a
// push-to-talk Opus/OGG with its waveform; a poll's votes are tallied; a
// call is rejected automatically, with a text, and reported; call links
// are 501.
func TestMediaCallsPollsWhatsmeow(t *testing.T) {
	fw := fakewa.New(t, fakewa.Options{})
	w := startWA(t, fw, waConfig(t, storetest.Backends(t)[0]), waOptions(fw))
	c := w.newChannel(t, "wamedia", "15553200001")
	peer, err := fw.AddPeer(fakewa.PeerOptions{Phone: "15553200002", PushName: "Dora"})
	if err != nil {
		t.Fatal(err)
	}
	dora := peer.JID().User
	s := w.liveServer
	s.call(200, "PATCH", "/settings", c.tok, map[string]any{
		"calls": map[string]any{"reject": true, "reject_message": "Busy, please write"},
		"webhooks": []any{map[string]any{"url": c.hooks.srv.URL + "/c",
			"events": subscribe("channel.post", "messages.post", "messages.patch", "calls.post")}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// A received picture, fetched on demand; expired on WhatsApp: media
	// retry; gone from the phone too: 404.
	up, err := fw.Upload(pngBytes, wm.MediaImage)
	if err != nil {
		t.Fatal(err)
	}
	in, err := peer.Send(c.acct, &waE2E.Message{ImageMessage: &waE2E.ImageMessage{URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath),
		MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String("image/png")}})
	if err != nil {
		t.Fatal(err)
	}
	post := c.hooks.wait(t, "messages.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), in.ID) })
	img, _ := post.Body["messages"].([]any)[0].(map[string]any)["image"].(map[string]any)
	mediaID, _ := img["id"].(string)
	if mediaID == "" || img["link"] != "https://wa.example.test/media/"+mediaID {
		t.Fatalf("messages.post image = %v", img)
	}
	fw.ExpireMedia(up.DirectPath, 404)
	if code, body := s.try("GET", "/media/"+mediaID, c.tok, nil); code != 200 || body != string(pngBytes) {
		t.Fatalf("GET an expired received picture: %d %q", code, body)
	}
	if r := fw.MediaRetries(); len(r) != 1 || !r[0].Answered || r[0].MessageID != in.ID {
		t.Fatalf("media retries %+v", r)
	}
	peer.DeleteMedia(in.ID)
	s.call(200, "DELETE", "/media/"+mediaID, c.tok, nil)
	if code, body := s.try("GET", "/media/"+mediaID, c.tok, nil); code != 404 || !strings.Contains(body, "gone") {
		t.Fatalf("GET a picture gone everywhere: %d %s", code, body)
	}
	s.call(200, "GET", "/health", c.tok, nil) // the channel is unaffected

	// A voice note sent as MP3.
	mp3 := mp3Tone(t)
	sent := s.call(200, "POST", "/messages/voice", c.tok, map[string]any{"to": dora, "media": dataURI("audio/mpeg", mp3)})
	id := sent["message"].(map[string]any)["id"].(string)
	got, err := peer.Wait(ctx, func(r fakewa.Received) bool { return r.ID == id })
	if err != nil {
		t.Fatal(err)
	}
	a := got.Message.GetAudioMessage()
	if a == nil || !a.GetPTT() || a.GetMimetype() != "audio/ogg; codecs=opus" || a.GetSeconds() != 2 || len(a.GetWaveform()) != 64 {
		t.Fatalf("the voice note as the phone got it: %v", got.Message)
	}
	stored := sent["message"].(map[string]any)["voice"].(map[string]any)["id"].(string)
	if code, body := s.try("GET", "/media/"+stored, c.tok, nil); code != 200 || !strings.HasPrefix(body, "OggS") {
		t.Fatalf("the sent voice note: %d %.8q", code, body)
	}

	// A poll and its votes.
	poll := s.call(200, "POST", "/messages/poll", c.tok, map[string]any{"to": dora, "title": "Tea?", "options": []string{"Green", "Black"}})
	pollID := poll["message"].(map[string]any)["id"].(string)
	rec, err := peer.Wait(ctx, func(r fakewa.Received) bool { return r.ID == pollID })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peer.Vote(c.acct, rec, []string{"Black"}); err != nil {
		t.Fatal(err)
	}
	c.hooks.wait(t, "messages.patch", func(h hookCall) bool {
		return strings.Contains(string(h.Raw), pollID) && strings.Contains(string(h.Raw), `"voters":["`+dora+`"]`)
	})
	p := s.call(200, "GET", "/messages/"+pollID, c.tok, nil)["poll"].(map[string]any)
	if r := p["results"].([]any); num(p["total"]) != 1 || num(r[1].(map[string]any)["count"]) != 1 || num(r[0].(map[string]any)["count"]) != 0 {
		t.Fatalf("poll = %v", p)
	}

	// A call, rejected by the setting, reported, answered with the text.
	callID, err := peer.Call(c.acct, true)
	if err != nil {
		t.Fatal(err)
	}
	ring := c.hooks.wait(t, "calls.post", func(h hookCall) bool { return strings.Contains(string(h.Raw), callID) })
	ev := ring.Body["calls"].([]any)[0].(map[string]any)
	if ev["status"] != "ringing" || ev["from"] != dora || ev["video_call"] != true || ev["rejected"] != true {
		t.Fatalf("calls.post = %s", ring.Raw)
	}
	if cc, err := fw.WaitClientCall(ctx, func(cc fakewa.ClientCall) bool { return cc.CallID == callID }); err != nil || cc.Action != "reject" {
		t.Fatalf("reject stanza %+v: %v", cc, err)
	}
	if _, err := peer.Wait(ctx, func(r fakewa.Received) bool { return r.Message.GetConversation() == "Busy, please write" }); err != nil {
		t.Fatalf("the rejection text: %v", err)
	}
	if err := peer.EndCall(c.acct, callID, "reject"); err != nil {
		t.Fatal(err)
	}
	c.hooks.wait(t, "calls.post", func(h hookCall) bool {
		return strings.Contains(string(h.Raw), callID) && strings.Contains(string(h.Raw), `"status":"canceled"`)
	})
	if code, body := s.try("POST", "/calls", c.tok, map[string]any{"start_time": "1810202551"}); code != 501 || !strings.Contains(body, "call links") {
		t.Fatalf("POST /calls on whatsmeow: %d %s", code, body)
	}
	c.hooks.conforms(t, "WebhookPayload")
}
