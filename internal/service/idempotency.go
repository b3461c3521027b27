package service

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/store"
)

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

// IdempotentRequest is one request sent with an Idempotency-Key.
type IdempotentRequest struct {
	key *store.IdemKey
	raw string // the key itself: it seals the stored answer
}

// NewIdempotentRequest describes a request of scope (a partner or the
// operator) with its Idempotency-Key and what it asks: method, path and
// body (compared as JSON, so spacing and key order do not matter).
func (s *Service) NewIdempotentRequest(scope, key, method, path string, body []byte) *IdempotentRequest {
	now := s.now()
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, path)
	h.Write(canonicalJSON(body))
	keyHash := sha256.Sum256([]byte(key))
	return &IdempotentRequest{raw: key, key: &store.IdemKey{
		Scope: scope, KeyHash: hex.EncodeToString(keyHash[:]), Fingerprint: hex.EncodeToString(h.Sum(nil)),
		Now: now, Expires: now.Add(IdempotencyTTL),
	}}
}

// canonicalJSON re-encodes a JSON body with sorted keys and no spacing;
// a body that is not JSON is used as it is.
func canonicalJSON(body []byte) []byte {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return body
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}

// Context returns ctx carrying the key: the change the request makes
// records it in its own transaction (store.WithIdemKey).
func (r *IdempotentRequest) Context(ctx context.Context) context.Context {
	return store.WithIdemKey(ctx, r.key)
}

// Reserved reports whether the request's change committed with its key.
func (r *IdempotentRequest) Reserved() bool { return r.key.Reserved() }

// Taken reports whether another request had recorded the key first (so
// this one changed nothing).
func (r *IdempotentRequest) Taken() bool { return r.key.Taken() }

// IdempotentAnswer is what a key's first request answered.
type IdempotentAnswer struct {
	// Pending: the first request has not answered yet.
	Pending bool
	// Other: the key was used for another request (method, path or body).
	Other  bool
	Status int
	Body   []byte
	// Since is when the first request recorded the key.
	Since time.Time
}

// IdempotentLookup returns what the key's first request answered, if it
// is known (found is false for a key not seen in the last 24 hours).
func (s *Service) IdempotentLookup(ctx context.Context, r *IdempotentRequest) (IdempotentAnswer, bool, error) {
	rec, found, err := s.store.IdemLookup(ctx, r.key.Scope, r.key.KeyHash, s.now())
	if err != nil || !found {
		return IdempotentAnswer{}, false, err
	}
	a := IdempotentAnswer{Since: rec.CreatedAt}
	switch {
	case rec.Fingerprint != r.key.Fingerprint:
		a.Other = true
	case rec.Status == 0:
		a.Pending = true
	default:
		a.Status = rec.Status
		if a.Body, err = openAnswer(r.raw, r.key.Scope, rec.Response); err != nil {
			return a, true, err
		}
	}
	return a, true, nil
}

// IdempotentFinish stores the answer of a request: with the key its change
// recorded, or, for a request that changed nothing (a refusal), unless the
// key is already recorded.
func (s *Service) IdempotentFinish(ctx context.Context, r *IdempotentRequest, status int, body []byte) error {
	sealed, err := sealAnswer(r.raw, r.key.Scope, body)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx) // the change is done: its answer must be kept
	if r.key.Reserved() {
		return s.store.IdemFinish(ctx, r.key, status, sealed)
	}
	_, err = s.store.IdemSave(ctx, r.key, status, sealed)
	return err
}

// PruneIdempotencyKeys forgets keys older than IdempotencyTTL.
func (s *Service) PruneIdempotencyKeys(ctx context.Context) (int, error) {
	return s.store.PruneIdem(ctx, s.now())
}

// answerKey derives the key that seals a stored answer from the
// Idempotency-Key: only the client knows it (the database keeps its hash),
// so answers holding tokens cannot be read from the database.
func answerKey(raw, scope string) []byte {
	m := hmac.New(sha256.New, []byte(raw))
	m.Write([]byte("wagate idempotent answer v1\x00" + scope))
	return m.Sum(nil)
}

func sealAnswer(raw, scope string, body []byte) (string, error) {
	block, err := aes.NewCipher(answerKey(raw, scope))
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nonce, nonce, body, nil)), nil
}

var errSealedAnswer = errors.New("idempotency: the stored answer does not open")

func openAnswer(raw, scope, sealed string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, errSealedAnswer
	}
	block, err := aes.NewCipher(answerKey(raw, scope))
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(data) < gcm.NonceSize() {
		return nil, errSealedAnswer
	}
	out, err := gcm.Open(nil, data[:gcm.NonceSize()], data[gcm.NonceSize():], nil)
	if err != nil {
		return nil, errSealedAnswer
	}
	return out, nil
}
