package app_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/app"
	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/store/storetest"
)

// Calls, poll votes, received media fetched on demand and sent media
// converted, on the sim engine through the HTTP API.

// mp3Tone makes 2 s of a tone as MP3 with ffmpeg; without ffmpeg the test
// is skipped, except in CI (.ci/run installs it), where it fails.
func mp3Tone(t *testing.T) []byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ffmpeg is not installed (CI installs it)")
		}
		t.Skip("ffmpeg is not installed")
	}
	out := filepath.Join(t.TempDir(), "tone.mp3")
	if b, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2", out).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func testCallsPollsMedia(t *testing.T, e *env) {
	const gil, hal, nobody = "15553330001", "15553330002", "15559999996"
	_, ptok := e.partner("calls", 20)
	tok, _ := e.linkedChannel(ptok, "Calls", gil)
	e.simPhone(hal, "Hal")
	callsOf := func(phone string) map[string]string {
		out := map[string]string{}
		for _, c := range e.ok(200, "GET", "/admin/sim/phones/"+phone+"/calls", adminToken, nil)["calls"].([]any) {
			m := c.(map[string]any)
			out[m["id"].(string)] = m["status"].(string)
		}
		return out
	}

	// Rejected by the channel's setting, with a text to the caller.
	e.ok(200, "PATCH", "/settings", tok, map[string]any{"calls": map[string]any{"reject": true, "reject_message": "Busy, write me"}})
	if s := e.ok(200, "GET", "/settings", tok, nil); s["calls"].(map[string]any)["reject_message"] != "Busy, write me" {
		t.Fatalf("settings = %v", s)
	}
	e.fail(400, "calls.reject_message", "PATCH", "/settings", tok, map[string]any{"calls": map[string]any{"reject_message": strings.Repeat("x", 4097)}})
	c1 := e.ok(200, "POST", "/admin/sim/phones/"+hal+"/calls", adminToken, map[string]any{"to": gil})["id"].(string)
	e.eventually("the call rejected", func() bool { return callsOf(hal)[c1] == "rejected" })
	e.eventually("the rejection text", func() bool {
		raw, _ := json.Marshal(e.ok(200, "GET", "/admin/sim/phones/"+hal+"/messages", adminToken, nil))
		return strings.Contains(string(raw), "Busy, write me")
	})
	e.fail(409, "no longer ringing", "DELETE", "/calls/"+c1, tok, nil)
	e.fail(404, "call", "DELETE", "/calls/UNKNOWN123", tok, map[string]any{"callFrom": hal})
	e.fail(400, "to", "POST", "/admin/sim/phones/"+hal+"/calls", adminToken, map[string]any{"to": hal})
	e.fail(404, "not on WhatsApp", "POST", "/admin/sim/phones/"+hal+"/calls", adminToken, map[string]any{"to": nobody})

	// Rejected through the API (the older path too), answered and ended.
	e.ok(200, "PATCH", "/settings", tok, map[string]any{"calls": map[string]any{"reject": false}})
	c2 := e.ok(200, "POST", "/admin/sim/phones/"+hal+"/calls", adminToken, map[string]any{"to": gil, "video": true})["id"].(string)
	e.eventually("the channel saw the call", func() bool {
		code, _ := e.do("POST", "/calls/"+c2+"/reject", tok, map[string]any{"callFrom": hal})
		return code == 200
	})
	if st := callsOf(hal)[c2]; st != "rejected" {
		t.Fatalf("call %s is %s", c2, st)
	}
	c3 := e.ok(200, "POST", "/admin/sim/phones/"+hal+"/calls", adminToken, map[string]any{"to": gil})["id"].(string)
	e.ok(200, "POST", "/admin/sim/phones/"+gil+"/calls/"+c3+"/accept", adminToken, nil)
	e.fail(400, "not ringing", "POST", "/admin/sim/phones/"+gil+"/calls/"+c3+"/accept", adminToken, nil)
	e.ok(200, "POST", "/admin/sim/phones/"+hal+"/calls/"+c3+"/end", adminToken, nil)
	e.fail(404, "no call", "POST", "/admin/sim/phones/"+hal+"/calls/NOPE/end", adminToken, nil)
	e.eventually("the answered call's end", func() bool {
		code, _ := e.do("DELETE", "/calls/"+c3, tok, nil)
		return code == 409
	})

	// Call links.
	if l := e.ok(200, "POST", "/calls", tok, map[string]any{"start_time": 1810202551}); !strings.HasPrefix(l["call_url"].(string), "https://call.whatsapp.com/") {
		t.Fatalf("call link %v", l)
	}
	e.ok(200, "POST", "/calls/group_link", tok, map[string]any{"start_time": "1810202551"})
	e.fail(400, "start_time", "POST", "/calls/group_link", tok, map[string]any{})

	// A poll: two votes, one changed, one withdrawn.
	poll := e.ok(200, "POST", "/messages/poll", tok, map[string]any{"to": hal, "title": "When?", "options": []string{"Mon", "Tue"}})
	pollID := poll["message"].(map[string]any)["id"].(string)
	e.ok(200, "POST", "/admin/sim/phones/"+hal+"/vote", adminToken, map[string]any{"id": pollID, "options": []string{"Mon"}})
	e.ok(200, "POST", "/admin/sim/phones/"+hal+"/vote", adminToken, map[string]any{"id": pollID, "options": []string{"Tue"}})
	results := func() (total int64, mon, tue string) {
		p := e.ok(200, "GET", "/messages/"+pollID, tok, nil)["poll"].(map[string]any)
		r := p["results"].([]any)
		a, _ := json.Marshal(r[0].(map[string]any)["voters"])
		b, _ := json.Marshal(r[1].(map[string]any)["voters"])
		return num(p["total"]), string(a), string(b)
	}
	e.eventually("the changed vote", func() bool {
		total, mon, tue := results()
		return total == 1 && mon == "[]" && tue == `["`+hal+`"]`
	})
	e.ok(200, "POST", "/admin/sim/phones/"+hal+"/vote", adminToken, map[string]any{"id": pollID, "options": []string{}})
	e.eventually("the withdrawn vote", func() bool { total, _, tue := results(); return total == 0 && tue == "[]" })
	e.fail(400, "options", "POST", "/admin/sim/phones/"+hal+"/vote", adminToken, map[string]any{"id": pollID, "options": []string{"Wed"}})
	e.fail(404, "id", "POST", "/admin/sim/phones/"+hal+"/vote", adminToken, map[string]any{"id": "NOPE0000", "options": []string{}})

	// A received picture: fetched when asked for, again through a media
	// retry after WhatsApp's copy expired, and 404 once gone everywhere.
	in := e.ok(201, "POST", "/admin/sim/phones/"+hal+"/messages", adminToken, map[string]any{
		"to": gil, "type": "image", "media": base64.StdEncoding.EncodeToString(pngBytes), "mime_type": "image/png"})
	inID := in["message"].(map[string]any)["id"].(string)
	img := e.messageOn(tok, inID)["image"].(map[string]any)
	mediaID := img["id"].(string)
	if img["link"] != "https://wa.example.test/media/"+mediaID || img["sha256"] != sha(pngBytes) {
		t.Fatalf("received image = %v", img)
	}
	get := func() (int, []byte) {
		code, body, _ := e.raw("GET", "/media/"+mediaID, tok, "", nil)
		return code, body
	}
	if code, body := get(); code != 200 || !bytes.Equal(body, pngBytes) {
		t.Fatalf("GET media: %d %q", code, body)
	}
	e.ok(200, "POST", "/admin/sim/phones/"+hal+"/media/"+inID+"/expire", adminToken, nil)
	e.ok(200, "DELETE", "/media/"+mediaID, tok, nil)
	if code, body := get(); code != 200 || !bytes.Equal(body, pngBytes) {
		t.Fatalf("GET media after a media retry: %d %q", code, body)
	}
	e.ok(200, "POST", "/admin/sim/phones/"+hal+"/media/"+inID+"/expire", adminToken, map[string]any{"from_phone": true})
	e.ok(200, "DELETE", "/media/"+mediaID, tok, nil)
	e.fail(404, "gone", "GET", "/media/"+mediaID, tok, nil)
	e.fail(404, "no media message", "POST", "/admin/sim/phones/"+gil+"/media/NOPE0000/expire", adminToken, nil)

	// With auto-download, a received file is stored as it arrives.
	e.ok(200, "PATCH", "/settings", tok, map[string]any{"media": map[string]any{"auto_download": []string{"document"}}})
	doc := e.ok(201, "POST", "/admin/sim/phones/"+hal+"/messages", adminToken, map[string]any{
		"to": gil, "type": "document", "media": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 auto")), "mime_type": "application/pdf", "file_name": "a.pdf"})
	docMedia := e.messageOn(tok, doc["message"].(map[string]any)["id"].(string))["document"].(map[string]any)["id"].(string)
	e.eventually("the document stored as it arrived", func() bool {
		raw, _ := json.Marshal(e.ok(200, "GET", "/media?count=100", tok, nil))
		return strings.Contains(string(raw), docMedia)
	})

	// A voice note sent as MP3 reaches the phone as Opus in OGG, with its
	// length and waveform.
	mp3 := mp3Tone(t)
	v := e.ok(200, "POST", "/messages/voice", tok, map[string]any{"to": hal, "media": dataURI("audio/mpeg", mp3)})
	vm := v["message"].(map[string]any)
	if vm["voice"].(map[string]any)["mime_type"] != "audio/ogg; codecs=opus" || num(vm["voice"].(map[string]any)["seconds"]) != 2 {
		t.Fatalf("voice = %v", vm)
	}
	var got map[string]any
	e.eventually("the voice note on the phone", func() bool {
		for _, m := range e.ok(200, "GET", "/admin/sim/phones/"+hal+"/messages", adminToken, nil)["messages"].([]any) {
			if mm := m.(map[string]any); mm["id"] == vm["id"] {
				got = mm
				return true
			}
		}
		return false
	})
	md := got["media"].(map[string]any)
	wave, _ := md["waveform"].([]any)
	if md["mime_type"] != "audio/ogg; codecs=opus" || num(md["seconds"]) != 2 || len(wave) != 64 {
		t.Fatalf("voice on the phone = %v", md)
	}
}

// TestCallAndPollWebhooks checks the calls and messages.patch webhooks of
// a rejected call and a poll vote against the document.
func TestCallAndPollWebhooks(t *testing.T) {
	s := startHooked(t, testConfig(t, storetest.Backends(t)[0]), app.Options{})
	hooks := newReceiver(t)
	const me, ivy = "15556660001", "15556660002"
	ptok := s.call(201, "POST", "/admin/partners", adminToken, map[string]any{"name": "cw", "email": "cw@example.test", "days": 5})["token"].(string)
	tok := s.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "CW"})["token"].(string)
	for _, p := range []string{me, ivy} {
		s.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": p, "name": "P" + p[len(p)-1:]})
	}
	s.linkQR(tok, me)
	s.call(200, "PATCH", "/settings", tok, map[string]any{"calls": map[string]any{"reject": true},
		"webhooks": []any{map[string]any{"url": hooks.srv.URL, "events": subscribe("calls.post", "messages.patch")}}})

	call := s.call(200, "POST", "/admin/sim/phones/"+ivy+"/calls", adminToken, map[string]any{"to": me, "video": true})
	id := call["id"].(string)
	ring := hooks.wait(t, "calls.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"status":"ringing"`) })
	end := hooks.wait(t, "calls.post", func(c hookCall) bool { return strings.Contains(string(c.Raw), `"reason":"reject"`) })
	for _, c := range []hookCall{ring, end} {
		ev := c.Body["calls"].([]any)[0].(map[string]any)
		if ev["id"] != id || ev["from"] != ivy || ev["chat_id"] != ivy+"@s.whatsapp.net" || ev["video_call"] != true || ev["rejected"] != true {
			t.Fatalf("calls.post = %s", c.Raw)
		}
	}
	if ev := end.Body["calls"].([]any)[0].(map[string]any); ev["status"] != "canceled" {
		t.Fatalf("the rejected call's end = %s", end.Raw)
	}

	poll := s.call(200, "POST", "/messages/poll", tok, map[string]any{"to": ivy, "title": "Yes?", "options": []string{"Yes", "No"}})
	pollID := poll["message"].(map[string]any)["id"].(string)
	s.call(200, "POST", "/admin/sim/phones/"+ivy+"/vote", adminToken, map[string]any{"id": pollID, "options": []string{"No"}})
	patch := hooks.wait(t, "messages.patch", func(c hookCall) bool { return strings.Contains(string(c.Raw), pollID) })
	if !strings.Contains(string(patch.Raw), `"voters":["`+ivy+`"]`) || !strings.Contains(string(patch.Raw), `"total":1`) {
		t.Fatalf("messages.patch = %s", patch.Raw)
	}
	hooks.conforms(t, "WebhookPayload")
}

