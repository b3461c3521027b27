//go:build race

package racechild

// Enabled reports whether the binary is race-instrumented.
const Enabled = true
