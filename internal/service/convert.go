package service

import (
	"context"
	"errors"
	"fmt"
	"mime"

	"github.com/wagate/wagate/internal/convert"
	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/model"
)

// Sent files become what WhatsApp's apps play (internal/convert): voice
// notes Opus in OGG with their length and waveform, stickers 512x512 WebP,
// GIFs MP4 (sent with the gif flag), and pictures, GIFs and videos get a
// JPEG thumbnail. PDF documents get none (see package convert).

// Thumbnails are optional: a picture or video whose preview cannot be
// made goes without one. The conversions a kind needs (voice, sticker,
// GIF) are not: their failure refuses the send.

// mediaExtras is what a conversion learned about a file.
type mediaExtras struct {
	Seconds, Width, Height int
	Waveform, Thumbnail    []byte
}

// prepareMedia converts a checked, loaded upload for kind. A file that
// cannot be converted is a 400; a conversion that needs ffmpeg where there
// is none, a 415 that says what to install.
func (s *Service) prepareMedia(ctx context.Context, kind string, up Upload) (Upload, mediaExtras, error) {
	base, _, _ := mime.ParseMediaType(up.MimeType)
	var (
		r   convert.Result
		err error
		ex  mediaExtras
	)
	switch {
	case kind == engine.KindVoice:
		if secs, ok := convert.OggOpusSeconds(up.Data); ok && !s.conv.HasFFmpeg() {
			// Already Opus in OGG: sent as it is, without a waveform.
			up.MimeType = convert.VoiceMimeType
			return up, mediaExtras{Seconds: secs}, nil
		}
		r, err = s.conv.Voice(ctx, up.Data)
	case kind == engine.KindSticker:
		r, err = s.conv.Sticker(ctx, up.Data)
	case kind == engine.KindGIF && base == "image/gif":
		r, err = s.conv.GIF(ctx, up.Data)
	case kind == engine.KindImage:
		// A thumbnail is a nicety: a picture Go cannot read (or one over
		// the pixel bound) goes without one, as WhatsApp would show it.
		if thumb, w, h, err := convert.Thumbnail(up.Data); err == nil {
			ex = mediaExtras{Width: w, Height: h, Thumbnail: thumb}
		} else {
			s.log.DebugContext(ctx, "no thumbnail for a picture", "error", err)
		}
		return up, ex, nil
	case kind == engine.KindVideo || kind == engine.KindGIF:
		if !s.conv.HasFFmpeg() {
			return up, ex, nil // sent without a thumbnail
		}
		if r, err = s.conv.VideoThumbnail(ctx, up.Data); err == nil {
			ex = mediaExtras{Seconds: r.Seconds, Width: r.Width, Height: r.Height, Thumbnail: r.Thumbnail}
		} else if ctx.Err() == nil {
			s.log.DebugContext(ctx, "no thumbnail for a video", "error", err)
		}
		return up, ex, ctx.Err()
	default:
		return up, ex, nil
	}
	if err != nil {
		return up, ex, s.convertError(kind, err)
	}
	up.Data, up.File, up.MimeType = r.Data, nil, r.MimeType
	return up, mediaExtras{Seconds: r.Seconds, Width: r.Width, Height: r.Height, Waveform: r.Waveform, Thumbnail: r.Thumbnail}, nil
}

func (s *Service) convertError(kind string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, convert.ErrNoFFmpeg):
		return fmt.Errorf("sending a %s needs a conversion that needs ffmpeg, which is not installed on this server "+
			"(the operator installs it: apt-get install ffmpeg, or sets WAGATE_FFMPEG): %w", kind, model.ErrUnsupportedMedia)
	case errors.Is(err, convert.ErrBadInput):
		return invalid("media", "the %s could not be converted for WhatsApp: %v", kind, err)
	}
	return err
}
