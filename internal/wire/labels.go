package wire

import (
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// TypeLabels is the webhook event type of labels.
const TypeLabels = "labels"

// Label is a label in Whapi's shape: its color by Whapi's name of
// WhatsApp's color, Count how many chats carry it.
type Label struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
	Count int    `json:"count"`
}

// LabelColor names WhatsApp's label color i (the first color for one
// WhatsApp added after this list).
func LabelColor(i int) string {
	if i < 0 || i >= len(engine.LabelColors) {
		return engine.LabelColors[0]
	}
	return engine.LabelColors[i]
}

// NewLabel converts a stored label for the wire.
func NewLabel(l store.Label) Label {
	return Label{ID: l.ID, Name: l.Name, Color: LabelColor(l.Color), Count: l.Count}
}

// NewLabels converts stored labels for the wire (never nil).
func NewLabels(ls []store.Label) []Label {
	out := make([]Label, len(ls))
	for i, l := range ls {
		out[i] = NewLabel(l)
	}
	return out
}

// LabelsEvent is "labels" post: labels created or changed.
func LabelsEvent(channelID string, labels []store.Label) ([]byte, error) {
	if len(labels) == 0 {
		return nil, errors.New("wire: labels event: no labels")
	}
	return channelBody(channelID, EventKind{TypeLabels, MethodPost}, field{"labels", NewLabels(labels)})
}

// LabelsRemovedEvent is "labels" delete: the IDs of labels deleted.
func LabelsRemovedEvent(channelID string, ids []string) ([]byte, error) {
	if err := checkIDs("labels removed", ids); err != nil {
		return nil, err
	}
	return channelBody(channelID, EventKind{TypeLabels, MethodDelete}, field{"labels_removed", ids})
}

// ChatLabelsEvent is "chats" patch for a chat whose labels changed, before
// and after.
func ChatLabelsEvent(channelID string, c model.Chat, before, after []store.Label, now time.Time) ([]byte, error) {
	if c.ID == "" {
		return nil, fmt.Errorf("wire: chat labels event: no chat")
	}
	b, a := NewChat(c, nil, now), NewChat(c, nil, now)
	b.Labels, a.Labels = NewLabels(before), NewLabels(after)
	up, err := newUpdate(b, a)
	if err != nil {
		return nil, err
	}
	return channelBody(channelID, EventKind{TypeChats, MethodPatch}, field{"chats_updates", []Update[Chat]{up}})
}
