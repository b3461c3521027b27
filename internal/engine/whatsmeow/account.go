package whatsmeow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/internal/engine"
)

// The linked account: who it is, its profile, read receipts, and received
// files.

// Linked reports whether the session has a device.
func (s *Session) Linked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.device != ""
}

// Self is the linked account: the phone number of the device JID and the
// push name (the business name until the push name is known).
func (s *Session) Self() engine.Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.account
}

// Device is the linked device JID (as in Linked.Device), "" when unlinked.
func (s *Session) Device() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.device
}

// online returns the client and own JID of a linked, logged-in session.
func (s *Session) online() (*wm.Client, types.JID, engine.Account, error) {
	s.mu.Lock()
	device, cli, acc := s.device, s.cli, s.account
	s.mu.Unlock()
	if device == "" {
		return nil, types.JID{}, acc, engine.ErrNotLinked
	}
	jid, err := parseDevice(device)
	if err != nil {
		return nil, types.JID{}, acc, err
	}
	if !cli.IsConnected() || !cli.IsLoggedIn() {
		return nil, types.JID{}, acc, engine.ErrNotConnected
	}
	return cli.Client, jid.ToNonAD(), acc, nil
}

// Profile reads the account's push name (from the store), about text (user
// info status) and profile picture URL ("" when none or hidden).
func (s *Session) Profile(ctx context.Context) (engine.Profile, error) {
	cli, own, acc, err := s.online()
	if err != nil {
		return engine.Profile{}, err
	}
	p := engine.Profile{Name: acc.Name}
	info, err := cli.GetUserInfo(ctx, []types.JID{own})
	if err != nil {
		return engine.Profile{}, fmt.Errorf("whatsmeow: user info: %w", mapSendErr(err))
	}
	p.About = info[own].Status
	pic, err := cli.GetProfilePictureInfo(ctx, own, nil)
	switch {
	case errors.Is(err, wm.ErrProfilePictureNotSet), errors.Is(err, wm.ErrProfilePictureUnauthorized):
	case err != nil:
		return engine.Profile{}, fmt.Errorf("whatsmeow: profile picture: %w", mapSendErr(err))
	case pic != nil:
		p.Picture = pic.URL
	}
	return p, nil
}

// SetProfile sets the about text (SetStatusMessage) and the push name (an
// app-state patch, as WhatsApp Web does; it needs the app-state keys the
// phone shares after linking, so it can fail right after pairing).
func (s *Session) SetProfile(ctx context.Context, u engine.ProfileUpdate) error {
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if u.Name != nil {
		name := strings.TrimSpace(*u.Name)
		if name == "" {
			return errors.New("whatsmeow: empty profile name")
		}
		if err := cli.SendAppState(ctx, appstate.BuildSettingPushName(name)); err != nil {
			return fmt.Errorf("whatsmeow: set name: %w", mapSendErr(err))
		}
		s.mu.Lock()
		if s.device != "" {
			s.account.Name = name
		}
		s.mu.Unlock()
	}
	if u.About != nil {
		if err := cli.SetStatusMessage(ctx, *u.About); err != nil {
			return fmt.Errorf("whatsmeow: set about: %w", mapSendErr(err))
		}
	}
	return nil
}

// SendText sends a text message. to is a phone number (digits) or a JID.
func (s *Session) SendText(ctx context.Context, to, text string) (engine.SentMessage, error) {
	return s.Send(ctx, to, engine.Content{Kind: engine.KindText, Text: text})
}

// MarkRead sends read receipts for messages of one sender in a chat
// (sender is needed in groups, "" in one-to-one chats).
func (s *Session) MarkRead(ctx context.Context, chat, sender string, ids []string) error {
	if len(ids) == 0 {
		return errors.New("whatsmeow: no message IDs")
	}
	c, err := parseChat(chat)
	if err != nil {
		return err
	}
	from, err := parseUser(sender)
	if err != nil {
		return err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return err
	}
	if err := cli.MarkRead(ctx, ids, time.Now(), c, from); err != nil {
		return fmt.Errorf("whatsmeow: mark read: %w", mapSendErr(err))
	}
	return nil
}

// fetcher is the session's fetcher: received files are downloaded later,
// by whichever client the session has then.
func (s *Session) fetcher(msg wm.DownloadableMessage) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) { return s.download(ctx, msg) }
}

// download downloads and decrypts a received file. A file with a URL is
// fetched from it (no WhatsApp connection needed); one with only a direct
// path needs the connection, to ask WhatsApp for a media host. It must not
// run in the Events callback: whatsmeow's answers arrive on the goroutine
// that callback runs on. A file WhatsApp no longer has is
// engine.ErrMessageUnknown.
func (s *Session) download(ctx context.Context, msg wm.DownloadableMessage) (data []byte, err error) {
	s.mu.Lock()
	cli, closed := s.cli, s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("whatsmeow: download: %v", r)
		}
	}()
	data, err = cli.Download(ctx, msg)
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, wm.ErrMediaDownloadFailedWith404), errors.Is(err, wm.ErrMediaDownloadFailedWith410),
		errors.Is(err, wm.ErrMediaDownloadFailedWith403), errors.Is(err, wm.ErrNoURLPresent):
		return nil, fmt.Errorf("whatsmeow: download: the file is no longer on WhatsApp's servers: %w: %w", engine.ErrMessageUnknown, err)
	}
	return nil, fmt.Errorf("whatsmeow: download: %w", mapSendErr(err))
}
