package service

import (
	"testing"
	"time"
)

// TestTOTP checks the codes against RFC 6238's SHA-1 test vectors (their
// last 6 digits) and the window: the step before and after are taken,
// none further, and the matched step is reported for replay checks.
func TestTOTP(t *testing.T) {
	secret := totpEncoding.EncodeToString([]byte("12345678901234567890"))
	for _, tc := range []struct {
		unix int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		got, err := TOTPCode(secret, time.Unix(tc.unix, 0))
		if err != nil || got != tc.want {
			t.Errorf("code at %d = %q, %v; want %s", tc.unix, got, err, tc.want)
		}
	}
	now := time.Unix(1234567890, 0)
	for _, tc := range []struct {
		offset time.Duration
		ok     bool
	}{{0, true}, {-30 * time.Second, true}, {30 * time.Second, true}, {-61 * time.Second, false}, {90 * time.Second, false}} {
		code, _ := TOTPCode(secret, now.Add(tc.offset))
		step, ok := matchTOTP(secret, code, now)
		if ok != tc.ok || (ok && step != now.Add(tc.offset).Unix()/30) {
			t.Errorf("code of %v: step %d ok %v, want ok %v", tc.offset, step, ok, tc.ok)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := matchTOTP(secret, bad, now); ok {
			t.Errorf("code %q accepted", bad)
		}
	}
}
