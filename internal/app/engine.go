package app

import (
	"context"
	"fmt"

	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/engine/whatsmeow"
)

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
		eng, err := whatsmeow.New(ctx, s.store.DB(), string(s.store.Dialect()), s.log, whatsmeow.Options{
			WAVersion: s.cfg.WAVersion, DeviceName: s.cfg.DeviceName,
		})
		if err != nil {
			return fmt.Errorf("whatsmeow engine: %w", err)
		}
		s.engine = eng
		return nil
	}
	return fmt.Errorf("unknown engine %q", s.cfg.Engine)
}
