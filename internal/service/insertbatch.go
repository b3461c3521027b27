package service

import (
	"context"
	"errors"
	"sync"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// insertBatcher writes the messages of sends and incoming messages that
// arrive together (of one or more channels) in one store.InsertMessages
// call, which on SQLite is one transaction: group commit for the single
// writer. The caller that finds no group being written becomes the writer:
// it writes the queue's head group, which holds its own message, then hands
// the writing on to the first caller still queued, if any, and returns; the
// others wait. Each caller returns once its message is committed (or
// failed), so a message is as durable as before, and one channel's messages
// stored one after the other keep their order (seq).
// On PostgreSQL messages go straight to store.InsertMessage: there writers
// run side by side and a transaction per message keeps that.
type insertBatcher struct {
	mu      sync.Mutex
	queue   []*pendingInsert
	writing bool
}

type pendingInsert struct {
	msg      store.NewMessage
	inserted bool
	err      error
	done     chan struct{} // closed once msg is written (or failed)
	lead     chan struct{} // closed when this caller is to write next
}

// maxInsertBatch bounds the messages written in one transaction.
const maxInsertBatch = 64

// insertMessage stores a message as store.InsertNewMessage does, in a group
// with the messages that arrive with it.
func (s *Service) insertMessage(ctx context.Context, nm store.NewMessage) (bool, error) {
	if s.store.Dialect() != store.SQLite {
		return s.store.InsertNewMessage(ctx, nm)
	}
	return s.inserts.insert(ctx, s.store, nm)
}

func (b *insertBatcher) insert(ctx context.Context, st *store.Store, nm store.NewMessage) (bool, error) {
	p := &pendingInsert{msg: nm, done: make(chan struct{}), lead: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, p)
	if b.writing {
		b.mu.Unlock()
		// No return on ctx's end: the caller learns what became of its
		// message, and a caller handed the writing must take it up. A
		// group's write is bounded by ingestTimeout.
		select {
		case <-p.done:
			return p.inserted, p.err
		case <-p.lead:
		}
		b.mu.Lock()
	}
	b.writing = true
	b.mu.Unlock()
	defer func() { // also when a hook panics: the queue must go on
		b.mu.Lock()
		if len(b.queue) > 0 {
			close(b.queue[0].lead)
		} else {
			b.writing = false
		}
		b.mu.Unlock()
	}()
	b.write(ctx, st)
	return p.inserted, p.err
}

// write stores the queue's head group, taken once the store's writer is
// free, so it holds whatever gathered meanwhile (p, the writer's own, is
// the head: a new writer found the queue empty, and a writer hands on to
// the head, which only writers take from), and tells each of its callers.
func (b *insertBatcher) write(ctx context.Context, st *store.Store) {
	// The group is others' too: it is not cut short by this caller's end.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ingestTimeout)
	defer cancel()
	var group []*pendingInsert
	take := func() []store.NewMessage {
		b.mu.Lock()
		n := min(len(b.queue), maxInsertBatch)
		group = b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()
		nms := make([]store.NewMessage, len(group))
		for i, p := range group {
			nms[i] = p.msg
		}
		return nms
	}
	told := false
	defer func() {
		if !told { // InsertMessagesTaken panicked
			for _, p := range group {
				p.err = errors.New("service: insert message: the group's write panicked")
				close(p.done)
			}
		}
	}()
	_, inserted, errs := st.InsertMessagesTaken(wctx, take)
	told = true
	for i, p := range group {
		p.inserted, p.err = inserted[i], errs[i]
		close(p.done)
	}
}

// hooks1 is the hooks argument of one message's inserts.
func hooks1(h func(created *model.Chat) []model.WebhookDelivery) []func(created *model.Chat) []model.WebhookDelivery {
	return []func(created *model.Chat) []model.WebhookDelivery{h}
}