// TestSendWithoutFFmpeg: without ffmpeg, a send that needs a conversion
// is a 415 naming it; what needs none goes as it is (an Opus voice note, a
// WebP sticker, a video without a thumbnail). A file ffmpeg cannot
// convert is a 400, and the channel goes on.
func TestSendWithoutFFmpeg(t *testing.T) {
	v := openapitest.New(t)
	e := newEnvWith(t, v, storetest.Backends(t)[0], func(c *config.Config, _ *app.Options) { c.FFmpeg = "off" })
	const jo, kim = "15553340001", "15553340002"
	_, ptok := e.partner("noff", 20)
	tok, _ := e.linkedChannel(ptok, "NoFF", jo)
	e.simPhone(kim, "Kim")
	e.fail(415, "ffmpeg", "POST", "/messages/voice", tok, map[string]any{"to": kim, "media": dataURI("audio/mpeg", []byte("ID3 an mp3"))})
	e.fail(415, "apt-get install ffmpeg", "POST", "/messages/sticker", tok, map[string]any{"to": kim, "media": dataURI("image/png", pngBytes)})
	e.fail(415, "ffmpeg", "POST", "/messages/gif", tok, map[string]any{"to": kim, "media": dataURI("image/gif", []byte("GIF89a"))})
	v1 := e.ok(200, "POST", "/messages/voice", tok, map[string]any{"to": kim, "media": dataURI("audio/ogg", oggVoice)})
	if vm := v1["message"].(map[string]any)["voice"].(map[string]any); vm["mime_type"] != "audio/ogg; codecs=opus" || num(vm["seconds"]) != 1 {
		t.Fatalf("an Opus voice note without ffmpeg = %v", vm)
	}
	e.ok(200, "POST", "/messages/sticker", tok, map[string]any{"to": kim, "media": dataURI("image/webp", webpSticker)})
	e.ok(200, "POST", "/messages/video", tok, map[string]any{"to": kim, "media": dataURI("video/mp4", []byte("\x00\x00\x00\x18ftypmp42 video"))})

	// With ffmpeg: a hostile voice note is a 400; the channel is fine.
	mp3Tone(t) // skips without ffmpeg (fails in CI)
	e2 := newEnv(t, v, storetest.Backends(t)[0])
	_, ptok2 := e2.partner("ff", 20)
	tok2, _ := e2.linkedChannel(ptok2, "FF", "15553340003")
	e2.simPhone(kim, "Kim")
	e2.fail(400, "could not be converted", "POST", "/messages/voice", tok2, map[string]any{"to": kim, "media": dataURI("audio/mpeg", []byte("ID3 not really audio"))})
	e2.fail(400, "could not be converted", "POST", "/messages/sticker", tok2, map[string]any{"to": kim, "media": dataURI("image/png", []byte("\x89PNG\r\n\x1a\n broken"))})
	e2.ok(200, "POST", "/messages/text", tok2, map[string]any{"to": kim, "body": "still here"})
	e2.waitHealth(tok2, "AUTH")
}
