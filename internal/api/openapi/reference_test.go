package openapi_test

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/api/openapi"
)

// referenceOps is the list of every operation of Whapi's gate API 1.8.7
// ("Tag METHOD /path", one a line), taken from the reference document.
const referenceOps = "testdata/whapi-gate-1.8.7-operations.txt"

// Operations of the reference wagate's document does not list yet. The list
// only shrinks: the test fails when an operation listed here is documented
// (remove it then), and when one missing from the document is in no list.
var (
	// Empty: every operation of the reference is documented.
	notBuiltYet = []string{}
)

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// opKey is "METHOD /path" with path parameters unnamed: the document may
// name a parameter differently from the reference.
func opKey(method, path string) string {
	return strings.ToUpper(method) + " " + pathParam.ReplaceAllString(path, "{}")
}

// TestDocumentListsEveryReferenceOperation compares wagate's document with
// the reference's operations.
func TestDocumentListsEveryReferenceOperation(t *testing.T) {
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[opKey(method, path)] = true
			if method == "GET" { // net/http answers HEAD with every GET route, and the document says so there
				documented[opKey("HEAD", path)] = true
			}
		}
	}
	allowed := map[string]string{}
	for owner, list := range map[string][]string{"issue 15": notBuiltYet} {
		for _, op := range list {
			method, path, _ := strings.Cut(op, " ")
			allowed[opKey(method, path)] = owner
		}
	}

	f, err := os.Open(referenceOps)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ops int
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			t.Fatalf("%s: bad line %q", referenceOps, line)
		}
		ops++
		key := opKey(fields[1], fields[2])
		seen[key] = true
		owner, listed := allowed[key]
		switch {
		case !documented[key] && !listed:
			t.Errorf("%s %s (%s) is missing from the document", fields[1], fields[2], fields[0])
		case documented[key] && listed:
			t.Errorf("%s %s is documented now: remove it from %s's list of missing operations", fields[1], fields[2], owner)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if ops != 167 {
		t.Errorf("%s lists %d operations, the reference has 167", referenceOps, ops)
	}
	for key, owner := range allowed {
		if !seen[key] {
			t.Errorf("%s's list of missing operations names %s, which the reference does not have", owner, key)
		}
	}
	t.Logf("%d of %d reference operations documented; still missing: %d", ops-len(allowed), ops, len(allowed))
}
