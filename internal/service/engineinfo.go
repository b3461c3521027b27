package service

import (
	"context"
	"fmt"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/wire"
)

// EngineInfo is what the operator sees of the engine channels run on.
type EngineInfo struct {
	Name string
	// Version is the client version WhatsApp sees, and where it came from;
	// nil for an engine WhatsApp does not check (sim).
	Version *engine.ClientVersion
	// OrphansRemoved counts the engine's devices no channel owned, removed
	// since the process started.
	OrphansRemoved int64
}

// WireServer is what health answers and events say about this wagate.
func (s *Service) WireServer() wire.Server {
	return wire.Server{Version: s.version, Engine: s.EngineName()}
}

// EngineInfo describes the running engine.
func (s *Service) EngineInfo() EngineInfo {
	out := EngineInfo{Name: s.EngineName(), OrphansRemoved: s.OrphansRemoved()}
	if v, ok := s.versioned(); ok {
		cv := v.ClientVersion()
		out.Version = &cv
	}
	return out
}

func (s *Service) versioned() (engine.Versioned, bool) {
	if s.rt == nil {
		return nil, false
	}
	v, ok := s.rt.Engine().(engine.Versioned)
	return v, ok
}

// RefreshClientVersion asks WhatsApp for its current web client version now
// (the engine does so every few hours, and at once when WhatsApp refuses
// the one in use).
func (s *Service) RefreshClientVersion(ctx context.Context) (engine.ClientVersion, error) {
	v, ok := s.versioned()
	if !ok {
		return engine.ClientVersion{}, fmt.Errorf("the %s engine has no client version to refresh: %w", s.EngineName(), model.ErrNotImplemented)
	}
	cv, err := v.RefreshClientVersion(ctx)
	if err != nil {
		return cv, fmt.Errorf("could not learn the current WhatsApp Web version: %v: %w", err, model.ErrUpstream)
	}
	return cv, nil
}

// ChannelHealth is one of a partner's channels' runtime health and the
// counters of what WhatsApp did to it (undecryptable messages, refused
// sends).
func (s *Service) ChannelHealth(ctx context.Context, partnerID, channelID string) (model.Channel, runtime.Health, map[string]store.Counter, error) {
	ch, err := s.Channel(ctx, partnerID, channelID)
	if err != nil {
		return ch, runtime.Health{}, nil, err
	}
	counters, err := s.store.ChannelCounters(ctx, ch.ID)
	if err != nil {
		return ch, runtime.Health{}, nil, err
	}
	return ch, s.Health(ch), counters, nil
}
