package app_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/api/openapi/openapitest"
	"github.com/wagate/wagate/internal/store/storetest"
)

// streamBody is a request body of prefix, n bytes of filler and suffix,
// made as it is read: the test holds none of it.
func streamBody(prefix string, n int64, filler byte, suffix string) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), io.LimitReader(repeatReader(filler), n), strings.NewReader(suffix))
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// base64Body is a JSON send whose media is a data URI of n zero bytes,
// encoded as it is read.
func base64Body(prefix string, n int64, suffix string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		enc := base64.NewEncoder(base64.StdEncoding, pw)
		_, err := io.Copy(enc, io.LimitReader(repeatReader(0), n))
		if err == nil {
			err = enc.Close()
		}
		pw.CloseWithError(err)
	}()
	return io.MultiReader(strings.NewReader(prefix), pr, strings.NewReader(suffix))
}

// countingReader counts what the server read of a body.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// memoryOf serves one request and reports its status, the bytes the
// server read of its body, the bytes allocated meanwhile and the peak of
// the live heap above what it was before (sampled every millisecond).
func memoryOf(e *env, req *http.Request) (status int, read, allocated, peak int64) {
	body := &countingReader{r: req.Body}
	req.Body = io.NopCloser(body)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var top atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > top.Load() {
				top.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	close(stop)
	<-done
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return rec.Code, body.n.Load(), int64(after.TotalAlloc - before.TotalAlloc), int64(top.Load()) - int64(before.HeapAlloc)
}

// TestRequestMemory bounds what one oversized or largest request costs:
// a 130 MiB text send is refused before its body is read (or, without a
// length, after at most its limit), and a 100 MiB document sent as a data
// URI in JSON takes the document's size once, not its base64 text and
// copies of it. WAGATE_MEASURE=1 prints the figures (the README quotes
// them).
func TestRequestMemory(t *testing.T) {
	e := newEnv(t, openapitest.New(t), storetest.Backends(t)[0])
	_, tokA, _ := e.twoLinked("mem", "15550201001", "15550201002")
	const huge = 130 << 20
	report := func(what string, status int, read, allocated, peak int64) {
		if os.Getenv("WAGATE_MEASURE") != "" {
			fmt.Printf("%-52s status %d, body read %7.1f MiB, allocated %7.1f MiB, peak live heap +%7.1f MiB\n",
				what, status, float64(read)/(1<<20), float64(allocated)/(1<<20), float64(peak)/(1<<20))
		}
	}

	req := httptest.NewRequest("POST", "/messages/text", streamBody(`{"to":"15550201002","body":"`, huge, 'a', `"}`))
	req.ContentLength = huge + 40
	req.Header.Set("Authorization", "Bearer "+tokA)
	status, read, allocated, peak := memoryOf(e, req)
	report("130 MiB text send, with Content-Length", status, read, allocated, peak)
	if status != http.StatusRequestEntityTooLarge || read != 0 || allocated > 1<<20 {
		t.Errorf("130 MiB text send with a length: status %d, read %d bytes, allocated %d; want 413 before reading, under 1 MiB", status, read, allocated)
	}

	req = httptest.NewRequest("POST", "/messages/text", streamBody(`{"to":"15550201002","body":"`, huge, 'a', `"}`))
	req.ContentLength = -1 // chunked
	req.Header.Set("Authorization", "Bearer "+tokA)
	status, read, allocated, peak = memoryOf(e, req)
	report("130 MiB text send, chunked", status, read, allocated, peak)
	if status != http.StatusRequestEntityTooLarge || read > 1<<20 || allocated > 2<<20 {
		t.Errorf("130 MiB chunked text send: status %d, read %d bytes, allocated %d; want 413 after at most 1 MiB", status, read, allocated)
	}

	size := int64(8 << 20)
	if os.Getenv("WAGATE_MEASURE") != "" {
		size = 100 << 20 // the largest document
	}
	req = httptest.NewRequest("POST", "/messages/document",
		base64Body(`{"to":"15550201002","filename":"big.pdf","media":"data:application/pdf;base64,`, size, `"}`))
	req.Header.Set("Authorization", "Bearer "+tokA)
	status, read, allocated, peak = memoryOf(e, req)
	report(fmt.Sprintf("%d MiB document as a data URI in JSON", size>>20), status, read, allocated, peak)
	if status != http.StatusOK {
		t.Fatalf("document send: status %d", status)
	}
	if peak > 3*size {
		t.Errorf("a %d-byte document send peaked at %d bytes of live heap; want under 3x the document", size, peak)
	}
}
