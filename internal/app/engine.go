package app

import (
	"context"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/engine/whatsmeow"
)

// retrySpread spreads the reconnection of channels refused as outdated once
// a new version is known, so that they do not all connect at once.
const retrySpread = 30 * time.Second

// openEngine builds the configured WhatsApp engine.
func (s *Server) openEngine(ctx context.Context, o Options) error {
	switch s.cfg.Engine {
	case config.EngineSim:
		so := o.Sim
		if so.Now == nil {
			so.Now = o.Now
		}
		s.sim = sim.New(so)
		s.engine = s.sim
		return nil
	case config.EngineWhatsmeow:
		wo := o.Whatsmeow
		wo.WAVersion, wo.DeviceName, wo.Versions = s.cfg.WAVersion, s.cfg.DeviceName, s.store
		spread := retrySpread
		if o.OutdatedSpread != 0 {
			spread = max(o.OutdatedSpread, 0)
		}
		wo.OnVersionChange = func(v engine.ClientVersion) {
			// The runtime exists once the engine's first refresh can end.
			if rt := s.rtReady.Load(); rt != nil {
				n := rt.RetryOutdated(spread)
				s.log.Info("new WhatsApp Web version: channels refused as outdated connect again", "version", v.Version, "channels", n)
			}
		}
		eng, err := whatsmeow.New(ctx, s.store.DB(), string(s.store.Dialect()), s.log, wo)
		if err != nil {
			return fmt.Errorf("whatsmeow engine: %w", err)
		}
		s.engine = eng
		return nil
	}
	return fmt.Errorf("unknown engine %q", s.cfg.Engine)
}
