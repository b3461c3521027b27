//go:build !race

package fakewa_test

const raceEnabled = false
