package whatsmeow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waMmsRetry"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/internal/engine"
)

// Received files are fetched on demand from what the message said about
// them (a Ref: direct path, media key, hashes, type, size). WhatsApp's
// media hosts keep a file for a few weeks; after that (403, 404 or 410)
// the sender's phone is asked to upload it again (a media retry receipt),
// and its answer, a notification encrypted with the file's media key,
// names the new direct path.

// maxRetryWait bounds the wait for the phone's answer to a media retry
// receipt (the caller's context may end it sooner).
const maxRetryWait = 60 * time.Second

// mediaRef is what a received file's Ref holds.
type mediaRef struct {
	DirectPath string `json:"p"`
	URL        string `json:"u,omitempty"`
	MediaKey   []byte `json:"k"`
	EncSHA256  []byte `json:"e"`
	SHA256     []byte `json:"s"`
	Length     int    `json:"l"`
	Type       string `json:"t"` // whatsmeow's media type (its HKDF info)
}

const refPrefix = "wm1:"

// encodeRef makes the Ref of a received file; "" when the message lacks
// what a download needs.
func encodeRef(msg wm.DownloadableMessage) string {
	if msg == nil {
		return ""
	}
	mt := wm.GetMediaType(msg)
	if mt == "" || len(msg.GetMediaKey()) == 0 || (msg.GetDirectPath() == "" && urlOf(msg) == "") {
		return ""
	}
	r := mediaRef{DirectPath: msg.GetDirectPath(), URL: urlOf(msg), MediaKey: msg.GetMediaKey(),
		EncSHA256: msg.GetFileEncSHA256(), SHA256: msg.GetFileSHA256(), Type: string(mt)}
	if l, ok := msg.(interface{ GetFileLength() uint64 }); ok {
		r.Length = int(min(l.GetFileLength(), 1<<31))
	}
	b, err := json.Marshal(r)
	if err != nil {
		return ""
	}
	return refPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func urlOf(msg wm.DownloadableMessage) string {
	if u, ok := msg.(interface{ GetURL() string }); ok {
		return u.GetURL()
	}
	return ""
}

func decodeRef(s string) (mediaRef, error) {
	var r mediaRef
	raw, ok := strings.CutPrefix(s, refPrefix)
	if !ok {
		return r, fmt.Errorf("%w: not a whatsmeow media reference", engine.ErrInvalidContent)
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil || len(r.MediaKey) != 32 || r.Type == "" || !strings.HasPrefix(r.DirectPath, "/") {
		return r, fmt.Errorf("%w: malformed media reference", engine.ErrInvalidContent)
	}
	return r, nil
}

// retryWaiters are the downloads waiting for a phone's answer to a media
// retry receipt, by message ID.
type retryWaiters struct {
	mu sync.Mutex
	m  map[string][]chan *events.MediaRetry
}

func (w *retryWaiters) add(id string) chan *events.MediaRetry {
	ch := make(chan *events.MediaRetry, 1)
	w.mu.Lock()
	if w.m == nil {
		w.m = map[string][]chan *events.MediaRetry{}
	}
	w.m[id] = append(w.m[id], ch)
	w.mu.Unlock()
	return ch
}

func (w *retryWaiters) remove(id string, ch chan *events.MediaRetry) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.m[id]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(w.m, id)
	} else {
		w.m[id] = list
	}
}

// deliver hands a media retry notification to the downloads waiting for
// it; it never blocks (whatsmeow's receive path calls it).
func (w *retryWaiters) deliver(e *events.MediaRetry) bool {
	w.mu.Lock()
	list := w.m[e.MessageID]
	delete(w.m, e.MessageID)
	w.mu.Unlock()
	for _, ch := range list {
		select {
		case ch <- e:
		default:
		}
	}
	return len(list) > 0
}

