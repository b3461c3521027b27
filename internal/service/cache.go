package service

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// Read caches: every gate request, engine event and runtime event used to
// read the same few rows again (the channel of a token, its settings, its
// partner's settings, the operator's settings). The service keeps short-lived
// copies of them:
//
//   - the Store reports each of its writes (store.Change), and the copies a
//     write touches are dropped at once, so this process never serves a
//     value older than its own last write: a deleted channel's token, a
//     stopped or expired channel, new webhooks;
//   - a copy lives at most cacheTTL, because other processes may share the
//     database (PostgreSQL) and their writes are not reported here;
//   - each kind holds at most cacheMax copies, and is emptied when full.
//
// Reads that modify and write back (settings patches) read the database,
// never a copy. Not-found is never cached.
const (
	cacheTTL = time.Second
	cacheMax = 20_000
)

type cacheEntry[V any] struct {
	v   V
	exp time.Time
}

// cacheTable is one kind of copies, by key. Its owner holds the lock.
type cacheTable[V any] struct {
	m map[string]cacheEntry[V]
}

func (t *cacheTable[V]) get(key string, now time.Time) (V, bool) {
	e, ok := t.m[key]
	if !ok || !now.Before(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (t *cacheTable[V]) put(key string, v V, exp time.Time, max int) {
	if t.m == nil || len(t.m) >= max {
		if _, ok := t.m[key]; !ok {
			t.m = make(map[string]cacheEntry[V])
		}
	}
	t.m[key] = cacheEntry[V]{v: v, exp: exp}
}

func (t *cacheTable[V]) drop(key string) { delete(t.m, key) }

// readCache holds the service's copies. It is safe for concurrent use.
type readCache struct {
	now func() time.Time
	ttl time.Duration
	max int

	mu sync.Mutex
	// gen counts drops: a read from the database that began before a drop
	// may have seen the value before the write, so it fills nothing.
	gen      uint64
	channels cacheTable[model.Channel]         // by channel ID
	tokens   cacheTable[string]                // token hash -> channel ID
	settings cacheTable[model.ChannelSettings] // by channel ID, without the proxy
	partners cacheTable[model.PartnerSettings] // by partner ID
	operator cacheTable[model.OperatorSettings]
}

func newReadCache(now func() time.Time) *readCache {
	return &readCache{now: now, ttl: cacheTTL, max: cacheMax}
}

// invalidate drops what a write changed.
func (c *readCache) invalidate(ch store.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if ch.ChannelID != "" {
		c.channels.drop(ch.ChannelID)
		c.settings.drop(ch.ChannelID)
		// tokens map to a channel ID: with the channel dropped, the next
		// lookup of its token reads the database.
	}
	if ch.PartnerID != "" {
		c.partners.drop(ch.PartnerID)
	}
	if ch.Operator {
		c.operator.drop("")
	}
}

// load returns the copy of key in t, or loads it and keeps it unless a drop
// happened meanwhile. fill, when given, keeps what the load found instead.
func load[V any](c *readCache, t *cacheTable[V], key string, fetch func() (V, error), fill func(V, time.Time)) (V, error) {
	now := c.now()
	c.mu.Lock()
	if v, ok := t.get(key, now); ok {
		c.mu.Unlock()
		return v, nil
	}
	gen := c.gen
	c.mu.Unlock()
	v, err := fetch()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.gen == gen {
		exp := now.Add(c.ttl)
		if fill != nil {
			fill(v, exp)
		} else {
			t.put(key, v, exp, c.max)
		}
	}
	c.mu.Unlock()
	return v, nil
}

// channelByID is store.ChannelByID through the cache.
func (s *Service) channelByID(ctx context.Context, channelID string) (model.Channel, error) {
	ch, err := load(s.cache, &s.cache.channels, channelID, func() (model.Channel, error) {
		return s.store.ChannelByID(ctx, channelID)
	}, nil)
	return cloneChannel(ch), err
}

// channelByTokenHash is store.ChannelByTokenHash through the cache. The
// caller still checks the channel's token against the hash.
func (s *Service) channelByTokenHash(ctx context.Context, hash string) (model.Channel, error) {
	c := s.cache
	now := c.now()
	c.mu.Lock()
	if id, ok := c.tokens.get(hash, now); ok {
		if ch, ok := c.channels.get(id, now); ok {
			c.mu.Unlock()
			return cloneChannel(ch), nil
		}
	}
	c.mu.Unlock()
	ch, err := load(c, &c.channels, "", func() (model.Channel, error) {
		return s.store.ChannelByTokenHash(ctx, hash)
	}, func(ch model.Channel, exp time.Time) {
		c.channels.put(ch.ID, ch, exp, c.max)
		c.tokens.put(hash, ch.ID, exp, c.max)
	})
	return cloneChannel(ch), err
}

// cachedChannelSettings are a channel's settings through the cache, without
// the proxy (the caller's row owns it). The result is the caller's own.
func (s *Service) cachedChannelSettings(ctx context.Context, channelID string) (model.ChannelSettings, error) {
	v, err := load(s.cache, &s.cache.settings, channelID, func() (model.ChannelSettings, error) {
		return s.readChannelSettings(ctx, channelID)
	}, nil)
	return cloneChannelSettings(v), err
}

// readChannelSettings reads and decodes a channel's settings, defaults
// filled in, without the proxy.
func (s *Service) readChannelSettings(ctx context.Context, channelID string) (model.ChannelSettings, error) {
	raw, err := s.store.ChannelSettings(ctx, channelID)
	if err != nil {
		return model.ChannelSettings{}, err
	}
	out := model.DefaultChannelSettings()
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return out, fmt.Errorf("decode channel settings: %w", err)
	}
	out.Proxy = ""
	if out.Webhooks == nil {
		out.Webhooks = []model.ChannelWebhook{}
	}
	if out.Media.AutoDownload == nil {
		out.Media.AutoDownload = []string{}
	}
	return out, nil
}

// partnerSettings are store.PartnerSettings through the cache.
func (s *Service) partnerSettings(ctx context.Context, partnerID string) (model.PartnerSettings, error) {
	v, err := load(s.cache, &s.cache.partners, partnerID, func() (model.PartnerSettings, error) {
		return s.store.PartnerSettings(ctx, partnerID)
	}, nil)
	return clonePartnerSettings(v), err
}

// operatorSettings are store.OperatorSettings through the cache.
func (s *Service) operatorSettings(ctx context.Context) (model.OperatorSettings, error) {
	return load(s.cache, &s.cache.operator, "", func() (model.OperatorSettings, error) {
		return s.store.OperatorSettings(ctx)
	}, nil)
}

// Copies handed out are the caller's: nothing they point to is shared with
// the cache.

func cloneChannel(ch model.Channel) model.Channel {
	if ch.ExpiredAt != nil {
		t := *ch.ExpiredAt
		ch.ExpiredAt = &t
	}
	if ch.LinkedAt != nil {
		t := *ch.LinkedAt
		ch.LinkedAt = &t
	}
	return ch
}

func cloneChannelSettings(v model.ChannelSettings) model.ChannelSettings {
	v.Media.AutoDownload = slices.Clone(v.Media.AutoDownload)
	if v.Webhooks != nil {
		hooks := make([]model.ChannelWebhook, len(v.Webhooks))
		for i, h := range v.Webhooks {
			h.Events = slices.Clone(h.Events)
			h.Headers = maps.Clone(h.Headers)
			hooks[i] = h
		}
		v.Webhooks = hooks
	}
	return v
}

func clonePartnerSettings(v model.PartnerSettings) model.PartnerSettings {
	if v.Webhooks != nil {
		hooks := make([]model.PartnerWebhook, len(v.Webhooks))
		for i, h := range v.Webhooks {
			h.Events = slices.Clone(h.Events)
			hooks[i] = h
		}
		v.Webhooks = hooks
	}
	if v.DaysLimit != nil {
		d := *v.DaysLimit
		v.DaysLimit = &d
	}
	return v
}
