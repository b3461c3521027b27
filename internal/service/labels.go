package service

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/wire"
)

// Labels (WhatsApp Business): the channel keeps the labels its account has
// (labels table), learned from the engine (WhatsApp's app state: the phone
// creates, edits and deletes them, gives them to chats) and made through
// the API, which makes them on WhatsApp first. Changes are sent as
// "labels" webhooks (post: created or changed, delete: removed) and, for a
// chat that gains or loses one, "chats" patch.

// newLabelIDRE is Whapi's LabelID, for labels made through the API: one or
// two digits. Labels made on the phone may have longer IDs (labelIDRE).
var (
	newLabelIDRE = regexp.MustCompile(`^[0-9]{1,2}$`)
	labelIDRE    = regexp.MustCompile(`^[0-9]{1,9}$`)
)

// maxLabelName bounds a label's name (WhatsApp's own limit is lower).
const maxLabelName = 100

// labelLocks serializes label creation per channel (striped by channel
// ID): two creations must not pick the same free ID. A channel runs on one
// node, so a lock in the process is enough.
type labelLocks [16]sync.Mutex

func (l *labelLocks) of(channelID string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(channelID))
	return &l[h.Sum32()%uint32(len(l))]
}

// LabelInput is a label to create: ID optional (the next free one).
type LabelInput struct {
	ID    string
	Name  string
	Color string
}

// labelColor is the index of a color named as Whapi names it.
func labelColor(name string) (int, bool) {
	i := slices.Index(engine.LabelColors, strings.ToLower(strings.TrimSpace(name)))
	return i, i >= 0
}

// Labels lists the channel's labels.
func (s *Service) Labels(ctx context.Context, ch model.Channel) ([]store.Label, error) {
	return s.store.Labels(ctx, ch.ID)
}

// labelOf reads a label by a path ID: a malformed ID is not found.
func (s *Service) labelOf(ctx context.Context, ch model.Channel, id string) (store.Label, error) {
	if !labelIDRE.MatchString(id) {
		return store.Label{}, fmt.Errorf("label %q %w", id, model.ErrNotFound)
	}
	l, err := s.store.Label(ctx, ch.ID, id)
	if errors.Is(err, store.ErrLabelNotFound) {
		return l, fmt.Errorf("label %q %w", id, model.ErrNotFound)
	}
	return l, err
}

// CreateLabel makes a label on WhatsApp, then keeps it.
func (s *Service) CreateLabel(ctx context.Context, ch model.Channel, in LabelInput) (store.Label, error) {
	name := strings.TrimSpace(in.Name)
	if err := checkText("name", name, true, maxLabelName); err != nil {
		return store.Label{}, err
	}
	color, ok := labelColor(in.Color)
	if !ok {
		return store.Label{}, invalid("color", "must be one of %s", strings.Join(engine.LabelColors, ", "))
	}
	mu := s.labelLocks.of(ch.ID)
	mu.Lock()
	defer mu.Unlock()
	id := strings.TrimSpace(in.ID)
	switch {
	case id == "":
		next, err := s.store.NextLabelID(ctx, ch.ID)
		if err != nil {
			return store.Label{}, err
		}
		if n, _ := strconv.Atoi(next); n > 99 {
			// Past Whapi's two digits: the lowest one free.
			if next, err = s.freeLabelID(ctx, ch); err != nil {
				return store.Label{}, err
			}
		}
		id = next
	case !newLabelIDRE.MatchString(id) || id[0] == '0':
		return store.Label{}, invalid("id", "must be a number from 1 to 99")
	default:
		if _, err := s.store.Label(ctx, ch.ID, id); err == nil {
			return store.Label{}, fmt.Errorf("label %s already exists: %w", id, model.ErrConflict)
		} else if !errors.Is(err, store.ErrLabelNotFound) {
			return store.Label{}, err
		}
	}
	lb, err := capability[engine.Labeler](s, ch, "keep labels")
	if err != nil {
		return store.Label{}, err
	}
	if err := lb.EditLabel(ctx, engine.Label{ID: id, Name: name, Color: color}, false); err != nil {
		return store.Label{}, s.labelError(ch, err)
	}
	return s.putLabel(ctx, ch, store.Label{ChannelID: ch.ID, ID: id, Name: name, Color: color, UpdatedAt: s.now()})
}

