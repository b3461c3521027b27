package service

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// operatorNameRE is the form of an operator's login name.
var operatorNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// TOTP parameters (RFC 6238 as authenticator apps use it: SHA-1, 30 s
// steps, 6 digits). A code of the step before or after the current one is
// taken too (clock drift); never one of a step already used.
const (
	totpStep   = 30 * time.Second
	totpDigits = 6
)

var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewOperatorInput creates a named operator.
type NewOperatorInput struct {
	Name, Password string
	TOTP           bool // give it a TOTP secret for an authenticator app
}

// NewOperator is a created operator with, when TOTP is on, its secret and
// the otpauth:// URL to enroll it (shown once).
type NewOperator struct {
	store.Operator
	TOTPURL string
}

// CreateOperator creates a named operator account (by the CLI or another
// operator).
func (s *Service) CreateOperator(ctx context.Context, in NewOperatorInput) (_ NewOperator, err error) {
	name := strings.ToLower(strings.TrimSpace(in.Name))
	ctx, done := s.auditing(ctx, audit.Entry{Action: "operator.create", Target: name, After: audit.JSON(map[string]any{"name": name, "totp": in.TOTP})})
	defer done(&err)
	if !operatorNameRE.MatchString(name) {
		return NewOperator{}, invalid("name", "must be 1-64 lower-case letters, digits, '.', '_' or '-'")
	}
	hash, err := s.hashPassword(in.Password)
	if err != nil {
		return NewOperator{}, err
	}
	o := store.Operator{ID: ids.ProjectID(), Name: name, PasswordHash: hash, CreatedAt: s.now(), CreatedBy: audit.ActorOf(ctx).ID}
	out := NewOperator{}
	if in.TOTP {
		secret := make([]byte, 20)
		if _, err := rand.Read(secret); err != nil {
			return NewOperator{}, err
		}
		o.TOTPSecret = totpEncoding.EncodeToString(secret)
		out.TOTPURL = "otpauth://totp/" + url.PathEscape("wagate:"+name) + "?secret=" + o.TOTPSecret + "&issuer=wagate&algorithm=SHA1&digits=6&period=30"
	}
	if err := s.store.CreateOperator(ctx, o); err != nil {
		return NewOperator{}, err
	}
	out.Operator = o
	s.log.InfoContext(ctx, "operator created", "operator", name, "totp", in.TOTP)
	return out, nil
}

// Operators lists the named operators.
func (s *Service) Operators(ctx context.Context) ([]store.Operator, error) {
	return s.store.Operators(ctx)
}

// ErrBadOperatorLogin is a wrong operator name, password or TOTP code
// (including a code already used). It matches ErrNotFound.
var ErrBadOperatorLogin = fmt.Errorf("wrong operator name, password or code: %w", model.ErrNotFound)

// checkOperator checks a named operator's password and, when it has TOTP,
// the code (of the current step or one next to it, never one already
// used). It returns the operator's ID.
func (s *Service) checkOperator(ctx context.Context, name, password, code string) (string, error) {
	o, err := s.store.OperatorByName(ctx, strings.ToLower(strings.TrimSpace(name)))
	if errors.Is(err, model.ErrNotFound) {
		_ = bcrypt.CompareHashAndPassword([]byte(s.dummyPasswordHash()), []byte(password)) // same time as a known name
		return "", ErrBadOperatorLogin
	}
	if err != nil {
		return "", err
	}
	if bcrypt.CompareHashAndPassword([]byte(o.PasswordHash), []byte(password)) != nil {
		return "", ErrBadOperatorLogin
	}
	if o.TOTPSecret == "" {
		return o.ID, nil
	}
	step, ok := matchTOTP(o.TOTPSecret, code, s.now())
	if !ok {
		return "", ErrBadOperatorLogin
	}
	fresh, err := s.store.UseTOTPStep(ctx, o.ID, step)
	if err != nil {
		return "", err
	}
	if !fresh {
		return "", ErrBadOperatorLogin // replayed
	}
	return o.ID, nil
}

// TOTPCode is the code of secret for the step of t (for tests and the
// CLI's check).
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := totpEncoding.DecodeString(strings.ToUpper(secret))
	if err != nil {
		return "", err
	}
	return hotp(key, t.Unix()/int64(totpStep/time.Second)), nil
}

func hotp(key []byte, counter int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", totpDigits, v%1_000_000)
}

// matchTOTP returns the step of the window (now and one step either side)
// whose code is code.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != totpDigits {
		return 0, false
	}
	key, err := totpEncoding.DecodeString(strings.ToUpper(secret))
	if err != nil {
		return 0, false
	}
	cur := now.Unix() / int64(totpStep/time.Second)
	for _, step := range []int64{cur - 1, cur, cur + 1} {
		if subtle.ConstantTimeCompare([]byte(hotp(key, step)), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// OperatorName returns a named operator's name.
func (s *Service) OperatorName(ctx context.Context, id string) (string, error) {
	o, err := s.store.OperatorByID(ctx, id)
	return o.Name, err
}
