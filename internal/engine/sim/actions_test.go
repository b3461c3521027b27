package sim_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/clock"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
)

const (
	dave    = "15551230004"
	erin    = "15551230005"
	unknown = "15559999999"
)

var groupFormat = regexp.MustCompile(`^120363[0-9]{12}@g\.us$`)

func jid(number string) string { return number + "@s.whatsapp.net" }

// until reads events until a T that match accepts comes.
func until[T engine.Event](t testing.TB, r *recorder, match func(T) bool) T {
	t.Helper()
	for {
		if v, ok := r.next(t).(T); ok && match(v) {
			return v
		}
	}
}

// msgID matches a Message by ID.
func msgID(id string) func(engine.Message) bool {
	return func(m engine.Message) bool { return m.ID == id }
}

// skip reads events until one of type T comes (receipts and the like that
// a test does not look at).
func skip[T engine.Event](t testing.TB, r *recorder) T {
	t.Helper()
	for {
		ev := r.next(t)
		if v, ok := ev.(T); ok {
			return v
		}
	}
}

// pair is two accounts with channels: alice (two devices: a, a2) and bob
// (b), on a fake clock.
type pair struct {
	n     *sim.Network
	clk   *clock.Fake
	a, a2 *chanSession
	b     *chanSession
}

func newPair(t *testing.T) *pair {
	clk := clock.NewFake(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	n := newNet(t, sim.Options{Now: clk.Now, QRFirst: time.Hour})
	addPhone(t, n, alice, "Alice")
	addPhone(t, n, bob, "Bob")
	p := &pair{n: n, clk: clk}
	p.a = link(t, n, "CHAN-A", alice)
	p.a2 = link(t, n, "CHAN-A2", alice)
	p.b = link(t, n, "CHAN-B", bob)
	return p
}

func png(n int) []byte {
	b := bytes.Repeat([]byte{0x42}, n)
	copy(b, "\x89PNG\r\n\x1a\n")
	return b
}

func TestSendEveryKind(t *testing.T) {
	p := newPair(t)
	data := png(300 << 10)
	sum := sha256.Sum256(data)
	sent := slices.Clone(data)
	jpeg := append([]byte{0xFF, 0xD8, 0xFF}, bytes.Repeat([]byte{7}, 100)...)
	cases := []struct {
		name string
		in   engine.Content
		want func(t *testing.T, got engine.Content)
	}{
		{"text", engine.Content{Text: "hello", QuotedID: "3EB0QUOTED", QuotedSender: jid(bob), Mentions: []string{jid(bob)}}, func(t *testing.T, got engine.Content) {
			wantEqual(t, "content", got, engine.Content{Kind: engine.KindText, Text: "hello", QuotedID: "3EB0QUOTED", QuotedSender: jid(bob), Mentions: []string{jid(bob)}})
		}},
		{"image", engine.Content{Kind: engine.KindImage, Text: "a caption", Media: &engine.Media{Data: sent, MimeType: "image/png", Width: 10, Height: 20}, ViewOnce: true}, func(t *testing.T, got engine.Content) {
			m := got.Media
			if m == nil || !bytes.Equal(m.Data, data) || !bytes.Equal(m.SHA256, sum[:]) || m.Size != int64(len(data)) || m.MimeType != "image/png" ||
				m.Width != 10 || m.Height != 20 || m.Fetch != nil || got.Text != "a caption" || !got.ViewOnce {
				t.Errorf("image %+v", got)
			}
		}},
		{"video", engine.Content{Kind: engine.KindVideo, Media: &engine.Media{Data: data, Seconds: 3}}, func(t *testing.T, got engine.Content) {
			if got.Media.MimeType != "video/mp4" || got.Media.Seconds != 3 || !bytes.Equal(got.Media.SHA256, sum[:]) {
				t.Errorf("video %+v", got.Media)
			}
		}},
		{"gif", engine.Content{Kind: engine.KindGIF, Media: &engine.Media{Data: data, MimeType: "image/gif"}}, func(t *testing.T, got engine.Content) {
			if got.Media.MimeType != "image/gif" {
				t.Errorf("gif %+v", got.Media)
			}
		}},
		{"audio", engine.Content{Kind: engine.KindAudio, Media: &engine.Media{Data: data}}, func(t *testing.T, got engine.Content) {
			if got.Media.MimeType != "audio/mpeg" {
				t.Errorf("audio %+v", got.Media)
			}
		}},
		{"voice", engine.Content{Kind: engine.KindVoice, Media: &engine.Media{Data: data}}, func(t *testing.T, got engine.Content) {
			if got.Media.MimeType != "audio/ogg; codecs=opus" {
				t.Errorf("voice %+v", got.Media)
			}
		}},
		{"document", engine.Content{Kind: engine.KindDocument, Text: "the report", Media: &engine.Media{Data: data, MimeType: "application/pdf", FileName: "report.pdf"}}, func(t *testing.T, got engine.Content) {
			if got.Media.FileName != "report.pdf" || got.Media.MimeType != "application/pdf" || !bytes.Equal(got.Media.Data, data) {
				t.Errorf("document %+v", got.Media)
			}
		}},
		{"sticker", engine.Content{Kind: engine.KindSticker, Media: &engine.Media{Data: data}}, func(t *testing.T, got engine.Content) {
			if got.Media.MimeType != "image/webp" {
				t.Errorf("sticker %+v", got.Media)
			}
		}},
		{"location", engine.Content{Kind: engine.KindLocation, Location: &engine.Location{Latitude: 52.52, Longitude: 13.405, Name: "Berlin", Address: "Mitte"}}, func(t *testing.T, got engine.Content) {
			wantEqual(t, "location", *got.Location, engine.Location{Latitude: 52.52, Longitude: 13.405, Name: "Berlin", Address: "Mitte"})
		}},
		{"contact", engine.Content{Kind: engine.KindContact, Contact: &engine.ContactCard{Name: "Carol"}}, func(t *testing.T, got engine.Content) {
			wantEqual(t, "contact", *got.Contact, engine.ContactCard{Name: "Carol", VCard: "BEGIN:VCARD\nVERSION:3.0\nFN:Carol\nEND:VCARD"})
		}},
		{"link_preview", engine.Content{Kind: engine.KindLinkPreview, Text: "see https://example.com", LinkPreview: &engine.LinkPreview{URL: "https://example.com", Title: "Example", Thumbnail: jpeg}}, func(t *testing.T, got engine.Content) {
			if got.LinkPreview.URL != "https://example.com" || got.LinkPreview.Title != "Example" || !bytes.Equal(got.LinkPreview.Thumbnail, jpeg) || got.Text != "see https://example.com" {
				t.Errorf("link preview %+v", got)
			}
		}},
		{"poll", engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "Lunch?", Options: []string{"yes", "no"}, Selectable: 1}}, func(t *testing.T, got engine.Content) {
			wantEqual(t, "poll", *got.Poll, engine.Poll{Title: "Lunch?", Options: []string{"yes", "no"}, Selectable: 1})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := val(p.a.s.Send(ctx, jid(bob), c.in)).get(t)
			if c.name == "image" {
				sent[0] ^= 0xFF // the caller's buffer changes after Send; the network has its own copy
			}
			m := next[engine.Message](t, p.b.ev)
			if m.ID != s.ID || m.Chat != jid(alice) || m.Sender != jid(alice) || m.FromMe || m.Text != m.Content.Text || !m.Time.Equal(s.Time) {
				t.Errorf("bob got %+v", m)
			}
			c.want(t, m.Content)
			echo := next[engine.Message](t, p.a2.ev)
			if echo.ID != s.ID || !echo.FromMe || echo.Chat != jid(bob) {
				t.Errorf("echo %+v", echo)
			}
			c.want(t, echo.Content)
			for _, d := range []*chanSession{p.a, p.a2} {
				if r := next[engine.Receipt](t, d.ev); r.Type != engine.ReceiptDelivered || r.IDs[0] != s.ID {
					t.Errorf("receipt %+v", r)
				}
			}
			in := val(p.n.Inbox(bob)).get(t)
			last := in[len(in)-1]
			if last.ID != s.ID || last.Content.Kind != m.Content.Kind || last.Body != m.Content.Text {
				t.Errorf("bob's inbox: %+v", last)
			}
			c.want(t, last.Content)
		})
	}

	// The phone sends media to the channel; the bytes arrive intact.
	pm := val(p.n.SendContent(bob, alice, engine.Content{Kind: engine.KindDocument, Media: &engine.Media{Data: data, FileName: "x.bin"}})).get(t)
	m := next[engine.Message](t, p.a.ev)
	if got := sha256.Sum256(m.Content.Media.Data); m.ID != pm.ID || got != sum || m.Content.Media.FileName != "x.bin" {
		t.Errorf("alice got %+v", m.Content.Media)
	}
	if got := sha256.Sum256(val(p.n.Inbox(alice)).get(t)[0].Content.Media.Data); got != sum {
		t.Error("alice's inbox lost the bytes")
	}

	// Media fetched by the session before sending.
	fetched := 0
	s := val(p.a.s.Send(ctx, jid(bob), engine.Content{Kind: engine.KindImage, Media: &engine.Media{Fetch: func(context.Context) ([]byte, error) {
		fetched++
		return data, nil
	}}})).get(t)
	if m := until(t, p.b.ev, msgID(s.ID)); !bytes.Equal(m.Content.Media.Data, data) || fetched != 1 {
		t.Errorf("fetched media: %d fetches, got %+v", fetched, m.Content.Media)
	}
	boom := errors.New("boom")
	_, err := p.a.s.Send(ctx, jid(bob), engine.Content{Kind: engine.KindImage, Media: &engine.Media{Fetch: func(context.Context) ([]byte, error) { return nil, boom }}})
	wantErr(t, err, boom, "fetching the media")

	// SendText is Send with a text.
	st := val(p.a.s.SendText(ctx, bob, "plain")).get(t)
	if m := until(t, p.b.ev, msgID(st.ID)); m.Content.Kind != engine.KindText || m.Text != "plain" {
		t.Errorf("SendText: %+v", m)
	}

	// Unknown recipients.
	_, err = p.a.s.Send(ctx, jid(unknown), engine.Content{Text: "x"})
	wantErr(t, err, engine.ErrNotOnWhatsApp, unknown)
	wantErr(t, err, sim.ErrNotOnWhatsApp)
	_, err = p.a.s.Send(ctx, "120363000000000001@g.us", engine.Content{Text: "x"})
	wantErr(t, err, engine.ErrGroupNotFound)
	_, err = p.a.s.Send(ctx, "x@broadcast", engine.Content{Text: "x"})
	wantErr(t, err, engine.ErrInvalidPhone)
}

