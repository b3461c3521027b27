// Command gen writes stubs_gen.go: the remote session's methods (run from
// internal/engine/simremote with go generate).
package main

import (
	"fmt"
	"os"

	"github.com/wagate/wagate/internal/engine/simremote/internal/stubgen"
)

func main() {
	src, err := stubgen.Generate("../")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile("stubs_gen.go", src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
