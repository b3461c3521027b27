package service

import (
	"fmt"
	"reflect"
	"strings"
)

// The one rule for U+0000 (NUL), on SQLite and PostgreSQL alike (PostgreSQL
// text cannot hold it): a request that would send it is refused with a
// 400 naming the field, before anything is sent (checkSend); what arrives
// from WhatsApp with it (message texts, names of chats, contacts and
// groups...) is kept with U+FFFD in its place, never dropped.

// nulFree refuses a string holding U+0000.
func nulFree(field, v string) error {
	if strings.IndexByte(v, 0) >= 0 {
		return invalid(field, "must not contain U+0000 (the NUL character)")
	}
	return nil
}

// sendNULFree refuses a send with U+0000 in any of its fields.
func sendNULFree(r SendRequest) error {
	for _, f := range []struct{ name, v string }{
		{"to", r.To}, {"body", r.Body}, {"caption", r.Caption}, {"media", r.Media}, {"mime_type", r.MimeType},
		{"filename", r.FileName}, {"quoted", r.Quoted}, {"edit", r.Edit}, {"name", r.Name}, {"address", r.Address},
		{"url", r.URL}, {"vcard", r.VCard}, {"title", r.Title}, {"description", r.Description},
		{"canonical", r.Canonical}, {"preview", r.Preview},
	} {
		if err := nulFree(f.name, f.v); err != nil {
			return err
		}
	}
	for i, v := range r.Options {
		if err := nulFree(fmt.Sprintf("options[%d]", i), v); err != nil {
			return err
		}
	}
	for i, v := range r.Mentions {
		if err := nulFree(fmt.Sprintf("mentions[%d]", i), v); err != nil {
			return err
		}
	}
	return nil
}

// replaceNUL returns v with U+0000 replaced by U+FFFD in every string it
// holds, in fields, slices, maps and what pointers and interfaces lead to,
// at any depth. What holds no NUL is returned as it is; what does is
// copied, so v's own data (an engine's event) is never written. Byte
// slices (file contents) and functions are left alone.
func replaceNUL[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	if out, changed := scrubNUL(rv, 0); changed {
		return out.Interface().(T)
	}
	return v
}

// maxScrubDepth bounds the walk (engine events are a few levels deep; a
// cycle would otherwise never end).
const maxScrubDepth = 16

func scrubNUL(v reflect.Value, depth int) (reflect.Value, bool) {
	if depth > maxScrubDepth || !v.IsValid() {
		return v, false
	}
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if strings.IndexByte(s, 0) < 0 {
			return v, false
		}
		out := reflect.New(v.Type()).Elem()
		out.SetString(strings.ReplaceAll(s, "\x00", "\uFFFD"))
		return out, true
	case reflect.Struct:
		var out reflect.Value
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			f, changed := scrubNUL(v.Field(i), depth+1)
			if !changed {
				continue
			}
			if !out.IsValid() {
				out = reflect.New(v.Type()).Elem()
				out.Set(v)
			}
			out.Field(i).Set(f)
		}
		if out.IsValid() {
			return out, true
		}
	case reflect.Pointer:
		if v.IsNil() {
			return v, false
		}
		if e, changed := scrubNUL(v.Elem(), depth+1); changed {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(e)
			return p, true
		}
	case reflect.Interface:
		if v.IsNil() {
			return v, false
		}
		if e, changed := scrubNUL(v.Elem(), depth+1); changed {
			out := reflect.New(v.Type()).Elem()
			out.Set(e)
			return out, true
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v, false
		}
		var out reflect.Value
		for i := range v.Len() {
			e, changed := scrubNUL(v.Index(i), depth+1)
			if !changed {
				continue
			}
			if !out.IsValid() {
				if v.Kind() == reflect.Slice {
					out = reflect.MakeSlice(v.Type(), v.Len(), v.Len())
					reflect.Copy(out, v)
				} else {
					out = reflect.New(v.Type()).Elem()
					out.Set(v)
				}
			}
			out.Index(i).Set(e)
		}
		if out.IsValid() {
			return out, true
		}
	case reflect.Map:
		if v.IsNil() {
			return v, false
		}
		changed := false
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			k, kc := scrubNUL(it.Key(), depth+1)
			e, ec := scrubNUL(it.Value(), depth+1)
			changed = changed || kc || ec
			out.SetMapIndex(k, e)
		}
		if changed {
			return out, true
		}
	}
	return v, false
}