func TestContentValidation(t *testing.T) {
	p := newPair(t)
	img := png(10)
	long := strings.Repeat("é", sim.MaxTextLen+1)
	for _, c := range []struct {
		name string
		in   engine.Content
		want error
		says string
	}{
		{"blank text", engine.Content{Text: " "}, sim.ErrInvalidText, "empty"},
		{"long text", engine.Content{Text: long}, sim.ErrInvalidText, "4096"},
		{"unknown kind", engine.Content{Kind: "hologram", Text: "x"}, sim.ErrInvalidContent, "hologram"},
		{"received only", engine.Content{Kind: engine.KindReaction}, sim.ErrInvalidContent, "only received"},
		{"reaction field", engine.Content{Text: "x", Reaction: &engine.Reaction{TargetID: "x"}}, sim.ErrInvalidContent, "React"},
		{"media on text", engine.Content{Text: "x", Media: &engine.Media{Data: img}}, sim.ErrInvalidContent, "no Media"},
		{"no media", engine.Content{Kind: engine.KindImage}, sim.ErrInvalidContent, "needs Media"},
		{"empty media", engine.Content{Kind: engine.KindImage, Media: &engine.Media{}}, sim.ErrInvalidContent, "no bytes"},
		{"too large", engine.Content{Kind: engine.KindDocument, Media: &engine.Media{Data: make([]byte, sim.MaxMediaSize+1)}}, sim.ErrTooLarge, "104857601"},
		{"wrong mime", engine.Content{Kind: engine.KindImage, Media: &engine.Media{Data: img, MimeType: "video/mp4"}}, sim.ErrInvalidContent, "video/mp4"},
		{"bad mime", engine.Content{Kind: engine.KindDocument, Media: &engine.Media{Data: img, MimeType: "pdf"}}, sim.ErrInvalidContent, "MIME"},
		{"long caption", engine.Content{Kind: engine.KindImage, Text: long, Media: &engine.Media{Data: img}}, sim.ErrInvalidText, "caption"},
		{"voice caption", engine.Content{Kind: engine.KindVoice, Text: "x", Media: &engine.Media{Data: img}}, sim.ErrInvalidContent, "no caption"},
		{"file name path", engine.Content{Kind: engine.KindDocument, Media: &engine.Media{Data: img, FileName: "../x"}}, sim.ErrInvalidContent, "path"},
		{"latitude", engine.Content{Kind: engine.KindLocation, Location: &engine.Location{Latitude: 91}}, sim.ErrInvalidContent, "latitude"},
		{"longitude", engine.Content{Kind: engine.KindLocation, Location: &engine.Location{Longitude: -181}}, sim.ErrInvalidContent, "longitude"},
		{"no location", engine.Content{Kind: engine.KindLocation}, sim.ErrInvalidContent, "needs Location"},
		{"contact name", engine.Content{Kind: engine.KindContact, Contact: &engine.ContactCard{Name: " "}}, sim.ErrInvalidContent, "contact name"},
		{"vcard", engine.Content{Kind: engine.KindContact, Contact: &engine.ContactCard{Name: "C", VCard: "hello"}}, sim.ErrInvalidContent, "BEGIN:VCARD"},
		{"preview url", engine.Content{Kind: engine.KindLinkPreview, Text: "x", LinkPreview: &engine.LinkPreview{URL: "ftp://x"}}, sim.ErrInvalidContent, "URL"},
		{"preview thumbnail", engine.Content{Kind: engine.KindLinkPreview, Text: "x", LinkPreview: &engine.LinkPreview{URL: "http://x", Thumbnail: make([]byte, sim.MaxPictureSize+1)}}, sim.ErrTooLarge, "thumbnail"},
		{"poll options", engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "Q", Options: []string{"a"}}}, sim.ErrInvalidContent, "2 to 12"},
		{"poll duplicate", engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "Q", Options: []string{"a", "a"}}}, sim.ErrInvalidContent, "twice"},
		{"poll selectable", engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "Q", Options: []string{"a", "b"}, Selectable: 3}}, sim.ErrInvalidContent, "Selectable"},
		{"mention", engine.Content{Text: "x", Mentions: []string{"nobody"}}, sim.ErrInvalidContent, "mention"},
		{"edit with media", engine.Content{Kind: engine.KindImage, EditedID: "x", Media: &engine.Media{Data: img}}, sim.ErrInvalidContent, "new text only"},
	} {
		_, err := p.a.s.Send(ctx, jid(bob), c.in)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: error %v, want %v saying %q", c.name, err, c.want, c.says)
		}
	}
	_, err := p.n.SendContent(bob, alice, engine.Content{Kind: engine.KindSticker})
	wantErr(t, err, sim.ErrInvalidContent)
	p.b.ev.none(t, 20*time.Millisecond)
	if in := val(p.n.Inbox(bob)).get(t); len(in) != 0 {
		t.Errorf("refused messages landed: %+v", in)
	}
}

