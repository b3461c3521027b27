package app

import (
	"context"
	"time"
)

// Retention pruning (service.PruneRetention) runs a minute after the start
// and then every retentionEvery, in a goroutine of its own: a long pass
// (a retention just shortened over months of messages) paces itself and
// holds up nothing else.
const (
	retentionFirst = time.Minute
	retentionEvery = 10 * time.Minute
)

func (s *Server) retentionLoop(ctx context.Context) {
	t := time.NewTimer(retentionFirst)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		n, err := s.svc.PruneRetention(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("retention pruning failed", "error", err)
		case n.Messages+n.Media+n.WebhookRecords > 0:
			s.log.Info("retention pruned", "messages", n.Messages, "media", n.Media, "webhook_records", n.WebhookRecords,
				"seconds", time.Since(start).Seconds())
		}
		t.Reset(retentionEvery)
	}
}
