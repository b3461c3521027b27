package convert

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"strconv"
)

// Voice notes: Opus in OGG, mono, as WhatsApp's apps record them, with
// their length and a 64-sample waveform (the loudness of each 64th of the
// note, 0 to 100) that the apps draw.

const (
	// maxVoiceSeconds bounds a voice note.
	maxVoiceSeconds = 60 * 60
	// waveRate is the sample rate of the PCM the waveform is computed from.
	waveRate = 4000
	// WaveformSamples is the length of a waveform.
	WaveformSamples = 64
)

// VoiceMimeType is the type of a converted voice note.
const VoiceMimeType = "audio/ogg; codecs=opus"

// Voice converts audio (any format ffmpeg reads) into a voice note.
func (c *Converter) Voice(ctx context.Context, data []byte) (Result, error) {
	secs := strconv.Itoa(maxVoiceSeconds)
	dir, _, err := c.run(ctx, data,
		"-map", "0:a:0", "-vn", "-t", secs, "-c:a", "libopus", "-b:a", "32k", "-ac", "1", "-ar", "48000",
		"-application", "voip", "-fs", strconv.Itoa(maxOutput), "-f", "ogg", "out.ogg",
		"-map", "0:a:0", "-vn", "-t", secs, "-ac", "1", "-ar", strconv.Itoa(waveRate), "-f", "s16le", "out.pcm")
	if err != nil {
		return Result{}, err
	}
	defer removeAll(dir)
	ogg, err := readOut(dir, "out.ogg")
	if err != nil {
		return Result{}, err
	}
	pcm, err := readOut(dir, "out.pcm")
	if err != nil {
		return Result{}, err
	}
	samples := len(pcm) / 2
	return Result{Data: ogg, MimeType: VoiceMimeType, Seconds: (samples + waveRate - 1) / waveRate, Waveform: Waveform(pcm)}, nil
}

// Waveform is the 64-sample loudness curve of signed 16-bit little-endian
// mono PCM: the RMS of each 64th, scaled so that the loudest is 100.
func Waveform(pcm []byte) []byte {
	n := len(pcm) / 2
	out := make([]byte, WaveformSamples)
	if n == 0 {
		return out
	}
	rms := make([]float64, WaveformSamples)
	peak := 0.0
	for b := range WaveformSamples {
		lo, hi := b*n/WaveformSamples, (b+1)*n/WaveformSamples
		if hi <= lo {
			hi = min(lo+1, n)
		}
		sum := 0.0
		for i := lo; i < hi; i++ {
			v := float64(int16(binary.LittleEndian.Uint16(pcm[2*i:])))
			sum += v * v
		}
		rms[b] = math.Sqrt(sum / float64(hi-lo))
		peak = max(peak, rms[b])
	}
	if peak == 0 {
		return out
	}
	for b, v := range rms {
		out[b] = byte(math.Round(v / peak * 100))
	}
	return out
}

// OggOpusSeconds reads the length of Opus audio in OGG from its last
// page's granule position (48 kHz samples); ok is false when data is not
// OGG Opus. It decodes nothing (for a voice note sent as is without
// ffmpeg).
func OggOpusSeconds(data []byte) (int, bool) {
	head := bytes.Index(data[:min(len(data), 256)], []byte("OpusHead"))
	if !bytes.HasPrefix(data, []byte("OggS")) || head < 0 || len(data) < head+12 {
		return 0, false
	}
	preSkip := uint64(binary.LittleEndian.Uint16(data[head+10:]))
	i := bytes.LastIndex(data, []byte("OggS"))
	if i < 0 || len(data) < i+14 {
		return 0, false
	}
	granule := binary.LittleEndian.Uint64(data[i+6:])
	if granule == math.MaxUint64 || granule < preSkip {
		return 0, false
	}
	return int((granule - preSkip + 47999) / 48000), true
}
