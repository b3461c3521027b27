package gate

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
)

// FuzzSplitJSONField: the streaming reader of media sends agrees with
// encoding/json on every JSON object: the media string it streams is the
// string the standard decoder reads, and the other fields come out the
// same.
func FuzzSplitJSONField(f *testing.F) {
	for _, s := range []string{
		`{"to":"1555","media":"data:image/png;base64,iVBORw0KGgo=","caption":"x"}`,
		`{"media":"https:\/\/x.example\/a.png"}`, `{"MEDIA":"x"}`, `{"media":1}`, `{"media":null,"to":[1,{"a":"}"}]}`,
		`{"media":"\ud83d\ude00\ud83d"}`, `{"media":"a\\\"b\u0000"}`, `{}`, ` { } `, `[1]`, `{"media":"x","media":"y"}`,
		`{"to": tru}`, `{"a":1,}`, `{"a" 1}`, `{"a":"b"} x`, `"str"`, `{"media":"x"`, `{"n": -1.5e3, "b": false, "z": null}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var streamed string
		took := false
		rest, err := splitJSONField(strings.NewReader(body), "media", 1<<20, func(r io.Reader) (string, error) {
			b, err := io.ReadAll(r)
			streamed, took = string(b), true
			return "", err
		})
		var whole map[string]any
		if json.Unmarshal([]byte(body), &whole) != nil || whole == nil {
			return // not an object: the decoder names what is wrong
		}
		mediaKeys := 0
		var media any
		for k, v := range whole {
			if strings.EqualFold(k, "media") {
				mediaKeys++
				media = v
			}
		}
		if mediaKeys > 1 || hasDuplicateKeys(body) {
			return // refused ("appears twice") or last-one-wins: both fine
		}
		if err != nil && hasLongKey(body) {
			return // refused: field names are at most 1 KiB as written
		}
		if err != nil {
			t.Fatalf("valid object %q refused: %v", body, err)
		}
		var got map[string]any
		if err := json.Unmarshal(rest, &got); err != nil {
			t.Fatalf("%q: the rest %q is not JSON: %v", body, rest, err)
		}
		if s, ok := media.(string); ok {
			if !took || streamed != s {
				t.Fatalf("%q: streamed media %q, encoding/json reads %q", body, streamed, s)
			}
			for k := range whole {
				if strings.EqualFold(k, "media") {
					delete(whole, k)
				}
			}
			delete(got, "media")
		}
		if !reflect.DeepEqual(whole, got) {
			t.Fatalf("%q: other fields %v, encoding/json reads %v", body, got, whole)
		}
	})
}

// hasDuplicateKeys reports whether a JSON object repeats a top-level key.
func hasDuplicateKeys(body string) bool {
	dec := json.NewDecoder(strings.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		k, _ := t.(string)
		if seen[k] {
			return true
		}
		seen[k] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// hasLongKey says whether a field name of the object body is longer than
// 1 KiB as written, quotes and escapes included.
func hasLongKey(body string) bool {
	dec := json.NewDecoder(strings.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		before := dec.InputOffset()
		if _, err := dec.Token(); err != nil {
			return false
		}
		if raw := strings.TrimLeft(body[before:dec.InputOffset()], " \t\r\n,"); len(raw) > 1<<10 {
			return true
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// FuzzBase64Reader: the streaming base64 decoder reads what
// encoding/base64 wrote, padded or not, with line breaks anywhere.
func FuzzBase64Reader(f *testing.F) {
	f.Add([]byte("hello"), false, uint8(0))
	f.Add([]byte{}, true, uint8(3))
	f.Add(bytes.Repeat([]byte{0xff, 0, 1}, 1000), false, uint8(76))
	f.Fuzz(func(t *testing.T, data []byte, raw bool, wrap uint8) {
		enc := base64.StdEncoding.EncodeToString(data)
		if raw {
			enc = strings.TrimRight(enc, "=")
		}
		if wrap > 0 {
			var b strings.Builder
			for i := 0; i < len(enc); i += int(wrap) {
				b.WriteString(enc[i:min(i+int(wrap), len(enc))])
				b.WriteString("\r\n")
			}
			enc = b.String()
		}
		got, err := io.ReadAll(&base64Reader{src: strings.NewReader(enc)})
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("decoded %d bytes (%v), want %d", len(got), err, len(data))
		}
	})
}
