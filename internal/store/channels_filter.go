package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// ChannelFilter narrows and orders a partner's channel list (the
// dashboard's channel list, usable at tens of thousands of channels).
type ChannelFilter struct {
	Status    string // active, stopped, expired, archived; "" any
	Mode      string // trial, dev, live, dev_archive; "" any
	ProjectID string // "" any
	// ExpiresWithin keeps running channels whose time ends within it (0:
	// no bound).
	ExpiresWithin time.Duration
	// Sort is one of ChannelSorts ("" is "created").
	Sort string
	Now  time.Time
}

// ChannelSorts are the orders FilterChannels knows, each an ORDER BY on
// indexed or cheap columns, ID last so pages never overlap.
var ChannelSorts = map[string]string{
	"created":  "created_at, id",
	"-created": "created_at DESC, id DESC",
	"name":     "name, id",
	"-name":    "name DESC, id DESC",
	"expires":  "active_till, id",
	"-expires": "active_till DESC, id DESC",
	"status":   "stopped, active_till DESC, id",
	"-status":  "stopped DESC, active_till, id",
	"project":  "project_id, created_at, id",
	"-project": "project_id DESC, created_at DESC, id DESC",
	"mode":     "mode, created_at, id",
	"-mode":    "mode DESC, created_at DESC, id DESC",
	"":         "created_at, id",
}

// FilterChannels lists one page of a partner's channels matching f, and
// how many match in all.
func (s *Store) FilterChannels(ctx context.Context, partnerID string, f ChannelFilter, limit, offset int) ([]model.Channel, int, error) {
	conds, args := []string{"partner_id = ?"}, []any{partnerID}
	now := ms(f.Now)
	switch f.Status {
	case "":
	case "active":
		conds, args = append(conds, "mode <> 'dev_archive' AND NOT stopped AND active_till > ?"), append(args, now)
	case "stopped":
		conds = append(conds, "mode <> 'dev_archive' AND stopped")
	case "expired":
		conds, args = append(conds, "mode <> 'dev_archive' AND NOT stopped AND active_till <= ?"), append(args, now)
	case "archived":
		conds = append(conds, "mode = 'dev_archive'")
	default:
		return nil, 0, fmt.Errorf("store: unknown channel status %q: %w", f.Status, model.ErrInvalid)
	}
	if f.Mode != "" {
		conds, args = append(conds, "mode = ?"), append(args, f.Mode)
	}
	if f.ProjectID != "" {
		conds, args = append(conds, "project_id = ?"), append(args, f.ProjectID)
	}
	if f.ExpiresWithin > 0 {
		conds, args = append(conds, "NOT stopped AND active_till > ? AND active_till <= ?"), append(args, now, now+f.ExpiresWithin.Milliseconds())
	}
	order, ok := ChannelSorts[f.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("store: unknown channel sort %q: %w", f.Sort, model.ErrInvalid)
	}
	where := strings.Join(conds, " AND ")
	var total int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM channels WHERE "+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count channels: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+channelColumns+" FROM channels WHERE "+where+" ORDER BY "+order+" LIMIT ? OFFSET ?"),
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list channels: %w", err)
	}
	out, err := collectChannels(rows)
	return out, total, err
}
