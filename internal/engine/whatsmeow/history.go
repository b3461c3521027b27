package whatsmeow

import (
	"context"
	"fmt"
	"slices"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

// History sync. whatsmeow is told not to download history by itself
// (ManualHistorySyncDownload): each chunk's notice goes to the owner as a
// HistoryNotice, kept durably, and the owner fetches chunks one at a time
// with FetchHistory, which downloads with synchronous storage, so that
// whatsmeow keeps the chunk's LID mappings, push names and message
// secrets before anything is imported (mautrix-whatsapp does the same).

var _ engine.HistoryFetcher = (*Session)(nil)

// maxHistoryBytes bounds the compressed size of a chunk fetched: larger
// chunks are skipped (engine.ErrHistoryTooLarge). The decompressed chunk
// and its decoded form are held in memory together.
const maxHistoryBytes = 64 << 20

// historyNotice is the notice of a history chunk in a message the
// account's phone sent this device (nil when evt is not one).
func historyNotice(evt any) (engine.Event, bool) {
	e, ok := evt.(*events.Message)
	if !ok || !e.Info.IsFromMe {
		return nil, false
	}
	n := e.Message.GetProtocolMessage().GetHistorySyncNotification()
	if n == nil {
		return nil, false
	}
	ref, err := proto.Marshal(n)
	if err != nil {
		return nil, false
	}
	return engine.HistoryNotice{ID: e.Info.ID, Ref: ref, Time: e.Info.Timestamp}, true
}

// FetchHistory downloads a history chunk and maps it within limits.
func (s *Session) FetchHistory(ctx context.Context, ref []byte, limits engine.HistoryLimits) (engine.History, error) {
	var n waE2E.HistorySyncNotification
	if err := proto.Unmarshal(ref, &n); err != nil {
		return engine.History{}, fmt.Errorf("%w: history reference: %w", engine.ErrInvalidContent, err)
	}
	if n.GetFileLength() > maxHistoryBytes || len(n.GetInitialHistBootstrapInlinePayload()) > maxHistoryBytes {
		return engine.History{}, fmt.Errorf("%w: %d bytes (at most %d)", engine.ErrHistoryTooLarge, n.GetFileLength(), maxHistoryBytes)
	}
	cli, _, _, err := s.online()
	if err != nil {
		return engine.History{}, err
	}
	hs, err := cli.DownloadHistorySync(ctx, &n, true)
	if err != nil {
		return engine.History{}, fmt.Errorf("whatsmeow: download history: %w", mapSendErr(err))
	}
	return s.mapHistory(ctx, cli, hs, limits), nil
}

// mapHistory maps a chunk: all its LID mappings and push names, and its
// conversations within limits (newest chats first, the newest messages of
// each, oldest first). Messages wagate does not report (protocol
// internals, votes...) are left out.
func (s *Session) mapHistory(ctx context.Context, cli *wm.Client, hs *waHistorySync.HistorySync, limits engine.HistoryLimits) engine.History {
	var out engine.History
	r := newResolver(ctx, cli)
	for _, m := range hs.GetPhoneNumberToLidMappings() {
		pn, err1 := types.ParseJID(m.GetPnJID())
		lid, err2 := types.ParseJID(m.GetLidJID())
		if err1 != nil || err2 != nil {
			continue // malformed: skipped, the addresses stay as they come
		}
		if pn.Server == types.LegacyUserServer {
			pn.Server = types.DefaultUserServer
		}
		r.pair(lid, pn)
	}
	for _, p := range hs.GetPushnames() {
		if p.GetID() != "" && p.GetPushname() != "" && p.GetPushname() != "-" {
			out.PushNames = append(out.PushNames, engine.PushName{User: r.phone(p.GetID()), Name: p.GetPushname()})
		}
	}
	convs := slices.Clone(hs.GetConversations())
	slices.SortStableFunc(convs, func(a, b *waHistorySync.Conversation) int {
		return -cmpU64(convTime(a), convTime(b))
	})
	for _, conv := range convs {
		if limits.Messages <= 0 {
			out.SkippedChats += len(convs)
			break
		}
		last := time.Unix(int64(convTime(conv)), 0)
		chat, err := types.ParseJID(conv.GetID())
		if err != nil || chat.Server == types.BroadcastServer || last.Before(limits.Since) {
			out.SkippedChats++
			out.SkippedMessages += len(conv.GetMessages())
			continue
		}
		if limits.MaxChats > 0 && len(out.Chats) >= limits.MaxChats {
			out.SkippedChats++
			out.SkippedMessages += len(conv.GetMessages())
			continue
		}
		if l, err := types.ParseJID(conv.GetLidJID()); err == nil {
			r.pair(l, chat)
		}
		if p, err := types.ParseJID(conv.GetPnJID()); err == nil {
			r.pair(chat, p)
		}
		hc := engine.HistoryChat{ID: r.phone(chat.ToNonAD().String()), Name: conv.GetName(), LastTime: last,
			Unread: int(conv.GetUnreadCount()), Archived: conv.GetArchived(), Pinned: conv.GetPinned() != 0}
		if hc.Name == "" {
			hc.Name = conv.GetDisplayName()
		}
		if chat.Server == types.HiddenUserServer && hc.ID != chat.ToNonAD().String() {
			hc.LID = chat.ToNonAD().String()
		}
		var msgs []engine.Message
		for _, hm := range conv.GetMessages() {
			evt, err := cli.ParseWebMessage(chat, hm.GetMessage())
			if err != nil {
				out.SkippedMessages++
				continue
			}
			m, ok := mapMessage(evt, s.fetcher)
			if !ok || m.Time.Before(limits.Since) {
				out.SkippedMessages++
				continue
			}
			r.source(evt.Info.MessageSource)
			msgs = append(msgs, r.rewrite(m).(engine.Message))
		}
		slices.SortStableFunc(msgs, func(a, b engine.Message) int { return a.Time.Compare(b.Time) })
		if over := len(msgs) - limits.Messages; over > 0 {
			out.SkippedMessages += over
			msgs = msgs[over:]
		}
		hc.Messages = msgs
		out.Chats = append(out.Chats, hc)
	}
	out.Mappings = r.pairs
	return out
}

func convTime(c *waHistorySync.Conversation) uint64 {
	return max(c.GetConversationTimestamp(), c.GetLastMsgTimestamp())
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
