package engine

import "context"

// StatusBroadcast is the chat of status updates (Whapi's stories): posts
// an account shares with its contacts for 24 hours. Incoming posts are
// Message events with this Chat and the author as Sender.
const StatusBroadcast = "status@broadcast"

// StoryStyle is how a text story looks: colors as "#RRGGBB" or
// "#AARRGGBB", a font by Whapi's font_type name ("" for the defaults).
type StoryStyle struct {
	Background string
	TextColor  string
	Font       string
}

// StoryPost is a story to post: text, image, video, audio or voice
// content, shown to Audience (user JIDs) or, when empty, to the account's
// contacts, minus Exclude.
type StoryPost struct {
	Content  Content
	Style    StoryStyle
	Audience []string
	Exclude  []string
}

// Storyteller is a session that posts stories.
type Storyteller interface {
	// PostStory posts a story to status@broadcast.
	PostStory(ctx context.Context, p StoryPost) (SentMessage, error)
}
