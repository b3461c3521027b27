package service

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// The capabilities' errors map to the API's: their own to 404, an
// engine's reasoned "not possible" to 501 with its reason.
func TestCapError(t *testing.T) {
	s := &Service{}
	for _, c := range []struct {
		err    error
		want   error
		phrase string
	}{
		{fmt.Errorf("x: %w", engine.ErrNewsletterNotFound), model.ErrNotFound, "newsletter not found"},
		{fmt.Errorf("%w: 1 has no admin invitation", engine.ErrNoNewsletterAdmin), model.ErrNotFound, "has no admin invitation"},
		{fmt.Errorf("%w: a group, not a community", engine.ErrNotCommunity), model.ErrNotFound, "not a community"},
		{fmt.Errorf("deleting a newsletter is not possible on the whatsmeow engine: %w", engine.ErrUnsupported), model.ErrNotImplemented,
			"deleting a newsletter is not possible"},
	} {
		got := s.capError(model.Channel{}, c.err)
		if !errors.Is(got, c.want) || !strings.Contains(got.Error(), c.phrase) || strings.Contains(got.Error(), "engine: not supported") {
			t.Errorf("capError(%v) = %v, want %v with %q", c.err, got, c.want, c.phrase)
		}
	}
	if err := s.capError(model.Channel{}, nil); err != nil {
		t.Errorf("capError(nil) = %v", err)
	}
}

// Story requests are checked before anything is posted.
func TestCheckStory(t *testing.T) {
	for _, c := range []struct {
		r     StoryRequest
		field string
	}{
		{StoryRequest{Kind: StoryText}, "caption"},
		{StoryRequest{Kind: StoryText, Caption: "x", Media: "https://x.example/a.png"}, "media"},
		{StoryRequest{Kind: StoryMedia}, "media"},
		{StoryRequest{Caption: "x", Background: "#12"}, "background_color"},
		{StoryRequest{Caption: "x", CaptionColor: "blue"}, "caption_color"},
		{StoryRequest{Caption: "x", Font: "COMIC"}, "font_type"},
		{StoryRequest{Caption: "x", Contacts: []string{"12"}}, "contacts[0]"},
		{StoryRequest{Caption: "x", Exclude: []string{"120363000000000001@g.us"}}, "exclude_contacts[0]"},
	} {
		_, err := checkStory(c.r)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("checkStory(%+v) = %v, want a 400 naming %s", c.r, err, c.field)
		}
	}
	p, err := checkStory(StoryRequest{Caption: "hello", Contacts: []string{"+1 555 000 1111"}, Background: "#FF000000", Font: "SYSTEM"})
	if err != nil || p.Content.Kind != engine.KindText || p.Audience[0] != "15550001111@s.whatsapp.net" || p.Style.Font != "SYSTEM" {
		t.Errorf("checkStory = %+v, %v", p, err)
	}
	for mt, want := range map[string]string{"image/png": engine.KindImage, "video/mp4": engine.KindVideo, "audio/ogg; codecs=opus": engine.KindVoice} {
		if k, err := storyKind(StoryAny, mt); err != nil || k != want {
			t.Errorf("storyKind(%s) = %s, %v", mt, k, err)
		}
	}
	if _, err := storyKind(StoryMedia, "audio/ogg"); !errors.Is(err, model.ErrUnsupportedMedia) {
		t.Errorf("audio as a media story: %v", err)
	}
	if _, err := storyKind(StoryAudio, "image/png"); !errors.Is(err, model.ErrUnsupportedMedia) {
		t.Errorf("a picture as an audio story: %v", err)
	}
}

// IDs of newsletters and their invite codes.
func TestNewsletterIDs(t *testing.T) {
	if id, err := NewsletterID("120363000000000001"); err != nil || id != "120363000000000001@newsletter" {
		t.Errorf("NewsletterID = %s, %v", id, err)
	}
	for _, bad := range []string{"", "12@newsletter", "abc@newsletter", "120363000000000001@g.us"} {
		if _, err := NewsletterID(bad); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("NewsletterID(%q) = %v, want 404", bad, err)
		}
	}
	if code, err := NewsletterInvite("code", "https://whatsapp.com/channel/0029VaABCDEFGHIJKLMNOPQ1"); err != nil || code != "0029VaABCDEFGHIJKLMNOPQ1" {
		t.Errorf("NewsletterInvite = %s, %v", code, err)
	}
	if _, err := NewsletterInvite("code", "short"); err == nil {
		t.Error("a short invite code was taken")
	}
	if jid, err := ChatID("to", "120363000000000001@newsletter"); err != nil || jid != "120363000000000001@newsletter" {
		t.Errorf("ChatID of a newsletter = %s, %v", jid, err)
	}
	if _, err := UserID("user", "120363000000000001@newsletter"); err == nil {
		t.Error("a newsletter was taken as a user")
	}
}
