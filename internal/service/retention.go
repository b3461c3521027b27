package service

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// Retention: the operator's settings (retain_messages_days,
// retain_media_days, retain_webhook_records_days) and a channel's own
// (its settings; 0: the operator's) say how long a channel's messages,
// media files and finished webhook deliveries are kept. PruneRetention
// deletes what is older, channel by channel, in batches of RetentionBatch
// rows, each a short transaction of its own, resting after each batch
// three times as long as it took: writers wait at most one batch, and
// pruning takes at most a quarter of the database's time. (With batches
// of 100 and a rest as long as each, the SQLite send p99 rose 2.0-2.5x
// while pruning once checkpoints had left the commits; now 1.2-1.4x, and
// pruning still outruns the sends, 2,100-2,400 messages/s on a 2-core VM.)

// RetentionBatch is the most rows one pruning transaction deletes.
const RetentionBatch = 50

// retentionPage is how many channels' settings are read at once.
const retentionPage = 500

// RetentionPruned counts what one PruneRetention pass deleted.
type RetentionPruned struct {
	Messages       int
	Media          int
	WebhookRecords int
}

// EffectiveRetention is a channel's retention: its own settings over the
// operator's.
func EffectiveRetention(op model.OperatorSettings, ch model.ChannelSettings) model.Retention {
	return ch.Retention.Over(op.Retention)
}

// PruneRetention deletes, for every channel this node holds (all on a
// single node), what its retention no longer keeps. It returns what went;
// it stops early when ctx ends.
func (s *Service) PruneRetention(ctx context.Context) (RetentionPruned, error) {
	var out RetentionPruned
	op, err := s.store.OperatorSettings(ctx)
	if err != nil {
		return out, err
	}
	now := s.now()
	after := ""
	for {
		docs, err := s.store.ChannelDocs(ctx, after, retentionPage)
		if err != nil || len(docs) == 0 {
			return out, err
		}
		for _, d := range docs {
			after = d.ID
			if !s.runsHere(d.ID) {
				continue
			}
			own := model.ChannelSettings{}
			if err := json.Unmarshal([]byte(d.Settings), &own); err != nil {
				s.log.WarnContext(ctx, "retention: unreadable channel settings", "channel_id", d.ID, "error", err)
				continue
			}
			r := EffectiveRetention(op, own)
			if err := s.pruneChannel(ctx, d.ID, r, now, &out); err != nil {
				return out, err
			}
		}
	}
}

// pruneChannel deletes a channel's data older than r says.
func (s *Service) pruneChannel(ctx context.Context, channelID string, r model.Retention, now time.Time, out *RetentionPruned) error {
	days := func(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }
	if r.RetainMessagesDays > 0 {
		n, err := paced(ctx, func() (int, error) {
			return s.store.PruneMessages(ctx, channelID, days(r.RetainMessagesDays), RetentionBatch)
		})
		out.Messages += n
		if err != nil {
			return err
		}
	}
	if r.RetainWebhookDays > 0 {
		n, err := paced(ctx, func() (int, error) {
			return s.store.PruneChannelDeliveries(ctx, channelID, days(r.RetainWebhookDays), RetentionBatch)
		})
		out.WebhookRecords += n
		if err != nil {
			return err
		}
	}
	if r.RetainMediaDays > 0 {
		n, err := paced(ctx, func() (int, error) {
			files, err := s.store.MediaBefore(ctx, channelID, days(r.RetainMediaDays), RetentionBatch/5)
			if err != nil {
				return 0, err
			}
			for i, f := range files {
				if err := s.store.DeleteMedia(ctx, f.ChannelID, f.ID); err != nil && !errors.Is(err, model.ErrNotFound) {
					return i, err
				}
				if key, err := s.mediaKey(f.ChannelID, f.ID); err == nil {
					if err := s.blobs.Delete(ctx, key); err != nil {
						s.log.WarnContext(ctx, "retention: a media file could not be removed", "media_id", f.ID, "error", err)
					}
				}
			}
			return len(files), nil
		})
		out.Media += n
		if err != nil {
			return err
		}
	}
	return nil
}

// pruneRest is how many times a batch's duration pruning rests after it.
const pruneRest = 3

// paced calls batch until it deletes nothing, resting after each batch
// pruneRest times as long as it took (at least a millisecond), and returns
// the total.
func paced(ctx context.Context, batch func() (int, error)) (int, error) {
	total := 0
	for {
		t0 := time.Now()
		n, err := batch()
		total += n
		if err != nil || n == 0 {
			return total, err
		}
		t := time.NewTimer(max(pruneRest*time.Since(t0), time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return total, ctx.Err()
		case <-t.C:
		}
	}
}
