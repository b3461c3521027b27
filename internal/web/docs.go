package web

import (
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// The API reference at /docs, rendered by wagate itself from its OpenAPI
// document: operations grouped by tag (the document's tags follow Whapi's
// groups), each with its parameters, request body, responses and an
// example built from the schemas. No script, no CDN. The document holds
// no secrets, so neither does the page.

type docsData struct {
	Title, Version, Intro template.HTML
	Groups                []docGroup
	Ops                   int
}

type docGroup struct {
	Tag         string
	Description template.HTML
	Ops         []docOp
}

type docOp struct {
	Anchor, Method, Path, Summary string
	Description                   template.HTML
	Auth                          []string
	Params                        []docParam
	Body                          *docBody
	Responses                     []docResponse
}

type docParam struct {
	Name, In, Type string
	Required       bool
	Description    template.HTML
}

type docBody struct {
	ContentType string
	Required    bool
	Fields      []docField
	Example     string
}

type docField struct {
	Name, Type  string
	Required    bool
	Description template.HTML
}

type docResponse struct {
	Status      string
	Description template.HTML
	Example     string
	Class       string // good, warn, bad
}

// buildDocs turns the OpenAPI document into the reference page's data.
func buildDocs(doc *openapi3.T) *docsData {
	d := &docsData{Title: template.HTML(html.EscapeString(doc.Info.Title)), Version: template.HTML(html.EscapeString(doc.Info.Version)),
		Intro: markdown(doc.Info.Description)}
	byTag := map[string]*docGroup{}
	var order []string
	for _, t := range doc.Tags {
		byTag[t.Name] = &docGroup{Tag: t.Name, Description: markdown(t.Description)}
		order = append(order, t.Name)
	}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	for _, p := range paths {
		item := doc.Paths.Value(p)
		ops := item.Operations()
		for _, m := range methods {
			op := ops[m]
			if op == nil {
				continue
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			g := byTag[tag]
			if g == nil {
				g = &docGroup{Tag: tag}
				byTag[tag] = g
				order = append(order, tag)
			}
			g.Ops = append(g.Ops, buildOp(doc, m, p, item, op))
			d.Ops++
		}
	}
	for _, t := range order {
		if g := byTag[t]; len(g.Ops) > 0 {
			d.Groups = append(d.Groups, *g)
		}
	}
	return d
}

func buildOp(doc *openapi3.T, method, path string, item *openapi3.PathItem, op *openapi3.Operation) docOp {
	o := docOp{Method: method, Path: path, Summary: op.Summary, Description: markdown(op.Description)}
	o.Anchor = op.OperationID
	if o.Anchor == "" {
		o.Anchor = strings.ToLower(method) + strings.NewReplacer("/", "-", "{", "", "}", "").Replace(path)
	}
	sec := doc.Security
	if op.Security != nil {
		sec = *op.Security
	}
	for _, req := range sec {
		for name := range req {
			o.Auth = append(o.Auth, name)
		}
	}
	sort.Strings(o.Auth)
	for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, pr := range list {
			if pr == nil || pr.Value == nil {
				continue
			}
			v := pr.Value
			o.Params = append(o.Params, docParam{Name: v.Name, In: v.In, Required: v.Required, Type: schemaType(v.Schema),
				Description: markdown(v.Description)})
		}
	}
	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		for _, ct := range sortedKeys(rb.Value.Content) {
			mt := rb.Value.Content[ct]
			b := &docBody{ContentType: ct, Required: rb.Value.Required}
			if mt.Schema != nil {
				b.Fields = schemaFields(mt.Schema)
			}
			b.Example = exampleOf(mt)
			o.Body = b
			break // the first content type is the one documented in full
		}
	}
	if op.Responses != nil {
		m := op.Responses.Map()
		for _, code := range sortedKeys(m) {
			r := m[code]
			if r == nil || r.Value == nil {
				continue
			}
			dr := docResponse{Status: code, Class: statusClassOf(code)}
			if r.Value.Description != nil {
				dr.Description = markdown(*r.Value.Description)
			}
			if strings.HasPrefix(code, "2") {
				if mt := r.Value.Content.Get("application/json"); mt != nil {
					dr.Example = exampleOf(mt)
				}
			}
			o.Responses = append(o.Responses, dr)
		}
	}
	return o
}

