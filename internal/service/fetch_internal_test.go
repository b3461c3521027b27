package service

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// TestFetchMediaHidesWhereRedirectsLead: a media URL on a public host
// that redirects to an internal address is refused, and the error names
// the address class, never the address (nor the redirect's URL), so a
// client cannot map the server's network through it.
func TestFetchMediaHidesWhereRedirectsLead(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-private":
			http.Redirect(w, r, "http://10.1.2.3:8080/admin/secret-path", http.StatusFound)
		case "/to-loopback":
			http.Redirect(w, r, "http://[::1]:6379/", http.StatusFound)
		case "/to-decimal":
			http.Redirect(w, r, "http://2130706433/", http.StatusFound)
		}
	}))
	defer srv.Close()
	s := New(nil, slog.New(slog.DiscardHandler), Options{})
	// Every name "resolves" to the test server, as a public host would.
	s.fetch.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}
	for path, class := range map[string]string{
		"/to-private": "a private address", "/to-loopback": "a loopback address", "/to-decimal": "",
	} {
		_, err := s.fetchMedia(t.Context(), engine.KindImage, "http://media.example.com"+path, "")
		if !errors.Is(err, model.ErrInvalid) {
			t.Fatalf("%s: err = %v, want a 400", path, err)
		}
		msg := err.Error()
		if class != "" && !strings.Contains(msg, "leads to "+class) {
			t.Errorf("%s: %q does not name the class %q", path, msg, class)
		}
		for _, leak := range []string{"10.1.2.3", "8080", "secret-path", "::1", "6379", "2130706433", "127.0.0.1"} {
			if strings.Contains(msg, leak) {
				t.Errorf("%s: the error reveals %q: %s", path, leak, msg)
			}
		}
	}
}
