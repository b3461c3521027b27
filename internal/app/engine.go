package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/wagate/wagate/internal/config"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/engine/simremote"
	"github.com/wagate/wagate/internal/engine/whatsmeow"
	"github.com/wagate/wagate/internal/store"
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
		so.Phones = simPhones{st: s.store}
		s.sim = sim.New(so)
		s.simHost = &simHost{s: s}
		if err := s.restoreSim(ctx); err != nil {
			return err
		}
		if !s.clusterOn() {
			s.engine = s.sim
			return nil
		}
		// Cluster mode: the network is the leader's; channels reach it
		// wherever it is.
		remote := simremote.New(simremote.Options{Host: s.simHost.where, Log: s.log, Sign: func(r *http.Request) {
			if n := s.cnode.Load(); n != nil {
				n.Sign(r)
			}
		}})
		s.engine, s.simPhones, s.simHost.remote = remote, remotePhones{e: remote}, remote
		return nil
	case config.EngineWhatsmeow:
		wo := o.Whatsmeow
		wo.WAVersion, wo.DeviceName, wo.Versions = s.cfg.WAVersion, s.cfg.DeviceName, s.store
		wo.ProxyAllowPrivate = s.cfg.ProxyAllowPrivate
		wo.TrustedProxy = s.poolProxy
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

// simPhones keeps the sim network's phones in the database, so they come
// back after a restart.
type simPhones struct{ st *store.Store }

func (p simPhones) SavePhone(sp sim.StoredPhone) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.st.SaveSimPhone(ctx, store.SimPhone{Number: sp.Number, Name: sp.Name, About: sp.About}, time.Now())
}

// poolProxy says whether proxy is in the operator's pool (which may hold
// private addresses; the engine checks other proxies' addresses when it
// dials them).
func (s *Server) poolProxy(proxy string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pool, err := s.store.Proxies(ctx)
	if err != nil {
		s.log.Warn("proxy pool unreadable: the channel's proxy is checked as a partner's", "error", err)
		return false
	}
	for _, p := range pool {
		if p.URL == proxy {
			return true
		}
	}
	return false
}
