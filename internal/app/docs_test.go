package app_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/api/openapi"
)

// TestDocsPage: /docs is the API reference rendered from the OpenAPI
// document, for anyone: every operation under its tag with its parameters,
// body, responses and examples; no script or style from elsewhere, and no
// token of anyone.
func TestDocsPage(t *testing.T) {
	e := dashEnv(t)
	_, ptok := e.partner("docs", 5)
	chTok := e.channel(ptok, "Docs")["token"].(string)
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser("203.0.113.9")
	p := b.get(200, "/docs")
	body := p.body
	t.Logf("/docs is %d KiB", len(body)/1024)

	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			mustContain(t, "/docs", body, `id="`+op.OperationID+`"`)
			// The operation's heading names its method and path.
			i := strings.Index(body, `id="`+op.OperationID+`"`)
			head := body[i:min(len(body), i+400)]
			if !strings.Contains(head, `<span class="method `+method+`">`+method+`</span>`) || !strings.Contains(head, "<code class=\"op-path\">"+path+"</code>") {
				t.Fatalf("operation %s is not headed %s %s:\n%s", op.OperationID, method, path, head)
			}
		}
	}
	mustContain(t, "/docs", body, strconv.Itoa(n)+" operations in")
	// Groups in the document's tag order, each with its description.
	last := -1
	for _, tag := range doc.Tags {
		i := strings.Index(body, `id="tag-`+tag.Name+`"`)
		if i < 0 || i < last {
			t.Fatalf("group %s missing or out of order", tag.Name)
		}
		last = i
	}
	// One operation in detail: parameters, body fields, examples, responses.
	i := strings.Index(body, `id="createLinkPage"`)
	op := body[i : i+strings.Index(body[i:], "</article>")]
	mustContain(t, "createLinkPage", op, "Share a hosted linking page", "ChannelID", `<span class="req">required</span>`, "path",
		"keepAfterLink", "branding", "LinkPageBranding", "Example request", `&#34;ttl&#34;: 3600`, `<span class="badge good">201</span>`,
		`<span class="badge warn">404</span>`, "<code>keepAfterLink</code>", "auth: partnerBearer, tokenQuery")
	// Markdown is escaped, never raw HTML from the document.
	if strings.Contains(body, "<script>") || regexp.MustCompile(`<script[^>]+src="(https?:)?//`).MatchString(body) ||
		regexp.MustCompile(`<link[^>]+href="(https?:)?//`).MatchString(body) {
		t.Fatal("/docs loads something from elsewhere")
	}
	mustNotContain(t, "/docs", body, adminToken, ptok, chTok)
	if regexp.MustCompile(`wg[ap]_[A-Za-z0-9]{40}`).MatchString(body) {
		t.Fatal("/docs shows something shaped like a token")
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP = %q", csp)
	}
	// Linked from the dashboard's menu and footer.
	b.loginPartner("docs@example.test", "correct horse")
	mustContain(t, "dashboard", b.get(200, "/ui/dashboard").body, `href="/docs" id="nav-docs"`)
	mustContain(t, "login page", e.browser("203.0.113.10").get(200, "/ui/login").body, `<a href="/docs">API reference</a>`)
}
