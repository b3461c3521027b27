package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// ErrMessageNotFound is a message the channel does not have.
var ErrMessageNotFound = fmt.Errorf("message %w", model.ErrNotFound)

// ErrChatNotFound is a chat the channel does not have.
var ErrChatNotFound = fmt.Errorf("chat %w", model.ErrNotFound)

// ErrMediaNotFound is a media file the channel does not have.
var ErrMediaNotFound = fmt.Errorf("media %w", model.ErrNotFound)

const messageColumns = "channel_id, id, chat_id, sender, from_me, from_name, type, subtype, source, status, body, content, context, reactions, starred, edited, ts"

func scanMessage(row interface{ Scan(...any) error }) (model.Message, error) {
	var m model.Message
	var content, mctx, reactions string
	var ts int64
	err := row.Scan(&m.ChannelID, &m.ID, &m.ChatID, &m.Sender, &m.FromMe, &m.FromName, &m.Type, &m.Subtype, &m.Source, &m.Status,
		&m.Body, &content, &mctx, &reactions, &m.Starred, &m.Edited, &ts)
	if err != nil {
		return m, err
	}
	m.Content, m.Context, m.Time = json.RawMessage(content), json.RawMessage(mctx), fromMS(ts)
	if reactions == "[]" || reactions == "" {
		m.Reactions = []model.MessageReaction{} // most messages: nothing to decode
		return m, nil
	}
	if err := json.Unmarshal([]byte(reactions), &m.Reactions); err != nil {
		return m, fmt.Errorf("store: message %s reactions: %w", m.ID, err)
	}
	return m, nil
}

func rawOr(raw json.RawMessage, def string) string {
	if len(raw) == 0 {
		return def
	}
	return string(raw)
}

// ChatType is the chat type of a chat JID.
func ChatType(chatID string) string {
	switch {
	case strings.HasSuffix(chatID, "@g.us"):
		return "group"
	case strings.HasSuffix(chatID, "@broadcast"): // status@broadcast: stories
		return "broadcast"
	case strings.HasSuffix(chatID, "@newsletter"):
		return "newsletter"
	}
	return "contact"
}

// InsertMessage stores a message and moves its chat forward (last message,
// unread count of incoming messages), in one transaction. A message already
// stored (same ID) is left as it is: inserted is false.
// hooks, when given, builds the webhook deliveries of the new message,
// enqueued in the same transaction when it is inserted; chat is the chat the
// message created, nil when it went to a chat already stored.
func (s *Store) InsertMessage(ctx context.Context, m model.Message, hooks ...func(created *model.Chat) []model.WebhookDelivery) (inserted bool, err error) {
	return s.InsertNewMessage(ctx, NewMessage{Message: m, Hooks: hooks})
}

// InsertNewMessage is InsertMessage of a NewMessage: with the payload of a
// sent message, kept (in the same transaction) for SentPayload.
func (s *Store) InsertNewMessage(ctx context.Context, nm NewMessage) (inserted bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) (err error) {
		inserted, err = s.insertMessageTx(ctx, tx, nm)
		return err
	})
	return inserted, err
}

// NewMessage is one message to insert (InsertNewMessage, InsertMessages).
type NewMessage struct {
	Message model.Message
	Hooks   []func(created *model.Chat) []model.WebhookDelivery
	// Payload is the engine's encoding of a message the channel sent
	// (engine.SentMessage.Payload), kept for SentPayload; nil: none.
	Payload []byte
}

// InsertMessages makes several InsertMessage calls, in order, and returns
// each one's inserted and error. On SQLite they go in one transaction (one
// writer at a time: the message transaction was most of a send's cost);
// when that transaction fails, each message is inserted again in a
// transaction of its own, so one message's failure (its hooks, say) neither
// fails nor loses the others. Each message sees the ones before it as
// InsertMessage would: a duplicate ID is not inserted again, a chat is
// created once, seq grows in order. On PostgreSQL each goes in a transaction
// of its own, as InsertMessage would: a transaction upserting several
// channels' chats and share-locking their outbox rows could deadlock with
// other writers.
func (s *Store) InsertMessages(ctx context.Context, nms []NewMessage) ([]bool, []error) {
	_, inserted, errs := s.InsertMessagesTaken(ctx, func() []NewMessage { return nms })
	return inserted, errs
}

