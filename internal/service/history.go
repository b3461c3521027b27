package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/wire"
)

// History sync. When a device links, the account's phone sends it past
// chats in chunks; the engine reports each chunk's notice, which Ingest
// keeps (history_queue) before the engine acknowledges it. RunHistory
// fetches the chunks one at a time for all channels of this process, keeps
// every LID mapping and push name they carry, and imports recent chats and
// messages within the channel's settings (history: the last 50 messages
// per chat of 30 days by default). Imported messages are reported as
// messages.put (Whapi's event for messages that arrived while offline),
// new chats as chats.post; never as messages.post.

// History import bounds.
const (
	// maxHistoryRef bounds a notice's reference (a few hundred bytes in
	// practice).
	maxHistoryRef = 64 << 10
	// maxHistoryChats bounds the chats imported from one chunk.
	maxHistoryChats = 1000
	// MaxHistoryMessages and MaxHistoryDays bound the settings.
	MaxHistoryMessages = 1000
	MaxHistoryDays     = 365
	// historyAttempts is how often a chunk is tried before it is given up.
	historyAttempts = 5
	// historyFetchTimeout bounds one chunk's download and import.
	historyFetchTimeout = 5 * time.Minute
	// historyPoll is how often the queue is looked at without a wake-up
	// (chunks postponed, or queued by another node).
	historyPoll = 30 * time.Second
	// historyPushNameBatch is how many push names are saved per
	// transaction.
	historyPushNameBatch = 500
)

// applyHistorySettings checks and applies a history settings patch.
func applyHistorySettings(cur model.HistorySettings, p HistorySettingsPatch) (model.HistorySettings, error) {
	next := cur
	if p.Messages != nil {
		if *p.Messages < 0 || *p.Messages > MaxHistoryMessages {
			return cur, invalid("history.messages", "must be 0 (no import) to %d", MaxHistoryMessages)
		}
		next.Messages = *p.Messages
	}
	if p.Days != nil {
		if *p.Days < 0 || *p.Days > MaxHistoryDays {
			return cur, invalid("history.days", "must be 0 (no import) to %d", MaxHistoryDays)
		}
		next.Days = *p.Days
	}
	return next, nil
}

// queueHistory keeps a history chunk's notice until RunHistory fetches it.
func (s *Service) queueHistory(ctx context.Context, ch model.Channel, e engine.HistoryNotice) error {
	if e.ID == "" || len(e.Ref) == 0 || len(e.Ref) > maxHistoryRef {
		s.log.WarnContext(ctx, "history notice without a usable reference skipped", "channel_id", ch.ID, "id", e.ID, "bytes", len(e.Ref))
		return nil
	}
	if err := s.store.QueueHistory(ctx, ch.ID, e.ID, e.Ref, s.now()); err != nil {
		return err
	}
	s.StartHistory(context.Background())
	select {
	case s.historyWake <- struct{}{}:
	default:
	}
	return nil
}

// historyWorker is the one goroutine that runs RunHistory: started by
// StartHistory (at startup, for chunks queued before) or by the first
// chunk queued, stopped by StopHistory.
type historyWorker struct {
	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
}

// StartHistory starts the history worker unless it runs (or was stopped).
func (s *Service) StartHistory(ctx context.Context) {
	w := &s.history
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil || w.stopped {
		return
	}
	ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		s.RunHistory(ctx)
	}()
}

// StopHistory stops the history worker and waits for it; a chunk being
// imported is fetched again later (it leaves the queue only once imported).
func (s *Service) StopHistory() {
	w := &s.history
	w.mu.Lock()
	w.stopped = true
	cancel, done := w.cancel, w.done
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// RunHistory fetches and imports queued history chunks, one at a time,
// until ctx ends.
func (s *Service) RunHistory(ctx context.Context) {
	t := time.NewTicker(historyPoll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			did, err := s.historyStep(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("history queue", "error", err)
			}
			if !did || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.historyWake:
		case <-t.C:
		}
	}
}