func TestEditReactRevoke(t *testing.T) {
	p := newPair(t)
	s := val(p.a.s.Send(ctx, jid(bob), engine.Content{Text: "helo"})).get(t)
	skip[engine.Message](t, p.b.ev)
	skip[engine.Receipt](t, p.a2.ev)

	// Edit.
	e := val(p.a.s.Send(ctx, jid(bob), engine.Content{Text: "hello", EditedID: s.ID})).get(t)
	if e.ID == s.ID || e.Chat != jid(bob) {
		t.Errorf("edit sent as %+v", e)
	}
	m := next[engine.Message](t, p.b.ev)
	wantEqual(t, "edit", m, engine.Message{ID: e.ID, Chat: jid(alice), Sender: jid(alice), PushName: "Alice", Text: "hello", Time: e.Time,
		Content: engine.Content{Kind: engine.KindEdit, EditedID: s.ID, Text: "hello"}})
	if echo := next[engine.Message](t, p.a2.ev); echo.Content.Kind != engine.KindEdit || !echo.FromMe {
		t.Errorf("echo %+v", echo)
	}
	in := val(p.n.Inbox(bob)).get(t)
	if len(in) != 1 || in[0].Body != "hello" || !in[0].Edited || in[0].Content.Text != "hello" {
		t.Errorf("bob's inbox after the edit: %+v", in)
	}
	_, err := p.b.s.Send(ctx, jid(alice), engine.Content{Text: "mine now", EditedID: s.ID})
	wantErr(t, err, engine.ErrMessageUnknown, "not a message "+bob+" sent")
	_, err = p.a.s.Send(ctx, jid(bob), engine.Content{Text: "x", EditedID: "NOPE"})
	wantErr(t, err, engine.ErrMessageUnknown, "NOPE")
	p.clk.Advance(sim.EditWindow + time.Second)
	_, err = p.a.s.Send(ctx, jid(bob), engine.Content{Text: "too late", EditedID: s.ID})
	wantErr(t, err, sim.ErrTooLate)
	// A phone edits its own message.
	pm := val(p.n.SendFromPhone(bob, alice, "fisrt")).get(t)
	skip[engine.Message](t, p.a.ev)
	ed := val(p.n.SendContent(bob, alice, engine.Content{Text: "first", EditedID: pm.ID})).get(t)
	if ed.ID != pm.ID || !ed.Edited || ed.Body != "first" {
		t.Errorf("phone edit: %+v", ed)
	}
	if m := next[engine.Message](t, p.a.ev); m.Content.Kind != engine.KindEdit || m.Content.EditedID != pm.ID || m.Text != "first" {
		t.Errorf("alice got %+v", m)
	}
	loc := val(p.n.SendContent(bob, alice, engine.Content{Kind: engine.KindLocation, Location: &engine.Location{}})).get(t)
	skip[engine.Message](t, p.a.ev)
	_, err = p.n.SendContent(bob, alice, engine.Content{Text: "x", EditedID: loc.ID})
	wantErr(t, err, sim.ErrInvalidContent, "no text to edit")

	// React.
	noErr(t, p.b.s.React(ctx, jid(alice), jid(alice), s.ID, "👍"))
	m = skip[engine.Message](t, p.a.ev)
	if m.Content.Kind != engine.KindReaction || *m.Content.Reaction != (engine.Reaction{TargetID: s.ID, Emoji: "👍"}) || m.Sender != jid(bob) || m.ID == s.ID {
		t.Errorf("reaction %+v", m)
	}
	sentA := val(p.n.Sent(alice)).get(t)
	wantEqual(t, "reactions", sentA[0].Reactions, []sim.PhoneReaction{{From: bob, Emoji: "👍", Time: p.clk.Now()}})
	noErr(t, p.n.React(alice, s.ID, "❤️"))                // alice's phone reacts to its own message
	noErr(t, p.b.s.React(ctx, jid(alice), "", s.ID, "🎉")) // bob changes his
	if rs := val(p.n.Inbox(bob)).get(t)[0].Reactions; len(rs) != 2 || rs[0].From != alice || rs[1].Emoji != "🎉" {
		t.Errorf("reactions %+v", rs)
	}
	noErr(t, p.b.s.React(ctx, jid(alice), "", s.ID, ""))
	if rs := val(p.n.Inbox(bob)).get(t)[0].Reactions; len(rs) != 1 || rs[0].From != alice {
		t.Errorf("after removing: %+v", rs)
	}
	wantErr(t, p.b.s.React(ctx, jid(alice), "", "NOPE", "👍"), engine.ErrMessageUnknown)
	wantErr(t, p.b.s.React(ctx, jid(alice), jid(bob), s.ID, "👍"), engine.ErrMessageUnknown, "not sent by")
	wantErr(t, p.b.s.React(ctx, jid(alice), "", s.ID, "ok"), sim.ErrInvalidContent)
	wantErr(t, p.b.s.React(ctx, jid(alice), "", s.ID, "5"), sim.ErrInvalidContent)
	wantErr(t, p.n.React(bob, "NOPE", "👍"), engine.ErrMessageUnknown)
	addPhone(t, p.n, carol, "Carol")
	wantErr(t, p.n.React(carol, s.ID, "👍"), engine.ErrMessageUnknown) // not her message

	// Revoke.
	wantErr(t, p.b.s.Revoke(ctx, jid(alice), jid(alice), s.ID), engine.ErrMessageUnknown, "not a message")
	noErr(t, p.a.s.Revoke(ctx, jid(bob), "", s.ID))
	m = until(t, p.b.ev, func(m engine.Message) bool { return m.Content.Kind == engine.KindRevoke })
	if m.Content.RevokedID != s.ID || m.Sender != jid(alice) || m.Text != "" {
		t.Errorf("revoke %+v", m)
	}
	in = val(p.n.Inbox(bob)).get(t)
	if !in[0].Revoked || in[0].Body != "" || in[0].Content.Kind != engine.KindText || in[0].Reactions != nil {
		t.Errorf("revoked message on bob's phone: %+v", in[0])
	}
	noErr(t, p.a.s.Revoke(ctx, jid(bob), "", s.ID)) // again: nothing
	wantErr(t, p.b.s.React(ctx, jid(alice), "", s.ID, "👍"), engine.ErrMessageUnknown, "deleted")
	_, err = p.a.s.Send(ctx, jid(bob), engine.Content{Text: "x", EditedID: s.ID})
	wantErr(t, err, engine.ErrMessageUnknown)
	wantErr(t, p.a.s.Revoke(ctx, jid(bob), "", "NOPE"), engine.ErrMessageUnknown)
	p.clk.Advance(sim.RevokeWindow + time.Second)
	wantErr(t, p.n.Revoke(bob, pm.ID), sim.ErrTooLate, "60h0m0s")
	late := val(p.n.SendFromPhone(bob, alice, "new")).get(t)
	noErr(t, p.n.Revoke(bob, late.ID))
	until(t, p.a.ev, func(m engine.Message) bool { return m.Content.RevokedID == late.ID })
}