// InsertMessagesTaken is InsertMessages of the group take returns. On
// SQLite take is called once this writer's turn has come, so the group
// holds whatever gathered while other writers wrote. It returns the group
// with the results.
func (s *Store) InsertMessagesTaken(ctx context.Context, take func() []NewMessage) ([]NewMessage, []bool, []error) {
	unlock := sync.OnceFunc(s.lockWrites()) // released before one(), or on a panic
	defer unlock()
	nms := take()
	inserted, errs := make([]bool, len(nms)), make([]error, len(nms))
	one := func() {
		for i, m := range nms {
			inserted[i], errs[i] = s.InsertNewMessage(ctx, m)
		}
	}
	if s.dialect == Postgres {
		unlock()
		one()
		return nms, inserted, errs
	}
	err := s.heldTx(ctx, func(tx *sql.Tx) error {
		for i, m := range nms {
			var err error
			if inserted[i], err = s.insertMessageTx(ctx, tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	unlock()
	if err != nil && len(nms) > 1 {
		// Nothing of the group was written: write each on its own.
		clear(inserted)
		one()
	} else if err != nil {
		errs[0] = err
	}
	return nms, inserted, errs
}

// heldTx is inTx for a caller that holds the SQLite write queue.
func (s *Store) heldTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func (s *Store) insertMessageTx(ctx context.Context, tx *sql.Tx, nm NewMessage) (inserted bool, err error) {
	m, hooks := nm.Message, given(nm.Hooks)
	reactions, err := json.Marshal(m.Reactions)
	if err != nil {
		return false, err
	}
	if m.Reactions == nil {
		reactions = []byte("[]")
	}
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO messages (`+messageColumns+`, status_rank, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			(SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE channel_id = ?)) ON CONFLICT (channel_id, id) DO NOTHING`),
		m.ChannelID, m.ID, m.ChatID, m.Sender, m.FromMe, m.FromName, m.Type, m.Subtype, m.Source, m.Status, m.Body,
		rawOr(m.Content, "{}"), rawOr(m.Context, "{}"), string(reactions), m.Starred, m.Edited, ms(m.Time),
		model.MessageStatusRank(m.Status), m.ChannelID)
	if err != nil {
		return false, fmt.Errorf("store: insert message: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if nm.Payload != nil {
		if err := s.putSentPayload(ctx, tx, m.ChannelID, m.ID, nm.Payload, m.Time); err != nil {
			return false, err
		}
	}
	unread := 1
	if m.FromMe {
		unread = 0
	}
	if len(hooks) == 0 {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chats (channel_id, id, type, name, last_message_id, last_ts, unread)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (channel_id, id) DO UPDATE SET
				last_message_id = CASE WHEN excluded.last_ts >= chats.last_ts THEN excluded.last_message_id ELSE chats.last_message_id END,
				last_ts = CASE WHEN excluded.last_ts >= chats.last_ts THEN excluded.last_ts ELSE chats.last_ts END,
				unread = CASE WHEN excluded.unread = 0 THEN 0 ELSE chats.unread + 1 END,
				name = CASE WHEN chats.name = '' THEN excluded.name ELSE chats.name END,
				archived = CASE WHEN excluded.unread = 0 THEN chats.archived ELSE FALSE END`),
			m.ChannelID, m.ChatID, ChatType(m.ChatID), chatNameFrom(m), m.ID, ms(m.Time), unread); err != nil {
			return false, fmt.Errorf("store: update chat: %w", err)
		}
		return true, nil
	}
	// The hooks need to know whether this message created its chat: the
	// insert says so itself. (A read before an upsert could not: on
	// PostgreSQL two messages of a new chat committing side by side would
	// both read no chat and both report it created.) An insert racing
	// another of the same chat waits for it and then inserts nothing.
	created, err := s.insertOrMoveChat(ctx, tx, m, unread)
	if err != nil {
		return false, err
	}
	for _, h := range hooks {
		if err := s.EnqueueTx(ctx, tx, h(created)...); err != nil {
			return false, err
		}
	}
	return true, nil
}

// insertOrMoveChat creates m's chat, returned, or moves the stored one
// forward as the upsert of insertMessageTx does, returning nil.
func (s *Store) insertOrMoveChat(ctx context.Context, tx *sql.Tx, m model.Message, unread int) (*model.Chat, error) {
	// A chat deleted between the two statements (PostgreSQL) is created.
	for range 3 {
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO chats (channel_id, id, type, name, last_message_id, last_ts, unread)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id, id) DO NOTHING`),
			m.ChannelID, m.ChatID, ChatType(m.ChatID), chatNameFrom(m), m.ID, ms(m.Time), unread)
		if err != nil {
			return nil, fmt.Errorf("store: insert chat: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			c, err := scanChat(tx.QueryRowContext(ctx, s.q("SELECT "+chatColumns+" FROM chats WHERE channel_id = ? AND id = ?"), m.ChannelID, m.ChatID))
			if err != nil {
				return nil, fmt.Errorf("store: read chat: %w", err)
			}
			return &c, nil
		}
		res, err = tx.ExecContext(ctx, s.q(`UPDATE chats SET
				last_message_id = CASE WHEN ? >= last_ts THEN ? ELSE last_message_id END,
				last_ts = CASE WHEN ? >= last_ts THEN ? ELSE last_ts END,
				unread = CASE WHEN ? = 0 THEN 0 ELSE unread + 1 END,
				name = CASE WHEN name = '' THEN ? ELSE name END,
				archived = CASE WHEN ? = 0 THEN archived ELSE FALSE END
			WHERE channel_id = ? AND id = ?`),
			ms(m.Time), m.ID, ms(m.Time), ms(m.Time), unread, chatNameFrom(m), unread, m.ChannelID, m.ChatID)
		if err != nil {
			return nil, fmt.Errorf("store: update chat: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("store: update chat %s: deleted again and again", m.ChatID)
}

// chatNameFrom is a new chat's first name: the sender's push name in a
// one-to-one chat, the newsletter's name in a newsletter's.
func chatNameFrom(m model.Message) string {
	if t := ChatType(m.ChatID); m.FromMe || t == "group" || t == "broadcast" {
		return ""
	}
	return m.FromName
}

// Message returns one message of a channel.
func (s *Store) Message(ctx context.Context, channelID, id string) (model.Message, error) {
	m, err := scanMessage(s.db.QueryRowContext(ctx, s.q("SELECT "+messageColumns+" FROM messages WHERE channel_id = ? AND id = ?"), channelID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrMessageNotFound
	}
	if err != nil {
		return m, fmt.Errorf("store: read message: %w", err)
	}
	return m, nil
}

// MessageQuery selects messages of a channel.
type MessageQuery struct {
	ChatID   string     // "" for all chats
	FromMe   *bool      // nil for both
	Sender   string     // "" for any author
	From, To *time.Time // inclusive bounds, nil for none
	Count    int
	Offset   int
	// Ascending sorts oldest first; the default is newest first.
	Ascending bool
}

// Messages lists a channel's messages and how many match in all.
func (s *Store) Messages(ctx context.Context, channelID string, q MessageQuery) ([]model.Message, int, error) {
	where := []string{"channel_id = ?"}
	args := []any{channelID}
	if q.ChatID != "" {
		where, args = append(where, "chat_id = ?"), append(args, q.ChatID)
	}
	if q.FromMe != nil {
		where, args = append(where, "from_me = ?"), append(args, *q.FromMe)
	}
	if q.Sender != "" {
		where, args = append(where, "sender = ?"), append(args, q.Sender)
	}
	if q.From != nil {
		where, args = append(where, "ts >= ?"), append(args, ms(*q.From))
	}
	if q.To != nil {
		where, args = append(where, "ts <= ?"), append(args, ms(*q.To))
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM messages WHERE "+cond), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count messages: %w", err)
	}
	order := "ts DESC, seq DESC, id DESC"
	if q.Ascending {
		order = "ts ASC, seq ASC, id ASC"
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+messageColumns+" FROM messages WHERE "+cond+" ORDER BY "+order+" LIMIT ? OFFSET ?"),
		append(args, q.Count, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list messages: %w", err)
	}
	defer rows.Close()
	out := []model.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: list messages: %w", err)
		}
		out = append(out, m)
	}
	return out, total, rows.Err()
}

// SetMessageStatus moves messages of a channel to status; a status never
// moves back (read stays read when a late delivered receipt arrives). It
// returns the messages that changed.
// hooks, when given, builds webhook deliveries of the changed messages,
// enqueued in the same transaction.
func (s *Store) SetMessageStatus(ctx context.Context, channelID string, ids []string, status string,
	hooks ...func(changed []model.Message) []model.WebhookDelivery) ([]model.Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.setMessageStatus(ctx, StatusChange{ChannelID: channelID, IDs: ids, Status: status, Hooks: hooks})
}

// setMessageStatus makes one change in a transaction of its own.
func (s *Store) setMessageStatus(ctx context.Context, c StatusChange) (changed []model.Message, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) (err error) {
		changed, err = s.setMessageStatusTx(ctx, tx, c)
		return err
	})
	return changed, err
}

// StatusChange is one SetMessageStatus call of a SetMessageStatuses group.
type StatusChange struct {
	ChannelID string
	IDs       []string
	Status    string
	// View, when set, records the receipt's recipient (MessageViews) in
	// the change's transaction; a view only moves up.
	View  *StatusView
	Hooks []func(changed []model.Message) []model.WebhookDelivery
}

// SetMessageStatuses makes several SetMessageStatus changes, in order, and
// returns each one's changed messages and error. On SQLite they go in one
// transaction (one writer at a time: a transaction per receipt was a fifth
// of the send path's cost), so all are made or none is and every error is
// the same. On PostgreSQL each goes in a transaction of its own, as
// SetMessageStatus would: a transaction locking several channels' messages
// and chats' outbox rows could deadlock with other writers (tried: groups
// taken channel by channel did not send faster, 921/937 -> 842/786 msgs/s).
func (s *Store) SetMessageStatuses(ctx context.Context, cs []StatusChange) ([][]model.Message, []error) {
	changed, errs := make([][]model.Message, len(cs)), make([]error, len(cs))
	if s.dialect == Postgres || len(cs) == 1 {
		for i, c := range cs {
			changed[i], errs[i] = s.setMessageStatus(ctx, c)
		}
		return changed, errs
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, c := range cs {
			var err error
			if changed[i], err = s.setMessageStatusTx(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for i := range cs {
			changed[i], errs[i] = nil, err
		}
	}
	return changed, errs
}

func (s *Store) setMessageStatusTx(ctx context.Context, tx *sql.Tx, c StatusChange) ([]model.Message, error) {
	hooks := given(c.Hooks)
	if c.View != nil {
		if err := s.putMessageViews(ctx, tx, c.ChannelID, c.IDs, *c.View, c.Status); err != nil {
			return nil, err
		}
	}
	var changed []model.Message
	rank := model.MessageStatusRank(c.Status)
	for _, id := range c.IDs {
		// The changed row comes back with the update: no read after it.
		m, err := scanMessage(tx.QueryRowContext(ctx, s.q("UPDATE messages SET status = ?, status_rank = ? WHERE channel_id = ? AND id = ? AND status_rank < ? RETURNING "+messageColumns),
			c.Status, rank, c.ChannelID, id, rank))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: set message status: %w", err)
		}
		changed = append(changed, m)
	}
	for _, h := range hooks {
		if len(changed) == 0 {
			break
		}
		if err := s.EnqueueTx(ctx, tx, h(changed)...); err != nil {
			return nil, err
		}
	}
	return changed, nil
}

// UpdateMessage changes a stored message with fn (edit, reactions, star,
// delete), in a transaction. fn may change Body, Content, Context,
// Reactions, Starred, Edited and Status.
// hooks, when given, builds webhook deliveries of the change, enqueued in
// the same transaction.
func (s *Store) UpdateMessage(ctx context.Context, channelID, id string, fn func(m *model.Message) error,
	hooks ...func(before, after model.Message) []model.WebhookDelivery) (model.Message, error) {
	hooks = given(hooks)
	var out model.Message
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		m, err := scanMessage(tx.QueryRowContext(ctx, s.q("SELECT "+messageColumns+" FROM messages WHERE channel_id = ? AND id = ?"+s.forUpdate()), channelID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrMessageNotFound
		}
		if err != nil {
			return fmt.Errorf("store: read message: %w", err)
		}
		before := m
		before.Reactions = append([]model.MessageReaction(nil), m.Reactions...)
		if err := fn(&m); err != nil {
			return err
		}
		for _, h := range hooks {
			if err := s.EnqueueTx(ctx, tx, h(before, m)...); err != nil {
				return err
			}
		}
		reactions, err := json.Marshal(m.Reactions)
		if err != nil {
			return err
		}
		if m.Reactions == nil {
			reactions = []byte("[]")
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE messages SET type = ?, subtype = ?, sender = ?, from_name = ?, body = ?, content = ?, context = ?,
			reactions = ?, starred = ?, edited = ?, status = ?, status_rank = ? WHERE channel_id = ? AND id = ?`),
			m.Type, m.Subtype, m.Sender, m.FromName, m.Body, rawOr(m.Content, "{}"), rawOr(m.Context, "{}"), string(reactions), m.Starred, m.Edited,
			m.Status, model.MessageStatusRank(m.Status), channelID, id)
		if err != nil {
			return fmt.Errorf("store: update message: %w", err)
		}
		out = m
		return nil
	})
	return out, err
}

