package service

import (
	"testing"
	"time"

	"github.com/wagate/wagate/internal/engine"
)

// TestReplaceNUL: every text of an engine event (the message, the push
// name, nested content, lists) loses its U+0000 to U+FFFD; file bytes stay;
// the engine's own event is not written.
func TestReplaceNUL(t *testing.T) {
	data := []byte{0, 1, 0}
	loc := &engine.Location{Name: "Caf\x00e", Address: "ok"}
	in := engine.Message{ID: "M1", PushName: "Ann\x00", Text: "a\x00b", Time: time.Unix(1, 0),
		Content: engine.Content{Kind: engine.KindText, Text: "a\x00b", Location: loc,
			Poll:  &engine.Poll{Title: "t", Options: []string{"x", "y\x00"}},
			Media: &engine.Media{Data: data, FileName: "f\x00.pdf"}}}
	out, ok := replaceNUL(engine.Event(in)).(engine.Message)
	if !ok {
		t.Fatal("replaceNUL changed the event's type")
	}
	c := out.Content
	if out.PushName != "Ann\uFFFD" || out.Text != "a\uFFFDb" || c.Text != "a\uFFFDb" || c.Location.Name != "Caf\uFFFDe" ||
		c.Poll.Options[1] != "y\uFFFD" || c.Media.FileName != "f\uFFFD.pdf" || out.ID != "M1" || !out.Time.Equal(time.Unix(1, 0)) {
		t.Fatalf("replaceNUL = %+v", out)
	}
	if string(c.Media.Data) != "\x00\x01\x00" {
		t.Fatalf("file bytes changed: %q", c.Media.Data)
	}
	if loc.Name != "Caf\x00e" || in.Content.Poll.Options[1] != "y\x00" || in.PushName != "Ann\x00" {
		t.Fatal("the engine's event was written")
	}
	g := engine.GroupChange{Group: "1@g.us", Subject: "Team\x00", Participants: []string{"1\x00"}}
	if got := replaceNUL(engine.Event(g)).(engine.GroupChange); got.Subject != "Team\uFFFD" || got.Participants[0] != "1\uFFFD" {
		t.Fatalf("group change = %+v", got)
	}
	clean := engine.Message{ID: "M2", Text: "fine"}
	if got := replaceNUL(engine.Event(clean)).(engine.Message); got.Text != "fine" {
		t.Fatalf("clean message = %+v", got)
	}
}
