package convert

import (
	"context"
	"encoding/binary"
	"os"
	"strconv"
)

// Videos: GIFs become MP4 (H.264, no sound) sent with WhatsApp's gif flag,
// and videos get a thumbnail from their first frame.

// GIF converts an animated GIF into MP4 with a thumbnail.
func (c *Converter) GIF(ctx context.Context, data []byte) (Result, error) {
	dir, _, err := c.run(ctx, data,
		"-map", "0:v:0", "-an", "-t", strconv.Itoa(maxSeconds), "-c:v", "libx264", "-preset", "veryfast",
		"-pix_fmt", "yuv420p", "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-movflags", "+faststart",
		"-fs", strconv.Itoa(maxOutput), "-f", "mp4", "out.mp4",
		"-map", "0:v:0", "-frames:v", "1", "-f", "image2", "-c:v", "png", "frame.png")
	if err != nil {
		return Result{}, err
	}
	defer removeAll(dir)
	mp4, err := readOut(dir, "out.mp4")
	if err != nil {
		return Result{}, err
	}
	r := Result{Data: mp4, MimeType: "video/mp4"}
	r.Seconds, _ = MP4Seconds(mp4)
	if frame, err := readOut(dir, "frame.png"); err == nil {
		r.Thumbnail, r.Width, r.Height, _ = Thumbnail(frame)
	}
	return r, nil
}

// VideoThumbnail makes the thumbnail of a video from its first frame and
// reads its size and length.
func (c *Converter) VideoThumbnail(ctx context.Context, data []byte) (Result, error) {
	dir, _, err := c.run(ctx, data, "-map", "0:v:0", "-frames:v", "1", "-f", "image2", "-c:v", "png", "frame.png")
	if err != nil {
		return Result{}, err
	}
	defer removeAll(dir)
	frame, err := readOut(dir, "frame.png")
	if err != nil {
		return Result{}, err
	}
	var r Result
	r.Thumbnail, r.Width, r.Height, err = Thumbnail(frame)
	r.Seconds, _ = MP4Seconds(data)
	return r, err
}

// MP4Seconds reads the length of an MP4 (QuickTime, 3GP) file from its
// movie header (mvhd), rounded up; ok is false when there is none at the
// top level's moov.
func MP4Seconds(data []byte) (int, bool) {
	moov, ok := box(data, "moov")
	if !ok {
		return 0, false
	}
	mvhd, ok := box(moov, "mvhd")
	if !ok || len(mvhd) < 20 {
		return 0, false
	}
	var scale, dur uint64
	if mvhd[0] == 1 { // version 1: 64-bit times
		if len(mvhd) < 32 {
			return 0, false
		}
		scale, dur = uint64(binary.BigEndian.Uint32(mvhd[20:])), binary.BigEndian.Uint64(mvhd[24:])
	} else {
		scale, dur = uint64(binary.BigEndian.Uint32(mvhd[12:])), uint64(binary.BigEndian.Uint32(mvhd[16:]))
	}
	if scale == 0 {
		return 0, false
	}
	return int((dur + scale - 1) / scale), true
}

// box finds a box by type among the boxes of data and returns its body.
func box(data []byte, typ string) ([]byte, bool) {
	for len(data) >= 8 {
		size := uint64(binary.BigEndian.Uint32(data))
		head := uint64(8)
		switch size {
		case 1:
			if len(data) < 16 {
				return nil, false
			}
			size, head = binary.BigEndian.Uint64(data[8:]), 16
		case 0:
			size = uint64(len(data))
		}
		if size < head || size > uint64(len(data)) {
			return nil, false
		}
		if string(data[4:8]) == typ {
			return data[head:size], true
		}
		data = data[size:]
	}
	return nil, false
}

func removeAll(dir string) { _ = os.RemoveAll(dir) }
