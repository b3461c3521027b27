package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// Poll votes: WhatsApp sends a voter's current choice as SHA-256 hashes of
// the option names; each vote replaces the voter's previous one on the
// poll's results (who chose what), and the poll's change goes out as a
// messages.patch webhook.

// pollResult is one option of a poll as the gate API shows it.
type pollResult struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Count  int      `json:"count"`
	Voters []string `json:"voters"`
}

func (s *Service) ingestPollVote(ctx context.Context, ch model.Channel, e engine.Message) error {
	v := e.Content.PollVote
	if v == nil || v.PollID == "" {
		return nil
	}
	voter := phoneOrJID(e.Sender)
	if voter == "" {
		return nil
	}
	_, err := s.store.UpdateMessage(ctx, ch.ID, v.PollID, func(m *model.Message) error {
		if m.Type != engine.KindPoll {
			return fmt.Errorf("%s is not a poll: %w", v.PollID, model.ErrNotFound)
		}
		content, err := applyVote(m.Content, voter, v.OptionHashes)
		if err != nil {
			return err
		}
		m.Content = content
		return nil
	}, s.updateHooks(ctx, ch))
	s.wake()
	if err != nil {
		s.log.DebugContext(ctx, "a poll vote for an unknown poll", "channel_id", ch.ID, "poll_id", v.PollID, "error", err)
	}
	return ignoreNotFound(err)
}

// applyVote sets a voter's choice (option hashes; none withdraws it) on a
// poll's content and recounts.
func applyVote(raw json.RawMessage, voter string, hashes [][]byte) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("poll content: %w", err)
	}
	var results []pollResult
	if r, ok := obj["results"]; ok {
		if err := json.Unmarshal(r, &results); err != nil {
			return nil, fmt.Errorf("poll results: %w", err)
		}
	}
	if len(results) == 0 {
		var options []string
		_ = json.Unmarshal(obj["options"], &options)
		for i, o := range options {
			results = append(results, pollResult{ID: fmt.Sprint(i), Name: o})
		}
	}
	voters := map[string]bool{}
	for i := range results {
		r := &results[i]
		r.Voters = slices.DeleteFunc(r.Voters, func(x string) bool { return x == voter })
		sum := sha256.Sum256([]byte(r.Name))
		if slices.ContainsFunc(hashes, func(h []byte) bool { return bytes.Equal(h, sum[:]) }) {
			r.Voters = append(r.Voters, voter)
		}
		if r.Voters == nil {
			r.Voters = []string{}
		}
		r.Count = len(r.Voters)
		for _, x := range r.Voters {
			voters[x] = true
		}
	}
	b, err := json.Marshal(results)
	if err != nil {
		return nil, err
	}
	obj["results"] = b
	obj["total"], _ = json.Marshal(len(voters))
	return json.Marshal(obj)
}