// chatColumns are a chat's columns, with the LID of a user's chat when
// the channel knows it (lids.go).
var chatColumns = "channel_id, id, type, name, last_message_id, last_ts, unread, archived, pinned, mute_until, " + lidOfColumn("chats")

func scanChat(row interface{ Scan(...any) error }) (model.Chat, error) {
	var c model.Chat
	var last, mute int64
	err := row.Scan(&c.ChannelID, &c.ID, &c.Type, &c.Name, &c.LastMessageID, &last, &c.Unread, &c.Archived, &c.Pinned, &mute, &c.LID)
	if last > 0 {
		c.LastTime = fromMS(last)
	}
	if mute > 0 {
		c.MuteUntil = fromMS(mute)
	}
	return c, err
}

// Chats lists a channel's chats, pinned first, then by last message, and
// how many there are.
func (s *Store) Chats(ctx context.Context, channelID string, count, offset int) ([]model.Chat, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM chats WHERE channel_id = ?"), channelID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count chats: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+chatColumns+" FROM chats WHERE channel_id = ? ORDER BY pinned DESC, last_ts DESC, id LIMIT ? OFFSET ?"),
		channelID, count, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list chats: %w", err)
	}
	defer rows.Close()
	out := []model.Chat{}
	for rows.Next() {
		c, err := scanChat(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: list chats: %w", err)
		}
		out = append(out, c)
	}
	return out, total, rows.Err()
}