// historyStep handles the oldest chunk due; did is false when none was.
func (s *Service) historyStep(ctx context.Context) (did bool, err error) {
	it, ok, err := s.store.NextHistory(ctx, s.now())
	if err != nil || !ok {
		return false, err
	}
	ch, err := s.channelByID(ctx, it.ChannelID)
	if errors.Is(err, model.ErrNotFound) {
		return true, s.store.DeleteHistory(ctx, it.ChannelID, it.ID)
	}
	if err != nil {
		return false, err
	}
	if !s.runsHere(ch.ID) { // another node runs the channel: it fetches
		return true, s.store.PostponeHistory(ctx, ch.ID, it.ID, s.now().Add(time.Minute), false)
	}
	err = s.fetchHistory(ctx, ch, it)
	switch {
	case err == nil:
		return true, s.store.DeleteHistory(ctx, ch.ID, it.ID)
	case errors.Is(err, engine.ErrHistoryTooLarge), errors.Is(err, model.ErrNotImplemented), errors.Is(err, engine.ErrInvalidContent):
		s.log.WarnContext(ctx, "history chunk skipped: the rest of this chunk is not imported", "channel_id", ch.ID, "id", it.ID, "error", err)
		return true, s.store.DeleteHistory(ctx, ch.ID, it.ID)
	case it.Attempts+1 >= historyAttempts:
		s.log.WarnContext(ctx, "history chunk given up after repeated failures", "channel_id", ch.ID, "id", it.ID,
			"attempts", it.Attempts+1, "error", err)
		return true, s.store.DeleteHistory(ctx, ch.ID, it.ID)
	}
	wait := time.Minute << it.Attempts
	s.log.InfoContext(ctx, "history chunk not fetched yet; trying again later", "channel_id", ch.ID, "id", it.ID, "in", wait, "error", err)
	return true, s.store.PostponeHistory(ctx, ch.ID, it.ID, s.now().Add(wait), true)
}

// fetchHistory fetches one chunk and imports it.
func (s *Service) fetchHistory(ctx context.Context, ch model.Channel, it store.HistoryItem) error {
	f, err := capability[engine.HistoryFetcher](s, ch, "fetch history")
	if err != nil {
		return err
	}
	settings, err := s.ChannelSettings(ctx, ch)
	if err != nil {
		return err
	}
	limits := engine.HistoryLimits{Messages: settings.History.Messages, MaxChats: maxHistoryChats,
		Since: s.now().AddDate(0, 0, -settings.History.Days)}
	if settings.History.Days <= 0 {
		limits.Messages = 0
	}
	ctx, cancel := context.WithTimeout(ctx, historyFetchTimeout)
	defer cancel()
	h, err := f.FetchHistory(ctx, it.Ref, limits)
	if err != nil {
		return err
	}
	return s.importHistory(ctx, ch, h)
}

// importHistory keeps a chunk's mappings and push names and imports its
// chats and messages.
func (s *Service) importHistory(ctx context.Context, ch model.Channel, h engine.History) error {
	pairs := make([]store.LIDPair, 0, len(h.Mappings))
	for _, p := range h.Mappings {
		if lidUser(p.LID) && pnUser(p.PN) {
			pairs = append(pairs, store.LIDPair{LID: p.LID, PN: p.PN})
		}
	}
	if err := s.putLIDs(ctx, ch, pairs); err != nil {
		return err
	}
	if err := s.historyNames(ctx, ch, h.PushNames); err != nil {
		return err
	}
	var chats, msgs int
	for _, hc := range h.Chats {
		n, err := s.importHistoryChat(ctx, ch, hc)
		if err != nil {
			return err
		}
		chats, msgs = chats+1, msgs+n
	}
	s.wake()
	attrs := []any{"channel_id", ch.ID, "chats", chats, "messages", msgs, "mappings", len(pairs), "push_names", len(h.PushNames)}
	if h.SkippedChats > 0 || h.SkippedMessages > 0 {
		attrs = append(attrs, "skipped_chats", h.SkippedChats, "skipped_messages", h.SkippedMessages)
		s.log.InfoContext(ctx, "history imported; what is beyond the channel's history settings was skipped", attrs...)
	} else {
		s.log.InfoContext(ctx, "history imported", attrs...)
	}
	return nil
}

