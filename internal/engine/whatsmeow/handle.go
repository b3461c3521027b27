package whatsmeow

import (
	"context"
	"log/slog"
	"time"

	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/internal/engine"
)

// ingestTimeout bounds one Ingest call.
const ingestTimeout = 15 * time.Second

// handle is whatsmeow's event handler for client c. It runs on whatsmeow's
// goroutines (its receive path among them): it updates the session state,
// maps the event, hands lifecycle events to the sink and data events to
// Ingest, and reports whether the event was handled: false for a message
// Ingest did not store, which whatsmeow then does not acknowledge, so that
// WhatsApp delivers it again.
func (s *Session) handle(c *client, evt any) bool {
	gen := c.gen.Load()
	out := mapEvent(evt, s.fetcher)
	out = append(out, s.mapExtra(c.Client, evt)...) // votes, calls, media retries (polls.go)
	if hn, ok := historyNotice(evt); ok {
		out = append(out, hn) // a history chunk to fetch (history.go)
	}
	if e, ok := mapAppState(evt); ok { // archive, pin, mute, unread, labels (appstate.go)
		out = append(out, e)
	}
	out = s.resolve(c.Client, evt, out) // phone numbers for LIDs (identity.go)
	if _, ok := evt.(*events.Disconnected); ok && c.restart503.Swap(false) {
		// whatsmeow reports no event for a stream error 503 (streamWatch
		// noticed it): say why the connection ended.
		out = append([]engine.Event{engine.StreamError{Code: "503"}}, out...)
	}
	for i, e := range out {
		if co, ok := e.(engine.ClientOutdated); ok {
			// The version this connection announced, not the one the
			// engine uses now (another session's refusal may have taught
			// it a newer one meanwhile).
			co.Version, _ = c.announced.Load().(string)
			out[i] = co
		}
	}
	if outdated(evt) {
		s.eng.ver.outdated()
	}
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	if s.emitClosed {
		return !hasData(out) // not stored: let WhatsApp deliver it again
	}
	s.mu.Lock()
	if gen != s.gen {
		s.mu.Unlock()
		return !hasData(out)
	}
	device := s.device
	final := s.applyLocked(c, gen, evt)
	s.mu.Unlock()
	if presenceMoment(evt) {
		s.resendPresence(c) // presence.go
	}
	ok := true
	for _, e := range out {
		if !engine.IsData(e) {
			s.sink(e)
			continue
		}
		if ok && !s.store(e) {
			ok = false // the rest of the stanza is delivered again too
		}
		if m, isMap := e.(engine.LIDMappings); isMap && ok {
			s.known.add(m.Pairs)
		}
	}
	if final {
		// whatsmeow will not reconnect, but it leaves the socket to the
		// server to close; close it so the next Connect starts afresh.
		go func() {
			s.stop(gen, c)
			if _, ok := evt.(*events.LoggedOut); ok && device != "" {
				// whatsmeow deletes the device too, with the connection's
				// context that stop just cancelled: make sure it is gone.
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := s.deleteDevice(ctx, device); err != nil {
					s.log.Error("whatsmeow: delete logged-out device", slog.Any("error", err))
				}
			}
		}()
	}
	return ok
}

// outdated reports whether an event is WhatsApp refusing the client
// version: 405 (events.ClientOutdated) or 409, bad user agent (a
// ConnectFailure), which mapEvent both report as engine.ClientOutdated.
func outdated(evt any) bool {
	switch e := evt.(type) {
	case *events.ClientOutdated:
		return true
	case *events.ConnectFailure:
		return e.Reason == events.ConnectFailureBadUserAgent
	}
	return false
}

// store hands a data event to Ingest and reports whether it was stored.
func (s *Session) store(e engine.Event) bool {
	if s.ingest == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(s.ctx, ingestTimeout)
	defer cancel()
	if err := s.ingest(ctx, e); err != nil {
		s.log.Warn("whatsmeow: an incoming event was not stored; WhatsApp will deliver it again", slog.Any("error", err))
		return false
	}
	return true
}

func hasData(evs []engine.Event) bool {
	for _, e := range evs {
		if engine.IsData(e) {
			return true
		}
	}
	return false
}

// applyLocked updates the session for an event of the current client and
// reports whether the event is final for the connection.
func (s *Session) applyLocked(c *client, gen uint64, evt any) (final bool) {
	switch e := evt.(type) {
	case *events.PairSuccess:
		s.device = e.ID.String()
		s.account = engine.Account{Phone: e.ID.User, Name: e.BusinessName}
		c.device = s.device // the client now serves the linked device
		s.flow, s.qrShown = 0, false
		s.armLocked(gen) // now wait for the login after whatsmeow's reconnect
	case *events.PairError:
		s.flow, s.qrShown = 0, false
		s.disarmLocked()
	case *events.Connected:
		s.disarmLocked()
	case *events.LoggedOut:
		// whatsmeow deleted the device; a new login needs a fresh one.
		s.device, s.account = "", engine.Account{}
		s.flow, s.qrShown = 0, false
		s.disarmLocked()
		return true
	case *events.StreamReplaced, *events.TemporaryBan, *events.ClientOutdated, *events.ConnectFailure:
		s.flow, s.qrShown = 0, false
		s.disarmLocked()
		return true
	case *events.Disconnected:
		s.disarmLocked()
	case *events.PushNameSetting:
		if name := e.Action.GetName(); name != "" && s.device != "" {
			s.account.Name = name
		}
	case *events.AppStateSyncComplete:
		// The push name arrives in the critical_block snapshot, applied
		// without events on a full sync; read it on this goroutine, the
		// one that wrote it.
		if e.Name == appstate.WAPatchCriticalBlock && s.device != "" {
			if name := c.Store.PushName; name != "" {
				s.account.Name = name
			}
		}
	}
	return false
}

// emit delivers events that do not come from whatsmeow's handlers (QR
// codes, watchdog) if gen is still current and ok, run under mu, agrees.
func (s *Session) emit(gen uint64, ok func() bool, evs ...engine.Event) {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	if s.emitClosed {
		return
	}
	s.mu.Lock()
	if gen != s.gen || (ok != nil && !ok()) {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	for _, e := range evs {
		s.sink(e)
	}
}
