// Command wagate is the WhatsApp API gateway: `wagate` (or `wagate serve`)
// runs the server; other subcommands are one-shot operator tasks.
package main

import (
	"os"

	"github.com/wagate/wagate/internal/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
