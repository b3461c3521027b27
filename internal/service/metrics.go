package service

import (
	"context"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
)

// Metrics receives what the service counts: sends (with the engine's time)
// and received messages. It is declared here so that the service does not
// depend on a metrics library; internal/metrics implements it.
type Metrics interface {
	MessageSent(kind string, took time.Duration, err error)
	MessageReceived(kind string)
}

// noMetrics counts nothing (one-shot commands, tests).
type noMetrics struct{}

func (noMetrics) MessageSent(string, time.Duration, error) {}
func (noMetrics) MessageReceived(string)                   {}

// ChannelCount is how many channels show one status in one mode.
type ChannelCount struct {
	Status string // the gate API's status text (AUTH, QR, STOP...)
	Mode   model.Mode
	N      int
}

// ChannelCensus counts the channels by runtime status and mode, for the
// metrics. In a cluster it counts the channels this node runs and the
// stopped ones (which run nowhere); a channel another node runs is left to
// that node.
func (s *Service) ChannelCensus(ctx context.Context) ([]ChannelCount, error) {
	type key struct {
		status string
		mode   model.Mode
	}
	counts := map[key]int{}
	now := s.now()
	err := s.store.EachChannelOfAll(ctx, func(ch model.Channel) error {
		var h runtime.Health
		switch {
		case s.rt != nil:
			h = s.rt.Health(ch)
		case ch.Running(now):
			h.Status = runtime.StatusNotInit
		default:
			h.Status = runtime.StatusStop
		}
		if h.Status == runtime.StatusNotInit && !s.runsHere(ch.ID) {
			return nil // another node's
		}
		counts[key{h.Status.String(), ch.Mode}]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]ChannelCount, 0, len(counts))
	for k, n := range counts {
		out = append(out, ChannelCount{Status: k.status, Mode: k.mode, N: n})
	}
	return out, nil
}