// trio is alice, bob and carol with one channel each, and dave with none.
func trio(t *testing.T) (*sim.Network, *clock.Fake, *chanSession, *chanSession, *chanSession) {
	clk := clock.NewFake(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	n := newNet(t, sim.Options{Now: clk.Now, QRFirst: time.Hour})
	addPhone(t, n, alice, "Alice")
	addPhone(t, n, bob, "Bob")
	addPhone(t, n, carol, "Carol")
	addPhone(t, n, dave, "Dave")
	return n, clk, link(t, n, "CHAN-A", alice), link(t, n, "CHAN-B", bob), link(t, n, "CHAN-C", carol)
}

func TestGroupLifecycle(t *testing.T) {
	n, clk, a, b, c := trio(t)
	all := []*chanSession{a, b, c}

	// Create: alice is super admin; the unknown number and the malformed one are left out.
	g := val(a.s.CreateGroup(ctx, "Team", []string{jid(bob), carol, "+" + dave, jid(unknown), "nope", jid(bob), jid(alice)})).get(t)
	if !groupFormat.MatchString(g.JID) {
		t.Errorf("group JID %q", g.JID)
	}
	want := engine.GroupInfo{JID: g.JID, Subject: "Team", Owner: jid(alice), Created: clk.Now(), Locked: true, Participants: []engine.Participant{
		{JID: jid(alice), Admin: true, SuperAdmin: true}, {JID: jid(bob)}, {JID: jid(carol)}, {JID: jid(dave)}}}
	wantEqual(t, "group", g, want)
	for _, s := range all {
		ch := next[engine.GroupChange](t, s.ev)
		wantEqual(t, "create", ch, engine.GroupChange{Group: g.JID, Actor: jid(alice), Action: "create", Subject: "Team",
			Participants: []string{jid(alice), jid(bob), jid(carol), jid(dave)}, Time: clk.Now()})
		wantEqual(t, "Group", val(s.s.Group(ctx, g.JID)).get(t), want)
		wantEqual(t, "Groups", val(s.s.Groups(ctx)).get(t), []engine.GroupInfo{want})
	}
	wantEqual(t, "network view", val(n.Group(g.JID)).get(t), want)
	wantEqual(t, "dave's groups", val(n.Groups(dave)).get(t), []engine.GroupInfo{want})

	// A message to the group reaches every member but the sending device.
	s := val(b.s.Send(ctx, g.JID, engine.Content{Text: "hi team"})).get(t)
	wantEqual(t, "chat", s.Chat, g.JID)
	for _, x := range []*chanSession{a, c} {
		m := next[engine.Message](t, x.ev)
		if m.ID != s.ID || m.Chat != g.JID || m.Sender != jid(bob) || m.PushName != "Bob" || m.FromMe {
			t.Errorf("%s got %+v", x.id, m)
		}
	}
	var delivered []string
	for range 3 {
		r := next[engine.Receipt](t, b.ev)
		if r.Chat != g.JID || r.Type != engine.ReceiptDelivered || r.IDs[0] != s.ID {
			t.Errorf("receipt %+v", r)
		}
		delivered = append(delivered, r.Sender)
	}
	wantEqual(t, "delivered by", delivered, []string{jid(alice), jid(carol), jid(dave)})
	for _, num := range []string{alice, carol, dave} {
		if in := val(n.Inbox(num)).get(t); len(in) != 1 || in[0].ID != s.ID || in[0].To != g.JID || in[0].From != bob {
			t.Errorf("%s's inbox: %+v", num, in)
		}
	}
	// Reads: a read receipt per member; the sender's list says read once all read.
	noErr(t, c.s.MarkRead(ctx, g.JID, jid(bob), []string{s.ID}))
	r := next[engine.Receipt](t, b.ev)
	wantEqual(t, "read", r, engine.Receipt{IDs: []string{s.ID}, Chat: g.JID, Sender: jid(carol), Type: engine.ReceiptRead, Time: clk.Now()})
	noErr(t, n.Read(dave, []string{s.ID}))
	next[engine.Receipt](t, b.ev)
	if st := val(n.Sent(bob)).get(t)[0].Status; st != sim.StatusDelivered {
		t.Errorf("sent status with one reader left: %s", st)
	}
	noErr(t, n.Read(alice, []string{s.ID}))
	next[engine.Receipt](t, b.ev)
	if st := val(n.Sent(bob)).get(t)[0].Status; st != sim.StatusRead {
		t.Errorf("sent status after all read: %s", st)
	}
	if st := val(n.Inbox(carol)).get(t)[0].Status; st != sim.StatusRead {
		t.Errorf("carol's status: %s", st)
	}
	// A phone writes to the group too; a reaction in the group reaches everyone.
	pm := val(n.SendContent(dave, g.JID, engine.Content{Kind: engine.KindImage, Media: &engine.Media{Data: png(64)}})).get(t)
	for _, x := range all {
		if m := next[engine.Message](t, x.ev); m.ID != pm.ID || m.Chat != g.JID || m.Content.Media == nil {
			t.Errorf("%s got %+v", x.id, m)
		}
	}
	noErr(t, a.s.React(ctx, g.JID, jid(dave), pm.ID, "😂"))
	for _, x := range []*chanSession{b, c} {
		if m := next[engine.Message](t, x.ev); m.Content.Kind != engine.KindReaction || m.Chat != g.JID || m.Sender != jid(alice) {
			t.Errorf("%s got %+v", x.id, m)
		}
	}
	// An admin deletes a member's message; a member cannot.
	wantErr(t, c.s.Revoke(ctx, g.JID, jid(dave), pm.ID), engine.ErrNotAdmin)
	noErr(t, a.s.Revoke(ctx, g.JID, jid(dave), pm.ID))
	for _, x := range []*chanSession{b, c} {
		if m := next[engine.Message](t, x.ev); m.Content.RevokedID != pm.ID {
			t.Errorf("%s got %+v", x.id, m)
		}
	}

	// Info: only admins of a locked group.
	wantErr(t, b.s.SetGroupSubject(ctx, g.JID, "Mine"), engine.ErrNotAdmin)
	wantErr(t, a.s.SetGroupSubject(ctx, g.JID, strings.Repeat("x", sim.MaxSubjectLen+1)), sim.ErrInvalidGroup, "100")
	wantErr(t, a.s.SetGroupSubject(ctx, g.JID, " "), sim.ErrInvalidGroup)
	wantErr(t, a.s.SetGroupDescription(ctx, g.JID, strings.Repeat("x", sim.MaxDescriptionLen+1)), sim.ErrInvalidGroup, "2048")
	wantErr(t, a.s.SetGroupPhoto(ctx, g.JID, []byte("GIF89a")), sim.ErrInvalidContent, "JPEG")
	wantErr(t, a.s.SetGroupPhoto(ctx, g.JID, make([]byte, sim.MaxPictureSize+1)), sim.ErrTooLarge)
	noErr(t, a.s.SetGroupSubject(ctx, g.JID, "Team 2"))
	noErr(t, a.s.SetGroupDescription(ctx, g.JID, "Line 1\nLine 2"))
	photo := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 100)...)
	noErr(t, a.s.SetGroupPhoto(ctx, g.JID, photo))
	for _, x := range all {
		wantEqual(t, "subject", next[engine.GroupChange](t, x.ev), engine.GroupChange{Group: g.JID, Actor: jid(alice), Action: "subject", Subject: "Team 2", Time: clk.Now()})
		wantEqual(t, "description", next[engine.GroupChange](t, x.ev), engine.GroupChange{Group: g.JID, Actor: jid(alice), Action: "description", Description: "Line 1\nLine 2", Time: clk.Now()})
		wantEqual(t, "picture", next[engine.GroupChange](t, x.ev), engine.GroupChange{Group: g.JID, Actor: jid(alice), Action: "picture", Time: clk.Now()})
	}
	if got := val(n.GroupPhoto(g.JID)).get(t); !bytes.Equal(got, photo) {
		t.Error("the photo was not kept")
	}
	noErr(t, a.s.SetGroupPhoto(ctx, g.JID, nil))
	if got := val(n.GroupPhoto(g.JID)).get(t); got != nil {
		t.Error("the photo was not removed")
	}
	for _, x := range all {
		next[engine.GroupChange](t, x.ev)
	}
	// Settings from the phone: unlocked, members edit; announce, only admins send.
	f, tr := false, true
	noErr(t, n.SetGroupSettings(alice, g.JID, sim.GroupSettings{Locked: &f, Announce: &tr}))
	for _, x := range all {
		if ch := next[engine.GroupChange](t, x.ev); ch.Action != "settings" || ch.Actor != jid(alice) {
			t.Errorf("settings %+v", ch)
		}
	}
	wantErr(t, n.SetGroupSettings(bob, g.JID, sim.GroupSettings{Locked: &tr}), engine.ErrNotAdmin)
	noErr(t, b.s.SetGroupDescription(ctx, g.JID, ""))
	for _, x := range all {
		next[engine.GroupChange](t, x.ev)
	}
	_, err := b.s.Send(ctx, g.JID, engine.Content{Text: "may I?"})
	wantErr(t, err, engine.ErrNotAdmin)
	if info := val(a.s.Group(ctx, g.JID)).get(t); info.Locked || !info.Announce || info.Subject != "Team 2" || info.Description != "" {
		t.Errorf("info %+v", info)
	}
	noErr(t, n.SetGroupSettings(alice, g.JID, sim.GroupSettings{Announce: &f}))
	for _, x := range all {
		next[engine.GroupChange](t, x.ev)
	}

	// Participants: per-user results and one event per action.
	addPhone(t, n, erin, "Erin")
	e := link(t, n, "CHAN-E", erin)
	_, err = b.s.UpdateParticipants(ctx, g.JID, []string{jid(erin)}, engine.ParticipantAdd)
	wantErr(t, err, engine.ErrNotAdmin)
	res := val(a.s.UpdateParticipants(ctx, g.JID, []string{jid(erin), jid(bob), jid(unknown), "bad", jid(erin)}, engine.ParticipantAdd)).get(t)
	wantEqual(t, "add", res, []engine.ParticipantResult{{JID: jid(erin)}, {JID: jid(bob), Error: "already a participant"},
		{JID: jid(unknown), Error: "not on WhatsApp"}, {JID: "bad", Error: "not a valid phone number"}})
	for _, x := range append(all, e) {
		wantEqual(t, "add event", next[engine.GroupChange](t, x.ev), engine.GroupChange{Group: g.JID, Actor: jid(alice), Action: "add", Participants: []string{jid(erin)}, Time: clk.Now()})
	}
	res = val(a.s.UpdateParticipants(ctx, g.JID, []string{jid(carol), jid(unknown), jid(alice)}, engine.ParticipantRemove)).get(t)
	wantEqual(t, "remove", res, []engine.ParticipantResult{{JID: jid(carol)}, {JID: jid(unknown), Error: "not on WhatsApp"},
		{JID: jid(alice), Error: "cannot remove yourself; leave the group instead"}})
	for _, x := range append(all, e) { // carol's channel hears it too, then nothing more
		if ch := next[engine.GroupChange](t, x.ev); ch.Action != "remove" || !slices.Equal(ch.Participants, []string{jid(carol)}) {
			t.Errorf("%s: %+v", x.id, ch)
		}
	}
	res = val(a.s.UpdateParticipants(ctx, g.JID, []string{jid(carol)}, engine.ParticipantRemove)).get(t)
	wantEqual(t, "remove again", res, []engine.ParticipantResult{{JID: jid(carol), Error: "not a participant"}})
	_, err = c.s.Group(ctx, g.JID)
	wantErr(t, err, engine.ErrGroupNotFound)
	_, err = c.s.Send(ctx, g.JID, engine.Content{Text: "still here?"})
	wantErr(t, err, engine.ErrGroupNotFound)
	res = val(a.s.UpdateParticipants(ctx, g.JID, []string{jid(bob), jid(carol)}, engine.ParticipantPromote)).get(t)
	wantEqual(t, "promote", res, []engine.ParticipantResult{{JID: jid(bob)}, {JID: jid(carol), Error: "not a participant"}})
	res = val(b.s.UpdateParticipants(ctx, g.JID, []string{jid(alice)}, engine.ParticipantDemote)).get(t)
	wantEqual(t, "demote the creator", res, []engine.ParticipantResult{{JID: jid(alice), Error: "the group creator cannot be removed or demoted"}})
	for _, x := range []*chanSession{a, b, e} {
		if ch := next[engine.GroupChange](t, x.ev); ch.Action != "promote" || ch.Participants[0] != jid(bob) {
			t.Errorf("%s: %+v", x.id, ch)
		}
	}
	_, err = a.s.UpdateParticipants(ctx, g.JID, nil, engine.ParticipantAdd)
	wantErr(t, err, sim.ErrInvalidGroup)
	_, err = a.s.UpdateParticipants(ctx, g.JID, []string{jid(bob)}, "ban")
	wantErr(t, err, sim.ErrInvalidGroup, "ban")
	res = val(n.UpdateParticipants(alice, g.JID, []string{bob}, engine.ParticipantDemote)).get(t)
	wantEqual(t, "phone demotes", res, []engine.ParticipantResult{{JID: jid(bob)}})
	for _, x := range []*chanSession{a, b, e} {
		next[engine.GroupChange](t, x.ev)
	}

	// Invites: admins only; reset revokes; joining by code.
	_, err = b.s.GroupInvite(ctx, g.JID, false)
	wantErr(t, err, engine.ErrNotAdmin)
	code := val(a.s.GroupInvite(ctx, g.JID, false)).get(t)
	if len(code) != 22 || val(a.s.GroupInvite(ctx, g.JID, false)).get(t) != code {
		t.Errorf("invite code %q", code)
	}
	code2 := val(a.s.GroupInvite(ctx, g.JID, true)).get(t)
	_, err = c.s.GroupByInvite(ctx, code)
	wantErr(t, err, engine.ErrInviteNotFound)
	if info := val(c.s.GroupByInvite(ctx, "https://chat.whatsapp.com/"+code2)).get(t); info.JID != g.JID || info.Subject != "Team 2" {
		t.Errorf("preview %+v", info)
	}
	wantEqual(t, "joined", val(c.s.JoinGroup(ctx, code2)).get(t), g.JID)
	for _, x := range []*chanSession{a, b, c, e} {
		wantEqual(t, "join", next[engine.GroupChange](t, x.ev), engine.GroupChange{Group: g.JID, Actor: jid(carol), Action: "join", Participants: []string{jid(carol)}, Time: clk.Now()})
	}
	wantEqual(t, "joined again", val(c.s.JoinGroup(ctx, code2)).get(t), g.JID) // a member already: no event
	_, err = c.s.JoinGroup(ctx, "nope")
	wantErr(t, err, engine.ErrInviteNotFound)

	// Leaving: the last admin leaves, the oldest member becomes admin.
	noErr(t, a.s.LeaveGroup(ctx, g.JID))
	for _, x := range []*chanSession{a, b, c, e} {
		wantEqual(t, "leave", next[engine.GroupChange](t, x.ev), engine.GroupChange{Group: g.JID, Actor: jid(alice), Action: "leave", Participants: []string{jid(alice)}, Time: clk.Now()})
	}
	for _, x := range []*chanSession{b, c, e} {
		wantEqual(t, "auto promote", next[engine.GroupChange](t, x.ev), engine.GroupChange{Group: g.JID, Action: "promote", Participants: []string{jid(bob)}, Time: clk.Now()})
	}
	wantErr(t, a.s.LeaveGroup(ctx, g.JID), engine.ErrGroupNotFound)
	if gs := val(a.s.Groups(ctx)).get(t); len(gs) != 0 {
		t.Errorf("alice still in %+v", gs)
	}
	for _, num := range []string{bob, carol, dave, erin} {
		noErr(t, n.LeaveGroup(num, g.JID))
	}
	_, err = n.Group(g.JID)
	wantErr(t, err, engine.ErrGroupNotFound)
	_, err = c.s.GroupByInvite(ctx, code2)
	wantErr(t, err, engine.ErrInviteNotFound)
	a.ev.none(t, 20*time.Millisecond)

	// Bounds and errors.
	_, err = a.s.CreateGroup(ctx, " ", nil)
	wantErr(t, err, sim.ErrInvalidGroup, "blank")
	_, err = a.s.CreateGroup(ctx, "a\nb", nil)
	wantErr(t, err, sim.ErrInvalidGroup, "control")
	_, err = a.s.CreateGroup(ctx, "Big", make([]string, sim.MaxGroupSize))
	wantErr(t, err, sim.ErrInvalidGroup, "1024")
	_, err = a.s.Group(ctx, "not a group")
	wantErr(t, err, engine.ErrGroupNotFound)
	wantErr(t, a.s.SetGroupSubject(ctx, "120363000000000000@g.us", "x"), engine.ErrGroupNotFound)
	_, _, err = n.CreateGroup(unknown, "x", nil)
	wantErr(t, err, sim.ErrPhoneNotFound)
	solo, results, err := n.CreateGroup(dave, "Solo", []string{alice, unknown})
	noErr(t, err)
	wantEqual(t, "phone create results", results, []engine.ParticipantResult{{JID: jid(alice)}, {JID: jid(unknown), Error: "not on WhatsApp"}})
	if len(solo.Participants) != 2 || solo.Owner != jid(dave) {
		t.Errorf("phone's group %+v", solo)
	}
	if ch := next[engine.GroupChange](t, a.ev); ch.Action != "create" || ch.Actor != jid(dave) || ch.Group != solo.JID {
		t.Errorf("alice got %+v", ch)
	}
}

