package fakewa

// TB is the part of testing.TB that New needs (declared here so the
// package does not link the testing package into binaries that use it,
// such as wagate's bench child).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// New starts a server for a test (Start) and closes it when the test ends;
// it fails the test if the server cannot start.
func New(t TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("fakewa: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