// Chat returns one chat of a channel.
func (s *Store) Chat(ctx context.Context, channelID, id string) (model.Chat, error) {
	c, err := scanChat(s.db.QueryRowContext(ctx, s.q("SELECT "+chatColumns+" FROM chats WHERE channel_id = ? AND id = ?"), channelID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrChatNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: read chat: %w", err)
	}
	return c, nil
}

// EnsureChat creates a chat when the channel has none with this ID, and
// sets its name when name is not empty.
// hooks, when given, builds webhook deliveries of the chat when it is
// created, enqueued in the same transaction.
func (s *Store) EnsureChat(ctx context.Context, channelID, id, name string, hooks ...func(created model.Chat) []model.WebhookDelivery) error {
	hooks = given(hooks)
	const upsert = `INSERT INTO chats (channel_id, id, type, name) VALUES (?, ?, ?, ?)
		ON CONFLICT (channel_id, id) DO UPDATE SET name = CASE WHEN excluded.name = '' THEN chats.name ELSE excluded.name END`
	if len(hooks) == 0 {
		if _, err := s.exec(ctx, upsert, channelID, id, ChatType(id), name); err != nil {
			return fmt.Errorf("store: ensure chat: %w", err)
		}
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// The insert itself says whether this call created the chat: a
		// concurrent creator on PostgreSQL makes it wait, then do nothing,
		// so chats.post is sent once.
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO chats (channel_id, id, type, name) VALUES (?, ?, ?, ?)
			ON CONFLICT (channel_id, id) DO NOTHING`), channelID, id, ChatType(id), name)
		if err != nil {
			return fmt.Errorf("store: ensure chat: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if name == "" {
				return nil
			}
			if _, err := tx.ExecContext(ctx, s.q("UPDATE chats SET name = ? WHERE channel_id = ? AND id = ?"), name, channelID, id); err != nil {
				return fmt.Errorf("store: name chat: %w", err)
			}
			return nil
		}
		c, err := scanChat(tx.QueryRowContext(ctx, s.q("SELECT "+chatColumns+" FROM chats WHERE channel_id = ? AND id = ?"), channelID, id))
		if err != nil {
			return fmt.Errorf("store: read chat: %w", err)
		}
		for _, h := range hooks {
			if err := s.EnqueueTx(ctx, tx, h(c)...); err != nil {
				return err
			}
		}
		return nil
	})
}

// UpdateChat changes a chat with fn (archive, pin, mute, read), in a
// transaction. fn may change Name, Unread, Archived, Pinned and MuteUntil.
// hooks, when given, builds webhook deliveries of the change from the chat
// before and after it, enqueued in the same transaction.
func (s *Store) UpdateChat(ctx context.Context, channelID, id string, fn func(c *model.Chat) error,
	hooks ...func(before, after model.Chat) []model.WebhookDelivery) (model.Chat, error) {
	hooks = given(hooks)
	var out model.Chat
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := scanChat(tx.QueryRowContext(ctx, s.q("SELECT "+chatColumns+" FROM chats WHERE channel_id = ? AND id = ?"+s.forUpdate()), channelID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrChatNotFound
		}
		if err != nil {
			return fmt.Errorf("store: read chat: %w", err)
		}
		before := c
		if err := fn(&c); err != nil {
			return err
		}
		var mute int64
		if !c.MuteUntil.IsZero() {
			mute = ms(c.MuteUntil)
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE chats SET name = ?, unread = ?, archived = ?, pinned = ?, mute_until = ? WHERE channel_id = ? AND id = ?"),
			c.Name, c.Unread, c.Archived, c.Pinned, mute, channelID, id); err != nil {
			return fmt.Errorf("store: update chat: %w", err)
		}
		for _, h := range hooks {
			if err := s.EnqueueTx(ctx, tx, h(before, c)...); err != nil {
				return err
			}
		}
		out = c
		return nil
	})
	return out, err
}

// DeleteChat removes a chat and its messages. ds, webhook deliveries of the
// deletion, are enqueued in the same transaction.
func (s *Store) DeleteChat(ctx context.Context, channelID, id string, ds ...model.WebhookDelivery) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM chats WHERE channel_id = ? AND id = ?"), channelID, id)
		if err != nil {
			return fmt.Errorf("store: delete chat: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrChatNotFound
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM messages WHERE channel_id = ? AND chat_id = ?"), channelID, id); err != nil {
			return fmt.Errorf("store: delete chat messages: %w", err)
		}
		return s.EnqueueTx(ctx, tx, ds...)
	})
}

const mediaColumns = "channel_id, id, mime_type, file_name, size, sha256, created_at, expires_at"

func scanMedia(row interface{ Scan(...any) error }) (model.MediaFile, error) {
	var f model.MediaFile
	var created, expires int64
	err := row.Scan(&f.ChannelID, &f.ID, &f.MimeType, &f.FileName, &f.Size, &f.SHA256, &created, &expires)
	f.CreatedAt, f.ExpiresAt = fromMS(created), fromMS(expires)
	return f, err
}

// InsertMedia records a media file (its bytes are on disk).
func (s *Store) InsertMedia(ctx context.Context, f model.MediaFile) error {
	_, err := s.exec(ctx, ("INSERT INTO media (" + mediaColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id, id) DO NOTHING"),
		f.ChannelID, f.ID, f.MimeType, f.FileName, f.Size, f.SHA256, ms(f.CreatedAt), ms(f.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: insert media: %w", err)
	}
	return nil
}

// Media returns one media file of a channel.
func (s *Store) Media(ctx context.Context, channelID, id string) (model.MediaFile, error) {
	f, err := scanMedia(s.db.QueryRowContext(ctx, s.q("SELECT "+mediaColumns+" FROM media WHERE channel_id = ? AND id = ?"), channelID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrMediaNotFound
	}
	if err != nil {
		return f, fmt.Errorf("store: read media: %w", err)
	}
	return f, nil
}

// MediaList lists a channel's media files, newest first, and how many there are.
func (s *Store) MediaList(ctx context.Context, channelID string, count, offset int) ([]model.MediaFile, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM media WHERE channel_id = ?"), channelID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count media: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+mediaColumns+" FROM media WHERE channel_id = ? ORDER BY created_at DESC, id LIMIT ? OFFSET ?"), channelID, count, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list media: %w", err)
	}
	return collectMedia(rows, total)
}

func collectMedia(rows *sql.Rows, total int) ([]model.MediaFile, int, error) {
	defer rows.Close()
	out := []model.MediaFile{}
	for rows.Next() {
		f, err := scanMedia(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: list media: %w", err)
		}
		out = append(out, f)
	}
	return out, total, rows.Err()
}

// DeleteMedia forgets a media file.
func (s *Store) DeleteMedia(ctx context.Context, channelID, id string) error {
	res, err := s.exec(ctx, ("DELETE FROM media WHERE channel_id = ? AND id = ?"), channelID, id)
	if err != nil {
		return fmt.Errorf("store: delete media: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrMediaNotFound
	}
	return nil
}

// ExpiredMedia lists up to limit media files of any channel that expired at now.
func (s *Store) ExpiredMedia(ctx context.Context, now time.Time, limit int) ([]model.MediaFile, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+mediaColumns+" FROM media WHERE expires_at <= ? ORDER BY expires_at LIMIT ?"), ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: list expired media: %w", err)
	}
	out, _, err := collectMedia(rows, 0)
	return out, err
}

// UseCounter adds one to a channel's usage counter of kind in period,
// unless it already reached limit (> 0; 0 or less is no limit): ok is false
// then and nothing changes. It returns the count after the call.
func (s *Store) UseCounter(ctx context.Context, channelID, kind, period string, limit int) (count int, ok bool, err error) {
	return s.UseCounterN(ctx, channelID, kind, period, 1, limit)
}

// UseCounterN adds n to a channel's usage counter of kind in period, all or
// nothing: unless that would pass limit (> 0; 0 or less is no limit), when
// ok is false and nothing changes. It returns the count after the call.
func (s *Store) UseCounterN(ctx context.Context, channelID, kind, period string, n, limit int) (count int, ok bool, err error) {
	if n <= 0 || (limit > 0 && n > limit) {
		count, err = s.Counter(ctx, channelID, kind, period)
		return count, n <= 0 && err == nil, err
	}
	res, err := s.exec(ctx, (`INSERT INTO usage_counters (channel_id, kind, period, count) VALUES (?, ?, ?, ?)
		ON CONFLICT (channel_id, kind, period) DO UPDATE SET count = usage_counters.count + excluded.count
		WHERE ? <= 0 OR usage_counters.count + excluded.count <= ?`),
		channelID, kind, period, n, limit, limit)
	if err != nil {
		return 0, false, fmt.Errorf("store: use counter: %w", err)
	}
	affected, _ := res.RowsAffected()
	count, err = s.Counter(ctx, channelID, kind, period)
	return count, affected > 0 && err == nil, err
}

// Counter reads a usage counter (0 when unused).
func (s *Store) Counter(ctx context.Context, channelID, kind, period string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q("SELECT count FROM usage_counters WHERE channel_id = ? AND kind = ? AND period = ?"), channelID, kind, period).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: read counter: %w", err)
	}
	return n, nil
}

// UseChat records that a channel talks to chatID in period, unless that
// would make more than limit chats: ok is false then. A chat already
// recorded is always ok.
func (s *Store) UseChat(ctx context.Context, channelID, period, chatID string, limit int) (ok bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// Callers of one channel take turns, or two could both see room for
		// one more chat (PostgreSQL; SQLite's BEGIN IMMEDIATE already has
		// the write lock). NO KEY UPDATE does not hold up inserts that only
		// reference the channel.
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, "SELECT 1 FROM channels WHERE id = $1 FOR NO KEY UPDATE", channelID); err != nil {
				return fmt.Errorf("store: lock channel: %w", err)
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM usage_chats WHERE channel_id = ? AND period = ? AND chat_id = ?"), channelID, period, chatID).Scan(&n); err != nil {
			return fmt.Errorf("store: read chat usage: %w", err)
		}
		if n > 0 {
			ok = true
			return nil
		}
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM usage_chats WHERE channel_id = ? AND period = ?"), channelID, period).Scan(&n); err != nil {
			return fmt.Errorf("store: count chat usage: %w", err)
		}
		if n >= limit {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO usage_chats (channel_id, period, chat_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"), channelID, period, chatID); err != nil {
			return fmt.Errorf("store: use chat: %w", err)
		}
		ok = true
		return nil
	})
	return ok, err
}

// UsedChats lists the chats a channel started in period.
func (s *Store) UsedChats(ctx context.Context, channelID, period string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT chat_id FROM usage_chats WHERE channel_id = ? AND period = ? ORDER BY chat_id"), channelID, period)
	if err != nil {
		return nil, fmt.Errorf("store: list chat usage: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ReleaseCounter takes back n uses of a counter (never below 0), for a use
// that did not happen after all.
func (s *Store) ReleaseCounter(ctx context.Context, channelID, kind, period string, n int) error {
	_, err := s.exec(ctx, `UPDATE usage_counters SET count = CASE WHEN count > ? THEN count - ? ELSE 0 END
		WHERE channel_id = ? AND kind = ? AND period = ?`, n, n, channelID, kind, period)
	if err != nil {
		return fmt.Errorf("store: release counter: %w", err)
	}
	return nil
}

// ReleaseChat forgets that a channel started chatID in period.
func (s *Store) ReleaseChat(ctx context.Context, channelID, period, chatID string) error {
	if _, err := s.exec(ctx, "DELETE FROM usage_chats WHERE channel_id = ? AND period = ? AND chat_id = ?", channelID, period, chatID); err != nil {
		return fmt.Errorf("store: release chat: %w", err)
	}
	return nil
}
