package whatsmeow

import (
	"fmt"
	"os"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"
)

func TestMain(m *testing.M) {
	// whatsmeow reads its keepalive timings without synchronisation, in
	// every connected client's keepalive goroutine, which Disconnect does
	// not wait for. They are set here, before any client exists, rather
	// than in the test that needs them: a test writing them (or restoring
	// them) races with the keepalive goroutines of earlier tests' clients.
	// Pings every 0.5-1 s, lost when unanswered for 2 s: a server that
	// stops answering is noticed within 3 s (TestKeepAliveLostAndRestored),
	// and a busy -race run does not miss a ping by accident.
	wm.KeepAliveIntervalMin = 500 * time.Millisecond
	wm.KeepAliveIntervalMax = time.Second
	wm.KeepAliveResponseDeadline = 2 * time.Second
	code := m.Run()
	if missing := unlistedSocketTests(); len(missing) > 0 {
		fmt.Printf("FAIL: %v connect sockets but are not in socketTests (socketrace_test.go): under -race they never run\n", missing)
		code = 1
	}
	os.Exit(code)
}
