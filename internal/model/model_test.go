package model

import (
	"errors"
	"testing"
	"time"
)

func TestModeValid(t *testing.T) {
	for m, want := range map[Mode]bool{
		ModeTrial: true, ModeDev: true, ModeLive: true,
		"": false, "Live": false, "TRIAL": false, "sandbox": false, "prod": false, " live": false,
	} {
		if got := m.Valid(); got != want {
			t.Errorf("Mode(%q).Valid() = %v, want %v", m, got, want)
		}
	}
}

func TestBillingLabel(t *testing.T) {
	for m, want := range map[Mode]string{
		ModeTrial: "Trial", ModeDev: "Sandbox (dev)", ModeLive: "Live", "other": "other", "": "",
	} {
		if got := m.BillingLabel(); got != want {
			t.Errorf("Mode(%q).BillingLabel() = %q, want %q", m, got, want)
		}
	}
}

func TestChannelStatusAtBoundary(t *testing.T) {
	till := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		stopped bool
		now     time.Time
		expired bool
		running bool
		status  string
	}{
		{"before", false, till.Add(-time.Nanosecond), false, true, "active"},
		{"at activeTill", false, till, true, false, "expired"},
		{"after", false, till.Add(time.Millisecond), true, false, "expired"},
		{"stopped before", true, till.Add(-time.Hour), false, false, "stopped"},
		{"stopped at activeTill", true, till, true, false, "expired"},
		{"stopped after", true, till.Add(time.Hour), true, false, "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Channel{ActiveTill: till, Stopped: tc.stopped}
			if got := c.Expired(tc.now); got != tc.expired {
				t.Errorf("Expired = %v, want %v", got, tc.expired)
			}
			if got := c.Running(tc.now); got != tc.running {
				t.Errorf("Running = %v, want %v", got, tc.running)
			}
			if got := c.Status(tc.now); got != tc.status {
				t.Errorf("Status = %q, want %q", got, tc.status)
			}
		})
	}
}

func TestNotFoundErrors(t *testing.T) {
	for _, err := range []error{ErrPartnerNotFound, ErrChannelNotFound, ErrProjectNotFound} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%v does not match ErrNotFound", err)
		}
		if errors.Is(err, ErrInvalid) {
			t.Errorf("%v matches ErrInvalid", err)
		}
	}
	if ErrChannelNotFound.Error() != "channel not found" {
		t.Errorf("message %q", ErrChannelNotFound)
	}
}

func TestDefaultOperatorSettings(t *testing.T) {
	d := DefaultOperatorSettings()
	if d.TrialDays != 5 || d.ChannelCreateLimit <= 0 || d.ChannelCreateWindow <= 0 {
		t.Errorf("defaults %+v: want 5 trial days and a positive creation limit and window", d)
	}
}
