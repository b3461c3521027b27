// Package ids draws the random identifiers and secrets wagate hands out:
// channel IDs, projects, partners and API tokens. All come from crypto/rand.
package ids

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

const (
	upper    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	upperNum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	alnum    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// draw returns n characters picked uniformly from alphabet (rejection
// sampling, so no character is more likely than another).
func draw(alphabet string, n int) string {
	limit := byte(256 - 256%len(alphabet))
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2+8)
	for len(out) < n {
		rand.Read(buf) // never fails (crypto/rand panics on a broken system source)
		for _, b := range buf {
			if b >= limit {
				continue
			}
			out = append(out, alphabet[int(b)%len(alphabet)])
			if len(out) == n {
				break
			}
		}
	}
	return string(out)
}

// ChannelID returns an ID like SHAZAM-3HDYQ: six letters, a dash, five
// letters or digits (about 2^54 values).
func ChannelID() string { return draw(upper, 6) + "-" + draw(upperNum, 5) }

// ChannelToken returns a 32-character alphanumeric channel API token (190 bits).
func ChannelToken() string { return draw(alnum, 32) }

// PartnerID returns a 28-character alphanumeric partner ID.
func PartnerID() string { return draw(alnum, 28) }

// ProjectID returns a 20-character alphanumeric project ID.
func ProjectID() string { return draw(alnum, 20) }

// PartnerToken returns a partner API token. The prefix makes leaked tokens
// easy to recognise (and to scan for) without weakening them: 40 random
// alphanumerics, 238 bits.
func PartnerToken() string { return "wgp_" + draw(alnum, 40) }

// AdminToken returns an operator API token, prefixed like PartnerToken.
func AdminToken() string { return "wga_" + draw(alnum, 40) }

// Hash returns the hex SHA-256 of a token: what the database keeps instead of
// the token. Tokens are long random strings, so a fast hash is enough.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// MediaHex returns 32 random hex digits, the unique part of a media ID.
func MediaHex() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
