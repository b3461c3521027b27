package app_test

import (
	"os"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/internal/fakewa/racechild"
)

func TestMain(m *testing.M) {
	if os.Getenv(envWAChild) != "" {
		os.Exit(runWAChild())
	}
	// whatsmeow reads these without synchronisation: set them before any
	// client exists. Pings every 100 to 150 ms, answered within 100 ms.
	wm.KeepAliveIntervalMin = 100 * time.Millisecond
	wm.KeepAliveIntervalMax = 150 * time.Millisecond
	wm.KeepAliveResponseDeadline = 100 * time.Millisecond
	// The tests that connect whatsmeow clients trip whatsmeow's known socket
	// race under -race: racechild tolerates that one and no other.
	os.Exit(racechild.Main(m))
}
