package httpx

import (
	"encoding"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
)

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// checkKnownFields reports the object keys of v (a body decoded into any)
// that the Go type t has no field for, at any depth, as one 400 naming
// them all with their path ("webhooks[0].urll") and, when a known name is
// close, what it may stand for. Keys are matched as encoding/json matches
// them (case-insensitively), so what passes here is exactly what the
// decoder uses. Types that decode themselves (json.Unmarshaler,
// encoding.TextUnmarshaler), maps and interfaces take any keys.
func checkKnownFields(v any, t reflect.Type) error {
	var unknown []unknownField
	walkFields(v, t, "", &unknown)
	if len(unknown) == 0 {
		return nil
	}
	names := make([]string, len(unknown))
	var hints []string
	for i, u := range unknown {
		names[i] = fmt.Sprintf("%q", u.path)
		if u.hint != "" {
			hints = append(hints, fmt.Sprintf("%q for %q", u.hint, u.path))
		}
	}
	msg := "unknown field " + names[0]
	if len(names) > 1 {
		msg = "unknown fields " + strings.Join(names, ", ")
	}
	if len(hints) > 0 {
		msg += " (did you mean " + strings.Join(hints, ", ") + "?)"
	}
	details := ""
	if accepted := unknown[0].accepted; len(accepted) > 0 {
		details = "accepted here: " + strings.Join(accepted, ", ")
	}
	return &Error{Status: http.StatusBadRequest, Message: msg, Details: details}
}

type unknownField struct {
	path     string
	hint     string   // a known name close to it
	accepted []string // the names accepted where it was
}

func walkFields(v any, t reflect.Type, path string, out *[]unknownField) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		reflect.PointerTo(t).Implements(textUnmarshaler) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return // a type mismatch: the decoder names it
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f, ok := lookupField(fields, k)
			if !ok {
				names := make([]string, len(fields))
				for i, f := range fields {
					names[i] = f.name
				}
				*out = append(*out, unknownField{path: join(path, k), hint: closest(k, names), accepted: names})
				continue
			}
			walkFields(obj[k], f.typ, join(path, f.name), out)
		}
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok {
			return
		}
		for i, item := range list {
			walkFields(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, item := range obj {
			walkFields(item, t.Elem(), join(path, k), out)
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the JSON names of a struct's fields as encoding/json
// sees them: tags, untagged exported fields, and the fields of embedded
// structs without a tag.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonFields(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, typ: f.Type})
	}
	return out
}

// lookupField finds a key as encoding/json does: the exact name first,
// then a case-insensitive match.
func lookupField(fields []jsonField, key string) (jsonField, bool) {
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return jsonField{}, false
}

// closest returns the known name nearest to key when it is a likely typo
// (a small edit distance, ignoring case, '_' and '-'), else "".
func closest(key string, names []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
	}
	k := norm(key)
	if len(k) > 64 {
		return ""
	}
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(k, norm(n)); d < bestD {
			best, bestD = n, d
		}
	}
	if bestD > 2 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
