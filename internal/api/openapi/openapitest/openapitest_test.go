package openapitest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wagate/wagate/internal/api/openapi"
	"github.com/wagate/wagate/internal/api/openapi/openapitest"
)

// fakeTB records what Check reports instead of failing the real test.
type fakeTB struct {
	testing.TB // the real t, for anything not overridden
	mu         sync.Mutex
	errs       []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Error(args ...any) { f.Errorf("%s", fmt.Sprint(args...)) }

func (f *fakeTB) reports() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

// wantReport fails unless f recorded exactly one report containing every
// fragment.
func wantReport(t *testing.T, f *fakeTB, fragments ...string) {
	t.Helper()
	got := f.reports()
	if len(got) != 1 {
		t.Fatalf("want 1 report, got %d: %q", len(got), got)
	}
	for _, frag := range fragments {
		if !strings.Contains(got[0], frag) {
			t.Errorf("report does not mention %q:\n%s", frag, got[0])
		}
	}
}

func wantNoReport(t *testing.T, f *fakeTB) {
	t.Helper()
	if got := f.reports(); len(got) != 0 {
		t.Fatalf("want no report, got %d:\n%s", len(got), strings.Join(got, "\n---\n"))
	}
}

var jsonHeader = http.Header{
	"Content-Type":  {"application/json; charset=utf-8"},
	"Cache-Control": {"no-store"},
}

// channel returns a valid Channel as the partner API shows it.
func channel() map[string]any {
	return map[string]any{
		"id": "SHAZAM-3HDYQ", "name": "shop", "projectId": "default",
		"ownerId": "Kk9Oyr6oNiUKwBwdlXKIfXZv8QbM", "token": "6f5XMalh3EiVoY2BAmao8dU9N8Dq3QFm",
		"apiUrl": "http://127.0.0.1:18181/", "server": 1, "phone": "", "mode": "trial",
		"status": "active", "stopped": false, "blocked": false, "creationTS": 1795425364054,
		"activeTill": 1795857364054, "trial": 1795857364054, "paidDays": 0, "linked": false,
		"connection": map[string]any{
			"health": map[string]any{"channel_id": "SHAZAM-3HDYQ", "start_at": 0, "uptime": 0, "version": "dev",
				"api_version": "1.8.7", "engine": "sim", "status": map[string]any{"code": 0, "text": "NOT_INIT"},
				"state": map[string]any{"name": "not_started"}},
			"counters": map[string]any{"undecryptable": map[string]any{"count": 0, "lastAt": 0},
				"reachoutRefused": map[string]any{"count": 0, "lastAt": 0}},
		},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDocumentLoads(t *testing.T) {
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	raw, err := openapi.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &parsed); err != nil {
		t.Fatalf("openapi.JSON() is not valid JSON: %v", err)
	}
	if parsed.OpenAPI != "3.0.3" {
		t.Errorf("JSON openapi = %q", parsed.OpenAPI)
	}
	for _, p := range []string{
		"/livez", "/readyz", "/openapi.json", "/",
		"/partner/channels", "/partner/channels/list", "/partner/channels/list/{ProjectID}",
		"/partner/channels/export", "/partner/channels/{ChannelID}", "/partner/channels/{ChannelID}/extend",
		"/partner/projects", "/partner/projects/{ProjectID}", "/partner/partners",
		"/partner/partners/{PartnerName}/settings", "/partner/ledger",
		"/admin/partners", "/admin/partners/{id}", "/admin/partners/{id}/days",
		"/admin/partners/{id}/ledger", "/admin/partners/{id}/token", "/admin/settings", "/admin/proxies",
		"/partner/channels/{ChannelID}/logout", "/partner/channels/{ChannelID}/proxy",
		"/health", "/users/login", "/users/login/image", "/users/login/rowdata", "/users/login/{PhoneNumber}",
		"/users/logout", "/users/profile", "/settings", "/settings/events", "/limits",
	} {
		if parsed.Paths[p] == nil {
			t.Errorf("JSON lacks path %s", p)
		}
	}
}

// wantOperations is every route the server registers (internal/app,
// internal/api/partner, internal/api/admin, internal/api/gate and, with the
// sim engine, internal/api/simapi). A new route must be documented.
var wantOperations = []string{
	"DELETE /calls/{CallID}",
	"DELETE /chats/{ChatID}",
	"DELETE /communities/{CommunityID}",
	"DELETE /communities/{CommunityID}/admins",
	"DELETE /communities/{CommunityID}/link",
	"DELETE /communities/{CommunityID}/participants",
	"DELETE /communities/{CommunityID}/{GroupID}",
	"DELETE /groups/{GroupID}",
	"DELETE /groups/{GroupID}/admins",
	"DELETE /groups/{GroupID}/icon",
	"DELETE /groups/{GroupID}/invite",
	"DELETE /groups/{GroupID}/participants",
	"DELETE /media/{MediaID}",
	"DELETE /messages/{MessageID}",
	"DELETE /messages/{MessageID}/reaction",
	"DELETE /newsletters/invite/{NewsletterInviteCode}/subscription",
	"DELETE /newsletters/{NewsletterID}",
	"DELETE /newsletters/{NewsletterID}/admins/{ContactID}",
	"DELETE /newsletters/{NewsletterID}/invite/{ContactID}",
	"DELETE /newsletters/{NewsletterID}/subscription",
	"DELETE /partner/channels/{ChannelID}",
	"DELETE /partner/projects/{ProjectID}",
	"DELETE /settings",
	"GET /",
	"GET /admin/cluster",
	"GET /admin/audit",
	"GET /metrics",
	"GET /admin/engine",
	"GET /admin/partners",
	"GET /admin/partners/{id}",
	"GET /admin/partners/{id}/ledger",
	"GET /admin/proxies",
	"GET /admin/settings",
	"GET /admin/sim/channels/{ChannelID}",
	"GET /admin/sim/phones",
	"GET /admin/sim/phones/{phone}",
	"GET /admin/sim/phones/{phone}/calls",
	"GET /admin/sim/phones/{phone}/groups",
	"GET /admin/sim/phones/{phone}/messages",
	"GET /admin/sim/sessions",
	"GET /chats",
	"GET /chats/{ChatID}",
	"GET /communities",
	"GET /communities/{CommunityID}",
	"GET /communities/{CommunityID}/subgroups",
	"GET /contacts",
	"GET /contacts/{ContactID}",
	"GET /contacts/{ContactID}/profile",
	"GET /groups",
	"GET /groups/link/{InviteCode}",
	"GET /groups/{GroupID}",
	"GET /groups/{GroupID}/invite",
	"GET /health",
	"GET /limits",
	"GET /livez",
	"GET /media",
	"GET /media/{MediaID}",
	"GET /messages/list",
	"GET /messages/list/{ChatID}",
	"GET /messages/{MessageID}",
	"GET /newsletters",
	"GET /newsletters/find",
	"GET /newsletters/link/{NewsletterInviteCode}",
	"GET /newsletters/recommended",
	"GET /newsletters/{NewsletterID}",
	"GET /newsletters/{NewsletterID}/messages",
	"GET /openapi.json",
	"GET /partner/channels/export",
	"GET /partner/channels/list",
	"GET /partner/channels/list/{ProjectID}",
	"GET /partner/channels/{ChannelID}",
	"GET /partner/channels/{ChannelID}/webhooks/log",
	"GET /partner/ledger",
	"GET /partner/partners",
	"GET /partner/partners/{PartnerName}/settings",
	"GET /partner/projects",
	"GET /partner/projects/{ProjectID}",
	"GET /presences/{EntryID}",
	"GET /readyz",
	"GET /settings",
	"GET /settings/events",
	"GET /statuses/{MessageID}",
	"GET /stories",
	"GET /stories/{MessageID}",
	"GET /users/login",
	"GET /users/login/image",
	"GET /users/login/rowdata",
	"GET /users/login/{PhoneNumber}",
	"GET /users/profile",
	"PATCH /admin/partners/{id}",
	"PATCH /admin/settings",
	"PATCH /chats/{ChatID}",
	"PATCH /communities/{CommunityID}/admins",
	"PATCH /communities/{CommunityID}/settings",
	"PATCH /groups/{GroupID}",
	"PATCH /groups/{GroupID}/admins",
	"PATCH /newsletters/{NewsletterID}",
	"PATCH /partner/channels/{ChannelID}",
	"PATCH /partner/channels/{ChannelID}/mode",
	"PATCH /partner/partners/{PartnerName}/settings",
	"PATCH /partner/projects/{ProjectID}",
	"PATCH /settings",
	"PATCH /users/profile",
	"POST /admin/engine/client-version",
	"POST /admin/partners",
	"POST /admin/partners/{id}/days",
	"POST /admin/partners/{id}/token",
	"POST /admin/sim/channels/{ChannelID}/faults",
	"POST /admin/sim/phones",
	"POST /admin/sim/phones/{phone}/calls",
	"POST /admin/sim/phones/{phone}/calls/{CallID}/accept",
	"POST /admin/sim/phones/{phone}/calls/{CallID}/end",
	"POST /admin/sim/phones/{phone}/groups",
	"POST /admin/sim/phones/{phone}/groups/{group}/participants",
	"POST /admin/sim/phones/{phone}/link",
	"POST /admin/sim/phones/{phone}/media/{MessageID}/expire",
	"POST /admin/sim/phones/{phone}/messages",
	"POST /admin/sim/phones/{phone}/presence",
	"POST /admin/sim/phones/{phone}/react",
	"POST /admin/sim/phones/{phone}/read",
	"POST /admin/sim/phones/{phone}/unlink",
	"POST /admin/sim/phones/{phone}/vote",
	"POST /calls",
	"POST /calls/group_link",
	"POST /calls/{CallID}/reject",
	"POST /chats/{ChatID}",
	"POST /communities",
	"POST /communities/event",
	"POST /communities/{CommunityID}",
	"POST /communities/{CommunityID}/createGroup",
	"POST /communities/{CommunityID}/participants",
	"POST /communities/{CommunityID}/{GroupID}/join",
	"POST /contacts",
	"POST /groups",
	"POST /groups/{GroupID}/participants",
	"POST /media",
	"POST /messages/audio",
	"POST /messages/contact",
	"POST /messages/document",
	"POST /messages/gif",
	"POST /messages/image",
	"POST /messages/link_preview",
	"POST /messages/location",
	"POST /messages/poll",
	"POST /messages/sticker",
	"POST /messages/story",
	"POST /messages/story/audio",
	"POST /messages/story/media",
	"POST /messages/story/text",
	"POST /messages/text",
	"POST /messages/video",
	"POST /messages/voice",
	"POST /messages/{MessageID}",
	"POST /newsletters",
	"POST /newsletters/invite/{NewsletterInviteCode}/subscription",
	"POST /newsletters/link/{NewsletterInviteCode}",
	"POST /newsletters/{NewsletterID}/invite/{ContactID}",
	"POST /newsletters/{NewsletterID}/subscription",
	"POST /newsletters/{NewsletterID}/tracking",
	"POST /partner/channels/{ChannelID}/extend",
	"POST /partner/channels/{ChannelID}/logout",
	"POST /partner/channels/{ChannelID}/proxy",
	"POST /partner/channels/{ChannelID}/restart",
	"POST /partner/channels/{ChannelID}/start",
	"POST /partner/channels/{ChannelID}/stop",
	"POST /partner/channels/{ChannelID}/webhooks/log/{DeliveryID}/redeliver",
	"POST /presences/{EntryID}",
	"POST /settings/webhook_test",
	"POST /stories",
	"POST /stories/send/audio",
	"POST /stories/send/media",
	"POST /stories/send/text",
	"POST /users/logout",
	"PUT /admin/proxies",
	"PUT /communities/{CommunityID}/{GroupID}",
	"PUT /groups",
	"PUT /groups/{GroupID}",
	"PUT /groups/{GroupID}/icon",
	"PUT /messages/{MessageID}",
	"PUT /messages/{MessageID}/reaction",
	"PUT /messages/{MessageID}/star",
	"PUT /newsletters/{NewsletterID}/admins/{ContactID}",
	"PUT /partner/channels",
	"PUT /partner/projects",
	"PUT /presences/me",
	"PUT /presences/{EntryID}",
	"PUT /stories/{MessageID}",
}

func TestOperations(t *testing.T) {
	v := openapitest.New(t)
	want := slices.Sorted(slices.Values(append(append(slices.Clone(wantOperations), moreOperations...), businessOperations...)))
	if got := v.Operations(); !slices.Equal(got, want) {
		t.Errorf("documented operations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// publicPaths need no token; every other path outside /partner/ and /admin/
// is the gate API (channel token).
var publicPaths = []string{"/livez", "/readyz", "/openapi.json", "/"}

// TestDocumentConventions checks rules every operation follows, so a new
// operation cannot forget them.
func TestDocumentConventions(t *testing.T) {
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.OperationID == "" || op.Summary == "" {
				t.Errorf("%s: needs an operationId and a summary", name)
			}
			if op.Responses.Status(500) == nil {
				t.Errorf("%s: 500 is not documented", name)
			}
			// Every route but health and discovery needs its area's token:
			// a Bearer token or the same as ?token=.
			var bearer string
			switch {
			case strings.HasPrefix(path, "/partner/"):
				bearer = "partnerBearer"
			case strings.HasPrefix(path, "/admin/") || path == "/metrics":
				bearer = "adminBearer"
			case !slices.Contains(publicPaths, path):
				bearer = "channelBearer" // the gate API
			}
			if bearer != "" {
				sec := op.Security
				if sec == nil || len(*sec) != 2 || (*sec)[0][bearer] == nil || (*sec)[1]["tokenQuery"] == nil {
					t.Errorf("%s: needs security: %s or tokenQuery", name, bearer)
				}
				if op.Responses.Status(401) == nil {
					t.Errorf("%s: 401 is not documented", name)
				}
			} else if op.Security != nil && len(*op.Security) != 0 {
				t.Errorf("%s: health and discovery need no token", name)
			}
			if op.RequestBody != nil && op.Responses.Status(413) == nil {
				t.Errorf("%s: reads a body but 413 is not documented", name)
			}
			for code, resp := range op.Responses.Map() {
				if code >= "400" && name != "GET /readyz" {
					mt := resp.Value.Content.Get("application/json")
					if mt == nil || mt.Schema == nil || len(mt.Schema.Value.AllOf) != 2 ||
						mt.Schema.Value.AllOf[0].Ref != "#/components/schemas/ErrorBody" ||
						mt.Schema.Value.AllOf[1].Ref != "#/components/schemas/ErrorCode"+code {
						t.Errorf("%s %s: an error must be ErrorBody with ErrorCode%s", name, code, code)
					}
				}
			}
		}
	}
}

func TestCheckValidResponsePasses(t *testing.T) {
	v := openapitest.New(t)
	f := &fakeTB{TB: t}
	// Hosts and ports do not matter, only the path.
	for _, target := range []string{
		"/partner/channels/SHAZAM-3HDYQ",
		"http://127.0.0.1:18181/partner/channels/SHAZAM-3HDYQ",
		"http://example.com/partner/channels/SHAZAM-3HDYQ?token=x",
	} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		v.Check(f, req, http.StatusOK, jsonHeader, mustJSON(t, channel()))
	}
	// null is allowed where the Go type is a pointer.
	ch := channel()
	ch["trial"] = nil
	v.Check(f, httptest.NewRequest(http.MethodGet, "/partner/channels/SHAZAM-3HDYQ", nil), 200, jsonHeader, mustJSON(t, ch))
	// An error body.
	v.Check(f, httptest.NewRequest(http.MethodGet, "/partner/channels/nope", nil), 404, jsonHeader,
		[]byte(`{"error":{"code":404,"message":"channel not found"}}`))
	// The literal /list wins over /{ChannelID}.
	v.Check(f, httptest.NewRequest(http.MethodGet, "/partner/channels/list", nil), 200, jsonHeader,
		[]byte(`{"channels":[],"count":0,"offset":0,"total":0}`))
	// CSV.
	csvHeader := http.Header{
		"Content-Type":        {"text/csv; charset=utf-8"},
		"Cache-Control":       {"no-store"},
		"Content-Disposition": {`attachment; filename="channels-2026-11-23.csv"`},
	}
	v.Check(f, httptest.NewRequest(http.MethodGet, "/partner/channels/export", nil), 200, csvHeader,
		[]byte("Name,ID,Phone Number,Work Period,Status,Mode,Created Date,Billing Status\n"))
	wantNoReport(t, f)

	cov := v.Covered()
	if cov["GET /partner/channels/{ChannelID}"] != 5 || cov["GET /partner/channels/list"] != 1 || cov["GET /partner/channels/export"] != 1 {
		t.Errorf("Covered() = %v", cov)
	}
	if un := v.Uncovered(); slices.Contains(un, "GET /partner/channels/list") || !slices.Contains(un, "GET /livez") {
		t.Errorf("Uncovered() = %v", un)
	}
}

func TestCheckReportsMismatches(t *testing.T) {
	v := openapitest.New(t)
	get := func() *http.Request {
		return httptest.NewRequest(http.MethodGet, "/partner/channels/SHAZAM-3HDYQ", nil)
	}

	t.Run("missing required field", func(t *testing.T) {
		f := &fakeTB{TB: t}
		ch := channel()
		delete(ch, "token")
		v.Check(f, get(), 200, jsonHeader, mustJSON(t, ch))
		wantReport(t, f, "GET /partner/channels/SHAZAM-3HDYQ", "-> 200", `"token"`, "missing", `"id":"SHAZAM-3HDYQ"`)
	})
	t.Run("wrong type", func(t *testing.T) {
		f := &fakeTB{TB: t}
		ch := channel()
		ch["paidDays"] = "3"
		v.Check(f, get(), 200, jsonHeader, mustJSON(t, ch))
		wantReport(t, f, "paidDays", "integer")
	})
	t.Run("null where not nullable", func(t *testing.T) {
		f := &fakeTB{TB: t}
		ch := channel()
		ch["activeTill"] = nil
		v.Check(f, get(), 200, jsonHeader, mustJSON(t, ch))
		wantReport(t, f, "activeTill")
	})
	t.Run("value outside enum", func(t *testing.T) {
		f := &fakeTB{TB: t}
		ch := channel()
		ch["mode"] = "sandbox"
		v.Check(f, get(), 200, jsonHeader, mustJSON(t, ch))
		wantReport(t, f, "mode")
	})
	t.Run("several mismatches in one report", func(t *testing.T) {
		f := &fakeTB{TB: t}
		ch := channel()
		ch["status"] = "paused"
		ch["id"] = "nope"
		v.Check(f, get(), 200, jsonHeader, mustJSON(t, ch))
		wantReport(t, f, "status", "id")
	})
	t.Run("undocumented status", func(t *testing.T) {
		f := &fakeTB{TB: t}
		v.Check(f, get(), http.StatusTeapot, jsonHeader, []byte(`{"error":{"code":418,"message":"teapot"}}`))
		wantReport(t, f, "-> 418", "status 418 is not documented", "404")
	})
	t.Run("documented status, but not for this operation", func(t *testing.T) {
		f := &fakeTB{TB: t}
		v.Check(f, get(), http.StatusPaymentRequired, jsonHeader, []byte(`{"error":{"code":402,"message":"x"}}`))
		wantReport(t, f, "status 402 is not documented")
	})
	t.Run("error code differs from status", func(t *testing.T) {
		f := &fakeTB{TB: t}
		v.Check(f, get(), 404, jsonHeader, []byte(`{"error":{"code":400,"message":"channel not found"}}`))
		wantReport(t, f, "code")
	})
	t.Run("error body of the wrong shape", func(t *testing.T) {
		f := &fakeTB{TB: t}
		v.Check(f, get(), 404, jsonHeader, []byte(`{"message":"channel not found"}`))
		wantReport(t, f, "error")
	})
	t.Run("wrong content type", func(t *testing.T) {
		f := &fakeTB{TB: t}
		v.Check(f, get(), 200, http.Header{"Content-Type": {"text/plain"}, "Cache-Control": {"no-store"}}, mustJSON(t, channel()))
		wantReport(t, f, "Content-Type", "text/plain")
	})
	t.Run("missing documented header", func(t *testing.T) {
		f := &fakeTB{TB: t}
		v.Check(f, get(), 200, http.Header{"Content-Type": {"application/json"}}, mustJSON(t, channel()))
		wantReport(t, f, "Cache-Control")
	})
	t.Run("not JSON", func(t *testing.T) {
		f := &fakeTB{TB: t}
		v.Check(f, get(), 200, jsonHeader, []byte("<html>"))
		wantReport(t, f, "decode")
	})
	t.Run("undocumented path", func(t *testing.T) {
		f := &fakeTB{TB: t}
		v.Check(f, httptest.NewRequest(http.MethodGet, "/partner/nope", nil), 404, jsonHeader, []byte(`{"error":{"code":404,"message":"x"}}`))
		wantReport(t, f, "route not documented", "/partner/nope")
	})
	t.Run("undocumented method", func(t *testing.T) {
		f := &fakeTB{TB: t}
		v.Check(f, httptest.NewRequest(http.MethodPost, "/livez", nil), 404, jsonHeader, []byte(`{"error":{"code":404,"message":"x"}}`))
		wantReport(t, f, "route not documented", "POST /livez")
	})
	t.Run("long bodies are truncated", func(t *testing.T) {
		f := &fakeTB{TB: t}
		big := `{"error":{"code":404,"message":"` + strings.Repeat("x", 5000) + `"}}`
		v.Check(f, get(), 200, jsonHeader, []byte(big))
		wantReport(t, f, "bytes)")
		if r := f.reports()[0]; len(r) > 2500 {
			t.Errorf("report is %d bytes long", len(r))
		}
	})
	if n := v.Covered()["GET /partner/channels/{ChannelID}"]; n != 0 {
		t.Errorf("failed checks counted as covered: %d", n)
	}
}

func TestWrapChecksEveryResponse(t *testing.T) {
	v := openapitest.New(t)
	f := &fakeTB{TB: t}
	var body []byte
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(body) // implicit 200
	})
	wrapped := v.Wrap(f, h)

	body = []byte(`{"status":"ok"}`)
	rec := httptest.NewRecorder()
	wrapped.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/livez", nil))
	if rec.Code != 200 || rec.Body.String() != string(body) {
		t.Errorf("Wrap changed the response: %d %q", rec.Code, rec.Body.String())
	}
	wantNoReport(t, f)

	body = []byte(`{"status":"sleeping"}`)
	wrapped.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/livez", nil))
	wantReport(t, f, "GET /livez", "-> 200", "sleeping")

	// An explicit status, and a handler that writes nothing at all.
	f2 := &fakeTB{TB: t}
	v.Wrap(f2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/livez", nil))
	wantReport(t, f2, "-> 201", "status 201 is not documented")

	f3 := &fakeTB{TB: t}
	v.Wrap(f3, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/livez", nil))
	wantReport(t, f3, "-> 200")

	if n := v.Covered()["GET /livez"]; n != 1 {
		t.Errorf("Covered()[GET /livez] = %d, want 1", n)
	}
}

func TestTransportChecksEveryResponse(t *testing.T) {
	v := openapitest.New(t)
	var (
		mu   sync.Mutex
		body = `{"trial_days":5,"channel_create_limit":20,"channel_create_window_minutes":30,` +
			`"limit_messages_per_day":150,"limit_chats_per_month":5,"limit_checks_per_day":100,"limit_requests_per_month":1000}`
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()

	f := &fakeTB{TB: t}
	client := &http.Client{Transport: v.Transport(f, nil)}
	get := func() string {
		t.Helper()
		resp, err := client.Get(srv.URL + "/admin/settings")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := get(); got != body {
		t.Errorf("the client got %q, want the body untouched", got)
	}
	wantNoReport(t, f)

	mu.Lock()
	body = `{"trial_days":5}`
	mu.Unlock()
	if got := get(); got != `{"trial_days":5}` {
		t.Errorf("the client got %q", got)
	}
	wantReport(t, f, "GET /admin/settings", "-> 200", "channel_create_limit")

	if n := v.Covered()["GET /admin/settings"]; n != 1 {
		t.Errorf("Covered()[GET /admin/settings] = %d, want 1", n)
	}
}

func TestHeadIsCheckedAsGet(t *testing.T) {
	v := openapitest.New(t)
	f := &fakeTB{TB: t}
	v.Check(f, httptest.NewRequest(http.MethodHead, "/livez", nil), 200, jsonHeader, nil)
	wantNoReport(t, f)
	v.Check(f, httptest.NewRequest(http.MethodHead, "/livez", nil), 204, jsonHeader, nil)
	wantReport(t, f, "status 204 is not documented")
}
