package webhook

import (
	"errors"
	"testing"
	"time"
)

// FuzzSignVerify: what Sign writes, Verify accepts for the same body and
// secret, and refuses for another body, another secret or a stale time;
// Verify never panics on any header.
func FuzzSignVerify(f *testing.F) {
	f.Add("receiver-shared-secret", []byte(`{"messages":[]}`), "t=1700000000,v1=00", int64(1700000000))
	f.Add("", []byte{}, "", int64(0))
	f.Add("s", []byte("x"), "t=,v1=,v1=zz,t=-1,=,,,v1", int64(-1))
	f.Add("s", []byte("x"), "t=99999999999999999999,v1="+string(make([]byte, 64)), int64(1<<40))
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string, unix int64) {
		if unix < -1<<40 || unix > 1<<40 {
			return // far outside any clock
		}
		now := time.Unix(unix, 0)
		_ = Verify(secret, header, body, now, time.Minute) // any header: no panic
		sig := Sign(secret, body, now)
		if err := Verify(secret, sig, body, now, time.Minute); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
		if err := Verify(secret, sig, append(body, 'x'), now, time.Minute); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("another body: %v", err)
		}
		if err := Verify(secret+"x", sig, body, now, time.Minute); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("another secret: %v", err)
		}
		if err := Verify(secret, sig, body, now.Add(2*time.Minute), time.Minute); !errors.Is(err, ErrStaleSignature) {
			t.Fatalf("a stale signature: %v", err)
		}
	})
}
