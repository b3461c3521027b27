package store

import "sync"

// Change names what one of the Store's writes changed, so that readers
// keeping copies (the service's caches) drop theirs. It is reported after
// the write ends, whether or not it succeeded (a failed write changed
// nothing, and dropping a copy is always safe).
type Change struct {
	// ChannelID is a channel whose row (settings, proxy, link, days, mode,
	// stop, expiry, or the row itself) was written.
	ChannelID string
	// PartnerID is a partner whose settings were written.
	PartnerID string
	// Operator is set when the operator's settings were written.
	Operator bool
}

// watchers are the functions told of every Change.
type watchers struct {
	mu  sync.RWMutex
	fns []func(Change)
}

// OnChange registers fn to be called after each write that changes a
// channel row, a partner's settings or the operator's settings. fn runs on
// the writer's goroutine and must be quick and must not call the Store.
func (s *Store) OnChange(fn func(Change)) {
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	s.watch.fns = append(s.watch.fns, fn)
}

func (s *Store) changed(c Change) {
	s.watch.mu.RLock()
	defer s.watch.mu.RUnlock()
	for _, fn := range s.watch.fns {
		fn(c)
	}
}

func (s *Store) channelChanged(channelID string) { s.changed(Change{ChannelID: channelID}) }
