package httpx

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/model"
)

type fuzzBody struct {
	Days     int64               `json:"days"`
	Comment  string              `json:"comment"`
	SaveDays *bool               `json:"saveDays"`
	Trial    model.Optional[int] `json:"trial_days"`
	Hooks    []struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Events  []struct {
			Type string `json:"type"`
		} `json:"events"`
	} `json:"webhooks"`
	Extra any `json:"extra"`
}

// FuzzDecode: request decoding never panics, answers only 400 or 413
// (*Error), and the strict decoder accepts nothing the lenient one refuses,
// decoding it the same way.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"days": 3, "comment": "x"}`, `{"saveDay": true}`, `{"saveDays": true, "SAVEDAYS": false}`,
		`{"trial_days": null}`, `{"trial_days": "7"}`, `{"webhooks": [{"url": "u", "urll": 1, "events": [{"typ": "x"}]}]}`,
		`{"webhooks": [{"headers": {"a": "b"}}]}`, `{"extra": {"anything": [1, {"goes": true}]}}`, `[1,2]`, `null`, ``, `   `,
		`{"days": 1e400}`, `{"days": 9223372036854775808}`, `{"comment": "\ud800"}`, `{"a":1} {"b":2}`, `{"<b>":"</b>"}`,
		`{"days": -0, "comment": "\u0000"}`, `{"days": 1,}`, "\xff\xfe", `{"` + strings.Repeat("a", 200) + `": 1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var lenient, strict fuzzBody
		lerr := Decode(httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body)), &lenient, false)
		serr := DecodeStrict(httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body)), &strict, false)
		for _, err := range []error{lerr, serr} {
			var he *Error
			if err != nil && (!errors.As(err, &he) || (he.Status != 400 && he.Status != 413)) {
				t.Fatalf("decoding %q: %v is not a 400 or 413", body, err)
			}
		}
		if serr == nil {
			if lerr != nil {
				t.Fatalf("strict accepted %q, lenient refused it: %v", body, lerr)
			}
			if !reflect.DeepEqual(lenient, strict) {
				t.Fatalf("%q decodes differently: %+v / %+v", body, lenient, strict)
			}
		}
	})
}
