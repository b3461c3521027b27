package whatsmeow

import (
	"fmt"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if missing := unlistedSocketTests(); len(missing) > 0 {
		fmt.Printf("FAIL: %v connect sockets but are not in socketTests (socketrace_test.go): under -race they never run\n", missing)
		code = 1
	}
	os.Exit(code)
}
