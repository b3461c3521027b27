package openapitest_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// try is call without a wanted status: for waiting until something
// happened (the answer is validated all the same).
func (c *apiClient) try(method, path, token string, body any) (int, map[string]any) {
	c.t.Helper()
	var code int
	out := c.callStatus(&code, method, path, token, body)
	return code, out
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// testCallsPollsReceivedMedia drives the Calls group, the call settings,
// poll votes and received files fetched on demand (with a media retry)
// through the sim phones' endpoints: a channel of the partner with token
// ptok linked to one phone, another phone calling, voting and sending.
func testCallsPollsReceivedMedia(t *testing.T, c *apiClient, ptok string) {
	t.Helper()
	const eve, fay, nobody = "15550005555", "15550006666", "15559999997"
	eventually := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not in time", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	ch := c.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "calls"})
	tok := str(ch, "token")
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": eve, "name": "Eve"})
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": fay, "name": "Fay"})
	qr := c.call(200, "GET", "/users/login", tok, nil)
	c.call(200, "POST", "/admin/sim/phones/"+eve+"/link", adminToken, map[string]any{"qr": str(qr, "rowdata")})
	eventually("login", func() bool {
		st, _ := c.call(200, "GET", "/health?wakeup=false", tok, nil)["status"].(map[string]any)
		return st["text"] == "AUTH"
	})
	callStatus := func(id string) string {
		l := c.call(200, "GET", "/admin/sim/phones/"+fay+"/calls", adminToken, nil)
		calls, _ := l["calls"].([]any)
		for _, x := range calls {
			if m := x.(map[string]any); m["id"] == id {
				return str(m, "status")
			}
		}
		return ""
	}

	// Calls rejected by the setting: the caller's phone sees it rejected
	// and gets the text.
	set := c.call(200, "PATCH", "/settings", tok, map[string]any{"calls": map[string]any{"reject": true, "reject_message": "Please write instead"}})
	if after, _ := set["after_update"].(map[string]any); after["calls"].(map[string]any)["reject"] != true {
		t.Fatalf("settings = %v", set)
	}
	c.call(400, "PATCH", "/settings", tok, map[string]any{"calls": map[string]any{"reject_message": strings.Repeat("x", 4097)}})
	call := c.call(200, "POST", "/admin/sim/phones/"+fay+"/calls", adminToken, map[string]any{"to": eve, "video": true})
	rejected := str(call, "id")
	eventually("the call rejected", func() bool { return callStatus(rejected) == "rejected" })
	eventually("the rejection text", func() bool {
		l := c.call(200, "GET", "/admin/sim/phones/"+fay+"/messages", adminToken, nil)
		return strings.Contains(strings.Join(strings.Fields(toJSON(l)), ""), "Pleasewriteinstead")
	})
	c.call(400, "POST", "/admin/sim/phones/"+fay+"/calls", adminToken, map[string]any{"to": fay})
	c.call(400, "POST", "/admin/sim/phones/"+fay+"/calls", adminToken, map[string]any{})
	c.call(404, "POST", "/admin/sim/phones/"+fay+"/calls", adminToken, map[string]any{"to": nobody})
	c.call(404, "GET", "/admin/sim/phones/"+nobody+"/calls", adminToken, nil)
	c.call(409, "POST", "/calls/"+rejected+"/reject", tok, map[string]any{"callFrom": fay})

	// Rejected through the API.
	c.call(200, "PATCH", "/settings", tok, map[string]any{"calls": map[string]any{"reject": false}})
	ringing := str(c.call(200, "POST", "/admin/sim/phones/"+fay+"/calls", adminToken, map[string]any{"to": eve}), "id")
	c.call(404, "DELETE", "/calls/NOPE0000", tok, map[string]any{"callFrom": fay})
	eventually("the channel saw the call", func() bool {
		code, _ := c.try("DELETE", "/calls/"+ringing, tok, map[string]any{"callFrom": eve})
		return code == 400 // known now: from someone else
	})
	c.call(400, "DELETE", "/calls/"+ringing, tok, map[string]any{"callFrom": "not a number"})
	c.call(200, "DELETE", "/calls/"+ringing, tok, map[string]any{"callFrom": fay})
	if st := callStatus(ringing); st != "rejected" {
		t.Fatalf("call %s is %s", ringing, st)
	}
	c.call(409, "DELETE", "/calls/"+ringing, tok, nil)

	// Answered, then ended, on the phones.
	answered := str(c.call(200, "POST", "/admin/sim/phones/"+fay+"/calls", adminToken, map[string]any{"to": eve}), "id")
	c.call(200, "POST", "/admin/sim/phones/"+eve+"/calls/"+answered+"/accept", adminToken, nil)
	c.call(400, "POST", "/admin/sim/phones/"+eve+"/calls/"+answered+"/accept", adminToken, nil)
	c.call(200, "POST", "/admin/sim/phones/"+fay+"/calls/"+answered+"/end", adminToken, nil)
	c.call(404, "POST", "/admin/sim/phones/"+fay+"/calls/NOPE/end", adminToken, nil)
	c.call(404, "POST", "/admin/sim/phones/"+fay+"/calls/NOPE/accept", adminToken, nil)

	// Call links.
	if l := c.call(200, "POST", "/calls", tok, map[string]any{"start_time": "1810202551"}); !strings.HasPrefix(str(l, "call_url"), "https://call.whatsapp.com/voice/") {
		t.Fatalf("call link %v", l)
	}
	c.call(200, "POST", "/calls", tok, map[string]any{"start_time": 1810202551})
	c.call(400, "POST", "/calls", tok, map[string]any{})
	c.call(400, "POST", "/calls", tok, nil)
	if l := c.call(200, "POST", "/calls/group_link", tok, map[string]any{"start_time": "1810202551"}); !strings.HasPrefix(str(l, "link"), "https://call.whatsapp.com/video/") {
		t.Fatalf("group call link %v", l)
	}
	c.call(400, "POST", "/calls/group_link", tok, map[string]any{"start_time": "soon"})

	// A poll gets votes: who chose what.
	poll := c.call(200, "POST", "/messages/poll", tok, map[string]any{"to": fay, "title": "Lunch?", "options": []string{"Pizza", "Sushi", "Salad"}})
	pollID := str(poll["message"].(map[string]any), "id")
	c.call(200, "POST", "/admin/sim/phones/"+fay+"/vote", adminToken, map[string]any{"id": pollID, "options": []string{"Sushi", "Salad"}})
	eventually("the vote tallied", func() bool {
		m := c.call(200, "GET", "/messages/"+pollID, tok, nil)
		p, _ := m["poll"].(map[string]any)
		res, _ := p["results"].([]any)
		return len(res) == 3 && num(p["total"]) == 1 && num(res[1].(map[string]any)["count"]) == 1 &&
			toJSON(res[2].(map[string]any)["voters"]) == `["`+fay+`"]` && num(res[0].(map[string]any)["count"]) == 0
	})
	c.call(400, "POST", "/admin/sim/phones/"+fay+"/vote", adminToken, map[string]any{"id": pollID, "options": []string{"Tacos"}})
	c.call(400, "POST", "/admin/sim/phones/"+fay+"/vote", adminToken, map[string]any{"id": pollID, "options": []string{"Pizza", "Pizza"}})
	c.call(400, "POST", "/admin/sim/phones/"+fay+"/vote", adminToken, map[string]any{"id": pollID})
	c.call(404, "POST", "/admin/sim/phones/"+fay+"/vote", adminToken, map[string]any{"id": "NOPE0000", "options": []string{}})

	// A received picture is fetched when asked for; once WhatsApp's copy
	// expired, through a media retry; gone everywhere, a 404 saying so.
	sent := c.call(201, "POST", "/admin/sim/phones/"+fay+"/messages", adminToken, map[string]any{
		"to": eve, "type": "image", "media": base64.StdEncoding.EncodeToString(pngDot), "mime_type": "image/png"})
	msgID := str(sent["message"].(map[string]any), "id")
	var mediaID string
	eventually("the picture received", func() bool {
		_, m := c.try("GET", "/messages/"+msgID, tok, nil)
		img, _ := m["image"].(map[string]any)
		mediaID = str(img, "id")
		return mediaID != "" && strings.HasSuffix(str(img, "link"), "/media/"+mediaID)
	})
	c.call(200, "GET", "/media/"+mediaID, tok, nil)
	c.call(200, "POST", "/admin/sim/phones/"+fay+"/media/"+msgID+"/expire", adminToken, nil)
	c.call(200, "DELETE", "/media/"+mediaID, tok, nil) // the cached copy
	c.call(200, "GET", "/media/"+mediaID, tok, nil)    // uploaded again by the phone
	c.call(200, "POST", "/admin/sim/phones/"+fay+"/media/"+msgID+"/expire", adminToken, map[string]any{"from_phone": true})
	c.call(200, "DELETE", "/media/"+mediaID, tok, nil)
	if e := c.call(404, "GET", "/media/"+mediaID, tok, nil); !strings.Contains(toJSON(e), "gone") {
		t.Fatalf("a file gone everywhere: %v", e)
	}
	c.call(404, "POST", "/admin/sim/phones/"+fay+"/media/NOPE0000/expire", adminToken, nil)
	c.call(400, "POST", "/admin/sim/phones/"+fay+"/media/"+msgID+"/expire", adminToken, `{"from_phone":"yes"}`)
}
