package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// Limits of message fields, like WhatsApp's.
const (
	MaxTextLength    = 4096
	MaxCaptionLength = 1024
	MaxTypingSeconds = 60
)

// messageIDRE is the form of a message ID given by a client.
var messageIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{4,80}$`)

// CheckMessageID refuses what cannot be a message ID (404).
func CheckMessageID(id string) error {
	if !messageIDRE.MatchString(id) {
		return fmt.Errorf("message %q %w", id, model.ErrNotFound)
	}
	return nil
}

// SendRequest is a message to send, as the gate API takes it.
type SendRequest struct {
	Kind string // engine.Kind*
	To   string
	// Body is the text of text and link_preview messages.
	Body string
	// Caption is the text under media.
	Caption string
	// Media is a URL, a data URI, base64 or a MediaID; Upload a multipart file.
	Media    string
	Upload   *Upload
	MimeType string
	FileName string
	Seconds  int
	Quoted   string
	Edit     string
	Mentions []string
	ViewOnce bool
	// NoLinkPreview sends links without a preview.
	NoLinkPreview bool
	// TypingTime shows "typing..." (or "recording..." for voice) this many
	// seconds before sending.
	TypingTime float64
	// Location.
	Latitude, Longitude *float64
	Name, Address, URL  string
	// Contact.
	VCard string
	// Link preview.
	Title, Description, Canonical, Preview string
	// Poll.
	Options []string
	Count   *int
	// Live location (with Latitude, Longitude, Caption); contact list.
	Accuracy, Degrees int
	Speed             float64
	Sequence          int64
	TimeOffset        int
	List              []engine.ContactCard
	// Business kinds (business_send.go): an interactive message (Body is
	// its body text, Media and MimeType its header's file), a carousel
	// (CardMedia: each card's file), a product, a catalog link.
	Interactive *engine.Interactive
	Carousel    *engine.Carousel
	CardMedia   []string
	Product     *engine.ProductRef
	Catalog     *engine.CatalogLink
}

// kindObject is the content of a message as the gate API shows it under its
// type's key.
type kindObject map[string]any

// checkSend validates a send request and builds the engine content, except
// media bytes.
func checkSend(r SendRequest) (string, engine.Content, error) {
	if err := sendNULFree(r); err != nil { // it would be sent, then fail to be stored
		return "", engine.Content{}, err
	}
	chat, err := ChatID("to", r.To)
	if err != nil {
		return "", engine.Content{}, err
	}
	c := engine.Content{Kind: r.Kind, ViewOnce: r.ViewOnce}
	text := func(field, v string, required bool, limit int) error {
		if required && strings.TrimSpace(v) == "" {
			return invalid(field, "is required and must not be blank")
		}
		if utf8.RuneCountInString(v) > limit {
			return invalid(field, "must be at most %d characters", limit)
		}
		if !utf8.ValidString(v) {
			return invalid(field, "must be valid UTF-8")
		}
		return nil
	}
	switch r.Kind {
	case engine.KindText:
		if err := text("body", r.Body, true, MaxTextLength); err != nil {
			return "", c, err
		}
		c.Text = r.Body
	case engine.KindLiveLocation, engine.KindContactList:
		if err := checkSendExtra(r, &c); err != nil {
			return "", c, err
		}
	case engine.KindInteractive, engine.KindCarousel, engine.KindProduct, engine.KindCatalog:
		if err := checkSendBusiness(r, &c); err != nil { // business_send.go
			return "", c, err
		}
	case engine.KindImage, engine.KindVideo, engine.KindGIF, engine.KindDocument, engine.KindShort:
		if err := text("caption", r.Caption, false, MaxCaptionLength); err != nil {
			return "", c, err
		}
		c.Text = r.Caption
	case engine.KindAudio, engine.KindVoice, engine.KindSticker:
	case engine.KindLocation:
		if r.Latitude == nil || r.Longitude == nil {
			return "", c, invalid("latitude", "latitude and longitude are required")
		}
		if math.IsNaN(*r.Latitude) || *r.Latitude < -90 || *r.Latitude > 90 {
			return "", c, invalid("latitude", "must be between -90 and 90")
		}
		if math.IsNaN(*r.Longitude) || *r.Longitude < -180 || *r.Longitude > 180 {
			return "", c, invalid("longitude", "must be between -180 and 180")
		}
		if err := text("name", r.Name, false, 256); err != nil {
			return "", c, err
		}
		if err := text("address", r.Address, false, 512); err != nil {
			return "", c, err
		}
		c.Location = &engine.Location{Latitude: *r.Latitude, Longitude: *r.Longitude, Name: r.Name, Address: r.Address, URL: r.URL}
	case engine.KindContact:
		if err := text("name", r.Name, true, 256); err != nil {
			return "", c, err
		}
		if err := text("vcard", r.VCard, true, 10000); err != nil {
			return "", c, err
		}
		if card := strings.ToUpper(strings.TrimSpace(r.VCard)); !strings.HasPrefix(card, "BEGIN:VCARD") || !strings.HasSuffix(card, "END:VCARD") {
			return "", c, invalid("vcard", "must be a vCard (BEGIN:VCARD ... END:VCARD)")
		}
		c.Contact = &engine.ContactCard{Name: r.Name, VCard: r.VCard}
	case engine.KindLinkPreview:
		if err := text("body", r.Body, true, MaxTextLength); err != nil {
			return "", c, err
		}
		if err := text("title", r.Title, true, 256); err != nil {
			return "", c, err
		}
		if err := text("description", r.Description, false, 1024); err != nil {
			return "", c, err
		}
		link := r.Canonical
		if link != "" && firstURL(link) != link {
			return "", c, invalid("canonical", "must be an http:// or https:// link")
		}
		if link == "" {
			link = firstURL(r.Body)
		}
		if link == "" {
			return "", c, invalid("body", "must contain a link (http:// or https://) for its preview")
		}
		c.Text = r.Body
		c.LinkPreview = &engine.LinkPreview{URL: link, Title: r.Title, Description: r.Description}
	case engine.KindPoll:
		if err := text("title", r.Title, true, 255); err != nil {
			return "", c, err
		}
		if len(r.Options) < 2 || len(r.Options) > 12 {
			return "", c, invalid("options", "a poll needs 2 to 12 options")
		}
		seen := map[string]bool{}
		for i, o := range r.Options {
			if err := text(fmt.Sprintf("options[%d]", i), o, true, 100); err != nil {
				return "", c, err
			}
			if seen[o] {
				return "", c, invalid(fmt.Sprintf("options[%d]", i), "%q appears twice", o)
			}
			seen[o] = true
		}
		sel := 0
		if r.Count != nil {
			if *r.Count < 0 || *r.Count > 1 {
				return "", c, invalid("count", "must be 0 (any number of options) or 1 (one option)")
			}
			sel = *r.Count
		}
		c.Poll = &engine.Poll{Title: r.Title, Options: r.Options, Selectable: sel}
	default:
		return "", c, invalid("type", "unknown message type %q", r.Kind)
	}
	if r.Quoted != "" {
		if err := CheckMessageID(r.Quoted); err != nil {
			return "", c, invalid("quoted", "%q is not a message ID", r.Quoted)
		}
		c.QuotedID = r.Quoted
	}
	if r.Edit != "" {
		if r.Kind != engine.KindText {
			return "", c, invalid("edit", "only text messages can be edited")
		}
		if err := CheckMessageID(r.Edit); err != nil {
			return "", c, invalid("edit", "%q is not a message ID", r.Edit)
		}
		c.EditedID = r.Edit
	}
	for i, m := range r.Mentions {
		jid, err := UserID(fmt.Sprintf("mentions[%d]", i), m)
		if err != nil {
			return "", c, err
		}
		c.Mentions = append(c.Mentions, jid)
	}
	if r.TypingTime < 0 || r.TypingTime > MaxTypingSeconds || math.IsNaN(r.TypingTime) {
		return "", c, invalid("typing_time", "must be 0 to %d seconds", MaxTypingSeconds)
	}
	return chat, c, nil
}

// firstURL finds the first http(s) link in a text.
func firstURL(text string) string {
	for _, f := range strings.Fields(text) {
		if u, err := url.Parse(f); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			return f
		}
	}
	return ""
}

// Send sends a message from a channel and stores it (status pending; later
// receipts move it on). Bad input is a 400 and nothing is sent or counted;
// trial and Sandbox channels count against their limits (402 beyond).
func (s *Service) Send(ctx context.Context, ch model.Channel, r SendRequest) (model.Message, error) {
	chat, c, err := checkSend(r)
	if err != nil {
		return model.Message{}, err
	}
	sess, err := s.session(ch)
	if err != nil {
		return model.Message{}, err
	}
	var (
		up     Upload
		extras mediaExtras
	)
	if engine.IsMedia(r.Kind) {
		if up, err = s.resolveMedia(ctx, ch, r.Kind, r.Media, r.Upload, r.MimeType); err != nil {
			return model.Message{}, err
		}
		defer up.File.Close() // a fetched or uploaded file, spooled
		if r.FileName != "" {
			up.FileName = r.FileName
		}
		if up, err = checkUpload(r.Kind, up); err != nil {
			return model.Message{}, err
		}
		if err := up.load(); err != nil { // the engine sends bytes
			return model.Message{}, err
		}
		if up, extras, err = s.prepareMedia(ctx, r.Kind, up); err != nil { // convert.go
			return model.Message{}, err
		}
	}
	if err := s.businessMedia(ctx, ch, r, &c); err != nil { // business_send.go
		return model.Message{}, err
	}
	if c.EditedID != "" {
		if orig, err := s.store.Message(ctx, ch.ID, c.EditedID); err != nil || !orig.FromMe || orig.ChatID != chat {
			return model.Message{}, invalid("edit", "message %s is not one of this channel's messages in %s", c.EditedID, chat)
		}
	}
	if c.QuotedID != "" {
		if q, err := s.store.Message(ctx, ch.ID, c.QuotedID); err == nil {
			if !q.FromMe {
				c.QuotedSender = q.Sender
			}
			c.Quoted = quotedContent(q)
		}
	}
	// Everything is checked: count the limits, then store the file.
	op, err := s.operatorSettings(ctx)
	if err != nil {
		return model.Message{}, err
	}
	releaseChat, err := s.useChat(ctx, ch, op, chat)
	if err != nil {
		return model.Message{}, err
	}
	if err := s.UseLimit(ctx, ch, LimitMessages, 1); err != nil {
		releaseChat()
		return model.Message{}, err
	}
	var media *model.MediaFile
	if engine.IsMedia(r.Kind) {
		f, err := s.saveChecked(ctx, ch, up)
		if err != nil {
			s.releaseLimit(ctx, ch, LimitMessages, 1)
			releaseChat()
			return model.Message{}, err
		}
		media = &f
		c.Media = &engine.Media{Data: up.Data, MimeType: f.MimeType, FileName: f.FileName, Size: f.Size, Seconds: r.Seconds,
			Width: extras.Width, Height: extras.Height, Waveform: extras.Waveform, Thumbnail: extras.Thumbnail}
		if c.Media.Seconds == 0 {
			c.Media.Seconds = extras.Seconds
		}
	}
	if r.TypingTime > 0 {
		s.simulateTyping(ctx, sess, chat, r.Kind, r.TypingTime)
	}
	began := time.Now()
	sent, err := sess.Send(ctx, chat, c)
	s.metrics.MessageSent(r.Kind, time.Since(began), err)
	if err != nil {
		s.releaseLimit(ctx, ch, LimitMessages, 1) // nothing was sent
		releaseChat()
		if errors.Is(err, engine.ErrReachoutLimited) {
			if cerr := s.store.BumpChannelCounter(ctx, ch.ID, store.CounterReachoutRefused, chat, s.now()); cerr != nil {
				s.log.WarnContext(ctx, "could not count a refused send", "channel_id", ch.ID, "error", cerr)
			}
		}
		return model.Message{}, s.actionError(ch, err)
	}
	if c.EditedID != "" {
		m, err := s.store.UpdateMessage(ctx, ch.ID, c.EditedID, func(m *model.Message) error {
			m.Body, m.Edited = c.Text, true
			m.Content = mustJSON(kindObject{"body": c.Text})
			return nil
		}, s.updateHooks(ctx, ch))
		if err == nil && sent.Payload != nil {
			if perr := s.store.PutSentPayload(ctx, ch.ID, sent.ID, sent.Payload, sent.Time); perr != nil {
				s.log.WarnContext(ctx, "could not keep the edit for retries", "channel_id", ch.ID, "error", perr)
			}
		}
		s.wake()
		return m, err
	}
	m := s.newMessage(ch, sent.ID, chat, true, s.selfJID(ch), ch.WAName, "api", model.MessagePending, c, media, sent.Time)
	if _, err := s.insertMessage(ctx, store.NewMessage{Message: m, Hooks: hooks1(s.newMessageHooks(ctx, ch, m)), Payload: sent.Payload}); err != nil {
		return m, err
	}
	s.sentStatus(ctx, ch, m) // settings: sent_status
	if st, ok := s.early.take(ch.ID, m.ID); ok {
		// With the receipts that arrive meanwhile, in one write.
		if _, err := s.receipts.set(ctx, s.store, store.StatusChange{ChannelID: ch.ID, IDs: []string{m.ID}, Status: st,
			Hooks: []func([]model.Message) []model.WebhookDelivery{s.statusHooks(ctx, ch)}}); err != nil {
			s.log.WarnContext(ctx, "could not apply an early receipt", "channel_id", ch.ID, "error", err)
		}
	}
	s.wake()
	return m, nil
}

// quotedContent is what a reply shows of a stored message: its kind,
// texts and file details (engine.Content.Quoted).
func quotedContent(m model.Message) *engine.Content {
	var obj map[string]any
	_ = json.Unmarshal(m.Content, &obj)
	str := func(k string) string { v, _ := obj[k].(string); return v }
	num := func(k string) float64 { v, _ := obj[k].(float64); return v }
	c := &engine.Content{Kind: m.Type, Text: m.Body}
	switch {
	case engine.IsMedia(m.Type):
		c.Media = &engine.Media{MimeType: str("mime_type"), FileName: str("file_name"), Seconds: int(num("seconds"))}
	case m.Type == engine.KindLocation:
		c.Location = &engine.Location{Latitude: num("latitude"), Longitude: num("longitude"), Name: str("name"), Address: str("address")}
	case m.Type == engine.KindContact:
		c.Contact = &engine.ContactCard{Name: str("name")}
	case m.Type == engine.KindPoll:
		p := &engine.Poll{Title: str("title")}
		if opts, ok := obj["options"].([]any); ok {
			for _, o := range opts {
				if s, ok := o.(string); ok {
					p.Options = append(p.Options, s)
				}
			}
		}
		c.Poll = p
	}
	return c
}

// simulateTyping shows typing (recording for voice) for d seconds, bounded
// by ctx; failures only skip the show.
func (s *Service) simulateTyping(ctx context.Context, sess engine.Session, chat, kind string, seconds float64) {
	state := engine.PresenceTyping
	if kind == engine.KindVoice || kind == engine.KindAudio {
		state = engine.PresenceRecording
	}
	if err := sess.SendChatPresence(ctx, chat, state); err != nil {
		return
	}
	t := time.NewTimer(time.Duration(seconds * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	_ = sess.SendChatPresence(context.WithoutCancel(ctx), chat, engine.PresencePaused)
}

func (s *Service) selfJID(ch model.Channel) string {
	if ch.WAPhone == "" {
		return ""
	}
	return ch.WAPhone + "@" + UserServer
}

// phoneOrJID shows a user as Whapi does, by number; other JIDs stay.
func phoneOrJID(jid string) string {
	if p := PhoneOf(jid); p != "" {
		return p
	}
	return jid
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of plain values are marshalled
	}
	return b
}

// newMessage builds the stored form of a message.
func (s *Service) newMessage(ch model.Channel, id, chat string, fromMe bool, sender, name, source, status string,
	c engine.Content, media *model.MediaFile, at time.Time) model.Message {
	kind := c.Kind
	if kind == "" {
		kind = engine.KindText
	}
	if at.IsZero() {
		at = s.now()
	}
	m := model.Message{ChannelID: ch.ID, ID: id, ChatID: chat, Sender: sender, FromMe: fromMe, FromName: name,
		Type: kind, Source: source, Status: status, Body: c.Text, Time: at.UTC()}
	obj := kindObject{}
	switch {
	case kind == engine.KindText:
		obj["body"] = c.Text
	case engine.IsMedia(kind):
		if media != nil {
			obj["id"], obj["mime_type"], obj["file_size"], obj["sha256"] = media.ID, media.MimeType, media.Size, media.SHA256
			obj["link"] = s.APIURL() + "media/" + media.ID
			if media.FileName != "" {
				obj["file_name"] = media.FileName
			}
		} else if c.Media != nil {
			obj["mime_type"], obj["file_size"] = c.Media.MimeType, c.Media.Size
			if c.Media.FileName != "" {
				obj["file_name"] = c.Media.FileName
			}
		}
		if c.Text != "" {
			obj["caption"] = c.Text
		}
		if c.Media != nil && c.Media.Seconds > 0 {
			obj["seconds"] = c.Media.Seconds
		}
		if c.ViewOnce {
			obj["view_once"] = true
		}
	case kind == engine.KindLocation && c.Location != nil:
		obj["latitude"], obj["longitude"] = c.Location.Latitude, c.Location.Longitude
		for k, v := range map[string]string{"name": c.Location.Name, "address": c.Location.Address, "url": c.Location.URL} {
			if v != "" {
				obj[k] = v
			}
		}
	case kind == engine.KindContact && c.Contact != nil:
		obj["name"], obj["vcard"] = c.Contact.Name, c.Contact.VCard
	case kind == engine.KindLinkPreview && c.LinkPreview != nil:
		obj["body"], obj["url"], obj["title"] = c.Text, c.LinkPreview.URL, c.LinkPreview.Title
		if c.LinkPreview.Description != "" {
			obj["description"] = c.LinkPreview.Description
		}
	case kind == engine.KindLiveLocation || kind == engine.KindContactList:
		extraContent(obj, c)
	case kind == engine.KindInteractive || kind == engine.KindCarousel || kind == engine.KindProduct ||
		kind == engine.KindCatalog || kind == engine.KindOrder || kind == engine.KindReply:
		businessContent(obj, c) // business_send.go
	case kind == engine.KindPoll && c.Poll != nil:
		results := make([]map[string]any, len(c.Poll.Options))
		for i, o := range c.Poll.Options {
			results[i] = map[string]any{"id": fmt.Sprint(i), "name": o, "count": 0, "voters": []string{}}
		}
		obj["title"], obj["options"], obj["total"], obj["results"] = c.Poll.Title, c.Poll.Options, 0, results
	default:
		obj["body"] = c.Text
	}
	m.Content = mustJSON(obj)
	mctx := kindObject{}
	if c.QuotedID != "" {
		mctx["quoted_id"] = c.QuotedID
		if c.QuotedSender != "" {
			mctx["quoted_author"] = phoneOrJID(c.QuotedSender)
		}
	}
	if len(c.Mentions) > 0 {
		mentions := make([]string, len(c.Mentions))
		for i, m := range c.Mentions {
			mentions[i] = phoneOrJID(m)
		}
		mctx["mentions"] = mentions
	}
	m.Context = mustJSON(mctx)
	return m
}

// --- received events

// ingestMessage stores a message the channel received (or sent from
// another device), and applies reactions, edits and deletions to the
// messages they target.
func (s *Service) ingestMessage(ctx context.Context, ch model.Channel, e engine.Message) error {
	c := e.Content
	if c.Kind == "" {
		c.Kind, c.Text = engine.KindText, e.Text
	}
	switch c.Kind {
	case engine.KindPollVote:
		return s.ingestPollVote(ctx, ch, e) // polls.go
	case engine.KindReaction:
		if c.Reaction == nil {
			return nil
		}
		_, err := s.store.UpdateMessage(ctx, ch.ID, c.Reaction.TargetID, func(m *model.Message) error {
			m.Reactions = setReaction(m.Reactions, e.Sender, c.Reaction.Emoji, e.Time)
			return nil
		}, s.updateHooks(ctx, ch))
		s.wake()
		return ignoreNotFound(err)
	case engine.KindEdit:
		_, err := s.store.UpdateMessage(ctx, ch.ID, c.EditedID, func(m *model.Message) error {
			m.Body, m.Edited = c.Text, true
			if m.Type == engine.KindText {
				m.Content = mustJSON(kindObject{"body": c.Text})
			}
			return nil
		}, s.updateHooks(ctx, ch))
		s.wake()
		return ignoreNotFound(err)
	case engine.KindRevoke:
		_, err := s.store.UpdateMessage(ctx, ch.ID, c.RevokedID, func(m *model.Message) error {
			m.Status, m.Body, m.Content = model.MessageDeleted, "", mustJSON(kindObject{})
			return nil
		}, s.updateHooks(ctx, ch))
		s.wake()
		return ignoreNotFound(err)
	}
	source := "mobile"
	status := model.MessageDelivered
	if e.FromMe {
		status = model.MessageSent
	}
	media, fetchNow, err := s.receivedMedia(ctx, ch, e, c) // mediafetch.go
	if err != nil {
		return err
	}
	m := s.newMessage(ch, e.ID, e.Chat, e.FromMe, e.Sender, e.PushName, source, status, c, media, e.Time)
	inserted, err := s.insertMessage(ctx, store.NewMessage{Message: m, Hooks: hooks1(s.newMessageHooks(ctx, ch, m))})
	if err != nil {
		return err
	}
	if inserted {
		s.metrics.MessageReceived(c.Kind)
	}
	if !inserted {
		// WhatsApp delivered it again: stored once. A placeholder of a
		// message that could not be decrypted gets its content now.
		if resolved, err := s.resolveCiphertext(ctx, ch, m); err != nil || !resolved {
			return err
		}
	}
	s.wake()
	if fetchNow {
		if c.Media.Ref != "" {
			s.fetchLater(ch, media.ID, c)
		} else {
			s.downloadLater(ch, m.ID, c)
		}
	}
	return nil
}

// downloadLater fetches a received file off the event path, bounded in
// concurrency, when the channel's settings ask for its kind.
func (s *Service) downloadLater(ch model.Channel, msgID string, c engine.Content) {
	settings, err := s.ChannelSettings(context.Background(), ch)
	kind := c.Kind
	if kind == engine.KindShort { // a round video: downloaded with the videos
		kind = engine.KindVideo
	}
	if err != nil || !slices.Contains(settings.Media.AutoDownload, kind) {
		return
	}
	go func() {
		s.downloads <- struct{}{}
		defer func() { <-s.downloads }()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		data, err := c.Media.Fetch(ctx)
		if err != nil {
			s.log.Warn("could not download received media", "channel_id", ch.ID, "message_id", msgID, "error", err)
			return
		}
		f, err := s.SaveMedia(ctx, ch, "", Upload{Data: data, MimeType: c.Media.MimeType, FileName: c.Media.FileName})
		if err != nil {
			s.log.Warn("could not store received media", "channel_id", ch.ID, "message_id", msgID, "error", err)
			return
		}
		_, err = s.store.UpdateMessage(ctx, ch.ID, msgID, func(m *model.Message) error {
			var obj kindObject
			_ = json.Unmarshal(m.Content, &obj)
			if obj == nil {
				obj = kindObject{}
			}
			obj["id"], obj["sha256"], obj["file_size"], obj["link"] = f.ID, f.SHA256, f.Size, s.APIURL()+"media/"+f.ID
			m.Content = mustJSON(obj)
			return nil
		})
		if err != nil {
			s.log.Warn("could not link downloaded media", "channel_id", ch.ID, "message_id", msgID, "error", err)
		}
	}()
}

func ignoreNotFound(err error) error {
	if errors.Is(err, model.ErrNotFound) {
		return nil
	}
	return err
}

// setReaction sets (or with "" removes) one user's reaction.
func setReaction(list []model.MessageReaction, from, emoji string, at time.Time) []model.MessageReaction {
	out := list[:0:0]
	for _, r := range list {
		if r.From != from {
			out = append(out, r)
		}
	}
	if emoji != "" {
		if at.IsZero() {
			at = time.Now()
		}
		out = append(out, model.MessageReaction{Emoji: emoji, From: from, Time: at.Unix()})
	}
	return out
}

// ingestReceipt moves the status of the channel's sent messages. A receipt
// that arrives before Send stored its message is kept for a minute.
func (s *Service) ingestReceipt(ctx context.Context, ch model.Channel, e engine.Receipt) error {
	status := model.MessageDelivered
	switch e.Type {
	case engine.ReceiptRead:
		status = model.MessageRead
	case engine.ReceiptPlayed:
		status = model.MessagePlayed
	}
	change := store.StatusChange{ChannelID: ch.ID, IDs: e.IDs, Status: status,
		Hooks: []func([]model.Message) []model.WebhookDelivery{s.statusHooks(ctx, ch)}}
	if e.Sender != "" { // who saw what: GET /statuses/{MessageID} (stories.go), in the change's transaction
		change.View = &store.StatusView{Chat: e.Chat, Viewer: e.Sender, Time: e.Time}
	}
	changed, err := s.receipts.set(ctx, s.store, change)
	if err != nil {
		return err
	}
	if len(changed) > 0 {
		s.wake()
	}
	if len(changed) < len(e.IDs) {
		for _, id := range e.IDs {
			if _, err := s.store.Message(ctx, ch.ID, id); errors.Is(err, store.ErrMessageNotFound) {
				s.early.put(ch.ID, id, status, s.now())
			}
		}
	}
	return nil
}

// statusBatcher makes the status changes of receipts that arrive together
// (from different channels: one channel's come one at a time) in one
// store.SetMessageStatuses call, which on SQLite is one transaction. The
// caller that finds no group being written writes the queue, then whatever
// gathered meanwhile; the others wait for it. Each caller returns once its
// change is committed (or failed), so a receipt is as durable as before and
// a channel's receipts keep their order.
type statusBatcher struct {
	mu      sync.Mutex
	queue   []*pendingStatus
	writing bool
}

type pendingStatus struct {
	change  store.StatusChange
	changed []model.Message
	err     error
	done    chan struct{}
}

// maxStatusBatch bounds the changes written in one call.
const maxStatusBatch = 64

func (b *statusBatcher) set(ctx context.Context, st *store.Store, c store.StatusChange) ([]model.Message, error) {
	p := &pendingStatus{change: c, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, p)
	if b.writing {
		b.mu.Unlock()
		select {
		case <-p.done:
			return p.changed, p.err
		case <-ctx.Done():
			// The writer still writes it; this caller stops waiting.
			return nil, ctx.Err()
		}
	}
	b.writing = true
	for len(b.queue) > 0 {
		n := min(len(b.queue), maxStatusBatch)
		group := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()
		b.write(ctx, st, group)
		b.mu.Lock()
	}
	b.writing = false
	b.mu.Unlock()
	return p.changed, p.err
}

// write makes a group's changes; a group that failed as a whole is made
// again one change at a time, so one cannot hold back the others.
func (b *statusBatcher) write(ctx context.Context, st *store.Store, group []*pendingStatus) {
	// The group is others' too: it is not cut short by this caller's end.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ingestTimeout)
	defer cancel()
	cs := make([]store.StatusChange, len(group))
	for i, p := range group {
		cs[i] = p.change
	}
	changed, errs := st.SetMessageStatuses(wctx, cs)
	for i, p := range group {
		p.changed, p.err = changed[i], errs[i]
		if p.err != nil && len(group) > 1 { // alone, with its view
			one, errs := st.SetMessageStatuses(wctx, []store.StatusChange{p.change})
			p.changed, p.err = one[0], errs[0]
		}
		close(p.done)
	}
}

// earlyReceipts holds statuses of messages not stored yet (a receipt can
// overtake the Send that stores its message).
type earlyReceipts struct {
	mu sync.Mutex
	m  map[string]earlyReceipt
}

type earlyReceipt struct {
	status string
	at     time.Time
}

func (e *earlyReceipts) put(channelID, id, status string, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, v := range e.m { // drop what waited over a minute
		if now.Sub(v.at) > time.Minute {
			delete(e.m, k)
		}
	}
	if len(e.m) >= 10000 {
		return
	}
	k := channelID + "/" + id
	if old, ok := e.m[k]; !ok || model.MessageStatusRank(status) > model.MessageStatusRank(old.status) {
		e.m[k] = earlyReceipt{status: status, at: now}
	}
}

func (e *earlyReceipts) take(channelID, id string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := channelID + "/" + id
	r, ok := e.m[k]
	delete(e.m, k)
	return r.status, ok
}