// historyNames saves the push names of a chunk on the channel's contacts.
func (s *Service) historyNames(ctx context.Context, ch model.Channel, names []engine.PushName) error {
	now := s.now()
	var batch []store.Contact
	flush := func() error {
		err := s.store.SaveContacts(ctx, batch)
		batch = batch[:0]
		return err
	}
	for _, p := range names {
		user, err := s.phoneOf(ctx, ch, p.User)
		if err != nil {
			return err
		}
		if !pnUser(user) && !lidUser(user) {
			continue
		}
		batch = append(batch, store.Contact{ChannelID: ch.ID, ID: user, PushName: p.Name, UpdatedAt: now})
		if len(batch) >= historyPushNameBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(batch) > 0 {
		return flush()
	}
	return nil
}

// importHistoryChat stores one past chat's messages (those already stored
// stay as they are) and reports them: chats.post when the chat is new,
// one messages.put with the messages imported. The chat takes the phone's
// unread count, archive and pin when it is new; an existing chat keeps its
// own.
func (s *Service) importHistoryChat(ctx context.Context, ch model.Channel, hc engine.HistoryChat) (int, error) {
	chatID, err := s.phoneOf(ctx, ch, hc.ID)
	if err != nil {
		return 0, err
	}
	before, err := s.store.Chat(ctx, ch.ID, chatID)
	existed := err == nil
	if err != nil && !errors.Is(err, store.ErrChatNotFound) {
		return 0, err
	}
	var stored []model.Message
	for _, e := range hc.Messages {
		e.Chat = chatID
		if e.Sender, err = s.phoneOf(ctx, ch, e.Sender); err != nil {
			return 0, err
		}
		m, ok, err := s.historyMessage(ctx, ch, e)
		if err != nil {
			return 0, err
		}
		if ok {
			stored = append(stored, m)
		}
	}
	if !existed {
		if err := s.store.EnsureChat(ctx, ch.ID, chatID, hc.Name); err != nil {
			return 0, err
		}
	}
	after, err := s.store.UpdateChat(ctx, ch.ID, chatID, func(c *model.Chat) error {
		if existed {
			c.Unread = before.Unread // old messages are not new unread ones
			return nil
		}
		c.Unread, c.Archived, c.Pinned = hc.Unread, hc.Archived, hc.Pinned
		if c.Name == "" {
			c.Name = hc.Name
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var ds []model.WebhookDelivery
	if !existed {
		var last *model.Message
		if len(stored) > 0 {
			last = &stored[len(stored)-1]
		}
		if h := s.chatCreatedHooks(ctx, ch, last); h != nil {
			ds = append(ds, h(after)...)
		}
	}
	if len(stored) > 0 {
		ds = append(ds, s.deliveries(ctx, ch, wire.TypeMessages, wire.MethodPut, chatID, func() ([]byte, error) {
			return wire.MessagesEvent(ch.ID, wire.MethodPut, stored)
		})...)
	}
	s.enqueue(ctx, ds)
	return len(stored), nil
}

// historyMessage stores one past message (ok false when it was stored
// already, or is not a message of its own: reactions, edits and votes of
// the past are not applied).
func (s *Service) historyMessage(ctx context.Context, ch model.Channel, e engine.Message) (model.Message, bool, error) {
	c := e.Content
	if c.Kind == "" {
		c.Kind, c.Text = engine.KindText, e.Text
	}
	switch c.Kind {
	case engine.KindPollVote, engine.KindReaction, engine.KindEdit, engine.KindRevoke:
		return model.Message{}, false, nil
	}
	status := model.MessageRead
	if e.FromMe {
		status = model.MessageDelivered
	}
	media, _, err := s.receivedMedia(ctx, ch, e, c) // kept to fetch on demand; never downloaded here
	if err != nil {
		return model.Message{}, false, fmt.Errorf("history message %s: %w", e.ID, err)
	}
	m := s.newMessage(ch, e.ID, e.Chat, e.FromMe, e.Sender, e.PushName, "mobile", status, c, media, e.Time)
	inserted, err := s.store.InsertMessage(ctx, m)
	return m, inserted, err
}
