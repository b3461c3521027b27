package store

import (
	"context"
	"fmt"
	"time"
)

// ForgetContactName drops the name a channel saved a contact under (the
// contact was removed from the address book); the contact stays.
func (s *Store) ForgetContactName(ctx context.Context, channelID, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q("UPDATE contacts SET name = '', updated_at = ? WHERE channel_id = ? AND id = ?"), ms(now), channelID, id)
	if err != nil {
		return fmt.Errorf("store: forget contact name: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrContactNotFound
	}
	return nil
}
