package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// Story fonts (Whapi's font_type).
var StoryFonts = []string{"SYSTEM", "SYSTEM_TEXT", "FB_SCRIPT", "SYSTEM_BOLD", "MORNINGBREEZE_REGULAR",
	"CALISTOGA_REGULAR", "EXO2_EXTRABOLD", "COURIERPRIME_BOLD"}

// Kinds of story requests (which endpoint).
const (
	StoryAny   = ""      // POST /stories: text without media, else by the file's type
	StoryText  = "text"  // caption required, no media
	StoryMedia = "media" // an image or a video
	StoryAudio = "audio" // a voice note
)

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6,8}$`)

// StoryRequest is a story to post, as the gate API takes it.
type StoryRequest struct {
	Kind     string // Story*
	Caption  string
	Media    string
	Upload   *Upload
	MimeType string
	// Contacts see it (empty: the account's contacts), but Exclude.
	Contacts, Exclude []string
	Background        string
	CaptionColor      string
	Font              string
}

func checkStory(r StoryRequest) (engine.StoryPost, error) {
	p := engine.StoryPost{Style: engine.StoryStyle{Background: r.Background, TextColor: r.CaptionColor, Font: r.Font}}
	for field, v := range map[string]string{"background_color": r.Background, "caption_color": r.CaptionColor} {
		if v != "" && !colorRE.MatchString(v) {
			return p, invalid(field, "must be a color as #RRGGBB or #AARRGGBB")
		}
	}
	if r.Font != "" && !slices.Contains(StoryFonts, r.Font) {
		return p, invalid("font_type", "must be one of %s", strings.Join(StoryFonts, ", "))
	}
	if utf8.RuneCountInString(r.Caption) > MaxCaptionLength || !utf8.ValidString(r.Caption) || strings.ContainsRune(r.Caption, 0) {
		return p, invalid("caption", "must be valid text of at most %d characters", MaxCaptionLength)
	}
	for field, list := range map[string][]string{"contacts": r.Contacts, "exclude_contacts": r.Exclude} {
		for i, raw := range list {
			jid, err := UserID(fmt.Sprintf("%s[%d]", field, i), raw)
			if err != nil {
				return p, err
			}
			if field == "contacts" {
				p.Audience = append(p.Audience, jid)
			} else {
				p.Exclude = append(p.Exclude, jid)
			}
		}
	}
	hasMedia := r.Upload != nil || strings.TrimSpace(r.Media) != ""
	switch {
	case r.Kind == StoryText || (r.Kind == StoryAny && !hasMedia):
		if strings.TrimSpace(r.Caption) == "" {
			return p, invalid("caption", "is required and must not be blank: the text of the story")
		}
		if hasMedia {
			return p, invalid("media", "a text story has no media; post it with /stories/send/media")
		}
		p.Content = engine.Content{Kind: engine.KindText, Text: r.Caption}
	case !hasMedia:
		return p, invalid("media", "is required: a URL, a base64 data URI, a media ID from POST /media, or a multipart file")
	}
	return p, nil
}

// storyKind is the kind of a story's file by its type.
func storyKind(req string, mt string) (string, error) {
	base := strings.ToLower(strings.TrimSpace(strings.SplitN(mt, ";", 2)[0]))
	switch {
	case strings.HasPrefix(base, "image/") && req != StoryAudio:
		return engine.KindImage, nil
	case strings.HasPrefix(base, "video/") && req != StoryAudio:
		return engine.KindVideo, nil
	case strings.HasPrefix(base, "audio/") && req != StoryMedia:
		return engine.KindVoice, nil
	}
	want := map[string]string{StoryMedia: "an image or a video", StoryAudio: "audio"}[req]
	if want == "" {
		want = "an image, a video or audio"
	}
	return "", fmt.Errorf("media: a story here is %s, not %s: %w", want, base, model.ErrUnsupportedMedia)
}

// PostStory posts a story (status update) and stores it in the chat
// status@broadcast. Bad input is a 400 and nothing is posted or counted;
// trial and Sandbox channels count it as a message sent.
func (s *Service) PostStory(ctx context.Context, ch model.Channel, r StoryRequest) (model.Message, error) {
	p, err := checkStory(r)
	if err != nil {
		return model.Message{}, err
	}
	st, err := capability[engine.Storyteller](s, ch, "post stories")
	if err != nil {
		return model.Message{}, err
	}
	var media *model.MediaFile
	var up Upload
	if p.Content.Kind == "" {
		if up, err = s.resolveMedia(ctx, ch, engine.KindVideo, r.Media, r.Upload, r.MimeType); err != nil {
			return model.Message{}, err
		}
		if up.File != nil {
			defer up.File.Close()
		}
		mt := up.MimeType
		if mt == "" || mt == "application/octet-stream" {
			mt = http.DetectContentType(up.head())
		}
		kind, err := storyKind(r.Kind, mt)
		if err != nil {
			return model.Message{}, err
		}
		if up, err = checkUpload(kind, up); err != nil {
			return model.Message{}, err
		}
		if err := up.load(); err != nil {
			return model.Message{}, err
		}
		p.Content = engine.Content{Kind: kind, Text: r.Caption}
	}
	return s.postStory(ctx, ch, st, p, up, media)
}

// postStory counts, stores the file, posts and stores the story.
func (s *Service) postStory(ctx context.Context, ch model.Channel, st engine.Storyteller, p engine.StoryPost, up Upload, media *model.MediaFile) (model.Message, error) {
	if err := s.UseLimit(ctx, ch, LimitMessages, 1); err != nil {
		return model.Message{}, err
	}
	if engine.IsMedia(p.Content.Kind) {
		if media == nil {
			f, err := s.saveChecked(ctx, ch, up)
			if err != nil {
				s.releaseLimit(ctx, ch, LimitMessages, 1)
				return model.Message{}, err
			}
			media = &f
		}
		p.Content.Media = &engine.Media{Data: up.Data, MimeType: media.MimeType, FileName: media.FileName, Size: media.Size}
	}
	sent, err := st.PostStory(ctx, p)
	if err != nil {
		s.releaseLimit(ctx, ch, LimitMessages, 1)
		return model.Message{}, s.capError(ch, err)
	}
	m := s.newMessage(ch, sent.ID, engine.StatusBroadcast, true, s.selfJID(ch), ch.WAName, "api", model.MessagePending, p.Content, media, sent.Time)
	if _, err := s.insertMessage(ctx, store.NewMessage{Message: m, Hooks: hooks1(s.newMessageHooks(ctx, ch, m)), Payload: sent.Payload}); err != nil {
		return m, err
	}
	s.wake()
	return m, nil
}

// StoryFilter selects stories to list.
type StoryFilter struct {
	MessageFilter
	Author string // a user, as the client wrote it
}

// Stories lists the stored stories: the channel's own and those its
// contacts posted.
func (s *Service) Stories(ctx context.Context, ch model.Channel, f StoryFilter) ([]model.Message, int, error) {
	q := store.MessageQuery{ChatID: engine.StatusBroadcast, FromMe: f.FromMe, From: f.TimeFrom, To: f.TimeTo,
		Count: f.Count, Offset: f.Offset, Ascending: f.Ascending}
	if f.Author != "" {
		jid, err := UserID("author", f.Author)
		if err != nil {
			return nil, 0, err
		}
		q.Sender = jid
	}
	if f.TimeFrom != nil && f.TimeTo != nil && f.TimeTo.Before(*f.TimeFrom) {
		return nil, 0, invalid("time_to", "must not be before time_from")
	}
	return s.store.Messages(ctx, ch.ID, q)
}

// Story reads one stored story (404 for other messages).
func (s *Service) Story(ctx context.Context, ch model.Channel, id string) (model.Message, error) {
	m, err := s.Message(ctx, ch, id)
	if err != nil {
		return m, err
	}
	if m.ChatID != engine.StatusBroadcast {
		return model.Message{}, fmt.Errorf("story %s %w (it is a message of another chat)", id, model.ErrNotFound)
	}
	return m, nil
}

// CopyStory posts a stored story again (the channel's own or one it
// received), to contacts or to the account's contacts but exclude.
func (s *Service) CopyStory(ctx context.Context, ch model.Channel, id string, contacts, exclude []string) (model.Message, error) {
	orig, err := s.Story(ctx, ch, id)
	if err != nil {
		return orig, err
	}
	if orig.Status == model.MessageDeleted {
		return model.Message{}, fmt.Errorf("story %s was deleted: %w", id, model.ErrConflict)
	}
	p, err := checkStory(StoryRequest{Kind: StoryText, Caption: "x", Contacts: contacts, Exclude: exclude})
	if err != nil {
		return model.Message{}, err
	}
	st, err := capability[engine.Storyteller](s, ch, "post stories")
	if err != nil {
		return model.Message{}, err
	}
	p.Content = engine.Content{Kind: orig.Type, Text: orig.Body}
	var up Upload
	var media *model.MediaFile
	switch {
	case orig.Type == engine.KindText:
	case engine.IsMedia(orig.Type):
		f, data, err := s.messageFile(ctx, ch, orig)
		if err != nil {
			return model.Message{}, err
		}
		up, media = Upload{Data: data, MimeType: f.MimeType, FileName: f.FileName}, &f
	default:
		return model.Message{}, fmt.Errorf("story %s is a %s, which cannot be posted again: %w", id, orig.Type, model.ErrConflict)
	}
	return s.postStory(ctx, ch, st, p, up, media)
}

// messageFile reads the stored file of a media message.
func (s *Service) messageFile(ctx context.Context, ch model.Channel, m model.Message) (model.MediaFile, []byte, error) {
	var obj struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(m.Content, &obj)
	if obj.ID == "" {
		return model.MediaFile{}, nil, fmt.Errorf("the file of message %s was never downloaded: %w", m.ID, model.ErrConflict)
	}
	f, data, err := s.Media(ctx, ch, obj.ID)
	if err != nil {
		return f, nil, fmt.Errorf("the file of message %s: %w", m.ID, err)
	}
	return f, data, nil
}

// MessageViews lists who received, read or played a message the channel
// sent (a story's viewers, a group's members); 404 for a message it does
// not have.
func (s *Service) MessageViews(ctx context.Context, ch model.Channel, id string) ([]store.MessageView, error) {
	m, err := s.Message(ctx, ch, id)
	if err != nil {
		return nil, err
	}
	if !m.FromMe {
		return nil, fmt.Errorf("message %s was not sent by the channel: only its own messages have views: %w", id, model.ErrForbidden)
	}
	views, err := s.store.MessageViews(ctx, ch.ID, id)
	if err != nil {
		return nil, err
	}
	if views == nil {
		views = []store.MessageView{}
	}
	return views, nil
}
