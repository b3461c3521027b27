package bench

import (
	"slices"
	"testing"
	"time"
)

func TestLevels(t *testing.T) {
	for limit, want := range map[int][]int{
		50: {50}, 100: {100}, 500: {100, 500}, 1000: {100, 1000}, 10_000: {100, 1000, 10_000}, 20_000: {100, 1000, 10_000, 20_000},
	} {
		if got := levels(limit); !slices.Equal(got, want) {
			t.Errorf("levels(%d) = %v, want %v", limit, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	if Percentile(nil, 0.5) != 0 {
		t.Fatal("empty")
	}
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if p := Percentile(ds, 0.50); p != 51 {
		t.Errorf("p50 = %v", p)
	}
	if p := Percentile(ds, 0.99); p != 100 {
		t.Errorf("p99 = %v", p)
	}
}

func TestShare(t *testing.T) {
	o := Options{Duration: 100 * time.Second, Sections: Sections()}
	var total time.Duration
	for _, s := range o.Sections {
		total += o.share(s)
	}
	if total < 99*time.Second || total > 100*time.Second || o.share(SectionChannels) != 0 || o.share(SectionWhatsmeow) != 0 {
		t.Errorf("shares add up to %s", total)
	}
	o.Sections = []string{SectionPartner}
	if o.share(SectionPartner) != 100*time.Second {
		t.Errorf("one section: %s", o.share(SectionPartner))
	}
}
