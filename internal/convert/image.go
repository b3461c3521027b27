package convert

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"

	_ "image/gif" // decoders
	_ "image/jpeg"
	_ "image/png"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp"
)

// Pictures: thumbnails and stickers, decoded and scaled in Go.

const (
	// ThumbSize is the longest side of a thumbnail, in pixels.
	ThumbSize = 100
	// StickerSize is the side of a sticker, in pixels.
	StickerSize = 512
	// maxPixels bounds the pictures decoded (a decompression bomb is
	// refused from its header).
	maxPixels = 50_000_000
)

// StickerMimeType is the type of a converted sticker.
const StickerMimeType = "image/webp"

// decode decodes a picture after checking its size from its header.
func decode(data []byte) (image.Image, string, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("%w: not a picture Go reads (%v)", ErrBadInput, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, "", fmt.Errorf("%w: a %dx%d picture is over %d pixels", ErrBadInput, cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("%w: the %s picture does not decode (%v)", ErrBadInput, format, err)
	}
	return img, format, nil
}

// Thumbnail makes the JPEG preview of a picture and returns its size.
func Thumbnail(data []byte) (thumb []byte, width, height int, err error) {
	img, _, err := decode(data)
	if err != nil {
		return nil, 0, 0, err
	}
	b := img.Bounds()
	thumb, err = jpegThumb(img)
	return thumb, b.Dx(), b.Dy(), err
}

// jpegThumb scales a picture to fit ThumbSize and encodes it as JPEG (on
// white: JPEG has no transparency).
func jpegThumb(img image.Image) ([]byte, error) {
	b := img.Bounds()
	w, h := fit(b.Dx(), b.Dy(), ThumbSize)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Over, nil) // a preview: speed over finesse
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 60}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// fit scales w x h to fit in side x side, keeping the ratio.
func fit(w, h, side int) (int, int) {
	if w <= side && h <= side {
		return max(w, 1), max(h, 1)
	}
	if w >= h {
		return side, max(h*side/w, 1)
	}
	return max(w*side/h, 1), side
}

// Sticker converts a picture into a 512x512 WebP sticker: scaled to fit,
// centred on a transparent square. A 512x512 WebP is kept as it is.
// Encoding WebP needs ffmpeg (libwebp).
func (c *Converter) Sticker(ctx context.Context, data []byte) (Result, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err == nil && format == "webp" && cfg.Width == StickerSize && cfg.Height == StickerSize {
		return Result{Data: data, MimeType: StickerMimeType, Width: StickerSize, Height: StickerSize}, nil
	}
	if !c.HasFFmpeg() {
		return Result{}, ErrNoFFmpeg
	}
	img, _, err := decode(data)
	if err != nil {
		return Result{}, err
	}
	b := img.Bounds()
	w, h := fit(b.Dx(), b.Dy(), StickerSize)
	if w < StickerSize && h < StickerSize { // small pictures grow to fit
		if b.Dx() >= b.Dy() {
			w, h = StickerSize, max(b.Dy()*StickerSize/b.Dx(), 1)
		} else {
			w, h = max(b.Dx()*StickerSize/b.Dy(), 1), StickerSize
		}
	}
	canvas := image.NewNRGBA(image.Rect(0, 0, StickerSize, StickerSize))
	at := image.Rect((StickerSize-w)/2, (StickerSize-h)/2, (StickerSize-w)/2+w, (StickerSize-h)/2+h)
	draw.CatmullRom.Scale(canvas, at, img, b, draw.Over, nil)
	var pngData bytes.Buffer
	if err := png.Encode(&pngData, canvas); err != nil {
		return Result{}, err
	}
	dir, _, err := c.run(ctx, pngData.Bytes(), "-c:v", "libwebp", "-quality", "80", "-fs", "1000000", "-f", "webp", "out.webp")
	if err != nil {
		return Result{}, err
	}
	defer removeAll(dir)
	out, err := readOut(dir, "out.webp")
	if err != nil {
		return Result{}, err
	}
	return Result{Data: out, MimeType: StickerMimeType, Width: StickerSize, Height: StickerSize}, nil
}
