package service

import (
	"context"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// ChannelQuery is the dashboard's channel-list filter.
type ChannelQuery struct {
	Status, Mode, ProjectID, Sort string
	ExpiresWithinDays             int // 0: any
}

// FilterChannels lists one page of a partner's channels by status, mode,
// project and "expires within N days", in one of store.ChannelSorts.
func (s *Service) FilterChannels(ctx context.Context, partnerID string, q ChannelQuery, page Page) ([]model.Channel, int, error) {
	switch q.Status {
	case "", "active", "stopped", "expired", "archived":
	default:
		return nil, 0, invalid("status", "must be active, stopped, expired or archived")
	}
	if q.Mode != "" && !model.Mode(q.Mode).Valid() {
		return nil, 0, invalid("mode", "must be trial, dev, live or dev_archive")
	}
	if _, ok := store.ChannelSorts[q.Sort]; !ok {
		return nil, 0, invalid("sort", "is not a known order")
	}
	if q.ExpiresWithinDays < 0 || q.ExpiresWithinDays > 3650 {
		return nil, 0, invalid("expires", "must be 0 to 3650 days")
	}
	if q.ProjectID != "" {
		if !projectIDRE.MatchString(q.ProjectID) {
			return nil, 0, model.ErrProjectNotFound
		}
		if _, err := s.store.Project(ctx, partnerID, q.ProjectID); err != nil {
			return nil, 0, err
		}
	}
	f := store.ChannelFilter{Status: q.Status, Mode: q.Mode, ProjectID: q.ProjectID, Sort: q.Sort, Now: s.now(),
		ExpiresWithin: time.Duration(q.ExpiresWithinDays) * 24 * time.Hour}
	return s.store.FilterChannels(ctx, partnerID, f, page.Count, page.Offset)
}
