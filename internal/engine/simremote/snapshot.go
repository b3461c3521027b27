package simremote

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"

	"github.com/wagate/wagate/internal/engine/sim"
)

// maxSnapshot bounds a decompressed snapshot.
const maxSnapshot = 1 << 30

// wireSnapshot is a sim.Snapshot with its devices' queued events typed.
type wireSnapshot struct {
	sim.Snapshot
	Queues map[string][]*wireEvent `json:"queues,omitempty"` // by device ID
}

// EncodeSnapshot turns a network snapshot into gzipped JSON.
func EncodeSnapshot(s sim.Snapshot) ([]byte, error) {
	w := wireSnapshot{Snapshot: s}
	for _, d := range s.Devices {
		for _, ev := range d.Queue {
			we, err := encodeEvent(ev)
			if err != nil {
				return nil, err
			}
			if w.Queues == nil {
				w.Queues = map[string][]*wireEvent{}
			}
			w.Queues[d.ID] = append(w.Queues[d.ID], we)
		}
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(w); err != nil {
		return nil, fmt.Errorf("simremote: encode snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeSnapshot reads what EncodeSnapshot wrote.
func DecodeSnapshot(data []byte) (sim.Snapshot, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return sim.Snapshot{}, fmt.Errorf("simremote: decode snapshot: %w", err)
	}
	var w wireSnapshot
	if err := json.NewDecoder(io.LimitReader(zr, maxSnapshot)).Decode(&w); err != nil {
		return sim.Snapshot{}, fmt.Errorf("simremote: decode snapshot: %w", err)
	}
	for i, d := range w.Devices {
		for _, we := range w.Queues[d.ID] {
			ev, err := decodeEvent(we)
			if err != nil {
				return sim.Snapshot{}, err
			}
			w.Devices[i].Queue = append(w.Devices[i].Queue, ev)
		}
	}
	return w.Snapshot, nil
}