func TestGroupFull(t *testing.T) {
	n := newNet(t, sim.Options{QRFirst: time.Hour})
	addPhone(t, n, alice, "Alice")
	addPhone(t, n, bob, "Bob")
	others := make([]string, sim.MaxGroupSize-1)
	for i := range others {
		others[i] = number(i)
		addPhone(t, n, others[i], "")
	}
	a := link(t, n, "CHAN-A", alice)
	b := link(t, n, "CHAN-B", bob)
	g := val(a.s.CreateGroup(ctx, "Full", others)).get(t)
	if len(g.Participants) != sim.MaxGroupSize {
		t.Fatalf("%d participants", len(g.Participants))
	}
	res := val(a.s.UpdateParticipants(ctx, g.JID, []string{jid(bob)}, engine.ParticipantAdd)).get(t)
	wantEqual(t, "full", res, []engine.ParticipantResult{{JID: jid(bob), Error: "the group is full"}})
	code := val(a.s.GroupInvite(ctx, g.JID, false)).get(t)
	_, err := b.s.JoinGroup(ctx, code)
	wantErr(t, err, sim.ErrGroupFull)
	// A message reaches all 1023 other inboxes.
	val(a.s.Send(ctx, g.JID, engine.Content{Text: "all hands"})).get(t)
	if in := val(n.Inbox(others[len(others)-1])).get(t); len(in) != 1 {
		t.Errorf("last member's inbox: %+v", in)
	}
}