func statusClassOf(code string) string {
	switch {
	case strings.HasPrefix(code, "2"):
		return "good"
	case strings.HasPrefix(code, "4"):
		return "warn"
	case strings.HasPrefix(code, "5"):
		return "bad"
	}
	return "muted"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// schemaType names a schema's type for people: "string (uri)", "array of
// Channel", "one of A, B".
func schemaType(ref *openapi3.SchemaRef) string {
	if ref == nil || ref.Value == nil {
		return ""
	}
	s := ref.Value
	name := refName(ref.Ref)
	switch {
	case len(s.AllOf) == 1:
		return schemaType(s.AllOf[0])
	case len(s.OneOf) > 0 || len(s.AnyOf) > 0:
		var parts []string
		for _, r := range append(append(openapi3.SchemaRefs{}, s.OneOf...), s.AnyOf...) {
			parts = append(parts, schemaType(r))
		}
		return "one of " + strings.Join(parts, ", ")
	}
	t := ""
	if s.Type != nil && len(*s.Type) > 0 {
		t = (*s.Type)[0]
	}
	switch t {
	case "array":
		return "array of " + schemaType(s.Items)
	case "object", "":
		if name != "" {
			return name
		}
		if t == "" {
			return "any"
		}
		return "object"
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if len(s.Enum) > 0 {
		var vals []string
		for _, e := range s.Enum {
			vals = append(vals, fmt.Sprint(e))
		}
		t += ": " + strings.Join(vals, ", ")
	}
	return t
}

func refName(ref string) string {
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ""
}

// schemaFields lists an object schema's top-level fields (allOf merged).
func schemaFields(ref *openapi3.SchemaRef) []docField {
	if ref == nil || ref.Value == nil {
		return nil
	}
	s := ref.Value
	var out []docField
	for _, part := range s.AllOf {
		out = append(out, schemaFields(part)...)
	}
	req := map[string]bool{}
	for _, r := range s.Required {
		req[r] = true
	}
	for _, name := range sortedKeys(s.Properties) {
		p := s.Properties[name]
		desc := ""
		if p != nil && p.Value != nil {
			desc = p.Value.Description
		}
		out = append(out, docField{Name: name, Type: schemaType(p), Required: req[name], Description: markdown(desc)})
	}
	return out
}

// exampleOf is a media type's example: the one written in the document,
// else one built from the schema.
func exampleOf(mt *openapi3.MediaType) string {
	var v any
	switch {
	case mt.Example != nil:
		v = mt.Example
	case len(mt.Examples) > 0:
		for _, k := range sortedKeys(mt.Examples) {
			if ex := mt.Examples[k]; ex != nil && ex.Value != nil {
				v = ex.Value.Value
				break
			}
		}
	case mt.Schema != nil:
		v = sampleOf(mt.Schema, 0)
	}
	if v == nil {
		return ""
	}
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(raw)
}

// sampleOf builds an example value from a schema, bounded in depth.
func sampleOf(ref *openapi3.SchemaRef, depth int) any {
	if ref == nil || ref.Value == nil || depth > 6 {
		return nil
	}
	s := ref.Value
	if s.Example != nil {
		return s.Example
	}
	if s.Default != nil {
		return s.Default
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	if len(s.AllOf) > 0 {
		out := map[string]any{}
		for _, part := range s.AllOf {
			if m, ok := sampleOf(part, depth+1).(map[string]any); ok {
				for k, v := range m {
					out[k] = v
				}
			}
		}
		return out
	}
	if len(s.OneOf) > 0 {
		return sampleOf(s.OneOf[0], depth+1)
	}
	if len(s.AnyOf) > 0 {
		return sampleOf(s.AnyOf[0], depth+1)
	}
	t := ""
	if s.Type != nil && len(*s.Type) > 0 {
		t = (*s.Type)[0]
	}
	switch t {
	case "string":
		switch s.Format {
		case "uri":
			return "https://example.com/"
		case "date-time":
			return "2026-01-01T00:00:00Z"
		case "binary":
			return "<binary>"
		}
		return "string"
	case "integer":
		if s.Min != nil {
			return int64(*s.Min)
		}
		return 0
	case "number":
		return 0.0
	case "boolean":
		return true
	case "array":
		if v := sampleOf(s.Items, depth+1); v != nil {
			return []any{v}
		}
		return []any{}
	}
	if len(s.Properties) == 0 {
		return map[string]any{}
	}
	out := map[string]any{}
	for name, p := range s.Properties {
		if v := sampleOf(p, depth+1); v != nil {
			out[name] = v
		}
	}
	return out
}

var (
	mdCode   = regexp.MustCompile("`([^`]+)`")
	mdStrong = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	mdEm     = regexp.MustCompile(`(^|[\s(])_([^_]+)_([\s).,;:]|$)`)
	mdLink   = regexp.MustCompile(`\[([^\]]+)\]\((https?://[^)\s]+)\)`)
)

// markdown renders the small Markdown subset the document's descriptions
// use (paragraphs, bullet lists, `code`, **strong**, _emphasis_, links).
// The text is escaped first, so nothing in it becomes markup by itself.
func markdown(src string) template.HTML {
	src = strings.TrimSpace(src)
	if src == "" {
		return ""
	}
	var b strings.Builder
	inline := func(s string) string {
		s = html.EscapeString(s)
		s = mdCode.ReplaceAllString(s, "<code>$1</code>")
		s = mdStrong.ReplaceAllString(s, "<strong>$1</strong>")
		s = mdEm.ReplaceAllString(s, "$1<em>$2</em>$3")
		s = mdLink.ReplaceAllString(s, `<a href="$2" rel="noopener noreferrer">$1</a>`)
		return s
	}
	for _, para := range strings.Split(src, "\n\n") {
		lines := strings.Split(strings.TrimSpace(para), "\n")
		if isBullet(lines[0]) {
			b.WriteString("<ul>")
			var item []string
			flush := func() {
				if len(item) > 0 {
					b.WriteString("<li>" + inline(strings.Join(item, " ")) + "</li>")
				}
				item = nil
			}
			for _, l := range lines {
				if isBullet(l) {
					flush()
					item = append(item, strings.TrimSpace(strings.TrimSpace(l)[2:]))
				} else {
					item = append(item, strings.TrimSpace(l))
				}
			}
			flush()
			b.WriteString("</ul>")
			continue
		}
		for i := range lines {
			lines[i] = strings.TrimSpace(lines[i])
		}
		b.WriteString("<p>" + inline(strings.Join(lines, " ")) + "</p>")
	}
	return template.HTML(b.String()) //nolint:gosec // escaped above, then only our own tags added
}

func isBullet(l string) bool {
	l = strings.TrimSpace(l)
	return strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "- ")
}

// docsPage serves /docs to anyone: the API reference.
func (h *Handler) docsPage(w http.ResponseWriter, r *http.Request) {
	if h.docs == nil {
		h.renderError(w, r, h.viewerOf(r), http.StatusNotFound, "There is no such page.")
		return
	}
	h.render(w, r, http.StatusOK, "docs", page{Title: "API reference", Nav: "docs", V: h.viewerOf(r), Data: h.docs})
}
