package whatsmeow

import (
	"context"
	"log/slog"
	"time"

	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// presenceTimeout bounds sending the presence again.
const presenceTimeout = 10 * time.Second

// presenceMoment reports whether evt is a moment to send the presence
// asked for again: the connection is up, or the push name (which WhatsApp
// wants with a presence) just became known.
func presenceMoment(evt any) bool {
	switch e := evt.(type) {
	case *events.Connected, *events.PushNameSetting:
		return true
	case *events.AppStateSyncComplete:
		return e.Name == appstate.WAPatchCriticalBlock
	}
	return false
}

// resendPresence sends the presence last asked for (SetPresence) on
// client c, off whatsmeow's event path, when the push name is known; it
// does nothing when no presence was asked for.
func (s *Session) resendPresence(c *client) {
	want, _ := s.wantPresence.Load().(string)
	if want == "" || c.Store == nil || c.Store.PushName == "" {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(s.ctx, presenceTimeout)
		defer cancel()
		if err := c.SendPresence(ctx, types.Presence(want)); err != nil {
			s.log.Debug("whatsmeow: presence not sent again", slog.String("presence", want), slog.Any("error", err))
		}
	}()
}