func TestGroupEventsQueueForOfflineDevices(t *testing.T) {
	n, _, a, b, _ := trio(t)
	b.s.Disconnect()
	g := val(a.s.CreateGroup(ctx, "Later", []string{jid(bob)})).get(t)
	s := val(a.s.Send(ctx, g.JID, engine.Content{Text: "while you were away"})).get(t)
	noErr(t, a.s.SendChatPresence(ctx, g.JID, engine.PresenceTyping)) // not queued
	b.ev.none(t, 20*time.Millisecond)
	noErr(t, b.s.Connect(ctx))
	next[engine.Connected](t, b.ev)
	if ch := next[engine.GroupChange](t, b.ev); ch.Action != "create" || ch.Group != g.JID {
		t.Errorf("queued %+v", ch)
	}
	if m := next[engine.Message](t, b.ev); m.ID != s.ID {
		t.Errorf("queued %+v", m)
	}
	b.ev.none(t, 20*time.Millisecond)
	_ = n
}

func TestPresence(t *testing.T) {
	n, clk, a, b, c := trio(t)
	g := val(a.s.CreateGroup(ctx, "G", []string{bob, carol})).get(t)
	for _, x := range []*chanSession{a, b, c} {
		next[engine.GroupChange](t, x.ev)
	}

	// Subscribing gives the current presence, then its changes.
	noErr(t, a.s.SubscribePresence(ctx, jid(bob)))
	wantEqual(t, "initial", next[engine.Presence](t, a.ev), engine.Presence{Chat: jid(bob), User: jid(bob), State: engine.PresenceOffline})
	noErr(t, b.s.SetPresence(ctx, true))
	wantEqual(t, "online", next[engine.Presence](t, a.ev), engine.Presence{Chat: jid(bob), User: jid(bob), State: engine.PresenceOnline})
	noErr(t, b.s.SetPresence(ctx, true)) // no change, no event
	clk.Advance(time.Minute)
	noErr(t, n.SetPresence(bob, false))
	wantEqual(t, "offline", next[engine.Presence](t, a.ev), engine.Presence{Chat: jid(bob), User: jid(bob), State: engine.PresenceOffline, LastSeen: clk.Now()})
	c.ev.none(t, 20*time.Millisecond) // carol did not subscribe
	b.ev.none(t, 0)

	// Chat states reach the chat's other members.
	noErr(t, a.s.SendChatPresence(ctx, jid(bob), engine.PresenceTyping))
	wantEqual(t, "typing", next[engine.Presence](t, b.ev), engine.Presence{Chat: jid(alice), User: jid(alice), State: engine.PresenceTyping})
	noErr(t, n.SendChatPresence(bob, g.JID, engine.PresenceRecording))
	for _, x := range []*chanSession{a, c} {
		wantEqual(t, "recording", next[engine.Presence](t, x.ev), engine.Presence{Chat: g.JID, User: jid(bob), State: engine.PresenceRecording})
	}
	noErr(t, c.s.SendChatPresence(ctx, g.JID, engine.PresencePaused))
	for _, x := range []*chanSession{a, b} {
		if p := next[engine.Presence](t, x.ev); p.State != engine.PresencePaused || p.User != jid(carol) {
			t.Errorf("%s: %+v", x.id, p)
		}
	}
	c.ev.none(t, 20*time.Millisecond)
	wantErr(t, a.s.SendChatPresence(ctx, jid(bob), engine.PresenceOnline), sim.ErrInvalidContent)
	wantErr(t, a.s.SendChatPresence(ctx, jid(unknown), engine.PresenceTyping), engine.ErrNotOnWhatsApp)
	wantErr(t, a.s.SendChatPresence(ctx, "120363000000000000@g.us", engine.PresenceTyping), engine.ErrGroupNotFound)
	wantErr(t, a.s.SubscribePresence(ctx, jid(unknown)), engine.ErrNotOnWhatsApp)
	wantErr(t, a.s.SubscribePresence(ctx, g.JID), engine.ErrInvalidPhone)
	wantErr(t, n.SetPresence(unknown, true), sim.ErrPhoneNotFound)
	wantErr(t, n.SendChatPresence(bob, alice, "dancing"), sim.ErrInvalidContent)

	// A subscription lasts one connection.
	a.s.Disconnect()
	noErr(t, b.s.SetPresence(ctx, true)) // alice is offline: not queued
	noErr(t, a.s.Connect(ctx))
	next[engine.Connected](t, a.ev)
	noErr(t, b.s.SetPresence(ctx, false))
	a.ev.none(t, 20*time.Millisecond)
}

