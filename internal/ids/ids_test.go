package ids

import (
	"regexp"
	"testing"
)

func TestFormats(t *testing.T) {
	cases := []struct {
		name string
		gen  func() string
		re   string
	}{
		{"channel id", ChannelID, `^[A-Z]{6}-[A-Z0-9]{5}$`},
		{"channel token", ChannelToken, `^[a-zA-Z0-9]{32}$`},
		{"partner id", PartnerID, `^[a-zA-Z0-9]{28}$`},
		{"project id", ProjectID, `^[a-zA-Z0-9]{20}$`},
		{"partner token", PartnerToken, `^wgp_[a-zA-Z0-9]{40}$`},
		{"admin token", AdminToken, `^wga_[a-zA-Z0-9]{40}$`},
	}
	for _, c := range cases {
		re := regexp.MustCompile(c.re)
		seen := map[string]bool{}
		for range 2000 {
			v := c.gen()
			if !re.MatchString(v) {
				t.Fatalf("%s: %q does not match %s", c.name, v, c.re)
			}
			if seen[v] {
				t.Fatalf("%s: %q drawn twice in 2000 draws", c.name, v)
			}
			seen[v] = true
		}
	}
}

func TestDrawIsUniform(t *testing.T) {
	// 36 symbols, 360,000 draws: each should appear about 10,000 times. A
	// modulo bias (256 % 36 = 4) would push the first four symbols ~10% high.
	counts := map[byte]int{}
	for range 10000 {
		for _, c := range []byte(draw(upperNum, 36)) {
			counts[c]++
		}
	}
	for c, n := range counts {
		if n < 9300 || n > 10700 {
			t.Errorf("symbol %q drawn %d times, want about 10000", c, n)
		}
	}
}

func TestHash(t *testing.T) {
	// SHA-256("abc"), FIPS 180-2 test vector.
	const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if Hash("abc") != abc || Hash("a") == Hash("b") {
		t.Fatalf("Hash(abc) = %s, want the hex SHA-256 %s", Hash("abc"), abc)
	}
}
