package gate

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/wire"
)

// A listing appended by hand is what httpx.Marshal writes for it.
func TestMessageListJSON(t *testing.T) {
	for _, l := range []messageList{
		{Messages: []wire.Message{}},
		{Messages: []wire.Message{{ID: "A", Type: "text", ChatID: "1@s.whatsapp.net", Content: json.RawMessage(`{"body":"<hi> & \"you\""}`)},
			{ID: "B", Type: "image", Content: json.RawMessage(`{ "id" : "m" }`), Context: json.RawMessage(`{"quoted_id":"A"}`)}},
			Count: 2, Total: 1234, Offset: 40, First: 40, Last: 41},
	} {
		want, err := httpx.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		got, err := l.appendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
}
