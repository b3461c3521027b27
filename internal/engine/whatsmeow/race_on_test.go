//go:build race

package whatsmeow

const raceEnabled = true
