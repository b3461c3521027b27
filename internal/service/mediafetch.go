package service

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// Received files: a message shows its file's media ID and link at once;
// the file itself is fetched from WhatsApp when someone asks for it
// (GET /media/{MediaID}) or, for the kinds the channel's media.auto_download
// lists, right after the message arrived. The engine's reference to it is
// kept (media_refs) so that it can be fetched again after the 30-day cache
// dropped it; when WhatsApp's copy expired, the engine asks the sender's
// phone to upload it again.

const (
	// fetchTimeout bounds one fetch of a received file, a media retry
	// (up to a minute waiting for the sender's phone) included.
	fetchTimeout = 2 * time.Minute
	// mediaRefsKeep is how long the reference to a received file is kept.
	mediaRefsKeep = 90 * 24 * time.Hour
)

// inflight makes concurrent fetches of one file one download.
type inflight struct {
	mu sync.Mutex
	m  map[string]*fetchCall
}

type fetchCall struct {
	done chan struct{}
	f    model.MediaFile
	err  error
}

// receivedMedia records the reference of a received file and returns the
// record the message shows (not stored as a file yet), and whether the
// channel wants it fetched now. Files without a reference (an engine that
// gives bytes only) are stored at once, as before.
func (s *Service) receivedMedia(ctx context.Context, ch model.Channel, e engine.Message, c engine.Content) (*model.MediaFile, bool, error) {
	md := c.Media
	if !engine.IsMedia(c.Kind) || md == nil {
		return nil, false, nil
	}
	if md.Ref == "" {
		if md.Data == nil {
			return nil, md.Fetch != nil && s.autoDownloads(ctx, ch, c.Kind), nil
		}
		f, err := s.SaveMedia(ctx, ch, "", Upload{Data: md.Data, MimeType: md.MimeType, FileName: md.FileName})
		if err != nil {
			s.log.WarnContext(ctx, "could not store received media", "channel_id", ch.ID, "message_id", e.ID, "error", err)
			return nil, false, nil
		}
		return &f, false, nil
	}
	mt := md.MimeType
	if mt == "" {
		mt = "application/octet-stream"
	}
	ref, err := s.store.MediaRefOfMessage(ctx, ch.ID, e.ID)
	if errors.Is(err, store.ErrMediaRefNotFound) {
		ref = store.MediaRef{ChannelID: ch.ID, MediaID: mediaID(mt), MessageID: e.ID, ChatID: e.Chat, Sender: e.Sender,
			FromMe: e.FromMe, Kind: c.Kind, MimeType: mt, FileName: cleanFileName(md.FileName), Ref: md.Ref, CreatedAt: s.now()}
		err = s.store.PutMediaRef(ctx, ref)
	}
	if err != nil {
		return nil, false, err
	}
	f := &model.MediaFile{ChannelID: ch.ID, ID: ref.MediaID, MimeType: mt, FileName: ref.FileName, Size: md.Size,
		SHA256: hex.EncodeToString(md.SHA256)}
	return f, s.autoDownloads(ctx, ch, c.Kind), nil
}

func (s *Service) autoDownloads(ctx context.Context, ch model.Channel, kind string) bool {
	settings, err := s.ChannelSettings(ctx, ch)
	return err == nil && slices.Contains(settings.Media.AutoDownload, kind)
}

// fetchLater fetches a referenced received file off the event path
// (auto-download), bounded in concurrency.
func (s *Service) fetchLater(ch model.Channel, mediaID string, c engine.Content) {
	go func() {
		s.downloads <- struct{}{}
		defer func() { <-s.downloads }()
		ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		defer cancel()
		_, err := s.store.Media(ctx, ch.ID, mediaID)
		if errors.Is(err, store.ErrMediaNotFound) {
			if c.Media.Data != nil {
				_, err = s.saveReceived(ctx, ch, mediaID, c.Media.Data)
			} else {
				_, err = s.fetchReceived(ctx, ch, mediaID)
			}
		}
		if err != nil {
			s.log.Warn("could not download received media", "channel_id", ch.ID, "media_id", mediaID, "error", err)
		}
	}()
}

