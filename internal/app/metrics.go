package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/metrics"
	"github.com/wagate/wagate/internal/service"
	"github.com/wagate/wagate/internal/store"
)

// metricsSource counts channels and the outbox for the metrics at scrape
// time.
type metricsSource struct {
	svc func() *service.Service // built after the metrics
	st  *store.Store
	now func() time.Time
}

func (m metricsSource) ChannelCensus(ctx context.Context) ([]metrics.ChannelCount, error) {
	counts, err := m.svc().ChannelCensus(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]metrics.ChannelCount, len(counts))
	for i, c := range counts {
		out[i] = metrics.ChannelCount{Status: c.Status, Mode: string(c.Mode), N: c.N}
	}
	return out, nil
}

func (m metricsSource) OutboxStats(ctx context.Context) (metrics.OutboxStats, error) {
	st, err := m.st.Pending(ctx, m.now())
	if err != nil {
		return metrics.OutboxStats{}, err
	}
	return metrics.OutboxStats{Pending: st.Pending, InFlight: st.InFlight, Oldest: st.Oldest}, nil
}

// metricsHandler serves /metrics on the main listener to the operator
// token only: the figures are the whole installation's.
func (s *Server) metricsHandler() http.Handler {
	h := s.metrics.Handler()
	return httpx.Handle(s.log, func(w http.ResponseWriter, r *http.Request) error {
		token := httpx.BearerToken(r)
		if token == "" {
			return httpx.Errorf(http.StatusUnauthorized, "missing admin token: send Authorization: Bearer <token> (or scrape WAGATE_METRICS_ADDR)")
		}
		ok, err := s.svc.AuthenticateAdmin(r.Context(), token)
		if err != nil {
			return err
		}
		if !ok {
			return httpx.Errorf(http.StatusUnauthorized, "invalid admin token")
		}
		h.ServeHTTP(w, r)
		return nil
	})
}

// startMetricsListener serves /metrics without a token on
// WAGATE_METRICS_ADDR, when set.
func (s *Server) startMetricsListener() error {
	if s.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen %s (metrics): %w", s.cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	s.metricsHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 60 * time.Second}
	s.metricsLn = ln
	go func() {
		if err := s.metricsHTTP.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics server stopped", "error", err)
		}
	}()
	s.log.Info("metrics listening", "addr", ln.Addr().String())
	return nil
}

// MetricsAddr is where the token-less metrics listener listens, once
// started ("" without one).
func (s *Server) MetricsAddr() string {
	if s.metricsLn == nil {
		return ""
	}
	return s.metricsLn.Addr().String()
}
