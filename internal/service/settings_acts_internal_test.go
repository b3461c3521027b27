package service

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wagate/wagate/internal/model"
)

// Whapi's own PATCH /settings example (with a real URL): the older event
// names map to the current ones, and every field is kept.
func TestSettingsPatchTakesWhapisExample(t *testing.T) {
	const example = `{"callback_backoff_delay_ms": 3000, "max_callback_backoff_delay_ms": 900000, "callback_persist": true,
		"media": {"auto_download": ["image", "document", "audio"], "init_avatars": true},
		"webhooks": [{"url": "https://hooks.example.com/wa", "events": [{"type": "ack", "method": "put"}, {"type": "chat", "method": "put"}], "mode": "method"}],
		"on_call_pager": "15551234567", "pass_through": false, "sent_status": false, "mobile_proxy": "",
		"proxy": "socks5://login:password@167.160.89.124:10030"}`
	var p ChannelSettingsPatch
	if err := json.Unmarshal([]byte(example), &p); err != nil {
		t.Fatal(err)
	}
	got, err := applySettingsPatch(model.DefaultChannelSettings(), p, false)
	if err != nil {
		t.Fatal(err)
	}
	wantEvents := []model.WebhookEvent{{Type: "statuses", Method: "put"}, {Type: "chats", Method: "put"}}
	if len(got.Webhooks) != 1 || !reflect.DeepEqual(got.Webhooks[0].Events, wantEvents) {
		t.Errorf("webhooks = %+v", got.Webhooks)
	}
	if got.OnCallPager != "15551234567" || got.PassThrough == nil || *got.PassThrough || got.SentStatus || got.DeliversOwnMessages() {
		t.Errorf("settings = %+v", got)
	}
	changes := settingsChanges(model.DefaultChannelSettings(), got)
	for _, want := range []string{"webhooks", "on_call_pager", "pass_through", "proxy", "media"} {
		found := false
		for _, c := range changes {
			found = found || c == want
		}
		if !found {
			t.Errorf("changes %v lack %s", changes, want)
		}
	}
	if _, err := applySettingsPatch(model.DefaultChannelSettings(), ChannelSettingsPatch{OnCallPager: new("nope")}, false); err == nil {
		t.Error("on_call_pager nope accepted")
	}
	if !model.DefaultChannelSettings().DeliversOwnMessages() {
		t.Error("pass_through defaults to off")
	}
}
