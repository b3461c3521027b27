package fakewa_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/internal/fakewa"
)

// Environment switches of this test binary.
const (
	// envRaceChild marks the child TestMain starts under -race.
	envRaceChild = "FAKEWA_TEST_RACE_CHILD"
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
	if raceEnabled && os.Getenv(envRaceChild) == "" {
		os.Exit(runRaceChild())
	}
	os.Exit(m.Run())
}

// whatsmeow has a data race in its socket code, its issue #1085 (fixed
// upstream after our pin): FrameSocket.Close writes fs.closed under a lock
// (socket/framesocket.go) while the readPump goroutine reads it without
// one, so any client-side close of a live websocket can trip it. Every test
// here connects whatsmeow clients, so under -race the test binary runs
// itself as a child, race-instrumented, with the same flags, and fails on
// any race report except that one (both accesses inside
// go.mau.fi/whatsmeow/socket), on any test failure, panic or timeout. The
// detector is not silenced; the engine's socketrace_test.go does the same
// for its socket tests.

var (
	genuineFailure = regexp.MustCompile(`(?m)^\s+\w+_test\.go:\d+: .*$`)
	testResult     = regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): (\S+)`)
)

func runRaceChild() int {
	args := append([]string{}, os.Args[1:]...)
	if !hasFlag(args, "-test.v") {
		args = append(args, "-test.v=true")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRaceChild+"=1", "GORACE=halt_on_error=0")
	out, err := cmd.CombinedOutput()
	text := string(out)
	known, unknown := classifyRaces(text)
	var problems []string
	for _, r := range unknown {
		problems = append(problems, "data race outside whatsmeow's known socket race:\n"+r)
	}
	for _, m := range genuineFailure.FindAllString(text, -1) {
		problems = append(problems, "test failed: "+strings.TrimSpace(m))
	}
	for _, bad := range []string{"panic: ", "test timed out"} {
		if strings.Contains(text, bad) {
			problems = append(problems, fmt.Sprintf("child: %q in output", bad))
		}
	}
	ran := 0
	for _, m := range testResult.FindAllStringSubmatch(text, -1) {
		if m[1] == "PASS" || m[1] == "FAIL" {
			ran++
		}
	}
	if len(problems) > 0 || (err != nil && ran == 0) {
		fmt.Printf("%s\n--- race child (exit: %v):\n", strings.Join(problems, "\n"), err)
		fmt.Println(tail(text, 30000))
		fmt.Println("FAIL")
		return 1
	}
	if hasFlag(os.Args[1:], "-test.v") {
		fmt.Print(text)
	}
	fmt.Printf("race child: %d tests ran; %d report(s) of whatsmeow's known FrameSocket.closed race (issue #1085), no other race\nPASS\n", ran, known)
	return 0
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") && !strings.HasSuffix(a, "=false") {
			return true
		}
	}
	return false
}

// classifyRaces splits race reports into whatsmeow's known socket race
// (both accesses' top frames in go.mau.fi/whatsmeow/socket) and others.
func classifyRaces(text string) (known int, unknown []string) {
	parts := strings.Split(text, "WARNING: DATA RACE")
	for _, p := range parts[1:] {
		report := p
		if i := strings.Index(p, "=================="); i >= 0 {
			report = p[:i]
		}
		if raceInWhatsmeowSocket(report) {
			known++
		} else {
			unknown = append(unknown, report)
		}
	}
	return known, unknown
}

func raceInWhatsmeowSocket(report string) bool {
	lines := strings.Split(report, "\n")
	accesses := 0
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if !(strings.HasPrefix(l, "Read at") || strings.HasPrefix(l, "Write at") ||
			strings.HasPrefix(l, "Previous read at") || strings.HasPrefix(l, "Previous write at")) {
			continue
		}
		accesses++
		if i+1 >= len(lines) || !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "go.mau.fi/whatsmeow/socket.") {
			return false
		}
	}
	return accesses == 2
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}
