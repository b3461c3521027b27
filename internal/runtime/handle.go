package runtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/wagate/wagate/internal/engine"
)

// ingestTimeout bounds the storage of a data event an engine delivered as a
// lifecycle event.
const ingestTimeout = 10 * time.Second

// handle reacts to one lifecycle event of the current session. Every path
// that connects again goes through the retry timer with a backoff.
func (s *supervisor) handle(ev engine.Event) {
	switch e := ev.(type) {
	case engine.QR:
		s.loginRunning = true
		s.cancelRetry() // a login flow runs: reconnecting would end it
		s.attempt = 0
		s.state = StateLogin
		h, changed := s.update(func(h *Health) {
			h.State, h.Status, h.Error, h.Code, h.Attempt = StateLogin, StatusQR, "", 0, 0
			h.QR, h.QRExpires, h.LoginTimedOut = e.Code, e.Expires, false
		})
		if changed {
			s.emit(EventStatus, h, "")
		}
		s.emit(EventQR, h, "")
	case engine.QRTimeout:
		s.loginRunning = false
		h := s.setState(StateLoginExpired, "", nil)
		s.emit(EventLinkFailed, h, "the QR code expired before a phone scanned it")
	case engine.LinkFailed:
		s.emit(EventLinkFailed, s.snapshot(), e.Reason)
	case engine.Linked:
		s.linked1(e)
	case engine.Connected:
		s.attempt, s.banAttempt, s.ingestFailed = 0, 0, 0
		s.cancelRetry()
		s.setState(StateOnline, "", nil)
	case engine.Disconnected:
		s.disconnected(e)
	case engine.StreamError:
		s.streamErr = e.Code
	case engine.KeepAliveLost:
		s.keepAliveLost(e)
	case engine.KeepAliveRestored:
		if s.state == StateKeepAliveLost {
			s.cancelRetry()
			s.setState(StateOnline, "", nil)
		}
	case engine.LoggedOut:
		reason := "logged out"
		if e.Reason != "" {
			reason += ": " + e.Reason
		}
		s.unlinked(reason)
	case engine.StreamReplaced:
		s.closeSession()
		s.setState(StateReplaced, "another client connected with this device (stream replaced); wagate does not fight back: restart the channel to take the device back", nil)
	case engine.TemporaryBan:
		s.banned(e)
	case engine.ClientOutdated:
		// The session stays open: its next connection announces whatever
		// version the engine uses then.
		s.retryLater(StateClientOutdated,
			fmt.Sprintf("WhatsApp refuses the client version %s (%d); wagate connects again as soon as it learns a newer version", e.Version, e.Code),
			e.Code, s.m.o.Outdated)
	case engine.ConnectFailure:
		reason := "WhatsApp refused the connection"
		if e.Reason != "" {
			reason += ": " + e.Reason
		}
		s.retryLater(StateReconnecting, reason, e.Code, s.m.o.Reconnect)
	default:
		// A data event an engine delivered as a lifecycle event: store it,
		// without an acknowledgement to give.
		if in := s.ingest(s.gen); in != nil && engine.IsData(ev) {
			ctx, cancel := context.WithTimeout(context.Background(), ingestTimeout)
			defer cancel()
			_ = in(ctx, ev)
		}
	}
}

// linked1 records a new link.
func (s *supervisor) linked1(e engine.Linked) {
	s.loginRunning = false
	s.device = e.Device
	s.mu.Lock()
	s.linked = true
	s.mu.Unlock()
	h, _ := s.update(func(h *Health) { h.Phone, h.Name, h.QR, h.QRExpires = e.Account.Phone, e.Account.Name, "", time.Time{} })
	ctx, cancel := s.opCtx()
	if err := s.m.o.Store.SetChannelLink(ctx, s.id, e.Device, e.Account.Phone, e.Account.Name, s.m.o.Now()); err != nil {
		s.m.o.Log.Error("could not store the channel's link", "channel_id", s.id, "error", err)
	}
	cancel()
	s.emit(EventLinked, h, "")
}

// disconnected schedules a reconnection of a linked channel; an unlinked
// one ends its login flow.
func (s *supervisor) disconnected(e engine.Disconnected) {
	if !s.run {
		return
	}
	if !s.isLinked() {
		s.loginRunning = false
		s.setState(StateLoginExpired, "", nil)
		return
	}
	reason, code := "the connection to WhatsApp was lost", 0
	switch {
	case s.streamErr != "":
		reason = fmt.Sprintf("WhatsApp ended the stream with error %s", s.streamErr)
		code, _ = strconv.Atoi(s.streamErr)
		s.streamErr = ""
	case e.Reason != "":
		reason += ": " + e.Reason
	}
	s.retryLater(StateReconnecting, reason, code, s.m.o.Reconnect)
}

// keepAliveLost gives a connection whose pings go unanswered the grace
// period (counted from the last answered ping), then makes it anew.
func (s *supervisor) keepAliveLost(e engine.KeepAliveLost) {
	if s.state != StateOnline {
		return // already reconnecting or waiting
	}
	// LastSuccess is the engine's (real) clock.
	last := e.LastSuccess
	if last.IsZero() {
		last = time.Now()
	}
	wait := max(s.m.o.KeepAliveGrace-time.Since(last), 0)
	s.setState(StateKeepAliveLost, fmt.Sprintf("WhatsApp has not answered keepalive pings since %s", last.UTC().Format(time.RFC3339)), nil)
	s.scheduleRetry(wait)
}

// banned waits for the end of a temporary ban, or, when WhatsApp gave
// none, for hours that grow with every ban in a row.
func (s *supervisor) banned(e engine.TemporaryBan) {
	s.closeSession()
	reason := "WhatsApp banned the account temporarily"
	if e.Reason != "" {
		reason += " (" + e.Reason + ")"
	}
	if e.Expires > 0 {
		until := s.m.o.Now().Add(e.Expires)
		// A little after the end, spread so that accounts banned together
		// do not all come back at once.
		d := e.Expires + time.Second + time.Duration(rand.Int64N(int64(e.Expires/10)+1))
		s.retryAfter(d, StateBanned, reason+" until "+until.UTC().Format(time.RFC3339), e.Code, until)
		return
	}
	d := s.m.o.Ban.Delay(s.banAttempt)
	s.banAttempt++
	s.retryAfter(d, StateBanned, reason+"; WhatsApp did not say until when, so wagate tries again at the next try", e.Code, time.Time{})
}

// onIngestFailed makes a new connection (after the reconnect backoff) when
// storing an incoming event failed: WhatsApp delivers what was not
// acknowledged again on the next connection. Once per connection.
func (s *supervisor) onIngestFailed(gen int, err error) {
	s.m.o.Log.Error("could not store an incoming event; it was not acknowledged to WhatsApp", "channel_id", s.id, "error", err)
	if gen != s.gen || s.ingestFailed == gen || !s.run || (s.state != StateOnline && s.state != StateKeepAliveLost) {
		return
	}
	s.ingestFailed = gen
	if sess := s.session(); sess != nil {
		s.disconnectQuietly(sess)
	}
	s.retryLater(StateReconnecting, "an incoming event could not be stored; reconnecting so that WhatsApp delivers it again", 0, s.m.o.Reconnect)
}
