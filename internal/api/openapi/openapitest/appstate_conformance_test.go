package openapitest_test

import (
	"testing"
	"time"
)

// The Labels group and the sim phones' app state operations.
func init() {
	moreOperations = append(moreOperations,
		"GET /labels",
		"POST /labels",
		"GET /labels/{LabelID}",
		"POST /labels/{LabelID}/{AssociationID}",
		"DELETE /labels/{LabelID}/{AssociationID}",
		"GET /admin/sim/phones/{phone}/appstate",
		"PATCH /admin/sim/phones/{phone}/chats/{chat}",
		"POST /admin/sim/phones/{phone}/labels",
		"DELETE /admin/sim/phones/{phone}/labels/{LabelID}",
	)
}

// testAppStateLabels drives every Labels operation and the sim phones'
// chat settings and labels: a channel of the partner with token ptok
// linked to one phone, a chat with another.
func testAppStateLabels(t *testing.T, c *apiClient, ptok string) {
	t.Helper()
	const kim, lou, nobody = "15550007771", "15550007772", "15559999994"
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
	ch := c.call(200, "PUT", "/partner/channels", ptok, map[string]any{"name": "labels"})
	tok := str(ch, "token")
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": kim, "name": "Kim"})
	c.call(201, "POST", "/admin/sim/phones", adminToken, map[string]any{"phone": lou, "name": "Lou"})
	qr := c.call(200, "GET", "/users/login", tok, nil)
	c.call(200, "POST", "/admin/sim/phones/"+kim+"/link", adminToken, map[string]any{"qr": str(qr, "rowdata")})
	eventually("login", func() bool {
		st, _ := c.call(200, "GET", "/health?wakeup=false", tok, nil)["status"].(map[string]any)
		return st["text"] == "AUTH"
	})
	louChat := lou + "@s.whatsapp.net"
	c.call(201, "POST", "/admin/sim/phones/"+lou+"/messages", adminToken, map[string]any{"to": kim, "body": "hi"})
	eventually("lou's chat", func() bool { code, _ := c.try("GET", "/chats/"+louChat, tok, nil); return code == 200 })

	c.call(200, "GET", "/labels", tok, nil)
	c.call(200, "POST", "/labels", tok, map[string]any{"name": "VIP", "color": "violet"})
	c.call(400, "POST", "/labels", tok, map[string]any{"name": "VIP", "color": "teal"})
	c.call(409, "POST", "/labels", tok, map[string]any{"id": "1", "name": "VIP", "color": "violet"})
	c.call(200, "POST", "/labels/1/"+louChat, tok, nil)
	c.call(409, "POST", "/labels/1/"+louChat, tok, nil)
	c.call(400, "POST", "/labels/1/bad", tok, nil)
	c.call(404, "POST", "/labels/5/"+louChat, tok, nil)
	c.call(200, "GET", "/labels/1", tok, nil)
	c.call(200, "GET", "/chats/"+louChat, tok, nil)
	c.call(200, "GET", "/chats", tok, nil)
	c.call(404, "GET", "/labels/5", tok, nil)
	c.call(200, "DELETE", "/labels/1/"+louChat, tok, nil)
	c.call(404, "DELETE", "/labels/1/"+louChat, tok, nil)
	c.call(200, "POST", "/chats/"+louChat, tok, map[string]any{"archive": true})

	c.call(200, "GET", "/admin/sim/phones/"+kim+"/appstate", adminToken, nil)
	c.call(404, "GET", "/admin/sim/phones/"+nobody+"/appstate", adminToken, nil)
	c.call(200, "PATCH", "/admin/sim/phones/"+kim+"/chats/"+louChat, adminToken, map[string]any{"pin": true, "mute_until": -1})
	c.call(400, "PATCH", "/admin/sim/phones/"+kim+"/chats/"+louChat, adminToken, map[string]any{})
	c.call(404, "PATCH", "/admin/sim/phones/"+kim+"/chats/"+louChat, adminToken, map[string]any{"add_labels": []string{"42"}})
	l := c.call(200, "POST", "/admin/sim/phones/"+kim+"/labels", adminToken, map[string]any{"name": "Lead", "color": "gold"})
	c.call(400, "POST", "/admin/sim/phones/"+kim+"/labels", adminToken, map[string]any{"name": "", "color": "gold"})
	c.call(200, "PATCH", "/admin/sim/phones/"+kim+"/chats/"+louChat, adminToken, map[string]any{"add_labels": []string{str(l, "id")}})
	eventually("the phone's label", func() bool { code, _ := c.try("GET", "/labels/"+str(l, "id"), tok, nil); return code == 200 })
	c.call(200, "DELETE", "/admin/sim/phones/"+kim+"/labels/"+str(l, "id"), adminToken, nil)
	c.call(404, "DELETE", "/admin/sim/phones/"+kim+"/labels/"+str(l, "id"), adminToken, nil)
}
