package racechild

import (
	"slices"
	"testing"
)

func TestFailures(t *testing.T) {
	out := `=== RUN   TestA
    a_test.go:10: just a log line
--- PASS: TestA (0.00s)
=== RUN   TestB
    b_test.go:20: skipped: runs in a child
--- SKIP: TestB (0.00s)
=== RUN   TestC
==================
WARNING: DATA RACE
==================
    testing.go:1617: race detected during execution of test
--- FAIL: TestC (0.10s)
=== RUN   TestD
=== RUN   TestD/sub
        d_test.go:30: got 1, want 2
    --- FAIL: TestD/sub (0.00s)
--- FAIL: TestD (0.00s)
`
	got := Failures(out)
	want := []string{"TestD/sub: d_test.go:30: got 1, want 2"}
	if !slices.Equal(got, want) {
		t.Errorf("Failures = %q, want %q", got, want)
	}
}

func TestClassify(t *testing.T) {
	known := `WARNING: DATA RACE
Write at 0x00c000a092d0 by goroutine 9923:
  go.mau.fi/whatsmeow/socket.newNoiseSocket()
Previous read at 0x00c000a092d0 by goroutine 11699:
  go.mau.fi/whatsmeow/socket.(*FrameSocket).Close()
==================
`
	other := `WARNING: DATA RACE
Write at 0x1 by goroutine 1:
  github.com/wagate/wagate/internal/runtime.(*supervisor).connect()
Previous read at 0x1 by goroutine 2:
  go.mau.fi/whatsmeow/socket.(*FrameSocket).Close()
==================
`
	k, u := Classify(known + other)
	if k != 1 || len(u) != 1 {
		t.Errorf("Classify = %d known, %d others", k, len(u))
	}
}
