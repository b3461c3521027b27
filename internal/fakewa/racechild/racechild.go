// Package racechild runs a test binary whose tests connect whatsmeow
// clients under the race detector without hiding any race but one.
//
// whatsmeow has a data race in its socket code, its issue #1085 (fixed
// upstream after our pin): FrameSocket.Close writes fs.closed under a lock
// while the readPump goroutine reads it without one, so any client-side
// close of a live websocket can trip it. A race-instrumented test binary
// that connects whatsmeow clients calls Main from its TestMain: under -race
// the binary runs itself again as a child, race-instrumented, with the same
// flags, and fails on any race report except that one (both accesses inside
// go.mau.fi/whatsmeow/socket), on any test failure, panic or timeout.
// Without -race, and in the child, the tests run directly. The detector is
// never silenced.
package racechild

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// envChild marks the child Main starts.
const envChild = "WAGATE_RACE_CHILD"

var (
	fileLine   = regexp.MustCompile(`^\s+\w+\.go:\d+: `)
	testResult = regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): (\S+)`)
	testName   = regexp.MustCompile(`^=== (?:RUN|CONT|NAME)\s+(\S+)`)
)

// Failures lists what the failed tests of a -test.v output reported, but
// the race detector's own complaint: a test that failed only because a
// (known) race happened during it is not a failure. Lines are attributed
// to the test named by the last === RUN, CONT or NAME line.
func Failures(text string) []string {
	cur := ""
	said := map[string][]string{}
	var failed []string
	for line := range strings.SplitSeq(text, "\n") {
		if m := testName.FindStringSubmatch(line); m != nil {
			cur = m[1]
			continue
		}
		if m := testResult.FindStringSubmatch(line); m != nil {
			if m[1] == "FAIL" {
				failed = append(failed, m[2])
			}
			continue
		}
		if fileLine.MatchString(line) {
			said[cur] = append(said[cur], strings.TrimSpace(line))
		}
	}
	var out []string
	for _, name := range failed {
		for _, l := range said[name] {
			if !strings.Contains(l, "race detected during execution of test") {
				out = append(out, name+": "+l)
			}
		}
	}
	return out
}

// Main runs the tests of m (in a child under -race) and returns the exit
// code for os.Exit.
func Main(m *testing.M) int {
	if !Enabled || IsChild() {
		return m.Run()
	}
	return runChild()
}

// IsChild reports whether this process is the child Main started.
func IsChild() bool { return os.Getenv(envChild) != "" }

func runChild() int {
	args := append([]string{}, os.Args[1:]...)
	if !hasFlag(args, "-test.v") {
		args = append(args, "-test.v=true")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envChild+"=1", "GORACE=halt_on_error=0")
	out, err := cmd.CombinedOutput()
	text := string(out)
	known, unknown := Classify(text)
	var problems []string
	for _, r := range unknown {
		problems = append(problems, "data race outside whatsmeow's known socket race:\n"+r)
	}
	for _, f := range Failures(text) {
		problems = append(problems, "test failed: "+f)
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
	if len(problems) > 0 || (err != nil && ran == 0) || (err != nil && !strings.Contains(text, "WARNING: DATA RACE")) {
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

// Classify splits the race reports in a test's output into whatsmeow's
// known socket race (both accesses' top frames in go.mau.fi/whatsmeow/socket)
// and the others.
func Classify(text string) (known int, unknown []string) {
	parts := strings.Split(text, "WARNING: DATA RACE")
	for _, p := range parts[1:] {
		report := p
		if i := strings.Index(p, "=================="); i >= 0 {
			report = p[:i]
		}
		if inWhatsmeowSocket(report) {
			known++
		} else {
			unknown = append(unknown, report)
		}
	}
	return known, unknown
}

func inWhatsmeowSocket(report string) bool {
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