func TestCheckNumbersAndProfile(t *testing.T) {
	p := newPair(t)
	about := "Hey there"
	noErr(t, p.b.s.SetProfile(ctx, engine.ProfileUpdate{About: &about}))
	got := val(p.a.s.CheckNumbers(ctx, []string{bob, "+" + alice, unknown, "nope", jid(bob)})).get(t)
	wantEqual(t, "checks", got, []engine.NumberCheck{{Input: bob, JID: jid(bob), Exists: true}, {Input: "+" + alice, JID: jid(alice), Exists: true},
		{Input: unknown}, {Input: "nope"}, {Input: jid(bob), JID: jid(bob), Exists: true}})
	wantEqual(t, "profile", val(p.a.s.UserProfile(ctx, jid(bob))).get(t), engine.Profile{Name: "Bob", About: "Hey there"})
	_, err := p.a.s.UserProfile(ctx, jid(unknown))
	wantErr(t, err, engine.ErrNotOnWhatsApp)
	_, err = p.a.s.UserProfile(ctx, "120363000000000000@g.us")
	wantErr(t, err, engine.ErrInvalidPhone)
}

// TestActorNeedsAConnection: every Actor method answers ErrNotLinked
// unlinked and ErrNotConnected offline, and nothing reaches anyone.
func TestActorNeedsAConnection(t *testing.T) {
	p := newPair(t)
	g := val(p.a.s.CreateGroup(ctx, "G", []string{bob})).get(t)
	calls := map[string]func(s engine.Session) error{
		"Send": func(s engine.Session) error {
			_, err := s.Send(ctx, jid(bob), engine.Content{Text: "x"})
			return err
		},
		"React":             func(s engine.Session) error { return s.React(ctx, jid(bob), "", "X", "👍") },
		"Revoke":            func(s engine.Session) error { return s.Revoke(ctx, jid(bob), "", "X") },
		"SetPresence":       func(s engine.Session) error { return s.SetPresence(ctx, true) },
		"SendChatPresence":  func(s engine.Session) error { return s.SendChatPresence(ctx, jid(bob), engine.PresenceTyping) },
		"SubscribePresence": func(s engine.Session) error { return s.SubscribePresence(ctx, jid(bob)) },
		"CheckNumbers": func(s engine.Session) error {
			_, err := s.CheckNumbers(ctx, []string{bob})
			return err
		},
		"UserProfile": func(s engine.Session) error {
			_, err := s.UserProfile(ctx, jid(bob))
			return err
		},
		"CreateGroup": func(s engine.Session) error {
			_, err := s.CreateGroup(ctx, "x", nil)
			return err
		},
		"Groups": func(s engine.Session) error {
			_, err := s.Groups(ctx)
			return err
		},
		"Group": func(s engine.Session) error {
			_, err := s.Group(ctx, g.JID)
			return err
		},
		"SetGroupSubject":     func(s engine.Session) error { return s.SetGroupSubject(ctx, g.JID, "x") },
		"SetGroupDescription": func(s engine.Session) error { return s.SetGroupDescription(ctx, g.JID, "x") },
		"SetGroupPhoto":       func(s engine.Session) error { return s.SetGroupPhoto(ctx, g.JID, nil) },
		"UpdateParticipants": func(s engine.Session) error {
			_, err := s.UpdateParticipants(ctx, g.JID, []string{jid(bob)}, engine.ParticipantPromote)
			return err
		},
		"LeaveGroup": func(s engine.Session) error { return s.LeaveGroup(ctx, g.JID) },
		"GroupInvite": func(s engine.Session) error {
			_, err := s.GroupInvite(ctx, g.JID, false)
			return err
		},
		"GroupByInvite": func(s engine.Session) error {
			_, err := s.GroupByInvite(ctx, "x")
			return err
		},
		"JoinGroup": func(s engine.Session) error {
			_, err := s.JoinGroup(ctx, "x")
			return err
		},
	}
	p.a.s.Disconnect()
	unlinked := open(t, p.n, "CHAN-X", "")
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for name, call := range calls {
		if err := call(p.a.s); !errors.Is(err, engine.ErrNotConnected) {
			t.Errorf("%s offline: %v", name, err)
		}
		if err := call(unlinked.s); !errors.Is(err, engine.ErrNotLinked) {
			t.Errorf("%s unlinked: %v", name, err)
		}
	}
	noErr(t, p.a.s.Close())
	wantErr(t, calls["Send"](p.a.s), sim.ErrClosed)
	_, err := p.a2.s.Send(canceled, jid(bob), engine.Content{Text: "x"})
	wantErr(t, err, context.Canceled)
	p.b.ev.next(t) // the create
	p.b.ev.none(t, 20*time.Millisecond)
}

