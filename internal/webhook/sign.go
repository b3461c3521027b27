package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Signature errors, reported by Verify.
var (
	// ErrNoSignature: the header is empty or has no t or no v1.
	ErrNoSignature = errors.New("webhook: no signature")
	// ErrBadSignature: no v1 matches the body and the secret.
	ErrBadSignature = errors.New("webhook: signature does not match")
	// ErrStaleSignature: t is further from now than the tolerance.
	ErrStaleSignature = errors.New("webhook: signature timestamp outside tolerance")
)

// Sign returns the X-Wagate-Signature header value for body signed with
// secret at t: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
func Sign(secret string, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks an X-Wagate-Signature header against the raw request body:
// one of its v1 values must be the HMAC-SHA256 of "<t>.<body>" keyed with
// secret, and t must be within tolerance of now (tolerance <= 0 skips the
// time check). It is what a receiver written in Go calls; it returns
// ErrNoSignature, ErrBadSignature or ErrStaleSignature.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
			return ErrStaleSignature
		}
	}
	return nil
}
