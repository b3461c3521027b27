package whatsmeow

import (
	"context"
	"log/slog"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/internal/engine"
)

// Poll votes and reactions in communities arrive encrypted with the secret
// of the message they target (kept by whatsmeow for the polls this account
// sent and the messages it received); decrypted here, they become
// KindPollVote and KindReaction messages.

// mapExtra maps the events mapEvent leaves out because they need the
// client: encrypted votes and reactions, calls, media retry answers (which
// go to the download waiting for them, not to the caller).
func (s *Session) mapExtra(cli *wm.Client, evt any) []engine.Event {
	switch e := evt.(type) {
	case *events.MediaRetry:
		if !s.retries.deliver(e) {
			s.log.Debug("whatsmeow: a media retry answer nobody waits for", slog.String("message_id", e.MessageID))
		}
		return nil
	case *events.Message:
		if m, ok := s.decryptSecret(cli, e); ok {
			return one(m)
		}
		return nil
	}
	if c, ok := mapCall(evt); ok {
		return one(c)
	}
	return nil
}

// decryptSecret decrypts a poll vote or an encrypted reaction.
func (s *Session) decryptSecret(cli *wm.Client, e *events.Message) (engine.Message, bool) {
	m := e.Message
	if m == nil || e.Info.Chat == types.StatusBroadcastJID || cli == nil {
		return engine.Message{}, false
	}
	ctx, cancel := context.WithTimeout(s.ctx, ingestTimeout)
	defer cancel()
	var c engine.Content
	switch {
	case m.GetPollUpdateMessage() != nil:
		vote, err := cli.DecryptPollVote(ctx, e)
		if err != nil {
			s.log.Warn("whatsmeow: a poll vote could not be decrypted", slog.String("message_id", e.Info.ID), slog.Any("error", err))
			return engine.Message{}, false
		}
		c = engine.Content{Kind: engine.KindPollVote, PollVote: &engine.PollVote{
			PollID: m.GetPollUpdateMessage().GetPollCreationMessageKey().GetID(), OptionHashes: vote.GetSelectedOptions()}}
	case m.GetEncReactionMessage() != nil:
		r, err := cli.DecryptReaction(ctx, e)
		if err != nil {
			s.log.Warn("whatsmeow: a reaction could not be decrypted", slog.String("message_id", e.Info.ID), slog.Any("error", err))
			return engine.Message{}, false
		}
		target := r.GetKey().GetID()
		if target == "" {
			target = m.GetEncReactionMessage().GetTargetMessageKey().GetID()
		}
		c = engine.Content{Kind: engine.KindReaction, Reaction: &engine.Reaction{TargetID: target, Emoji: r.GetText()}}
	default:
		return engine.Message{}, false
	}
	chat, sender := addresses(e.Info.MessageSource)
	return engine.Message{ID: e.Info.ID, Chat: chat, Sender: sender, PushName: e.Info.PushName,
		FromMe: e.Info.IsFromMe, Time: e.Info.Timestamp, Content: c}, true
}