// freeLabelID is the lowest label ID from 1 to 99 the channel does not
// have.
func (s *Service) freeLabelID(ctx context.Context, ch model.Channel) (string, error) {
	list, err := s.store.Labels(ctx, ch.ID)
	if err != nil {
		return "", err
	}
	taken := map[string]bool{}
	for _, l := range list {
		taken[l.ID] = true
	}
	for i := 1; i <= 99; i++ {
		if id := strconv.Itoa(i); !taken[id] {
			return id, nil
		}
	}
	return "", fmt.Errorf("no free label ID (1 to 99): delete a label first: %w", model.ErrConflict)
}

// putLabel keeps a label, with "labels" post when it is new or changed.
func (s *Service) putLabel(ctx context.Context, ch model.Channel, l store.Label) (store.Label, error) {
	out, err := s.store.PutLabel(ctx, l, func(_ *store.Label, after store.Label) []model.WebhookDelivery {
		return s.deliveries(ctx, ch, wire.TypeLabels, wire.MethodPost, "", func() ([]byte, error) {
			return wire.LabelsEvent(ch.ID, []store.Label{after})
		})
	})
	s.wake()
	return out, err
}

// LabelAssociations reads a label and the stored chats that carry it.
func (s *Service) LabelAssociations(ctx context.Context, ch model.Channel, id string) (store.Label, []model.Chat, error) {
	l, err := s.labelOf(ctx, ch, id)
	if err != nil {
		return l, nil, err
	}
	ids, err := s.store.LabelChats(ctx, ch.ID, l.ID)
	if err != nil {
		return l, nil, err
	}
	chats := make([]model.Chat, 0, len(ids))
	for _, cid := range ids {
		c, err := s.store.Chat(ctx, ch.ID, cid)
		if errors.Is(err, store.ErrChatNotFound) {
			continue // labeled on the phone, not among the channel's chats (yet)
		}
		if err != nil {
			return l, nil, err
		}
		chats = append(chats, c)
	}
	return l, chats, nil
}

// ChatLabels returns the labels of chats, by chat ID.
func (s *Service) ChatLabels(ctx context.Context, ch model.Channel, chats []model.Chat) map[string][]store.Label {
	ids := make([]string, len(chats))
	for i, c := range chats {
		ids[i] = c.ID
	}
	out, err := s.store.ChatLabels(ctx, ch.ID, ids)
	if err != nil {
		s.log.Warn("could not read chat labels", "channel_id", ch.ID, "error", err)
		return map[string][]store.Label{}
	}
	return out
}

// LabelChat gives a chat a label (on) or takes it away, on WhatsApp first.
// The label and the chat must exist; giving a label twice is a conflict,
// taking away one the chat does not carry is not found.
func (s *Service) LabelChat(ctx context.Context, ch model.Channel, labelID, rawChat string, on bool) error {
	l, err := s.labelOf(ctx, ch, labelID)
	if err != nil {
		return err
	}
	chatID, err := ChatID("AssociationID", rawChat)
	if err != nil {
		return err
	}
	c, err := s.store.Chat(ctx, ch.ID, chatID)
	if errors.Is(err, store.ErrChatNotFound) {
		return fmt.Errorf("chat %s %w (labels go on chats; messages cannot carry labels here)", chatID, model.ErrNotFound)
	}
	if err != nil {
		return err
	}
	before, err := s.store.ChatLabels(ctx, ch.ID, []string{chatID})
	if err != nil {
		return err
	}
	has := slices.ContainsFunc(before[chatID], func(x store.Label) bool { return x.ID == l.ID })
	switch {
	case on && has:
		return fmt.Errorf("chat %s already has label %s: %w", chatID, l.ID, model.ErrConflict)
	case !on && !has:
		return fmt.Errorf("chat %s does not have label %s: %w", chatID, l.ID, model.ErrNotFound)
	}
	lb, err := capability[engine.Labeler](s, ch, "keep labels")
	if err != nil {
		return err
	}
	if err := lb.LabelChat(ctx, l.ID, chatID, on); err != nil {
		return s.labelError(ch, err)
	}
	return s.setChatLabel(ctx, ch, c, l.ID, on)
}