func TestMessageLimits(t *testing.T) {
	n := newNet(t, sim.Options{MaxMessages: 2, QRFirst: time.Hour})
	addPhone(t, n, alice, "Alice")
	addPhone(t, n, bob, "Bob")
	addPhone(t, n, carol, "Carol")
	a := link(t, n, "CHAN-A", alice)
	var ids []string
	for _, body := range []string{"one", "two", "three"} {
		ids = append(ids, val(a.s.SendText(ctx, bob, body)).get(t).ID)
	}
	if in := val(n.Inbox(bob)).get(t); len(in) != 2 || in[0].ID != ids[1] {
		t.Errorf("bob's inbox: %+v", in)
	}
	wantErr(t, n.Read(bob, ids[:1]), sim.ErrMessageNotFound)
	// Gone from the inbox and the sent list: gone from the network.
	wantErr(t, a.s.React(ctx, jid(bob), "", ids[0], "👍"), engine.ErrMessageUnknown)
	noErr(t, a.s.React(ctx, jid(bob), "", ids[2], "👍"))

	// A group message leaves each inbox on its own.
	g := val(a.s.CreateGroup(ctx, "G", []string{bob, carol})).get(t)
	first := val(a.s.Send(ctx, g.JID, engine.Content{Text: "g1"})).get(t)
	val(n.SendFromPhone(carol, bob, "to bob")).get(t)
	noErr(t, n.Read(carol, []string{first.ID}))
	val(a.s.Send(ctx, g.JID, engine.Content{Text: "g2"})).get(t) // bob's inbox drops g1, carol's keeps it
	wantErr(t, n.Read(bob, []string{first.ID}), sim.ErrMessageNotFound)
	if in := val(n.Inbox(carol)).get(t); len(in) != 2 || in[0].ID != first.ID || in[0].Status != sim.StatusRead {
		t.Errorf("carol's inbox: %+v", in)
	}
	noErr(t, n.React(carol, first.ID, "🙂"))
}

// TestActionsConcurrently: members of a group send, react, type and change
// the group at once; every member device gets every message once, in the
// order each sender sent them, and callbacks may call into the network.
func TestActionsConcurrently(t *testing.T) {
	const members, msgs = 6, 30
	n := newNet(t, sim.Options{QRFirst: time.Hour})
	type member struct {
		s      *chanSession
		number string
	}
	var ms []member
	for i := range members {
		addPhone(t, n, number(i), "")
		ms = append(ms, member{link(t, n, "CHAN-"+number(i), number(i)), number(i)})
	}
	others := make([]string, 0, members-1)
	for _, m := range ms[1:] {
		others = append(others, m.number)
	}
	g := val(ms[0].s.s.CreateGroup(ctx, "Busy", others)).get(t)
	noErr(t, n.SetGroupSettings(ms[0].number, g.JID, sim.GroupSettings{Locked: new(bool)}))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() {
			for k := range msgs {
				s, err := m.s.s.Send(ctx, g.JID, engine.Content{Text: fmt.Sprintf("%d/%d", i, k)})
				if err != nil {
					t.Error(err)
					return
				}
				_ = m.s.s.React(ctx, g.JID, "", s.ID, "👍")
				_ = m.s.s.SendChatPresence(ctx, g.JID, engine.PresenceTyping)
				if k%10 == 0 {
					_ = m.s.s.SetGroupSubject(ctx, g.JID, fmt.Sprintf("by %d", i))
					_, _ = n.Groups(m.number)
				}
			}
		})
	}
	wg.Wait()
	for i, m := range ms {
		got := map[int]int{} // sender → next k expected
		for {
			ev := until(t, m.s.ev, func(e engine.Message) bool { return e.Content.Kind == engine.KindText && e.Chat == g.JID })
			var from, k int
			if _, err := fmt.Sscanf(ev.Text, "%d/%d", &from, &k); err != nil {
				t.Fatal(err)
			}
			if from == i {
				t.Fatalf("member %d got its own message", i)
			}
			if got[from] != k {
				t.Fatalf("member %d: message %d of %d, want %d", i, k, from, got[from])
			}
			got[from]++
			if len(got) == members-1 && func() bool {
				for _, v := range got {
					if v != msgs {
						return false
					}
				}
				return true
			}() {
				break
			}
		}
	}
}