// fetchReceived downloads a received file through the channel's session
// and stores it under its media ID. A file gone from WhatsApp and the
// sender's phone is a 404 that says so.
func (s *Service) fetchReceived(ctx context.Context, ch model.Channel, mediaID string) (model.MediaFile, error) {
	key := ch.ID + "/" + mediaID
	s.fetching.mu.Lock()
	if s.fetching.m == nil {
		s.fetching.m = map[string]*fetchCall{}
	}
	if call := s.fetching.m[key]; call != nil {
		s.fetching.mu.Unlock()
		select {
		case <-call.done:
			return call.f, call.err
		case <-ctx.Done():
			return model.MediaFile{}, ctx.Err()
		}
	}
	call := &fetchCall{done: make(chan struct{})}
	s.fetching.m[key] = call
	s.fetching.mu.Unlock()
	defer func() {
		s.fetching.mu.Lock()
		delete(s.fetching.m, key)
		s.fetching.mu.Unlock()
		close(call.done)
	}()
	call.f, call.err = s.fetchReceivedOnce(context.WithoutCancel(ctx), ch, mediaID)
	return call.f, call.err
}

func (s *Service) fetchReceivedOnce(ctx context.Context, ch model.Channel, mediaID string) (model.MediaFile, error) {
	ref, err := s.store.MediaRef(ctx, ch.ID, mediaID)
	if err != nil {
		return model.MediaFile{}, err
	}
	if f, err := s.store.Media(ctx, ch.ID, mediaID); err == nil {
		return f, nil // fetched meanwhile
	}
	sess, err := s.session(ch)
	if err != nil {
		return model.MediaFile{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	data, err := sess.DownloadMedia(ctx, engine.MediaRequest{Ref: ref.Ref, MessageID: ref.MessageID, Chat: ref.ChatID,
		Sender: ref.Sender, FromMe: ref.FromMe})
	switch {
	case errors.Is(err, engine.ErrMediaGone):
		return model.MediaFile{}, fmt.Errorf("the file of message %s is gone: WhatsApp's copy expired and the sender's phone no longer has it (%v): %w",
			ref.MessageID, err, model.ErrNotFound)
	case errors.Is(err, engine.ErrInvalidContent):
		return model.MediaFile{}, fmt.Errorf("the file of message %s cannot be fetched: %v: %w", ref.MessageID, err, model.ErrUpstream)
	case err != nil:
		return model.MediaFile{}, s.actionError(ch, err)
	}
	return s.saveReceived(ctx, ch, mediaID, data)
}

// saveReceived stores a received file's bytes under its media ID.
func (s *Service) saveReceived(ctx context.Context, ch model.Channel, mediaID string, data []byte) (model.MediaFile, error) {
	ref, err := s.store.MediaRef(ctx, ch.ID, mediaID)
	if err != nil {
		return model.MediaFile{}, err
	}
	if int64(len(data)) > MaxMediaSize {
		return model.MediaFile{}, fmt.Errorf("the received file is %d bytes, over %d: %w", len(data), MaxMediaSize, model.ErrTooLarge)
	}
	f, err := s.saveAs(ctx, ch, mediaID, Upload{Data: data, MimeType: ref.MimeType, FileName: ref.FileName})
	if err != nil {
		return f, err
	}
	// Saved concurrently by another node or path: the row is the first's.
	if got, err := s.store.Media(ctx, ch.ID, mediaID); err == nil {
		return got, nil
	}
	return f, nil
}

// PruneMediaRefs drops the references of files received long ago.
func (s *Service) PruneMediaRefs(ctx context.Context) (int64, error) {
	return s.store.DeleteMediaRefsBefore(ctx, s.now().Add(-mediaRefsKeep))
}
