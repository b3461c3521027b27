package gate

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/httpx"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/service"
)

// maxInlineMedia is the longest media string kept as text: a URL or a
// media ID. A longer one is base64 and is decoded as it is read.
const maxInlineMedia = 8 << 10

// mediaBodyLimit bounds a media send: the file (base64 in JSON, 4 bytes for
// every 3) plus the other fields.
func mediaBodyLimit(kind string) httpx.LimitFunc {
	return func(r *http.Request) int64 {
		limit := service.MediaLimit(kind)
		if isMultipart(r) {
			return limit + httpx.SmallBody
		}
		return (limit+2)/3*4 + httpx.SmallBody
	}
}

// readMediaJSON reads the JSON body of a media send without holding it in
// memory: the value of "media", when it is a data URI or base64, is
// decoded while it is read and written to disk (service.Spool), so a send
// of a 100 MiB document takes the document once, never its base64 text nor
// the whole body. The other fields (httpx.SmallBody at most) are decoded as
// usual into b, leniently like every gate request.
func (h *handler) readMediaJSON(r *http.Request, kind string, b *sendBody) (*service.Upload, error) {
	var up *service.Upload
	rest, err := splitJSONField(r.Body, "media", httpx.SmallBody, func(value io.Reader) (string, error) {
		ref, u, err := h.spoolMedia(value, kind)
		up = u
		return ref, err
	})
	if err != nil {
		if up != nil {
			_ = up.File.Close()
		}
		return nil, bodyError(r, err)
	}
	if err := httpx.DecodeBytes(rest, b, true, false); err != nil {
		if up != nil {
			_ = up.File.Close()
		}
		return nil, err
	}
	return up, nil
}

// bodyError is the answer to an error reading a send body.
func bodyError(r *http.Request, err error) error {
	var he *httpx.Error
	var tb *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &tb):
		return httpx.BodyError(r, err)
	case errors.Is(err, model.ErrInvalid), errors.Is(err, model.ErrTooLarge):
		return err
	}
	return httpx.Errorf(http.StatusBadRequest, "could not read request body")
}

// spoolMedia reads the media string of a send. A data URI or a long string
// (bare base64) is decoded into a spooled file; a short one (a URL or a
// media ID) is returned as it is.
func (h *handler) spoolMedia(value io.Reader, kind string) (string, *service.Upload, error) {
	br := bufio.NewReaderSize(value, 64<<10)
	head, _ := br.Peek(maxInlineMedia + 1)
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	skip := len(head) - len(trimmed)
	if !bytes.HasPrefix(trimmed, []byte("data:")) && len(head) <= maxInlineMedia {
		all, err := io.ReadAll(br)
		return string(all), nil, err
	}
	_, _ = br.Discard(skip)
	mimeType := ""
	if bytes.HasPrefix(trimmed, []byte("data:")) {
		meta, err := br.ReadSlice(',')
		if err != nil || len(meta) > 256 {
			return "", nil, fmt.Errorf("media: a data URI must be data:<type>;base64,<data>: %w", model.ErrInvalid)
		}
		meta = bytes.TrimSuffix(bytes.TrimPrefix(meta, []byte("data:")), []byte(","))
		mt, ok := bytes.CutSuffix(meta, []byte(";base64"))
		if !ok {
			return "", nil, fmt.Errorf("media: a data URI must be data:<type>;base64,<data>: %w", model.ErrInvalid)
		}
		mimeType = string(mt)
	}
	f, err := h.svc.Spool(&base64Reader{src: br}, service.MediaLimit(kind), "the "+kind+" file")
	if err != nil {
		return "", nil, err
	}
	return "", &service.Upload{File: f, MimeType: mimeType}, nil
}

// base64Reader decodes standard base64 as it reads it, padded or not;
// line breaks and spaces are skipped, as encoding/base64 skips \r and \n.
type base64Reader struct {
	src  io.Reader
	in   []byte // undecoded characters, fewer than 4 between reads
	out  []byte // decoded bytes not yet returned
	buf  [32 << 10]byte
	done bool
}

var errBadBase64 = fmt.Errorf("media: the base64 data does not decode: %w", model.ErrInvalid)

