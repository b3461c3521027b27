package gate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wagate/wagate/internal/httpx"
)

// formFields are the form fields that are not strings in the JSON body:
// numbers, booleans and lists (comma-separated or repeated).
var (
	formNumbers = map[string]bool{"seconds": true, "typing_time": true, "latitude": true, "longitude": true, "count": true,
		"accuracy": true, "speed": true, "degrees": true, "time_offset": true, "sequence_number": true, "ephemeral": true}
	formBools = map[string]bool{"view_once": true, "no_link_preview": true, "no_encode": true, "wide": true, "recording": true,
		"no_cache": true, "caption_in_preview": true}
	formLists = map[string]bool{"mentions": true, "options": true, "contacts": true}
)

// maxFormField is the longest multipart form field read (not a file).
const maxFormField = 64 << 10

// decodeBody decodes a request body into dst: JSON (whatever the
// Content-Type, as everywhere in the API, unless it is a form),
// multipart/form-data or application/x-www-form-urlencoded fields (files
// are refused: these operations take none). Other declared body types are
// 415. Field errors name the field.
func decodeBody(r *http.Request, dst any, required bool) error {
	return decodeBodyWith(r, dst, required, nil)
}

// decodeBodyWith is decodeBody where the form fields named in jsonFields
// hold JSON (an object, a list, a number), as the business operations'
// nested fields do in a form.
func decodeBodyWith(r *http.Request, dst any, required bool, jsonFields map[string]bool) error {
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return httpx.Errorf(http.StatusBadRequest, "multipart body: %v", err)
		}
		fields := url.Values{}
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return multipartError(r, err)
			}
			if p.FileName() != "" {
				return httpx.Errorf(http.StatusUnsupportedMediaType, "%s: this operation takes no file, only form fields", p.FormName())
			}
			v, err := io.ReadAll(io.LimitReader(p, maxFormField+1))
			if err != nil {
				return multipartError(r, err)
			}
			if len(v) > maxFormField {
				return httpx.Errorf(http.StatusBadRequest, "%s: a form field has at most %d KiB; give a file as a link or a media ID from POST /media",
					p.FormName(), maxFormField>>10)
			}
			fields.Add(p.FormName(), string(v))
		}
		return decodeFields(fields, dst, required, jsonFields)
	case mt == "application/x-www-form-urlencoded":
		body, err := httpx.ReadBody(r, httpx.MaxBodyBytes)
		if err != nil {
			return err
		}
		if t := bytes.TrimSpace(body); len(t) > 0 && (t[0] == '{' || t[0] == '[') { // curl -d '{...}'
			return httpx.DecodeBytes(body, dst, required, false)
		}
		fields, err := url.ParseQuery(string(body))
		if err != nil {
			return httpx.Errorf(http.StatusBadRequest, "form body: %v", err)
		}
		return decodeFields(fields, dst, required, jsonFields)
	case mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/plain":
		return httpx.Decode(r, dst, required)
	}
	return httpx.Errorf(http.StatusUnsupportedMediaType, "Content-Type %q is not accepted: send application/json, multipart/form-data or application/x-www-form-urlencoded", mt)
}

// decodeFields decodes form fields as the JSON object they stand for.
func decodeFields(fields url.Values, dst any, required bool, jsonFields map[string]bool) error {
	if len(fields) == 0 {
		return httpx.DecodeBytes(nil, dst, required, false)
	}
	obj := make(map[string]any, len(fields))
	for name, vs := range fields {
		v := vs[len(vs)-1]
		switch {
		case jsonFields[name]:
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				return httpx.Errorf(http.StatusBadRequest, "%s: must be JSON in a form field", name)
			}
			obj[name] = x
		case formLists[name]:
			var list []string
			for _, v := range vs {
				for _, item := range strings.Split(v, ",") {
					if item = strings.TrimSpace(item); item != "" {
						list = append(list, item)
					}
				}
			}
			obj[name] = list
		case formNumbers[name]:
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return httpx.Errorf(http.StatusBadRequest, "%s: must be a number", name)
			}
			obj[name] = n
		case formBools[name]:
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return httpx.Errorf(http.StatusBadRequest, "%s: must be true or false", name)
			}
			obj[name] = b
		default:
			obj[name] = v
		}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return httpx.Errorf(http.StatusBadRequest, "form body: %v", err)
	}
	return httpx.DecodeBytes(raw, dst, required, false)
}

// isURLEncoded reports a URL-encoded form body (curl -d sends JSON with
// this type too; decodeBody tells them apart).
func isURLEncoded(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}
