package bench

import (
	"bytes"
	"slices"
	"strings"
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

// A window's statements are the difference of two readings, largest
// first, with their share of the window's time.
func TestStatementDiff(t *testing.T) {
	before := map[int64]stmtReading{
		1: {query: "INSERT INTO messages ...", calls: 10, totalMS: 100, rows: 10},
		2: {query: "SELECT 1", calls: 5, totalMS: 5, rows: 5},
	}
	after := map[int64]stmtReading{
		1: {query: "INSERT INTO messages\n   (channel_id) VALUES ($1)", calls: 110, totalMS: 400, rows: 110},
		2: {query: "SELECT 1", calls: 5, totalMS: 5, rows: 5}, // not called in the window
		3: {query: "UPDATE chats SET last_ts = $1", calls: 50, totalMS: 100, rows: 50},
	}
	w := statementDiff("send", before, after)
	if w.Window != "send" || w.TotalMS != 400 || len(w.Statements) != 2 {
		t.Fatalf("window: %+v", w)
	}
	first, second := w.Statements[0], w.Statements[1]
	if first.Query != "INSERT INTO messages (channel_id) VALUES ($1)" || first.Calls != 100 || first.TotalMS != 300 ||
		first.MeanMS != 3 || first.Rows != 100 || first.Share != 0.75 {
		t.Errorf("first: %+v", first)
	}
	if second.Calls != 50 || second.Share != 0.25 {
		t.Errorf("second: %+v", second)
	}
	var buf bytes.Buffer
	if err := writeStatements(&buf, []StatementWindow{w}); err != nil || !strings.Contains(buf.String(), " 75.0%") {
		t.Errorf("printed: %q %v", buf.String(), err)
	}
}
