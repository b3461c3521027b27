package fakewa_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/internal/fakewa"
	"github.com/wagate/wagate/internal/fakewa/racechild"
)

// Environment switches of this test binary.
const (
	// envServe makes the binary a fakewa child process (ServeProcess).
	envServe = "FAKEWA_TEST_SERVE"
)

func TestMain(m *testing.M) {
	if os.Getenv(envServe) != "" {
		err := fakewa.ServeProcess(context.Background(), os.Stdin, os.Stdout, fakewa.Options{MaxPreKeys: 20})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// whatsmeow reads these without synchronisation: set them before any
	// client exists. Keepalives every 300-400 ms, lost after 500 ms.
	wm.KeepAliveIntervalMin = 300 * time.Millisecond
	wm.KeepAliveIntervalMax = 400 * time.Millisecond
	wm.KeepAliveResponseDeadline = 500 * time.Millisecond
	os.Exit(racechild.Main(m))
}