// setChatLabel stores a label change of a chat with its "chats" patch.
// A change that is already there is no error (an engine echo).
func (s *Service) setChatLabel(ctx context.Context, ch model.Channel, c model.Chat, labelID string, on bool) error {
	before, err := s.store.ChatLabels(ctx, ch.ID, []string{c.ID})
	if err != nil {
		return err
	}
	all, err := s.store.Labels(ctx, ch.ID)
	if err != nil {
		return err
	}
	after := slices.DeleteFunc(slices.Clone(before[c.ID]), func(x store.Label) bool { return x.ID == labelID })
	if on {
		if i := slices.IndexFunc(all, func(x store.Label) bool { return x.ID == labelID }); i >= 0 {
			after = append(after, all[i])
			slices.SortFunc(after, func(a, b store.Label) int { return labelOrder(a.ID, b.ID) })
		}
	}
	err = s.store.SetChatLabel(ctx, ch.ID, labelID, c.ID, on, s.now(), func() []model.WebhookDelivery {
		if c.Type == "" {
			return nil // a chat the channel does not have: nothing to report
		}
		return s.deliveries(ctx, ch, wire.TypeChats, wire.MethodPatch, c.ID, func() ([]byte, error) {
			return wire.ChatLabelsEvent(ch.ID, c, before[c.ID], after, s.now())
		})
	})
	if errors.Is(err, store.ErrLabelAssociationExists) || errors.Is(err, store.ErrLabelAssociationNotFound) {
		return nil
	}
	s.wake()
	return err
}

// labelOrder orders label IDs numerically.
func labelOrder(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// labelError maps an engine's label or app state error.
func (s *Service) labelError(ch model.Channel, err error) error {
	if errors.Is(err, engine.ErrNoAppStateKeys) {
		return fmt.Errorf("%s; try again once the phone has synced with this channel: %w",
			strings.TrimPrefix(err.Error(), "engine: "), model.ErrConflict)
	}
	return s.capError(ch, err)
}

// ingestLabel keeps a label the account made, changed or deleted on
// another device.
func (s *Service) ingestLabel(ctx context.Context, ch model.Channel, e engine.LabelChange) error {
	if e.Label.ID == "" {
		return nil
	}
	if e.Deleted {
		err := s.store.DeleteLabel(ctx, ch.ID, e.Label.ID, s.deliveries(ctx, ch, wire.TypeLabels, wire.MethodDelete, "", func() ([]byte, error) {
			return wire.LabelsRemovedEvent(ch.ID, []string{e.Label.ID})
		})...)
		if errors.Is(err, store.ErrLabelNotFound) {
			return nil
		}
		s.wake()
		return err
	}
	at := e.Time
	if at.IsZero() {
		at = s.now()
	}
	_, err := s.putLabel(ctx, ch, store.Label{ChannelID: ch.ID, ID: e.Label.ID, Name: e.Label.Name, Color: e.Label.Color, UpdatedAt: at})
	return err
}

// ingestLabelChat keeps a chat's label change made on another device. The
// chat need not be stored yet: its label shows once it is.
func (s *Service) ingestLabelChat(ctx context.Context, ch model.Channel, e engine.LabelChatChange) error {
	if e.Label == "" || e.Chat == "" {
		return nil
	}
	c, err := s.store.Chat(ctx, ch.ID, e.Chat)
	if err != nil && !errors.Is(err, store.ErrChatNotFound) {
		return err
	}
	if err != nil {
		c = model.Chat{ChannelID: ch.ID, ID: e.Chat} // no Type: not reported
	}
	return s.setChatLabel(ctx, ch, c, e.Label, e.Labeled)
}