func (d *base64Reader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.done {
			return 0, io.EOF
		}
		n, err := d.src.Read(d.buf[:])
		for _, c := range d.buf[:n] {
			if c != ' ' && c != '\r' && c != '\n' && c != '\t' {
				d.in = append(d.in, c)
			}
		}
		if errors.Is(err, io.EOF) {
			d.done = true
			if r := len(d.in) % 4; r == 1 {
				return 0, errBadBase64
			} else if r > 0 {
				d.in = append(d.in, "=="[:4-r]...)
			}
		} else if err != nil {
			return 0, err
		}
		full := len(d.in) / 4 * 4
		if full == 0 {
			continue
		}
		out := make([]byte, full/4*3)
		m, derr := base64.StdEncoding.Decode(out, d.in[:full])
		if derr != nil {
			return 0, errBadBase64
		}
		d.out = out[:m]
		d.in = append(d.in[:0], d.in[full:]...)
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// splitJSONField reads a JSON object from r and hands the value of its
// top-level string field name (matched as encoding/json matches keys) to
// take as a stream of its unescaped bytes; take returns what the field
// becomes in the object given back (empty: left out). The rest of the
// object is returned as JSON of at most maxRest bytes. A body that is not
// an object is returned as it is (up to maxRest), for the decoder to name
// what is wrong with it.
func splitJSONField(r io.Reader, name string, maxRest int64, take func(io.Reader) (string, error)) ([]byte, error) {
	s := &jsonScanner{r: bufio.NewReaderSize(r, 32<<10), max: maxRest}
	c, err := s.skipSpace()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	if c != '{' {
		_ = s.r.UnreadByte()
		s.pos--
		if err := s.copyRest(); err != nil {
			return nil, err
		}
		return s.out, nil
	}
	s.emit('{')
	seen, first := false, true
	for {
		c, err := s.skipSpace()
		if err != nil {
			return nil, s.syntax(err)
		}
		if c == '}' && first {
			s.emit('}')
			break
		}
		if c != '"' {
			return nil, s.syntax(nil)
		}
		rawKey, err := s.readString()
		if err != nil {
			return nil, s.syntax(err)
		}
		var key string
		if err := json.Unmarshal(rawKey, &key); err != nil {
			return nil, s.syntax(nil)
		}
		if c, err = s.skipSpace(); err != nil || c != ':' {
			return nil, s.syntax(err)
		}
		c, err = s.skipSpace()
		if err != nil {
			return nil, s.syntax(err)
		}
		if c == '"' && strings.EqualFold(key, name) {
			if seen {
				return nil, httpx.Errorf(http.StatusBadRequest, "%s: appears twice", name)
			}
			seen = true
			sr := &jsonStringReader{s: s}
			v, err := take(sr)
			if err == nil {
				_, err = io.Copy(io.Discard, sr) // to the closing quote
			}
			if err != nil {
				return nil, err
			}
			if !first {
				s.emit(',')
			}
			enc, _ := json.Marshal(v)
			s.emitBytes([]byte(`"` + name + `":`))
			s.emitBytes(enc)
		} else {
			if !first {
				s.emit(',')
			}
			s.emitBytes(rawKey)
			s.emit(':')
			_ = s.r.UnreadByte()
			s.pos--
			if err := s.copyValue(); err != nil {
				return nil, s.syntax(err)
			}
		}
		if s.tooBig {
			return nil, httpx.Errorf(http.StatusRequestEntityTooLarge, "the fields other than %s are larger than %d bytes", name, maxRest)
		}
		first = false
		c, err = s.skipSpace()
		if err != nil {
			return nil, s.syntax(err)
		}
		if c == '}' {
			s.emit('}')
			break
		}
		if c != ',' {
			return nil, s.syntax(nil)
		}
	}
	if _, err := s.skipSpace(); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, httpx.Errorf(http.StatusBadRequest, "request body must be a single JSON value")
	}
	if s.tooBig {
		return nil, httpx.Errorf(http.StatusRequestEntityTooLarge, "the fields other than %s are larger than %d bytes", name, maxRest)
	}
	return s.out, nil
}

// jsonScanner reads JSON a byte at a time, copying what is kept to out.
type jsonScanner struct {
	r      *bufio.Reader
	pos    int64
	out    []byte
	max    int64
	tooBig bool
}

func (s *jsonScanner) next() (byte, error) {
	c, err := s.r.ReadByte()
	if err == nil {
		s.pos++
	}
	return c, err
}

func (s *jsonScanner) emit(c byte) {
	if int64(len(s.out)) >= s.max {
		s.tooBig = true
		return
	}
	s.out = append(s.out, c)
}

func (s *jsonScanner) emitBytes(b []byte) {
	for _, c := range b {
		s.emit(c)
	}
}

func (s *jsonScanner) skipSpace() (byte, error) {
	for {
		c, err := s.next()
		if err != nil {
			return 0, err
		}
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c, nil
		}
	}
}

// syntax is the error of malformed JSON at the current byte; errors of
// reading the body (too large, cut off) pass through.
func (s *jsonScanner) syntax(err error) error {
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	if err != nil {
		return httpx.Errorf(http.StatusBadRequest, "malformed JSON: unexpected end of body")
	}
	return httpx.Errorf(http.StatusBadRequest, "malformed JSON at byte %d", s.pos)
}

// readString reads a string whose opening quote was read, and returns it
// raw, quotes included (keys are short: at most 1 KiB).
func (s *jsonScanner) readString() ([]byte, error) {
	raw := []byte{'"'}
	for {
		c, err := s.next()
		if err != nil {
			return nil, err
		}
		raw = append(raw, c)
		if len(raw) > 1<<10 {
			return nil, httpx.Errorf(http.StatusBadRequest, "a field name is longer than 1 KiB")
		}
		switch c {
		case '\\':
			e, err := s.next()
			if err != nil {
				return nil, err
			}
			raw = append(raw, e)
		case '"':
			return raw, nil
		}
	}
}

