// Package stubgen writes the remote session's methods: one per method of
// the engine package's session interfaces that takes a context first and
// returns an error last. Each sends the call to the sim network's host.
package stubgen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// skip are the engine interfaces that are not a session's.
var skip = map[string]bool{"Engine": true, "Reconciler": true, "Versioned": true, "Event": true}

// parseDir parses the non-test Go files of a directory.
func parseDir(dir string) ([]*ast.File, error) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var out []*ast.File
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, file)
	}
	return out, nil
}

// errorVars lists the exported package-level Err* variables of files.
func errorVars(files []*ast.File) []string {
	var out []string
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if strings.HasPrefix(n.Name, "Err") && n.IsExported() {
						out = append(out, n.Name)
					}
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Generate reads the engine package in dir (and the sim engine in its sim
// subdirectory) and returns the Go source of the stubs, the event types
// and the error registry.
func Generate(dir string) ([]byte, error) {
	files, err := parseDir(dir)
	if err != nil {
		return nil, err
	}
	simFiles, err := parseDir(filepath.Join(dir, "sim"))
	if err != nil {
		return nil, err
	}
	ifaces := map[string]*ast.InterfaceType{}
	var events []string
	for _, file := range files {
		ast.Inspect(file, func(n ast.Node) bool {
			switch d := n.(type) {
			case *ast.TypeSpec:
				if it, ok := d.Type.(*ast.InterfaceType); ok && d.Name.IsExported() && !skip[d.Name.Name] {
					ifaces[d.Name.Name] = it
				}
			case *ast.FuncDecl:
				if d.Name.Name == "event" && d.Recv != nil && len(d.Recv.List) == 1 {
					if id, ok := d.Recv.List[0].Type.(*ast.Ident); ok {
						events = append(events, id.Name)
					}
				}
			}
			return true
		})
	}
	slices.Sort(events)
	names := make([]string, 0, len(ifaces))
	for n := range ifaces {
		names = append(names, n)
	}
	slices.Sort(names)

	type method struct {
		name, iface string
		params      []ast.Expr
		results     []ast.Expr
	}
	methods := map[string]method{}
	for _, iname := range names {
		for _, f := range ifaces[iname].Methods.List {
			ft, ok := f.Type.(*ast.FuncType)
			if !ok || len(f.Names) == 0 {
				continue // embedded interface: its methods come with it
			}
			m := method{name: f.Names[0].Name, iface: iname}
			for _, p := range ft.Params.List {
				for range max(len(p.Names), 1) {
					m.params = append(m.params, p.Type)
				}
			}
			if ft.Results != nil {
				for _, r := range ft.Results.List {
					for range max(len(r.Names), 1) {
						m.results = append(m.results, r.Type)
					}
				}
			}
			if len(m.params) == 0 || typeString(m.params[0]) != "context.Context" ||
				len(m.results) == 0 || typeString(m.results[len(m.results)-1]) != "error" {
				continue // written by hand (session.go)
			}
			if _, dup := methods[m.name]; !dup {
				methods[m.name] = m
			}
		}
	}
	mnames := make([]string, 0, len(methods))
	for n := range methods {
		mnames = append(mnames, n)
	}
	slices.Sort(mnames)

	var b bytes.Buffer
	b.WriteString("// newEvent returns a pointer to a zero event of a type by name.\nfunc newEvent(name string) (any, bool) {\n\tswitch name {\n")
	for _, e := range events {
		fmt.Fprintf(&b, "\tcase %q:\n\t\treturn new(engine.%s), true\n", e, e)
	}
	b.WriteString("\t}\n\treturn nil, false\n}\n\n")
	b.WriteString("// eventName is the type name of an event.\nfunc eventName(ev engine.Event) string {\n\tswitch ev.(type) {\n")
	for _, e := range events {
		fmt.Fprintf(&b, "\tcase engine.%s:\n\t\treturn %q\n", e, e)
	}
	b.WriteString("\t}\n\treturn \"\"\n}\n\n")
	b.WriteString("// sentinels are the errors a call may match (errors.Is), by name:\n// the sim network's first, then the engine's.\nvar sentinels = []struct {\n\tname string\n\terr  error\n}{\n")
	for _, e := range errorVars(simFiles) {
		fmt.Fprintf(&b, "\t{\"sim.%s\", sim.%s},\n", e, e)
	}
	for _, e := range errorVars(files) {
		fmt.Fprintf(&b, "\t{\"engine.%s\", engine.%s},\n", e, e)
	}
	b.WriteString("}\n\n")
	b.WriteString("var (\n")
	for _, n := range names {
		fmt.Fprintf(&b, "\t_ engine.%s = (*Session)(nil)\n", n)
	}
	b.WriteString(")\n")
	for _, n := range mnames {
		m := methods[n]
		var ps, args []string
		for i, p := range m.params {
			if i == 0 {
				ps = append(ps, "ctx context.Context")
				continue
			}
			ps = append(ps, fmt.Sprintf("p%d %s", i, typeString(p)))
			args = append(args, fmt.Sprintf("p%d", i))
		}
		var rs, vars, outs []string
		for i, r := range m.results[:len(m.results)-1] {
			rs = append(rs, typeString(r))
			vars = append(vars, fmt.Sprintf("\tvar r%d %s\n", i, typeString(r)))
			outs = append(outs, fmt.Sprintf("&r%d", i))
		}
		rs = append(rs, "error")
		result := strings.Join(rs, ", ")
		if len(rs) > 1 {
			result = "(" + result + ")"
		}
		argList := "nil"
		if len(args) > 0 {
			argList = "[]any{" + strings.Join(args, ", ") + "}"
		}
		fmt.Fprintf(&b, "\n// %s is engine.%s's, played on the sim network's host.\n", m.name, m.iface)
		fmt.Fprintf(&b, "func (s *Session) %s(%s) %s {\n", m.name, strings.Join(ps, ", "), result)
		b.WriteString(strings.Join(vars, ""))
		call := fmt.Sprintf("s.call(ctx, %q, %s", m.name, argList)
		for _, o := range outs {
			call += ", " + o
		}
		call += ")"
		if len(outs) == 0 {
			fmt.Fprintf(&b, "\treturn %s\n}\n", call)
			continue
		}
		fmt.Fprintf(&b, "\terr := %s\n", call)
		var ret []string
		for i := range outs {
			ret = append(ret, fmt.Sprintf("r%d", i))
		}
		fmt.Fprintf(&b, "\treturn %s, err\n}\n", strings.Join(ret, ", "))
	}
	body := b.String()
	imports := "\t\"context\"\n"
	if strings.Contains(body, "time.") {
		imports += "\t\"time\"\n"
	}
	head := "// Code generated by go run ./gen; DO NOT EDIT.\n\npackage simremote\n\nimport (\n" + imports +
		"\n\t\"github.com/wagate/wagate/internal/engine\"\n\t\"github.com/wagate/wagate/internal/engine/sim\"\n)\n\n"
	return format.Source([]byte(head + body))
}

// typeString prints a type of the engine package as seen from another
// package.
func typeString(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		if t.IsExported() {
			return "engine." + t.Name
		}
		return t.Name
	case *ast.SelectorExpr:
		return typeString(t.X) + "." + t.Sel.Name
	case *ast.StarExpr:
		return "*" + typeString(t.X)
	case *ast.ArrayType:
		if t.Len == nil {
			return "[]" + typeString(t.Elt)
		}
		return "[" + typeString(t.Len) + "]" + typeString(t.Elt)
	case *ast.MapType:
		return "map[" + typeString(t.Key) + "]" + typeString(t.Value)
	case *ast.BasicLit:
		return t.Value
	case *ast.InterfaceType:
		return "any"
	}
	return fmt.Sprintf("/* unsupported %T */", e)
}
