package fakewa

import (
	"errors"
	"testing"
	"time"
)

func TestFaultTextRoundTrips(t *testing.T) {
	for _, f := range []Fault{ClientOutdated(), BadUserAgent(), Failure(503), TemporaryBan(101, time.Hour),
		TemporaryBan(102, 0), StreamError("515"), Replaced(), LoggedOut(), Drop(), Stall()} {
		back, err := ParseFault(f.String())
		if err != nil || back != f {
			t.Errorf("%s: parsed back as %v, %v", f, back, err)
		}
	}
	for _, bad := range []string{"", "failure", "failure:x", "ban", "stream:", "explode"} {
		if _, err := ParseFault(bad); err == nil {
			t.Errorf("ParseFault(%q) accepted", bad)
		}
	}
}

func TestTrustIsOncePerProcess(t *testing.T) {
	if err := Install(); err != nil {
		t.Fatal(err)
	}
	if err := Install(); err != nil {
		t.Fatalf("second Install: %v", err)
	}
	if err := Trust([32]byte{1}); !errors.Is(err, ErrOtherRoot) {
		t.Fatalf("Trust of another root: %v", err)
	}
	if _, err := Attach(Endpoint{RootKey: [32]byte{2}}); !errors.Is(err, ErrOtherRoot) {
		t.Fatalf("Attach of another root: %v", err)
	}
}