// copyValue copies one JSON value (strings, nesting) to out; its inside is
// checked by the decoder that reads out.
func (s *jsonScanner) copyValue() error {
	depth, inString := 0, false
	for {
		c, err := s.next()
		if err != nil {
			return err
		}
		if inString {
			s.emit(c)
			switch c {
			case '\\':
				e, err := s.next()
				if err != nil {
					return err
				}
				s.emit(e)
			case '"':
				inString = false
				if depth == 0 {
					return nil
				}
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 { // the end of the enclosing object
				_ = s.r.UnreadByte()
				s.pos--
				return nil
			}
			depth--
		case ',':
			if depth == 0 {
				_ = s.r.UnreadByte()
				s.pos--
				return nil
			}
		case ' ', '\t', '\r', '\n':
			if depth == 0 { // the end of a number, true, false or null
				return nil
			}
		}
		s.emit(c)
		if s.tooBig {
			return nil
		}
		if depth == 0 && (c == '}' || c == ']') {
			return nil
		}
	}
}

// copyRest copies what is left of the body, up to max bytes.
func (s *jsonScanner) copyRest() error {
	b, err := io.ReadAll(io.LimitReader(s.r, s.max+1))
	if err != nil {
		return err
	}
	if int64(len(b)) > s.max {
		return httpx.Errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", s.max)
	}
	s.out = b
	return nil
}

// jsonStringReader yields the unescaped bytes of a JSON string whose
// opening quote was read, up to its closing quote (then io.EOF).
type jsonStringReader struct {
	s    *jsonScanner
	done bool
	pend []byte
}

func (j *jsonStringReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(j.pend) > 0 {
			c := copy(p[n:], j.pend)
			j.pend = j.pend[c:]
			n += c
			continue
		}
		if j.done {
			break
		}
		c, err := j.s.next()
		if err != nil {
			return n, j.eof(err)
		}
		switch {
		case c == '"':
			j.done = true
		case c == '\\':
			if err := j.escape(); err != nil {
				return n, err
			}
		case c < 0x20:
			return n, httpx.Errorf(http.StatusBadRequest, "malformed JSON at byte %d: a control character in a string", j.s.pos)
		case c >= utf8.RuneSelf:
			// As encoding/json reads it: each byte of an invalid sequence
			// becomes U+FFFD.
			next, _ := j.s.r.Peek(utf8.UTFMax - 1)
			r, size := utf8.DecodeRune(append([]byte{c}, next...))
			if r == utf8.RuneError && size == 1 {
				j.pend = utf8.AppendRune(j.pend, utf8.RuneError)
				continue
			}
			j.pend = append(j.pend, c)
			for range size - 1 {
				b, _ := j.s.next()
				j.pend = append(j.pend, b)
			}
		default:
			p[n] = c
			n++
		}
	}
	if n == 0 && j.done && len(j.pend) == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (j *jsonStringReader) eof(err error) error {
	if errors.Is(err, io.EOF) {
		return httpx.Errorf(http.StatusBadRequest, "malformed JSON: unexpected end of body")
	}
	return err
}

// escape reads an escape after its backslash and queues what it stands for.
func (j *jsonStringReader) escape() error {
	c, err := j.s.next()
	if err != nil {
		return j.eof(err)
	}
	var r rune
	switch c {
	case '"', '\\', '/':
		r = rune(c)
	case 'b':
		r = '\b'
	case 'f':
		r = '\f'
	case 'n':
		r = '\n'
	case 'r':
		r = '\r'
	case 't':
		r = '\t'
	case 'u':
		if r, err = j.hex4(); err != nil {
			return err
		}
		if utf16.IsSurrogate(r) {
			// A pair is \uD8xx\uDCxx; a lone half is U+FFFD, as
			// encoding/json decodes it.
			r2 := utf8.RuneError
			if b, _ := j.s.r.Peek(2); string(b) == `\u` {
				_, _ = j.s.next()
				_, _ = j.s.next()
				if r2, err = j.hex4(); err != nil {
					return err
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					j.pend = utf8.AppendRune(j.pend, d)
					return nil
				}
				j.pend = utf8.AppendRune(j.pend, utf8.RuneError)
				if utf16.IsSurrogate(r2) {
					r2 = utf8.RuneError
				}
				j.pend = utf8.AppendRune(j.pend, r2)
				return nil
			}
			r = utf8.RuneError
		}
	default:
		return httpx.Errorf(http.StatusBadRequest, "malformed JSON at byte %d: bad escape in a string", j.s.pos)
	}
	j.pend = utf8.AppendRune(j.pend, r)
	return nil
}

func (j *jsonStringReader) hex4() (rune, error) {
	var r rune
	for range 4 {
		c, err := j.s.next()
		if err != nil {
			return 0, j.eof(err)
		}
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, httpx.Errorf(http.StatusBadRequest, "malformed JSON at byte %d: bad \\u escape", j.s.pos)
		}
		r = r<<4 | rune(v)
	}
	return r, nil
}