// DownloadMedia downloads a received file by its Ref; when WhatsApp's copy
// expired it asks the sender's phone to upload it again and waits for the
// answer (bounded). engine.ErrMediaGone: gone everywhere.
func (s *Session) DownloadMedia(ctx context.Context, req engine.MediaRequest) ([]byte, error) {
	ref, err := decodeRef(req.Ref)
	if err != nil {
		return nil, err
	}
	cli, _, _, err := s.online()
	if err != nil {
		return nil, err
	}
	data, err := s.downloadPath(ctx, cli, ref)
	if !expired(err) {
		return data, err
	}
	s.log.Info("whatsmeow: received file expired on WhatsApp; asking the sender's phone to upload it again",
		slog.String("message_id", req.MessageID))
	path, err := s.mediaRetry(ctx, cli, req, ref)
	if err != nil {
		return nil, err
	}
	ref.DirectPath = path
	data, err = s.downloadPath(ctx, cli, ref)
	if expired(err) {
		return nil, fmt.Errorf("whatsmeow: the re-uploaded file is not on WhatsApp either: %w", engine.ErrMediaGone)
	}
	return data, err
}

func expired(err error) bool {
	return errors.Is(err, wm.ErrMediaDownloadFailedWith403) || errors.Is(err, wm.ErrMediaDownloadFailedWith404) ||
		errors.Is(err, wm.ErrMediaDownloadFailedWith410)
}

func (s *Session) downloadPath(ctx context.Context, cli *wm.Client, ref mediaRef) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("whatsmeow: download: %v", r)
		}
	}()
	data, err = cli.DownloadMediaWithPath(ctx, ref.DirectPath, ref.EncSHA256, ref.SHA256, ref.MediaKey, ref.Length, wm.MediaType(ref.Type), "")
	if err != nil && !expired(err) {
		err = fmt.Errorf("whatsmeow: download: %w", mapSendErr(err))
	}
	return data, err
}

// mediaRetry sends a media retry receipt for the message and waits for the
// phone's answer; it returns the new direct path.
func (s *Session) mediaRetry(ctx context.Context, cli *wm.Client, req engine.MediaRequest, ref mediaRef) (string, error) {
	chat, err := types.ParseJID(req.Chat)
	if err != nil || req.MessageID == "" {
		return "", fmt.Errorf("whatsmeow: cannot ask for a new upload without the message: %w", engine.ErrMediaGone)
	}
	info := &types.MessageInfo{ID: req.MessageID, MessageSource: types.MessageSource{
		Chat: chat, IsFromMe: req.FromMe, IsGroup: chat.Server == types.GroupServer}}
	if info.IsGroup {
		if info.Sender, err = types.ParseJID(req.Sender); err != nil {
			return "", fmt.Errorf("whatsmeow: group message without its sender: %w", engine.ErrMediaGone)
		}
	}
	wait := s.retries.add(req.MessageID)
	defer s.retries.remove(req.MessageID, wait)
	if err := cli.SendMediaRetryReceipt(ctx, info, ref.MediaKey); err != nil {
		return "", fmt.Errorf("whatsmeow: media retry receipt: %w", mapSendErr(err))
	}
	timer := time.NewTimer(maxRetryWait)
	defer timer.Stop()
	var evt *events.MediaRetry
	select {
	case evt = <-wait:
	case <-timer.C:
		return "", fmt.Errorf("whatsmeow: the sender's phone did not upload the file again within %s: %w", maxRetryWait, engine.ErrMediaGone)
	case <-ctx.Done():
		return "", fmt.Errorf("whatsmeow: waiting for the sender's phone: %w", ctx.Err())
	}
	notif, err := wm.DecryptMediaRetryNotification(evt, ref.MediaKey)
	if errors.Is(err, wm.ErrMediaNotAvailableOnPhone) {
		return "", fmt.Errorf("whatsmeow: the sender's phone no longer has the file: %w", engine.ErrMediaGone)
	}
	if err != nil {
		return "", fmt.Errorf("whatsmeow: media retry answer: %v: %w", err, engine.ErrMediaGone)
	}
	switch notif.GetResult() {
	case waMmsRetry.MediaRetryNotification_SUCCESS:
		if p := notif.GetDirectPath(); strings.HasPrefix(p, "/") {
			return p, nil
		}
		return "", fmt.Errorf("whatsmeow: the phone's answer has no file path: %w", engine.ErrMediaGone)
	case waMmsRetry.MediaRetryNotification_NOT_FOUND:
		return "", fmt.Errorf("whatsmeow: the sender's phone no longer has the file: %w", engine.ErrMediaGone)
	}
	return "", fmt.Errorf("whatsmeow: the sender's phone could not upload the file again (%s): %w", notif.GetResult(), engine.ErrMediaGone)
}
