package store

import (
	"context"
	"fmt"

	"github.com/wagate/wagate/internal/model"
)

// EachChannelOfAll calls fn for every channel of every partner, streaming
// rows (the metrics' census; an operator's view).
func (s *Store) EachChannelOfAll(ctx context.Context, fn func(model.Channel) error) error {
	rows, err := s.db.QueryContext(ctx, "SELECT "+channelColumns+" FROM channels")
	if err != nil {
		return fmt.Errorf("store: list channels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return fmt.Errorf("store: scan channel: %w", err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}
