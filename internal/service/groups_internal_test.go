package service

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGroupIconJPEG(t *testing.T) {
	// A wide PNG: red left third, blue middle, green right; the centred
	// square is blue, scaled down to 640.
	img := image.NewNRGBA(image.Rect(0, 0, 2100, 700))
	for y := range 700 {
		for x := range 2100 {
			c := color.NRGBA{B: 255, A: 255}
			if x < 700 {
				c = color.NRGBA{R: 255, A: 255}
			} else if x >= 1400 {
				c = color.NRGBA{G: 255, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	out, err := groupIconJPEG(encodePNG(t, img))
	if err != nil {
		t.Fatal(err)
	}
	got, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	if b := got.Bounds(); b.Dx() != 640 || b.Dy() != 640 {
		t.Fatalf("icon is %v, want 640x640", b)
	}
	for _, p := range []image.Point{{5, 5}, {320, 320}, {634, 634}} {
		r, g, b, _ := got.At(p.X, p.Y).RGBA()
		if b>>8 < 200 || r>>8 > 60 || g>>8 > 60 {
			t.Fatalf("pixel %v = %d,%d,%d, want blue (the centred square)", p, r>>8, g>>8, b>>8)
		}
	}

	// Small pictures keep their size; transparency turns white.
	small := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	out, err = groupIconJPEG(encodePNG(t, small))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = jpeg.Decode(bytes.NewReader(out))
	if b := got.Bounds(); b.Dx() != 30 || b.Dy() != 30 {
		t.Fatalf("small icon is %v, want 30x30", b)
	}
	if r, g, b, _ := got.At(15, 15).RGBA(); r>>8 < 245 || g>>8 < 245 || b>>8 < 245 {
		t.Fatalf("a transparent pixel became %d,%d,%d, want white", r>>8, g>>8, b>>8)
	}

	// JPEG in, JPEG out.
	var jbuf bytes.Buffer
	_ = jpeg.Encode(&jbuf, small, nil)
	if _, err := groupIconJPEG(jbuf.Bytes()); err != nil {
		t.Fatalf("a JPEG: %v", err)
	}

	for _, c := range []struct {
		data   []byte
		target error
	}{
		{nil, model.ErrInvalid},
		{[]byte("GIF89a\x01\x00\x01\x00"), model.ErrUnsupportedMedia},
		{[]byte("hello, not a picture"), model.ErrUnsupportedMedia},
		{[]byte("\x89PNG\r\n\x1a\nbroken"), model.ErrInvalid},
		{append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, MaxGroupIconSize)...), model.ErrTooLarge},
	} {
		if _, err := groupIconJPEG(c.data); !errors.Is(err, c.target) {
			t.Errorf("groupIconJPEG(%.12q...) = %v, want %v", c.data, err, c.target)
		}
	}
	// Too many pixels is refused before decoding: a PNG whose header says
	// 7000x7000.
	huge := encodePNG(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	binary.BigEndian.PutUint32(huge[16:], 7000) // IHDR width
	binary.BigEndian.PutUint32(huge[20:], 7000) // IHDR height
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))
	if _, err := groupIconJPEG(huge); !errors.Is(err, model.ErrTooLarge) {
		t.Errorf("a 7000x7000 picture: %v, want ErrTooLarge", err)
	}
}

func TestInviteCode(t *testing.T) {
	for in, want := range map[string]string{
		"AbCdEfGhIjKlMnOpQrStUv":                            "AbCdEfGhIjKlMnOpQrStUv",
		" https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv": "AbCdEfGhIjKlMnOpQrStUv",
		"chat.whatsapp.com/invite/AbCdEf12":                 "AbCdEf12",
	} {
		if got, err := InviteCode("code", in); err != nil || got != want {
			t.Errorf("InviteCode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "https://chat.whatsapp.com/", "has space in it", "AbCdEf/../x", "ÄbCdEfGhIj"} {
		if _, err := InviteCode("code", in); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("InviteCode(%q) = %v, want ErrInvalid", in, err)
		}
	}
}

func TestApplyParticipants(t *testing.T) {
	g := store.Group{Participants: []store.GroupParticipant{{UserID: "1@s.whatsapp.net", Rank: store.RankCreator}}}
	applyParticipants(&g, "add", []string{"2@s.whatsapp.net", "1@s.whatsapp.net"})
	applyParticipants(&g, "promote", []string{"2@s.whatsapp.net", "1@s.whatsapp.net", "3@s.whatsapp.net"})
	applyParticipants(&g, "demote", []string{"1@s.whatsapp.net"})
	want := []store.GroupParticipant{
		{UserID: "1@s.whatsapp.net", Rank: store.RankCreator},
		{UserID: "2@s.whatsapp.net", Rank: store.RankAdmin},
		{UserID: "3@s.whatsapp.net", Rank: store.RankAdmin},
	}
	if len(g.Participants) != 3 || g.Participants[0] != want[0] || g.Participants[1] != want[1] || g.Participants[2] != want[2] {
		t.Fatalf("participants = %+v", g.Participants)
	}
	applyParticipants(&g, "leave", []string{"3@s.whatsapp.net"})
	applyParticipants(&g, "remove", []string{"2@s.whatsapp.net", "9@s.whatsapp.net"})
	if len(g.Participants) != 1 {
		t.Fatalf("after leave and remove = %+v", g.Participants)
	}
}
