package openapitest_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"testing"
	"time"
)

// pngDot is a valid 1x1 PNG.
var pngDot, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

// webpSticker is a valid 512x512 WebP (sent as it is); oggVoice 0.2 s of
// Opus in OGG (sent as it is without ffmpeg, converted with it).
var (
	webpSticker, _ = base64.StdEncoding.DecodeString("UklGRiwAAABXRUJQVlA4TCAAAAAv/8F/AAcQ9Y/+BwQCyf7eMxTR/4z//Oc///nPf/7zfw==")
	oggVoice, _    = os.ReadFile("testdata/voice.ogg")
)

func dataURI(mimeType string, b []byte) string {
	return "data:" + mimeType + ";base64," + base64.StdEncoding.EncodeToString(b)
}

// raw sends body with a Content-Type and wants status.
func (c *apiClient) raw(want int, method, path, token, contentType string, body []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, got)
	}
	c.seen[method+" "+path+" "+resp.Status] = true
}

// testMessagesChatsMedia drives the gate API's messages, chats and media
// routes: a channel of the partner with token ptok linked to a simulated
// phone writes to another phone, which writes back. expiredToken is a
// channel out of days.
func testMessagesChatsMedia(t *testing.T, c *apiClient, ptok, expiredToken string) {
	t.Helper()
	const carol, dave, nobody = "15550003333", "15550004444", "15559999998"
	daveChat := dave + "@s.whatsapp.net"
	ch := c.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "messages"})
	id, tok := str(ch, "id"), str(ch, "token")
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": carol, "name": "Carol"})
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": dave, "name": "Dave"})

	// Before the login: 401; out of days: 402.
	c.call(409, "POST", "/messages/text", tok, map[string]any{"to": dave, "body": "too early"})
	c.call(402, "POST", "/messages/text", expiredToken, map[string]any{"to": dave, "body": "no days"})
	qr := c.call(200, "GET", "/users/login", tok, nil)
	c.call(200, "POST", "/admin/sim/phones/"+carol+"/link", adminToken, map[string]any{"qr": str(qr, "rowdata")})
	c.waitAuth(t, tok)

	// Sending every kind.
	sent := c.call(200, "POST", "/messages/text", tok, map[string]any{"to": dave, "body": "hello Dave", "mentions": []any{dave}})
	textID := str(sent["message"].(map[string]any), "id")
	c.call(200, "POST", "/messages/text", tok, map[string]any{"to": dave, "body": "hello Dave (edited)", "edit": textID})
	c.call(400, "POST", "/messages/text", tok, map[string]any{"to": "not a number", "body": "x"})
	c.call(400, "POST", "/messages/text", tok, nil)
	c.call(400, "POST", "/messages/text", tok, map[string]any{"to": dave, "body": "x", "typing_time": 61})
	c.call(404, "POST", "/messages/text", tok, map[string]any{"to": nobody, "body": "anyone?"})
	img := c.call(200, "POST", "/messages/image", tok, map[string]any{"to": dave, "media": dataURI("image/png", pngDot), "caption": "a dot"})
	imgID := str(img["message"].(map[string]any), "id")
	c.call(400, "POST", "/messages/image", tok, map[string]any{"to": dave})
	c.call(400, "POST", "/messages/image", tok, map[string]any{"to": dave, "media": "http://127.0.0.1:1/dot.png"})
	c.call(415, "POST", "/messages/image", tok, map[string]any{"to": dave, "media": dataURI("text/html", []byte("<html>"))})
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	_ = mw.WriteField("to", dave)
	_ = mw.WriteField("caption", "multipart")
	fw, _ := mw.CreateFormFile("media", "dot.png")
	_, _ = fw.Write(pngDot)
	_ = mw.Close()
	c.raw(200, "POST", "/messages/image", tok, mw.FormDataContentType(), form.Bytes())
	c.raw(415, "POST", "/messages/text", tok, mw.FormDataContentType(), form.Bytes())
	for kind, body := range map[string]map[string]any{
		"video":        {"media": dataURI("video/mp4", []byte("\x00\x00\x00\x18ftypmp42 video")), "seconds": 3},
		"gif":          {"media": dataURI("video/mp4", []byte("\x00\x00\x00\x18ftypmp42 gif"))},
		"audio":        {"media": dataURI("audio/mpeg", []byte("ID3 audio"))},
		"voice":        {"media": dataURI("audio/ogg", oggVoice)},
		"document":     {"media": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 tiny")), "mime_type": "application/pdf", "filename": "offer.pdf"},
		"sticker":      {"media": dataURI("image/webp", webpSticker)},
		"location":     {"latitude": 52.52, "longitude": 13.405, "name": "Office"},
		"contact":      {"name": "Clara", "vcard": "BEGIN:VCARD\nVERSION:3.0\nFN:Clara\nEND:VCARD"},
		"link_preview": {"body": "see https://example.com/page", "title": "Example"},
		"poll":         {"title": "Lunch?", "options": []any{"Pizza", "Sushi"}, "count": 1},
	} {
		body["to"] = dave
		c.call(200, "POST", "/messages/"+kind, tok, body)
	}
	c.call(413, "POST", "/messages/sticker", tok, map[string]any{"to": dave, "media": dataURI("image/webp", make([]byte, 1<<20+1))})
	c.call(400, "POST", "/messages/poll", tok, map[string]any{"to": dave, "title": "?", "options": []any{"one"}})
	c.call(400, "POST", "/messages/location", tok, map[string]any{"to": dave, "latitude": 91, "longitude": 0})
	c.call(400, "POST", "/messages/contact", tok, map[string]any{"to": dave, "name": "X", "vcard": "nope"})
	c.call(400, "POST", "/messages/link_preview", tok, map[string]any{"to": dave, "body": "no link", "title": "T"})

	// Dave writes back; the channel receives it.
	c.call(201, "POST", "/admin/sim/phones/"+dave+"/messages", adminToken, map[string]any{"to": carol, "body": "hi Carol"})
	var inID string
	deadline := time.Now().Add(10 * time.Second)
	for inID == "" {
		l := c.call(200, "GET", "/messages/list/"+dave+"?from_me=false&count=1", tok, nil)
		if msgs, _ := l["messages"].([]any); len(msgs) > 0 {
			inID = str(msgs[0].(map[string]any), "id")
		} else if time.Now().After(deadline) {
			t.Fatal("the channel did not receive Dave's message")
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Reading and acting on messages.
	c.call(200, "GET", "/messages/list?count=5&offset=1&sort=asc", tok, nil)
	c.call(200, "GET", "/messages/list?time_from=0&time_to=4102444800&from_me=true", tok, nil)
	c.call(400, "GET", "/messages/list?sort=sideways", tok, nil)
	c.call(400, "GET", "/messages/list?time_from=-1", tok, nil)
	c.call(400, "GET", "/messages/list?time_from=20&time_to=10", tok, nil)
	c.call(200, "GET", "/messages/list/"+daveChat, tok, nil)
	c.call(404, "GET", "/messages/list/"+nobody, tok, nil) // a chat the channel does not have
	c.call(404, "GET", "/messages/list/not-a-chat", tok, nil)
	c.call(200, "GET", "/messages/"+textID, tok, nil)
	c.call(200, "GET", "/messages/"+imgID, tok, nil)
	c.call(404, "GET", "/messages/NOPE0000", tok, nil)
	c.call(404, "GET", "/messages/bad%20id", tok, nil)
	c.call(200, "PUT", "/messages/"+inID, tok, nil)
	c.call(400, "PUT", "/messages/"+textID, tok, nil)
	c.call(404, "PUT", "/messages/NOPE0000", tok, nil)
	c.call(200, "PUT", "/messages/"+inID+"/reaction", tok, map[string]any{"emoji": "👍"})
	c.call(400, "PUT", "/messages/"+inID+"/reaction", tok, map[string]any{"emoji": " "})
	c.call(400, "PUT", "/messages/"+inID+"/reaction", tok, map[string]any{"emoji": "ok"})
	c.call(404, "PUT", "/messages/NOPE0000/reaction", tok, map[string]any{"emoji": "👍"})
	c.call(200, "GET", "/messages/"+inID, tok, nil) // with its reaction
	c.call(200, "DELETE", "/messages/"+inID+"/reaction", tok, nil)
	c.call(404, "DELETE", "/messages/"+inID+"/reaction", tok, nil)
	c.call(200, "PUT", "/messages/"+textID+"/star", tok, nil)
	c.call(200, "PUT", "/messages/"+textID+"/star", tok, map[string]any{"starred": false})
	c.call(400, "PUT", "/messages/"+textID+"/star", tok, `{"starred":"yes"}`)
	c.call(404, "PUT", "/messages/NOPE0000/star", tok, nil)
	c.call(200, "POST", "/messages/"+imgID, tok, map[string]any{"to": dave})
	c.call(400, "POST", "/messages/"+imgID, tok, nil)
	c.call(404, "POST", "/messages/NOPE0000", tok, map[string]any{"to": dave})
	c.call(403, "DELETE", "/messages/"+inID, tok, nil)
	c.call(200, "DELETE", "/messages/"+textID, tok, nil)
	c.call(409, "DELETE", "/messages/"+textID, tok, nil)
	c.call(409, "POST", "/messages/"+textID, tok, map[string]any{"to": dave})
	c.call(404, "DELETE", "/messages/NOPE0000", tok, nil)

	// Chats.
	c.call(200, "GET", "/chats", tok, nil)
	c.call(200, "GET", "/chats?count=1&offset=0", tok, nil)
	c.call(400, "GET", "/chats?count=0", tok, nil)
	c.call(200, "GET", "/chats/"+dave, tok, nil)
	c.call(404, "GET", "/chats/"+nobody, tok, nil)
	c.call(200, "POST", "/chats/"+dave, tok, map[string]any{"archive": true})
	c.call(400, "POST", "/chats/"+dave, tok, map[string]any{})
	c.call(404, "POST", "/chats/"+nobody, tok, map[string]any{"archive": true})
	c.call(200, "PATCH", "/chats/"+dave, tok, map[string]any{"pin": true, "mute_until": int64(4102444800000), "mark_unread": true})
	c.call(200, "GET", "/chats/"+daveChat, tok, nil) // pinned, muted, unread
	c.call(200, "PATCH", "/chats/"+dave, tok, map[string]any{"mute_until": 0, "mark_unread": false})
	c.call(400, "PATCH", "/chats/"+dave, tok, map[string]any{})
	c.call(400, "PATCH", "/chats/"+dave, tok, map[string]any{"mute_until": 1000})
	c.call(404, "PATCH", "/chats/bad", tok, map[string]any{"pin": true})

	// Media.
	c.raw(200, "POST", "/media", tok, "application/pdf", []byte("%PDF-1.4 tiny"))
	c.raw(415, "POST", "/media", tok, "application/json", []byte(`{"media":"x"}`))
	c.raw(400, "POST", "/media", tok, "image/png", nil)
	files := c.call(200, "GET", "/media?count=1", tok, nil)
	c.call(400, "GET", "/media?offset=-1", tok, nil)
	list, _ := files["files"].([]any)
	if len(list) != 1 {
		t.Fatalf("GET /media = %v", files)
	}
	fileID := str(list[0].(map[string]any), "id")
	c.call(200, "GET", "/media/"+fileID, tok, nil)
	c.call(200, "DELETE", "/media/"+fileID, tok, nil)
	c.call(404, "GET", "/media/"+fileID, tok, nil)
	c.call(404, "DELETE", "/media/"+fileID, tok, nil)
	c.call(404, "GET", "/media/not-a-media-id", tok, nil)

	// Limits: what is left, and 402 past the chats of the month.
	c.call(200, "GET", "/limits", tok, nil)
	chats := c.call(200, "GET", "/admin/settings", adminToken, nil)["limit_chats_per_month"]
	c.call(200, "PATCH", "/admin/settings", adminToken, map[string]any{"limit_chats_per_month": 1})
	c.call(200, "POST", "/messages/text", tok, map[string]any{"to": dave, "body": "a chat of this month"})
	c.call(402, "POST", "/messages/text", tok, map[string]any{"to": "15559999997", "body": "a new chat"})
	c.call(200, "GET", "/limits", tok, nil)
	c.call(200, "PATCH", "/admin/settings", adminToken, map[string]any{"limit_chats_per_month": chats})

	// Forgetting the chat; stopped: 409 on the routes that need the channel
	// running.
	c.call(200, "DELETE", "/chats/"+dave, tok, nil)
	c.call(404, "DELETE", "/chats/"+dave, tok, nil)
	c.call(200, "POST", "/partner/channels/"+id+"/stop", ptok, nil)
	c.call(409, "POST", "/messages/text", tok, map[string]any{"to": dave, "body": "stopped"})
	c.call(409, "PUT", "/messages/"+inID, tok, nil)
	c.call(200, "GET", "/chats", tok, nil)
	c.call(200, "DELETE", "/partner/channels/"+id, ptok, nil)
	c.call(200, "POST", "/admin/sim/phones/"+carol+"/unlink", adminToken, nil)
}
